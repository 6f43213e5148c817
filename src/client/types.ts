// The kafkajs-shaped types of the embedded client API, shared by the producer, the consumer and the admin.
// Names and shapes follow kafkajs 2.x wherever a concept exists there; only constants live here, no logic.

/** Header values a producer may send; an array writes one header per element under the same key. */
export interface IHeaders {
  [key: string]: Buffer | string | (Buffer | string)[] | undefined;
}

/**
 * Headers as a consumer gets them: values are Buffers and a key repeated in the record becomes an array
 * in record order. A null header value (which Kafka allows) is delivered as undefined, and left out of a
 * repeated key's array, so these headers fit kafkajs' IHeaders type (kafkajs itself hands out null).
 */
export interface KafkaMessageHeaders {
  [key: string]: Buffer | Buffer[] | undefined;
}

/** What a producer sends. */
export interface Message {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** An explicit partition wins over the partitioner. */
  partition?: number;
  headers?: IHeaders;
  /** Milliseconds since the epoch (kafkajs types it as a string; a number is accepted too). Default: now. */
  timestamp?: string | number;
}

/** What a consumer gets: one record of a RecordBatch v2, as kafkajs presents it. */
export interface KafkaMessage {
  key: Buffer | null;
  value: Buffer | null;
  /** Milliseconds since the epoch, as a decimal string (the batch's maxTimestamp for LogAppendTime topics). */
  timestamp: string;
  /** Record-level attributes (unused by Kafka, always 0 from Kafka producers). */
  attributes: number;
  /** The record's offset, as a decimal string. */
  offset: string;
  headers: KafkaMessageHeaders;
}

/** One result per partition written, as kafkajs returns from send/sendBatch. */
export interface RecordMetadata {
  topicName: string;
  partition: number;
  errorCode: number;
  /** Offset of the first record written to this partition by the call, as a decimal string. */
  baseOffset?: string;
  /** '-1' unless the topic uses LogAppendTime. */
  logAppendTime?: string;
  logStartOffset?: string;
  offset?: string;
  timestamp?: string;
}

/** kafkajs' CompressionTypes, as a plain const (no enum: erasable syntax only). */
export const CompressionTypes = {
  None: 0,
  GZIP: 1,
  Snappy: 2,
  LZ4: 3,
  ZSTD: 4,
} as const;
export type CompressionTypes = (typeof CompressionTypes)[keyof typeof CompressionTypes];

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

export interface ProducerRecord {
  topic: string;
  messages: Message[];
  /** 0: resolve once written (not yet durable); 1 or -1 (default): resolve once durable under the db's sync mode. */
  acks?: number;
  /** Accepted for kafkajs compatibility; a local append has no request timeout. */
  timeout?: number;
  compression?: CompressionTypes;
}

export interface ProducerBatch {
  acks?: number;
  timeout?: number;
  compression?: CompressionTypes;
  topicMessages?: TopicMessages[];
}

export interface PartitionMetadata {
  partitionErrorCode: number;
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas?: number[];
}

export interface ITopicMetadata {
  name: string;
  partitions: PartitionMetadata[];
}

export interface IResourceConfigEntry {
  name: string;
  value: string;
}

export interface ReplicaAssignment {
  partition: number;
  replicas: number[];
}

export interface ITopicConfig {
  topic: string;
  numPartitions?: number;
  /** Accepted and ignored: one file has one replica. */
  replicationFactor?: number;
  /** Accepted only for partition counts; the replicas themselves are ignored. */
  replicaAssignment?: ReplicaAssignment[];
  configEntries?: IResourceConfigEntry[];
}

export interface ITopicPartitionConfig {
  topic: string;
  count: number;
  /** Accepted and ignored. */
  assignments?: number[][];
}

export interface PartitionOffset {
  partition: number;
  offset: string;
}
export type SeekEntry = PartitionOffset;

export interface TopicOffsets {
  topic: string;
  partitions: PartitionOffset[];
}

export interface TopicPartition {
  topic: string;
  partition: number;
}
export interface TopicPartitionOffset extends TopicPartition {
  offset: string;
}
export interface TopicPartitionOffsetAndMetadata extends TopicPartitionOffset {
  metadata?: string | null;
}

export interface FetchOffsetsPartition extends PartitionOffset {
  metadata: string | null;
}

/** kafkajs' ConfigResourceTypes (only TOPIC resources exist in a onelog file). */
export const ConfigResourceTypes = {
  UNKNOWN: 0,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
} as const;
export type ConfigResourceTypes = (typeof ConfigResourceTypes)[keyof typeof ConfigResourceTypes];

/** kafkajs' ConfigSource. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;
export type ConfigSource = (typeof ConfigSource)[keyof typeof ConfigSource];

export interface ResourceConfigQuery {
  type: ConfigResourceTypes;
  name: string;
  configNames?: string[];
}

export interface ConfigSynonyms {
  configName: string;
  configValue: string;
  configSource: ConfigSource;
}

export interface ConfigEntries {
  configName: string;
  configValue: string;
  isDefault: boolean;
  configSource: ConfigSource;
  isSensitive: boolean;
  readOnly: boolean;
  configSynonyms: ConfigSynonyms[];
}

export interface DescribeConfigResponse {
  resources: {
    configEntries: ConfigEntries[];
    errorCode: number;
    /** '' (kafkajs' type is string; a broker sends null, which kafkajs passes on). */
    errorMessage: string;
    resourceName: string;
    resourceType: ConfigResourceTypes;
  }[];
  throttleTime: number;
}

export interface IResourceConfig {
  type: ConfigResourceTypes;
  name: string;
  configEntries: IResourceConfigEntry[];
}

export interface AlterConfigsResponse {
  resources: {
    errorCode: number;
    errorMessage: string | null;
    resourceName: string;
    resourceType: ConfigResourceTypes;
  }[];
  throttleTime: number;
}

export interface GroupOverview {
  groupId: string;
  protocolType: string;
}

export interface MemberDescription {
  clientHost: string;
  clientId: string;
  memberId: string;
  memberAssignment: Buffer;
  memberMetadata: Buffer;
}

export type ConsumerGroupState = 'Unknown' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead' | 'Empty';

export interface GroupDescription {
  groupId: string;
  members: MemberDescription[];
  protocol: string;
  protocolType: string;
  state: ConsumerGroupState;
}

export interface GroupDescriptions {
  groups: GroupDescription[];
}

export interface DeleteGroupsResult {
  groupId: string;
  errorCode: number;
}

/** kafkajs' retry options (same defaults: 5 retries, 300 ms initial, x2 per retry, +-20%, at most 30 s). */
export interface RetryOptions {
  maxRetryTime?: number;
  initialRetryTime?: number;
  factor?: number;
  multiplier?: number;
  retries?: number;
}

/** What a custom partitioner receives, as in kafkajs. */
export interface PartitionerArgs {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  message: Message;
}

/** kafkajs' createPartitioner option: a factory called once per producer. */
export type ICustomPartitioner = () => (args: PartitionerArgs) => number;
