// One client connection of the Kafka server: splits the byte stream into size-prefixed frames, hands
// each to its API's handler, and writes the responses back in request order, as Kafka guarantees.
// Memory per connection is bounded: a frame over the cap closes the connection before it is buffered,
// at most `maxInFlight` requests run at once (reading pauses beyond that), and reading also pauses while
// the socket's send buffer is over its high-water mark. Malformed bytes, unknown APIs and unsupported
// versions close this connection with a log line, never the server; so does idleness past the idle
// timeout. On a SASL listener its SaslSession gates requests: one at a time and only the SASL APIs (and
// ApiVersions) until authenticated, raw token frames after SaslHandshake v0, a smaller frame cap
// before authentication, and a close after the failed-authentication delay once authentication
// failed. It knows nothing else of an API's meaning: ApiVersions' version fallback is the only API it
// names.
import type { Socket } from 'node:net';
import { isOnelogError } from '../errors.ts';
import { ERROR_CODES } from '../protocol/error-codes.ts';
import { API_KEYS } from '../protocol/generated/api-keys.ts';
import { encodeApiVersionsResponse } from '../protocol/generated/api-versions.ts';
import { decodeRequestFrame, encodeResponseFrame } from '../protocol/frame.ts';
import { SaslSession, type SaslSettings } from './auth/sasl-session.ts';
import type { Handler, RequestContext, ServerContext } from './handler.ts';
import { apiVersionsResponse } from './handlers/api-versions.ts';

export interface ConnectionLimits {
  /** Largest request frame accepted, in bytes (size prefix excluded). */
  readonly maxFrameBytes: number;
  /** Requests of one connection being answered at once; reading pauses at this many. */
  readonly maxInFlight: number;
  /** A connection with nothing in flight and no bytes in or out for this long is closed. */
  readonly idleTimeoutMs: number;
  /** After failed SASL authentication, the connection is closed this long after the answer. */
  readonly failedAuthDelayMs: number;
}

/** Largest frame before SASL authentication completes (Kafka's sasl.server.max.receive.size). */
const MAX_UNAUTHENTICATED_FRAME_BYTES = 512 * 1024;

/** The smallest request header: apiKey, apiVersion, correlationId, clientId length. */
const MIN_FRAME_BYTES = 10;

/** Closes the connection: the peer broke the protocol (the message says how). */
class ProtocolViolation extends Error {}

interface InFlight {
  result: Buffer | null | undefined;
  done: boolean;
}

export class Connection {
  readonly #socket: Socket;
  readonly #server: ServerContext;
  readonly #handlers: ReadonlyMap<number, Handler>;
  readonly #limits: ConnectionLimits;
  readonly #peer: string;
  readonly #abort = new AbortController();
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  readonly #queue: InFlight[] = [];
  readonly #sasl: SaslSession | null;
  readonly #idleTimer: NodeJS.Timeout;
  #failedAuthTimer: NodeJS.Timeout | null = null;
  #readPaused = false;
  #closed = false;

