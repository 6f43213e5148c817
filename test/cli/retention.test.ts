// onelog retention as a child process: a topic whose old records (timestamps in the past) fill several
// 64 KiB extents keeps them while retention.ms is infinite; after retention.ms is lowered, `onelog
// retention` frees the sealed extents and reports the new log start per partition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

test('retention frees sealed extents past retention.ms and advances the log start', async () => {
  const file = tempDb();
  await runCli(['create', file, '--extent-size', '64k']);
  await runCli(['topics', file, 'create', 'old', '--config', 'retention.ms=-1']);
  const value = 'x'.repeat(1000);
  const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ value, timestamp: 1_000_000 + i })).join('\n');
  assert.equal((await runCli(['produce', file, 'old', '--format', 'json'], `${lines}\n`)).code, 0);

  const none = jsonLines((await runCli(['retention', file, '--json'])).stdout)[0]!;
  assert.deepEqual(none, { freedExtents: 0, partitions: [] });

  assert.equal((await runCli(['topics', file, 'alter', 'old', '--config', 'retention.ms=1000'])).code, 0);
  const freed = jsonLines((await runCli(['retention', file, '--json'])).stdout)[0]! as { freedExtents: number; partitions: { topic: string; partition: number; freedExtents: number; logStartOffset: number }[] };
  assert.ok(freed.freedExtents >= 2, `freed ${String(freed.freedExtents)} extents`);
  assert.equal(freed.partitions.length, 1);
  const [p] = freed.partitions;
  assert.equal(p!.topic, 'old');
  assert.equal(p!.partition, 0);
  assert.equal(p!.freedExtents, freed.freedExtents);
  assert.ok(p!.logStartOffset > 0 && p!.logStartOffset < 300, `log start ${String(p!.logStartOffset)}`);
  const left = (await runCli(['consume', file, 'old', '--format', '%o\n'])).stdout.split('\n').filter((l) => l !== '');
  assert.equal(Number(left[0]), p!.logStartOffset);

  const text = await runCli(['retention', file]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /freed 0 extents/);
});
