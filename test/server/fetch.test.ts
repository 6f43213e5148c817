// Fetch through the wire: records written by the embedded API come back as the stored batches at v4-v17
// (by name and, v13+, by topic id) and as legacy messages at v0-v3; whole batches for offsets inside them;
// partition and response byte limits with KIP-74's first batch; offset-range, unknown-topic, leader-epoch,
// zstd-version and fetch-session errors; the long poll waking on an append and timing out empty; and kcat
// as a simple consumer reading what was produced.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { decodeLegacyMessageSet } from '../../src/format/legacy-message-set.ts';
import { decodeRecords, readBatchHeader, type RecordInput } from '../../src/format/record-batch.ts';
import { ZERO_UUID } from '../../src/protocol/codec.ts';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeFetchResponse, encodeFetchRequest, type FetchRequest, type FetchResponse, type FetchResponsePartitionData } from '../../src/protocol/generated/fetch.ts';
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

function records(count: number, tag: string, size = 0): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`${tag}-k${i}`),
    value: Buffer.concat([Buffer.from(`${tag}-v${i}`), Buffer.alloc(size, 0x61)]),
    headers: [{ key: 'n', value: Buffer.from(String(i)) }],
    timestamp: T0 + i,
  }));
}

interface Want {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly partitionMaxBytes?: number;
  readonly currentLeaderEpoch?: number;
}

function fetchRequest(version: number, wants: readonly Want[], options: Partial<FetchRequest> = {}): FetchRequest {
  const topics = [...new Set(wants.map((w) => w.topic))].map((topic) => ({
    topic,
    topicId: version >= 13 ? (served.db.engine.describeTopic(topic)?.topicId ?? ZERO_UUID) : ZERO_UUID,
    partitions: wants
      .filter((w) => w.topic === topic)
      .map((w) => ({
        partition: w.partition,
        currentLeaderEpoch: w.currentLeaderEpoch ?? -1,
        fetchOffset: BigInt(w.offset),
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: w.partitionMaxBytes ?? 1024 * 1024,
        replicaDirectoryId: ZERO_UUID,
      })),
  }));
  return {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 50 * 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics,
    forgottenTopicsData: [],
    rackId: '',
    ...options,
  };
}

function fetch(version: number, wants: readonly Want[], options: Partial<FetchRequest> = {}, client = raw): Promise<FetchResponse> {
  return client.request(API_KEYS.FETCH, version, encodeFetchRequest, fetchRequest(version, wants, options), decodeFetchResponse);
}

function partitions(response: FetchResponse): FetchResponsePartitionData[] {
  return response.responses.flatMap((t) => t.partitions);
}

/** The batches' records as [offset, key, value, timestamp, headers]. */
function batchRecords(bytes: Buffer | null): unknown[] {
  const out: unknown[] = [];
  if (bytes === null) return out;
  for (let p = 0; p < bytes.length; p += readBatchHeader(bytes, p).batchLength + 12) {
    for (const r of decodeRecords(bytes, p)) out.push([r.offset, r.key?.toString(), r.value?.toString(), r.timestamp, r.headers.map((h) => `${h.key}=${h.value?.toString() ?? ''}`)]);
  }
  return out;
}

function batchBaseOffsets(bytes: Buffer | null): number[] {
  const out: number[] = [];
  for (let p = 0; bytes !== null && p < bytes.length; p += readBatchHeader(bytes, p).batchLength + 12) out.push(readBatchHeader(bytes, p).baseOffset);
  return out;
}

function expected(list: readonly RecordInput[], firstOffset: number): unknown[] {
  return list.map((r, i) => [firstOffset + i, r.key?.toString(), r.value?.toString(), r.timestamp, (r.headers ?? []).map((h) => `${h.key}=${h.value?.toString() ?? ''}`)]);
}

