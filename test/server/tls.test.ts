// TLS and mTLS listeners of `onelog serve` with a CA made by the test: kafkajs and kcat produce and
// consume with client certificates, whose subject becomes the principal; a client without a certificate
// is refused at the handshake under clientAuth 'required', one with a certificate from another CA
// under 'requested'; plaintext and TLS listeners run side by side, each advertising its own port; the
// command line's --tls-* flags serve TLS alone; unusable PEM material is refused before listening.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { open } from '../../src/client/database.ts';
import { serve } from '../../src/server/server.ts';
import { kafkajsConnectError, kafkajsRoundTrip } from './helpers/kafkajs-roundtrip.ts';
import { runKcat } from './helpers/kcat-run.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';
import { makeTestCa, type PemPair, type TestCa } from './helpers/test-ca.ts';

let ca: TestCa;
let rogue: TestCa;
let alice: PemPair;
let mallory: PemPair;

before(() => {
  ca = makeTestCa('ca');
  rogue = makeTestCa('rogue', ca.dir);
  alice = ca.client('alice', '/C=US/O=Onelog Test/CN=alice');
  mallory = rogue.client('mallory', '/CN=mallory');
});
after(() => {
  ca.remove();
});

async function startTls(clientAuth: 'required' | 'requested' | 'none', withPlaintext = false): Promise<ServedDatabase & { readonly tlsBroker: string }> {
  const served = await startServer({
    serve: { ...(withPlaintext ? {} : { port: undefined }), tls: { cert: ca.server.cert, key: ca.server.key, ca: ca.ca, clientAuth, port: 0 } },
  });
  return { ...served, tlsBroker: `127.0.0.1:${String(served.server.tlsPort)}` };
}

/** A TLS handshake and one ApiVersions request: resolves with whether any answer came back. */
function tlsProbe(port: number, options: tls.ConnectionOptions): Promise<{ answered: boolean; error: string | null }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.ca, ...options }, () => {
      // ApiVersions v0, correlation id 1, client id "t".
      socket.write(Buffer.from([0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 1, 0, 1, 0x74]));
    });
    let error: string | null = null;
    socket.on('data', () => {
      socket.destroy();
      resolve({ answered: true, error });
    });
    socket.on('error', (err: Error) => (error = err.message));
    socket.on('close', () => resolve({ answered: false, error }));
  });
}

test('kafkajs produces and consumes over mTLS; the certificate subject is the principal', { timeout: 20_000 }, async () => {
  const served = await startTls('required');
  try {
    assert.equal(served.server.plaintextPort, null);
    assert.equal(served.server.port, served.server.tlsPort);
    const read = await kafkajsRoundTrip(served.tlsBroker, { ssl: { ca: [ca.ca], cert: alice.cert, key: alice.key } }, 'kafkajs-mtls');
    assert.deepEqual(read.sort(), ['kafkajs-mtls 0', 'kafkajs-mtls 1', 'kafkajs-mtls 2', 'kafkajs-mtls 3', 'kafkajs-mtls 4']);
    assert.ok(served.logLines.some((l) => l.includes('TLS client User:CN=alice,O=Onelog Test,C=US')), served.logLines.join('\n'));
  } finally {
    await served.close();
  }
});

test('kcat produces and consumes over mTLS', { timeout: 20_000 }, async () => {
  const served = await startTls('required');
  try {
    const ssl = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${ca.caFile}`, '-X', `ssl.certificate.location=${alice.certFile}`, '-X', `ssl.key.location=${alice.keyFile}`];
    const produced = await runKcat(served.tlsBroker, [...ssl, '-P', '-t', 'kcat-tls', '-p', '0'], 'one\ntwo\nthree\n');
    assert.equal(produced.code, 0, produced.stderr);
    const consumed = await runKcat(served.tlsBroker, [...ssl, '-C', '-t', 'kcat-tls', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.equal(consumed.stdout, 'one\ntwo\nthree\n');
  } finally {
    await served.close();
  }
});

test("clientAuth 'required': clients without a certificate or with another CA's are refused at the handshake", { timeout: 20_000 }, async () => {
  const served = await startTls('required');
  try {
    const port = served.server.tlsPort!;
    const bare = await tlsProbe(port, {});
    assert.equal(bare.answered, false);
    assert.match(bare.error ?? '', /certificate/i);
    assert.equal((await tlsProbe(port, { cert: mallory.cert, key: mallory.key })).answered, false);
    assert.equal((await tlsProbe(port, { cert: alice.cert, key: alice.key })).answered, true);
    const refused = await kafkajsConnectError(served.tlsBroker, { ssl: { ca: [ca.ca] } });
    assert.ok(refused !== null);
    const kcat = await runKcat(served.tlsBroker, ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${ca.caFile}`, '-L', '-m', '3'], '', 10_000);
    assert.notEqual(kcat.code, 0);
    assert.ok(served.logLines.some((l) => l.startsWith('TLS handshake with ')), served.logLines.join('\n'));
    // The server still serves the clients it should.
    assert.equal(await kafkajsConnectError(served.tlsBroker, { ssl: { ca: [ca.ca], cert: alice.cert, key: alice.key } }), null);
  } finally {
    await served.close();
  }
});

