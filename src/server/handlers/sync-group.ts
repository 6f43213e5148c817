// SyncGroup (key 14), versions 0-5: the leader hands in every member's assignment (opaque bytes, computed
// client-side) and each member gets its own; a follower's answer waits for the leader's sync (a closed
// connection ends the wait). v3+ name the static instance (FENCED_INSTANCE_ID when another member holds
// it); v5+ name the protocol type and name, which must be the group's (INCONSISTENT_GROUP_PROTOCOL), and
// get them back. Errors as Kafka's classic coordinator: INVALID_GROUP_ID, UNKNOWN_MEMBER_ID,
// ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeSyncGroupRequest, encodeSyncGroupResponse, type SyncGroupRequest, type SyncGroupResponse } from '../../protocol/generated/sync-group.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

export const syncGroupHandler = defineHandler<SyncGroupRequest, SyncGroupResponse>({
  apiKey: API_KEYS.SYNC_GROUP,
  minVersion: 0,
  maxVersion: 5,
  request: { decode: decodeSyncGroupRequest },
  response: { encode: encodeSyncGroupResponse },
  async handle(ctx, request) {
    const failed = (errorCode: number): SyncGroupResponse => ({ throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: new Uint8Array(0) });
    if (request.groupId === '') return failed(ERROR_CODES.INVALID_GROUP_ID);
    try {
      const result = await ctx.server.coordinator.syncGroup(
        {
          groupId: request.groupId,
          generationId: request.generationId,
          memberId: request.memberId,
          groupInstanceId: request.groupInstanceId,
          protocolType: request.protocolType,
          protocolName: request.protocolName,
          assignments: request.assignments,
        },
        { signal: ctx.signal },
      );
      if (result.error !== 'NONE') return failed(ERROR_CODES[result.error]);
      return { throttleTimeMs: 0, errorCode: ERROR_CODES.NONE, protocolType: result.protocolType, protocolName: result.protocolName, assignment: result.assignment };
    } catch (err) {
      return failed(kafkaErrorCode(err));
    }
  },
});
