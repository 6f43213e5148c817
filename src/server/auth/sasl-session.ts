// The SASL state of one connection (Kafka's SaslServerAuthenticator, reduced): handshake → authenticate
// (Kafka-framed SaslAuthenticate requests after SaslHandshake v1, raw size-prefixed tokens after v0) →
// authenticated, or failed (the connection then closes after the failed-authentication delay). It
// decides which requests a connection may run, answers the two SASL APIs for their handlers, and
// accepts re-authentication (KIP-368: a new handshake on an authenticated connection, same mechanism
// and principal).
import { isScramMechanism, readUser } from '../../client/users.ts';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import type { SaslAuthenticateResponse } from '../../protocol/generated/sasl-authenticate.ts';
import type { SaslHandshakeResponse } from '../../protocol/generated/sasl-handshake.ts';
import type { Engine } from '../../storage/engine.ts';
import { plainExchange } from './sasl-plain.ts';
import type { SaslExchange } from './sasl-exchange.ts';
import { scramExchange } from './scram.ts';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export function isSaslMechanism(value: string): value is SaslMechanism {
  return (SASL_MECHANISMS as readonly string[]).includes(value);
}

export interface SaslSettings {
  /** Mechanisms offered, in the order SaslHandshake lists them. */
  readonly mechanisms: readonly SaslMechanism[];
  /** SaslAuthenticate's sessionLifetimeMs; 0 = sessions never expire (Kafka's connections.max.reauth.ms). */
  readonly sessionLifetimeMs: number;
}

type State = 'handshake' | 'authenticate' | 'authenticated' | 'failed';

const AUTH_APIS: ReadonlySet<number> = new Set([API_KEYS.SASL_HANDSHAKE, API_KEYS.SASL_AUTHENTICATE]);

export class SaslSession {
  readonly #settings: SaslSettings;
  readonly #engine: Engine;
  readonly #peer: string;
  readonly #log: (line: string) => void;
  #state: State = 'handshake';
  /** Tokens come as raw size-prefixed frames (SaslHandshake v0). */
  #raw = false;
  #mechanism: SaslMechanism | null = null;
  #exchange: SaslExchange | null = null;
  /** Set once authenticated; kept while re-authenticating. */
  #principal: string | null = null;
  #expiresAt: number | null = null;

  constructor(settings: SaslSettings, engine: Engine, peer: string, log: (line: string) => void) {
    this.#settings = settings;
    this.#engine = engine;
    this.#peer = peer;
    this.#log = log;
  }

  /** The authenticated principal (`User:NAME`), or null before authentication. */
  get principal(): string | null {
    return this.#principal;
  }

  /** Whether the connection may answer several requests at once (only once authenticated). */
  get pipelined(): boolean {
    return this.#principal !== null && this.#state !== 'failed';
  }

  get failed(): boolean {
    return this.#state === 'failed';
  }

  /** Whether the next frame is a raw SASL token rather than a Kafka request. */
  get expectsRawToken(): boolean {
    return this.#raw && this.#state === 'authenticate';
  }

