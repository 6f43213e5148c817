// The groups command as a child process: list, describe with committed offsets and lag, reset-offsets to
// each target (earliest, latest, a time, an offset), and delete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

test('groups list, describe with lag, reset-offsets and delete', async () => {
  const file = tempDb();
  await runCli(['create', file]);
  await runCli(['topics', file, 'create', 't', '--partitions', '2']);
  await runCli(['produce', file, 't', '--partition', '0'], 'a\nb\nc\n');
  await runCli(['produce', file, 't', '--partition', '1'], 'x\n');
  assert.equal((await runCli(['consume', file, 't', '--group', 'g', '--from-beginning', '--count', '1'])).stdout, 'a\n');

  assert.deepEqual(jsonLines((await runCli(['groups', file, '--json'])).stdout), [{ groupId: 'g', protocolType: 'consumer', state: 'Empty' }]);
  const described = jsonLines((await runCli(['groups', file, 'describe', 'g', '--json'])).stdout)[0]!;
  // The member also committed where it stood in partition 1 (its start, nothing printed there).
  assert.deepEqual(described.offsets, [
    { topic: 't', partition: 0, committed: 1, logEndOffset: 3, lag: 2, memberId: null },
    { topic: 't', partition: 1, committed: 0, logEndOffset: 1, lag: 1, memberId: null },
  ]);
  assert.match((await runCli(['groups', file, 'describe', 'g'])).stdout, /t\s+0\s+1\s+3\s+2/);

  // Each reset computes its offsets from the log alone, so they may run at once (taking turns at the lock).
  const reset = (...args: string[]): Promise<Record<string, unknown>[]> => runCli(['groups', file, 'reset-offsets', 'g', '--topic', 't', ...args, '--json']).then((r) => jsonLines(r.stdout));
  const [latest, earliest, toOffset, future, past, none, two] = await Promise.all([
    reset('--to-latest'),
    reset('--partition', '0', '--to-earliest'),
    reset('--to-offset', '99'),
    reset('--to-datetime', '2999-01-01'),
    reset('--to-datetime', '1h'),
    runCli(['groups', file, 'reset-offsets', 'g', '--topic', 't']),
    runCli(['groups', file, 'reset-offsets', 'g', '--topic', 't', '--to-latest', '--to-earliest']),
  ]);
  assert.deepEqual(
    latest.map((o) => [o.partition, o.offset]),
    [
      [0, 3],
      [1, 1],
    ],
  );
  assert.deepEqual(earliest.map((o) => o.offset), [0]);
  assert.deepEqual(toOffset.map((o) => o.offset), [3, 1]);
  assert.deepEqual(future.map((o) => o.offset), [3, 1]);
  assert.deepEqual(past.map((o) => o.offset), [0, 0]);
  assert.equal(none.code, 1);
  assert.equal(two.code, 1);

  assert.equal((await runCli(['groups', file, 'delete', 'g'])).code, 0);
  assert.deepEqual(jsonLines((await runCli(['groups', file, 'list', '--json'])).stdout), []);
  const gone = await runCli(['groups', file, 'describe', 'g']);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /no group g/);
  assert.equal((await runCli(['groups', file, 'delete', 'g'])).code, 2);
});
