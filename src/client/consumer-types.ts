// The kafkajs-shaped types of the consumer: its config, run options, the payloads eachMessage and
// eachBatch receive, and its instrumentation events (kafkajs' names and payloads, plus onelog's
// OFFSET_RESET, PARTITIONS_ASSIGNED and PARTITIONS_REVOKED). Types and constants only, no logic.

import type { PartitionAssigner, TopicPartitions } from './assignors.ts';
import type { KafkaMessage, RetryOptions, TopicOffsets } from './types.ts';

export interface ConsumerConfig {
  groupId: string;
  /** In order of preference; default [PartitionAssigners.roundRobin], as kafkajs. */
  partitionAssigners?: PartitionAssigner[];
  /** A member not heard from for this long loses its partitions (ms, default 30000). */
  sessionTimeout?: number;
  /** How long a rebalance waits for members to rejoin (ms, default 60000). */
  rebalanceTimeout?: number;
  /** How often the member heartbeats into the group document (ms, default 3000). */
  heartbeatInterval?: number;
  /** How often regular-expression subscriptions are matched again against the topics (ms, default 300000). */
  metadataMaxAge?: number;
  /** Byte budget of one partition's fetch (default 1 MiB; at least one whole batch is always returned). */
  maxBytesPerPartition?: number;
  /** Accepted for kafkajs compatibility: a fetch returns as soon as one byte is there. */
  minBytes?: number;
  /** Byte budget of one fetch over all partitions (default 10 MiB). */
  maxBytes?: number;
  /** Longest a fetch waits for new records before looping (ms, default 5000). */
  maxWaitTimeInMs?: number;
  /** Retries of a failing eachMessage/eachBatch, then a crash; restartOnFailure decides a restart. */
  retry?: RetryOptions & { restartOnFailure?: (err: Error) => Promise<boolean> };
  /** Create a subscribed topic that does not exist, with the database's default partitions (default true). */
  allowAutoTopicCreation?: boolean;
  /** Accepted for kafkajs compatibility; there are no requests in flight. */
  maxInFlightRequests?: number;
  /** Accepted for kafkajs compatibility; onelog has no transactions, so every record is committed. */
  readUncommitted?: boolean;
  /** Sent in the member's subscription (Kafka rack-aware assignment); unused by the built-in assignors. */
  rackId?: string;
  /** onelog: static membership (Kafka's group.instance.id): a new instance replaces the old member. */
  groupInstanceId?: string;
}

export interface Batch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: KafkaMessage[];
  isEmpty: () => boolean;
  firstOffset: () => string | null;
  lastOffset: () => string;
  offsetLag: () => string;
  offsetLagLow: () => string;
}

export interface OffsetsByTopicPartition {
  topics: TopicOffsets[];
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: KafkaMessage;
  heartbeat: () => Promise<void>;
  /** Pauses this partition; returns a function that resumes it. */
  pause: () => () => void;
}

export interface EachBatchPayload {
  batch: Batch;
  resolveOffset: (offset: string) => void;
  heartbeat: () => Promise<void>;
  pause: () => () => void;
  commitOffsetsIfNecessary: (offsets?: OffsetsByTopicPartition) => Promise<void>;
  uncommittedOffsets: () => OffsetsByTopicPartition;
  isRunning: () => boolean;
  isStale: () => boolean;
}

export type EachMessageHandler = (payload: EachMessagePayload) => Promise<void>;
export type EachBatchHandler = (payload: EachBatchPayload) => Promise<void>;

export interface ConsumerRunConfig {
  /** Commit processed offsets automatically (default true). */
  autoCommit?: boolean;
  /** Commit when this long passed since the last commit (ms; default null). */
  autoCommitInterval?: number | null;
  /** Commit when this many messages were processed since the last commit (default null). */
  autoCommitThreshold?: number | null;
  /** Mark a batch processed when eachBatch returns (default true). */
  eachBatchAutoResolve?: boolean;
  /** How many partitions' batches are handled at once (default 1). */
  partitionsConsumedConcurrently?: number;
  eachBatch?: EachBatchHandler;
  eachMessage?: EachMessageHandler;
}

