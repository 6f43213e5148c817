// Child process of writer-lock.test.ts: `lock-holder.ts raw <path>` takes the database's writer lock byte
// directly (as a live writer holds it, with the open lock shared) and prints `locked`; `lock-holder.ts
// engine <path> <topic>` opens the database (sync 'batch', so it mostly holds the lock during an fdatasync)
// and appends to partition 0 in a tight loop from several producers, printing `ack <lastOffset>` for each
// acknowledged append. Either way it runs until it is SIGKILLed; it never stops by itself and checks nothing.

import { Engine } from '../../../src/storage/engine.ts';
import { nodeFileSystem } from '../../../src/storage/node-file-layer.ts';
import { LOCK_OPEN, LOCK_WRITE } from '../../../src/format/file-layout.ts';

const LOOPS = 8;

const [mode, path, topic] = process.argv.slice(2);

async function holdRawLock(file: string): Promise<void> {
  const handle = nodeFileSystem.open(file, { readOnly: false });
  handle.tryLock(LOCK_OPEN, false);
  // The test's own handle may still be finishing a commit: wait until the lock is ours.
  while (!handle.tryLock(LOCK_WRITE, true)) await new Promise((resolve) => setTimeout(resolve, 1));
  process.stdout.write('locked\n');
  setInterval(() => undefined, 60_000);
}

async function appendForever(file: string, name: string): Promise<void> {
  const db = await Engine.open(file, { sync: 'batch', busyTimeoutMs: 60_000 });
  const loop = async (): Promise<never> => {
    for (let i = 0; ; i++) {
      const r = await db.append(name, 0, [{ key: null, value: Buffer.alloc(100 + (i % 400), i & 0xff), timestamp: Date.now() }]);
      process.stdout.write(`ack ${r.lastOffset}\n`);
    }
  };
  await Promise.all(Array.from({ length: LOOPS }, loop));
}

const run = mode === 'raw' && path !== undefined ? holdRawLock(path) : mode === 'engine' && path !== undefined && topic !== undefined ? appendForever(path, topic) : null;
if (run === null) throw new Error('usage: lock-holder.ts raw <path> | lock-holder.ts engine <path> <topic>');
run.catch((err: unknown) => {
  process.stderr.write(`lock-holder failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
