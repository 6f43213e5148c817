// DeleteGroups (key 42), versions 0-2: deletes groups with no members, their membership state and
// committed offsets. Per group: NONE, NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND when there
// is nothing to delete (an empty group id included), COORDINATOR_NOT_AVAILABLE while the database closes.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeDeleteGroupsRequest, encodeDeleteGroupsResponse, type DeleteGroupsRequest, type DeleteGroupsResponse } from '../../protocol/generated/delete-groups.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

export const deleteGroupsHandler = defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  apiKey: API_KEYS.DELETE_GROUPS,
  minVersion: 0,
  maxVersion: 2,
  request: { decode: decodeDeleteGroupsRequest },
  response: { encode: encodeDeleteGroupsResponse },
  async handle(ctx, request) {
    const results = [];
    // One at a time, in request order: a group named twice is deleted once, then not found.
    for (const groupId of request.groupsNames) {
      if (groupId === '') {
        results.push({ groupId, errorCode: ERROR_CODES.GROUP_ID_NOT_FOUND });
        continue;
      }
      try {
        const { error } = await ctx.server.coordinator.deleteGroup(groupId);
        results.push({ groupId, errorCode: ERROR_CODES[error] });
      } catch (err) {
        results.push({ groupId, errorCode: kafkaErrorCode(err) });
      }
    }
    return { throttleTimeMs: 0, results };
  },
});
