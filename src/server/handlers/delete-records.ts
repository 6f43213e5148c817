// DeleteRecords (key 21), versions 0-2: deletes the records of each partition below the given offset by
// advancing its logStartOffset (offset -1: up to the highWatermark), as Kafka does, and answers the new
// low watermark; an offset past the highWatermark is OFFSET_OUT_OF_RANGE, an unknown topic or partition
// UNKNOWN_TOPIC_OR_PARTITION, each for its partition alone. It never retries a write.
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeDeleteRecordsRequest,
  encodeDeleteRecordsResponse,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
  type DeleteRecordsResponseDeleteRecordsPartitionResult,
} from '../../protocol/generated/delete-records.ts';
import type { Engine } from '../../storage/engine.ts';
import { failure, SUCCESS } from '../admin-common.ts';
import { defineHandler } from '../handler.ts';

async function deleteBelow(engine: Engine, topic: string, partitionIndex: number, offset: bigint): Promise<DeleteRecordsResponseDeleteRecordsPartitionResult> {
  try {
    const lowWatermark = await engine.deleteRecords(topic, partitionIndex, Number(offset));
    return { partitionIndex, lowWatermark: BigInt(lowWatermark), errorCode: SUCCESS.errorCode };
  } catch (err) {
    return { partitionIndex, lowWatermark: -1n, errorCode: failure(err).errorCode };
  }
}

export const deleteRecordsHandler = defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  apiKey: API_KEYS.DELETE_RECORDS,
  minVersion: 0,
  maxVersion: 2,
  request: { decode: decodeDeleteRecordsRequest },
  response: { encode: encodeDeleteRecordsResponse },
  async handle(ctx, request) {
    const topics = await Promise.all(
      request.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(topic.partitions.map((p) => deleteBelow(ctx.server.engine, topic.name, p.partitionIndex, p.offset))),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
