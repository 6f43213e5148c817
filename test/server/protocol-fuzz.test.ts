// Protocol fuzz against a running `onelog serve` (a child process, so its RSS is its own): 100,000
// frames — random bytes, well-formed requests of every served API and version with random field
// values, and mutations of those (flipped, truncated, extended bytes, lying size prefixes) — sent over
// many connections. The server must stay up, answer a valid request afterwards, and keep its RSS bounded.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeApiVersionsResponse, encodeApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts';
import { MESSAGE_SCHEMAS } from '../../src/protocol/generated/schemas.ts';
import { encodeRequestFrame } from '../../src/protocol/frame.ts';
import { decodeDeleteGroupsResponse, encodeDeleteGroupsRequest } from '../../src/protocol/generated/delete-groups.ts';
import { decodeDeleteTopicsResponse, encodeDeleteTopicsRequest } from '../../src/protocol/generated/delete-topics.ts';
import { decodeListGroupsResponse, encodeListGroupsRequest } from '../../src/protocol/generated/list-groups.ts';
import { decodeMetadataResponse, encodeMetadataRequest } from '../../src/protocol/generated/metadata.ts';
import { codecFor, messageArbitrary } from '../protocol/schema-arbitraries.ts';
import { connectRaw } from './helpers/raw-client.ts';
import { startServeProcess } from './helpers/serve-process.ts';

const FRAMES = 100_000;
const FRAMES_PER_CONNECTION = 20;
const PARALLEL_CONNECTIONS = 8;
const RSS_LIMIT_MB = 400;
/** Frames between clean-ups of the topics and groups random requests created. */
const CLEANUP_EVERY = 10_000;

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status);
  assert.ok(kb !== null, 'VmRSS missing');
  return Number(kb[1]) / 1024;
}

/** Well-formed request frames of every API the server advertises, at every advertised version. */
function validFrameArbitrary(served: readonly { apiKey: number; minVersion: number; maxVersion: number }[]): fc.Arbitrary<Buffer> {
  const options = served.flatMap((api) => {
    const schema = MESSAGE_SCHEMAS.find((s) => s.type === 'request' && s.apiKey === api.apiKey);
    assert.ok(schema !== undefined);
    const codec = codecFor(schema);
    return Array.from({ length: api.maxVersion - api.minVersion + 1 }, (_, i) => {
      const version = api.minVersion + i;
      return messageArbitrary(schema, version).map((message) =>
        encodeRequestFrame({ requestApiKey: api.apiKey, requestApiVersion: version, correlationId: 7, clientId: 'fuzz' }, (w) => {
          codec.encode(w, message, version);
        }),
      );
    });
  });
  return fc.oneof(...options);
}

/** A frame turned bad: bytes flipped, cut short, padded, or its size prefix made to lie. */
function mutate(frame: Buffer, rng: () => number): Buffer {
  const out = Buffer.from(frame);
  switch (Math.floor(rng() * 4)) {
    case 0:
      for (let i = 0; i < 1 + Math.floor(rng() * 4); i++) out[4 + Math.floor(rng() * (out.length - 4))] = Math.floor(rng() * 256);
      return out;
    case 1: {
      const cut = out.subarray(0, 4 + Math.floor(rng() * (out.length - 4)));
      cut.writeInt32BE(cut.length - 4, 0);
      return cut;
    }
    case 2: {
      const padded = Buffer.concat([out, Buffer.from(Array.from({ length: 1 + Math.floor(rng() * 32) }, () => Math.floor(rng() * 256)))]);
      padded.writeInt32BE(padded.length - 4, 0);
      return padded;
    }
    default:
      out.writeInt32BE(Math.floor(rng() * 0x7fffffff) - (rng() < 0.1 ? 0x40000000 : 0), 0);
      return out;
  }
}

