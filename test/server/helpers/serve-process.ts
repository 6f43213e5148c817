// Test helper: `onelog serve FILE` as a separate process (the real command line, on a free port), for
// tests that need the server outside the test process: its own RSS, or the file shared between two
// processes. It starts, reports the port, and stops the process; what is sent to it is each test's.
import { spawn } from 'node:child_process';

const CLI = new URL('../../../src/cli/main.ts', import.meta.url).pathname;

export interface ServeProcess {
  readonly port: number;
  readonly pid: number;
  /** `127.0.0.1:port`, for a client's bootstrap list. */
  readonly broker: string;
  /** SIGTERMs the server and resolves with its exit code once it has closed the file. */
  stop(): Promise<number | null>;
}

/** Starts `onelog serve file --port 0 --json ...extraArgs` and resolves once it listens. */
export async function startServeProcess(file: string, extraArgs: readonly string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', file, '--port', '0', '--json', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    // Keep the tail only: the server logs a line per connection it closes.
    stderr = (stderr + c).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    void exited.then((code) => reject(new Error(`onelog serve exited with ${String(code)} before listening: ${stderr}`)));
  });
  return {
    port,
    pid: child.pid!,
    broker: `127.0.0.1:${String(port)}`,
    async stop(): Promise<number | null> {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
