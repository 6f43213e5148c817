// Property tests of the generated codecs: for every API, every valid version, request and response
// (and both headers), decoding an encoded value gives it back, consumes every byte, and re-encoding
// the result gives the same bytes. Values come from the generated runtime schemas; runs per version
// stay modest so the whole suite runs in seconds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MESSAGE_SCHEMAS } from '../../src/protocol/generated/schemas.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';
import { codecFor, messageArbitrary, versionsOf } from './schema-arbitraries.ts';

const RUNS_PER_VERSION = 20;

for (const schema of MESSAGE_SCHEMAS) {
  const codec = codecFor(schema);
  describe(schema.name, () => {
    for (const version of versionsOf(schema)) {
      it(`v${version}: decode(encode(x)) deep-equals x`, () => {
        fc.assert(
          fc.property(messageArbitrary(schema, version), (value) => {
            const writer = new Writer();
            codec.encode(writer, value, version);
            const bytes = Buffer.from(writer.finish());
            const reader = new Reader(bytes);
            const decoded = codec.decode(reader, version);
            assert.deepStrictEqual(decoded, value);
            assert.equal(reader.remaining, 0);
            const again = new Writer();
            codec.encode(again, decoded, version);
            assert.deepStrictEqual(again.finish(), bytes);
          }),
          { numRuns: RUNS_PER_VERSION },
        );
      });
    }
  });
}