function randomFrame(rng: () => number): Buffer {
  const body = Buffer.from(Array.from({ length: Math.floor(rng() * 64) }, () => Math.floor(rng() * 256)));
  const frame = Buffer.alloc(4 + body.length);
  frame.writeInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Writes the frames on one connection, half-closes it, and waits until the server has closed it too. */
function blast(port: number, frames: readonly Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.on('close', () => resolve());
    socket.setTimeout(5000, () => socket.destroy());
    socket.write(Buffer.concat(frames));
    socket.end();
  });
}

/**
 * Deletes every topic and (empty) group through the server, as an operator would: random requests create
 * thousands, and the fuzz is about bytes on the wire, not about how the file scales with them.
 */
async function cleanUp(port: number): Promise<void> {
  const client = await connectRaw(`127.0.0.1:${String(port)}`);
  try {
    const metadata = await client.request(API_KEYS.METADATA, 1, encodeMetadataRequest, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }, decodeMetadataResponse);
    const topicNames = metadata.topics.flatMap((t) => (t.name === null ? [] : [t.name]));
    if (topicNames.length > 0) await client.request(API_KEYS.DELETE_TOPICS, 1, encodeDeleteTopicsRequest, { topics: [], topicNames, timeoutMs: 10_000 }, decodeDeleteTopicsResponse);
    const groups = await client.request(API_KEYS.LIST_GROUPS, 0, encodeListGroupsRequest, { statesFilter: [], typesFilter: [] }, decodeListGroupsResponse);
    const groupsNames = groups.groups.map((g) => g.groupId);
    if (groupsNames.length > 0) await client.request(API_KEYS.DELETE_GROUPS, 0, encodeDeleteGroupsRequest, { groupsNames }, decodeDeleteGroupsResponse);
  } finally {
    client.close();
  }
}

/** The APIs the server advertises, asked over a fresh connection (raw-client checks the correlation id). */
async function apiVersions(port: number): Promise<{ apiKey: number; minVersion: number; maxVersion: number }[]> {
  const client = await connectRaw(`127.0.0.1:${String(port)}`);
  try {
    const response = await client.request(API_KEYS.API_VERSIONS, 3, encodeApiVersionsRequest, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }, decodeApiVersionsResponse);
    assert.equal(response.errorCode, 0);
    return response.apiKeys;
  } finally {
    client.close();
  }
}

test('the server survives 100,000 random and mutated frames with bounded memory', { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-fuzz-'));
  const served = await startServeProcess(path.join(dir, 'fuzz.onelog'), ['--sync', 'none']);
  try {
    const apis = await apiVersions(served.port);
    const valid = validFrameArbitrary(apis);
    let seed = 0x5eed;
    const rng = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 0x1_0000_0000;
    };
    let peakRss = 0;
    let sent = 0;
    // A connection carries well-formed requests up to the first bad frame, which closes it: every
    // frame sent is one the server reads and acts on.
    const worker = async (): Promise<void> => {
      while (sent < FRAMES) {
        const n = Math.min(FRAMES_PER_CONNECTION, FRAMES - sent);
        const samples = fc.sample(valid, { numRuns: n, seed: Math.floor(rng() * 0x7fffffff) });
        const frames: Buffer[] = [];
        for (const frame of samples) {
          const r = rng();
          frames.push(r < 0.8 ? frame : r < 0.97 ? mutate(frame, rng) : randomFrame(rng));
          if (r >= 0.8) break;
        }
        const cleanUpDue = Math.floor((sent + frames.length) / CLEANUP_EVERY) > Math.floor(sent / CLEANUP_EVERY);
        sent += frames.length;
        await blast(served.port, frames);
        if (cleanUpDue) await cleanUp(served.port);
        peakRss = Math.max(peakRss, rssMb(served.pid));
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_CONNECTIONS }, worker));
    assert.ok(sent >= FRAMES);
    // Still up, and still answering.
    assert.deepEqual(await apiVersions(served.port), apis);
    assert.ok(peakRss < RSS_LIMIT_MB, `server RSS peaked at ${peakRss.toFixed(0)} MB (limit ${RSS_LIMIT_MB} MB)`);
  } finally {
    assert.equal(await served.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
