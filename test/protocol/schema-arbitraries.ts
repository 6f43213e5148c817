// Test helper: fast-check arbitraries of message values built from the generated runtime schemas, for
// one message version, and the codec of each schema. Fields absent from the version take their
// defaults, derived here from the schema independently of the generator. Not a test file itself.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MessageCodec } from '../../src/protocol/codec.ts';
import { REQUEST_CODECS, RESPONSE_CODECS } from '../../src/protocol/generated/codecs.ts';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
} from '../../src/protocol/generated/headers.ts';
import type { FieldSchema, MessageSchema, VersionRange } from '../../src/protocol/generated/schemas.ts';

export const ZERO_UUID_TEXT = '00000000-0000-0000-0000-000000000000';
const MAX_ARRAY = 3;

export function inRange(range: VersionRange | null | undefined, version: number): boolean {
  return range !== null && range !== undefined && version >= range[0] && version <= range[1];
}

export function uuidText(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function structFields(schema: MessageSchema, field: FieldSchema): readonly FieldSchema[] {
  const fields = field.struct === undefined ? undefined : schema.structs[field.struct];
  assert.ok(fields !== undefined, `${schema.name}.${field.name}: no struct ${String(field.struct)}`);
  return fields;
}

/** The value Kafka gives a field that a version does not carry. */
export function defaultValue(schema: MessageSchema, field: FieldSchema): unknown {
  const text = field.default ?? '';
  if (text === 'null' || (field.type === 'records' && field.array !== true)) return null;
  if (field.array === true) return [];
  switch (field.type) {
    case 'struct':
      return Object.fromEntries(structFields(schema, field).map((f) => [f.name, defaultValue(schema, f)]));
    case 'bool':
      return text === 'true';
    case 'int64':
      return BigInt(text === '' ? '0' : text);
    case 'string':
      return text;
    case 'uuid':
      return ZERO_UUID_TEXT;
    case 'bytes':
      return new Uint8Array(0);
    default:
      return text === '' ? 0 : Number(text);
  }
}

function elementArbitrary(schema: MessageSchema, field: FieldSchema, version: number): fc.Arbitrary<unknown> {
  switch (field.type) {
    case 'bool':
      return fc.boolean();
    case 'int8':
      return fc.integer({ min: -0x80, max: 0x7f });
    case 'int16':
      return fc.integer({ min: -0x8000, max: 0x7fff });
    case 'uint16':
      return fc.integer({ min: 0, max: 0xffff });
    case 'int32':
      return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64':
      return fc.double();
    case 'string':
      return fc.string({ unit: 'binary', maxLength: 6 });
    case 'uuid':
      return fc.uint8Array({ minLength: 16, maxLength: 16 }).map(uuidText);
    case 'bytes':
      return fc.uint8Array({ maxLength: 8 });
    case 'records':
      return fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes));
    case 'struct':
      return structArbitrary(schema, structFields(schema, field), version);
  }
}

function fieldArbitrary(schema: MessageSchema, field: FieldSchema, version: number): fc.Arbitrary<unknown> {
  if (!inRange(field.versions, version)) return fc.constant(defaultValue(schema, field));
  const element = elementArbitrary(schema, field, version);
  const value = field.array === true ? fc.array(element, { maxLength: MAX_ARRAY }) : element;
  return inRange(field.nullableVersions, version) ? fc.option(value, { nil: null, freq: 4 }) : value;
}

function structArbitrary(
  schema: MessageSchema,
  fields: readonly FieldSchema[],
  version: number,
): fc.Arbitrary<Record<string, unknown>> {
  const model = Object.fromEntries(fields.map((field) => [field.name, fieldArbitrary(schema, field, version)]));
  return fc.record(model, { noNullPrototype: true });
}

/** Values of the message at `version`, as the generated interfaces describe them. */
export function messageArbitrary(schema: MessageSchema, version: number): fc.Arbitrary<Record<string, unknown>> {
  return structArbitrary(schema, schema.fields, version);
}

const HEADER_CODECS: Readonly<Record<string, MessageCodec<unknown>>> = {
  RequestHeader: { encode: encodeRequestHeader, decode: decodeRequestHeader },
  ResponseHeader: { encode: encodeResponseHeader, decode: decodeResponseHeader },
};

export function codecFor(schema: MessageSchema): MessageCodec<unknown> {
  const table: Readonly<Record<number, MessageCodec<unknown>>> =
    schema.type === 'request' ? REQUEST_CODECS : RESPONSE_CODECS;
  const codec = schema.type === 'header' ? HEADER_CODECS[schema.name] : table[schema.apiKey ?? -1];
  assert.ok(codec !== undefined, `no codec for ${schema.name}`);
  return codec;
}

/** Every version of every schema, in order. */
export function versionsOf(schema: MessageSchema): number[] {
  const [low, high] = schema.validVersions;
  return Array.from({ length: high - low + 1 }, (_, i) => low + i);
}
