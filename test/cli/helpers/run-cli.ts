// Runs the onelog command line as a child process (the TypeScript source, on the Node running the tests)
// and collects its exit code, stdout and stderr; also starts long-running ones line by line. Test
// plumbing only: it checks nothing.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CLI = path.join(import.meta.dirname, '..', '..', '..', 'src', 'cli', 'main.ts');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
}

/** Runs `onelog ...args` with `input` on stdin (none: stdin is closed at once). */
export function runCli(args: readonly string[], input?: string | Buffer): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Starts `onelog ...args` and keeps it running; the caller reads its streams and ends it. */
export function startCli(args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Lines of stdout as they arrive, each with the time it arrived (performance.now()). */
export function collectLines(child: ChildProcessWithoutNullStreams): { lines: { text: string; at: number }[]; waitFor: (n: number, timeoutMs: number) => Promise<void> } {
  const lines: { text: string; at: number }[] = [];
  let rest = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (b: Buffer) => {
    const at = performance.now();
    const parts = (rest + b.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const text of parts) lines.push({ text, at });
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = async (n: number, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (lines.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${String(n)} lines, got ${String(lines.length)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  return { lines, waitFor };
}

/** A fresh path for a database in its own temporary directory. */
export function tempDb(name = 'db.onelog'): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-cli-')), name);
}

/** The lines of a JSON Lines output, parsed. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
