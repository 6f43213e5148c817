// OffsetFetch (key 9), versions 0-9: a group's committed offsets. v0-7 ask for one group; v8+ for several,
// each answered with its own error code. Named partitions without a committed offset (and groups that do
// not exist) answer offset -1, leader epoch -1 and empty metadata with no error, as Kafka does; v2+ accept
// null topics for every committed offset of the group. Group-level failures (COORDINATOR_NOT_AVAILABLE
// while the database closes) go in the top-level error code from v2, in each partition before. v7's
// requireStable needs nothing (no transactions: no pending commits); v9's member id and epoch belong to
// the KIP-848 consumer protocol, which onelog does not run, and are not checked.
import type { GroupCoordinator } from '../../client/group-coordinator.ts';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeOffsetFetchRequest,
  encodeOffsetFetchResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type OffsetFetchResponseTopics,
} from '../../protocol/generated/offset-fetch.ts';
import type { GroupOffset } from '../../storage/engine.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

interface AskedTopic {
  readonly name: string;
  readonly partitionIndexes: readonly number[];
}

interface GroupAnswer {
  readonly errorCode: number;
  readonly topics: OffsetFetchResponseTopics[];
}

const noOffset = (partitionIndex: number, errorCode: number) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode });

/** One group's answer: the asked partitions (null: every committed one), or the error for all of them. */
function fetchGroup(coordinator: GroupCoordinator, groupId: string, asked: readonly AskedTopic[] | null): GroupAnswer {
  let committed: GroupOffset[];
  try {
    committed = groupId === '' ? [] : coordinator.fetchOffsets(groupId);
  } catch (err) {
    const errorCode = kafkaErrorCode(err);
    return { errorCode, topics: (asked ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => noOffset(p, errorCode)) })) };
  }
  const byTopic = new Map<string, Map<number, GroupOffset>>();
  for (const o of committed) {
    let partitions = byTopic.get(o.topic);
    if (partitions === undefined) byTopic.set(o.topic, (partitions = new Map<number, GroupOffset>()));
    partitions.set(o.partition, o);
  }
  const topics = asked ?? [...byTopic].map(([name, partitions]) => ({ name, partitionIndexes: [...partitions.keys()] }));
  return {
    errorCode: ERROR_CODES.NONE,
    topics: topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => {
        const o = byTopic.get(t.name)?.get(p);
        if (o === undefined) return noOffset(p, ERROR_CODES.NONE);
        return { partitionIndex: p, committedOffset: BigInt(o.offset), committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata ?? '', errorCode: ERROR_CODES.NONE };
      }),
    })),
  };
}

export const offsetFetchHandler = defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  apiKey: API_KEYS.OFFSET_FETCH,
  minVersion: 0,
  maxVersion: 9,
  request: { decode: decodeOffsetFetchRequest },
  response: { encode: encodeOffsetFetchResponse },
  handle(ctx, request) {
    const { coordinator } = ctx.server;
    if (ctx.apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        errorCode: ERROR_CODES.NONE,
        topics: [],
        groups: request.groups.map((g) => ({ groupId: g.groupId, ...fetchGroup(coordinator, g.groupId, g.topics) })),
      };
    }
    const answer = fetchGroup(coordinator, request.groupId, request.topics);
    return { throttleTimeMs: 0, errorCode: answer.errorCode, topics: answer.topics, groups: [] };
  },
});
