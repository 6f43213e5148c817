// A file whose writer lock another process holds: a writing command gives up after its --busy-timeout
// with exit 3 and one line saying what to do, while reading commands still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { runCli, tempDb } from './helpers/run-cli.ts';

const LOCK_HOLDER = path.join(import.meta.dirname, '..', 'storage', 'helpers', 'lock-holder.ts');

test('a writing command gives up with exit 3 while another process holds the writer lock', async (t) => {
  const file = tempDb();
  await runCli(['create', file]);
  const holder = spawn(process.execPath, [LOCK_HOLDER, 'raw', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  const busy = await runCli(['topics', file, 'create', 't', '--busy-timeout', '300']);
  assert.equal(busy.code, 3, busy.stderr);
  assert.match(busy.stderr, /locked by another writer.*--busy-timeout/);
  assert.equal(busy.stderr.trim().split('\n').length, 1);
  const produce = await runCli(['produce', file, 't', '--value', 'x', '--busy-timeout', '200', '--json']);
  assert.equal(produce.code, 3);
  assert.equal((JSON.parse(produce.stderr) as { error: { code: string } }).error.code, 'BUSY');
  // Reading needs no lock.
  assert.equal((await runCli(['info', file])).code, 0);
});
