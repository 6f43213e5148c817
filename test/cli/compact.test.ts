// onelog compact as a child process: a topic whose keys are rewritten many times over several 64 KiB
// extents (written under cleanup.policy delete, then switched to compact) keeps every version until
// `onelog compact` runs; then the sealed extents keep only the latest record of each key, at its original
// offset, and the newest value of every key still reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

const KEYS = 10;
const RECORDS = 400;

test('compact keeps the latest record of each key, at its offset', async () => {
  const file = tempDb();
  await runCli(['create', file, '--extent-size', '64k']);
  // Not compacted while written (a writing process compacts on its own as extents fill): compact from here.
  await runCli(['topics', file, 'create', 'latest', '--config', 'cleanup.policy=delete', '--config', 'min.compaction.lag.ms=0']);
  const value = 'v'.repeat(1000);
  const lines = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ key: `k${String(i % KEYS)}`, value: `${String(i)} ${value}` })).join('\n');
  assert.equal((await runCli(['produce', file, 'latest', '--format', 'json'], `${lines}\n`)).code, 0);

  assert.equal((await runCli(['topics', file, 'alter', 'latest', '--config', 'cleanup.policy=compact'])).code, 0);
  const result = jsonLines((await runCli(['compact', file, '--json'])).stdout)[0]! as { rewrittenExtents: number; removedRecords: number; partitions: { topic: string; partition: number }[] };
  assert.ok(result.rewrittenExtents >= 1, `rewrote ${String(result.rewrittenExtents)} extents`);
  assert.ok(result.removedRecords > 0, `removed ${String(result.removedRecords)} records`);
  assert.deepEqual(result.partitions.map((p) => [p.topic, p.partition]), [['latest', 0]]);

  const left = (await runCli(['consume', file, 'latest', '--format', '%o %k %s\n'])).stdout.split('\n').filter((l) => l !== '');
  assert.equal(left.length, RECORDS - result.removedRecords);
  const latest = new Map<string, number>();
  for (const line of left) {
    const [offset, key, index] = line.split(' ');
    assert.equal(Number(offset), Number(index), 'a record keeps its offset');
    latest.set(key!, Number(offset));
  }
  for (let k = 0; k < KEYS; k++) assert.equal(latest.get(`k${String(k)}`), RECORDS - KEYS + k);

  const again = await runCli(['compact', file]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /removed 0 records/);
});
