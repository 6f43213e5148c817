// ListGroups (key 16), versions 0-5: every consumer group in the file (with members or committed offsets)
// with its protocol type; v4+ also its state (Empty, PreparingRebalance, CompletingRebalance, Stable) and
// an optional states filter; v5+ its type, always "classic" (onelog runs the classic group protocol), and an
// optional types filter. Filters match case-insensitively, as Kafka's do.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeListGroupsRequest, encodeListGroupsResponse, type ListGroupsRequest, type ListGroupsResponse } from '../../protocol/generated/list-groups.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

const GROUP_TYPE = 'classic';

export const listGroupsHandler = defineHandler<ListGroupsRequest, ListGroupsResponse>({
  apiKey: API_KEYS.LIST_GROUPS,
  minVersion: 0,
  maxVersion: 5,
  request: { decode: decodeListGroupsRequest },
  response: { encode: encodeListGroupsResponse },
  handle(ctx, request) {
    const states = new Set(request.statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(request.typesFilter.map((s) => s.toLowerCase()));
    if (types.size > 0 && !types.has(GROUP_TYPE)) return { throttleTimeMs: 0, errorCode: ERROR_CODES.NONE, groups: [] };
    try {
      const groups = ctx.server.coordinator
        .listGroups()
        .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
        .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: GROUP_TYPE }));
      return { throttleTimeMs: 0, errorCode: ERROR_CODES.NONE, groups };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: kafkaErrorCode(err), groups: [] };
    }
  },
});
