// OffsetForLeaderEpoch (key 23), versions 0-4: the end offset of a leader epoch, which consumers use to
// detect log truncation (KIP-320). Every partition has had one epoch, 0, since it was created, starting
// at its logStartOffset, so Kafka's leader-epoch cache answers: epoch 0 → endOffset = highWatermark with
// leaderEpoch 0; -1 (undefined) and every epoch above 0 → leaderEpoch -1, endOffset -1; every other epoch below
// 0 → that epoch with endOffset = logStartOffset (the start of the first later epoch), all without error.
// Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, and (v2+) FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for
// a currentLeaderEpoch other than 0. replicaId (v3+) is ignored.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeOffsetForLeaderEpochRequest,
  encodeOffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochRequestOffsetForLeaderPartition,
  type OffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochResponseEpochEndOffset,
} from '../../protocol/generated/offset-for-leader-epoch.ts';
import type { Engine } from '../../storage/engine.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';
import { checkCurrentLeaderEpoch, LEADER_EPOCH } from '../leader-epoch.ts';

const UNDEFINED_EPOCH = -1;

function endOffset(engine: Engine, topic: string, request: OffsetForLeaderEpochRequestOffsetForLeaderPartition): OffsetForLeaderEpochResponseEpochEndOffset {
  const response = { errorCode: ERROR_CODES.NONE, partition: request.partition, leaderEpoch: UNDEFINED_EPOCH, endOffset: -1n };
  try {
    const info = engine.describeTopic(topic);
    if (info === undefined || request.partition < 0 || request.partition >= info.partitions) {
      return { ...response, errorCode: ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION };
    }
    const epochError = checkCurrentLeaderEpoch(request.currentLeaderEpoch);
    if (epochError !== ERROR_CODES.NONE) return { ...response, errorCode: epochError };
    if (request.leaderEpoch === LEADER_EPOCH) {
      return { ...response, leaderEpoch: LEADER_EPOCH, endOffset: BigInt(engine.highWatermark(topic, request.partition)) };
    }
    if (request.leaderEpoch < UNDEFINED_EPOCH) {
      return { ...response, leaderEpoch: request.leaderEpoch, endOffset: BigInt(engine.logStartOffset(topic, request.partition)) };
    }
    return response;
  } catch (err) {
    return { ...response, errorCode: kafkaErrorCode(err) };
  }
}

export const offsetForLeaderEpochHandler = defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  apiKey: API_KEYS.OFFSET_FOR_LEADER_EPOCH,
  minVersion: 0,
  maxVersion: 4,
  request: { decode: decodeOffsetForLeaderEpochRequest },
  response: { encode: encodeOffsetForLeaderEpochResponse },
  handle(ctx, request) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => endOffset(ctx.server.engine, t.topic, p)) })),
    };
  },
});
