// `onelog serve FILE`: opens (creating if needed) a onelog file and serves it over the Kafka protocol
// until SIGINT or SIGTERM, then stops listening and closes the file cleanly. Parsing flags, reading the
// TLS PEM files and opening the file are all it adds to serve(); the protocol lives in src/server.
import { parseArgs } from 'node:util';
import { open } from '../../client/database.ts';
import { listUsers } from '../../client/users.ts';
import { isClientAuth, isSaslMechanism, serve, type SaslMechanism, type TlsOptions } from '../../server/server.ts';
import { nodeFileSystem } from '../../storage/node-file-layer.ts';
import { keyValues } from '../args.ts';
import { type Output, UsageError } from '../output.ts';

export const SERVE_HELP = `Usage: onelog serve FILE [options]

Serves FILE (created when missing) over the Kafka wire protocol: every Kafka client can
produce to and consume from it while embedded clients in other processes use it too.

Options:
  --host H              interface to listen on (default 127.0.0.1)
  --port N              plaintext TCP port (default 9092; 0 picks a free port). With --tls-cert the
                        plaintext listener runs only when --port is given
  --tls-cert FILE       serve TLS with this certificate chain (PEM) ...
  --tls-key FILE        ... and this private key (PEM)
  --tls-port N          TLS port (default 9093; 0 picks a free port)
  --tls-ca FILE         CA certificates (PEM) that sign client certificates
  --tls-client-auth M   required | requested | none (default): ask clients for certificates; a
                        certificate's subject becomes the principal (User:CN=...,O=...)
  --sasl LIST           require SASL on every listener: comma list of plain, scram-sha-256,
                        scram-sha-512 (users: onelog users FILE add NAME --password-stdin)
  --sasl-session-lifetime MS  re-authenticate after MS (KIP-368; default 0 = never)
  --max-connections N   open connections over all listeners; more are refused (default 1000)
  --max-in-flight N     requests answered at once per connection (default 64)
  --idle-timeout MS     close connections idle this long (default 600000)
  --failed-auth-delay MS  close a connection this long after failed authentication (default 1000)
  --advertised-host H   host name given to clients in metadata (default: --host)
  --no-auto-create      do not create topics a client asks metadata for (auto.create.topics.enable=false)
  --partitions N        partitions of auto-created topics (default 1)
  --topic-default K=V   default of topic config K (repeatable), e.g. --topic-default
                        retention.ms=86400000: a topic this server creates (CreateTopics or
                        auto-created) gets it unless its creator sets K; existing topics keep theirs
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

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  const n = integer(name, value, fallback);
  if (n === 0) throw new UsageError(`--${name} must be a positive integer, got '${value ?? ''}'.`);
  return n;
}

/** Reads a PEM file whole through the storage file layer (the one module that touches node:fs). */
function pem(flag: string, file: string): Buffer {
  let handle;
  try {
    handle = nodeFileSystem.open(file, { readOnly: true });
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const bytes = Buffer.alloc(handle.size());
    let read = 0;
    while (read < bytes.length) {
      const n = handle.read(bytes, read, bytes.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return bytes.subarray(0, read);
  } finally {
    handle.close();
  }
}

function tlsOptions(values: Readonly<Record<string, string | boolean | string[] | undefined>>): TlsOptions | undefined {
  const text = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const cert = text('tls-cert');
  const key = text('tls-key');
  const ca = text('tls-ca');
  const clientAuth = text('tls-client-auth') ?? 'none';
  if (cert === undefined && key === undefined) {
    const stray = ['tls-ca', 'tls-client-auth', 'tls-port'].find((f) => values[f] !== undefined);
    if (stray !== undefined) throw new UsageError(`--${stray} needs --tls-cert and --tls-key.`);
    return undefined;
  }
  if (cert === undefined || key === undefined) throw new UsageError('TLS needs both --tls-cert and --tls-key.');
  if (!isClientAuth(clientAuth)) {
    throw new UsageError(`--tls-client-auth must be required, requested or none, got '${clientAuth}'.`);
  }
  if (clientAuth !== 'none' && ca === undefined) throw new UsageError(`--tls-client-auth ${clientAuth} needs --tls-ca, the CA that signs client certificates.`);
  return {
    cert: pem('--tls-cert', cert),
    key: pem('--tls-key', key),
    ...(ca === undefined ? {} : { ca: pem('--tls-ca', ca) }),
    clientAuth,
    port: integer('tls-port', text('tls-port'), 9093),
  };
}

function saslMechanisms(value: string | undefined): SaslMechanism[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((m) => {
    const name = m.trim().toUpperCase();
    if (!isSaslMechanism(name)) {
      throw new UsageError(`--sasl takes a comma list of plain, scram-sha-256 and scram-sha-512, got '${m}'.`);
    }
    return name;
  });
}

function syncMode(value: string | undefined): 'always' | 'batch' | 'none' {
  if (value === undefined || value === 'batch') return 'batch';
  if (value === 'always' || value === 'none') return value;
  throw new UsageError(`--sync must be always, batch or none, got '${value}'.`);
}

/** The --topic-default k=v pairs as the engine's topicDefaults (a bare key or an empty key is a usage error). */
function topicDefaultsOf(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(keyValues('topic-default', items, false))) if (v !== null) out[k] = v;
  return out;
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
      'topic-default': { type: 'string', multiple: true },
      sync: { type: 'string' },
      'max-frame-bytes': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'tls-client-auth': { type: 'string' },
      'tls-port': { type: 'string' },
      sasl: { type: 'string' },
      'sasl-session-lifetime': { type: 'string' },
      'max-connections': { type: 'string' },
      'max-in-flight': { type: 'string' },
      'idle-timeout': { type: 'string' },
      'failed-auth-delay': { type: 'string' },
    },
  });
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError('serve takes exactly one FILE.');
  const tls = tlsOptions(values);
  const mechanisms = saslMechanisms(values.sasl);
  if (mechanisms === undefined && values['sasl-session-lifetime'] !== undefined) throw new UsageError('--sasl-session-lifetime needs --sasl.');
  const limits = {
    maxFrameBytes: positiveInteger('max-frame-bytes', values['max-frame-bytes'], 100 * 1024 * 1024),
    maxConnections: positiveInteger('max-connections', values['max-connections'], 1000),
    maxInFlightPerConnection: positiveInteger('max-in-flight', values['max-in-flight'], 64),
    idleTimeoutMs: positiveInteger('idle-timeout', values['idle-timeout'], 600_000),
    failedAuthDelayMs: integer('failed-auth-delay', values['failed-auth-delay'], 1000),
  };
  const topicDefaults = topicDefaultsOf(values['topic-default'] ?? []);
  const db = await open(file, { sync: syncMode(values.sync), numPartitions: integer('partitions', values.partitions, 1), topicDefaults });
  const log = (line: string): void => {
    out.info(out.json ? JSON.stringify({ time: new Date().toISOString(), log: line }) : `${new Date().toISOString()} ${line}`);
  };
  let server;
  try {
    server = await serve(db, {
      host: values.host ?? '127.0.0.1',
      ...(tls !== undefined && values.port === undefined ? {} : { port: integer('port', values.port, 9092) }),
      ...(tls === undefined ? {} : { tls }),
      ...(mechanisms === undefined ? {} : { sasl: { mechanisms, sessionLifetimeMs: integer('sasl-session-lifetime', values['sasl-session-lifetime'], 0) } }),
      ...(values['advertised-host'] === undefined ? {} : { advertisedHost: values['advertised-host'] }),
      autoCreateTopics: values['no-auto-create'] !== true,
      ...limits,
      log,
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  if (mechanisms !== undefined && listUsers(db.engine).length === 0) out.info(`warning: ${file} has no SASL users yet, so every login fails: add one with 'onelog users ${file} add NAME --password-stdin'.`);
  const where = [
    server.plaintextPort === null ? null : `${server.host}:${String(server.plaintextPort)}${mechanisms === undefined ? '' : ' (SASL)'}`,
    server.tlsPort === null ? null : `${server.host}:${String(server.tlsPort)} (TLS${mechanisms === undefined ? '' : ' + SASL'})`,
  ].filter((w) => w !== null);
  out.result(`onelog serving ${file} on ${where.join(' and ')} (Ctrl-C to stop)`, {
    event: 'listening',
    file,
    host: server.host,
    port: server.port,
    plaintextPort: server.plaintextPort,
    tlsPort: server.tlsPort,
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await db.close();
  out.result(`onelog closed ${file}`, { event: 'closed', file });
}
