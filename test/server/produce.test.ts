// Produce through the wire: raw requests at v0-v2 (legacy message sets), v3, v7 and v11 store the batches
// as sent and answer offsets; acks=0 gets no response; per-partition errors for bad acks, unknown topics and
// partitions, damaged CRCs, wrong batch counts and magics, zstd before v7, oversized batches and
// transactional requests. kafkajs and kcat producers write records the embedded engine reads back exactly.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { recordBatchesToLegacy } from '../../src/format/legacy-message-set.ts';
import { CRC_OFFSET, decodeRecords, encodeBatch, readBatchHeader, type BatchInput, type DecodedRecord, type RecordInput } from '../../src/format/record-batch.ts';
import { encodeRequestFrame } from '../../src/protocol/frame.ts';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { encodeMetadataRequest } from '../../src/protocol/generated/metadata.ts';
import {
  decodeProduceResponse,
  encodeProduceRequest,
  type ProduceRequest,
  type ProduceResponse,
  type ProduceResponsePartitionProduceResponse,
} from '../../src/protocol/generated/produce.ts';
import { connectRaw, type RawClient } from './helpers/raw-client.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

const run = promisify(execFile);

let served: ServedDatabase;
let raw: RawClient;

before(async () => {
  served = await startServer();
  raw = await connectRaw(served.broker);
});
after(async () => {
  raw.close();
  await served.close();
});

const T0 = 1_700_000_000_000;

function records(count: number, tag: string): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`${tag}-key-${i}`),
    value: Buffer.from(`${tag}-value-${i}`),
    headers: [{ key: 'h', value: Buffer.from(`${tag}-${i}`) }],
    timestamp: T0 + i,
  }));
}

function batch(input: Partial<BatchInput> & { records: readonly RecordInput[] }): Buffer {
  return encodeBatch({ baseOffset: 0, ...input });
}

function produce(version: number, topicData: ProduceRequest['topicData'], options: Partial<ProduceRequest> = {}, client = raw): Promise<ProduceResponse> {
  const request: ProduceRequest = { transactionalId: null, acks: -1, timeoutMs: 5000, topicData, ...options };
  return client.request(API_KEYS.PRODUCE, version, encodeProduceRequest, request, decodeProduceResponse);
}

async function produceOne(version: number, topic: string, partition: number, bytes: Buffer | null, options: Partial<ProduceRequest> = {}): Promise<ProduceResponsePartitionProduceResponse> {
  const response = await produce(version, [{ name: topic, partitionData: [{ index: partition, records: bytes }] }], options);
  assert.equal(response.responses.length, 1);
  const [answer] = response.responses[0]!.partitionResponses;
  assert.ok(answer !== undefined);
  return answer;
}

function stored(topic: string, partition: number, from = 0): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  let offset = from;
  for (;;) {
    const read = served.db.engine.read(topic, partition, offset);
    if (read.records.length === 0) return out;
    for (let position = 0; position < read.records.length; position += readBatchHeader(read.records, position).batchLength + 12) {
      out.push(...decodeRecords(read.records, position).filter((r) => r.offset >= from));
    }
    offset = read.nextOffset;
  }
}

function simplify(list: readonly DecodedRecord[]): unknown[] {
  return list.map((r) => ({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp, headers: r.headers.map((h) => [h.key, h.value?.toString() ?? null]) }));
}

