// CreateTopics (key 19), versions 0-7: creates each topic on its own, as Kafka does; a failure is that
// topic's error code. numPartitions -1 takes the server's default; replication factor 1 (or -1) is all
// one node offers, and manual assignments may name only node 0. validateOnly (v1+) makes every check
// without creating anything. From v5 a result carries the topic's partition count, replication factor
// and configs, from v7 its id. It never touches other topics, and never retries a write.
import { OnelogError } from '../../errors.ts';
import { ZERO_UUID } from '../../protocol/codec.ts';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeCreateTopicsRequest,
  encodeCreateTopicsResponse,
  type CreateTopicsRequest,
  type CreateTopicsRequestCreatableTopic,
  type CreateTopicsResponse,
  type CreateTopicsResponseCreatableTopicResult,
} from '../../protocol/generated/create-topics.ts';
import type { Engine } from '../../storage/engine.ts';
import { answerEach, failure, refusal, SUCCESS, type Outcome } from '../admin-common.ts';
import { describeTopic } from '../config-resources.ts';
import { defineHandler, NODE_ID } from '../handler.ts';

interface Plan {
  readonly partitions: number;
  readonly configs: Record<string, string>;
}

function result(name: string, outcome: Outcome, created?: { topicId: string; partitions: number; configs: Readonly<Record<string, string>> }): CreateTopicsResponseCreatableTopicResult {
  return {
    name,
    topicId: created?.topicId ?? ZERO_UUID,
    ...outcome,
    topicConfigErrorCode: ERROR_CODES.NONE,
    numPartitions: created?.partitions ?? -1,
    replicationFactor: created === undefined ? -1 : 1,
    configs: created === undefined ? [] : describeTopic(created.configs, null).map((c) => ({ name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.source, isSensitive: false })),
  };
}

/** The partition count and configs a request asks for, or the refusal Kafka gives a single-node cluster. */
function plan(topic: CreateTopicsRequestCreatableTopic, defaultPartitions: number): Plan | Outcome {
  const nullConfigs = topic.configs.filter((c) => c.value === null).map((c) => c.name);
  if (nullConfigs.length > 0) return failure(new OnelogError('INVALID_CONFIG', `Topic ${topic.name}: a null value is not supported for topic configs (${nullConfigs.join(', ')}).`));
  const configs = Object.fromEntries(topic.configs.map((c) => [c.name, c.value ?? '']));
  if (topic.assignments.length === 0) {
    if (topic.replicationFactor === 0 || topic.replicationFactor < -1) {
      return refusal(ERROR_CODES.INVALID_REPLICATION_FACTOR, `Topic ${topic.name}: replication factor must be larger than 0, or -1 for the default, got ${String(topic.replicationFactor)}.`);
    }
    if (topic.replicationFactor > 1) {
      return refusal(ERROR_CODES.INVALID_REPLICATION_FACTOR, `Topic ${topic.name}: replication factor ${String(topic.replicationFactor)} cannot be reached: this server is one node, so 1 is the only factor.`);
    }
    return { partitions: topic.numPartitions === -1 ? defaultPartitions : topic.numPartitions, configs };
  }
  if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
    return refusal(ERROR_CODES.INVALID_REQUEST, `Topic ${topic.name}: give either numPartitions and replicationFactor or replica assignments, not both.`);
  }
  const indexes = topic.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
  if (indexes.some((index, i) => index !== i)) {
    return refusal(ERROR_CODES.INVALID_REPLICA_ASSIGNMENT, `Topic ${topic.name}: replica assignments must cover partitions 0 to ${String(indexes.length - 1)} once each.`);
  }
  if (topic.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== NODE_ID)) {
    return refusal(ERROR_CODES.INVALID_REPLICA_ASSIGNMENT, `Topic ${topic.name}: every partition must be assigned to node ${String(NODE_ID)} alone, the only node of this server.`);
  }
  return { partitions: topic.assignments.length, configs };
}

async function create(engine: Engine, topic: CreateTopicsRequestCreatableTopic, defaultPartitions: number, validateOnly: boolean): Promise<CreateTopicsResponseCreatableTopicResult> {
  const planned = plan(topic, defaultPartitions);
  if ('errorCode' in planned) return result(topic.name, planned);
  try {
    if (validateOnly) {
      const checked = engine.checkCreateTopic(topic.name, planned);
      return result(topic.name, SUCCESS, { topicId: ZERO_UUID, ...checked });
    }
    const info = await engine.createTopic(topic.name, planned);
    return result(topic.name, SUCCESS, info);
  } catch (err) {
    return result(topic.name, failure(err));
  }
}

export const createTopicsHandler = defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  apiKey: API_KEYS.CREATE_TOPICS,
  minVersion: 0,
  maxVersion: 7,
  request: { decode: decodeCreateTopicsRequest },
  response: { encode: encodeCreateTopicsResponse },
  async handle(ctx, request) {
    const topics = await answerEach(
      request.topics,
      (topic) => `topic ${JSON.stringify(topic.name)}`,
      (topic) => create(ctx.server.engine, topic, ctx.server.numPartitions, request.validateOnly),
      (topic, outcome) => result(topic.name, outcome),
    );
    return { throttleTimeMs: 0, topics };
  },
});
