// The connection loop of `onelog serve`: responses come back in request order even when an earlier
// request waits (a long-poll Fetch ahead of an ApiVersions), many connections are served at once, and a
// frame over the cap, a malformed header, an API that is not served or a version out of range closes
// only that connection, with a log line, while the server keeps answering others.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeApiVersionsResponse, encodeApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts';
import { decodeResponseHeader } from '../../src/protocol/generated/headers.ts';
import { encodeRequestFrame, responseHeaderVersion } from '../../src/protocol/frame.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { longPollFetchFrame } from './helpers/frames.ts';
import { connectRaw } from './helpers/raw-client.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

const MAX_FRAME_BYTES = 64 * 1024;
let served: ServedDatabase;

before(async () => {
  served = await startServer({ serve: { maxFrameBytes: MAX_FRAME_BYTES } });
  await served.db.admin().createTopics({ topics: [{ topic: 'quiet', numPartitions: 1 }] });
});
after(async () => {
  await served.close();
});

function apiVersionsFrame(correlationId: number, version = 3): Buffer {
  return encodeRequestFrame({ requestApiKey: API_KEYS.API_VERSIONS, requestApiVersion: version, correlationId, clientId: 'test' }, (w) => {
    // A newer client's body: the v4 layout (flexible, as every later version is).
    encodeApiVersionsRequest(w, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }, Math.min(version, 4));
  });
}

interface Exchange {
  /** Correlation ids of the responses, in arrival order, with the time each arrived. */
  readonly responses: { readonly correlationId: number; readonly atMs: number }[];
  /** Whether the server closed the connection. */
  readonly closed: boolean;
}

/** Writes `bytes` on a fresh connection and collects responses until `count` arrived or it closed. */
function exchange(bytes: Buffer, count: number, apiKeyOf: (correlationId: number) => [number, number]): Promise<Exchange> {
  const [host, port] = served.broker.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(Number(port), host);
    const responses: { correlationId: number; atMs: number }[] = [];
    let buffered = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        const correlationId = frame.readInt32BE(0);
        const [apiKey, version] = apiKeyOf(correlationId);
        assert.equal(decodeResponseHeader(new Reader(frame), responseHeaderVersion(apiKey, version)).correlationId, correlationId);
        responses.push({ correlationId, atMs: performance.now() - started });
      }
      if (responses.length === count) {
        socket.destroy();
        resolve({ responses, closed: false });
      }
    });
    socket.on('close', () => resolve({ responses, closed: true }));
    socket.write(bytes);
  });
}

test('responses keep request order: an ApiVersions behind a waiting Fetch is answered after it', async () => {
  const result = await exchange(Buffer.concat([longPollFetchFrame('quiet', 1, 300, 12), apiVersionsFrame(2)]), 2, (id) => (id === 1 ? [API_KEYS.FETCH, 12] : [API_KEYS.API_VERSIONS, 3]));
  assert.deepEqual(result.responses.map((r) => r.correlationId), [1, 2]);
  assert.ok(result.responses[0]!.atMs >= 250, `the fetch waited ${String(result.responses[0]!.atMs)} ms`);
});

test('many connections are served at once', async () => {
  const clients = await Promise.all(Array.from({ length: 50 }, () => connectRaw(served.broker)));
  try {
    const answers = await Promise.all(
      clients.map((c) => c.request(API_KEYS.API_VERSIONS, 3, encodeApiVersionsRequest, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }, decodeApiVersionsResponse)),
    );
    for (const a of answers) assert.equal(a.errorCode, 0);
  } finally {
    for (const c of clients) c.close();
  }
});

test('an ApiVersions version the server does not know is answered at v0 with UNSUPPORTED_VERSION', async () => {
  const client = await connectRaw(served.broker);
  try {
    const answer = await client.request(API_KEYS.API_VERSIONS, 99, (w) => {
      encodeApiVersionsRequest(w, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }, 4);
    }, null, (r) => decodeApiVersionsResponse(r, 0));
    assert.equal(answer.errorCode, ERROR_CODES.UNSUPPORTED_VERSION);
    assert.deepEqual(answer.apiKeys.find((k) => k.apiKey === API_KEYS.API_VERSIONS), { apiKey: API_KEYS.API_VERSIONS, minVersion: 0, maxVersion: 4 });
  } finally {
    client.close();
  }
});

const badFrames: readonly [string, Buffer, RegExp][] = [
  ['a frame over the cap', Buffer.from([0x00, 0x10, 0x00, 0x01]), /frame size 1048577 is outside/],
  ['a negative size', Buffer.from([0xff, 0xff, 0xff, 0xfe]), /frame size -2 is outside/],
  ['an API that is not served', encodeRequestFrame({ requestApiKey: API_KEYS.END_TXN, requestApiVersion: 0, correlationId: 1, clientId: 'x' }, (w) => w.int32(0)), /API key 26 is not served/],
  ['an unknown API key', Buffer.from([0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0, 0]), /unknown API key/],
  ['a version out of range', encodeRequestFrame({ requestApiKey: API_KEYS.METADATA, requestApiVersion: 40, correlationId: 1, clientId: 'x' }, (w) => w.int32(0)), /version 40 is not served/],
  ['a truncated body', encodeRequestFrame({ requestApiKey: API_KEYS.METADATA, requestApiVersion: 1, correlationId: 1, clientId: 'x' }, (w) => w.int32(5)), /array of 5 elements/],
];

for (const [what, bytes, logged] of badFrames) {
  test(`${what} closes that connection with a log line; the server keeps serving`, async () => {
    const linesBefore = served.logLines.length;
    const result = await exchange(bytes, 1, () => [API_KEYS.API_VERSIONS, 3]);
    assert.equal(result.closed, true);
    assert.deepEqual(result.responses, []);
    const newLines = served.logLines.slice(linesBefore);
    assert.ok(newLines.some((l) => logged.test(l)), newLines.join('\n'));
    const after = await exchange(apiVersionsFrame(5), 1, () => [API_KEYS.API_VERSIONS, 3]);
    assert.deepEqual(after.responses.map((r) => r.correlationId), [5]);
  });
}
