// The system under test "onelog-cli": `onelog produce FILE TOPIC` (its own process, the real command line)
// fed 1,000,000 lines on stdin, timed from spawn to exit, beside the embedded API producing the same
// values (producer.send in batches of 1000, awaited one at a time) in this process, in the same run.
// Both use the default durability (sync 'batch'). The CLI's figure includes its process start-up; the file
// exists beforehand (as `onelog create` makes it) and each creates its topic on first write.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { open } from '../src/client/database.ts';
import { measure, textValue, withTempDir, type Sample } from './measure.ts';

const TOPIC = 'bench-cli';
const SEND_SIZE = 1000;
const CLI = new URL('../src/cli/main.ts', import.meta.url).pathname;

export interface CliSamples {
  readonly cli: Sample;
  readonly api: Sample;
}

function input(records: number): Buffer {
  const lines: string[] = new Array<string>(records);
  for (let i = 0; i < records; i++) lines[i] = textValue(i);
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** Runs `onelog produce` with `stdin` piped in; rejects unless it exits 0. */
function produceCli(file: string, stdin: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'produce', file, TOPIC], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.stdin.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`onelog produce exited with ${String(code)}: ${stderr}`));
    });
    child.stdin.end(stdin);
  });
}

async function produceApi(file: string, records: number): Promise<Sample> {
  const db = await open(file);
  try {
    const producer = db.producer();
    return await measure(async () => {
      for (let start = 0; start < records; start += SEND_SIZE) {
        const messages = [];
        for (let i = start; i < Math.min(records, start + SEND_SIZE); i++) messages.push({ value: textValue(i) });
        await producer.send({ topic: TOPIC, messages });
      }
    });
  } finally {
    await db.close();
  }
}

/** One run: the CLI, then the API, each into a fresh file. */
export async function cliRun(records: number): Promise<CliSamples> {
  const stdin = input(records);
  return withTempDir(async (dir) => {
    // `onelog produce` writes into an existing file (as `onelog create` makes it), outside the clock.
    const cliFile = path.join(dir, 'cli.onelog');
    await (await open(cliFile)).close();
    const cli = await measure(() => produceCli(cliFile, stdin));
    const api = await produceApi(path.join(dir, 'api.onelog'), records);
    return { cli, api };
  });
}
