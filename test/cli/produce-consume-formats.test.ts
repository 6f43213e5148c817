// produce and consume formats and positions as child processes: raw and JSON input, bytes that are not
// UTF-8 shown as base64 (and flagged in JSON), --since by date or duration, and --group starting at the
// committed offsets and committing what it printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

test('raw and json input; values that are not UTF-8 show as base64 and say so', async () => {
  const file = tempDb();
  await runCli(['create', file]);
  const binary = Buffer.from([0xff, 0x00, 0xfe, 0x0a, 0x80]);
  assert.equal((await runCli(['produce', file, 'bin', '--format', 'raw'], binary)).code, 0);
  const json = jsonLines((await runCli(['consume', file, 'bin', '--json'])).stdout);
  assert.equal(json.length, 1);
  assert.equal(json[0]!.valueEncoding, 'base64');
  assert.deepEqual(Buffer.from(json[0]!.value as string, 'base64'), binary);
  assert.equal((await runCli(['consume', file, 'bin'])).stdout, `${binary.toString('base64')}\n`);

  const lines = '{"key":"a","value":"x","headers":{"h":"1"},"timestamp":1000}\n{"value":"/w==","valueEncoding":"base64","partition":0}\n';
  const produced = await runCli(['produce', file, 'j', '--format', 'json'], lines);
  assert.equal(produced.code, 0, produced.stderr);
  const back = jsonLines((await runCli(['consume', file, 'j', '--json'])).stdout);
  assert.equal(back[0]!.timestamp, 1000);
  assert.deepEqual(back[0]!.headers, [{ key: 'h', value: '1' }]);
  assert.equal(back[1]!.value, '/w==');
  assert.equal(back[1]!.valueEncoding, 'base64');
  const broken = await runCli(['produce', file, 'j', '--format', 'json'], '{"value": 1}\n');
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /stdin line 1/);
});

test('--since picks records by time; --group starts at committed offsets and commits what it printed; --group refuses --partition/--offset/--since', async () => {
  const file = tempDb();
  await runCli(['create', file]);
  // Kept forever: records of 1970 are past the default retention.ms, and a record of today rolls their
  // extent by segment.ms (as Kafka rolls a segment), which retention would then free.
  await runCli(['topics', file, 'create', 't', '--config', 'retention.ms=-1']);
  const old = '{"value":"old","timestamp":1000}\n{"value":"older","timestamp":500}\n';
  await runCli(['produce', file, 't', '--format', 'json'], old);
  await runCli(['produce', file, 't'], 'new1\nnew2\n');
  assert.equal((await runCli(['consume', file, 't', '--since', '10m'])).stdout, 'new1\nnew2\n');
  assert.equal((await runCli(['consume', file, 't', '--since', '1970-01-01T00:00:00.800Z'])).stdout, 'old\nolder\nnew1\nnew2\n');
  assert.equal((await runCli(['consume', file, 't', '--since', 'yesterday-ish'])).code, 1);

  assert.equal((await runCli(['consume', file, 't', '--group', 'g', '--from-beginning', '--count', '3'])).stdout, 'old\nolder\nnew1\n');
  assert.equal((await runCli(['consume', file, 't', '--group', 'g', '--from-beginning', '--count', '1'])).stdout, 'new2\n');
  for (const flag of [['--partition', '0'], ['--offset', '1'], ['--since', '10m']]) assert.equal((await runCli(['consume', file, 't', '--group', 'g', ...flag])).code, 1);
  const described = jsonLines((await runCli(['groups', file, 'describe', 'g', '--json'])).stdout)[0]!;
  assert.deepEqual(described.offsets, [{ topic: 't', partition: 0, committed: 4, logEndOffset: 4, lag: 0, memberId: null }]);
  assert.equal((await runCli(['consume', file, 'missing'])).code, 2);
});
