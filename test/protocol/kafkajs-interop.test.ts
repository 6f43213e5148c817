// Interoperability with an independent implementation of the wire protocol, kafkajs: requests that
// kafkajs encodes are byte-identical to ours (or, for Produce, whose record batch kafkajs builds,
// decode with ours), and responses we encode decode with kafkajs's decoders to the same values.
// kafkajs speaks only non-flexible versions; flexible encodings are pinned by vectors.test.ts.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { MessageCodec } from '../../src/protocol/codec.ts';
import { decodeRequestFrame, encodeRequestFrame } from '../../src/protocol/frame.ts';
import type { ApiVersionsResponse } from '../../src/protocol/generated/api-versions.ts';
import type { FetchRequest } from '../../src/protocol/generated/fetch.ts';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../../src/protocol/generated/find-coordinator.ts';
import type { MetadataRequest, MetadataResponse } from '../../src/protocol/generated/metadata.ts';
import {
  decodeProduceRequest,
  encodeProduceRequest,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts';
import { MESSAGE_SCHEMAS } from '../../src/protocol/generated/schemas.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';
import { codecFor, messageArbitrary } from './schema-arbitraries.ts';

interface KafkajsEncoder {
  readonly buffer: Buffer;
}
interface KafkajsRequest {
  encode(): Promise<KafkajsEncoder>;
}

const require = createRequire(import.meta.url);
const kafkajsFrame = require('kafkajs/src/protocol/request.js') as (input: {
  correlationId: number;
  clientId: string;
  request: KafkajsRequest;
}) => Promise<KafkajsEncoder>;

/** kafkajs's request builder for one API version; `input` is its own (untyped) request shape. */
function kafkajsRequest(api: string, version: number): (input: object) => KafkajsRequest {
  return require(`kafkajs/src/protocol/requests/${api}/v${version}/request.js`) as (input: object) => KafkajsRequest;
}

async function kafkajsBody(api: string, version: number, input: object): Promise<Buffer> {
  return (await kafkajsRequest(api, version)(input).encode()).buffer;
}

async function kafkajsDecode(api: string, version: number, body: Buffer): Promise<unknown> {
  const module = require(`kafkajs/src/protocol/requests/${api}/v${version}/response.js`) as {
    decode: (body: Buffer) => Promise<unknown>;
  };
  return module.decode(body);
}

/** The generated codec of a message and an arbitrary of its values at `version`. */
function generated<T>(name: string, version: number): { codec: MessageCodec<T>; values: fc.Arbitrary<T> } {
  const schema = MESSAGE_SCHEMAS.find((s) => s.name === name);
  assert.ok(schema !== undefined, name);
  // The schema-driven arbitrary builds exactly the shape of the generated interface T.
  return { codec: codecFor(schema) as MessageCodec<T>, values: messageArbitrary(schema, version) as fc.Arbitrary<T> };
}

function encoded<T>(codec: MessageCodec<T>, value: T, version: number): Buffer {
  const writer = new Writer();
  codec.encode(writer, value, version);
  return Buffer.from(writer.finish());
}

const RUNS = 50;
const shortText = fc.string({ maxLength: 12 });

describe('requests encoded by kafkajs', () => {
  it('Metadata v1 frames are byte-identical to ours and decode back', async () => {
    const { codec, values } = generated<MetadataRequest>('MetadataRequest', 1);
    // kafkajs writes an empty topic list as null (all topics) and cannot express an empty one.
    const encodeMetadata = kafkajsRequest('metadata', 1);
    const correlationIds = fc.integer({ min: 0, max: 0x7fffffff });
    await fc.assert(
      fc.asyncProperty(values, correlationIds, shortText, async (request, correlationId, clientId) => {
        fc.pre(request.topics?.length !== 0);
        const topics = request.topics?.map((topic) => topic.name) ?? [];
        const theirs = (await kafkajsFrame({ correlationId, clientId, request: encodeMetadata({ topics }) })).buffer;
        const header = { requestApiKey: 3, requestApiVersion: 1, correlationId, clientId };
        assert.deepStrictEqual(encodeRequestFrame(header, (w) => codec.encode(w, request, 1)), theirs);
        const frame = decodeRequestFrame(theirs.subarray(4));
        assert.deepStrictEqual(frame.header, header);
        assert.deepStrictEqual(codec.decode(frame.body, 1), request);
      }),
      { numRuns: RUNS },
    );
  });

  it('Fetch v11 bodies are byte-identical to ours', async () => {
    const { codec, values } = generated<FetchRequest>('FetchRequest', 11);
    await fc.assert(
      fc.asyncProperty(values, async (request) => {
        const theirs = await kafkajsBody('fetch', 11, {
          replicaId: request.replicaId,
          maxWaitTime: request.maxWaitMs,
          minBytes: request.minBytes,
          maxBytes: request.maxBytes,
          isolationLevel: request.isolationLevel,
          sessionId: request.sessionId,
          sessionEpoch: request.sessionEpoch,
          rackId: request.rackId,
          topics: request.topics.map((topic) => ({
            topic: topic.topic,
            partitions: topic.partitions.map((p) => ({
              partition: p.partition,
              currentLeaderEpoch: p.currentLeaderEpoch,
              fetchOffset: p.fetchOffset,
              logStartOffset: p.logStartOffset,
              maxBytes: p.partitionMaxBytes,
            })),
          })),
          forgottenTopics: request.forgottenTopicsData.map((t) => ({ topic: t.topic, partitions: t.partitions })),
        });
        assert.deepStrictEqual(encoded(codec, request, 11), theirs);
        assert.deepStrictEqual(codec.decode(new Reader(theirs), 11), request);
      }),
      { numRuns: RUNS },
    );
  });

  it('FindCoordinator v1 bodies are byte-identical to ours', async () => {
    const { codec, values } = generated<FindCoordinatorRequest>('FindCoordinatorRequest', 1);
    await fc.assert(
      fc.asyncProperty(values, async (request) => {
        const input = { coordinatorKey: request.key, coordinatorType: request.keyType };
        const theirs = await kafkajsBody('findCoordinator', 1, input);
        assert.deepStrictEqual(encoded(codec, request, 1), theirs);
      }),
      { numRuns: RUNS },
    );
  });

  it('Produce v3 requests, record batches included, decode with ours and re-encode identically', async () => {
    const message = fc.record({ key: shortText, value: shortText });
    const partition = fc.record({
      partition: fc.nat({ max: 1000 }),
      messages: fc.array(message, { minLength: 1, maxLength: 3 }),
    });
    const topic = fc.record({ topic: shortText, partitions: fc.array(partition, { maxLength: 2 }) });
    const topics = fc.array(topic, { maxLength: 2 });
    const transactionalIds = fc.option(shortText, { nil: null });
    await fc.assert(
      fc.asyncProperty(topics, transactionalIds, async (topicData, transactionalId) => {
        const theirs = await kafkajsBody('produce', 3, { acks: -1, timeout: 30000, transactionalId, topicData });
        const reader = new Reader(theirs);
        const request = decodeProduceRequest(reader, 3);
        assert.equal(reader.remaining, 0);
        assert.equal(request.transactionalId, transactionalId);
        assert.equal(request.acks, -1);
        assert.equal(request.timeoutMs, 30000);
        assert.deepStrictEqual(
          request.topicData.map((t) => ({ topic: t.name, partitions: t.partitionData.map((p) => p.index) })),
          topicData.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => p.partition) })),
        );
        for (const p of request.topicData.flatMap((t) => t.partitionData)) assert.ok((p.records?.length ?? 0) > 61);
        const writer = new Writer();
        encodeProduceRequest(writer, request, 3);
        assert.deepStrictEqual(Buffer.from(writer.finish()), theirs);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('responses decoded by kafkajs', () => {
  it('Metadata v5', async () => {
    const { codec, values } = generated<MetadataResponse>('MetadataResponse', 5);
    await fc.assert(
      fc.asyncProperty(values, async (response) => {
        assert.deepStrictEqual(await kafkajsDecode('metadata', 5, encoded(codec, response, 5)), {
          throttleTime: response.throttleTimeMs,
          brokers: response.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
          clusterId: response.clusterId,
          controllerId: response.controllerId,
          topicMetadata: response.topics.map((t) => ({
            topicErrorCode: t.errorCode,
            topic: t.name,
            isInternal: t.isInternal,
            partitionMetadata: t.partitions.map((p) => ({
              partitionErrorCode: p.errorCode,
              partitionId: p.partitionIndex,
              leader: p.leaderId,
              replicas: p.replicaNodes,
              isr: p.isrNodes,
              offlineReplicas: p.offlineReplicas,
            })),
          })),
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('ApiVersions v2', async () => {
    const { codec, values } = generated<ApiVersionsResponse>('ApiVersionsResponse', 2);
    // kafkajs throws on UNSUPPORTED_VERSION (35), which it reads as a signal to retry with v0.
    await fc.assert(
      fc.asyncProperty(values, async (generatedResponse) => {
        const response = { ...generatedResponse, errorCode: 0 };
        assert.deepStrictEqual(await kafkajsDecode('apiVersions', 2, encoded(codec, response, 2)), {
          errorCode: 0,
          apiVersions: response.apiKeys,
          throttleTime: 0,
          clientSideThrottleTime: response.throttleTimeMs,
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('Produce v3', async () => {
    const { codec, values } = generated<ProduceResponse>('ProduceResponse', 3);
    await fc.assert(
      fc.asyncProperty(values, async (response) => {
        assert.deepStrictEqual(await kafkajsDecode('produce', 3, encoded(codec, response, 3)), {
          topics: response.responses.map((t) => ({
            topicName: t.name,
            partitions: t.partitionResponses.map((p) => ({
              partition: p.index,
              errorCode: p.errorCode,
              baseOffset: p.baseOffset.toString(),
              logAppendTime: p.logAppendTimeMs.toString(),
            })),
          })),
          throttleTime: response.throttleTimeMs,
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('FindCoordinator v1', async () => {
    const { codec, values } = generated<FindCoordinatorResponse>('FindCoordinatorResponse', 1);
    await fc.assert(
      fc.asyncProperty(values, async (generatedResponse) => {
        const response = { ...generatedResponse, errorCode: 0 };
        assert.deepStrictEqual(await kafkajsDecode('findCoordinator', 1, encoded(codec, response, 1)), {
          throttleTime: response.throttleTimeMs,
          errorCode: 0,
          errorMessage: response.errorMessage,
          coordinator: { nodeId: response.nodeId, host: response.host, port: response.port },
        });
      }),
      { numRuns: RUNS },
    );
  });
});
