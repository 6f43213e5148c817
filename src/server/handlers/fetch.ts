// Fetch (key 1), versions 0-17: returns each requested partition's batches from the fetch offset exactly
// as stored (whole batches: an offset inside a batch returns that whole batch, as Kafka does), with
// highWatermark, lastStableOffset (= highWatermark: no transactions), logStartOffset, no aborted
// transactions and preferredReadReplica -1. Long poll: when fewer than minBytes are there and no partition
// has an error, it waits up to maxWaitMs for more records (ending early when the connection closes).
// Limits as in Kafka: partitionMaxBytes per partition and (v3+) maxBytes for the whole response, in request
// order, except that the first non-empty partition gets at least one whole batch even when larger (KIP-74,
// v3+); v0-v2 cut at the limits, leaving a partial message the client reports as too large. v0-v3 get the
// records down-converted to legacy messages (magic 0 for v0-v1, magic 1 for v2-v3, records before the fetch
// offset dropped), v4+ RecordBatch v2. A topic whose compression.type is zstd answers v0-v9 with
// UNSUPPORTED_COMPRESSION_TYPE, as Kafka does. Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, (v13+, topics
// by id) UNKNOWN_TOPIC_ID, OFFSET_OUT_OF_RANGE below logStartOffset or above highWatermark, and
// FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for a currentLeaderEpoch other than 0. There are no fetch
// sessions: every answer is a full response with sessionId 0 (what Kafka answers when it keeps no session);
// an incremental request (sessionEpoch other than 0 or -1) gets FETCH_SESSION_ID_NOT_FOUND, so the client
// starts over with a full one. isolationLevel, rackId and follower replica ids are accepted and ignored.
import { recordBatchesToLegacy, type LegacyMagic } from '../../format/legacy-message-set.ts';
import { LENGTH_OFFSET, LOG_OVERHEAD } from '../../format/record-batch.ts';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeFetchRequest,
  encodeFetchResponse,
  type FetchRequest,
  type FetchRequestFetchPartition,
  type FetchResponse,
  type FetchResponseFetchableTopicResponse,
  type FetchResponsePartitionData,
} from '../../protocol/generated/fetch.ts';
import type { DataWaitTarget, Engine, TopicInfo } from '../../storage/engine.ts';
import { topicCompression } from '../../storage/topic-rules.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';
import { checkCurrentLeaderEpoch } from '../leader-epoch.ts';

/** Kafka's READ_COMMITTED isolation level. */
const READ_COMMITTED = 1;

/** A requested partition: where to read, or the error it is answered with. */
type Resolved = { readonly topic: string; readonly partition: number; readonly offset: number; readonly maxBytes: number } | { readonly errorCode: number };

interface Round {
  readonly topics: FetchResponseFetchableTopicResponse[];
  readonly bytes: number;
  readonly failed: boolean;
  /** What to wait for before the next round: each readable partition past its current highWatermark. */
  readonly waitTargets: DataWaitTarget[];
}

/** The fixed fields a fetch reads under, per request version. */
interface Shape {
  readonly version: number;
  readonly abortedTransactions: [] | null;
  /** Legacy message magic for v0-v3, null for RecordBatch v2. */
  readonly legacyMagic: LegacyMagic | null;
  /** v0-v2: limits are hard (no KIP-74). */
  readonly hardLimits: boolean;
}

function partitionData(partitionIndex: number, errorCode: number, shape: Shape): FetchResponsePartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    divergingEpoch: { epoch: -1, endOffset: -1n },
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1n, epoch: -1 },
    abortedTransactions: shape.abortedTransactions,
    preferredReadReplica: -1,
    records: Buffer.alloc(0),
  };
}

function resolvePartition(info: TopicInfo | undefined, unknownTopic: number, p: FetchRequestFetchPartition, version: number): Resolved {
  if (info === undefined) return { errorCode: unknownTopic };
  if (p.partition < 0 || p.partition >= info.partitions) return { errorCode: ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION };
  const epochError = checkCurrentLeaderEpoch(p.currentLeaderEpoch);
  if (epochError !== ERROR_CODES.NONE) return { errorCode: epochError };
  if (version < 10 && topicCompression(info.configs) === 'zstd') return { errorCode: ERROR_CODES.UNSUPPORTED_COMPRESSION_TYPE };
  const offset = Number(p.fetchOffset);
  if (!Number.isSafeInteger(offset) || offset < 0) return { errorCode: ERROR_CODES.OFFSET_OUT_OF_RANGE };
  return { topic: info.name, partition: p.partition, offset, maxBytes: p.partitionMaxBytes };
}

/** Every requested partition resolved against the topics as they are now. */
function resolveAll(engine: Engine, request: FetchRequest, version: number): Resolved[][] {
  const byId = version >= 13 ? new Map(engine.listTopics().map((t) => [t.topicId, t])) : null;
  return request.topics.map((t) => {
    const info = byId === null ? engine.describeTopic(t.topic) : byId.get(t.topicId);
    const unknownTopic = byId === null ? ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION : ERROR_CODES.UNKNOWN_TOPIC_ID;
    return t.partitions.map((p) => resolvePartition(info, unknownTopic, p, version));
  });
}

/**
 * The legacy messages of `converted` at or past `fromOffset` that fit in `limit` bytes. The first message
 * goes through whole when over the limit if `minOne` (KIP-74), cut at the limit under hard limits (v0-v2,
 * as Kafka sends a partial message), else not at all.
 */
