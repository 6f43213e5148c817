// LeaveGroup (key 13), versions 0-5: members leave a group, which starts a rebalance for the others.
// v0-2 name one member and answer its error at the top level; v3+ name a batch of members, each by member
// id or (member id empty) by static groupInstanceId, and answer per member: NONE, UNKNOWN_MEMBER_ID, or
// FENCED_INSTANCE_ID when the instance is held by another member id. INVALID_GROUP_ID for an empty group
// id, COORDINATOR_NOT_AVAILABLE while the database closes.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeLeaveGroupRequest, encodeLeaveGroupResponse, type LeaveGroupRequest, type LeaveGroupResponse } from '../../protocol/generated/leave-group.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

export const leaveGroupHandler = defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  apiKey: API_KEYS.LEAVE_GROUP,
  minVersion: 0,
  maxVersion: 5,
  request: { decode: decodeLeaveGroupRequest },
  response: { encode: encodeLeaveGroupResponse },
  async handle(ctx, request) {
    if (request.groupId === '') return { throttleTimeMs: 0, errorCode: ERROR_CODES.INVALID_GROUP_ID, members: [] };
    const batch = ctx.apiVersion >= 3;
    const leaving = batch ? request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: request.memberId, groupInstanceId: null }];
    try {
      const { members } = await ctx.server.coordinator.leaveGroup(request.groupId, leaving);
      const answered = members.map((m, i) => ({ memberId: leaving[i]!.memberId, groupInstanceId: m.groupInstanceId, errorCode: ERROR_CODES[m.error] }));
      return { throttleTimeMs: 0, errorCode: batch ? ERROR_CODES.NONE : answered[0]!.errorCode, members: answered };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: kafkaErrorCode(err), members: [] };
    }
  },
});
