// SASL on `onelog serve` (SASL_PLAINTEXT and SASL_SSL) with users stored in the file: kafkajs (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512), kcat and @platformatic/kafka authenticate with the right password and
// produce and consume, and fail with an authentication error on a wrong one while the server stays up.
// Raw requests pin the protocol: SaslHandshake v0 (raw tokens) and v1, SaslAuthenticate v0-v2,
// requests before authentication closing the connection, ILLEGAL_SASL_STATE and
// UNSUPPORTED_SASL_MECHANISM answers, the failed-authentication delay, and KIP-368 re-authentication
// with session expiry.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { setUser } from '../../src/client/users.ts';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { encodeRequestFrame, responseHeaderVersion } from '../../src/protocol/frame.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeApiVersionsResponse, encodeApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts';
import { decodeResponseHeader } from '../../src/protocol/generated/headers.ts';
import { decodeMetadataResponse, encodeMetadataRequest } from '../../src/protocol/generated/metadata.ts';
import { decodeSaslAuthenticateResponse, encodeSaslAuthenticateRequest, type SaslAuthenticateResponse } from '../../src/protocol/generated/sasl-authenticate.ts';
import { decodeSaslHandshakeResponse, encodeSaslHandshakeRequest, type SaslHandshakeResponse } from '../../src/protocol/generated/sasl-handshake.ts';
import { Reader } from '../../src/protocol/reader.ts';
import type { Writer } from '../../src/protocol/writer.ts';
import type { ServeOptions } from '../../src/server/server.ts';
import { kafkajsConnectError, kafkajsRoundTrip } from './helpers/kafkajs-roundtrip.ts';
import { runKcat } from './helpers/kcat-run.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';
import { makeTestCa, type TestCa } from './helpers/test-ca.ts';

const ALL = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
let served: ServedDatabase;
let ca: TestCa;

async function startSasl(serve: ServeOptions = {}): Promise<ServedDatabase> {
  const s = await startServer({ serve: { sasl: { mechanisms: ALL }, failedAuthDelayMs: 100, ...serve } });
  await setUser(s.db.engine, 'alice', 'alice-secret');
  await setUser(s.db.engine, 'bob', 'bob-secret', ['SCRAM-SHA-512']);
  return s;
}

before(async () => {
  served = await startSasl();
  ca = makeTestCa();
});
after(async () => {
  await served.close();
  ca.remove();
});

/** A raw connection: Kafka requests at pinned versions, raw SASL tokens, and close detection. */
interface Raw {
  request<Res>(apiKey: number, version: number, body: (w: Writer) => void, decode: (r: Reader, v: number) => Res): Promise<Res>;
  /** Sends a size-prefixed raw token and resolves with the next size-prefixed frame's content. */
  token(bytes: Buffer): Promise<Buffer>;
  /** Resolves with the ms from now until the server closes the connection. */
  closedWithin(): Promise<number>;
  readonly closed: Promise<void>;
  close(): void;
}

async function connect(port = served.server.port): Promise<Raw> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  let buffered = Buffer.alloc(0);
  const waiting: ((frame: Buffer) => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
      const size = buffered.readInt32BE(0);
      waiting.shift()?.(buffered.subarray(4, 4 + size));
      buffered = buffered.subarray(4 + size);
    }
  });
  const next = (): Promise<Buffer> =>
    Promise.race([
      new Promise<Buffer>((resolve) => waiting.push(resolve)),
      closed.then(() => {
        throw new Error('connection closed');
      }),
    ]);
  let correlationId = 0;
  return {
    async request(apiKey, version, body, decode) {
      const id = ++correlationId;
      const answer = next();
      socket.write(encodeRequestFrame({ requestApiKey: apiKey, requestApiVersion: version, correlationId: id, clientId: 'sasl-test' }, body));
      const reader = new Reader(await answer);
      assert.equal(decodeResponseHeader(reader, responseHeaderVersion(apiKey, version)).correlationId, id);
      return decode(reader, version);
    },
    async token(bytes) {
      const answer = next();
      const size = Buffer.alloc(4);
      size.writeInt32BE(bytes.length);
      socket.write(Buffer.concat([size, bytes]));
      return answer;
    },
    async closedWithin() {
      const start = Date.now();
      await closed;
      return Date.now() - start;
    },
    closed,
    close: () => socket.destroy(),
  };
}

function handshake(raw: Raw, mechanism: string, version = 1): Promise<SaslHandshakeResponse> {
  return raw.request(API_KEYS.SASL_HANDSHAKE, version, (w) => encodeSaslHandshakeRequest(w, { mechanism }, version), decodeSaslHandshakeResponse);
}

