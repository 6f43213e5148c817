// JoinGroup (key 11), versions 0-9: a member joins a classic consumer group through the coordinator the
// embedded consumers use (src/client/group-coordinator.ts), and the answer waits until its rebalance round
// completes (every member rejoined, or the rebalance timeout removed the others); a closed connection ends
// the wait and takes the member out of the round. v0 has no rebalance timeout (the session timeout serves);
// v4+: a new member without groupInstanceId first gets MEMBER_ID_REQUIRED with its member id and joins
// again with it; v5+ static members (groupInstanceId) replace their previous instance, and a stale member
// id for an instance is FENCED_INSTANCE_ID; v7+ answer the protocol type; v9's skipAssignment is always
// false. Protocol metadata passes through as opaque bytes; only the leader's answer lists the members.
// Errors: INVALID_GROUP_ID (empty id), INVALID_SESSION_TIMEOUT (not positive), INCONSISTENT_GROUP_PROTOCOL,
// UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, COORDINATOR_NOT_AVAILABLE (database closing).
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeJoinGroupRequest, encodeJoinGroupResponse, type JoinGroupRequest, type JoinGroupResponse } from '../../protocol/generated/join-group.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

export const joinGroupHandler = defineHandler<JoinGroupRequest, JoinGroupResponse>({
  apiKey: API_KEYS.JOIN_GROUP,
  minVersion: 0,
  maxVersion: 9,
  request: { decode: decodeJoinGroupRequest },
  response: { encode: encodeJoinGroupResponse },
  async handle(ctx, request) {
    const failed = (errorCode: number, memberId = request.memberId): JoinGroupResponse => ({
      throttleTimeMs: 0,
      errorCode,
      generationId: -1,
      protocolType: null,
      protocolName: ctx.apiVersion >= 7 ? null : '',
      leader: '',
      skipAssignment: false,
      memberId,
      members: [],
    });
    if (request.groupId === '') return failed(ERROR_CODES.INVALID_GROUP_ID);
    if (request.sessionTimeoutMs <= 0) return failed(ERROR_CODES.INVALID_SESSION_TIMEOUT);
    if (request.protocolType === '' || request.protocols.length === 0) return failed(ERROR_CODES.INCONSISTENT_GROUP_PROTOCOL);
    try {
      const result = await ctx.server.coordinator.joinGroup(
        {
          groupId: request.groupId,
          memberId: request.memberId,
          groupInstanceId: request.groupInstanceId,
          clientId: ctx.header.clientId ?? '',
          clientHost: `/${ctx.clientHost}`,
          protocolType: request.protocolType,
          protocols: request.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
          sessionTimeoutMs: request.sessionTimeoutMs,
          rebalanceTimeoutMs: request.rebalanceTimeoutMs > 0 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
          requireKnownMemberId: ctx.apiVersion >= 4,
        },
        { signal: ctx.signal },
      );
      if (result.error !== 'NONE') return failed(ERROR_CODES[result.error], result.memberId);
      return {
        throttleTimeMs: 0,
        errorCode: ERROR_CODES.NONE,
        generationId: result.generationId,
        protocolType: result.protocolType,
        protocolName: result.protocolName,
        leader: result.leader,
        skipAssignment: false,
        memberId: result.memberId,
        members: result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
      };
    } catch (err) {
      return failed(kafkaErrorCode(err));
    }
  },
});