test('embedded writes come back through Fetch v4-v17 as the stored batches', async () => {
  const { engine } = served.db;
  await engine.createTopic('embedded', { partitions: 1 });
  const first = records(3, 'a');
  const second = records(2, 'b');
  await engine.append('embedded', 0, first);
  await engine.append('embedded', 0, second);
  const storedBytes = engine.read('embedded', 0, 0).records;
  for (const version of [4, 7, 11, 12, 13, 16, 17]) {
    const response = await fetch(version, [{ topic: 'embedded', partition: 0, offset: 0 }]);
    assert.equal(response.errorCode, ERROR_CODES.NONE);
    assert.equal(response.sessionId, 0);
    const [p] = partitions(response);
    assert.ok(p !== undefined);
    assert.equal(p.errorCode, ERROR_CODES.NONE, `v${version}`);
    assert.equal(p.highWatermark, 5n);
    assert.equal(p.lastStableOffset, 5n);
    if (version >= 5) assert.equal(p.logStartOffset, 0n);
    if (version >= 11) assert.equal(p.preferredReadReplica, -1);
    assert.deepEqual(p.records, storedBytes, `v${version}`);
    assert.deepEqual(batchRecords(p.records), [...expected(first, 0), ...expected(second, 3)]);
  }
});

test('an offset inside a batch returns that whole batch; the highWatermark returns nothing', async () => {
  const { engine } = served.db;
  await engine.createTopic('inside', { partitions: 1 });
  await engine.append('inside', 0, records(4, 'x'));
  await engine.append('inside', 0, records(4, 'y'));
  const [mid] = partitions(await fetch(11, [{ topic: 'inside', partition: 0, offset: 5 }]));
  assert.deepEqual(batchBaseOffsets(mid!.records), [4]);
  const [end] = partitions(await fetch(11, [{ topic: 'inside', partition: 0, offset: 8 }]));
  assert.equal(end!.errorCode, ERROR_CODES.NONE);
  assert.equal(end!.records?.length, 0);
});

test('v0-v3 get legacy messages: magic 0 for v0-v1, magic 1 for v2-v3, from the fetch offset on', async () => {
  const { engine } = served.db;
  await engine.createTopic('old-fetch', { partitions: 1 });
  const list = records(4, 'm');
  await engine.append('old-fetch', 0, list);
  for (const [version, magic] of [
    [0, 0],
    [1, 0],
    [2, 1],
    [3, 1],
  ] as const) {
    const [p] = partitions(await fetch(version, [{ topic: 'old-fetch', partition: 0, offset: 1 }]));
    assert.equal(p!.errorCode, ERROR_CODES.NONE);
    const messages = decodeLegacyMessageSet(p!.records!);
    assert.deepEqual(
      messages.map((m) => [m.magic, m.offset, m.key?.toString(), m.value?.toString(), m.timestamp]),
      list.slice(1).map((r, i) => [magic, i + 1, r.key?.toString(), r.value?.toString(), magic === 0 ? -1 : r.timestamp]),
      `v${version}`,
    );
  }
});

test('byte limits: partitionMaxBytes and maxBytes in request order, KIP-74 first batch, hard limits before v3', async () => {
  const { engine } = served.db;
  await engine.createTopic('limits', { partitions: 3 });
  for (const p of [0, 1, 2]) {
    for (let b = 0; b < 3; b++) await engine.append('limits', p, records(1, `p${p}b${b}`, 1000));
  }
  const batchSize = engine.read('limits', 0, 0, { maxBytes: 1 }).records.length;
  const all = [0, 1, 2].map((partition) => ({ topic: 'limits', partition, offset: 0 }));

  // partitionMaxBytes of two batches: two from each partition.
  let got = partitions(await fetch(11, all.map((w) => ({ ...w, partitionMaxBytes: 2 * batchSize }))));
  assert.deepEqual(got.map((p) => batchBaseOffsets(p.records)), [[0, 1], [0, 1], [0, 1]]);

  // A response limit of four batches: partitions are filled in request order.
  got = partitions(await fetch(11, all, { maxBytes: 4 * batchSize }));
  assert.deepEqual(got.map((p) => batchBaseOffsets(p.records)), [[0, 1, 2], [0], []]);
  assert.ok(got.every((p) => p.errorCode === ERROR_CODES.NONE && p.highWatermark === 3n));

  // Limits below one batch: the first partition still gets one whole batch (KIP-74), the others none.
  got = partitions(await fetch(4, all.map((w) => ({ ...w, partitionMaxBytes: 10 }))));
  assert.deepEqual(got.map((p) => batchBaseOffsets(p.records)), [[0], [], []]);
  got = partitions(await fetch(3, all.map((w) => ({ ...w, partitionMaxBytes: 10 }))));
  assert.deepEqual(got.map((p) => decodeLegacyMessageSet(p.records!).length), [1, 0, 0]);

  // v0-v2 limits are hard: a message over the limit comes back cut, which clients report as too large.
  got = partitions(await fetch(2, [{ topic: 'limits', partition: 0, offset: 0, partitionMaxBytes: 100 }]));
  assert.equal(got[0]!.records!.length, 100);
  assert.deepEqual(decodeLegacyMessageSet(got[0]!.records!, { allowPartialTail: true }), []);
});

