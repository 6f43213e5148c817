// ListOffsets and OffsetForLeaderEpoch through the wire: latest, earliest (also after deleteRecords),
// earliest-local, latest-tiered, max timestamp and lookups by timestamp at v1-v10; v0's old-style offset
// lists; leader-epoch fencing; duplicate and unknown partitions; kcat's offset lookups; and the end offsets
// of leader epochs as Kafka's single-epoch cache answers them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { RecordInput } from '../../src/format/record-batch.ts';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import {
  decodeListOffsetsResponse,
  encodeListOffsetsRequest,
  type ListOffsetsRequestListOffsetsPartition,
  type ListOffsetsResponseListOffsetsPartitionResponse,
} from '../../src/protocol/generated/list-offsets.ts';
import {
  decodeOffsetForLeaderEpochResponse,
  encodeOffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponseEpochEndOffset,
} from '../../src/protocol/generated/offset-for-leader-epoch.ts';
import { connectRaw, type RawClient } from './helpers/raw-client.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

const run = promisify(execFile);

let served: ServedDatabase;
let raw: RawClient;

const T0 = 1_700_000_000_000;
/** Timestamps of offsets 0..5: not in offset order, so the largest (offset 3) is not the last. */
const TIMESTAMPS = [T0, T0 + 10, T0 + 20, T0 + 50, T0 + 30, T0 + 50];

function rec(timestamp: number, i: number): RecordInput {
  return { key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), timestamp };
}

before(async () => {
  served = await startServer();
  raw = await connectRaw(served.broker);
  const { engine } = served.db;
  await engine.createTopic('offsets', { partitions: 2 });
  await engine.append('offsets', 0, TIMESTAMPS.slice(0, 3).map(rec));
  await engine.append('offsets', 0, TIMESTAMPS.slice(3).map((t, i) => rec(t, i + 3)));
  await engine.createTopic('trimmed', { partitions: 1 });
  await engine.append('trimmed', 0, [0, 1, 2, 3].map((i) => rec(T0 + i, i)));
  await engine.deleteRecords('trimmed', 0, 2);
});
after(async () => {
  raw.close();
  await served.close();
});

async function listOffsets(version: number, topic: string, partitions: Partial<ListOffsetsRequestListOffsetsPartition>[]): Promise<ListOffsetsResponseListOffsetsPartitionResponse[]> {
  const response = await raw.request(
    API_KEYS.LIST_OFFSETS,
    version,
    encodeListOffsetsRequest,
    {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 1000,
      topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 10, ...p })) }],
    },
    decodeListOffsetsResponse,
  );
  return response.topics[0]!.partitions;
}

async function one(version: number, topic: string, timestamp: bigint, extra: Partial<ListOffsetsRequestListOffsetsPartition> = {}): Promise<[number, bigint, bigint, number]> {
  const [p] = await listOffsets(version, topic, [{ timestamp, ...extra }]);
  assert.ok(p !== undefined);
  return [p.errorCode, p.offset, p.timestamp, p.leaderEpoch];
}

test('latest, earliest, earliest-local and latest-tiered at v1-v10', async () => {
  for (const version of [1, 4, 6, 9, 10]) {
    const epoch = version >= 4 ? 0 : -1;
    assert.deepEqual(await one(version, 'offsets', -1n), [0, 6n, -1n, epoch], `latest v${version}`);
    assert.deepEqual(await one(version, 'offsets', -2n), [0, 0n, -1n, epoch], `earliest v${version}`);
    assert.deepEqual(await one(version, 'trimmed', -2n), [0, 2n, -1n, epoch], `earliest after deleteRecords v${version}`);
  }
  assert.deepEqual(await one(8, 'trimmed', -4n), [0, 2n, -1n, 0]);
  assert.deepEqual(await one(9, 'offsets', -5n), [0, -1n, -1n, -1]);
});

test('by timestamp: the first offset at or after it, -1 when none', async () => {
  assert.deepEqual(await one(1, 'offsets', BigInt(T0 + 15)), [0, 2n, BigInt(T0 + 20), -1]);
  assert.deepEqual(await one(7, 'offsets', BigInt(T0 + 25)), [0, 3n, BigInt(T0 + 50), 0]);
  assert.deepEqual(await one(10, 'offsets', BigInt(T0 - 5)), [0, 0n, BigInt(T0), 0]);
  assert.deepEqual(await one(10, 'offsets', BigInt(T0 + 51)), [0, -1n, -1n, -1]);
  assert.deepEqual(await one(10, 'trimmed', BigInt(T0)), [0, 2n, BigInt(T0 + 2), 0]);
});

test('max timestamp (-3): the first record holding the largest timestamp; none on an empty partition', async () => {
  assert.deepEqual(await one(7, 'offsets', -3n), [0, 3n, BigInt(T0 + 50), 0]);
  assert.deepEqual(await one(10, 'offsets', -3n, { partitionIndex: 1 }), [0, -1n, -1n, -1]);
});

