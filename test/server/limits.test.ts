// Connection limits of `onelog serve`, over raw sockets: connections beyond maxConnections are closed at
// once with a log line (and admitted again once others close), idle connections are closed after the
// idle timeout while busy ones stay, at most maxInFlightPerConnection requests of one connection run at
// once, and the command line's --max-connections and --idle-timeout flags apply the same limits.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { open } from '../../src/client/database.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeApiVersionsResponse, encodeApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts';
import { longPollFetchFrame } from './helpers/frames.ts';
import { connectRaw } from './helpers/raw-client.ts';
import { startServeProcess } from './helpers/serve-process.ts';
import { startServer } from './helpers/server-fixture.ts';

interface Probe {
  readonly socket: net.Socket;
  /** Resolves once the server closed the connection. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

async function probe(port: number): Promise<Probe> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  let closed = false;
  return {
    socket,
    closed: new Promise<void>((resolve) =>
      socket.once('close', () => {
        closed = true;
        resolve();
      }),
    ),
    isClosed: () => closed,
  };
}

async function apiVersions(broker: string): Promise<number> {
  const raw = await connectRaw(broker);
  try {
    const res = await raw.request(API_KEYS.API_VERSIONS, 3, encodeApiVersionsRequest, { clientSoftwareName: 't', clientSoftwareVersion: '1' }, decodeApiVersionsResponse);
    return res.errorCode;
  } finally {
    raw.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('connections beyond maxConnections are closed at once with a log line; freed slots admit again', async () => {
  const served = await startServer({ serve: { maxConnections: 2 } });
  try {
    const a = await probe(served.server.port);
    const b = await probe(served.server.port);
    const c = await probe(served.server.port);
    await c.closed;
    assert.equal(a.isClosed() || b.isClosed(), false);
    assert.ok(served.logLines.some((l) => l.includes('2 connections are open (max connections)')), served.logLines.join('\n'));
    a.socket.destroy();
    await a.closed;
    await sleep(50);
    assert.equal(await apiVersions(served.broker), 0);
    b.socket.destroy();
  } finally {
    await served.close();
  }
});

test('idle connections are closed after the idle timeout; connections with traffic stay open', async () => {
  const served = await startServer({ serve: { idleTimeoutMs: 300 } });
  try {
    const idle = await probe(served.server.port);
    const busy = await connectRaw(served.broker);
    const started = Date.now();
    while (Date.now() - started < 900) {
      await busy.request(API_KEYS.API_VERSIONS, 0, encodeApiVersionsRequest, { clientSoftwareName: '', clientSoftwareVersion: '' }, decodeApiVersionsResponse);
      await sleep(100);
    }
    assert.equal(idle.isClosed(), true);
    assert.ok(served.logLines.some((l) => l.includes('idle for more than 300 ms')), served.logLines.join('\n'));
    // The busy connection still answers.
    await busy.request(API_KEYS.API_VERSIONS, 0, encodeApiVersionsRequest, { clientSoftwareName: '', clientSoftwareVersion: '' }, decodeApiVersionsResponse);
    busy.close();
  } finally {
    await served.close();
  }
});

test('a request waiting longer than the idle timeout keeps its connection open', async () => {
  const served = await startServer({ serve: { idleTimeoutMs: 200, maxInFlightPerConnection: 2 } });
  try {
    await served.db.admin().createTopics({ topics: [{ topic: 'quiet', numPartitions: 1 }] });
    const times = await longPolls(served.server.port, 1, 600);
    assert.equal(times.length, 1);
    assert.ok(times[0]! >= 550, `answered after ${String(times[0])} ms`);
  } finally {
    await served.close();
  }
});

test('at most maxInFlightPerConnection requests of one connection run at once', async () => {
  const served = await startServer({ serve: { maxInFlightPerConnection: 2 } });
  try {
    await served.db.admin().createTopics({ topics: [{ topic: 'quiet', numPartitions: 1 }] });
    // Three pipelined long polls of 400 ms: two run at once, the third only after the first is answered.
    const times = await longPolls(served.server.port, 3, 400);
    assert.equal(times.length, 3);
    assert.ok(times[1]! < 700, `second answered after ${String(times[1])} ms`);
    assert.ok(times[2]! >= 750, `third answered after ${String(times[2])} ms`);
  } finally {
    await served.close();
  }
});

/** Pipelines `count` Fetches of the empty topic `quiet` that each wait `maxWaitMs`; resolves with answer times. */
async function longPolls(port: number, count: number, maxWaitMs: number): Promise<number[]> {
  const p = await probe(port);
  const version = 4;
  const frames = Array.from({ length: count }, (_, i) => longPollFetchFrame('quiet', i + 1, maxWaitMs, version));
  const started = Date.now();
  const times: number[] = [];
  let buffered = Buffer.alloc(0);
  const done = new Promise<void>((resolve) => {
    p.socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        buffered = buffered.subarray(4 + buffered.readInt32BE(0));
        times.push(Date.now() - started);
      }
      if (times.length === count) resolve();
    });
    void p.closed.then(resolve);
  });
  p.socket.write(Buffer.concat(frames));
  await done;
  p.socket.destroy();
  return times;
}

test('onelog serve --max-connections and --idle-timeout', { timeout: 20_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-limits-'));
  const file = path.join(dir, 'limits.onelog');
  await (await open(file)).close();
  const server = await startServeProcess(file, ['--max-connections', '1', '--idle-timeout', '400']);
  try {
    const first = await probe(server.port);
    const second = await probe(server.port);
    await second.closed;
    assert.equal(first.isClosed(), false);
    await first.closed;
    assert.equal(await apiVersions(server.broker), 0);
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