test('OFFSET_OUT_OF_RANGE above the highWatermark and below the logStartOffset', async () => {
  const { engine } = served.db;
  await engine.createTopic('range', { partitions: 1 });
  await engine.append('range', 0, records(2, 'r'));
  await engine.append('range', 0, records(2, 's'));
  await engine.deleteRecords('range', 0, 2);
  for (const offset of [5, 1]) {
    const [p] = partitions(await fetch(12, [{ topic: 'range', partition: 0, offset }], { maxWaitMs: 5000, minBytes: 1 }));
    assert.equal(p!.errorCode, ERROR_CODES.OFFSET_OUT_OF_RANGE, `offset ${offset}`);
    assert.equal(p!.records?.length, 0);
  }
  const [ok] = partitions(await fetch(12, [{ topic: 'range', partition: 0, offset: 2 }]));
  assert.equal(ok!.logStartOffset, 2n);
  assert.deepEqual(batchBaseOffsets(ok!.records), [2]);
});

test('unknown topics, partitions and topic ids; leader epochs other than 0', async () => {
  const { engine } = served.db;
  await engine.createTopic('epochs', { partitions: 1 });
  let [p] = partitions(await fetch(11, [{ topic: 'no-such-topic', partition: 0, offset: 0 }]));
  assert.equal(p!.errorCode, ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION);
  [p] = partitions(await fetch(11, [{ topic: 'epochs', partition: 4, offset: 0 }]));
  assert.equal(p!.errorCode, ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION);
  [p] = partitions(await fetch(13, [{ topic: 'no-such-topic', partition: 0, offset: 0 }]));
  assert.equal(p!.errorCode, ERROR_CODES.UNKNOWN_TOPIC_ID);
  const byEpoch = await fetch(12, [
    { topic: 'epochs', partition: 0, offset: 0, currentLeaderEpoch: 0 },
    { topic: 'epochs', partition: 0, offset: 0, currentLeaderEpoch: 1 },
    { topic: 'epochs', partition: 0, offset: 0, currentLeaderEpoch: -3 },
  ]);
  assert.deepEqual(
    partitions(byEpoch).map((x) => x.errorCode),
    [ERROR_CODES.NONE, ERROR_CODES.UNKNOWN_LEADER_EPOCH, ERROR_CODES.FENCED_LEADER_EPOCH],
  );
});

test('a zstd topic answers fetches before v10 with UNSUPPORTED_COMPRESSION_TYPE', async () => {
  await served.db.engine.createTopic('zstd-topic', { partitions: 1, configs: { 'compression.type': 'zstd' } });
  await served.db.engine.append('zstd-topic', 0, records(1, 'z'));
  const [old] = partitions(await fetch(9, [{ topic: 'zstd-topic', partition: 0, offset: 0 }]));
  assert.equal(old!.errorCode, ERROR_CODES.UNSUPPORTED_COMPRESSION_TYPE);
  const [current] = partitions(await fetch(10, [{ topic: 'zstd-topic', partition: 0, offset: 0 }]));
  assert.deepEqual(batchRecords(current!.records), expected(records(1, 'z'), 0));
});

