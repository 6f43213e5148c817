// `serve(db, options)`: the Kafka wire protocol over one file. It listens on TCP (plaintext), TLS, or
// both side by side, gives each socket a Connection, and shares one context (the database, its
// engine, the group coordinator that embedded consumers use too) with every handler; each listener
// advertises its own port, so a client stays on the listener (and security) it came in on. It enforces
// the server-wide connection limit, TLS client authentication (the certificate subject becomes the
// principal) and hands SASL settings to each connection. It opens and closes no database: the caller
// owns `db`, and other processes keep using the same file alongside it.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Database } from '../client/database.ts';
import { GroupCoordinator } from '../client/group-coordinator.ts';
import { OnelogError } from '../errors.ts';
import { isSaslMechanism, type SaslMechanism, type SaslSettings } from './auth/sasl-session.ts';
import { ANONYMOUS, nodeTlsOptions, tlsPrincipal, type TlsOptions } from './auth/tls-options.ts';
import { Connection, type ConnectionLimits } from './connection.ts';
import type { ServerContext } from './handler.ts';
import { HANDLERS } from './handlers/index.ts';

export { isClientAuth, type ClientAuth, type TlsOptions } from './auth/tls-options.ts';
export { isSaslMechanism, type SaslMechanism } from './auth/sasl-session.ts';

export interface SaslOptions {
  /** Mechanisms clients may use: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (users: `onelog users`). */
  readonly mechanisms: readonly SaslMechanism[];
  /** Session lifetime returned by SaslAuthenticate v1+ (KIP-368 re-authentication); 0 = unlimited (default). */
  readonly sessionLifetimeMs?: number;
}

export interface ServeOptions {
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /**
   * Port of the plaintext listener (default 9092; 0 picks a free one, see Server.port). With `tls`, the
   * plaintext listener only runs when a port is given.
   */
  readonly port?: number;
  /** A TLS listener (SSL, or SASL_SSL with `sasl`), beside or instead of the plaintext one. */
  readonly tls?: TlsOptions;
  /** SASL authentication on every listener (SASL_PLAINTEXT / SASL_SSL). */
  readonly sasl?: SaslOptions;
  /** Host name clients are told to connect to (default: the listening host). */
  readonly advertisedHost?: string;
  /** Kafka's auto.create.topics.enable (default true). */
  readonly autoCreateTopics?: boolean;
  /** Largest request frame accepted, in bytes (default 100 MiB, Kafka's socket.request.max.bytes). */
  readonly maxFrameBytes?: number;
  /** Requests answered at once per connection before reading pauses (default 64). */
  readonly maxInFlightPerConnection?: number;
  /** Open connections over all listeners; further ones are closed at once with a log line (default 1000). */
  readonly maxConnections?: number;
  /** Connections idle this long are closed (default 600000, Kafka's connections.max.idle.ms). */
  readonly idleTimeoutMs?: number;
  /** Delay before closing a connection whose SASL authentication failed (default 1000 ms; Kafka's is 100). */
  readonly failedAuthDelayMs?: number;
  /** Where log lines go (default: stderr with a timestamp). */
  readonly log?: (line: string) => void;
}

export interface Server {
  readonly host: string;
  /** The plaintext listener's port, or the TLS listener's when TLS runs alone. */
  readonly port: number;
  readonly plaintextPort: number | null;
  readonly tlsPort: number | null;
  /** Stops listening and closes every connection; the database stays open. */
  close(): Promise<void>;
}

const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;
const DEFAULT_MAX_IN_FLIGHT = 64;
const DEFAULT_MAX_CONNECTIONS = 1000;
const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
const DEFAULT_FAILED_AUTH_DELAY_MS = 1000;

function stderrLog(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

function checkInteger(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new OnelogError('INVALID_ARGUMENT', `${name} must be an integer of at least ${min}, got ${String(value)}.`);
  return value;
}

function checkPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OnelogError('INVALID_ARGUMENT', `${name} must be an integer from 0 to 65535, got ${String(port)}.`);
  return port;
}

function saslSettings(options: SaslOptions | undefined): SaslSettings | null {
  if (options === undefined) return null;
  if (options.mechanisms.length === 0) throw new OnelogError('INVALID_ARGUMENT', 'sasl.mechanisms is empty: name at least one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512.');
  for (const m of options.mechanisms as readonly string[]) {
    if (!isSaslMechanism(m)) throw new OnelogError('INVALID_ARGUMENT', `Unknown SASL mechanism ${JSON.stringify(m)}: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.`);
  }
  return { mechanisms: [...new Set(options.mechanisms)], sessionLifetimeMs: checkInteger('sasl.sessionLifetimeMs', options.sessionLifetimeMs ?? 0, 0) };
}

