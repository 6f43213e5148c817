// Tests of DescribeCluster over the wire at v0 and v1 with onelog's own codec as the client: the single
// node at the advertised address, the database id as cluster id, authorized operations only when asked
// for, and Kafka's answers to requests for controller or unknown endpoint types.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeDescribeClusterResponse, encodeDescribeClusterRequest } from '../../src/protocol/generated/describe-cluster.ts';
import { connectRaw, type RawClient } from './helpers/raw-client.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

const NOT_REQUESTED = -2147483648;

let served: ServedDatabase;
let raw: RawClient;

before(async () => {
  served = await startServer({ serve: { advertisedHost: 'onelog.example' } });
  raw = await connectRaw(served.broker);
});

after(async () => {
  raw.close();
  await served.close();
});

function describeCluster(version: number, includeClusterAuthorizedOperations: boolean, endpointType = 1) {
  return raw.request(API_KEYS.DESCRIBE_CLUSTER, version, encodeDescribeClusterRequest, { includeClusterAuthorizedOperations, endpointType }, decodeDescribeClusterResponse);
}

test('DescribeCluster v0 and v1: node 0 at the advertised address is controller and only broker', async () => {
  for (const version of [0, 1]) {
    const res = await describeCluster(version, false);
    assert.equal(res.errorCode, 0);
    assert.equal(res.errorMessage, null);
    assert.equal(res.clusterId, served.db.engine.stats().databaseId);
    assert.equal(res.controllerId, 0);
    assert.deepEqual(res.brokers, [{ brokerId: 0, host: 'onelog.example', port: served.server.port, rack: null }]);
    assert.equal(res.clusterAuthorizedOperations, NOT_REQUESTED);
    if (version === 1) assert.equal(res.endpointType, 1);
  }
});

test('DescribeCluster reports every cluster operation as authorized when asked', async () => {
  const res = await describeCluster(1, true);
  const allowed = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);
  assert.equal(res.clusterAuthorizedOperations, allowed);
});

test('DescribeCluster v1 refuses controller and unknown endpoint types as a Kafka broker does', async () => {
  const controller = await describeCluster(1, false, 2);
  assert.equal(controller.errorCode, ERROR_CODES.MISMATCHED_ENDPOINT_TYPE);
  assert.deepEqual(controller.brokers, []);
  assert.equal(typeof controller.errorMessage, 'string');
  const unknown = await describeCluster(1, false, 7);
  assert.equal(unknown.errorCode, ERROR_CODES.UNSUPPORTED_ENDPOINT_TYPE);
  assert.equal((await describeCluster(1, false)).errorCode, 0);
});
