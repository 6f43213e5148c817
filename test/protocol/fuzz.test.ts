// Fuzz tests of the decoders: random, truncated and mutated bytes fed to every generated decoder (and
// to request-frame parsing) either decode or throw OnelogError, never anything else; a strict prefix
// of a valid encoding always throws. Iteration counts stay in the low thousands to keep it fast.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { OnelogError } from '../../src/errors.ts';
import type { MessageCodec } from '../../src/protocol/codec.ts';
import { decodeRequestFrame } from '../../src/protocol/frame.ts';
import { MESSAGE_SCHEMAS, type MessageSchema } from '../../src/protocol/generated/schemas.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';
import { codecFor, messageArbitrary, versionsOf } from './schema-arbitraries.ts';

interface Target {
  readonly schema: MessageSchema;
  readonly codec: MessageCodec<unknown>;
  readonly version: number;
}

const targets: readonly Target[] = MESSAGE_SCHEMAS.flatMap((schema) =>
  versionsOf(schema).map((version) => ({ schema, codec: codecFor(schema), version })),
);
const target = fc.constantFrom(...targets);

/** Runs `decode`; returns whether it threw, failing the test on any error but OnelogError. */
function threwOnelogError(decode: () => unknown): boolean {
  try {
    decode();
    return false;
  } catch (error) {
    assert.ok(error instanceof OnelogError, `expected OnelogError, got ${String(error)}`);
    return true;
  }
}

function encode(t: Target, value: unknown): Buffer {
  const writer = new Writer();
  t.codec.encode(writer, value, t.version);
  return Buffer.from(writer.finish());
}

const encoded = target.chain((t) =>
  messageArbitrary(t.schema, t.version).map((value) => ({ t, bytes: encode(t, value) })),
);
const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });

test('random bytes make decoders return or throw OnelogError', () => {
  fc.assert(
    fc.property(target, fc.uint8Array({ maxLength: 96 }), (t, bytes) => {
      threwOnelogError(() => t.codec.decode(new Reader(bytes), t.version));
    }),
    { numRuns: 3000 },
  );
});

test('every strict prefix of a valid encoding throws OnelogError', () => {
  fc.assert(
    fc.property(encoded, fc.nat(), ({ t, bytes }, cut) => {
      fc.pre(bytes.length > 0);
      const prefix = bytes.subarray(0, cut % bytes.length);
      assert.ok(threwOnelogError(() => t.codec.decode(new Reader(prefix), t.version)));
    }),
    { numRuns: 1500 },
  );
});

test('mutated valid encodings make decoders return or throw OnelogError', () => {
  fc.assert(
    fc.property(encoded, edits, ({ t, bytes }, changes) => {
      fc.pre(bytes.length > 0);
      const mutated = Buffer.from(bytes);
      for (const [position, value] of changes) mutated[position % mutated.length] = value;
      threwOnelogError(() => t.codec.decode(new Reader(mutated), t.version));
    }),
    { numRuns: 1500 },
  );
});

test('random request frames make header parsing return or throw OnelogError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
      threwOnelogError(() => decodeRequestFrame(bytes));
    }),
    { numRuns: 1000 },
  );
});