function authenticate(raw: Raw, token: Buffer, version = 2): Promise<SaslAuthenticateResponse> {
  return raw.request(API_KEYS.SASL_AUTHENTICATE, version, (w) => encodeSaslAuthenticateRequest(w, { authBytes: token }, version), decodeSaslAuthenticateResponse);
}

function metadata(raw: Raw): Promise<unknown> {
  return raw.request(API_KEYS.METADATA, 1, (w) => encodeMetadataRequest(w, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }, 1), decodeMetadataResponse);
}

/** kafkajs' SASL options for a mechanism named at run time (its type wants the literal per branch). */
function saslOptions(mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', username: string, password: string): SASLOptions {
  if (mechanism === 'plain') return { mechanism, username, password };
  return mechanism === 'scram-sha-256' ? { mechanism, username, password } : { mechanism, username, password };
}

const plain = (user: string, password: string): Buffer => Buffer.from(`\u0000${user}\u0000${password}`);

for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
  test(`kafkajs SASL ${mechanism}: the right password produces and consumes, a wrong one is refused`, { timeout: 20_000 }, async () => {
    const read = await kafkajsRoundTrip(served.broker, { sasl: saslOptions(mechanism, 'alice', 'alice-secret') }, `kafkajs-${mechanism}`);
    assert.equal(read.length, 5);
    const wrong = await kafkajsConnectError(served.broker, { sasl: saslOptions(mechanism, 'alice', 'wrong') });
    assert.equal(wrong?.name, 'KafkaJSSASLAuthenticationError');
    const unknown = await kafkajsConnectError(served.broker, { sasl: saslOptions(mechanism, 'nobody', 'x') });
    assert.equal(unknown?.name, 'KafkaJSSASLAuthenticationError');
    assert.equal(await kafkajsConnectError(served.broker, { sasl: saslOptions(mechanism, 'alice', 'alice-secret') }), null);
  });
}

test('a user without a SCRAM-SHA-256 credential cannot use that mechanism, but PLAIN and SCRAM-SHA-512 work', async () => {
  assert.equal((await kafkajsConnectError(served.broker, { sasl: { mechanism: 'scram-sha-256', username: 'bob', password: 'bob-secret' } }))?.name, 'KafkaJSSASLAuthenticationError');
  assert.equal(await kafkajsConnectError(served.broker, { sasl: { mechanism: 'scram-sha-512', username: 'bob', password: 'bob-secret' } }), null);
  assert.equal(await kafkajsConnectError(served.broker, { sasl: { mechanism: 'plain', username: 'bob', password: 'bob-secret' } }), null);
});

test('kcat SASL_PLAINTEXT: SCRAM-SHA-256 produces and consumes; SCRAM-SHA-512 and PLAIN connect; a wrong password fails', { timeout: 25_000 }, async () => {
  const sasl = (mechanism: string, password: string): string[] => ['-X', 'security.protocol=sasl_plaintext', '-X', `sasl.mechanisms=${mechanism}`, '-X', 'sasl.username=alice', '-X', `sasl.password=${password}`];
  const produced = await runKcat(served.broker, [...sasl('SCRAM-SHA-256', 'alice-secret'), '-P', '-t', 'kcat-sasl', '-p', '0'], 'a\nb\n');
  assert.equal(produced.code, 0, produced.stderr);
  const consumed = await runKcat(served.broker, [...sasl('SCRAM-SHA-256', 'alice-secret'), '-C', '-t', 'kcat-sasl', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.equal(consumed.stdout, 'a\nb\n');
  for (const mechanism of ['SCRAM-SHA-512', 'PLAIN']) {
    const listed = await runKcat(served.broker, [...sasl(mechanism, 'alice-secret'), '-L', '-t', 'kcat-sasl']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /topic "kcat-sasl"/);
  }
  const refused = await runKcat(served.broker, [...sasl('SCRAM-SHA-256', 'wrong'), '-L', '-m', '3'], '', 10_000);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Authentication failed/i);
});

test('@platformatic/kafka authenticates with SCRAM-SHA-512 (SaslHandshake v1, SaslAuthenticate v2)', async () => {
  const admin = new Admin({ clientId: 'platformatic-sasl', bootstrapBrokers: [served.broker], sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'alice-secret' } });
  try {
    assert.ok(Array.isArray(await admin.listTopics()));
  } finally {
    await admin.close();
  }
  const wrong = new Admin({ clientId: 'platformatic-sasl', bootstrapBrokers: [served.broker], sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'nope' }, retries: 0 });
  try {
    await assert.rejects(wrong.listTopics());
  } finally {
    await wrong.close();
  }
});

