// FindCoordinator (key 10), versions 0-6: the coordinator of every consumer group is this node (node 0 at
// the advertised host and port). v0 names one group; v1-3 add the key type; v4+ batch several keys
// (coordinatorKeys) and answer each on its own. A transaction coordinator (key type 1) is
// COORDINATOR_NOT_AVAILABLE, since onelog has no transactions; share groups (2) and unknown key types are
// INVALID_REQUEST.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeFindCoordinatorRequest,
  encodeFindCoordinatorResponse,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  type FindCoordinatorResponseCoordinator,
} from '../../protocol/generated/find-coordinator.ts';
import { defineHandler, NODE_ID, type RequestContext } from '../handler.ts';

const GROUP_KEY_TYPE = 0;
const TRANSACTION_KEY_TYPE = 1;

function coordinatorFor(ctx: RequestContext, key: string, keyType: number): FindCoordinatorResponseCoordinator {
  if (keyType === GROUP_KEY_TYPE) {
    return { key, nodeId: NODE_ID, host: ctx.server.advertisedHost, port: ctx.server.advertisedPort, errorCode: ERROR_CODES.NONE, errorMessage: null };
  }
  const refused = (errorCode: number, errorMessage: string): FindCoordinatorResponseCoordinator => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage });
  if (keyType === TRANSACTION_KEY_TYPE) return refused(ERROR_CODES.COORDINATOR_NOT_AVAILABLE, 'onelog has no transactions: there is no transaction coordinator.');
  return refused(ERROR_CODES.INVALID_REQUEST, `Coordinator key type ${String(keyType)} is not served: onelog coordinates consumer groups (key type 0) only.`);
}

export const findCoordinatorHandler = defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  apiKey: API_KEYS.FIND_COORDINATOR,
  minVersion: 0,
  maxVersion: 6,
  request: { decode: decodeFindCoordinatorRequest },
  response: { encode: encodeFindCoordinatorResponse },
  handle(ctx, request) {
    const keyType = ctx.apiVersion >= 1 ? request.keyType : GROUP_KEY_TYPE;
    if (ctx.apiVersion >= 4) {
      return {
        throttleTimeMs: 0,
        errorCode: ERROR_CODES.NONE,
        errorMessage: null,
        nodeId: -1,
        host: '',
        port: -1,
        coordinators: request.coordinatorKeys.map((key) => coordinatorFor(ctx, key, keyType)),
      };
    }
    const one = coordinatorFor(ctx, request.key, keyType);
    return { throttleTimeMs: 0, errorCode: one.errorCode, errorMessage: one.errorMessage, nodeId: one.nodeId, host: one.host, port: one.port, coordinators: [] };
  },
});