  /** Why a request of this API may not run now (the connection closes), or null when it may. */
  refusal(apiKey: number): string | null {
    if (this.#principal === null) {
      if (AUTH_APIS.has(apiKey) || (apiKey === API_KEYS.API_VERSIONS && this.#state === 'handshake')) return null;
      return `API key ${apiKey} before SASL authentication`;
    }
    if (this.#expiresAt !== null && Date.now() >= this.#expiresAt && !AUTH_APIS.has(apiKey)) return `the SASL session of ${this.#principal} expired`;
    return null;
  }

  handshake(mechanism: string, version: number): SaslHandshakeResponse {
    const mechanisms = [...this.#settings.mechanisms];
    if (this.#state === 'authenticated' && version >= 1) {
      if (!isSaslMechanism(mechanism) || mechanism !== this.#mechanism) {
        return this.#fail({ errorCode: ERROR_CODES.UNSUPPORTED_SASL_MECHANISM, mechanisms }, `re-authentication with ${mechanism} instead of ${this.#mechanism ?? ''}`);
      }
      this.#raw = false;
      this.#begin(mechanism);
      return { errorCode: ERROR_CODES.NONE, mechanisms };
    }
    if (this.#state !== 'handshake') return this.#illegal({ errorCode: ERROR_CODES.ILLEGAL_SASL_STATE, mechanisms }, 'SaslHandshake');
    if (!isSaslMechanism(mechanism) || !this.#settings.mechanisms.includes(mechanism)) {
      return this.#fail({ errorCode: ERROR_CODES.UNSUPPORTED_SASL_MECHANISM, mechanisms }, `unsupported SASL mechanism ${JSON.stringify(mechanism)}`);
    }
    this.#raw = version === 0;
    this.#begin(mechanism);
    return { errorCode: ERROR_CODES.NONE, mechanisms };
  }

  async authenticate(token: Uint8Array): Promise<SaslAuthenticateResponse> {
    const answer = (errorCode: number, errorMessage: string | null, authBytes: Uint8Array, sessionLifetimeMs = 0n): SaslAuthenticateResponse => ({ errorCode, errorMessage, authBytes, sessionLifetimeMs });
    if (this.#state !== 'authenticate' || this.#raw) {
      return this.#illegal(answer(ERROR_CODES.ILLEGAL_SASL_STATE, 'SaslAuthenticate is not expected now: send SaslHandshake v1 first', new Uint8Array(0)), 'SaslAuthenticate');
    }
    const step = await this.#exchange!.step(Buffer.from(token.buffer, token.byteOffset, token.byteLength));
    if (step.kind === 'continue') return answer(ERROR_CODES.NONE, null, step.token);
    if (step.kind === 'failed') return this.#fail(answer(ERROR_CODES.SASL_AUTHENTICATION_FAILED, step.message, new Uint8Array(0)), step.message);
    const refused = this.#complete(step.user);
    if (refused !== null) return this.#fail(answer(ERROR_CODES.SASL_AUTHENTICATION_FAILED, refused, new Uint8Array(0)), refused);
    return answer(ERROR_CODES.NONE, null, step.token, BigInt(this.#settings.sessionLifetimeMs));
  }

  /** Answers one raw token (after SaslHandshake v0): the size-prefixed reply, or null when it failed. */
  async rawToken(token: Buffer): Promise<Buffer | null> {
    const step = await this.#exchange!.step(token);
    if (step.kind === 'failed') return this.#fail(null, step.message);
    if (step.kind === 'done') {
      const refused = this.#complete(step.user);
      if (refused !== null) return this.#fail(null, refused);
    }
    const frame = Buffer.alloc(4 + step.token.length);
    frame.writeInt32BE(step.token.length, 0);
    step.token.copy(frame, 4);
    return frame;
  }

  #begin(mechanism: SaslMechanism): void {
    const lookup = (user: string): ReturnType<typeof readUser> => readUser(this.#engine, user);
    this.#mechanism = mechanism;
    this.#exchange = isScramMechanism(mechanism) ? scramExchange(mechanism, lookup) : plainExchange(lookup);
    this.#state = 'authenticate';
  }

  /** Ends a successful exchange; a refusal message when re-authentication changed the principal. */
  #complete(user: string): string | null {
    const principal = `User:${user}`;
    if (this.#principal !== null && this.#principal !== principal) return `Authentication failed: re-authentication may not change the principal ${this.#principal}`;
    const lifetime = this.#settings.sessionLifetimeMs;
    this.#expiresAt = lifetime > 0 ? Date.now() + lifetime : null;
    if (this.#principal === null) this.#log(`connection ${this.#peer}: authenticated as ${principal} (${this.#mechanism ?? ''})`);
    this.#principal = principal;
    this.#state = 'authenticated';
    this.#exchange = null;
    return null;
  }

  #fail<T>(response: T, reason: string): T {
    this.#state = 'failed';
    this.#exchange = null;
    this.#log(`connection ${this.#peer}: SASL authentication failed: ${reason}`);
    return response;
  }

  /** A SASL request out of order: fatal before authentication (as in Kafka), answered only after it. */
  #illegal<T>(response: T, api: string): T {
    return this.#principal === null ? this.#fail(response, `${api} out of order`) : response;
  }
}
