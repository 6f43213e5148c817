// Conversions between kafkajs-shaped messages and the record format: a producer's Message to the
// RecordInput the engine encodes, and decoded records (one, or all of a read) to the KafkaMessages a
// consumer hands out.
// Pure data shaping: no I/O, no partition choice, no batching.

import { OnelogError } from '../errors.ts';
import { batchTotalSize, decodeRecordsInto, readBatchHeader, type BatchHeader, type DecodedRecord, type RecordHeader, type RecordInput, type RecordVisitor } from '../format/record-batch.ts';
import type { IHeaders, KafkaMessage, KafkaMessageHeaders, Message } from './types.ts';

/** Bytes of a key, value or header value: strings are UTF-8, as kafkajs encodes them. */
export function toBytes(value: unknown, what: string): Buffer | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new OnelogError('INVALID_ARGUMENT', `A message ${what} must be a Buffer, a string or null, got ${typeof value}.`);
}

function toRecordHeaders(headers: IHeaders): RecordHeader[] {
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

/** Longest run of decimal digits textTimestamp reads itself: exact, as every 15-digit number is below 2^53. */
const MAX_EXACT_DIGITS = 15;

/**
 * A timestamp given as text: a string of 1 to 15 decimal digits (as kafkajs sends timestamps) is read in
 * one pass; anything else goes to Number(), whose rules apply (signs, spaces, exponents, '' as 0).
 */
function textTimestamp(text: string): number {
  const length = text.length;
  if (length === 0 || length > MAX_EXACT_DIGITS) return Number(text);
  let n = 0;
  for (let i = 0; i < length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number(text);
    n = n * 10 + digit;
  }
  return n;
}

/** A message's timestamp in ms: its own (string or number) or `now`; negative or non-integer is refused. */
export function messageTimestamp(message: Message, now: number): number {
  const given: unknown = message.timestamp;
  if (given === undefined || given === null) return now;
  const ts = typeof given === 'number' ? given : typeof given === 'string' ? textTimestamp(given) : Number(given);
  if (!Number.isSafeInteger(ts) || ts < 0) {
    throw new OnelogError('INVALID_ARGUMENT', `A message timestamp must be a non-negative integer of milliseconds (string or number), got ${JSON.stringify(given)}.`);
  }
  return ts;
}

/**
 * Whether a message already is the record the engine encodes: Buffer (or null) key and value, no headers and
 * a valid numeric timestamp. Such a message is handed to the engine as it is, with no copy.
 */
function isRecordInput(message: Message): message is Message & RecordInput {
  const { key, value, timestamp } = message;
  return (
    message.headers === undefined &&
    typeof timestamp === 'number' &&
    Number.isSafeInteger(timestamp) &&
    timestamp >= 0 &&
    (key === null || Buffer.isBuffer(key)) &&
    (value === null || Buffer.isBuffer(value))
  );
}

/**
 * The record the engine encodes for one kafkajs message: the message itself when it already has that shape
 * (see isRecordInput), else a converted copy (strings as UTF-8, headers as a list, `now` as the default
 * timestamp). INVALID_ARGUMENT for a key, value, header or timestamp of the wrong type.
 */
export function toRecordInput(message: Message, now: number): RecordInput {
  if (isRecordInput(message)) return message;
  const key = toBytes(message.key, 'key');
  const value = toBytes(message.value, 'value');
  const timestamp = messageTimestamp(message, now);
  if (message.headers === undefined) return { key, value, timestamp };
  const headers = toRecordHeaders(message.headers);
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

interface KafkaMessageConstructor {
  new (key: Buffer | null, value: Buffer | null, timestamp: string, attributes: number, offset: string, headers: KafkaMessageHeaders): KafkaMessage;
  prototype: object;
}

/**
 * Makes every KafkaMessage with a constructor call, not an object literal. V8 marks the first objects of
 * each object literal and, when a young-generation collection finds nearly all of them still alive (as
 * when it runs while a consumer holds a whole read's messages), allocates every later object of that
 * literal straight in the old generation ("allocation-site pretenuring"), where only full collections free
 * them. Whether that happens depends on when the first collection falls, so it came and went between runs:
 * a consumer in a process that had produced before read 1.4-1.8M msgs/s with 140-200 ms of GC per 1M
 * messages (1.9-3.6M and 7-32 ms with the flag --no-allocation-site-pretenuring). Objects made by this
 * constructor are not marked: 2.7-3.6M and 5-30 ms without the flag. Its prototype is Object.prototype,
 * so a message is a plain object with kafkajs's own properties, in kafkajs's order.
 */
const PlainKafkaMessage = function (this: KafkaMessage, key: Buffer | null, value: Buffer | null, timestamp: string, attributes: number, offset: string, headers: KafkaMessageHeaders): void {
  this.key = key;
  this.value = value;
  this.timestamp = timestamp;
  this.attributes = attributes;
  this.offset = offset;
  this.headers = headers;
} as unknown as KafkaMessageConstructor;
PlainKafkaMessage.prototype = Object.prototype;

/**
 * The KafkaMessage for one decoded record of the batch whose header is `batchHeader`: offset and
 * timestamp as decimal strings (a LogAppendTime batch's records carry its maxTimestamp), headers keyed by
 * name with repeated names gathered into arrays in record order, as kafkajs decodes them (null header
 * values: see KafkaMessageHeaders).
 */
export function toKafkaMessage(record: DecodedRecord, batchHeader: Pick<BatchHeader, 'timestampType' | 'maxTimestamp'>): KafkaMessage {
  const timestamp = String(batchHeader.timestampType === 'log-append' ? batchHeader.maxTimestamp : record.timestamp);
  const headers = record.headers.length === 0 ? {} : toMessageHeaders(record.headers);
  return new PlainKafkaMessage(record.key, record.value, timestamp, record.attributes, String(record.offset), headers);
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
  readonly offsets: Float64Array;
}

/**
 * Makes the KafkaMessage of each record handed to it straight from the record's fields (no DecodedRecord),
 * into arrays sized for the records of the read (so they never grow).
 */
class MessageCollector implements RecordVisitor {
  readonly messages: KafkaMessage[];
  readonly offsets: Float64Array;
  count = 0;
  readonly #from: number;
  readonly #offsetText = new DecimalText();
  readonly #timestampText = new DecimalText();

  constructor(from: number, capacity: number) {
    this.#from = from;
    this.messages = new Array<KafkaMessage>(capacity);
    this.offsets = new Float64Array(capacity);
  }

  record(offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[] | null, attributes: number): void {
    if (offset < this.#from) return;
    this.messages[this.count] = new PlainKafkaMessage(key, value, this.#timestampText.of(timestamp), attributes, this.#offsetText.of(offset), headers === null ? {} : toMessageHeaders(headers));
    this.offsets[this.count++] = offset;
  }
}

/**
 * The KafkaMessages (as toKafkaMessage makes them) of every record at or after offset `from` in `records`,
 * whole batches as Engine.read returns them; control batches are skipped.
 */
export function toKafkaMessages(records: Buffer, from: number): DecodedMessages {
  let capacity = 0;
  for (let pos = 0; pos < records.length; pos += batchTotalSize(records, pos)) {
    const header = readBatchHeader(records, pos);
    if (!header.isControl) capacity += header.recordCount;
  }
  // A damaged header may claim whatever count: no read holds more records than bytes.
  const collector = new MessageCollector(from, Math.min(capacity, records.length));
  for (let pos = 0; pos < records.length; pos += batchTotalSize(records, pos)) {
    if (readBatchHeader(records, pos).isControl) continue;
    decodeRecordsInto(records, pos, collector);
  }
  const { messages, offsets, count } = collector;
  messages.length = count;
  return { messages, offsets: offsets.subarray(0, count) };
}
