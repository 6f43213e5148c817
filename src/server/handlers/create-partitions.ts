// CreatePartitions (key 37), versions 0-3: raises each topic's partition count to the requested total,
// on its own; a count that does not grow the topic is INVALID_PARTITIONS. Assignments of the new
// partitions may name only node 0. validateOnly makes every check without adding partitions. A topic
// named twice in one request is refused, as Kafka does. It never retries a write.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeCreatePartitionsRequest,
  encodeCreatePartitionsResponse,
  type CreatePartitionsRequest,
  type CreatePartitionsRequestCreatePartitionsTopic,
  type CreatePartitionsResponse,
  type CreatePartitionsResponseCreatePartitionsTopicResult,
} from '../../protocol/generated/create-partitions.ts';
import type { Engine } from '../../storage/engine.ts';
import { answerEach, failure, refusal, SUCCESS, type Outcome } from '../admin-common.ts';
import { defineHandler, NODE_ID } from '../handler.ts';

/** Kafka's check of manual assignments: one per new partition, each on node 0 alone. */
function assignmentRefusal(engine: Engine, topic: CreatePartitionsRequestCreatePartitionsTopic): Outcome | null {
  if (topic.assignments === null) return null;
  const current = engine.describeTopic(topic.name)?.partitions;
  if (current !== undefined && topic.assignments.length !== topic.count - current) {
    return refusal(ERROR_CODES.INVALID_REPLICA_ASSIGNMENT, `Topic ${topic.name}: ${String(topic.assignments.length)} assignments given for ${String(topic.count - current)} new partitions.`);
  }
  if (topic.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== NODE_ID)) {
    return refusal(ERROR_CODES.INVALID_REPLICA_ASSIGNMENT, `Topic ${topic.name}: every new partition must be assigned to node ${String(NODE_ID)} alone, the only node of this server.`);
  }
  return null;
}

async function grow(engine: Engine, topic: CreatePartitionsRequestCreatePartitionsTopic, validateOnly: boolean): Promise<Outcome> {
  try {
    const refused = assignmentRefusal(engine, topic);
    if (refused !== null) return refused;
    if (validateOnly) engine.checkCreatePartitions(topic.name, topic.count);
    else await engine.createPartitions(topic.name, topic.count);
    return SUCCESS;
  } catch (err) {
    return failure(err);
  }
}

export const createPartitionsHandler = defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  apiKey: API_KEYS.CREATE_PARTITIONS,
  minVersion: 0,
  maxVersion: 3,
  request: { decode: decodeCreatePartitionsRequest },
  response: { encode: encodeCreatePartitionsResponse },
  async handle(ctx, request) {
    const results = await answerEach(
      request.topics,
      (topic) => `topic ${JSON.stringify(topic.name)}`,
      async (topic): Promise<CreatePartitionsResponseCreatePartitionsTopicResult> => ({ name: topic.name, ...(await grow(ctx.server.engine, topic, request.validateOnly)) }),
      (topic, outcome) => ({ name: topic.name, ...outcome }),
    );
    return { throttleTimeMs: 0, results };
  },
});
