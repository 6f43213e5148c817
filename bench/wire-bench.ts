// The system under test "onelog-wire": `onelog serve` in its own process, with kcat (librdkafka) and
// kafkajs as clients producing the bench's records (acks=-1, sync 'batch') into a 1-partition topic and
// consuming them back; beside it, in the same run, the embedded API (producer.send in batches of 1000,
// group consumer) on the same records, which the wire path is compared with. Records are text here
// (kcat reads lines): 16-character keys and 100-character values, the same bytes for every client.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { open } from '../src/client/database.ts';
import { startServeProcess } from '../test/server/helpers/serve-process.ts';
import { KEY_BYTES, measure, textValue, withTempDir, type Sample } from './measure.ts';

const TOPIC = 'bench-wire';
const SEND_SIZE = 1000;

export type WireClient = 'kcat' | 'kafkajs' | 'embedded';

export interface WireSamples {
  readonly client: WireClient;
  readonly produce: Sample;
  readonly consume: Sample;
}

/** Record i as text: a 16-character key and a 100-character value, neither holding a tab or newline. */
function textRecord(i: number): { key: string; value: string } {
  const key = `k${String(i).padStart(KEY_BYTES - 1, '0')}`;
  return { key, value: textValue(i) };
}

/** The kcat input: one `key<TAB>value` line per record. */
function writeInput(file: string, records: number): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let start = 0; start < records; start += 10_000) {
      const lines: string[] = [];
      for (let i = start; i < Math.min(records, start + 10_000); i++) {
        const r = textRecord(i);
        lines.push(`${r.key}\t${r.value}\n`);
      }
      fs.writeSync(fd, lines.join(''));
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs kcat to completion; resolves with the number of stdout lines (consumed records). */
function kcat(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(lines);
      else reject(new Error(`kcat exited with ${String(code)}: ${stderr}`));
    });
  });
}

function expectCount(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what} read ${String(got)} records, expected ${String(want)}`);
}

/** What both kafkajs' consumer and the embedded one (kafkajs-shaped) offer: subscribe, then run eachBatch. */
interface BatchConsumer {
  subscribe(subscription: { topics: string[]; fromBeginning: boolean }): Promise<void>;
  run(config: { eachBatch: (payload: { batch: { messages: readonly unknown[] } }) => Promise<void> }): Promise<void>;
}

/** Reads `topic` from the beginning in the consumer's group until `records` records arrived. */
async function consumeCount(consumer: BatchConsumer, topic: string, records: number): Promise<void> {
  let consumed = 0;
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: ({ batch }) => {
          consumed += batch.messages.length;
          if (consumed >= records) resolve();
          return Promise.resolve();
        },
      })
      .catch(reject);
  });
  expectCount('group consumer', consumed, records);
}

async function kcatRun(broker: string, input: string, records: number): Promise<WireSamples> {
  const topic = `${TOPIC}-kcat`;
  const produce = await measure(async () => {
    await kcat(['-P', '-b', broker, '-t', topic, '-p', '0', '-K', '\t', '-l', input, '-X', 'acks=-1', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-X', 'queue.buffering.max.messages=1000000']);
  });
  let consumed = 0;
  const consume = await measure(async () => {
    consumed = await kcat(['-C', '-b', broker, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%k\n']);
  });
  expectCount('kcat', consumed, records);
  return { client: 'kcat', produce, consume };
}

async function kafkajsRun(broker: string, records: number): Promise<WireSamples> {
  const topic = `${TOPIC}-kafkajs`;
  const kafka = new Kafka({ clientId: 'bench', brokers: [broker], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const produce = await measure(async () => {
    for (let start = 0; start < records; start += SEND_SIZE) {
      const messages = [];
      for (let i = start; i < Math.min(records, start + SEND_SIZE); i++) messages.push(textRecord(i));
      await producer.send({ topic, acks: -1, messages });
    }
  });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'bench-wire', maxBytes: 16 << 20, maxBytesPerPartition: 8 << 20 });
  await consumer.connect();
  const consume = await measure(() => consumeCount(consumer, topic, records));
  await consumer.disconnect();
  return { client: 'kafkajs', produce, consume };
}

async function embeddedRun(dir: string, records: number): Promise<WireSamples> {
  const db = await open(path.join(dir, 'embedded.onelog'), { sync: 'batch' });
  try {
    const producer = db.producer();
    const produce = await measure(async () => {
      for (let start = 0; start < records; start += SEND_SIZE) {
        const messages = [];
        for (let i = start; i < Math.min(records, start + SEND_SIZE); i++) messages.push({ ...textRecord(i), partition: 0 });
        await producer.send({ topic: TOPIC, acks: -1, messages });
      }
    });
    const consumer = db.consumer({ groupId: 'bench-wire' });
    const consume = await measure(() => consumeCount(consumer, TOPIC, records));
    await consumer.disconnect();
    return { client: 'embedded', produce, consume };
  } finally {
    await db.close();
  }
}

/** One run of every client: the embedded API, then kcat and kafkajs against a fresh `onelog serve`. */
export async function wireRun(records: number): Promise<WireSamples[]> {
  return withTempDir(async (dir) => {
    const input = path.join(dir, 'records.tsv');
    writeInput(input, records);
    const embedded = await embeddedRun(dir, records);
    const server = await startServeProcess(path.join(dir, 'served.onelog'));
    try {
      const viaKcat = await kcatRun(server.broker, input, records);
      const viaKafkajs = await kafkajsRun(server.broker, records);
      return [embedded, viaKcat, viaKafkajs];
    } finally {
      await server.stop();
    }
  });
}
