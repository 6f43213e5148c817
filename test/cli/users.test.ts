// `onelog users FILE add|remove|list` as a child process: users are added with the password from stdin
// or a flag, listed with their mechanisms (text and --json) and removed; the password never appears in
// the file's bytes, nor in any output; mistakes exit 1; and a user added by the command logs in to
// `onelog serve --sasl` (a separate process) with kafkajs, while a removed one no longer can.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { kafkajsConnectError } from '../server/helpers/kafkajs-roundtrip.ts';
import { startServeProcess } from '../server/helpers/serve-process.ts';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

const ALICE_PASSWORD = 'correct horse battery staple';
const BOB_PASSWORD = 'Tr0ub4dor&3-unique';

test('users add, list, remove; passwords never stored or printed in clear', { timeout: 20_000 }, async () => {
  const file = tempDb();
  try {
    assert.equal((await runCli(['create', file])).code, 0);
    const added = await runCli(['users', file, 'add', 'alice', '--password-stdin'], `${ALICE_PASSWORD}\n`);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, 'added user alice (SCRAM-SHA-256, SCRAM-SHA-512)\n');
    const bob = await runCli(['users', file, 'add', 'bob', '--password', BOB_PASSWORD, '--mechanism', 'scram-sha-512', '--json']);
    assert.equal(bob.code, 0, bob.stderr);
    assert.deepEqual(jsonLines(bob.stdout), [{ event: 'added', user: 'bob', mechanisms: ['SCRAM-SHA-512'] }]);
    const updated = await runCli(['users', file, 'add', 'bob', '--password-stdin', '--json'], BOB_PASSWORD);
    assert.deepEqual(jsonLines(updated.stdout), [{ event: 'updated', user: 'bob', mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'] }]);

    const listed = await runCli(['users', file, 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /alice\s+SCRAM-SHA-256,SCRAM-SHA-512/);
    assert.match(listed.stdout, /bob\s+SCRAM-SHA-256,SCRAM-SHA-512/);
    const json = await runCli(['users', file, '--json']);
    assert.deepEqual(jsonLines(json.stdout), [
      { name: 'alice', mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'] },
      { name: 'bob', mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'] },
    ]);

    const bytes = fs.readFileSync(file);
    for (const secret of [ALICE_PASSWORD, BOB_PASSWORD]) {
      assert.equal(bytes.includes(Buffer.from(secret)), false, 'password in the file');
      assert.equal(bytes.includes(Buffer.from(secret).toString('base64')), false, 'base64 password in the file');
      for (const out of [added, bob, updated, listed, json]) assert.equal((out.stdout + out.stderr).includes(secret), false);
    }
    // What is stored instead: SCRAM credentials with Kafka's 4096 iterations.
    assert.equal(bytes.includes(Buffer.from('"iterations":4096')), true);

    const removed = await runCli(['users', file, 'remove', 'bob', '--json']);
    assert.deepEqual(jsonLines(removed.stdout), [{ event: 'removed', user: 'bob' }]);
    assert.deepEqual(jsonLines((await runCli(['users', file, 'list', '--json'])).stdout), [{ name: 'alice', mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'] }]);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

test('users: mistakes exit 1 with a message', async () => {
  const file = tempDb();
  try {
    assert.equal((await runCli(['create', file])).code, 0);
    const cases: [string[], RegExp][] = [
      [['users', file, 'add', 'carol'], /exactly one of --password-stdin and --password/],
      [['users', file, 'add', 'carol', '--password', 'x', '--mechanism', 'md5'], /--mechanism must be/],
      [['users', file, 'remove', 'nobody'], /no user 'nobody'/],
      [['users', file, 'rename', 'x'], /unknown action 'rename'/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const help = await runCli(['users', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /onelog users FILE add NAME/);
    const missing = await runCli(['users', path.join(path.dirname(file), 'missing.onelog'), 'list']);
    assert.equal(missing.code, 2);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

test('a user added by the command authenticates against onelog serve --sasl; a removed one cannot', { timeout: 20_000 }, async () => {
  const file = tempDb();
  try {
    assert.equal((await runCli(['create', file])).code, 0);
    assert.equal((await runCli(['users', file, 'add', 'alice', '--password-stdin'], ALICE_PASSWORD)).code, 0);
    const server = await startServeProcess(file, ['--sasl', 'plain,scram-sha-256,scram-sha-512', '--failed-auth-delay', '50']);
    try {
      const sasl = (password: string) => ({ sasl: { mechanism: 'scram-sha-512' as const, username: 'alice', password } });
      assert.equal(await kafkajsConnectError(server.broker, sasl(ALICE_PASSWORD)), null);
      assert.equal((await kafkajsConnectError(server.broker, sasl('wrong')))?.name, 'KafkaJSSASLAuthenticationError');
      // Users change while the server runs: it reads them from the file at each login.
      assert.equal((await runCli(['users', file, 'remove', 'alice'])).code, 0);
      assert.equal((await kafkajsConnectError(server.broker, sasl(ALICE_PASSWORD)))?.name, 'KafkaJSSASLAuthenticationError');
    } finally {
      await server.stop();
    }
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});