test('v3, v7 and v11 store the batch as sent and answer its base offset', async () => {
  await served.db.engine.createTopic('plain', { partitions: 1 });
  let expectedBase = 0;
  for (const version of [3, 7, 11]) {
    const sent = batch({ records: records(3, `v${version}`) });
    const answer = await produceOne(version, 'plain', 0, sent);
    assert.equal(answer.errorCode, ERROR_CODES.NONE, `v${version}`);
    assert.equal(answer.baseOffset, BigInt(expectedBase));
    assert.equal(answer.logAppendTimeMs, -1n);
    if (version >= 5) assert.equal(answer.logStartOffset, 0n);
    const read = served.db.engine.read('plain', 0, expectedBase);
    // Offsets and leader epoch are assigned in place; everything from the CRC on is byte-for-byte the same.
    assert.deepEqual(read.records.subarray(CRC_OFFSET, sent.length), sent.subarray(CRC_OFFSET));
    expectedBase += 3;
  }
  assert.deepEqual(
    simplify(stored('plain', 0)).map((r) => (r as { key: string }).key),
    ['v3-key-0', 'v3-key-1', 'v3-key-2', 'v7-key-0', 'v7-key-1', 'v7-key-2', 'v11-key-0', 'v11-key-1', 'v11-key-2'],
  );
});

test('v0-v2 legacy message sets are up-converted: keys, values and (magic 1) timestamps kept', async () => {
  await served.db.engine.createTopic('legacy', { partitions: 1 });
  const input = records(2, 'old').map((r) => ({ ...r, headers: [] }));
  for (const [version, magic] of [
    [0, 0],
    [1, 0],
    [2, 1],
  ] as const) {
    const before = served.db.engine.highWatermark('legacy', 0);
    const answer = await produceOne(version, 'legacy', 0, recordBatchesToLegacy(batch({ records: input }), magic));
    assert.equal(answer.errorCode, ERROR_CODES.NONE, `v${version}`);
    assert.equal(answer.baseOffset, BigInt(before));
    const got = stored('legacy', 0, before);
    assert.deepEqual(
      got.map((r) => [r.key?.toString(), r.value?.toString(), r.timestamp]),
      input.map((r) => [r.key!.toString(), r.value!.toString(), magic === 0 ? -1 : r.timestamp]),
    );
  }
});

test('v0-v2 also take a single RecordBatch v2, stored as sent', async () => {
  await served.db.engine.createTopic('legacy-v2-batch', { partitions: 1 });
  const answer = await produceOne(2, 'legacy-v2-batch', 0, batch({ records: records(2, 'new') }));
  assert.equal(answer.errorCode, ERROR_CODES.NONE);
  assert.deepEqual(
    stored('legacy-v2-batch', 0).map((r) => [r.key?.toString(), r.headers.length]),
    [
      ['new-key-0', 1],
      ['new-key-1', 1],
    ],
  );
});

test('partitions of one request are all appended, each answered in request order', async () => {
  await served.db.engine.createTopic('multi', { partitions: 3 });
  const response = await produce(9, [
    {
      name: 'multi',
      partitionData: [2, 0, 1].map((index) => ({ index, records: batch({ records: records(index + 1, `p${index}`) }) })),
    },
  ]);
  const answers = response.responses[0]!.partitionResponses;
  assert.deepEqual(
    answers.map((a) => [a.index, a.errorCode, a.baseOffset]),
    [
      [2, 0, 0n],
      [0, 0, 0n],
      [1, 0, 0n],
    ],
  );
  assert.deepEqual(
    [0, 1, 2].map((p) => served.db.engine.highWatermark('multi', p)),
    [1, 2, 3],
  );
});

