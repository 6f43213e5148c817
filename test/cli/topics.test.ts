// topics create, list, describe, alter and delete as child processes, with --json output parsed, and
// info summing up what the file holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

test('topics create, list, describe, alter and delete; info sums them up', async () => {
  const file = tempDb();
  await runCli(['create', file]);
  const created = await runCli(['topics', file, 'create', 'orders', '--partitions', '3', '--config', 'compression.type=zstd', '--json']);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(jsonLines(created.stdout)[0]!.partitions, 3);
  assert.equal((await runCli(['topics', file, 'create', 'orders'])).code, 2);
  await runCli(['topics', file, 'create', 'audit']);
  const produced = await runCli(['produce', file, 'orders', '--partition', '1'], 'a\nb\nc\n');
  assert.equal(produced.code, 0, produced.stderr);

  const list = jsonLines((await runCli(['topics', file, 'list', '--json'])).stdout);
  assert.deepEqual(
    list.map((t) => [t.name, t.partitions, t.records]),
    [
      ['audit', 1, 0],
      ['orders', 3, 3],
    ],
  );
  const text = await runCli(['topics', file]);
  assert.match(text.stdout, /orders\s+3\s+3 .*compression\.type=zstd/);

  const described = jsonLines((await runCli(['topics', file, 'describe', 'orders', '--json'])).stdout)[0]!;
  const partitions = described.partitionList as { partition: number; logStartOffset: number; highWatermark: number; records: number; bytes: number; oldestTimestamp: number; newestTimestamp: number }[];
  assert.deepEqual(
    partitions.map((p) => [p.partition, p.logStartOffset, p.highWatermark]),
    [
      [0, 0, 0],
      [1, 0, 3],
      [2, 0, 0],
    ],
  );
  assert.ok(partitions[1]!.bytes > 0);
  assert.ok(Math.abs(partitions[1]!.newestTimestamp - Date.now()) < 60_000);
  assert.equal(partitions[0]!.oldestTimestamp, -1);

  const altered = await runCli(['topics', file, 'alter', 'orders', '--config', 'retention.ms=1000', '--config', 'compression.type', '--json']);
  assert.equal(altered.code, 0, altered.stderr);
  assert.deepEqual(jsonLines(altered.stdout)[0]!.configs, { 'retention.ms': '1000' });
  assert.equal((await runCli(['topics', file, 'describe', 'nope'])).code, 2);

  const info = jsonLines((await runCli(['info', file, '--json'])).stdout)[0]!;
  assert.equal(info.formatVersion, 1);
  assert.equal(info.topics, 2);
  assert.equal(info.partitions, 4);
  assert.equal(info.records, 3);
  assert.ok((info.fileSize as number) > 0);
  assert.match((await runCli(['info', file])).stdout, /format version: 1/);

  assert.equal((await runCli(['topics', file, 'delete', 'audit'])).code, 0);
  assert.deepEqual(
    jsonLines((await runCli(['topics', file, 'list', '--json'])).stdout).map((t) => t.name),
    ['orders'],
  );
  assert.equal((await runCli(['topics', file, 'delete', 'audit'])).code, 2);
});
