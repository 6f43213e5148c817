// `onelog serve FILE`: opens (creating if needed) a onelog file and serves it over the Kafka protocol
// until SIGINT or SIGTERM, then stops listening and closes the file cleanly. Parsing flags and opening
// the file are all it adds to serve(); the protocol lives in src/server.
import { parseArgs } from 'node:util';
import { open } from '../../client/database.ts';
import { serve } from '../../server/server.ts';
import { type Output, UsageError } from '../output.ts';

export const SERVE_HELP = `Usage: onelog serve FILE [options]

Serves FILE (created when missing) over the Kafka wire protocol: any Kafka client can
produce to and consume from it while embedded clients in other processes use it too.

Options:
  --host H              interface to listen on (default 127.0.0.1)
  --port N              TCP port (default 9092; 0 picks a free port)
  --advertised-host H   host name given to clients in metadata (default: --host)
  --no-auto-create      do not create topics a client asks metadata for (auto.create.topics.enable=false)
  --partitions N        partitions of auto-created topics (default 1)
  --sync MODE           durability: always | batch (default) | none
  --max-frame-bytes N   largest request accepted (default 104857600)
  --json                log lines as JSON objects
  --help                this text`;

function integer(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got '${value}'.`);
  return n;
}

function syncMode(value: string | undefined): 'always' | 'batch' | 'none' {
  if (value === undefined || value === 'batch') return 'batch';
  if (value === 'always' || value === 'none') return value;
  throw new UsageError(`--sync must be always, batch or none, got '${value}'.`);
}

/** Runs until a signal; resolves when the file is closed. */
export async function serveCommand(args: readonly string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'advertised-host': { type: 'string' },
      'no-auto-create': { type: 'boolean' },
      partitions: { type: 'string' },
      sync: { type: 'string' },
      'max-frame-bytes': { type: 'string' },
    },
  });
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError('serve takes exactly one FILE.');
  const db = await open(file, { sync: syncMode(values.sync), numPartitions: integer('partitions', values.partitions, 1) });
  const log = (line: string): void => {
    out.info(out.json ? JSON.stringify({ time: new Date().toISOString(), log: line }) : `${new Date().toISOString()} ${line}`);
  };
  let server;
  try {
    server = await serve(db, {
      host: values.host ?? '127.0.0.1',
      port: integer('port', values.port, 9092),
      ...(values['advertised-host'] === undefined ? {} : { advertisedHost: values['advertised-host'] }),
      autoCreateTopics: values['no-auto-create'] !== true,
      maxFrameBytes: integer('max-frame-bytes', values['max-frame-bytes'], 100 * 1024 * 1024),
      log,
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  out.result(`onelog serving ${file} on ${server.host}:${String(server.port)} (Ctrl-C to stop)`, { event: 'listening', file, host: server.host, port: server.port });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await db.close();
  out.result(`onelog closed ${file}`, { event: 'closed', file });
}