test('v0 answers old-style offset lists, cut at maxNumOffsets', async () => {
  const v0 = async (timestamp: bigint, maxNumOffsets: number, topic = 'offsets'): Promise<bigint[]> => (await listOffsets(0, topic, [{ timestamp, maxNumOffsets }]))[0]!.oldStyleOffsets;
  assert.deepEqual(await v0(-1n, 10), [6n, 0n]);
  assert.deepEqual(await v0(-1n, 1), [6n]);
  assert.deepEqual(await v0(-2n, 10, 'trimmed'), [2n]);
  assert.deepEqual(await v0(BigInt(T0 + 15), 10), [2n]);
  assert.deepEqual(await v0(BigInt(T0 + 99), 10), []);
  assert.deepEqual(await v0(-1n, 0), []);
});

test('errors: unknown topic or partition, leader epochs other than 0 (v4+), duplicate partitions (v1+)', async () => {
  assert.equal((await one(5, 'nope', -1n))[0], ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal((await one(5, 'offsets', -1n, { partitionIndex: 9 }))[0], ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal((await one(4, 'offsets', -1n, { currentLeaderEpoch: 0 }))[0], ERROR_CODES.NONE);
  assert.equal((await one(4, 'offsets', -1n, { currentLeaderEpoch: 2 }))[0], ERROR_CODES.UNKNOWN_LEADER_EPOCH);
  assert.equal((await one(6, 'offsets', -1n, { currentLeaderEpoch: -7 }))[0], ERROR_CODES.FENCED_LEADER_EPOCH);
  const dup = await listOffsets(6, 'offsets', [{ partitionIndex: 0 }, { partitionIndex: 1 }, { partitionIndex: 0 }]);
  assert.deepEqual(
    dup.map((p) => p.errorCode),
    [ERROR_CODES.INVALID_REQUEST, ERROR_CODES.NONE, ERROR_CODES.INVALID_REQUEST],
  );
});

test('kcat -Q finds offsets by timestamp; -o -2 reads the last two records', async () => {
  const { stdout } = await run('kcat', ['-b', served.broker, '-Q', '-t', `offsets:0:${T0 + 25}`], { timeout: 15_000 });
  assert.match(stdout, /offsets \[0\]\s+offset 3\b/);
  const tail = await run('kcat', ['-b', served.broker, '-C', '-t', 'offsets', '-p', '0', '-o', '-2', '-e', '-f', '%o %k\n'], { timeout: 15_000 });
  assert.equal(tail.stdout, '4 k4\n5 k5\n');
});

async function endOffsets(version: number, partitions: { partition?: number; currentLeaderEpoch?: number; leaderEpoch: number }[], topic = 'offsets'): Promise<OffsetForLeaderEpochResponseEpochEndOffset[]> {
  const response = await raw.request(
    API_KEYS.OFFSET_FOR_LEADER_EPOCH,
    version,
    encodeOffsetForLeaderEpochRequest,
    { replicaId: -1, topics: [{ topic, partitions: partitions.map((p) => ({ partition: 0, currentLeaderEpoch: -1, ...p })) }] },
    decodeOffsetForLeaderEpochResponse,
  );
  return response.topics[0]!.partitions;
}

test('OffsetForLeaderEpoch: epoch 0 ends at the highWatermark; other epochs as Kafka answers them', async () => {
  for (const version of [0, 2, 3, 4]) {
    const [p] = await endOffsets(version, [{ leaderEpoch: 0 }]);
    assert.deepEqual([p!.errorCode, p!.endOffset], [0, 6n], `v${version}`);
    if (version >= 1) assert.equal(p!.leaderEpoch, 0);
  }
  const others = await endOffsets(4, [{ leaderEpoch: -1 }, { leaderEpoch: 3 }, { leaderEpoch: -4 }]);
  assert.deepEqual(
    others.map((p) => [p.errorCode, p.leaderEpoch, p.endOffset]),
    [
      [0, -1, -1n],
      [0, -1, -1n],
      [0, -4, 0n],
    ],
  );
  const [trimmed] = await endOffsets(4, [{ leaderEpoch: -2 }], 'trimmed');
  assert.deepEqual([trimmed!.leaderEpoch, trimmed!.endOffset], [-2, 2n]);
});

test('OffsetForLeaderEpoch: unknown partitions and fenced or unknown current leader epochs', async () => {
  const answers = await endOffsets(3, [
    { partition: 5, leaderEpoch: 0 },
    { currentLeaderEpoch: 0, leaderEpoch: 0 },
    { currentLeaderEpoch: 1, leaderEpoch: 0 },
    { currentLeaderEpoch: -2, leaderEpoch: 0 },
  ]);
  assert.deepEqual(
    answers.map((p) => p.errorCode),
    [ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION, ERROR_CODES.NONE, ERROR_CODES.UNKNOWN_LEADER_EPOCH, ERROR_CODES.FENCED_LEADER_EPOCH],
  );
  const [unknownTopic] = await endOffsets(4, [{ leaderEpoch: 0 }], 'nope');
  assert.deepEqual([unknownTopic!.errorCode, unknownTopic!.endOffset], [ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION, -1n]);
});
