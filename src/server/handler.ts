// The contract between the connection loop and the per-API handlers: what a handler gets (the server's
// shared state and the request's header) and the shape every handler file exports via defineHandler,
// which ties an API key and its served version range to the generated request decoder and response
// encoder. It decodes, calls the handler and encodes; it does no socket I/O and no logging itself.
import type { Database } from '../client/database.ts';
import type { GroupCoordinator } from '../client/group-coordinator.ts';
import type { MessageCodec } from '../protocol/codec.ts';
import { encodeResponseFrame } from '../protocol/frame.ts';
import type { RequestHeader } from '../protocol/generated/headers.ts';
import type { Reader } from '../protocol/reader.ts';
import type { Writer } from '../protocol/writer.ts';
import type { Engine } from '../storage/engine.ts';
import type { SaslSession } from './auth/sasl-session.ts';

/** The single node every partition is led by. */
export const NODE_ID = 0;

/** State shared by every connection of one server. */
export interface ServerContext {
  readonly db: Database;
  readonly engine: Engine;
  readonly coordinator: GroupCoordinator;
  /** Host and port clients are told to connect to (Metadata, FindCoordinator, DescribeCluster). */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  /** Kafka's auto.create.topics.enable: Metadata (and Produce) create unknown topics. */
  readonly autoCreateTopics: boolean;
  /** Partitions of an auto-created topic or of CreateTopics with numPartitions -1 (Kafka's num.partitions). */
  readonly numPartitions: number;
  /** Every handler's API key and version range, for ApiVersions. */
  readonly apis: readonly ServedApi[];
  readonly log: (line: string) => void;
}

/** One request as a handler sees it. */
export interface RequestContext {
  readonly server: ServerContext;
  readonly header: RequestHeader;
  readonly apiVersion: number;
  /** Aborted when the connection closes: long waits (Fetch, JoinGroup) end early. */
  readonly signal: AbortSignal;
  /** The peer's address as the connection saw it (for group member descriptions). */
  readonly clientHost: string;
  /** The connection's SASL state on a listener with SASL, else null (SaslHandshake/SaslAuthenticate use it). */
  readonly sasl: SaslSession | null;
}

export interface ServedApi {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** A handler, erased to bytes: decodes the body, answers, and encodes a whole response frame. */
export interface Handler extends ServedApi {
  /** The response frame, or null when the request expects none (Produce with acks=0). */
  respond(ctx: RequestContext, body: Reader): Promise<Buffer | null>;
}

export interface HandlerSpec<Req, Res> extends ServedApi {
  readonly request: Pick<MessageCodec<Req>, 'decode'>;
  readonly response: Pick<MessageCodec<Res>, 'encode'>;
  /** Must not throw for anything a client can send: failures become Kafka error codes in the response. */
  handle(ctx: RequestContext, request: Req): Promise<Res | null> | Res | null;
}

export function defineHandler<Req, Res>(spec: HandlerSpec<Req, Res>): Handler {
  return {
    apiKey: spec.apiKey,
    minVersion: spec.minVersion,
    maxVersion: spec.maxVersion,
    async respond(ctx: RequestContext, body: Reader): Promise<Buffer | null> {
      const request = spec.request.decode(body, ctx.apiVersion);
      const response = await spec.handle(ctx, request);
      if (response === null) return null;
      return encodeResponseFrame(spec.apiKey, ctx.apiVersion, ctx.header.correlationId, (w: Writer) => {
        spec.response.encode(w, response, ctx.apiVersion);
      });
    },
  };
}
