// Metadata (key 3), versions 0-12: the single broker (node 0 at the advertised address, also the
// controller), the cluster id (the database id) and the requested topics with their ids and partitions,
// each led by node 0 in leader epoch 0 with replicas and ISR [0]. v0 asks for every topic with an empty
// list, v1+ with a null one (an empty one asks for none). Unknown topics are created, as Kafka's
// auto.create.topics.enable does, when the server allows it and (v4+) the request does, with the server's
// numPartitions; created topics are answered ready at once (Kafka answers LEADER_NOT_AVAILABLE until its
// partitions have leaders, which a single node never lacks). Invalid names get INVALID_TOPIC_EXCEPTION,
// other unknown topics UNKNOWN_TOPIC_OR_PARTITION; v12 may ask by topic id (UNKNOWN_TOPIC_ID, never
// auto-created), while v10-11 must send names and no ids (INVALID_REQUEST), as Kafka requires. With no
// authorizer every operation is allowed: the authorized-operations fields carry Kafka's full sets when
// asked for (v8+), else Kafka's "omitted" value.
import { OnelogError } from '../../errors.ts';
import { ZERO_UUID } from '../../protocol/codec.ts';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeMetadataRequest,
  encodeMetadataResponse,
  type MetadataRequest,
  type MetadataRequestTopic,
  type MetadataResponse,
  type MetadataResponseTopic,
} from '../../protocol/generated/metadata.ts';
import type { TopicInfo } from '../../storage/engine.ts';
import { validateTopicName } from '../../storage/topic-rules.ts';
import { defineHandler, NODE_ID, type RequestContext } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';
import { LEADER_EPOCH } from '../leader-epoch.ts';

/** Kafka's value for authorized operations that were not requested. */
const OPERATIONS_OMITTED = -2147483648;

/** Bit per AclOperation code: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11. */
const TOPIC_OPERATIONS = [3, 4, 5, 6, 7, 8, 10, 11].reduce((bits, op) => bits | (1 << op), 0);
/** CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12. */
const CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);

function errorTopic(errorCode: number, name: string | null, topicId = ZERO_UUID): MetadataResponseTopic {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_OMITTED };
}

function topicMetadata(info: TopicInfo, request: MetadataRequest): MetadataResponseTopic {
  return {
    errorCode: ERROR_CODES.NONE,
    name: info.name,
    topicId: info.topicId,
    isInternal: false,
    partitions: Array.from({ length: info.partitions }, (_, partitionIndex) => ({
      errorCode: ERROR_CODES.NONE,
      partitionIndex,
      leaderId: NODE_ID,
      leaderEpoch: LEADER_EPOCH,
      replicaNodes: [NODE_ID],
      isrNodes: [NODE_ID],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: request.includeTopicAuthorizedOperations ? TOPIC_OPERATIONS : OPERATIONS_OMITTED,
  };
}

/** The topic named `name`, created first when unknown and auto-creation is allowed. */
async function byName(ctx: RequestContext, request: MetadataRequest, name: string): Promise<MetadataResponseTopic> {
  const { engine } = ctx.server;
  try {
    const known = engine.describeTopic(name);
    if (known !== undefined) return topicMetadata(known, request);
    validateTopicName(name);
    if (!ctx.server.autoCreateTopics || !request.allowAutoTopicCreation) return errorTopic(ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION, name);
    try {
      return topicMetadata(await engine.createTopic(name, { partitions: ctx.server.numPartitions }), request);
    } catch (err) {
      // Created meanwhile by another request or process: answer with what exists.
      const raced = err instanceof OnelogError && err.code === 'TOPIC_EXISTS' ? engine.describeTopic(name) : undefined;
      if (raced === undefined) throw err;
      return topicMetadata(raced, request);
    }
  } catch (err) {
    return errorTopic(kafkaErrorCode(err), name);
  }
}

function byId(ctx: RequestContext, request: MetadataRequest, topicId: string): MetadataResponseTopic {
  try {
    const info = ctx.server.engine.listTopics().find((t) => t.topicId === topicId);
    return info === undefined ? errorTopic(ERROR_CODES.UNKNOWN_TOPIC_ID, null, topicId) : topicMetadata(info, request);
  } catch (err) {
    return errorTopic(kafkaErrorCode(err), null, topicId);
  }
}

async function requestedTopic(ctx: RequestContext, request: MetadataRequest, topic: MetadataRequestTopic): Promise<MetadataResponseTopic> {
  const hasId = topic.topicId !== ZERO_UUID;
  // Names are nullable in responses from v12 on only.
  if (ctx.apiVersion < 12 && (hasId || topic.name === null)) return errorTopic(ERROR_CODES.INVALID_REQUEST, topic.name ?? '', topic.topicId);
  if (hasId) return byId(ctx, request, topic.topicId);
  if (topic.name === null) return errorTopic(ERROR_CODES.INVALID_REQUEST, null);
  return byName(ctx, request, topic.name);
}

/** Drops repeated names and ids, keeping the first occurrence. */
function distinct(topics: readonly MetadataRequestTopic[]): MetadataRequestTopic[] {
  const seen = new Set<string>();
  return topics.filter((t) => {
    const key = t.topicId !== ZERO_UUID ? `id:${t.topicId}` : `name:${t.name ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export const metadataHandler = defineHandler<MetadataRequest, MetadataResponse>({
  apiKey: API_KEYS.METADATA,
  minVersion: 0,
  maxVersion: 12,
  request: { decode: decodeMetadataRequest },
  response: { encode: encodeMetadataResponse },
  async handle(ctx, request) {
    const { engine } = ctx.server;
    const allTopics = request.topics === null || (ctx.apiVersion === 0 && request.topics.length === 0);
    const topics = allTopics
      ? engine.listTopics().map((info) => topicMetadata(info, request))
      : await Promise.all(distinct(request.topics ?? []).map((t) => requestedTopic(ctx, request, t)));
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: NODE_ID, host: ctx.server.advertisedHost, port: ctx.server.advertisedPort, rack: null }],
      clusterId: engine.stats().databaseId,
      controllerId: NODE_ID,
      topics,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : OPERATIONS_OMITTED,
    };
  },
});
