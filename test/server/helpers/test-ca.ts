// Test helper: a throwaway certificate authority made with the openssl command line, with a server
// certificate for 127.0.0.1/localhost and client certificates, as PEM files in a temp directory (kcat
// reads files) and as strings (kafkajs and node:tls take contents). It signs; it serves nothing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PemPair {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

export interface TestCa {
  readonly dir: string;
  readonly caFile: string;
  readonly ca: string;
  readonly server: PemPair;
  /** Signs a client certificate for `subject` (openssl form, e.g. /O=Onelog Test/CN=alice). */
  client(name: string, subject: string): PemPair;
  remove(): void;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function pair(dir: string, name: string): PemPair {
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  return { certFile, keyFile, cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
}

function sign(dir: string, caName: string, name: string, subject: string, extensions: string): PemPair {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  return pair(dir, name);
}

/** A CA named `caName` (several can live in one directory, e.g. a trusted and a rogue one). */
export function makeTestCa(caName = 'ca', dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-ca-'))): TestCa {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${caName}.key`, '-out', `${caName}.pem`, '-days', '2', '-subj', `/CN=onelog ${caName}`]);
  const server = sign(dir, caName, `${caName}-server`, '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  return {
    dir,
    caFile: path.join(dir, `${caName}.pem`),
    ca: fs.readFileSync(path.join(dir, `${caName}.pem`), 'utf8'),
    server,
    client: (name, subject) => sign(dir, caName, `${caName}-${name}`, subject, 'extendedKeyUsage=clientAuth\n'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
