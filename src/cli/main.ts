#!/usr/bin/env node
// The `onelog` command: picks the subcommand, handles --help, --json and --debug, and turns whatever
// ended a command into one line on stderr and an exit code (0 ok, 1 usage, 2 data error, 3 busy).
// Commands do the work; this file holds no database logic.
import { serveCommand, SERVE_HELP } from './commands/serve.ts';
import { createOutput, EXIT, exitCodeFor, UsageError, type Output } from './output.ts';

const HELP = `Usage: onelog <command> [options]

Commands:
  serve FILE    serve FILE over the Kafka wire protocol

Global options: --json (machine-readable output), --debug (stack traces), --help.
Run 'onelog <command> --help' for a command's options.`;

interface Command {
  readonly help: string;
  run(args: readonly string[], out: Output): Promise<void>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  serve: { help: SERVE_HELP, run: serveCommand },
};

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--json' && a !== '--debug');
  const out = createOutput(json);
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${HELP}\n`);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    out.error(new UsageError(`unknown command '${name}'. Run 'onelog --help' for the list.`), false);
    return EXIT.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.OK;
  }
  try {
    await command.run(rest, out);
    return EXIT.OK;
  } catch (err) {
    const wrapped = err instanceof TypeError && 'code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS') ? new UsageError(err.message) : err;
    out.error(wrapped, debug);
    if (wrapped instanceof UsageError && !json) process.stderr.write(`Run 'onelog ${name} --help' for usage.\n`);
    return exitCodeFor(wrapped);
  }
}

process.exitCode = await main(process.argv.slice(2));
