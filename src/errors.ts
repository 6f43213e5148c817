// The one error type of onelog: OnelogError with a closed union of stable codes.
// Every failure a caller can meet is one of these codes; nothing here does I/O or formatting of output.

export type OnelogErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_TOPIC_NAME'
  | 'TOPIC_EXISTS'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'INVALID_PARTITIONS'
  | 'INVALID_CONFIG'
  | 'RECORD_TOO_LARGE'
  | 'OFFSET_OUT_OF_RANGE'
  | 'CORRUPT_BATCH'
  | 'CORRUPT_FILE'
  | 'NOT_A_ONELOG_FILE'
  | 'NEWER_FORMAT_VERSION'
  | 'FILE_NOT_FOUND'
  | 'UNSUPPORTED_COMPRESSION'
  | 'DUPLICATE_SEQUENCE'
  | 'OUT_OF_ORDER_SEQUENCE'
  | 'INVALID_PRODUCER_EPOCH'
  | 'TOO_MANY_PARTITIONS'
  | 'ILLEGAL_GENERATION'
  | 'UNKNOWN_MEMBER_ID'
  | 'REBALANCE_IN_PROGRESS'
  | 'NON_EMPTY_GROUP'
  | 'GROUP_ID_NOT_FOUND'
  | 'METADATA_TOO_LARGE'
  | 'CLOSED'
  | 'BUSY'
  | 'FAILED'
  | 'READ_ONLY';

/** Codes a caller may retry after a pause: the same call can succeed later. */
const RETRIABLE: ReadonlySet<OnelogErrorCode> = new Set<OnelogErrorCode>(['BUSY', 'OUT_OF_ORDER_SEQUENCE', 'REBALANCE_IN_PROGRESS']);

export interface OnelogErrorDetails {
  /** Byte position in the file (or in the decoded buffer) where damage was found. */
  readonly position?: number;
  readonly topic?: string;
  readonly partition?: number;
  readonly cause?: unknown;
}

export class OnelogError extends Error {
  readonly code: OnelogErrorCode;
  readonly retriable: boolean;
  readonly position: number | undefined;
  readonly topic: string | undefined;
  readonly partition: number | undefined;

  constructor(code: OnelogErrorCode, message: string, details: OnelogErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'OnelogError';
    this.code = code;
    this.retriable = RETRIABLE.has(code);
    this.position = details.position;
    this.topic = details.topic;
    this.partition = details.partition;
  }
}

/** Raised when the writer lock could not be taken within the busy timeout. */
export class OnelogBusyError extends OnelogError {
  constructor(message: string) {
    super('BUSY', message);
    this.name = 'OnelogBusyError';
  }
}

export function isOnelogError(value: unknown): value is OnelogError {
  return value instanceof OnelogError;
}
