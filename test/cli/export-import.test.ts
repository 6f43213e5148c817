// export and import round trips: keys, values, binary bytes, headers, timestamps and partitions come back
// equal; --topic filters and renames; a line without a topic is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from '../../src/client/database.ts';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

test('export then import into a new file gives back the same records', async () => {
  const source = tempDb();
  const db = await open(source);
  await db.admin().createTopics({ topics: [{ topic: 'a', numPartitions: 3 }, { topic: 'b' }] });
  const producer = db.producer();
  const messages = Array.from({ length: 3000 }, (_, i) => ({
    key: i % 7 === 0 ? null : i % 5 === 0 ? Buffer.from([0xc3, 0x28, i & 0xff]) : `key-${String(i)}`,
    value: i % 11 === 0 ? null : i % 3 === 0 ? Buffer.from([0xff, i & 0xff, 0x00]) : `value ${String(i)} ünïcødé`,
    partition: i % 3,
    timestamp: String(1_700_000_000_000 + i),
    headers: i % 4 === 0 ? { h: 'x', bin: Buffer.from([0x80]), multi: ['1', '2'] } : {},
  }));
  await producer.send({ topic: 'a', messages });
  await producer.send({ topic: 'b', messages: [{ value: 'only b' }] });
  await db.close();

  const exported = await runCli(['export', source]);
  assert.equal(exported.code, 0, exported.stderr);
  const lines = jsonLines(exported.stdout);
  assert.equal(lines.length, 3001);
  assert.ok(lines.some((l) => l.valueEncoding === 'base64') && lines.some((l) => l.keyEncoding === 'base64'));

  const target = tempDb();
  await runCli(['create', target]);
  const imported = await runCli(['import', target, '--json'], exported.stdout);
  assert.equal(imported.code, 0, imported.stderr);
  assert.deepEqual(jsonLines(imported.stdout)[0], { records: 3001, topics: ['a', 'b'] });
  const again = await runCli(['export', target]);
  assert.equal(again.stdout, exported.stdout);
  const onlyB = await runCli(['export', target, '--topic', 'b']);
  assert.equal(jsonLines(onlyB.stdout).length, 1);
  assert.equal((await runCli(['export', target, '--topic', 'nope'])).code, 2);
  const renamed = await runCli(['import', target, '--topic', 'c'], onlyB.stdout);
  assert.equal(renamed.code, 0, renamed.stderr);
  assert.equal((await runCli(['consume', target, 'c'])).stdout, 'only b\n');
  const bad = await runCli(['import', target], '{"value":"no topic"}\n');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /stdin line 1.*topic/);
});
