// Idempotent produce through the wire: InitProducerId at v0-v5 (new ids with epoch 0, transactional ids
// refused, half-given id/epoch pairs rejected); raw Produce retries with the same producer id, epoch and
// sequence acknowledged with their first offsets and written once; sequence gaps and stale epochs refused;
// and a kafkajs idempotent producer whose first Produce response is lost (a proxy in front of the server
// drops it and cuts the connection) retries and still writes each record once.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { decodeRecords, encodeBatch, readBatchHeader } from '../../src/format/record-batch.ts';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeInitProducerIdResponse, encodeInitProducerIdRequest, type InitProducerIdRequest, type InitProducerIdResponse } from '../../src/protocol/generated/init-producer-id.ts';
import { decodeProduceResponse, encodeProduceRequest, type ProduceResponsePartitionProduceResponse } from '../../src/protocol/generated/produce.ts';
import { connectRaw, type RawClient } from './helpers/raw-client.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

/** The proxy listens on another loopback address with the server's port number, which Metadata advertises. */
const PROXY_HOST = '127.0.0.2';

let served: ServedDatabase;
let raw: RawClient;

before(async () => {
  served = await startServer({ serve: { advertisedHost: PROXY_HOST } });
  raw = await connectRaw(served.broker);
});
after(async () => {
  raw.close();
  await served.close();
});

function initProducerId(version: number, request: Partial<InitProducerIdRequest> = {}): Promise<InitProducerIdResponse> {
  const full: InitProducerIdRequest = { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1, ...request };
  return raw.request(API_KEYS.INIT_PRODUCER_ID, version, encodeInitProducerIdRequest, full, decodeInitProducerIdResponse);
}

async function produce(topic: string, producerId: number, producerEpoch: number, baseSequence: number, count: number): Promise<ProduceResponsePartitionProduceResponse> {
  const batch = encodeBatch({
    baseOffset: 0,
    producerId,
    producerEpoch,
    baseSequence,
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`seq ${baseSequence + i}`), timestamp: 1_700_000_000_000 })),
  });
  const response = await raw.request(
    API_KEYS.PRODUCE,
    9,
    encodeProduceRequest,
    { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] },
    decodeProduceResponse,
  );
  return response.responses[0]!.partitionResponses[0]!;
}

function storedValues(topic: string): string[] {
  const out: string[] = [];
  let offset = 0;
  for (;;) {
    const read = served.db.engine.read(topic, 0, offset);
    if (read.records.length === 0) return out;
    for (let p = 0; p < read.records.length; p += readBatchHeader(read.records, p).batchLength + 12) {
      for (const r of decodeRecords(read.records, p)) out.push(r.value?.toString() ?? '');
    }
    offset = read.nextOffset;
  }
}

test('InitProducerId gives idempotent producers new ids with epoch 0 at v0-v5', async () => {
  const ids = new Set<bigint>();
  for (const version of [0, 1, 2, 3, 4, 5]) {
    const response = await initProducerId(version);
    assert.deepEqual([response.errorCode, response.producerEpoch], [ERROR_CODES.NONE, 0], `v${version}`);
    assert.ok(response.producerId >= 0n);
    ids.add(response.producerId);
  }
  assert.equal(ids.size, 6);
  // A producer recovering with its id and epoch (v3+) gets a new id, as Kafka gives idempotent producers.
  const first = await initProducerId(4);
  const again = await initProducerId(4, { producerId: first.producerId, producerEpoch: first.producerEpoch });
  assert.equal(again.errorCode, ERROR_CODES.NONE);
  assert.notEqual(again.producerId, first.producerId);
  assert.equal(again.producerEpoch, 0);
});

test('InitProducerId refuses transactional ids and half-given id/epoch pairs', async () => {
  const transactional = await initProducerId(2, { transactionalId: 'txn-1' });
  assert.deepEqual([transactional.errorCode, transactional.producerId, transactional.producerEpoch], [ERROR_CODES.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1n, -1]);
  assert.equal((await initProducerId(3, { producerId: 12n, producerEpoch: -1 })).errorCode, ERROR_CODES.INVALID_REQUEST);
  assert.equal((await initProducerId(5, { producerId: -1n, producerEpoch: 3 })).errorCode, ERROR_CODES.INVALID_REQUEST);
});

