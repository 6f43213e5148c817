// Heartbeat (key 12), versions 0-4: keeps a group member's session alive (members whose session ran out
// are removed by the coordinator). NONE while Stable or completing a rebalance, REBALANCE_IN_PROGRESS when
// the member must rejoin, ILLEGAL_GENERATION for an old generation, UNKNOWN_MEMBER_ID for a member the
// group does not know (or an unknown group), FENCED_INSTANCE_ID (v3+) when another member holds the named
// static instance, INVALID_GROUP_ID for an empty group id.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeHeartbeatRequest, encodeHeartbeatResponse, type HeartbeatRequest, type HeartbeatResponse } from '../../protocol/generated/heartbeat.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

export const heartbeatHandler = defineHandler<HeartbeatRequest, HeartbeatResponse>({
  apiKey: API_KEYS.HEARTBEAT,
  minVersion: 0,
  maxVersion: 4,
  request: { decode: decodeHeartbeatRequest },
  response: { encode: encodeHeartbeatResponse },
  async handle(ctx, request) {
    if (request.groupId === '') return { throttleTimeMs: 0, errorCode: ERROR_CODES.INVALID_GROUP_ID };
    try {
      const { error } = await ctx.server.coordinator.heartbeat(request.groupId, request.generationId, request.memberId, request.groupInstanceId);
      return { throttleTimeMs: 0, errorCode: ERROR_CODES[error] };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: kafkaErrorCode(err) };
    }
  },
});
