// The one leader epoch of a single-node server (every partition is led by node 0 in epoch 0, which the
// engine stamps on every batch) and Kafka's fencing check of a client's currentLeaderEpoch against it,
// as Fetch, ListOffsets and OffsetForLeaderEpoch do (KIP-320). Pure: no engine access, no I/O.
import { ERROR_CODES } from '../protocol/error-codes.ts';

export const LEADER_EPOCH = 0;

/** Kafka's "no epoch given": the check is skipped. */
const NO_EPOCH = -1;

/** NONE, FENCED_LEADER_EPOCH for an older epoch than the leader's, UNKNOWN_LEADER_EPOCH for a newer one. */
export function checkCurrentLeaderEpoch(currentLeaderEpoch: number): number {
  if (currentLeaderEpoch === NO_EPOCH || currentLeaderEpoch === LEADER_EPOCH) return ERROR_CODES.NONE;
  return currentLeaderEpoch < LEADER_EPOCH ? ERROR_CODES.FENCED_LEADER_EPOCH : ERROR_CODES.UNKNOWN_LEADER_EPOCH;
}
