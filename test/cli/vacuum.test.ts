// onelog vacuum as a child process: a 64 KiB-extent file holding two topics, the first of which is deleted,
// shrinks when `onelog vacuum` moves the other topic's extents down; consume still prints every record of
// the topic that stayed, at its offset, and a second vacuum finds nothing to move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

const RECORDS = 200;

test('vacuum shrinks the file after a topic is deleted and keeps the other topic', async () => {
  const file = tempDb();
  await runCli(['create', file, '--extent-size', '64k']);
  const value = 'v'.repeat(1000);
  for (const topic of ['gone', 'kept']) {
    assert.equal((await runCli(['topics', file, 'create', topic])).code, 0);
    const lines = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ value: `${topic} ${String(i)} ${value}` })).join('\n');
    assert.equal((await runCli(['produce', file, topic, '--format', 'json'], `${lines}\n`)).code, 0);
  }
  assert.equal((await runCli(['topics', file, 'delete', 'gone'])).code, 0);

  const result = jsonLines((await runCli(['vacuum', file, '--json'])).stdout)[0]! as { movedExtents: number; fileSizeBefore: number; fileSizeAfter: number };
  assert.ok(result.movedExtents >= 1, `moved ${String(result.movedExtents)} extents`);
  assert.ok(result.fileSizeAfter < result.fileSizeBefore, `${String(result.fileSizeBefore)} -> ${String(result.fileSizeAfter)} bytes`);

  const left = (await runCli(['consume', file, 'kept', '--format', '%o %s\n'])).stdout.split('\n').filter((l) => l !== '');
  assert.equal(left.length, RECORDS);
  left.forEach((line, i) => assert.equal(line, `${String(i)} kept ${String(i)} ${value}`));

  const again = await runCli(['vacuum', file]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /moved 0 extents/);
  assert.match(again.stdout, new RegExp(`${String(result.fileSizeAfter)} bytes after`));
});
