// `serve(db, options)`: the Kafka wire protocol over one onelog file. It listens on TCP, gives each socket
// a Connection, and shares one context (the database, its engine, the group coordinator that embedded
// consumers use too, the advertised address) with every handler. It opens and closes no database: the
// caller owns `db`, and other processes keep using the same file alongside it.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Database } from '../client/database.ts';
import { GroupCoordinator } from '../client/group-coordinator.ts';
import { OnelogError } from '../errors.ts';
import { Connection } from './connection.ts';
import type { ServerContext } from './handler.ts';
import { HANDLERS } from './handlers/index.ts';

export interface ServeOptions {
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** TCP port (default 9092; 0 picks a free one, see Server.port). */
  readonly port?: number;
  /** Host name clients are told to connect to (default: the listening host). */
  readonly advertisedHost?: string;
  /** Kafka's auto.create.topics.enable (default true). */
  readonly autoCreateTopics?: boolean;
  /** Largest request frame accepted, in bytes (default 100 MiB, Kafka's socket.request.max.bytes). */
  readonly maxFrameBytes?: number;
  /** Requests answered at once per connection before reading pauses (default 64). */
  readonly maxInFlightPerConnection?: number;
  /** Where log lines go (default: stderr with a timestamp). */
  readonly log?: (line: string) => void;
}

export interface Server {
  readonly host: string;
  readonly port: number;
  /** Stops listening and closes every connection; the database stays open. */
  close(): Promise<void>;
}

const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;
const DEFAULT_MAX_IN_FLIGHT = 64;

function stderrLog(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

function checkPositiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new OnelogError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${String(value)}.`);
  return value;
}

function listen(server: NetServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new OnelogError('INVALID_ARGUMENT', `Cannot listen on ${host}:${String(port)}: ${err.message}. Choose another --port or --host.`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/** Serves `db` over the Kafka protocol; resolves once listening. */
export async function serve(db: Database, options: ServeOptions = {}): Promise<Server> {
  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? 9092;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
    throw new OnelogError('INVALID_ARGUMENT', `port must be an integer from 0 to 65535, got ${String(requestedPort)}.`);
  }
  const limits = {
    maxFrameBytes: checkPositiveInteger('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES),
    maxInFlight: checkPositiveInteger('maxInFlightPerConnection', options.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT),
  };
  const log = options.log ?? stderrLog;
  const handlers = new Map(HANDLERS.map((h) => [h.apiKey, h]));
  const connections = new Set<Connection>();
  const netServer = createServer((socket: Socket) => {
    const connection = new Connection(socket, context, handlers, limits);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  netServer.on('error', (err) => {
    log(`server error: ${err.message}`);
  });
  const port = await listen(netServer, host, requestedPort);
  const context: ServerContext = {
    db,
    engine: db.engine,
    coordinator: new GroupCoordinator(db.engine),
    advertisedHost: options.advertisedHost ?? host,
    advertisedPort: port,
    autoCreateTopics: options.autoCreateTopics ?? true,
    numPartitions: db.numPartitions,
    apis: HANDLERS.map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion })).sort((a, b) => a.apiKey - b.apiKey),
    log,
  };
  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        netServer.close(() => {
          resolve();
        });
        for (const c of connections) c.destroy();
        connections.clear();
      });
      return closing;
    },
  };
}
