// Records as the command line shows and reads them: the JSON Lines shape shared by `consume --format json`,
// `export`, `import` and `produce --format json` (UTF-8 text, or base64 with an encoding field when the
// bytes are not valid UTF-8), kcat-like output templates, and parsing those JSON lines back. Pure: no I/O.
import { isUtf8 } from 'node:buffer';
import { OnelogError } from '../errors.ts';
import type { RecordHeader } from '../format/record-batch.ts';
import { UsageError } from './output.ts';

/** A record as read from a partition. */
export interface ShownRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[] | null;
}

/** Bytes as text: UTF-8 when valid, else base64 (the caller says which where it matters). */
export function bytesText(b: Buffer): { text: string; base64: boolean } {
  return isUtf8(b) ? { text: b.toString('utf8'), base64: false } : { text: b.toString('base64'), base64: true };
}

/** Text of bytes for plain output: UTF-8, or base64 when not valid UTF-8; '' for null. */
export function showBytes(b: Buffer | null): string {
  return b === null ? '' : bytesText(b).text;
}

function jsonString(value: string): string {
  return JSON.stringify(value);
}

/**
 * One JSON line (without the newline) for a record:
 * {"topic","partition","offset","timestamp","key","value","headers":[{"key","value"}]}; key and value are
 * UTF-8 strings or null, and base64 strings flagged by "keyEncoding"/"valueEncoding": "base64" (a header
 * value likewise by its own "valueEncoding"). Built by hand: this runs once per record of a big export.
 */
export function recordJson(r: ShownRecord): string {
  let s = `{"topic":${jsonString(r.topic)},"partition":${String(r.partition)},"offset":${String(r.offset)},"timestamp":${String(r.timestamp)}`;
  if (r.key === null) s += ',"key":null';
  else {
    const k = bytesText(r.key);
    s += `,"key":${jsonString(k.text)}${k.base64 ? ',"keyEncoding":"base64"' : ''}`;
  }
  if (r.value === null) s += ',"value":null';
  else {
    const v = bytesText(r.value);
    s += `,"value":${jsonString(v.text)}${v.base64 ? ',"valueEncoding":"base64"' : ''}`;
  }
  if (r.headers === null || r.headers.length === 0) return `${s},"headers":[]}`;
  const hs = r.headers.map((h) => {
    if (h.value === null) return `{"key":${jsonString(h.key)},"value":null}`;
    const v = bytesText(h.value);
    return `{"key":${jsonString(h.key)},"value":${jsonString(v.text)}${v.base64 ? ',"valueEncoding":"base64"' : ''}}`;
  });
  return `${s},"headers":[${hs.join(',')}]}`;
}

/** A record read from one JSON line; absent fields are undefined (the command decides the defaults). */
export interface ParsedRecord {
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  readonly timestamp: number | undefined;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeader[];
}

function bad(where: string, what: string): OnelogError {
  return new OnelogError('INVALID_ARGUMENT', `${where}: ${what}. Each line must be a JSON object like {"key":"k","value":"v","headers":[{"key":"h","value":"x"}]}.`);
}

function decodeField(where: string, name: string, value: unknown, encoding: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw bad(where, `"${name}" must be a string or null`);
  if (encoding === undefined || encoding === 'utf8') return Buffer.from(value, 'utf8');
  if (encoding === 'base64') return Buffer.from(value, 'base64');
  throw bad(where, `"${name}Encoding" must be "base64" or "utf8"`);
}

function optionalInteger(where: string, name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw bad(where, `"${name}" must be a non-negative integer`);
  return n;
}

function parseHeaders(where: string, value: unknown): RecordHeader[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) {
    return value.map((h: unknown) => {
      if (typeof h !== 'object' || h === null || !('key' in h) || typeof h.key !== 'string') throw bad(where, 'each header must be {"key": string, "value": string|null}');
      const v = 'value' in h ? h.value : null;
      return { key: h.key, value: decodeField(where, 'header value', v, 'valueEncoding' in h ? h.valueEncoding : undefined) };
    });
  }
  if (typeof value === 'object') {
    return Object.entries(value).map(([key, v]) => ({ key, value: decodeField(where, `header ${key}`, v, undefined) }));
  }
  throw bad(where, '"headers" must be an array of {"key","value"} or an object');
}

/** Parses one JSON line of the record shape recordJson writes (also headers as a {k: v} object). */
export function parseRecordLine(line: string, where: string): ParsedRecord {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (err) {
    throw bad(where, `not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad(where, 'not a JSON object');
  const r = o as Record<string, unknown>;
  if (r.topic !== undefined && typeof r.topic !== 'string') throw bad(where, '"topic" must be a string');
  return {
    topic: r.topic,
    partition: optionalInteger(where, 'partition', r.partition),
    timestamp: optionalInteger(where, 'timestamp', r.timestamp),
    key: decodeField(where, 'key', r.key, r.keyEncoding),
    value: decodeField(where, 'value', r.value, r.valueEncoding),
    headers: parseHeaders(where, r.headers),
  };
}

type Piece = string | ((r: ShownRecord) => string);

const FIELDS: Readonly<Record<string, (r: ShownRecord) => string>> = {
  t: (r) => r.topic,
  p: (r) => String(r.partition),
  o: (r) => String(r.offset),
  k: (r) => showBytes(r.key),
  s: (r) => showBytes(r.value),
  K: (r) => (r.key === null ? '-1' : String(r.key.length)),
  S: (r) => (r.value === null ? '-1' : String(r.value.length)),
  T: (r) => String(r.timestamp),
  h: (r) => (r.headers ?? []).map((h) => `${h.key}=${showBytes(h.value)}`).join(','),
};

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\' };

/**
 * A kcat-like output template: %t topic, %p partition, %o offset, %k key, %s value, %K / %S key / value
 * length (-1 for null), %T timestamp (ms), %h headers (k=v,k=v), %% a percent sign; \n \t \r \0 \\ escapes.
 */
export function compileTemplate(template: string): (r: ShownRecord) => string {
  const pieces: Piece[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    const next = template[i + 1];
    if (c === '%' && next !== undefined) {
      i++;
      if (next === '%') {
        text += '%';
        continue;
      }
      const field = FIELDS[next];
      if (field === undefined) throw new UsageError(`unknown template field '%${next}': use %t %p %o %k %s %K %S %T %h or %%.`);
      if (text !== '') pieces.push(text);
      text = '';
      pieces.push(field);
    } else if (c === '\\' && next !== undefined && ESCAPES[next] !== undefined) {
      i++;
      text += ESCAPES[next];
    } else {
      text += c;
    }
  }
  if (text !== '') pieces.push(text);
  return (r) => {
    let s = '';
    for (const p of pieces) s += typeof p === 'string' ? p : p(r);
    return s;
  };
}
