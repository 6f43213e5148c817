// Public entry point of the onelog package: re-exports the storage engine, the record format, errors and the
// embedded kafkajs-shaped client API (open, producer, consumer, admin) and serve(). It holds no logic of its own.

export { Engine } from './storage/engine.ts';
export type {
  AppendOptions,
  AppendResult,
  EngineOptions,
  GroupOffset,
  GroupOffsetCommit,
  OffsetForTimestamp,
  ReadOptions,
  ReadResult,
  SyncMode,
  TopicInfo,
} from './storage/engine.ts';
export { OnelogBusyError, OnelogError, isOnelogError } from './errors.ts';
export type { OnelogErrorCode } from './errors.ts';
export * from './format/index.ts';

// The embedded, kafkajs-shaped client API.
export { Database, open } from './client/database.ts';
export type { OpenOptions } from './client/database.ts';
export { PRODUCER_EVENTS, Producer } from './client/producer.ts';
export type { ProducerConfig, ProducerEventName } from './client/producer.ts';
export { Consumer } from './client/consumer.ts';
export type { ConsumerConfig } from './client/consumer.ts';
export type * from './client/consumer-types.ts';
export { PartitionAssigners } from './client/assignors.ts';
export type { PartitionAssigner } from './client/assignors.ts';
export { Admin } from './client/admin.ts';
export type { AdminConfig } from './client/admin.ts';
export { DefaultPartitioner, Partitioners, murmur2, partitionForKey } from './client/partitioner.ts';
export { toKafkaMessage } from './client/messages.ts';
export { CompressionTypes, ConfigResourceTypes, ConfigSource } from './client/types.ts';
export type * from './client/types.ts';

// The Kafka wire protocol over one file.
export { serve } from './server/server.ts';
export type { ClientAuth, SaslMechanism, SaslOptions, Server, ServeOptions, TlsOptions } from './server/server.ts';
// SASL users kept in the file (salted SCRAM credentials), as `onelog users` manages them.
export { listUsers, removeUser, setUser } from './client/users.ts';
export type { ScramMechanism, UserRecord } from './client/users.ts';
