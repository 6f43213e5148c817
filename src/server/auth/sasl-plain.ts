// SASL/PLAIN (RFC 4616) on the server: one client token `authzid NUL user NUL password`, checked against
// the user's stored SCRAM credential (the password is run through that credential's salt and
// iterations and the StoredKeys compared), so PLAIN needs no clear password stored anywhere. An
// authorization id other than the user is refused, as Kafka does.
import { MIN_SCRAM_ITERATIONS, passwordMatches, SCRAM_MECHANISMS, type ScramCredential, type UserRecord } from '../../client/users.ts';
import { invalidCredentials, type SaslExchange } from './sasl-exchange.ts';

/** Checked when the user is unknown, so both failures take the same time. */
const DECOY: ScramCredential = { salt: Buffer.alloc(32).toString('base64'), iterations: MIN_SCRAM_ITERATIONS, storedKey: '', serverKey: '' };

export function plainExchange(lookup: (user: string) => UserRecord | undefined): SaslExchange {
  let used = false;
  return {
    async step(token) {
      if (used) return { kind: 'failed', message: 'SASL/PLAIN takes a single token' };
      used = true;
      const parts = token.toString('utf8').split('\u0000');
      if (parts.length !== 3) return { kind: 'failed', message: 'Invalid SASL/PLAIN token: expected authzid NUL username NUL password' };
      const [authzid, user, password] = parts as [string, string, string];
      if (user.length === 0) return { kind: 'failed', message: 'Invalid SASL/PLAIN token: empty username' };
      if (authzid.length > 0 && authzid !== user) return { kind: 'failed', message: 'Authentication failed: the authorization id differs from the username' };
      const record = lookup(user);
      const mechanism = SCRAM_MECHANISMS.find((m) => record?.credentials[m] !== undefined);
      const credential = mechanism === undefined ? undefined : record?.credentials[mechanism];
      const matches = await passwordMatches(mechanism ?? 'SCRAM-SHA-256', credential ?? DECOY, password);
      return matches && credential !== undefined ? { kind: 'done', token: Buffer.alloc(0), user } : invalidCredentials('PLAIN');
    },
  };
}
