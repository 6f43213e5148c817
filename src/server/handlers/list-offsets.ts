// ListOffsets (key 2), versions 0-10: per partition, the offset for a timestamp: -1 latest (the
// highWatermark), -2 earliest (logStartOffset), -3 the first record with the largest timestamp (KIP-734),
// -4 earliest local (= earliest: all of the log is local), -5 latest tiered (offset -1 and timestamp -1,
// Kafka's answer without tiered storage), and every other value the first record whose timestamp is at
// or after it (offset and timestamp -1 when there is none). Found offsets carry leader epoch 0.
// v0 answers in the old shape, a list of at most maxNumOffsets offsets: Kafka lists segment start offsets
// there; onelog has no segments, so latest answers [highWatermark, logStartOffset] (as a one-segment Kafka
// log does), earliest [logStartOffset] and a timestamp the v1 answer's offset (none when nothing matched).
// isolationLevel is ignored (no transactions: the last stable offset is the highWatermark). Errors per
// partition: UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for a currentLeaderEpoch
// other than 0 (v4+), INVALID_REQUEST for a partition asked for twice (v1+), as Kafka answers.
import { batchTotalSize, readBatchHeader } from '../../format/record-batch.ts';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeListOffsetsRequest,
  encodeListOffsetsResponse,
  type ListOffsetsRequest,
  type ListOffsetsRequestListOffsetsPartition,
  type ListOffsetsResponse,
  type ListOffsetsResponseListOffsetsPartitionResponse,
} from '../../protocol/generated/list-offsets.ts';
import type { Engine, OffsetForTimestamp } from '../../storage/engine.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';
import { checkCurrentLeaderEpoch, LEADER_EPOCH } from '../leader-epoch.ts';

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;

/** Bytes read at a time while scanning for the largest timestamp. */
const SCAN_CHUNK_BYTES = 1024 * 1024;

/** The answer when no offset matches: offset and timestamp -1 (and leader epoch -1). */
const NONE_FOUND: OffsetForTimestamp = { offset: -1, timestamp: -1 };

/** The first record holding the partition's largest timestamp, scanning batch headers from logStartOffset. */
function maxTimestamp(engine: Engine, topic: string, partition: number): OffsetForTimestamp | null {
  let offset = engine.logStartOffset(topic, partition);
  let largest: number | null = null;
  for (;;) {
    const read = engine.read(topic, partition, offset, { maxBytes: SCAN_CHUNK_BYTES });
    if (read.records.length === 0) break;
    for (let position = 0; position < read.records.length; position += batchTotalSize(read.records, position)) {
      const header = readBatchHeader(read.records, position);
      if (!header.isControl && (largest === null || header.maxTimestamp > largest)) largest = header.maxTimestamp;
    }
    offset = read.nextOffset;
  }
  return largest === null ? null : engine.offsetForTimestamp(topic, partition, largest);
}

function lookup(engine: Engine, topic: string, partition: number, timestamp: bigint): OffsetForTimestamp {
  switch (timestamp) {
    case LATEST:
      return { offset: engine.highWatermark(topic, partition), timestamp: -1 };
    case EARLIEST:
    case EARLIEST_LOCAL:
      return { offset: engine.logStartOffset(topic, partition), timestamp: -1 };
    case LATEST_TIERED:
      return NONE_FOUND;
    case MAX_TIMESTAMP:
      return maxTimestamp(engine, topic, partition) ?? NONE_FOUND;
    default:
      return engine.offsetForTimestamp(topic, partition, Number(timestamp)) ?? NONE_FOUND;
  }
}

/** v0's list of offsets for what v1+ answers with `found`. */
function oldStyleOffsets(engine: Engine, topic: string, partition: number, request: ListOffsetsRequestListOffsetsPartition, found: OffsetForTimestamp): bigint[] {
  let offsets: number[] = found.offset < 0 ? [] : [found.offset];
  if (request.timestamp === LATEST) {
    const logStartOffset = engine.logStartOffset(topic, partition);
    if (found.offset > logStartOffset) offsets = [found.offset, logStartOffset];
  }
  return offsets.slice(0, Math.max(request.maxNumOffsets, 0)).map((o) => BigInt(o));
}

function answer(engine: Engine, topic: string, request: ListOffsetsRequestListOffsetsPartition, version: number): ListOffsetsResponseListOffsetsPartitionResponse {
  const response: ListOffsetsResponseListOffsetsPartitionResponse = {
    partitionIndex: request.partitionIndex,
    errorCode: ERROR_CODES.NONE,
    oldStyleOffsets: [],
    timestamp: -1n,
    offset: -1n,
    leaderEpoch: -1,
  };
  try {
    const info = engine.describeTopic(topic);
    if (info === undefined || request.partitionIndex < 0 || request.partitionIndex >= info.partitions) {
      return { ...response, errorCode: ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION };
    }
    const epochError = checkCurrentLeaderEpoch(request.currentLeaderEpoch);
    if (epochError !== ERROR_CODES.NONE) return { ...response, errorCode: epochError };
    const found = lookup(engine, topic, request.partitionIndex, request.timestamp);
    if (version === 0) return { ...response, oldStyleOffsets: oldStyleOffsets(engine, topic, request.partitionIndex, request, found) };
    return { ...response, timestamp: BigInt(found.timestamp), offset: BigInt(found.offset), leaderEpoch: found.offset < 0 ? -1 : LEADER_EPOCH };
  } catch (err) {
    return { ...response, errorCode: kafkaErrorCode(err) };
  }
}

export const listOffsetsHandler = defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  apiKey: API_KEYS.LIST_OFFSETS,
  minVersion: 0,
  maxVersion: 10,
  request: { decode: decodeListOffsetsRequest },
  response: { encode: encodeListOffsetsResponse },
  handle(ctx, request) {
    const version = ctx.apiVersion;
    const asked = new Map<string, number>();
    for (const t of request.topics) {
      for (const p of t.partitions) {
        const key = `${t.name}\u0000${String(p.partitionIndex)}`;
        asked.set(key, (asked.get(key) ?? 0) + 1);
      }
    }
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          if (version >= 1 && asked.get(`${t.name}\u0000${String(p.partitionIndex)}`)! > 1) {
            return { partitionIndex: p.partitionIndex, errorCode: ERROR_CODES.INVALID_REQUEST, oldStyleOffsets: [], timestamp: -1n, offset: -1n, leaderEpoch: -1 };
          }
          return answer(ctx.server.engine, t.name, p, version);
        }),
      })),
    };
  },
});
