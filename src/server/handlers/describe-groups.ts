// DescribeGroups (key 15), versions 0-5: per group, its state, protocol type, and members (member id,
// client id and host; v4+ groupInstanceId). As Kafka does, the chosen protocol and each member's metadata
// and assignment (opaque bytes, passed through) are given only while the group is Stable; a group that
// does not exist is "Dead" with no error. v3+ answer authorized operations when asked: every group
// operation (no ACLs).
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeDescribeGroupsRequest,
  encodeDescribeGroupsResponse,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
  type DescribeGroupsResponseDescribedGroup,
} from '../../protocol/generated/describe-groups.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

/** Kafka's bit set of group ACL operations: READ (3), DELETE (6), DESCRIBE (8). */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
/** Kafka's "not requested" value for authorized operations. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

export const describeGroupsHandler = defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  apiKey: API_KEYS.DESCRIBE_GROUPS,
  minVersion: 0,
  maxVersion: 5,
  request: { decode: decodeDescribeGroupsRequest },
  response: { encode: encodeDescribeGroupsResponse },
  handle(ctx, request) {
    const authorizedOperations = request.includeAuthorizedOperations ? GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED;
    const dead = (groupId: string, errorCode: number): DescribeGroupsResponseDescribedGroup => ({
      errorCode,
      groupId,
      groupState: 'Dead',
      protocolType: '',
      protocolData: '',
      members: [],
      authorizedOperations,
    });
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        if (groupId === '') return dead(groupId, ERROR_CODES.NONE);
        try {
          const d = ctx.server.coordinator.describeGroup(groupId);
          const stable = d.state === 'Stable';
          return {
            errorCode: ERROR_CODES.NONE,
            groupId,
            groupState: d.state,
            protocolType: d.protocolType,
            protocolData: stable ? d.protocol : '',
            members: d.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              memberMetadata: stable ? m.memberMetadata : new Uint8Array(0),
              memberAssignment: stable ? m.memberAssignment : new Uint8Array(0),
            })),
            authorizedOperations,
          };
        } catch (err) {
          return dead(groupId, kafkaErrorCode(err));
        }
      }),
    };
  },
});
