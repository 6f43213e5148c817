// kcat (librdkafka 2.x, C) against `onelog serve`: for each compression codec, kcat produces 10,000 keyed
// records with headers into a 3-partition topic (murmur2 partitioner, as Java's default), the file holds
// exactly those records, kcat reads them back by partition and offset with CRC checks on, and kcat's
// offsets-by-timestamp query agrees with the file. kcat must be installed (.ci/run installs it): this test
// fails, never skips, without it.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { partitionForKey } from '../../src/client/partitioner.ts';
import { byKey, CODECS, interopRecord, PARTITIONS, RECORDS_PER_CODEC, storedRecords } from './helpers/interop-data.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

const run = promisify(execFile);
let served: ServedDatabase;

before(async () => {
  served = await startServer();
});
after(async () => {
  await served.close();
});

/** Runs kcat with `args`, feeding `input` on stdin; resolves with stdout. */
function kcat(args: readonly string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', served.broker, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`kcat ${args.join(' ')} exited with ${String(code)}: ${stderr}`));
    });
    child.stdin.end(input);
  });
}

test('kcat is installed', async () => {
  const { stdout } = await run('kcat', ['-V']);
  assert.match(stdout, /librdkafka 2\./);
});

for (const type of CODECS) {
  test(`kcat produces and consumes 10,000 records compressed with ${type}`, { timeout: 60_000 }, async () => {
    const topic = `kcat-${type}`;
    await served.db.admin().createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    const records = Array.from({ length: RECORDS_PER_CODEC }, (_, i) => interopRecord('kcat', type, i, 0));
    const before = Date.now();
    await kcat(
      ['-P', '-t', topic, '-K', '\t', '-z', type, '-H', 'client=kcat', '-X', 'partitioner=murmur2_random', '-X', 'linger.ms=5'],
      records.map((r) => `${r.key}\t${r.value}\n`).join(''),
    );
    const after = Date.now();

    // The file holds each record on the partition Java's partitioner picks, compressed as asked, with
    // kcat's header and a CreateTime stamped while it ran. (librdkafka sends a batch uncompressed when
    // compressing did not make it smaller, as a small batch under lz4's frame overhead can be: those are
    // stored as sent, uncompressed.)
    const stored = storedRecords(served.db.engine, topic);
    assert.equal(stored.length, RECORDS_PER_CODEC);
    for (const s of stored) {
      assert.ok(s.compression === type || s.compression === 'none', `a batch compressed with ${s.compression}`);
      assert.ok(s.timestamp >= before - 1000 && s.timestamp <= after + 1000, `timestamp ${String(s.timestamp)}`);
    }
    const compressed = stored.filter((s) => s.compression === type).length;
    assert.ok(compressed >= RECORDS_PER_CODEC / 2, `${String(compressed)} of ${String(RECORDS_PER_CODEC)} records in ${type} batches`);
    assert.deepEqual(
      byKey(stored).map((s) => ({ key: s.key, value: s.value, headers: s.headers, partition: s.partition })),
      byKey(records.map((r) => ({ key: r.key, value: r.value, headers: { client: 'kcat' }, partition: partitionForKey(r.key, PARTITIONS) }))),
    );

    // kcat reads every partition from its first offset, CRCs checked, and sees exactly what is stored.
    const lines: string[] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const out = await kcat(['-C', '-t', topic, '-p', String(p), '-o', 'beginning', '-e', '-X', 'check.crcs=true', '-f', '%p\t%o\t%T\t%k\t%s\t%h\n']);
      lines.push(...out.split('\n').filter((l) => l.length > 0));
    }
    const consumed = lines.map((line) => {
      const [partition, offset, timestamp, key, value, headers] = line.split('\t');
      return { partition: Number(partition), offset: Number(offset), timestamp: Number(timestamp), key: key ?? '', value: value ?? '', headers: headers ?? '' };
    });
    assert.deepEqual(
      byKey(consumed),
      byKey(stored.map((s) => ({ partition: s.partition, offset: s.offset, timestamp: s.timestamp, key: s.key, value: s.value, headers: 'client=kcat' }))),
    );

    // From an offset inside the log: kcat starts exactly there.
    const p0 = stored.filter((s) => s.partition === 0);
    const from = Math.floor(p0.length / 2);
    const tail = await kcat(['-C', '-t', topic, '-p', '0', '-o', String(from), '-c', '3', '-e', '-f', '%o %k\n']);
    assert.deepEqual(tail.trim().split('\n'), p0.slice(from, from + 3).map((s) => `${String(s.offset)} ${s.key}`));

    // Offsets by timestamp (ListOffsets): the first record at or after a stored record's time.
    for (let p = 0; p < PARTITIONS; p++) {
      const inPartition = stored.filter((s) => s.partition === p);
      const probe = inPartition[Math.floor(inPartition.length / 2)]!.timestamp;
      const out = await kcat(['-Q', '-t', `${topic}:${String(p)}:${String(probe)}`]);
      const expected = inPartition.find((s) => s.timestamp >= probe)!.offset;
      assert.match(out, new RegExp(`\\[${String(p)}\\]\\s+offset ${String(expected)}\\b`), out);
    }
  });
}