/** Options of consumer.messages(): the run options that make sense for a pull loop. */
export interface ConsumerMessagesConfig {
  autoCommit?: boolean;
  autoCommitInterval?: number | null;
  autoCommitThreshold?: number | null;
}

export interface ConsumerSubscribeTopics {
  topics: (string | RegExp)[];
  fromBeginning?: boolean;
}

/** kafkajs' older single-topic form (deprecated there in favour of ConsumerSubscribeTopics). */
export interface ConsumerSubscribeTopic {
  topic: string | RegExp;
  fromBeginning?: boolean;
}

/** What the async iterator of consumer.messages() yields. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

export interface InstrumentationEvent<T> {
  id: string;
  type: string;
  timestamp: number;
  payload: T;
}

export const CONSUMER_EVENTS = {
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH_START: 'consumer.fetch_start',
  FETCH: 'consumer.fetch',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
  /** onelog: a partition's start position was out of range (or absent) and was reset by policy. */
  OFFSET_RESET: 'consumer.offset_reset',
  /** onelog: partitions this member was given (after a rebalance). */
  PARTITIONS_ASSIGNED: 'consumer.partitions_assigned',
  /** onelog: partitions this member gave up (revoked by a rebalance, lost with its membership, or stopped). */
  PARTITIONS_REVOKED: 'consumer.partitions_revoked',
} as const;

export type ConsumerEvents = typeof CONSUMER_EVENTS;
export type ConsumerEventName = ConsumerEvents[keyof ConsumerEvents];

interface BatchProcessPayload {
  topic: string;
  partition: number;
  highWatermark: string;
  offsetLag: string;
  offsetLagLow: string;
  batchSize: number;
  firstOffset: string | null;
  lastOffset: string;
}

export interface ConsumerEventPayloads {
  'consumer.heartbeat': { groupId: string; memberId: string; groupGenerationId: number };
  'consumer.commit_offsets': { groupId: string; memberId: string; groupGenerationId: number; topics: TopicOffsets[] };
  'consumer.group_join': {
    duration: number;
    groupId: string;
    isLeader: boolean;
    leaderId: string;
    groupProtocol: string;
    memberId: string;
    memberAssignment: Record<string, number[]>;
  };
  'consumer.fetch_start': { nodeId: number };
  'consumer.fetch': { numberOfBatches: number; duration: number; nodeId: number };
  'consumer.start_batch_process': BatchProcessPayload;
  'consumer.end_batch_process': BatchProcessPayload & { duration: number };
  'consumer.connect': null;
  'consumer.disconnect': null;
  'consumer.stop': null;
  'consumer.crash': { error: Error; groupId: string; restart: boolean };
  'consumer.rebalancing': { groupId: string; memberId: string };
  'consumer.received_unsubscribed_topics': {
    groupId: string;
    generationId: number;
    memberId: string;
    assignedTopics: string[];
    topicsSubscribed: string[];
    topicsNotSubscribed: string[];
  };
  'consumer.offset_reset': {
    groupId: string;
    topic: string;
    partition: number;
    /** The offset that could not be used: the committed (or sought, or fetched) one; null when none was committed. */
    offset: string | null;
    /** Where consumption starts instead. */
    resetTo: string;
    policy: 'earliest' | 'latest';
    reason: 'no-committed-offset' | 'out-of-range';
    logStartOffset: string;
    highWatermark: string;
  };
  'consumer.partitions_assigned': { groupId: string; memberId: string; generationId: number; topics: TopicPartitions[] };
  'consumer.partitions_revoked': { groupId: string; memberId: string; generationId: number; topics: TopicPartitions[]; lost: boolean };
}
