// Child process of follow.test.ts: `timed-producer.ts <file> <topic> <count>` appends one record 'ready',
// then, once a line arrives on stdin, <count> records 20 ms apart, each holding Date.now() as it was
// appended, and exits. It checks nothing; the test measures how soon a follower prints each record.
import { open } from '../../../src/client/database.ts';

const [file, topic, countText] = process.argv.slice(2);
if (file === undefined || topic === undefined || countText === undefined) throw new Error('usage: timed-producer.ts <file> <topic> <count>');
const db = await open(file, { create: false });
const producer = db.producer();
await producer.send({ topic, messages: [{ value: 'ready' }] });
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
for (let i = 0; i < Number(countText); i++) {
  await producer.send({ topic, messages: [{ value: String(Date.now()) }] });
  await new Promise((resolve) => setTimeout(resolve, 20));
}
await db.close();
process.stdin.destroy();