test("clientAuth 'requested': clients without a certificate are admitted, one from another CA is refused", async () => {
  const served = await startTls('requested');
  try {
    const port = served.server.tlsPort!;
    assert.equal((await tlsProbe(port, {})).answered, true);
    assert.equal((await tlsProbe(port, { cert: alice.cert, key: alice.key })).answered, true);
    assert.equal((await tlsProbe(port, { cert: mallory.cert, key: mallory.key })).answered, false);
    assert.ok(served.logLines.some((l) => l.includes('not signed by the trusted CA')), served.logLines.join('\n'));
  } finally {
    await served.close();
  }
});

test('plaintext and TLS listeners side by side share the file, each advertising its own port', { timeout: 20_000 }, async () => {
  const served = await startTls('none', true);
  try {
    assert.notEqual(served.server.plaintextPort, null);
    assert.notEqual(served.server.tlsPort, null);
    assert.equal(served.server.port, served.server.plaintextPort);
    const plain = new Kafka({ clientId: 'plain', brokers: [served.broker], logLevel: logLevel.NOTHING });
    const secure = new Kafka({ clientId: 'secure', brokers: [served.tlsBroker], logLevel: logLevel.NOTHING, ssl: { ca: [ca.ca] } });
    for (const [kafka, port] of [
      [plain, served.server.plaintextPort],
      [secure, served.server.tlsPort],
    ] as const) {
      const admin = kafka.admin();
      await admin.connect();
      const cluster = await admin.describeCluster();
      await admin.disconnect();
      assert.deepEqual(cluster.brokers.map((b) => b.port), [port]);
    }
    const producer = plain.producer();
    await producer.connect();
    await producer.send({ topic: 'side-by-side', messages: [{ value: 'over plaintext' }] });
    await producer.disconnect();
    const consumed = await runKcat(served.tlsBroker, ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${ca.caFile}`, '-C', '-t', 'side-by-side', '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.equal(consumed.stdout, 'over plaintext\n');
  } finally {
    await served.close();
  }
});

test('onelog serve --tls-cert/--tls-key/--tls-ca/--tls-client-auth/--tls-port: TLS only, mTLS with kcat', { timeout: 20_000 }, async () => {
  const file = path.join(ca.dir, 'cli.onelog');
  const args = ['serve', file, '--json', '--tls-port', '0', '--tls-cert', ca.server.certFile, '--tls-key', ca.server.keyFile, '--tls-ca', ca.caFile, '--tls-client-auth', 'required'];
  const child = spawn(process.execPath, [path.join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const listening = await new Promise<{ port: number; plaintextPort: number | null; tlsPort: number }>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const line = out.split('\n').find((l) => l.includes('"listening"'));
        if (line !== undefined) resolve(JSON.parse(line) as { port: number; plaintextPort: number | null; tlsPort: number });
      });
      void exited.then((code) => reject(new Error(`serve exited with ${String(code)}`)));
    });
    assert.equal(listening.plaintextPort, null);
    assert.equal(listening.port, listening.tlsPort);
    const broker = `127.0.0.1:${String(listening.tlsPort)}`;
    const ssl = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${ca.caFile}`];
    const withCert = await runKcat(broker, [...ssl, '-X', `ssl.certificate.location=${alice.certFile}`, '-X', `ssl.key.location=${alice.keyFile}`, '-L']);
    assert.equal(withCert.code, 0, withCert.stderr);
    assert.notEqual((await runKcat(broker, [...ssl, '-L', '-m', '2'], '', 10_000)).code, 0);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});

test('an unusable certificate or key, or client auth without a CA, is refused before listening', async () => {
  const db = await open(path.join(ca.dir, 'bad.onelog'));
  try {
    await assert.rejects(serve(db, { tls: { cert: 'not a certificate', key: ca.server.key, port: 0 } }), { code: 'INVALID_ARGUMENT', message: /not usable/ });
    await assert.rejects(serve(db, { tls: { cert: ca.server.cert, key: alice.key, port: 0 } }), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(serve(db, { tls: { cert: ca.server.cert, key: ca.server.key, clientAuth: 'required', port: 0 } }), { code: 'INVALID_ARGUMENT', message: /needs tls.ca/ });
  } finally {
    await db.close();
  }
});
