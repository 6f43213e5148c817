// DescribeCluster (key 60), versions 0-1: the cluster is this one server: id = the database's id, node 0
// as controller and only broker, at the advertised address. Like a Kafka broker it answers requests for
// controller endpoints (v1 EndpointType 2) with MISMATCHED_ENDPOINT_TYPE and unknown endpoint types with
// UNSUPPORTED_ENDPOINT_TYPE (INVALID_REQUEST at v0). Without an authorizer every cluster operation is
// allowed, as in Kafka. It changes nothing.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeDescribeClusterRequest, encodeDescribeClusterResponse, type DescribeClusterRequest, type DescribeClusterResponse } from '../../protocol/generated/describe-cluster.ts';
import { defineHandler, NODE_ID } from '../handler.ts';

/** Kafka's EndpointType ids. */
const ENDPOINT_TYPE = { BROKER: 1, CONTROLLER: 2 } as const;

/** The int32 that means "not requested" in authorized-operations fields. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

/**
 * Kafka's bit field of the operations allowed on the cluster when no authorizer runs: all it supports
 * (CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12).
 */
const CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);

export const describeClusterHandler = defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
  apiKey: API_KEYS.DESCRIBE_CLUSTER,
  minVersion: 0,
  maxVersion: 1,
  request: { decode: decodeDescribeClusterRequest },
  response: { encode: encodeDescribeClusterResponse },
  handle(ctx, request) {
    const { engine, advertisedHost, advertisedPort } = ctx.server;
    const answer = { throttleTimeMs: 0, endpointType: ENDPOINT_TYPE.BROKER, clusterId: engine.stats().databaseId, controllerId: NODE_ID };
    const refused = (errorCode: number, errorMessage: string): DescribeClusterResponse => ({
      ...answer,
      errorCode: ctx.apiVersion === 0 ? ERROR_CODES.INVALID_REQUEST : errorCode,
      errorMessage,
      clusterId: '',
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
    });
    if (request.endpointType === ENDPOINT_TYPE.CONTROLLER) {
      return refused(ERROR_CODES.MISMATCHED_ENDPOINT_TYPE, 'The request was sent to a broker endpoint, but asks for controller endpoints: this server has only a broker endpoint.');
    }
    if (request.endpointType !== ENDPOINT_TYPE.BROKER) return refused(ERROR_CODES.UNSUPPORTED_ENDPOINT_TYPE, `Unsupported endpoint type ${String(request.endpointType)}.`);
    return {
      ...answer,
      errorCode: ERROR_CODES.NONE,
      errorMessage: null,
      brokers: [{ brokerId: NODE_ID, host: advertisedHost, port: advertisedPort, rack: null }],
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : OPERATIONS_NOT_REQUESTED,
    };
  },
});