  constructor(socket: Socket, server: ServerContext, handlers: ReadonlyMap<number, Handler>, limits: ConnectionLimits, sasl: SaslSettings | null) {
    this.#socket = socket;
    this.#server = server;
    this.#handlers = handlers;
    this.#limits = limits;
    this.#peer = `${socket.remoteAddress ?? '?'}:${String(socket.remotePort ?? '?')}`;
    this.#sasl = sasl === null ? null : new SaslSession(sasl, server.engine, this.#peer, server.log);
    this.#idleTimer = setTimeout(() => {
      this.#onIdle();
    }, limits.idleTimeoutMs).unref();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on('drain', () => {
      this.#pump();
    });
    socket.on('error', (err) => {
      if (!this.#closed) this.#server.log(`connection ${this.#peer}: ${err.message}`);
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#stopTimers();
      this.#abort.abort();
    });
  }

  /** Ends the connection at once (server shutdown). */
  destroy(): void {
    this.#close(null);
  }

  #close(reason: string | null): void {
    if (this.#closed) return;
    this.#closed = true;
    if (reason !== null) this.#server.log(`closing connection ${this.#peer}: ${reason}`);
    this.#stopTimers();
    this.#abort.abort();
    this.#chunks.length = 0;
    this.#buffered = 0;
    this.#socket.destroy();
  }

  #stopTimers(): void {
    clearTimeout(this.#idleTimer);
    if (this.#failedAuthTimer !== null) clearTimeout(this.#failedAuthTimer);
  }

  #onIdle(): void {
    if (this.#closed) return;
    if (this.#queue.length > 0) this.#idleTimer.refresh();
    else this.#close(`idle for more than ${this.#limits.idleTimeoutMs} ms`);
  }

  /** Requests that may run at once: one until SASL authentication completes. */
  #inFlightLimit(): number {
    return this.#sasl === null || this.#sasl.pipelined ? this.#limits.maxInFlight : 1;
  }

  #onData(chunk: Buffer): void {
    if (this.#closed || this.#failedAuthTimer !== null) return;
    this.#idleTimer.refresh();
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#pump();
  }

  /** Dispatches buffered whole frames while fewer than maxInFlight requests are being answered. */
  #pump(): void {
    try {
      while (this.#queue.length < this.#inFlightLimit() && this.#sasl?.failed !== true) {
        const frame = this.#nextFrame();
        if (frame === null) break;
        this.#dispatch(frame);
      }
    } catch (err) {
      this.#close(err instanceof ProtocolViolation ? err.message : String(err));
      return;
    }
    this.#updateReading();
  }

  /** The next whole frame without its size prefix, or null until more bytes arrive. */
  #nextFrame(): Buffer | null {
    if (this.#buffered < 4) return null;
    if (this.#chunks[0]!.length < 4) this.#merge(4);
    const size = this.#chunks[0]!.readInt32BE(0);
    const min = this.#sasl?.expectsRawToken === true ? 0 : MIN_FRAME_BYTES;
    const max = this.#sasl !== null && this.#sasl.principal === null ? Math.min(MAX_UNAUTHENTICATED_FRAME_BYTES, this.#limits.maxFrameBytes) : this.#limits.maxFrameBytes;
    if (size < min || size > max) {
      throw new ProtocolViolation(`frame size ${size} is outside ${min}..${max} bytes`);
    }
    if (this.#buffered < 4 + size) return null;
    this.#merge(4 + size);
    const first = this.#chunks[0]!;
    const frame = first.subarray(4, 4 + size);
    if (first.length === 4 + size) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(4 + size);
    this.#buffered -= 4 + size;
    return frame;
  }

  /** Joins leading chunks until the first holds at least `bytes` bytes (all of them are buffered). */
  #merge(bytes: number): void {
    let count = 0;
    let length = 0;
    while (length < bytes) length += this.#chunks[count++]!.length;
    if (count > 1) this.#chunks.splice(0, count, Buffer.concat(this.#chunks.slice(0, count), length));
  }

  #dispatch(frame: Buffer): void {
    const entry: InFlight = { result: undefined, done: false };
    this.#queue.push(entry);
    this.#answer(frame).then(
      (result) => {
        entry.result = result;
        entry.done = true;
        this.#flush();
      },
      (err: unknown) => {
        this.#close(err instanceof ProtocolViolation || isOnelogError(err) ? err.message : `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      },
    );
  }

  async #answer(frame: Buffer): Promise<Buffer | null> {
    if (this.#sasl?.expectsRawToken === true) return this.#sasl.rawToken(frame);
    const { header, body } = decodeRequestFrame(frame);
    const refusal = this.#sasl?.refusal(header.requestApiKey) ?? null;
    if (refusal !== null) throw new ProtocolViolation(refusal);
    const handler = this.#handlers.get(header.requestApiKey);
    if (handler === undefined) throw new ProtocolViolation(`API key ${header.requestApiKey} is not served`);
    const version = header.requestApiVersion;
    if (version < handler.minVersion || version > handler.maxVersion) {
      if (header.requestApiKey === API_KEYS.API_VERSIONS) return this.#unsupportedApiVersions(header.correlationId);
      throw new ProtocolViolation(`API key ${header.requestApiKey} version ${version} is not served (${handler.minVersion}-${handler.maxVersion})`);
    }
    const ctx: RequestContext = { server: this.#server, header, apiVersion: version, signal: this.#abort.signal, clientHost: this.#socket.remoteAddress ?? '', sasl: this.#sasl };
    return handler.respond(ctx, body);
  }

  /** Kafka's answer to an ApiVersions version it does not know: v0, UNSUPPORTED_VERSION, the API list. */
  #unsupportedApiVersions(correlationId: number): Buffer {
    return encodeResponseFrame(API_KEYS.API_VERSIONS, 0, correlationId, (w) => {
      encodeApiVersionsResponse(w, apiVersionsResponse(this.#server.apis, ERROR_CODES.UNSUPPORTED_VERSION), 0);
    });
  }

  /** Writes every finished response at the head of the queue, keeping request order. */
  #flush(): void {
    if (this.#closed) return;
    while (this.#queue.length > 0 && this.#queue[0]!.done) {
      const { result } = this.#queue.shift()!;
      if (result !== null && result !== undefined) this.#socket.write(result);
      this.#idleTimer.refresh();
    }
    if (this.#sasl?.failed === true && this.#queue.length === 0) this.#closeAfterFailedAuth();
    else this.#pump();
  }

  /** Stops reading and closes after the failed-authentication delay (the answer is already written). */
  #closeAfterFailedAuth(): void {
    if (this.#failedAuthTimer !== null) return;
    this.#socket.pause();
    this.#readPaused = true;
    this.#failedAuthTimer = setTimeout(() => {
      this.#close('SASL authentication failed');
    }, this.#limits.failedAuthDelayMs);
  }

  #updateReading(): void {
    if (this.#closed) return;
    const pause = this.#queue.length >= this.#inFlightLimit() || this.#socket.writableNeedDrain;
    if (pause && !this.#readPaused) this.#socket.pause();
    if (!pause && this.#readPaused) this.#socket.resume();
    this.#readPaused = pause;
  }
}
