// Conversions between kafkajs-shaped messages and the record format: a producer's Message to the
// RecordInput the engine encodes, and decoded records (one, or all of a read) to the KafkaMessages a
// consumer hands out.
// Pure data shaping: no I/O, no partition choice, no batching.

import { OnelogError } from '../errors.ts';
import { batchTotalSize, decodeRecords, readBatchHeader, type BatchHeader, type DecodedRecord, type RecordHeader, type RecordInput } from '../format/record-batch.ts';
import type { IHeaders, KafkaMessage, KafkaMessageHeaders, Message } from './types.ts';

/** Bytes of a key, value or header value: strings are UTF-8, as kafkajs encodes them. */
export function toBytes(value: unknown, what: string): Buffer | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new OnelogError('INVALID_ARGUMENT', `A message ${what} must be a Buffer, a string or null, got ${typeof value}.`);
}

function toRecordHeaders(headers: IHeaders | undefined): RecordHeader[] {
  if (headers === undefined) return [];
  const out: RecordHeader[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (Array.isArray(value)) {
      for (const v of value) out.push({ key, value: toBytes(v, `header ${JSON.stringify(key)}`) });
    } else {
      out.push({ key, value: toBytes(value, `header ${JSON.stringify(key)}`) });
    }
  }
  return out;
}

/** A message's timestamp in ms: its own (string or number) or `now`; negative or non-integer is refused. */
export function messageTimestamp(message: Message, now: number): number {
  const given: unknown = message.timestamp;
  if (given === undefined || given === null) return now;
  const ts = typeof given === 'number' ? given : Number(given);
  if (!Number.isSafeInteger(ts) || ts < 0) {
    throw new OnelogError('INVALID_ARGUMENT', `A message timestamp must be a non-negative integer of milliseconds (string or number), got ${JSON.stringify(given)}.`);
  }
  return ts;
}

/** The record the engine encodes for one kafkajs message (the key given as bytes, already converted). */
export function toRecordInput(message: Message, key: Buffer | null, now: number): RecordInput {
  const headers = toRecordHeaders(message.headers);
  const value = toBytes(message.value, 'value');
  const timestamp = messageTimestamp(message, now);
  return headers.length === 0 ? { key, value, timestamp } : { key, value, headers, timestamp };
}

function toMessageHeaders(headers: readonly RecordHeader[]): KafkaMessageHeaders {
  const out: KafkaMessageHeaders = {};
  for (const { key, value } of headers) {
    const seen = out[key];
    if (value === null) {
      if (!(key in out)) out[key] = undefined;
    } else if (seen === undefined) out[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[key] = [seen, value];
  }
  return out;
}

/** A record as a KafkaMessage, its offset and timestamp already as decimal text. */
function kafkaMessage(record: DecodedRecord, offset: string, timestamp: string): KafkaMessage {
  return {
    key: record.key,
    value: record.value,
    timestamp,
    attributes: record.attributes,
    offset,
    headers: record.headers.length === 0 ? {} : toMessageHeaders(record.headers),
  };
}

/**
 * The KafkaMessage for one decoded record of the batch whose header is `batchHeader`: offset and
 * timestamp as decimal strings (a LogAppendTime batch's records carry its maxTimestamp), headers keyed by
 * name with repeated names gathered into arrays in record order, as kafkajs decodes them (null header
 * values: see KafkaMessageHeaders).
 */
export function toKafkaMessage(record: DecodedRecord, batchHeader: Pick<BatchHeader, 'timestampType' | 'maxTimestamp'>): KafkaMessage {
  return kafkaMessage(record, String(record.offset), String(batchHeader.timestampType === 'log-append' ? batchHeader.maxTimestamp : record.timestamp));
}

/** '000' to '999'. */
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * Decimal text of integers that come in runs of nearby values, as a read's offsets and timestamps do: the
 * digits above the last three are converted once per run and the last three looked up, a fraction of the
 * cost of String(n) for numbers past the small-integer range (timestamps); a repeated value gets the same
 * string.
 */
class DecimalText {
  #last = NaN;
  #lastText = '';
  #high = NaN;
  #highText = '';

  of(n: number): string {
    if (n === this.#last) return this.#lastText;
    this.#last = n;
    if (n < 1000) return (this.#lastText = String(n));
    const high = Math.floor(n / 1000);
    if (high !== this.#high) {
      this.#high = high;
      this.#highText = String(high);
    }
    return (this.#lastText = this.#highText + THREE_DIGITS[n - high * 1000]!);
  }
}

/** What a consumer hands out of one read: the messages, in order, and the offset of each as a number. */
export interface DecodedMessages {
  readonly messages: KafkaMessage[];
  readonly offsets: number[];
}

/**
 * The KafkaMessages (as toKafkaMessage makes them) of every record at or after offset `from` in `records`,
 * whole batches as Engine.read returns them; control batches are skipped.
 */
export function toKafkaMessages(records: Buffer, from: number): DecodedMessages {
  const messages: KafkaMessage[] = [];
  const offsets: number[] = [];
  const offsetText = new DecimalText();
  const timestampText = new DecimalText();
  for (let pos = 0; pos < records.length; pos += batchTotalSize(records, pos)) {
    const header = readBatchHeader(records, pos);
    if (header.isControl) continue;
    const logAppendTime = header.timestampType === 'log-append';
    for (const record of decodeRecords(records, pos)) {
      if (record.offset < from) continue;
      messages.push(kafkaMessage(record, offsetText.of(record.offset), timestampText.of(logAppendTime ? header.maxTimestamp : record.timestamp)));
      offsets.push(record.offset);
    }
  }
  return { messages, offsets };
}
