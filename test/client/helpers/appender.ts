// Child process of consumer.test.ts: `appender.ts <path> <topic> <partitions>`. For each stdin line
// `append <i>` it appends one record (value `<i>`, timestamp = now) to partition i % partitions and prints
// `appended <i>` once the append is durable. It measures nothing; the parent times what its consumer sees.

import { createInterface } from 'node:readline';
import { Engine } from '../../../src/storage/engine.ts';

const [path, topic, partitionsArg] = process.argv.slice(2);
if (path === undefined || topic === undefined || partitionsArg === undefined) throw new Error('usage: appender.ts <path> <topic> <partitions>');
const partitions = Number(partitionsArg);
const db = await Engine.open(path, { create: false });
const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  const [verb, arg] = line.split(' ');
  if (verb !== 'append' || arg === undefined) return;
  const i = Number(arg);
  db.append(topic, i % partitions, [{ key: null, value: Buffer.from(arg), timestamp: Date.now() }])
    .then(() => process.stdout.write(`appended ${i}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`appender: ${String(err)}\n`);
      process.exit(2);
    });
});
input.once('close', () => {
  void db.close().then(() => process.exit(0));
});
process.stdout.write('ready\n');
