// Test helper: whole request frames the connection tests write on raw sockets, built with onelog's own
// codec. Only frames more than one test needs live here.
import { encodeRequestFrame } from '../../../src/protocol/frame.ts';
import { API_KEYS } from '../../../src/protocol/generated/api-keys.ts';
import { encodeFetchRequest } from '../../../src/protocol/generated/fetch.ts';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** A Fetch (at `version`) of partition 0 of `topic` from offset 0 that waits up to `maxWaitMs` for a byte. */
export function longPollFetchFrame(topic: string, correlationId: number, maxWaitMs: number, version: number): Buffer {
  return encodeRequestFrame({ requestApiKey: API_KEYS.FETCH, requestApiVersion: version, correlationId, clientId: 'test' }, (w) => {
    encodeFetchRequest(
      w,
      {
        clusterId: null,
        replicaId: -1,
        replicaState: { replicaId: -1, replicaEpoch: -1n },
        maxWaitMs,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID }] }],
        forgottenTopicsData: [],
        rackId: '',
      },
      version,
    );
  });
}
