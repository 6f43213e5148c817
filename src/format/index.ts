// Public surface of the Kafka record codecs: varints, CRC-32C, compression, RecordBatch v2 and legacy message sets.
// Re-exports only; nothing is defined here.

export * from './varint.ts';
export * from './crc32c.ts';
export * from './compression.ts';
export * from './record-batch.ts';
export * from './legacy-message-set.ts';
