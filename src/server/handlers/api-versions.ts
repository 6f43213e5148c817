// ApiVersions (key 18), versions 0-4: advertises exactly the APIs and version ranges this server's
// handlers serve. A version above 4 is answered by the connection loop (v0, UNSUPPORTED_VERSION), as
// Kafka does, so the client can retry with one it knows.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeApiVersionsRequest, encodeApiVersionsResponse, type ApiVersionsRequest, type ApiVersionsResponse } from '../../protocol/generated/api-versions.ts';
import { defineHandler, type ServedApi } from '../handler.ts';

/** The ApiVersions answer: `apis` as served, with `errorCode` (UNSUPPORTED_VERSION for a version too new). */
export function apiVersionsResponse(apis: readonly ServedApi[], errorCode: number): ApiVersionsResponse {
  return {
    errorCode,
    apiKeys: apis.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
}

export const apiVersionsHandler = defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: API_KEYS.API_VERSIONS,
  minVersion: 0,
  maxVersion: 4,
  request: { decode: decodeApiVersionsRequest },
  response: { encode: encodeApiVersionsResponse },
  handle(ctx) {
    return apiVersionsResponse(ctx.server.apis, ERROR_CODES.NONE);
  },
});
