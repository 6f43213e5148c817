// SASL users stored in the file: each user is an engine document `user:NAME` holding salted SCRAM
// credentials (RFC 5802/7677: salt, iteration count, StoredKey, ServerKey per mechanism), never the
// password. It derives those keys and checks a clear password against them (for SASL/PLAIN), and adds,
// removes and lists users. It speaks no protocol: the server's SASL exchanges build on these keys.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { OnelogError } from '../errors.ts';
import type { Engine } from '../storage/engine.ts';

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/** Kafka's minimum (and kafka-configs' default) SCRAM iteration count. */
export const MIN_SCRAM_ITERATIONS = 4096;
const MAX_SCRAM_ITERATIONS = 1_000_000;
const SALT_BYTES = 32;
const MAX_NAME_LENGTH = 255;
const DOCUMENT_PREFIX = 'user:';

const pbkdf2Async = promisify(pbkdf2);

/** One mechanism's stored credential; binary fields are base64. */
export interface ScramCredential {
  readonly salt: string;
  readonly iterations: number;
  readonly storedKey: string;
  readonly serverKey: string;
}

export interface UserRecord {
  readonly name: string;
  readonly credentials: Readonly<Partial<Record<ScramMechanism, ScramCredential>>>;
}

export interface ScramHash {
  readonly digest: 'sha256' | 'sha512';
  readonly bytes: number;
}

export function scramHash(mechanism: ScramMechanism): ScramHash {
  return mechanism === 'SCRAM-SHA-256' ? { digest: 'sha256', bytes: 32 } : { digest: 'sha512', bytes: 64 };
}

export function isScramMechanism(value: string): value is ScramMechanism {
  return (SCRAM_MECHANISMS as readonly string[]).includes(value);
}

export function hmac(hash: ScramHash, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(hash.digest, key).update(data).digest();
}

export function digest(hash: ScramHash, data: Buffer): Buffer {
  return createHash(hash.digest).update(data).digest();
}

/** StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key"). */
function keysOf(hash: ScramHash, saltedPassword: Buffer): { storedKey: Buffer; serverKey: Buffer } {
  return { storedKey: digest(hash, hmac(hash, saltedPassword, 'Client Key')), serverKey: hmac(hash, saltedPassword, 'Server Key') };
}

/** A new credential for `password` with a fresh random salt. */
async function createScramCredential(mechanism: ScramMechanism, password: string, iterations = MIN_SCRAM_ITERATIONS): Promise<ScramCredential> {
  if (!Number.isSafeInteger(iterations) || iterations < MIN_SCRAM_ITERATIONS || iterations > MAX_SCRAM_ITERATIONS) {
    throw new OnelogError('INVALID_ARGUMENT', `SCRAM iterations must be an integer from ${MIN_SCRAM_ITERATIONS} to ${MAX_SCRAM_ITERATIONS}, got ${String(iterations)}.`);
  }
  const hash = scramHash(mechanism);
  const salt = randomBytes(SALT_BYTES);
  const { storedKey, serverKey } = keysOf(hash, await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, hash.bytes, hash.digest));
  return { salt: salt.toString('base64'), iterations, storedKey: storedKey.toString('base64'), serverKey: serverKey.toString('base64') };
}

/** Whether `password` derives the credential's StoredKey (constant-time comparison). */
export async function passwordMatches(mechanism: ScramMechanism, credential: ScramCredential, password: string): Promise<boolean> {
  const hash = scramHash(mechanism);
  const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), Buffer.from(credential.salt, 'base64'), credential.iterations, hash.bytes, hash.digest);
  const expected = Buffer.from(credential.storedKey, 'base64');
  const actual = keysOf(hash, salted).storedKey;
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function checkUserName(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new OnelogError('INVALID_ARGUMENT', `A user name must be 1 to ${MAX_NAME_LENGTH} characters without control characters, got ${JSON.stringify(name)}.`);
  }
  return name;
}

function isCredential(value: unknown): value is ScramCredential {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.salt === 'string' && typeof v.iterations === 'number' && typeof v.storedKey === 'string' && typeof v.serverKey === 'string';
}

function parseUser(name: string, value: unknown): UserRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stored = (value as Record<string, unknown>).credentials;
  if (typeof stored !== 'object' || stored === null) return undefined;
  const credentials: Partial<Record<ScramMechanism, ScramCredential>> = {};
  for (const mechanism of SCRAM_MECHANISMS) {
    const credential = (stored as Record<string, unknown>)[mechanism];
    if (isCredential(credential)) credentials[mechanism] = credential;
  }
  return { name, credentials };
}

/** The stored user, or undefined when there is none. */
export function readUser(engine: Engine, name: string): UserRecord | undefined {
  return parseUser(name, engine.readDocument(DOCUMENT_PREFIX + name));
}

/** Every user, by name. */
export function listUsers(engine: Engine): UserRecord[] {
  return engine
    .listDocuments(DOCUMENT_PREFIX)
    .map((key) => parseUser(key.slice(DOCUMENT_PREFIX.length), engine.readDocument(key)))
    .filter((u): u is UserRecord => u !== undefined);
}

/**
 * Adds the user, or replaces its password: the named mechanisms get fresh credentials; a mechanism not
 * named keeps no credential (so a password change never leaves an old one behind). Resolves with
 * whether the user existed.
 */
export async function setUser(engine: Engine, name: string, password: string, mechanisms: readonly ScramMechanism[] = SCRAM_MECHANISMS, iterations = MIN_SCRAM_ITERATIONS): Promise<{ readonly replaced: boolean }> {
  checkUserName(name);
  if (password.length === 0) throw new OnelogError('INVALID_ARGUMENT', 'The password is empty.');
  if (mechanisms.length === 0) throw new OnelogError('INVALID_ARGUMENT', 'Name at least one SCRAM mechanism.');
  const credentials: Partial<Record<ScramMechanism, ScramCredential>> = {};
  for (const mechanism of mechanisms) credentials[mechanism] = await createScramCredential(mechanism, password, iterations);
  return engine.updateDocument(DOCUMENT_PREFIX + name, (current) => ({ value: { credentials }, result: { replaced: current !== undefined } }));
}

/** Removes the user; resolves with whether it existed. */
export async function removeUser(engine: Engine, name: string): Promise<boolean> {
  checkUserName(name);
  return engine.updateDocument(DOCUMENT_PREFIX + name, (current) => ({ value: undefined, result: current !== undefined }));
}
