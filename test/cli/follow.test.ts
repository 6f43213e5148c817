// consume --follow in one process printing records another process produces, each within 100 ms of its
// append, and Ctrl-C (SIGINT) ending the follower cleanly with exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { collectLines, runCli, startCli, tempDb } from './helpers/run-cli.ts';

const PRODUCER = path.join(import.meta.dirname, 'helpers', 'timed-producer.ts');
const RECORDS = 20;

test('a --follow consumer sees records produced by another process within 100 ms; SIGINT exits 0', async (t) => {
  const file = tempDb();
  await runCli(['create', file]);
  await runCli(['topics', file, 'create', 'live']);
  const follower = startCli(['consume', file, 'live', '--follow', '--from-beginning']);
  t.after(() => follower.kill('SIGKILL'));
  const { lines, waitFor } = collectLines(follower);
  const producer = spawn(process.execPath, [PRODUCER, file, 'live', String(RECORDS)], { stdio: ['pipe', 'inherit', 'inherit'] });
  t.after(() => producer.kill('SIGKILL'));
  await waitFor(1, 20_000);
  assert.equal(lines[0]!.text, 'ready');
  producer.stdin.write('go\n');
  await waitFor(1 + RECORDS, 20_000);
  // l.at is performance.now() here, so performance.timeOrigin + l.at is the wall-clock arrival; each
  // record's value is the producer's Date.now() when it appended it.
  const latencies = lines.slice(1).map((l) => Math.round(performance.timeOrigin + l.at - Number(l.text)));
  for (const latency of latencies) assert.ok(latency < 100, `a record took ${String(latency)} ms to reach the follower (${latencies.join(', ')})`);

  const exited = new Promise<number | null>((resolve) => follower.once('exit', (code) => resolve(code)));
  follower.kill('SIGINT');
  assert.equal(await exited, 0);
});
