// OffsetDelete (key 47), version 0: deletes a group's committed offsets for some partitions, through the
// group coordinator: refused per partition with GROUP_SUBSCRIBED_TO_TOPIC while a member of the group
// subscribes to the topic, UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist; at the top
// level GROUP_ID_NOT_FOUND for a group with neither members nor offsets, NON_EMPTY_GROUP for an active
// group of another protocol type than consumer, INVALID_GROUP_ID for an empty group id.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeOffsetDeleteRequest, encodeOffsetDeleteResponse, type OffsetDeleteRequest, type OffsetDeleteResponse } from '../../protocol/generated/offset-delete.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

export const offsetDeleteHandler = defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: API_KEYS.OFFSET_DELETE,
  minVersion: 0,
  maxVersion: 0,
  request: { decode: decodeOffsetDeleteRequest },
  response: { encode: encodeOffsetDeleteResponse },
  async handle(ctx, request) {
    const failed = (errorCode: number): OffsetDeleteResponse => ({ errorCode, throttleTimeMs: 0, topics: [] });
    if (request.groupId === '') return failed(ERROR_CODES.INVALID_GROUP_ID);
    const { engine, coordinator } = ctx.server;
    const known = request.topics.flatMap((t) => {
      const partitions = engine.describeTopic(t.name)?.partitions ?? 0;
      return t.partitions.filter((p) => p.partitionIndex >= 0 && p.partitionIndex < partitions).map((p) => ({ topic: t.name, partition: p.partitionIndex }));
    });
    try {
      const result = await coordinator.deleteOffsets(request.groupId, known);
      if (result.error !== 'NONE') return failed(ERROR_CODES[result.error]);
      const outcome = new Map(result.partitions.map((p) => [`${String(p.partition)}:${p.topic}`, ERROR_CODES[p.error]]));
      return {
        errorCode: ERROR_CODES.NONE,
        throttleTimeMs: 0,
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: outcome.get(`${String(p.partitionIndex)}:${t.name}`) ?? ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION,
          })),
        })),
      };
    } catch (err) {
      return failed(kafkaErrorCode(err));
    }
  },
});
