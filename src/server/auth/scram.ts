// SASL/SCRAM-SHA-256 and SCRAM-SHA-512 on the server (RFC 5802, RFC 7677), without channel binding:
// client-first → server-first (combined nonce, the stored salt and iterations) → client-final, whose
// proof is checked against the stored StoredKey → server-final (the server signature). An unknown
// user gets a decoy salt derived from a per-server secret and fails only at the proof, so the exchange
// does not reveal which users exist. The `tokenauth` extension (delegation tokens) is refused. As in
// Kafka, the nonce echoed in client-final only has to end with the combined nonce.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { digest, hmac, MIN_SCRAM_ITERATIONS, scramHash, type ScramCredential, type ScramMechanism, type UserRecord } from '../../client/users.ts';
import { invalidCredentials, type SaslExchange, type SaslStep } from './sasl-exchange.ts';

/** Secret of this process for decoy salts of unknown users. */
const DECOY_SECRET = randomBytes(32);

interface ClientFirst {
  readonly gs2Header: string;
  readonly bare: string;
  readonly user: string;
  readonly nonce: string;
}

function failed(message: string): SaslStep {
  return { kind: 'failed', message };
}

/** RFC 5802 saslname: `=2C` is ',' and `=3D` is '='; every other '=' is malformed. */
function decodeSaslName(name: string): string | null {
  if (/=(?!2C|3D)/.test(name)) return null;
  return name.replaceAll('=2C', ',').replaceAll('=3D', '=');
}

/** `key=value` attributes of a SCRAM message, in order. */
function attributes(message: string): [string, string][] | null {
  const out: [string, string][] = [];
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 1) return null;
    out.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  return out;
}

function parseClientFirst(message: string): ClientFirst | string {
  const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(message);
  if (m === null) return 'malformed client-first message';
  const cbind = m[1]!;
  const authz = m[2];
  const bare = m[3]!;
  if (cbind.startsWith('p=')) return 'channel binding is not supported';
  const attrs = attributes(bare);
  if (attrs === null || attrs.length < 2 || attrs[0]![0] !== 'n' || attrs[1]![0] !== 'r' || attrs[1]![1].length === 0) return 'malformed client-first message';
  const user = decodeSaslName(attrs[0]![1]);
  if (user === null || user.length === 0) return 'malformed user name';
  if (authz !== undefined && decodeSaslName(authz.slice(2)) !== user) return 'the authorization id differs from the username';
  if (attrs.slice(2).some(([k, v]) => k === 'tokenauth' && v === 'true')) return 'delegation tokens are not supported';
  return { gs2Header: message.slice(0, message.length - bare.length), bare, user, nonce: attrs[1]![1] };
}

function decoyCredential(mechanism: ScramMechanism, user: string): ScramCredential {
  const hash = scramHash(mechanism);
  return {
    salt: hmac(hash, DECOY_SECRET, `salt:${user}`).subarray(0, 32).toString('base64'),
    iterations: MIN_SCRAM_ITERATIONS,
    storedKey: '',
    serverKey: '',
  };
}

export function scramExchange(mechanism: ScramMechanism, lookup: (user: string) => UserRecord | undefined): SaslExchange {
  const hash = scramHash(mechanism);
  let state: { readonly first: ClientFirst; readonly serverFirst: string; readonly nonce: string; readonly credential: ScramCredential | undefined } | 'start' | 'over' = 'start';
  return {
    step(token): Promise<SaslStep> {
      const message = token.toString('utf8');
      if (state === 'start') {
        const first = parseClientFirst(message);
        if (typeof first === 'string') {
          state = 'over';
          return Promise.resolve(failed(`Authentication failed: ${first}`));
        }
        const credential = lookup(first.user)?.credentials[mechanism];
        const shown = credential ?? decoyCredential(mechanism, first.user);
        const nonce = first.nonce + randomBytes(24).toString('base64');
        const serverFirst = `r=${nonce},s=${shown.salt},i=${String(shown.iterations)}`;
        state = { first, serverFirst, nonce, credential };
        return Promise.resolve({ kind: 'continue', token: Buffer.from(serverFirst, 'utf8') });
      }
      if (state === 'over') return Promise.resolve(failed('Authentication failed: the SCRAM exchange is over'));
      const { first, serverFirst, nonce, credential } = state;
      state = 'over';
      const proofAt = message.lastIndexOf(',p=');
      const attrs = proofAt < 0 ? null : attributes(message.slice(0, proofAt));
      if (attrs === null || attrs.length < 2 || attrs[0]![0] !== 'c' || attrs[1]![0] !== 'r') return Promise.resolve(failed('Authentication failed: malformed client-final message'));
      if (Buffer.from(attrs[0]![1], 'base64').toString('utf8') !== first.gs2Header) return Promise.resolve(failed('Authentication failed: channel binding data differs from the first message'));
      // Kafka checks only that the echoed nonce ends with the combined one: librdkafka 2.0 repeats the
      // client nonce in front. The server's fresh part is still required, and the proof covers it.
      if (!attrs[1]![1].endsWith(nonce)) return Promise.resolve(failed('Authentication failed: nonce mismatch'));
      if (credential === undefined) return Promise.resolve(invalidCredentials(mechanism));
      const authMessage = `${first.bare},${serverFirst},${message.slice(0, proofAt)}`;
      const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
      const storedKey = Buffer.from(credential.storedKey, 'base64');
      const signature = hmac(hash, storedKey, authMessage);
      if (proof.length !== signature.length) return Promise.resolve(invalidCredentials(mechanism));
      const clientKey = Buffer.alloc(proof.length);
      for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
      const computed = digest(hash, clientKey);
      if (computed.length !== storedKey.length || !timingSafeEqual(computed, storedKey)) return Promise.resolve(invalidCredentials(mechanism));
      const serverSignature = hmac(hash, Buffer.from(credential.serverKey, 'base64'), authMessage);
      return Promise.resolve({ kind: 'done', token: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), user: first.user });
    },
  };
}
