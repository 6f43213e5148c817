// The command line as a user first meets it: --help of every command, create, and the usage and data
// errors (unknown command, bad flag, unknown file, a file that is not onelog's), with --json output
// parsed. Topics, records, groups, verify and locking are tested in their own files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

const COMMANDS = ['serve', 'create', 'info', 'topics', 'produce', 'consume', 'groups', 'verify', 'dump', 'export', 'import', 'retention'];

test('every command answers --help with its usage and exit 0; the main help lists them all', async () => {
  const results = await Promise.all(COMMANDS.map((c) => runCli([c, '--help'])));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, COMMANDS[i]);
    assert.match(r.stdout, new RegExp(`^Usage: onelog ${COMMANDS[i]!}`), COMMANDS[i]);
  });
  const main = await runCli(['--help']);
  assert.equal(main.code, 0);
  for (const c of COMMANDS) assert.match(main.stdout, new RegExp(`^  ${c} `, 'm'), c);
});

test('usage errors exit 1 with one line and a hint, no stack; --debug adds the stack', async () => {
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const file = tempDb();
  assert.equal((await runCli(['create', file])).code, 0);
  const badFlag = await runCli(['info', file, '--bogus']);
  assert.equal(badFlag.code, 1);
  assert.match(badFlag.stderr, /--bogus/);
  assert.match(badFlag.stderr, /Run 'onelog info --help'/);
  assert.doesNotMatch(badFlag.stderr, /\n\s+at /);
  const badNumber = await runCli(['topics', file, 'create', 't', '--partitions', 'many']);
  assert.equal(badNumber.code, 1);
  assert.match(badNumber.stderr, /--partitions must be an integer/);
  const missing = await runCli(['produce', file]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /missing TOPIC/);
  const debug = await runCli(['topics', file, 'create', 't', '--partitions', 'many', '--debug']);
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, /\n\s+at /);
});

test('an unknown file and a file that is not a onelog database exit 2 with what to do', async () => {
  const file = tempDb();
  const unknown = await runCli(['info', file]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr.trim().split('\n').length, 1);
  assert.match(unknown.stderr, /no onelog file at .*onelog create/);
  const other = path.join(path.dirname(file), 'notes.txt');
  fs.writeFileSync(other, 'hello\n'.repeat(1000));
  const notOnelog = await runCli(['info', other, '--json']);
  assert.equal(notOnelog.code, 2);
  const error = JSON.parse(notOnelog.stderr) as { error: { code: string; message: string } };
  assert.equal(error.error.code, 'NOT_A_ONELOG_FILE');
  assert.equal(fs.readFileSync(other, 'utf8'), 'hello\n'.repeat(1000));
});

test('create makes a database with the extent size asked for and refuses an existing file', async () => {
  const file = tempDb();
  const created = await runCli(['create', file, '--extent-size', '64k', '--json']);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(jsonLines(created.stdout)[0]!.extentSize, 65536);
  const again = await runCli(['create', file]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
  const badSize = await runCli(['create', tempDb(), '--extent-size', '1000']);
  assert.equal(badSize.code, 1);
  assert.match(badSize.stderr, /power of two/);
});
