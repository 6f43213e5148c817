// Fixed vectors: requests and responses encoded by hand from Kafka's protocol guide, checked against
// the generated codecs and frame.ts in both directions, plus the header-version rules. The bytes are
// written out literally, never produced by the code under test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OnelogError } from '../../src/errors.ts';
import {
  decodeRequestFrame,
  encodeRequestFrame,
  encodeResponseFrame,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../src/protocol/frame.ts';
import {
  decodeApiVersionsRequest,
  decodeApiVersionsResponse,
  encodeApiVersionsRequest,
  encodeApiVersionsResponse,
  type ApiVersionsResponse,
} from '../../src/protocol/generated/api-versions.ts';
import {
  decodeMetadataRequest,
  encodeMetadataRequest,
  type MetadataRequest,
} from '../../src/protocol/generated/metadata.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { ZERO_UUID_TEXT } from './schema-arbitraries.ts';

function hex(text: string): Buffer {
  return Buffer.from(text.replaceAll(/\s+/g, ''), 'hex');
}

const ONELOG = '00 06 6f6e656c6f67'; // STRING "onelog": int16 length, UTF-8 bytes

describe('ApiVersions v0 request', () => {
  // RequestHeader v1 (api_key INT16, api_version INT16, correlation_id INT32, client_id NULLABLE_STRING);
  // ApiVersions v0 has an empty body.
  const frame = hex(`00000010  0012 0000 00000007 ${ONELOG}`);

  it('encodes to the documented bytes', () => {
    const header = { requestApiKey: 18, requestApiVersion: 0, correlationId: 7, clientId: 'onelog' };
    const body = { clientSoftwareName: '', clientSoftwareVersion: '' };
    const bytes = encodeRequestFrame(header, (w) => encodeApiVersionsRequest(w, body, 0));
    assert.deepStrictEqual(bytes, frame);
  });

  it('decodes from the documented bytes', () => {
    const { header, body } = decodeRequestFrame(frame.subarray(4));
    assert.deepStrictEqual(header, { requestApiKey: 18, requestApiVersion: 0, correlationId: 7, clientId: 'onelog' });
    assert.deepStrictEqual(decodeApiVersionsRequest(body, 0), { clientSoftwareName: '', clientSoftwareVersion: '' });
    assert.equal(body.remaining, 0);
  });
});

describe('Metadata v1 request', () => {
  // Header v1, then topics: ARRAY of (name STRING), nullable from v1 on (-1 = all topics).
  const frame = hex(`00000026  0003 0001 00000008 ${ONELOG}  00000002 0006 6f7264657273 0008 7061796d656e7473`);
  const request: MetadataRequest = {
    topics: [
      { topicId: ZERO_UUID_TEXT, name: 'orders' },
      { topicId: ZERO_UUID_TEXT, name: 'payments' },
    ],
    // Absent from v1: the spec's default "true", and false.
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  };

  it('encodes to the documented bytes', () => {
    const header = { requestApiKey: 3, requestApiVersion: 1, correlationId: 8, clientId: 'onelog' };
    assert.deepStrictEqual(encodeRequestFrame(header, (w) => encodeMetadataRequest(w, request, 1)), frame);
  });

  it('decodes from the documented bytes, defaults filling the fields v1 lacks', () => {
    const { header, body } = decodeRequestFrame(frame.subarray(4));
    assert.deepStrictEqual(header, { requestApiKey: 3, requestApiVersion: 1, correlationId: 8, clientId: 'onelog' });
    assert.deepStrictEqual(decodeMetadataRequest(body, 1), request);
    assert.equal(body.remaining, 0);
  });

  it('reads a null topic array as null (all topics)', () => {
    assert.equal(decodeMetadataRequest(new Reader(hex('ffffffff')), 1).topics, null);
    assert.throws(() => decodeMetadataRequest(new Reader(hex('ffffffff')), 0), OnelogError);
  });
});

describe('ApiVersions v3 (flexible)', () => {
  it('uses request header v2: non-compact client id, then tagged fields; compact body strings', () => {
    const frame = hex(`0000001f  0012 0003 00000001 ${ONELOG} 00  07 6f6e656c6f67 06 302e312e30 00`);
    const { header, body } = decodeRequestFrame(frame.subarray(4));
    assert.deepStrictEqual(header, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'onelog' });
    const request = decodeApiVersionsRequest(body, 3);
    assert.deepStrictEqual(request, { clientSoftwareName: 'onelog', clientSoftwareVersion: '0.1.0' });
    assert.deepStrictEqual(encodeRequestFrame(header, (w) => encodeApiVersionsRequest(w, request, 3)), frame);
  });

  it('skips unknown tagged fields in the body', () => {
    const withUnknownTag = hex('07 6f6e656c6f67 06 302e312e30  01 05 03 aabbcc');
    const reader = new Reader(withUnknownTag);
    const request = decodeApiVersionsRequest(reader, 3);
    assert.deepStrictEqual(request, { clientSoftwareName: 'onelog', clientSoftwareVersion: '0.1.0' });
    assert.equal(reader.remaining, 0);
  });

  it('answers with response header v0 even though v3 is flexible', () => {
    const response: ApiVersionsResponse = {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };
    // size, correlation id (no header tagged fields), error code, compact array of one
    // (api_key, min, max, tagged fields), throttle time, body tagged fields (all default: none).
    const frame = hex('00000013  00000001  0000 02 0012 0000 0004 00 00000000 00');
    assert.deepStrictEqual(encodeResponseFrame(18, 3, 1, (w) => encodeApiVersionsResponse(w, response, 3)), frame);
    assert.deepStrictEqual(decodeApiVersionsResponse(new Reader(frame.subarray(8)), 3), response);
  });

  it('writes a non-default tagged field with its tag and size', () => {
    const response: ApiVersionsResponse = {
      errorCode: 0,
      apiKeys: [],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: 5n,
      finalizedFeatures: [],
      zkMigrationReady: true,
    };
    // tagged fields: count 2; tag 1 size 8 int64 5; tag 3 size 1 bool true.
    const body = hex('0000 01 00000000  02 01 08 0000000000000005 03 01 01');
    const frame = encodeResponseFrame(18, 3, 1, (w) => encodeApiVersionsResponse(w, response, 3));
    assert.deepStrictEqual(frame.subarray(8), body);
    assert.deepStrictEqual(decodeApiVersionsResponse(new Reader(body), 3), response);
  });
});