test('SASL_SSL: kafkajs and kcat authenticate with SCRAM over TLS', { timeout: 20_000 }, async () => {
  const s = await startSasl({ port: undefined, tls: { cert: ca.server.cert, key: ca.server.key, port: 0 } });
  try {
    const broker = `127.0.0.1:${String(s.server.tlsPort)}`;
    const read = await kafkajsRoundTrip(broker, { ssl: { ca: [ca.ca] }, sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' } }, 'sasl-ssl');
    assert.equal(read.length, 5);
    const kcat = await runKcat(broker, ['-X', 'security.protocol=sasl_ssl', '-X', `ssl.ca.location=${ca.caFile}`, '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=alice', '-X', 'sasl.password=alice-secret', '-C', '-t', 'sasl-ssl', '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
    assert.equal(kcat.code, 0, kcat.stderr);
    assert.equal(kcat.stdout.split('\n').filter(Boolean).length, 5);
  } finally {
    await s.close();
  }
});

test('requests other than ApiVersions and the SASL APIs before authentication close the connection', async () => {
  const raw = await connect();
  const versions = await raw.request(API_KEYS.API_VERSIONS, 3, (w) => encodeApiVersionsRequest(w, { clientSoftwareName: 't', clientSoftwareVersion: '1' }, 3), decodeApiVersionsResponse);
  assert.deepEqual(
    versions.apiKeys.filter((a) => a.apiKey === API_KEYS.SASL_HANDSHAKE || a.apiKey === API_KEYS.SASL_AUTHENTICATE).map((a) => [a.apiKey, a.minVersion, a.maxVersion]),
    [
      [API_KEYS.SASL_HANDSHAKE, 0, 1],
      [API_KEYS.SASL_AUTHENTICATE, 0, 2],
    ],
  );
  await assert.rejects(metadata(raw), /connection closed/);
  assert.ok(served.logLines.some((l) => l.includes(`API key ${API_KEYS.METADATA} before SASL authentication`)));
  // The same after a handshake, before SaslAuthenticate.
  const raw2 = await connect();
  assert.equal((await handshake(raw2, 'PLAIN')).errorCode, ERROR_CODES.NONE);
  await assert.rejects(metadata(raw2), /connection closed/);
});

test('SaslAuthenticate before SaslHandshake: ILLEGAL_SASL_STATE, then the connection closes', async () => {
  const raw = await connect();
  const res = await authenticate(raw, plain('alice', 'alice-secret'));
  assert.equal(res.errorCode, ERROR_CODES.ILLEGAL_SASL_STATE);
  await raw.closed;
});

test('an unsupported mechanism: UNSUPPORTED_SASL_MECHANISM with the enabled list, then the connection closes', async () => {
  for (const version of [0, 1]) {
    const raw = await connect();
    const res = await handshake(raw, 'GSSAPI', version);
    assert.deepEqual(res, { errorCode: ERROR_CODES.UNSUPPORTED_SASL_MECHANISM, mechanisms: [...ALL] });
    await raw.closed;
  }
});

test('SaslAuthenticate v0, v1 and v2 with PLAIN; v1+ carry the session lifetime', async () => {
  for (const version of [0, 1, 2]) {
    const raw = await connect();
    assert.deepEqual(await handshake(raw, 'PLAIN'), { errorCode: ERROR_CODES.NONE, mechanisms: [...ALL] });
    const res = await authenticate(raw, plain('alice', 'alice-secret'), version);
    assert.deepEqual([res.errorCode, res.errorMessage, Buffer.from(res.authBytes).length, res.sessionLifetimeMs], [ERROR_CODES.NONE, null, 0, 0n], `v${String(version)}`);
    await metadata(raw);
    // Once authenticated, another SaslAuthenticate is out of order but harmless.
    assert.equal((await authenticate(raw, plain('alice', 'alice-secret'), version)).errorCode, ERROR_CODES.ILLEGAL_SASL_STATE);
    await metadata(raw);
    raw.close();
  }
});

test('a wrong password: SASL_AUTHENTICATION_FAILED with a message, the connection closed after the delay', async () => {
  const s = await startSasl({ failedAuthDelayMs: 400 });
  try {
    const raw = await connect(s.server.port);
    await handshake(raw, 'PLAIN');
    const res = await authenticate(raw, plain('alice', 'wrong'), 1);
    assert.equal(res.errorCode, ERROR_CODES.SASL_AUTHENTICATION_FAILED);
    assert.match(res.errorMessage ?? '', /invalid credentials with SASL mechanism PLAIN/);
    const ms = await raw.closedWithin();
    assert.ok(ms >= 300 && ms < 2000, `closed after ${String(ms)} ms`);
    assert.ok(s.logLines.some((l) => l.includes('SASL authentication failed')));
  } finally {
    await s.close();
  }
});

test('SaslHandshake v0: raw size-prefixed tokens follow (PLAIN accepted with an empty token, re-authentication with v1, a wrong password closes)', async () => {
  const raw = await connect();
  assert.equal((await handshake(raw, 'PLAIN', 0)).errorCode, ERROR_CODES.NONE);
  assert.equal((await raw.token(plain('alice', 'alice-secret'))).length, 0);
  await metadata(raw);
  // Re-authentication afterwards uses SaslHandshake v1 and SaslAuthenticate.
  assert.equal((await handshake(raw, 'PLAIN', 1)).errorCode, ERROR_CODES.NONE);
  assert.equal((await authenticate(raw, plain('alice', 'alice-secret'))).errorCode, ERROR_CODES.NONE);
  await metadata(raw);
  raw.close();
  const bad = await connect();
  await handshake(bad, 'PLAIN', 0);
  await assert.rejects(bad.token(plain('alice', 'wrong')), /connection closed/);
});

test('a frame over 512 KiB before authentication closes the connection', async () => {
  const raw = await connect();
  await assert.rejects(raw.token(Buffer.alloc(600 * 1024)), /connection closed/);
});

test('re-authentication (KIP-368): the session lifetime is returned, a new handshake renews it, expiry closes', async () => {
  const s = await startSasl({ sasl: { mechanisms: ALL, sessionLifetimeMs: 600 } });
  try {
    const raw = await connect(s.server.port);
    await handshake(raw, 'PLAIN');
    assert.equal((await authenticate(raw, plain('alice', 'alice-secret'), 1)).sessionLifetimeMs, 600n);
    await metadata(raw);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await handshake(raw, 'PLAIN')).errorCode, ERROR_CODES.NONE);
    assert.equal((await authenticate(raw, plain('alice', 'alice-secret'), 2)).sessionLifetimeMs, 600n);
    await new Promise((r) => setTimeout(r, 400));
    // 800 ms after the first authentication, within the renewed session.
    await metadata(raw);
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(metadata(raw), /connection closed/);
    assert.ok(s.logLines.some((l) => l.includes('SASL session of User:alice expired')));

    // Re-authentication may not change the principal.
    const other = await connect(s.server.port);
    await handshake(other, 'PLAIN');
    await authenticate(other, plain('alice', 'alice-secret'));
    await handshake(other, 'PLAIN');
    const res = await authenticate(other, plain('bob', 'bob-secret'));
    assert.equal(res.errorCode, ERROR_CODES.SASL_AUTHENTICATION_FAILED);
    await other.closed;
  } finally {
    await s.close();
  }
});

test('kafkajs re-authenticates its connections before the session lifetime ends (no expiry closes)', { timeout: 20_000 }, async () => {
  const s = await startSasl({ sasl: { mechanisms: ALL, sessionLifetimeMs: 1500 } });
  try {
    const kafka = new Kafka({ clientId: 'reauth', brokers: [s.broker], logLevel: logLevel.NOTHING, sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' } });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    for (let i = 0; i < 3; i++) {
      await producer.send({ topic: 'reauth', messages: [{ value: String(i) }] });
      await new Promise((r) => setTimeout(r, 1000));
    }
    await producer.disconnect();
    assert.equal(s.db.engine.describeTopic('reauth') === undefined, false);
    assert.deepEqual(s.logLines.filter((l) => l.includes('expired') || l.includes('failed')), []);
  } finally {
    await s.close();
  }
});

test('a listener without SASL answers the SASL APIs with ILLEGAL_SASL_STATE and keeps the connection', async () => {
  const s = await startServer();
  try {
    const raw = await connect(s.server.port);
    assert.deepEqual(await handshake(raw, 'PLAIN'), { errorCode: ERROR_CODES.ILLEGAL_SASL_STATE, mechanisms: [] });
    assert.equal((await authenticate(raw, plain('alice', 'x'), 0)).errorCode, ERROR_CODES.ILLEGAL_SASL_STATE);
    await metadata(raw);
    raw.close();
    // kafkajs reports the handshake's ILLEGAL_SASL_STATE.
    assert.match((await kafkajsConnectError(s.broker, { sasl: { mechanism: 'plain', username: 'alice', password: 'x' } }))?.message ?? '', /SASL state/);
  } finally {
    await s.close();
  }
});
