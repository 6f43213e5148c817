// The shape every SASL mechanism's server side takes: an exchange fed the client's tokens one at a
// time, answering with the next server token, success (the authenticated user name) or failure (a
// message safe to send to the client: it never says whether the user exists). No I/O of its own.

export type SaslStep =
  | { readonly kind: 'continue'; readonly token: Buffer }
  | { readonly kind: 'done'; readonly token: Buffer; readonly user: string }
  | { readonly kind: 'failed'; readonly message: string };

export interface SaslExchange {
  step(token: Buffer): Promise<SaslStep>;
}

export function invalidCredentials(mechanism: string): SaslStep {
  return { kind: 'failed', message: `Authentication failed: invalid credentials with SASL mechanism ${mechanism}` };
}
