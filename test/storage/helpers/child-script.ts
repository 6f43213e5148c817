// Spawns a test helper script as a separate Node process (the same Node binary running the tests) and
// hands its stdout to the caller line by line, plus the sleep and CI switch such tests share. It only
// starts, talks to and waits for children: the protocol spoken over the lines belongs to each test.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildScript {
  readonly process: ChildProcess;
  /** Resolves once the process has exited and all of its stdout has been delivered as lines. */
  readonly exited: Promise<ChildExit>;
  /** Everything the child wrote on stderr so far (for failure messages). */
  stderr(): string;
  /** Writes one line on the child's stdin. */
  send(line: string): void;
  /** Resolves with the first line (from now on) for which `match` is true; rejects after `timeoutMs`. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** SIGKILLs the child when it is still running. */
  kill(): void;
}

/** Starts `helpers/<name>` with `args`; `onLine` sees every stdout line, in order. */
export function startChild(name: string, args: readonly string[], onLine: (line: string) => void = () => undefined): ChildScript {
  const script = fileURLToPath(new URL(name, import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let partial = '';
  const watchers = new Set<(line: string) => void>();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      onLine(line);
      for (const watcher of [...watchers]) watcher(line);
    }
  });
  // A child that is killed may leave its stdin pipe broken; the resulting EPIPE is not an error here.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<ChildExit>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    process: child,
    exited,
    stderr: () => stderr,
    send: (line) => {
      child.stdin.write(`${line}\n`);
    },
    waitForLine: (match, timeoutMs) =>
      new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(watcher);
          reject(new Error(`${name}: no matching line within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        const watcher = (line: string): void => {
          if (!match(line)) return;
          clearTimeout(timer);
          watchers.delete(watcher);
          resolve(line);
        };
        watchers.add(watcher);
        void exited.then((exit) => {
          if (!watchers.has(watcher)) return;
          clearTimeout(timer);
          watchers.delete(watcher);
          reject(new Error(`${name} exited (code ${String(exit.code)}, signal ${String(exit.signal)}) before a matching line; stderr: ${stderr}`));
        });
      }),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True when the tests run in CI (CI=true), where the long variants of the tests are required. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
