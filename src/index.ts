// Public entry point of the onelog package: re-exports the storage engine, the record format and errors.
// It holds no logic of its own.

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