function listen(server: NetServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new OnelogError('INVALID_ARGUMENT', `Cannot listen on ${host}:${String(port)}: ${err.message}. Choose another port or --host.`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

function closeListener(server: NetServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
}

/** Serves `db` over the Kafka protocol; resolves once every listener listens. */
export async function serve(db: Database, options: ServeOptions = {}): Promise<Server> {
  const host = options.host ?? '127.0.0.1';
  const plaintext = options.tls === undefined || options.port !== undefined;
  const plaintextPort = checkPort('port', options.port ?? 9092);
  const tlsPort = options.tls === undefined ? null : checkPort('tls.port', options.tls.port ?? 9093);
  const tlsOptions = options.tls === undefined ? null : nodeTlsOptions(options.tls);
  const limits: ConnectionLimits = {
    maxFrameBytes: checkInteger('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, 1),
    maxInFlight: checkInteger('maxInFlightPerConnection', options.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT, 1),
    idleTimeoutMs: checkInteger('idleTimeoutMs', options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, 1),
    failedAuthDelayMs: checkInteger('failedAuthDelayMs', options.failedAuthDelayMs ?? DEFAULT_FAILED_AUTH_DELAY_MS, 0),
  };
  const maxConnections = checkInteger('maxConnections', options.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 1);
  const sasl = saslSettings(options.sasl);
  const log = options.log ?? stderrLog;
  const handlers = new Map(HANDLERS.map((h) => [h.apiKey, h]));
  const shared = {
    db,
    engine: db.engine,
    coordinator: new GroupCoordinator(db.engine),
    advertisedHost: options.advertisedHost ?? host,
    autoCreateTopics: options.autoCreateTopics ?? true,
    numPartitions: db.numPartitions,
    apis: HANDLERS.map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion })).sort((a, b) => a.apiKey - b.apiKey),
    log,
  };
  const sockets = new Set<Socket>();
  const connections = new Set<Connection>();

  /** Counts every accepted socket (before its TLS handshake) against maxConnections. */
  const admit = (socket: Socket): boolean => {
    if (sockets.size >= maxConnections) {
      log(`refusing connection from ${socket.remoteAddress ?? '?'}:${String(socket.remotePort ?? '?')}: ${maxConnections} connections are open (max connections)`);
      socket.destroy();
      return false;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return true;
  };
  const start = (socket: Socket, context: ServerContext): void => {
    const connection = new Connection(socket, context, handlers, limits, sasl);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  };
  const contexts: { plaintext?: ServerContext; tls?: ServerContext } = {};

  const listeners: NetServer[] = [];
  let boundPlaintext: number | null = null;
  let boundTls: number | null = null;
  try {
    if (plaintext) {
      const server = createServer((socket) => {
        if (admit(socket) && contexts.plaintext !== undefined) start(socket, contexts.plaintext);
      });
      server.on('error', (err) => log(`server error: ${err.message}`));
      listeners.push(server);
      boundPlaintext = await listen(server, host, plaintextPort);
      contexts.plaintext = { ...shared, advertisedPort: boundPlaintext };
    }
    if (tlsOptions !== null && tlsPort !== null) {
      const server = createTlsServer(tlsOptions, (socket: TLSSocket) => {
        const principal = tlsPrincipal(socket);
        const peer = `${socket.remoteAddress ?? '?'}:${String(socket.remotePort ?? '?')}`;
        if (principal === null) {
          log(`closing TLS connection ${peer}: its client certificate is not signed by the trusted CA`);
          socket.destroy();
          return;
        }
        if (principal !== ANONYMOUS) log(`connection ${peer}: TLS client ${principal}`);
        if (contexts.tls !== undefined) start(socket, contexts.tls);
      });
      server.on('connection', (socket: Socket) => {
        admit(socket);
      });
      server.on('tlsClientError', (err: Error, socket: TLSSocket) => log(`TLS handshake with ${socket.remoteAddress ?? '?'}:${String(socket.remotePort ?? '?')} failed: ${err.message}`));
      server.on('error', (err: Error) => log(`server error: ${err.message}`));
      listeners.push(server);
      boundTls = await listen(server, host, tlsPort);
      contexts.tls = { ...shared, advertisedPort: boundTls };
    }
  } catch (err) {
    await Promise.all(listeners.map(closeListener));
    throw err;
  }

  let closing: Promise<void> | null = null;
  return {
    host,
    port: boundPlaintext ?? boundTls!,
    plaintextPort: boundPlaintext,
    tlsPort: boundTls,
    close(): Promise<void> {
      closing ??= (async () => {
        const closed = Promise.all(listeners.map(closeListener));
        for (const c of connections) c.destroy();
        for (const s of sockets) s.destroy();
        connections.clear();
        await closed;
      })();
      return closing;
    },
  };
}