describe('header versions', () => {
  it('follow the flexible versions of each API', () => {
    assert.equal(requestHeaderVersion(3, 1), 1);
    assert.equal(requestHeaderVersion(3, 9), 2);
    assert.equal(requestHeaderVersion(18, 3), 2);
    assert.equal(responseHeaderVersion(0, 8), 0);
    assert.equal(responseHeaderVersion(0, 9), 1);
  });

  it('use v0 for ControlledShutdown v0 requests and for every ApiVersions response', () => {
    assert.equal(requestHeaderVersion(7, 0), 0);
    assert.equal(requestHeaderVersion(7, 1), 1);
    assert.equal(requestHeaderVersion(7, 3), 2);
    for (let version = 0; version <= 4; version++) assert.equal(responseHeaderVersion(18, version), 0);
  });

  it('still parse an ApiVersions request newer than any known version', () => {
    assert.equal(requestHeaderVersion(18, 99), 2);
    const { header } = decodeRequestFrame(hex(`0012 0063 00000002 ${ONELOG} 00`));
    assert.equal(header.requestApiVersion, 99);
  });

  it('reject an unknown API key', () => {
    assert.throws(() => requestHeaderVersion(9999, 0), OnelogError);
    assert.throws(() => decodeRequestFrame(hex('270f 0000 00000001 0000')), OnelogError);
  });
});
