#!/usr/bin/env node
// The `onelog` command: picks the subcommand, handles --help, --json and --debug, and turns whatever
// ended a command into one line on stderr and an exit code (0 ok, 1 usage, 2 data error, 3 busy).
// Commands do the work; this file holds no database logic.
import { serveCommand, SERVE_HELP } from './commands/serve.ts';
// command imports
import { retentionCommand, RETENTION_HELP } from './commands/retention.ts';
import { compactCommand, COMPACT_HELP } from './commands/compact.ts';
import { vacuumCommand, VACUUM_HELP } from './commands/vacuum.ts';
import { usersCommand, USERS_HELP } from './commands/users.ts';
import { createCommand, CREATE_HELP } from './commands/create.ts';
import { infoCommand, INFO_HELP } from './commands/info.ts';
import { topicsCommand, TOPICS_HELP } from './commands/topics.ts';
import { produceCommand, PRODUCE_HELP } from './commands/produce.ts';
import { consumeCommand, CONSUME_HELP } from './commands/consume.ts';
import { groupsCommand, GROUPS_HELP } from './commands/groups.ts';
import { verifyCommand, VERIFY_HELP } from './commands/verify.ts';
import { dumpCommand, DUMP_HELP } from './commands/dump.ts';
import { exportCommand, EXPORT_HELP } from './commands/export.ts';
import { importCommand, IMPORT_HELP } from './commands/import.ts';
import { createOutput, EXIT, exitCodeFor, UsageError, type Output } from './output.ts';

const HELP = `Usage: onelog <command> [options]

Commands:
  serve FILE    serve FILE over the Kafka wire protocol
  users FILE [ACTION]         SASL users: list | add NAME --password-stdin | remove NAME
  create FILE                 create an empty database (--extent-size)
  info FILE                   format version, size, free space, topics, records, timestamps
  topics FILE [ACTION]        list | create NAME | describe NAME | delete NAME | alter NAME
  produce FILE TOPIC          append records from stdin (a line each), or --value
  consume FILE TOPIC          print records (--from-beginning, --offset, --since, --follow, --group)
  groups FILE [ACTION]        list | describe G | reset-offsets G | delete G
  verify FILE                 check every batch CRC and structural invariant (exit 2 if damaged)
  dump FILE TOPIC             show batches with their headers, for debugging
  export FILE [--topic T]     write records as JSON Lines to stdout
  import FILE                 append JSON Lines records from stdin
  retention FILE              free extents past each topic's retention.ms/retention.bytes now
  compact FILE                compact topics with cleanup.policy compact now (latest record per key)
  vacuum FILE                 move data down into free extents and cut the file to its live size

Global options: --json (machine-readable output), --debug (stack traces), --help.
Run 'onelog <command> --help' for a command's options.`;

interface Command {
  readonly help: string;
  run(args: readonly string[], out: Output): Promise<void>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  serve: { help: SERVE_HELP, run: serveCommand },
  // commands
  retention: { help: RETENTION_HELP, run: retentionCommand },
  compact: { help: COMPACT_HELP, run: compactCommand },
  vacuum: { help: VACUUM_HELP, run: vacuumCommand },
  users: { help: USERS_HELP, run: usersCommand },
  create: { help: CREATE_HELP, run: createCommand },
  info: { help: INFO_HELP, run: infoCommand },
  topics: { help: TOPICS_HELP, run: topicsCommand },
  produce: { help: PRODUCE_HELP, run: produceCommand },
  consume: { help: CONSUME_HELP, run: consumeCommand },
  groups: { help: GROUPS_HELP, run: groupsCommand },
  verify: { help: VERIFY_HELP, run: verifyCommand },
  dump: { help: DUMP_HELP, run: dumpCommand },
  export: { help: EXPORT_HELP, run: exportCommand },
  import: { help: IMPORT_HELP, run: importCommand },
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
