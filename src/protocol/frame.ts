// Kafka request/response framing: which header version an API version uses (derived from the API's
// flexible versions, as Kafka does), and whole frames: int32 size, header, body. Pure codec: it never
// touches sockets or files, and leaves the body to the generated message codecs.
import { OnelogError } from '../errors.ts';
import { API_KEYS, apiInfo, type ApiInfo } from './generated/api-keys.ts';
import {
  decodeRequestHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  type RequestHeader,
} from './generated/headers.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

function knownApi(apiKey: number): ApiInfo {
  const api = apiInfo(apiKey);
  if (api === undefined) throw new OnelogError('INVALID_ARGUMENT', `unknown API key ${apiKey}`);
  return api;
}

function isFlexible(api: ApiInfo, apiVersion: number): boolean {
  return api.firstFlexibleVersion !== null && apiVersion >= api.firstFlexibleVersion;
}

/**
 * Request header version: 2 for flexible API versions, else 1; 0 only for ControlledShutdown v0.
 * Versions above the API's maximum follow its open-ended flexible range, so a newer client's
 * ApiVersions request can still be parsed and answered.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  const api = knownApi(apiKey);
  if (apiKey === API_KEYS.CONTROLLED_SHUTDOWN && apiVersion === 0) return 0;
  return isFlexible(api, apiVersion) ? 2 : 1;
}

/** Response header version: 1 for flexible API versions, else 0; always 0 for ApiVersions. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  const api = knownApi(apiKey);
  if (apiKey === API_KEYS.API_VERSIONS) return 0;
  return isFlexible(api, apiVersion) ? 1 : 0;
}

export interface RequestFrame {
  readonly header: RequestHeader;
  /** Positioned at the first byte of the request body. */
  readonly body: Reader;
}

/** Decodes the header of a request frame given without its int32 size prefix. */
export function decodeRequestFrame(frame: Uint8Array): RequestFrame {
  const peek = new Reader(frame);
  const apiKey = peek.int16();
  const apiVersion = peek.int16();
  const body = new Reader(frame);
  const header = decodeRequestHeader(body, requestHeaderVersion(apiKey, apiVersion));
  return { header, body };
}

function sizePrefixed(writeContent: (writer: Writer) => void): Buffer {
  const writer = new Writer();
  writer.int32(0);
  writeContent(writer);
  writer.int32At(0, writer.length - 4);
  return writer.finish();
}

/** A whole request frame: int32 size, the header in the version its API version needs, the body. */
export function encodeRequestFrame(header: RequestHeader, writeBody: (writer: Writer) => void): Buffer {
  return sizePrefixed((writer) => {
    encodeRequestHeader(writer, header, requestHeaderVersion(header.requestApiKey, header.requestApiVersion));
    writeBody(writer);
  });
}

/** A whole response frame: int32 size, the response header for this API version, the body. */
export function encodeResponseFrame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  writeBody: (writer: Writer) => void,
): Buffer {
  return sizePrefixed((writer) => {
    encodeResponseHeader(writer, { correlationId }, responseHeaderVersion(apiKey, apiVersion));
    writeBody(writer);
  });
}
