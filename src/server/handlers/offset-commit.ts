// OffsetCommit (key 8), versions 0-9: commits a group's offsets, fenced by the group coordinator in the same
// atomic step as the write: a member must be known, of the current generation, and the group not
// completing a rebalance (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS; FENCED_INSTANCE_ID
// v7+ when another member holds the named static instance). A negative generation with an empty member id
// (always so in v0) commits outside group management, accepted while the group has no members. Per
// partition: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist and OFFSET_METADATA_TOO_LARGE
// for metadata over 4096 bytes (Kafka's offset.metadata.max.bytes); the rest commit together. v1's
// commitTimestamp and v2-4's retention time are ignored (offsets are kept until the group is deleted); v9
// answers GROUP_ID_NOT_FOUND for a generation of a group that does not exist, as Kafka does. An empty group
// id is INVALID_GROUP_ID (Kafka accepts it; onelog's offset store cannot name it).
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeOffsetCommitRequest, encodeOffsetCommitResponse, type OffsetCommitRequest, type OffsetCommitResponse } from '../../protocol/generated/offset-commit.ts';
import type { GroupOffsetCommit } from '../../storage/engine.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

const MAX_METADATA_BYTES = 4096;

export const offsetCommitHandler = defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: API_KEYS.OFFSET_COMMIT,
  minVersion: 0,
  maxVersion: 9,
  request: { decode: decodeOffsetCommitRequest },
  response: { encode: encodeOffsetCommitResponse },
  async handle(ctx, request) {
    const { engine, coordinator } = ctx.server;
    /** Per partition: its own error, or null while it waits for the group's verdict. */
    const errors = request.topics.map((t) => {
      const partitions = engine.describeTopic(t.name)?.partitions ?? 0;
      return t.partitions.map((p): number | null => {
        if (request.groupId === '') return ERROR_CODES.INVALID_GROUP_ID;
        if (p.partitionIndex < 0 || p.partitionIndex >= partitions) return ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION;
        if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > MAX_METADATA_BYTES) return ERROR_CODES.OFFSET_METADATA_TOO_LARGE;
        return null;
      });
    });
    const offsets: GroupOffsetCommit[] = request.topics.flatMap((t, ti) =>
      t.partitions
        .filter((_, pi) => errors[ti]![pi] === null)
        .map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset), leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })),
    );
    let verdict: number = ERROR_CODES.NONE;
    if (offsets.length > 0) {
      try {
        const { error } = await coordinator.commitOffsets({
          groupId: request.groupId,
          generationId: request.generationIdOrMemberEpoch,
          memberId: request.memberId,
          groupInstanceId: request.groupInstanceId,
          offsets,
        });
        verdict = ERROR_CODES[error];
        if (error === 'ILLEGAL_GENERATION' && ctx.apiVersion >= 9 && coordinator.describeGroup(request.groupId).state === 'Dead') verdict = ERROR_CODES.GROUP_ID_NOT_FOUND;
      } catch (err) {
        verdict = kafkaErrorCode(err);
      }
    }
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t, ti) => ({
        name: t.name,
        partitions: t.partitions.map((p, pi) => ({ partitionIndex: p.partitionIndex, errorCode: errors[ti]![pi] ?? verdict })),
      })),
    };
  },
});
