// produce and consume as child processes: 100,000 lines piped through both, offsets and counts, keys,
// headers and partitions reaching the records, --json acknowledgements and kcat-like templates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

const LINES = 100_000;

test('100,000 lines piped into produce come out of consume in order', async () => {
  const file = tempDb();
  await runCli(['create', file]);
  const input = Array.from({ length: LINES }, (_, i) => `line ${String(i)}`).join('\n') + '\n';
  const produced = await runCli(['produce', file, 'big'], input);
  assert.equal(produced.code, 0, produced.stderr);
  assert.match(produced.stderr, /produced 100,000 records to big/);
  const consumed = await runCli(['consume', file, 'big']);
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.equal(consumed.stdout, input);
  const counted = await runCli(['consume', file, 'big', '--offset=-3', '--format', '%o:%s\n']);
  assert.equal(counted.stdout, `${String(LINES - 3)}:line ${String(LINES - 3)}\n${String(LINES - 2)}:line ${String(LINES - 2)}\n${String(LINES - 1)}:line ${String(LINES - 1)}\n`);
  const some = await runCli(['consume', file, 'big', '--offset', '500', '--count', '2']);
  assert.equal(some.stdout, 'line 500\nline 501\n');
});

test('--json prints the offsets of each append; keys, headers and partitions reach the records', async () => {
  const file = tempDb();
  await runCli(['create', file]);
  await runCli(['topics', file, 'create', 't', '--partitions', '4']);
  const produced = await runCli(['produce', file, 't', '--key-separator', ':', '--header', 'src=cli', '--header', 'n=1', '--json'], 'k1:v1\nk2:v2\nk1:v3\nnokey\n');
  assert.equal(produced.code, 0, produced.stderr);
  const acks = jsonLines(produced.stdout);
  assert.equal(acks.reduce((n, a) => n + (a.count as number), 0), 4);
  for (const a of acks) assert.equal((a.lastOffset as number) - (a.baseOffset as number) + 1, a.count);

  const records = jsonLines((await runCli(['consume', file, 't', '--format', 'json'])).stdout);
  assert.equal(records.length, 4);
  const byValue = new Map(records.map((r) => [r.value, r]));
  assert.equal(byValue.get('v1')!.key, 'k1');
  assert.equal(byValue.get('v1')!.partition, byValue.get('v3')!.partition, 'one key, one partition');
  assert.equal(byValue.get('nokey')!.key, null);
  assert.deepEqual(byValue.get('v2')!.headers, [
    { key: 'src', value: 'cli' },
    { key: 'n', value: '1' },
  ]);

  const single = await runCli(['produce', file, 't', '--value', 'only', '--key', 'K', '--partition', '2', '--json']);
  const [ack] = jsonLines(single.stdout);
  assert.equal(ack!.partition, 2);
  const template = await runCli(['consume', file, 't', '--partition', '2', '--offset', String(ack!.baseOffset), '--format', '%t/%p/%o %k\\t%s %K %S [%h] %%\\n']);
  assert.equal(template.stdout, `t/2/${String(ack!.baseOffset)} K\tonly 1 4 [] %\n`);
  const bad = await runCli(['produce', file, 't', '--partition', '9', '--value', 'x']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /partitions 0 to 3/);
});