test('acks=0 gets no response, and the records are still written', async () => {
  await served.db.engine.createTopic('fire', { partitions: 1 });
  const [host, port] = served.broker.split(':') as [string, string];
  const socket = net.connect(Number(port), host);
  await once(socket, 'connect');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const request: ProduceRequest = { transactionalId: null, acks: 0, timeoutMs: 1000, topicData: [{ name: 'fire', partitionData: [{ index: 0, records: batch({ records: records(2, 'zero') }) }] }] };
  socket.write(encodeRequestFrame({ requestApiKey: API_KEYS.PRODUCE, requestApiVersion: 8, correlationId: 1, clientId: 't' }, (w) => encodeProduceRequest(w, request, 8)));
  const metadataRequest = { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
  socket.write(encodeRequestFrame({ requestApiKey: API_KEYS.METADATA, requestApiVersion: 1, correlationId: 2, clientId: 't' }, (w) => encodeMetadataRequest(w, metadataRequest, 1)));
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.destroy();
  // Exactly one response frame: the Metadata answer (correlation id 2).
  const bytes = Buffer.concat(received);
  assert.ok(bytes.length >= 8);
  assert.equal(bytes.readInt32BE(0), bytes.length - 4);
  assert.equal(bytes.readInt32BE(4), 2);
  assert.equal(served.db.engine.highWatermark('fire', 0), 2);
});

test('acks other than 0, 1 and -1 get INVALID_REQUIRED_ACKS and write nothing', async () => {
  await served.db.engine.createTopic('acks', { partitions: 1 });
  for (const acks of [1, -1]) assert.equal((await produceOne(11, 'acks', 0, batch({ records: records(1, 'a') }), { acks })).errorCode, ERROR_CODES.NONE);
  const answer = await produceOne(11, 'acks', 0, batch({ records: records(1, 'a') }), { acks: 2 });
  assert.equal(answer.errorCode, ERROR_CODES.INVALID_REQUIRED_ACKS);
  assert.equal(served.db.engine.highWatermark('acks', 0), 2);
});

test('unknown topics and partitions: UNKNOWN_TOPIC_OR_PARTITION, and Produce creates no topic', async () => {
  await served.db.engine.createTopic('known', { partitions: 1 });
  assert.equal((await produceOne(11, 'unknown-topic', 0, batch({ records: records(1, 'u') }))).errorCode, ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal((await produceOne(3, 'known', 7, batch({ records: records(1, 'u') }))).errorCode, ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(served.db.engine.describeTopic('unknown-topic'), undefined);
});

test('malformed records: CORRUPT_MESSAGE for a bad CRC, INVALID_RECORD for wrong batch counts and magics', async () => {
  await served.db.engine.createTopic('bad', { partitions: 1 });
  const damaged = batch({ records: records(2, 'crc') });
  damaged[damaged.length - 1]! ^= 0xff;
  const two = Buffer.concat([batch({ records: records(1, 'x') }), batch({ records: records(1, 'y') })]);
  const legacy = recordBatchesToLegacy(batch({ records: records(1, 'l') }), 1);
  const answers = await produce(11, [
    {
      name: 'bad',
      partitionData: [damaged, two, legacy, Buffer.alloc(0), null].map((records) => ({ index: 0, records })),
    },
  ]);
  assert.deepEqual(
    answers.responses[0]!.partitionResponses.map((a) => a.errorCode),
    [ERROR_CODES.CORRUPT_MESSAGE, ERROR_CODES.INVALID_RECORD, ERROR_CODES.INVALID_RECORD, ERROR_CODES.INVALID_RECORD, ERROR_CODES.INVALID_RECORD],
  );
  assert.ok(answers.responses[0]!.partitionResponses.every((a) => a.errorMessage !== null && a.baseOffset === -1n));
  assert.equal(served.db.engine.highWatermark('bad', 0), 0);
});

test('zstd needs Produce v7+; other codecs are stored compressed as sent', async () => {
  await served.db.engine.createTopic('codecs', { partitions: 1 });
  const zstd = batch({ records: records(2, 'z'), compression: 'zstd' });
  assert.equal((await produceOne(6, 'codecs', 0, zstd)).errorCode, ERROR_CODES.UNSUPPORTED_COMPRESSION_TYPE);
  assert.equal((await produceOne(7, 'codecs', 0, zstd)).errorCode, ERROR_CODES.NONE);
  assert.equal((await produceOne(3, 'codecs', 0, batch({ records: records(2, 'g'), compression: 'gzip' }))).errorCode, ERROR_CODES.NONE);
  const read = served.db.engine.read('codecs', 0, 0);
  assert.equal(readBatchHeader(read.records, 0).compression, 'zstd');
  assert.deepEqual(
    stored('codecs', 0).map((r) => r.value?.toString()),
    ['z-value-0', 'z-value-1', 'g-value-0', 'g-value-1'],
  );
});

test('a batch over max.message.bytes gets MESSAGE_TOO_LARGE', async () => {
  await served.db.engine.createTopic('small', { partitions: 1, configs: { 'max.message.bytes': '200' } });
  const big = batch({ records: [{ key: null, value: Buffer.alloc(500, 1), timestamp: T0 }] });
  assert.equal((await produceOne(11, 'small', 0, big)).errorCode, ERROR_CODES.MESSAGE_TOO_LARGE);
});

test('LogAppendTime topics answer the append time (v2+)', async () => {
  await served.db.engine.createTopic('appended', { partitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } });
  const before = Date.now();
  const answer = await produceOne(5, 'appended', 0, batch({ records: records(1, 't') }));
  assert.equal(answer.errorCode, ERROR_CODES.NONE);
  assert.ok(answer.logAppendTimeMs >= BigInt(before) && answer.logAppendTimeMs <= BigInt(Date.now()), String(answer.logAppendTimeMs));
});

test('transactional produce is refused on every partition with TRANSACTIONAL_ID_AUTHORIZATION_FAILED', async () => {
  await served.db.engine.createTopic('txn', { partitions: 2 });
  const byId = await produce(11, [{ name: 'txn', partitionData: [0, 1].map((index) => ({ index, records: batch({ records: records(1, 'tx') }) })) }], { transactionalId: 'my-txn' });
  assert.deepEqual(
    byId.responses[0]!.partitionResponses.map((a) => a.errorCode),
    [ERROR_CODES.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ERROR_CODES.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
  );
  const flagged = batch({ records: records(1, 'tx'), producerId: 5, producerEpoch: 0, baseSequence: 0, isTransactional: true });
  assert.equal((await produceOne(11, 'txn', 0, flagged)).errorCode, ERROR_CODES.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  assert.equal(served.db.engine.highWatermark('txn', 0), 0);
});

test('a kafkajs producer writes records the embedded engine reads back exactly', async () => {
  const kafka = new Kafka({ clientId: 'produce-test', brokers: [served.broker], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    const messages = Array.from({ length: 50 }, (_, i) => ({
      key: `k${i}`,
      value: i === 7 ? null : `value ${i}`,
      timestamp: String(T0 + i * 1000),
      headers: { trace: `t${i}`, bin: Buffer.from([i, 255 - i]) },
    }));
    const [result] = await producer.send({ topic: 'from-kafkajs', messages: messages.map((m) => ({ ...m, partition: 0 })), acks: -1 });
    assert.equal(result?.errorCode, 0);
    const got = stored('from-kafkajs', 0);
    assert.deepEqual(
      got.map((r) => ({ offset: r.offset, key: r.key?.toString(), value: r.value?.toString() ?? null, timestamp: r.timestamp, headers: r.headers.map((h) => [h.key, h.value]) })),
      messages.map((m, i) => ({
        offset: i,
        key: m.key,
        value: m.value,
        timestamp: Number(m.timestamp),
        headers: [
          ['trace', Buffer.from(m.headers.trace)],
          ['bin', m.headers.bin],
        ],
      })),
    );
  } finally {
    await producer.disconnect();
  }
});

test('kcat -P writes keyed lines to a partition', async () => {
  await served.db.engine.createTopic('from-kcat', { partitions: 2 });
  const producing = run('kcat', ['-b', served.broker, '-P', '-t', 'from-kcat', '-p', '1', '-K:', '-X', 'acks=all'], { timeout: 15_000 });
  producing.child.stdin!.end('a:one\nb:two\nc:three\n');
  await producing;
  assert.deepEqual(
    stored('from-kcat', 1).map((r) => [r.offset, r.key?.toString(), r.value?.toString()]),
    [
      [0, 'a', 'one'],
      [1, 'b', 'two'],
      [2, 'c', 'three'],
    ],
  );
  assert.equal(served.db.engine.highWatermark('from-kcat', 0), 0);
});
