// Test helper: a raw Kafka client over one TCP connection that sends requests at a pinned API version
// with onelog's own generated codecs and decodes the answers, so tests can exercise versions no
// third-party client negotiates. Requests are answered in order; it keeps no other state.
import net from 'node:net';
import { encodeRequestFrame, responseHeaderVersion } from '../../../src/protocol/frame.ts';
import { decodeResponseHeader } from '../../../src/protocol/generated/headers.ts';
import { Reader } from '../../../src/protocol/reader.ts';
import type { Writer } from '../../../src/protocol/writer.ts';

export interface RawClient {
  /** Sends one request and resolves with its decoded response. */
  request<Req, Res>(
    apiKey: number,
    apiVersion: number,
    encode: (w: Writer, message: Req, version: number) => void,
    message: Req,
    decode: (r: Reader, version: number) => Res,
  ): Promise<Res>;
  close(): void;
}

interface Waiting {
  readonly resolve: (body: Buffer) => void;
  readonly reject: (err: Error) => void;
}

export async function connectRaw(broker: string): Promise<RawClient> {
  const [host, port] = broker.split(':') as [string, string];
  const socket = net.connect(Number(port), host);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const waiting: Waiting[] = [];
  let buffered = Buffer.alloc(0);
  const failAll = (err: Error): void => {
    for (const w of waiting.splice(0)) w.reject(err);
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
      const size = buffered.readInt32BE(0);
      const frame = buffered.subarray(4, 4 + size);
      buffered = buffered.subarray(4 + size);
      const next = waiting.shift();
      if (next === undefined) throw new Error('response without a request');
      next.resolve(frame);
    }
  });
  socket.on('error', failAll);
  socket.on('close', () => {
    failAll(new Error('connection closed'));
  });
  let correlationId = 0;
  return {
    async request(apiKey, apiVersion, encode, message, decode) {
      const id = ++correlationId;
      const frame = await new Promise<Buffer>((resolve, reject) => {
        waiting.push({ resolve, reject });
        socket.write(encodeRequestFrame({ requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId: id, clientId: 'raw-test' }, (w) => {
          encode(w, message, apiVersion);
        }));
      });
      const reader = new Reader(frame);
      const header = decodeResponseHeader(reader, responseHeaderVersion(apiKey, apiVersion));
      if (header.correlationId !== id) throw new Error(`correlation id ${String(header.correlationId)}, expected ${String(id)}`);
      return decode(reader, apiVersion);
    },
    close() {
      socket.destroy();
    },
  };
}