function trimLegacy(converted: Buffer, fromOffset: number, limit: number, minOne: boolean, hardLimits: boolean): Buffer {
  const sizeAt = (position: number): number => LOG_OVERHEAD + converted.readInt32BE(position + LENGTH_OFFSET);
  let start = 0;
  while (start < converted.length && Number(converted.readBigInt64BE(start)) < fromOffset) start += sizeAt(start);
  let end = start;
  while (end < converted.length && (end + sizeAt(end) - start <= limit || (minOne && end === start))) end += sizeAt(end);
  if (end === start && hardLimits) return converted.subarray(start, start + Math.max(limit, 0));
  return converted.subarray(start, end);
}

/** Reads one partition within `limit` bytes; `minOne` lets a first batch over the limit through. */
function readPartition(engine: Engine, target: Extract<Resolved, { topic: string }>, limit: number, minOne: boolean, shape: Shape, index: number): FetchResponsePartitionData {
  const data = partitionData(index, ERROR_CODES.NONE, shape);
  try {
    let records: Buffer;
    let highWatermark: number;
    let logStartOffset: number;
    if (limit <= 0 && !minOne) {
      // Nothing fits: only the offsets, without reading a batch that would be dropped.
      highWatermark = engine.highWatermark(target.topic, target.partition);
      logStartOffset = engine.logStartOffset(target.topic, target.partition);
      if (target.offset < logStartOffset || target.offset > highWatermark) return partitionData(index, ERROR_CODES.OFFSET_OUT_OF_RANGE, shape);
      records = Buffer.alloc(0);
    } else {
      const read = engine.read(target.topic, target.partition, target.offset, { maxBytes: Math.max(limit, 1) });
      ({ highWatermark, logStartOffset, records } = read);
      if (shape.legacyMagic !== null) {
        records = trimLegacy(recordBatchesToLegacy(records, shape.legacyMagic), target.offset, limit, minOne, shape.hardLimits);
      } else if (records.length > limit && !minOne) {
        records = Buffer.alloc(0);
      }
    }
    data.highWatermark = BigInt(highWatermark);
    data.lastStableOffset = BigInt(highWatermark);
    data.logStartOffset = BigInt(logStartOffset);
    data.records = records;
    return data;
  } catch (err) {
    return partitionData(index, kafkaErrorCode(err), shape);
  }
}

/** One pass over every requested partition, in request order, under the response limit. */
function readRound(engine: Engine, request: FetchRequest, resolved: Resolved[][], shape: Shape): Round {
  let remaining = shape.version >= 3 ? request.maxBytes : Number.POSITIVE_INFINITY;
  let minOne = !shape.hardLimits;
  let bytes = 0;
  let failed = false;
  const waitTargets: DataWaitTarget[] = [];
  const topics = request.topics.map((t, ti) => ({
    topic: t.topic,
    topicId: t.topicId,
    partitions: t.partitions.map((p, pi) => {
      const target = resolved[ti]![pi]!;
      if ('errorCode' in target) {
        failed = true;
        return partitionData(p.partition, target.errorCode, shape);
      }
      const data = readPartition(engine, target, Math.min(target.maxBytes, remaining), minOne, shape, p.partition);
      const size = data.records?.length ?? 0;
      if (data.errorCode !== ERROR_CODES.NONE) failed = true;
      else waitTargets.push({ topic: target.topic, partition: target.partition, offset: Number(data.highWatermark) });
      if (size > 0) {
        minOne = false;
        remaining -= size;
        bytes += size;
      }
      return data;
    }),
  }));
  return { topics, bytes, failed, waitTargets };
}

export const fetchHandler = defineHandler<FetchRequest, FetchResponse>({
  apiKey: API_KEYS.FETCH,
  minVersion: 0,
  maxVersion: 17,
  request: { decode: decodeFetchRequest },
  response: { encode: encodeFetchResponse },
  async handle(ctx, request) {
    const version = ctx.apiVersion;
    if (request.sessionEpoch !== 0 && request.sessionEpoch !== -1) {
      return { throttleTimeMs: 0, errorCode: ERROR_CODES.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [], nodeEndpoints: [] };
    }
    const { engine } = ctx.server;
    const shape: Shape = {
      version,
      abortedTransactions: request.isolationLevel === READ_COMMITTED ? [] : null,
      legacyMagic: version <= 1 ? 0 : version <= 3 ? 1 : null,
      hardLimits: version <= 2,
    };
    const resolved = resolveAll(engine, request, version);
    const deadline = Date.now() + request.maxWaitMs;
    for (;;) {
      const round = readRound(engine, request, resolved, shape);
      const waitMs = deadline - Date.now();
      if (round.failed || round.bytes >= request.minBytes || round.waitTargets.length === 0 || waitMs <= 0 || ctx.signal.aborted) {
        return {
          throttleTimeMs: 0,
          errorCode: ERROR_CODES.NONE,
          sessionId: 0,
          responses: round.topics,
          nodeEndpoints: [],
        };
      }
      // A failure (closed or failed engine, deleted topic) ends the wait: the next round reports it.
      await engine.waitForAny(round.waitTargets, waitMs, ctx.signal).catch(() => false);
    }
  },
});