test('a retried batch is acknowledged with its first offsets and written once; gaps and stale epochs are refused', async () => {
  await served.db.engine.createTopic('idem', { partitions: 1 });
  const producerId = Number((await initProducerId(4)).producerId);
  const first = await produce('idem', producerId, 0, 0, 3);
  assert.deepEqual([first.errorCode, first.baseOffset], [ERROR_CODES.NONE, 0n]);
  const second = await produce('idem', producerId, 0, 3, 2);
  assert.equal(second.baseOffset, 3n);
  // Retries of both batches: same offsets, nothing written.
  assert.deepEqual([(await produce('idem', producerId, 0, 0, 3)).baseOffset, (await produce('idem', producerId, 0, 3, 2)).baseOffset], [0n, 3n]);
  assert.equal(served.db.engine.highWatermark('idem', 0), 5);
  // A gap: sequence 9 where 5 is expected.
  const gap = await produce('idem', producerId, 0, 9, 1);
  assert.equal(gap.errorCode, ERROR_CODES.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(gap.baseOffset, -1n);
  // A new epoch starts its sequences over; the old epoch is then fenced.
  assert.equal((await produce('idem', producerId, 1, 0, 1)).errorCode, ERROR_CODES.NONE);
  assert.equal((await produce('idem', producerId, 0, 5, 1)).errorCode, ERROR_CODES.INVALID_PRODUCER_EPOCH);
  assert.deepEqual(storedValues('idem'), ['seq 0', 'seq 1', 'seq 2', 'seq 3', 'seq 4', 'seq 0']);
});

interface Proxy {
  readonly dropped: number;
  close(): Promise<void>;
}

/**
 * Forwards connections on PROXY_HOST:port to the server. The first Produce response it sees is dropped and
 * that connection cut, as if the broker wrote the records and the network lost the answer.
 */
async function startProxy(port: number): Promise<Proxy> {
  let dropped = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    const apiKeyOf = new Map<number, number>();
    let fromClient = Buffer.alloc(0);
    let fromServer = Buffer.alloc(0);
    const cut = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', cut);
    client.on('data', (chunk: Buffer) => {
      fromClient = Buffer.concat([fromClient, chunk]);
      while (fromClient.length >= 4 && fromClient.length >= 4 + fromClient.readInt32BE(0)) {
        const size = fromClient.readInt32BE(0);
        apiKeyOf.set(fromClient.readInt32BE(8), fromClient.readInt16BE(4));
        upstream.write(fromClient.subarray(0, 4 + size));
        fromClient = fromClient.subarray(4 + size);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      fromServer = Buffer.concat([fromServer, chunk]);
      while (fromServer.length >= 4 && fromServer.length >= 4 + fromServer.readInt32BE(0)) {
        const size = fromServer.readInt32BE(0);
        const frame = fromServer.subarray(0, 4 + size);
        fromServer = fromServer.subarray(4 + size);
        if (apiKeyOf.get(frame.readInt32BE(4)) === API_KEYS.PRODUCE && dropped === 0) {
          dropped++;
          cut();
          return;
        }
        client.write(frame);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, PROXY_HOST, resolve);
  });
  return {
    get dropped() {
      return dropped;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

test('a kafkajs idempotent producer whose first Produce response is lost writes each record once', async () => {
  await served.db.engine.createTopic('idem-kafkajs', { partitions: 1 });
  const proxy = await startProxy(served.server.port);
  const kafka = new Kafka({
    clientId: 'idempotence-test',
    brokers: [`${PROXY_HOST}:${String(served.server.port)}`],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, retries: 5 },
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await producer.connect();
    const first = Array.from({ length: 5 }, (_, i) => ({ value: `first ${i}` }));
    const second = Array.from({ length: 3 }, (_, i) => ({ value: `second ${i}` }));
    await producer.send({ topic: 'idem-kafkajs', messages: first.map((m) => ({ ...m, partition: 0 })), acks: -1 });
    assert.equal(proxy.dropped, 1, 'the first Produce response was dropped');
    await producer.send({ topic: 'idem-kafkajs', messages: second.map((m) => ({ ...m, partition: 0 })), acks: -1 });
    assert.deepEqual(storedValues('idem-kafkajs'), [...first, ...second].map((m) => m.value));
  } finally {
    await producer.disconnect();
    await proxy.close();
  }
});