test('no fetch sessions: full requests get sessionId 0, incremental ones FETCH_SESSION_ID_NOT_FOUND', async () => {
  await served.db.engine.createTopic('sessions', { partitions: 1 });
  const want = [{ topic: 'sessions', partition: 0, offset: 0 }];
  const opened = await fetch(7, want, { sessionId: 0, sessionEpoch: 0 });
  assert.deepEqual([opened.errorCode, opened.sessionId, partitions(opened).length], [ERROR_CODES.NONE, 0, 1]);
  const incremental = await fetch(12, want, { sessionId: 1234, sessionEpoch: 1 });
  assert.deepEqual([incremental.errorCode, incremental.sessionId, incremental.responses], [ERROR_CODES.FETCH_SESSION_ID_NOT_FOUND, 0, []]);
});

test('long poll: a waiting fetch returns soon after a concurrent append', async () => {
  const { engine } = served.db;
  await engine.createTopic('poll', { partitions: 2 });
  const started = Date.now();
  const waiting = fetch(12, [
    { topic: 'poll', partition: 0, offset: 0 },
    { topic: 'poll', partition: 1, offset: 0 },
  ], { maxWaitMs: 2000, minBytes: 1 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  await engine.append('poll', 1, records(2, 'late'));
  const response = await waiting;
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 1500, `took ${elapsed} ms`);
  const [p0, p1] = partitions(response);
  assert.equal(p0!.records?.length, 0);
  assert.deepEqual(batchRecords(p1!.records), expected(records(2, 'late'), 0));
});

test('long poll: minBytes keeps waiting past a small append, and maxWaitMs ends an empty wait', async () => {
  const { engine } = served.db;
  await engine.createTopic('quiet', { partitions: 1 });
  let started = Date.now();
  const [empty] = partitions(await fetch(11, [{ topic: 'quiet', partition: 0, offset: 0 }], { maxWaitMs: 700, minBytes: 1 }));
  let elapsed = Date.now() - started;
  assert.ok(elapsed >= 650 && elapsed < 1500, `took ${elapsed} ms`);
  assert.equal(empty!.errorCode, ERROR_CODES.NONE);
  assert.equal(empty!.records?.length, 0);

  started = Date.now();
  const waiting = fetch(11, [{ topic: 'quiet', partition: 0, offset: 0 }], { maxWaitMs: 700, minBytes: 1_000_000 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await engine.append('quiet', 0, records(1, 'small'));
  const [some] = partitions(await waiting);
  elapsed = Date.now() - started;
  assert.ok(elapsed >= 650, `took ${elapsed} ms`);
  assert.deepEqual(batchRecords(some!.records), expected(records(1, 'small'), 0));
});

test('the long-poll wait ends as soon as its signal aborts (the connection closed)', async () => {
  await served.db.engine.createTopic('aborted', { partitions: 1 });
  const controller = new AbortController();
  const started = Date.now();
  const waiting = served.db.engine.waitForAny([{ topic: 'aborted', partition: 0, offset: 0 }], 5000, controller.signal);
  setTimeout(() => controller.abort(), 100);
  assert.equal(await waiting, false);
  assert.ok(Date.now() - started < 1000);
});

test('kcat as a simple consumer reads what kcat produced', async () => {
  await served.db.engine.createTopic('kcat-roundtrip', { partitions: 1 });
  const producing = run('kcat', ['-b', served.broker, '-P', '-t', 'kcat-roundtrip', '-p', '0', '-K:'], { timeout: 15_000 });
  producing.child.stdin!.end('k1:hello\nk2:world\nk3:again\n');
  await producing;
  const { stdout } = await run('kcat', ['-b', served.broker, '-C', '-t', 'kcat-roundtrip', '-p', '0', '-o', 'beginning', '-e', '-f', '%k %s\n'], { timeout: 15_000 });
  assert.equal(stdout, 'k1 hello\nk2 world\nk3 again\n');
});

test('kcat consumes records written by the embedded API, from an offset inside a batch', async () => {
  await served.db.engine.createTopic('kcat-embedded', { partitions: 1 });
  await served.db.engine.append('kcat-embedded', 0, records(5, 'e'));
  const { stdout } = await run('kcat', ['-b', served.broker, '-C', '-t', 'kcat-embedded', '-p', '0', '-o', '2', '-e', '-f', '%o %k %s %T\n'], { timeout: 15_000 });
  assert.equal(stdout, [2, 3, 4].map((i) => `${i} e-k${i} e-v${i} ${T0 + i}\n`).join(''));
});
