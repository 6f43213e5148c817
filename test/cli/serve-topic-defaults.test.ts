// serve --topic-default: a topic a Kafka client (kafkajs) auto-creates through `onelog serve` gets the
// database-wide default given on the command line, seen by `onelog topics describe` after serve stopped;
// a --topic-default that is not k=v is a usage error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { collectLines, jsonLines, runCli, startCli, tempDb } from './helpers/run-cli.ts';

test('serve --topic-default applies to topics auto-created through the server', async (t) => {
  const file = tempDb();
  const server = startCli(['serve', file, '--port', '0', '--json', '--topic-default', 'retention.ms=86400000']);
  t.after(() => server.kill('SIGKILL'));
  const { lines, waitFor } = collectLines(server);
  await waitFor(1, 20_000);
  const listening = JSON.parse(lines[0]!.text) as { event: string; plaintextPort: number };
  assert.equal(listening.event, 'listening');

  const kafka = new Kafka({ clientId: 'defaults', brokers: [`127.0.0.1:${String(listening.plaintextPort)}`], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({ topic: 'auto', messages: [{ value: 'hello' }] });
  } finally {
    await producer.disconnect();
  }
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  server.kill('SIGINT');
  assert.equal(await exited, 0);

  const described = jsonLines((await runCli(['topics', file, 'describe', 'auto', '--json'])).stdout)[0]! as { configs: Record<string, string> };
  assert.equal(described.configs['retention.ms'], '86400000');

  const bad = await runCli(['serve', file, '--port', '0', '--topic-default', 'retention.ms']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--topic-default takes key=value/);
});
