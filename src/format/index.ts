// Public surface of the Kafka record-batch codec: varints, CRC-32C, compression codecs and RecordBatch v2.
// Re-exports only; nothing is defined here.

export * from './varint.ts';
export * from './crc32c.ts';
export * from './compression.ts';
export * from './record-batch.ts';
