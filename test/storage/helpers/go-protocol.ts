// The child side of the crash tests' start protocol: print `ready` once loaded, wait for one line
// `go <args...>` on stdin, run the writer with those arguments, and on any failure print it and exit 2
// (exit 3 when the parent goes away without killing the child). Writers are SIGKILLed by their parent.
import { createInterface } from 'node:readline';

/** Runs `main` with the words after `go` once the parent sends them; `name` prefixes a failure. */
export function runOnGo(name: string, arity: number, main: (args: readonly string[]) => Promise<void>): void {
  const die = (err: unknown): never => {
    process.stderr.write(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  };
  const input = createInterface({ input: process.stdin });
  input.once('line', (line) => {
    const [verb, ...args] = line.split(' ');
    if (verb !== 'go' || args.length !== arity) die(new Error(`unexpected command ${JSON.stringify(line)}`));
    main(args).catch(die);
  });
  // The parent went away without killing us: do not linger.
  input.once('close', () => process.exit(3));
  process.stdout.write('ready\n');
}
