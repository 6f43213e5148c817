// The classic consumer-group APIs over the wire with onelog's own codecs at pinned versions: every version
// of FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetCommit, OffsetFetch, DescribeGroups,
// ListGroups, LeaveGroup and DeleteGroups through a whole group life; OffsetDelete sparing subscribed topics; JoinGroup's MEMBER_ID_REQUIRED round
// trip; fencing (old generation, unknown member, rebalance in progress, static instances); per-partition
// commit errors; session expiry and rebalance timeouts; a join whose connection closes; and a group shared
// by a wire member and an embedded one (the same coordinator).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeSubscription } from '../../src/client/assignors.ts';
import { ERROR_CODES } from '../../src/protocol/error-codes.ts';
import { API_KEYS } from '../../src/protocol/generated/api-keys.ts';
import { decodeDeleteGroupsResponse, encodeDeleteGroupsRequest } from '../../src/protocol/generated/delete-groups.ts';
import { decodeDescribeGroupsResponse, encodeDescribeGroupsRequest, type DescribeGroupsResponseDescribedGroup } from '../../src/protocol/generated/describe-groups.ts';
import { decodeFindCoordinatorResponse, encodeFindCoordinatorRequest, type FindCoordinatorResponse } from '../../src/protocol/generated/find-coordinator.ts';
import { decodeHeartbeatResponse, encodeHeartbeatRequest } from '../../src/protocol/generated/heartbeat.ts';
import { decodeJoinGroupResponse, encodeJoinGroupRequest, type JoinGroupRequest, type JoinGroupResponse } from '../../src/protocol/generated/join-group.ts';
import { decodeLeaveGroupResponse, encodeLeaveGroupRequest, type LeaveGroupResponse } from '../../src/protocol/generated/leave-group.ts';
import { decodeListGroupsResponse, encodeListGroupsRequest, type ListGroupsResponse } from '../../src/protocol/generated/list-groups.ts';
import { decodeOffsetCommitResponse, encodeOffsetCommitRequest, type OffsetCommitRequest } from '../../src/protocol/generated/offset-commit.ts';
import { decodeOffsetDeleteResponse, encodeOffsetDeleteRequest } from '../../src/protocol/generated/offset-delete.ts';
import { decodeOffsetFetchResponse, encodeOffsetFetchRequest, type OffsetFetchRequestTopic, type OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.ts';
import { decodeSyncGroupResponse, encodeSyncGroupRequest, type SyncGroupRequest, type SyncGroupResponse } from '../../src/protocol/generated/sync-group.ts';
import { connectRaw, type RawClient } from './helpers/raw-client.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

let served: ServedDatabase;
const clients: RawClient[] = [];

before(async () => {
  served = await startServer();
  await served.db.engine.createTopic('t', { partitions: 3 });
});
after(async () => {
  for (const c of clients) c.close();
  await served.close();
});

async function connect(): Promise<RawClient> {
  const c = await connectRaw(served.broker);
  clients.push(c);
  return c;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const METADATA = Uint8Array.from([0, 1, 2, 3, 254, 255]);

function findCoordinator(c: RawClient, v: number, key: string, keyType = 0, coordinatorKeys: string[] = []): Promise<FindCoordinatorResponse> {
  return c.request(API_KEYS.FIND_COORDINATOR, v, encodeFindCoordinatorRequest, { key, keyType, coordinatorKeys }, decodeFindCoordinatorResponse);
}

function joinGroup(c: RawClient, v: number, groupId: string, memberId: string, extra: Partial<JoinGroupRequest> = {}): Promise<JoinGroupResponse> {
  const request: JoinGroupRequest = {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: METADATA }],
    reason: null,
    ...extra,
  };
  return c.request(API_KEYS.JOIN_GROUP, v, encodeJoinGroupRequest, request, decodeJoinGroupResponse);
}

/** A new member's join at version v, through MEMBER_ID_REQUIRED when the version has it. */
async function joinAsNew(c: RawClient, v: number, groupId: string, extra: Partial<JoinGroupRequest> = {}): Promise<JoinGroupResponse> {
  const first = await joinGroup(c, v, groupId, '', extra);
  if (v < 4 || extra.groupInstanceId != null) return first;
  assert.equal(first.errorCode, ERROR_CODES.MEMBER_ID_REQUIRED);
  assert.notEqual(first.memberId, '');
  return joinGroup(c, v, groupId, first.memberId, extra);
}

function syncGroup(c: RawClient, v: number, groupId: string, generationId: number, memberId: string, extra: Partial<SyncGroupRequest> = {}): Promise<SyncGroupResponse> {
  const request: SyncGroupRequest = { groupId, generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [], ...extra };
  return c.request(API_KEYS.SYNC_GROUP, v, encodeSyncGroupRequest, request, decodeSyncGroupResponse);
}

async function heartbeat(c: RawClient, v: number, groupId: string, generationId: number, memberId: string, groupInstanceId: string | null = null): Promise<number> {
  return (await c.request(API_KEYS.HEARTBEAT, v, encodeHeartbeatRequest, { groupId, generationId, memberId, groupInstanceId }, decodeHeartbeatResponse)).errorCode;
}

/** Commits `offsets` (partition → offset) of topic t; answers each partition's error code. */
async function commit(c: RawClient, v: number, groupId: string, generationId: number, memberId: string, offsets: Record<number, number>, extra: Partial<OffsetCommitRequest> = {}): Promise<Record<number, number>> {
  const request: OffsetCommitRequest = {
    groupId,
    generationIdOrMemberEpoch: generationId,
    memberId,
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [
      {
        name: 't',
        partitions: Object.entries(offsets).map(([p, o]) => ({ partitionIndex: Number(p), committedOffset: BigInt(o), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: `m${p}` })),
      },
    ],
    ...extra,
  };
  const response = await c.request(API_KEYS.OFFSET_COMMIT, v, encodeOffsetCommitRequest, request, decodeOffsetCommitResponse);
  return Object.fromEntries(response.topics.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, p.errorCode])));
}

function offsetFetch(c: RawClient, v: number, groupId: string, topics: OffsetFetchRequestTopic[] | null): Promise<OffsetFetchResponse> {
  const request = v >= 8 ? { groupId: '', topics: [], groups: [{ groupId, memberId: null, memberEpoch: -1, topics }], requireStable: false } : { groupId, topics, groups: [], requireStable: false };
  return c.request(API_KEYS.OFFSET_FETCH, v, encodeOffsetFetchRequest, request, decodeOffsetFetchResponse);
}

/** Committed offsets of topic t as partition → [offset, metadata], whatever the version's shape. */
async function fetchCommitted(c: RawClient, v: number, groupId: string, partitions: number[] | null): Promise<{ errorCode: number; offsets: Record<number, [number, string | null]> }> {
  const response = await offsetFetch(c, v, groupId, partitions === null ? null : [{ name: 't', partitionIndexes: partitions }]);
  const group = v >= 8 ? response.groups[0]! : { errorCode: response.errorCode, topics: response.topics };
  const offsets: Record<number, [number, string | null]> = {};
  for (const t of group.topics) {
    for (const p of t.partitions) {
      assert.equal(p.errorCode, ERROR_CODES.NONE);
      offsets[p.partitionIndex] = [Number(p.committedOffset), p.metadata];
    }
  }
  return { errorCode: group.errorCode, offsets };
}

async function describe(c: RawClient, v: number, groupId: string): Promise<DescribeGroupsResponseDescribedGroup> {
  const response = await c.request(API_KEYS.DESCRIBE_GROUPS, v, encodeDescribeGroupsRequest, { groups: [groupId], includeAuthorizedOperations: true }, decodeDescribeGroupsResponse);
  return response.groups[0]!;
}

function listGroups(c: RawClient, v: number, statesFilter: string[] = [], typesFilter: string[] = []): Promise<ListGroupsResponse> {
  return c.request(API_KEYS.LIST_GROUPS, v, encodeListGroupsRequest, { statesFilter, typesFilter }, decodeListGroupsResponse);
}

function leave(c: RawClient, v: number, groupId: string, members: { memberId: string; groupInstanceId?: string | null }[]): Promise<LeaveGroupResponse> {
  const request = { groupId, memberId: members[0]?.memberId ?? '', members: members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, reason: null })) };
  return c.request(API_KEYS.LEAVE_GROUP, v, encodeLeaveGroupRequest, request, decodeLeaveGroupResponse);
}

async function deleteGroups(c: RawClient, v: number, groupsNames: string[]): Promise<Record<string, number>> {
  const response = await c.request(API_KEYS.DELETE_GROUPS, v, encodeDeleteGroupsRequest, { groupsNames }, decodeDeleteGroupsResponse);
  return Object.fromEntries(response.results.map((r) => [r.groupId, r.errorCode]));
}

test('FindCoordinator v0-6: groups are coordinated by node 0 at the advertised address; v4+ batches keys; no transaction coordinator', async () => {
  const c = await connect();
  for (let v = 0; v <= 3; v++) {
    const r = await findCoordinator(c, v, 'g');
    assert.deepEqual([r.errorCode, r.nodeId, r.host, r.port], [ERROR_CODES.NONE, 0, '127.0.0.1', served.server.port], `v${String(v)}`);
    if (v >= 1) assert.equal(r.errorMessage, null);
  }
  for (let v = 4; v <= 6; v++) {
    const r = await findCoordinator(c, v, '', 0, ['a', 'b']);
    assert.deepEqual(
      r.coordinators.map((k) => [k.key, k.nodeId, k.host, k.port, k.errorCode]),
      [
        ['a', 0, '127.0.0.1', served.server.port, ERROR_CODES.NONE],
        ['b', 0, '127.0.0.1', served.server.port, ERROR_CODES.NONE],
      ],
      `v${String(v)}`,
    );
  }
  const txn = await findCoordinator(c, 3, 'my-transactional-id', 1);
  assert.equal(txn.errorCode, ERROR_CODES.COORDINATOR_NOT_AVAILABLE);
  assert.match(txn.errorMessage ?? '', /transactions/);
  assert.equal((await findCoordinator(c, 6, '', 1, ['tx'])).coordinators[0]!.errorCode, ERROR_CODES.COORDINATOR_NOT_AVAILABLE);
  assert.equal((await findCoordinator(c, 6, '', 7, ['x'])).coordinators[0]!.errorCode, ERROR_CODES.INVALID_REQUEST);
});

test('every version of every group API through a whole group life: join, sync, heartbeat, commit, fetch, describe, list, leave, delete', async () => {
  const c = await connect();
  for (let v = 0; v <= 9; v++) {
    const groupId = `life-v${String(v)}`;
    const at = (max: number): number => Math.min(v, max);
    const joined = await joinAsNew(c, v, groupId);
    assert.equal(joined.errorCode, ERROR_CODES.NONE, `join v${String(v)}`);
    assert.equal(joined.generationId, 1);
    assert.equal(joined.leader, joined.memberId);
    assert.equal(joined.protocolName, 'range');
    if (v >= 7) assert.equal(joined.protocolType, 'consumer');
    assert.deepEqual(joined.members.map((m) => [m.memberId, [...m.metadata]]), [[joined.memberId, [...METADATA]]]);

    const assignment = Uint8Array.from([9, v, 0, 255]);
    const synced = await syncGroup(c, at(5), groupId, 1, joined.memberId, {
      assignments: [{ memberId: joined.memberId, assignment }],
      ...(at(5) >= 5 ? { protocolType: 'consumer', protocolName: 'range' } : {}),
    });
    assert.equal(synced.errorCode, ERROR_CODES.NONE, `sync v${String(at(5))}`);
    assert.deepEqual([...synced.assignment], [...assignment]);
    if (at(5) >= 5) assert.deepEqual([synced.protocolType, synced.protocolName], ['consumer', 'range']);
    assert.equal(await heartbeat(c, at(4), groupId, 1, joined.memberId), ERROR_CODES.NONE);

    // v0 commits only outside group management; its turn comes after the member left.
    if (v >= 1) assert.deepEqual(await commit(c, v, groupId, 1, joined.memberId, { 0: 10 + v, 2: 20 + v }), { 0: ERROR_CODES.NONE, 2: ERROR_CODES.NONE }, `commit v${String(v)}`);
    else assert.deepEqual(await commit(c, 0, groupId, -1, '', { 0: 10 }), { 0: ERROR_CODES.UNKNOWN_MEMBER_ID }, 'the group has a member');

    const d = await describe(c, at(5), groupId);
    assert.deepEqual([d.errorCode, d.groupState, d.protocolType, d.protocolData], [ERROR_CODES.NONE, 'Stable', 'consumer', 'range']);
    assert.deepEqual(d.members.map((m) => [m.memberId, m.clientId, m.clientHost, [...m.memberMetadata], [...m.memberAssignment]]), [
      [joined.memberId, 'raw-test', '/127.0.0.1', [...METADATA], [...assignment]],
    ]);
    if (at(5) >= 3) assert.equal(d.authorizedOperations, (1 << 3) | (1 << 6) | (1 << 8));
    const listed = (await listGroups(c, at(5))).groups.find((g) => g.groupId === groupId);
    assert.ok(listed);
    assert.equal(listed.protocolType, 'consumer');
    if (at(5) >= 4) assert.equal(listed.groupState, 'Stable');

    const left = await leave(c, at(5), groupId, [{ memberId: joined.memberId }]);
    assert.equal(left.errorCode, ERROR_CODES.NONE, `leave v${String(at(5))}`);
    if (at(5) >= 3) assert.deepEqual(left.members.map((m) => [m.memberId, m.errorCode]), [[joined.memberId, ERROR_CODES.NONE]]);
    assert.equal((await describe(c, at(5), groupId)).groupState, 'Empty');
    if (v === 0) assert.deepEqual(await commit(c, 0, groupId, -1, '', { 0: 10, 2: 20 }), { 0: ERROR_CODES.NONE, 2: ERROR_CODES.NONE }, 'simple commit of an empty group');

    const fetched = await fetchCommitted(c, v, groupId, [0, 1, 2]);
    assert.equal(fetched.errorCode, ERROR_CODES.NONE);
    assert.deepEqual(fetched.offsets, { 0: [10 + v, 'm0'], 1: [-1, ''], 2: [20 + v, 'm2'] }, `fetch v${String(v)}`);
    if (v >= 2) assert.deepEqual(Object.keys((await fetchCommitted(c, v, groupId, null)).offsets), ['0', '2'], 'null topics: every committed offset');

    assert.deepEqual(await deleteGroups(c, at(2), [groupId]), { [groupId]: ERROR_CODES.NONE });
    assert.equal((await describe(c, at(5), groupId)).groupState, 'Dead');
    assert.deepEqual((await fetchCommitted(c, v, groupId, [0])).offsets, { 0: [-1, ''] }, 'offsets went with the group');
  }
});

test('JoinGroup v4+: MEMBER_ID_REQUIRED hands out the id to join with; an id never handed out is UNKNOWN_MEMBER_ID; invalid requests', async () => {
  const c = await connect();
  const first = await joinGroup(c, 9, 'mid', '');
  assert.equal(first.errorCode, ERROR_CODES.MEMBER_ID_REQUIRED);
  assert.match(first.memberId, /^raw-test-/);
  assert.equal(first.generationId, -1);
  assert.equal((await describe(c, 5, 'mid')).members.length, 0, 'a pending member is not a member yet');
  assert.equal((await joinGroup(c, 9, 'mid', 'raw-test-made-up')).errorCode, ERROR_CODES.UNKNOWN_MEMBER_ID);
  const second = await joinGroup(c, 9, 'mid', first.memberId);
  assert.equal(second.errorCode, ERROR_CODES.NONE);
  assert.equal(second.memberId, first.memberId);
  // A pending member id may also leave before it joins (v3+ batch).
  const pending = await joinGroup(c, 5, 'mid', '');
  assert.equal(pending.errorCode, ERROR_CODES.MEMBER_ID_REQUIRED);
  assert.deepEqual((await leave(c, 5, 'mid', [{ memberId: pending.memberId }])).members.map((m) => m.errorCode), [ERROR_CODES.NONE]);
  assert.equal((await joinGroup(c, 5, 'mid', pending.memberId)).errorCode, ERROR_CODES.UNKNOWN_MEMBER_ID);

  assert.equal((await joinGroup(c, 9, '', '')).errorCode, ERROR_CODES.INVALID_GROUP_ID);
  assert.equal((await joinGroup(c, 9, 'bad', '', { sessionTimeoutMs: 0 })).errorCode, ERROR_CODES.INVALID_SESSION_TIMEOUT);
  assert.equal((await joinGroup(c, 9, 'bad', '', { protocols: [] })).errorCode, ERROR_CODES.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal((await joinGroup(c, 3, 'mid', '', { protocolType: 'connect' })).errorCode, ERROR_CODES.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal((await joinGroup(c, 3, 'mid', '', { protocols: [{ name: 'roundrobin', metadata: METADATA }] })).errorCode, ERROR_CODES.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(await heartbeat(c, 4, '', 1, 'x'), ERROR_CODES.INVALID_GROUP_ID);
  assert.equal((await syncGroup(c, 5, '', 1, 'x')).errorCode, ERROR_CODES.INVALID_GROUP_ID);
  assert.equal((await leave(c, 5, '', [{ memberId: 'x' }])).errorCode, ERROR_CODES.INVALID_GROUP_ID);
});

test('fencing: rebalance in progress, an old generation, an unknown member, an inconsistent protocol, a non-empty group', async () => {
  const a = await connect();
  const b = await connect();
  const joinedA = await joinAsNew(a, 9, 'fence');
  assert.equal((await syncGroup(a, 5, 'fence', 1, joinedA.memberId, { assignments: [{ memberId: joinedA.memberId, assignment: Uint8Array.of(1) }] })).errorCode, ERROR_CODES.NONE);
  assert.deepEqual(await commit(a, 9, 'fence', 1, joinedA.memberId, { 0: 5 }), { 0: ERROR_CODES.NONE });

  // B's join waits for the round; A learns of it from its heartbeat, may still commit, and rejoins.
  const first = await joinGroup(b, 9, 'fence', '');
  const joiningB = joinGroup(b, 9, 'fence', first.memberId);
  await sleep(50);
  assert.equal(await heartbeat(a, 4, 'fence', 1, joinedA.memberId), ERROR_CODES.REBALANCE_IN_PROGRESS);
  assert.equal((await syncGroup(a, 5, 'fence', 1, joinedA.memberId)).errorCode, ERROR_CODES.REBALANCE_IN_PROGRESS);
  assert.deepEqual(await commit(a, 9, 'fence', 1, joinedA.memberId, { 0: 6 }), { 0: ERROR_CODES.NONE }, 'the current generation commits during the join phase');
  const rejoinedA = await joinGroup(a, 9, 'fence', joinedA.memberId);
  const joinedB = await joiningB;
  assert.deepEqual([rejoinedA.generationId, joinedB.generationId], [2, 2]);
  assert.equal(rejoinedA.leader, joinedA.memberId);
  assert.deepEqual(rejoinedA.members.map((m) => m.memberId).sort(), [joinedA.memberId, joinedB.memberId].sort());
  assert.deepEqual(joinedB.members, [], 'followers get no member list');

  // Generation 2 is completing: commits and heartbeats before the leader's sync.
  assert.deepEqual(await commit(b, 9, 'fence', 2, joinedB.memberId, { 1: 1 }), { 1: ERROR_CODES.REBALANCE_IN_PROGRESS });
  assert.equal(await heartbeat(b, 4, 'fence', 2, joinedB.memberId), ERROR_CODES.NONE);
  assert.equal((await syncGroup(b, 5, 'fence', 2, joinedB.memberId, { protocolType: 'consumer', protocolName: 'roundrobin' })).errorCode, ERROR_CODES.INCONSISTENT_GROUP_PROTOCOL);
  const syncingB = syncGroup(b, 5, 'fence', 2, joinedB.memberId);
  await sleep(30);
  const syncedA = await syncGroup(a, 5, 'fence', 2, joinedA.memberId, {
    assignments: [
      { memberId: joinedA.memberId, assignment: Uint8Array.of(0xa) },
      { memberId: joinedB.memberId, assignment: Uint8Array.of(0xb) },
    ],
  });
  assert.deepEqual([...syncedA.assignment], [0xa]);
  assert.deepEqual([...(await syncingB).assignment], [0xb], "the follower's sync waited for the leader's");

  assert.deepEqual(await commit(a, 9, 'fence', 1, joinedA.memberId, { 0: 99 }), { 0: ERROR_CODES.ILLEGAL_GENERATION });
  assert.deepEqual(await commit(a, 1, 'fence', 1, joinedA.memberId, { 0: 99 }), { 0: ERROR_CODES.ILLEGAL_GENERATION });
  assert.deepEqual(await commit(a, 9, 'fence', 2, 'stranger', { 0: 99 }), { 0: ERROR_CODES.UNKNOWN_MEMBER_ID });
  assert.deepEqual(await commit(a, 9, 'fence', -1, '', { 0: 99 }), { 0: ERROR_CODES.UNKNOWN_MEMBER_ID }, 'no simple commits while the group has members');
  assert.deepEqual(await commit(a, 9, 'no-such-group', 3, 'x', { 0: 1 }), { 0: ERROR_CODES.GROUP_ID_NOT_FOUND }, 'v9: a generation of no group');
  assert.deepEqual(await commit(a, 8, 'no-such-group', 3, 'x', { 0: 1 }), { 0: ERROR_CODES.ILLEGAL_GENERATION });
  assert.equal(await heartbeat(a, 0, 'fence', 1, joinedA.memberId), ERROR_CODES.ILLEGAL_GENERATION);
  assert.equal(await heartbeat(a, 4, 'fence', 2, 'stranger'), ERROR_CODES.UNKNOWN_MEMBER_ID);
  assert.equal(await heartbeat(a, 4, 'no-such-group', 1, 'x'), ERROR_CODES.UNKNOWN_MEMBER_ID);
  assert.equal((await syncGroup(a, 0, 'fence', 1, joinedA.memberId)).errorCode, ERROR_CODES.ILLEGAL_GENERATION);
  assert.equal((await joinGroup(a, 9, 'fence', 'stranger')).errorCode, ERROR_CODES.UNKNOWN_MEMBER_ID);
  assert.deepEqual((await fetchCommitted(a, 9, 'fence', [0])).offsets, { 0: [6, 'm0'] }, 'no refused commit was written');

  assert.deepEqual(await deleteGroups(a, 2, ['fence', 'never-was', '']), { fence: ERROR_CODES.NON_EMPTY_GROUP, 'never-was': ERROR_CODES.GROUP_ID_NOT_FOUND, '': ERROR_CODES.GROUP_ID_NOT_FOUND });
  const left = await leave(a, 5, 'fence', [{ memberId: joinedA.memberId }, { memberId: 'stranger' }, { memberId: joinedB.memberId }]);
  assert.deepEqual(left.members.map((m) => m.errorCode), [ERROR_CODES.NONE, ERROR_CODES.UNKNOWN_MEMBER_ID, ERROR_CODES.NONE]);
  assert.equal((await leave(a, 0, 'fence', [{ memberId: joinedA.memberId }])).errorCode, ERROR_CODES.UNKNOWN_MEMBER_ID, 'v0-2 answer the member error at the top level');
  assert.deepEqual(await deleteGroups(a, 0, ['fence']), { fence: ERROR_CODES.NONE });
});

test('OffsetCommit answers per partition: unknown topics and partitions, metadata too large; the rest is committed', async () => {
  const c = await connect();
  const response = await c.request(
    API_KEYS.OFFSET_COMMIT,
    8,
    encodeOffsetCommitRequest,
    {
      groupId: 'per-partition',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: 0, commitTimestamp: -1n, committedMetadata: null },
            { partitionIndex: 1, committedOffset: 8n, committedLeaderEpoch: 0, commitTimestamp: -1n, committedMetadata: 'x'.repeat(4097) },
            { partitionIndex: 3, committedOffset: 9n, committedLeaderEpoch: 0, commitTimestamp: -1n, committedMetadata: null },
          ],
        },
        { name: 'missing', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: 0, commitTimestamp: -1n, committedMetadata: null }] },
      ],
    },
    decodeOffsetCommitResponse,
  );
  assert.deepEqual(
    response.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
    [
      ['t', [[0, ERROR_CODES.NONE], [1, ERROR_CODES.OFFSET_METADATA_TOO_LARGE], [3, ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION]]],
      ['missing', [[0, ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION]]],
    ],
  );
  assert.deepEqual((await fetchCommitted(c, 5, 'per-partition', null)).offsets, { 0: [7, ''] });
  assert.deepEqual(await commit(c, 9, '', -1, '', { 0: 1 }), { 0: ERROR_CODES.INVALID_GROUP_ID });
  // OffsetFetch v8+ asks for several groups at once, each answered on its own.
  const many = await c.request(
    API_KEYS.OFFSET_FETCH,
    9,
    encodeOffsetFetchRequest,
    {
      groupId: '',
      topics: [],
      groups: [
        { groupId: 'per-partition', memberId: null, memberEpoch: -1, topics: null },
        { groupId: 'nobody', memberId: null, memberEpoch: -1, topics: [{ name: 't', partitionIndexes: [2] }] },
      ],
      requireStable: true,
    },
    decodeOffsetFetchResponse,
  );
  assert.deepEqual(
    many.groups.map((g) => [g.groupId, g.errorCode, g.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset), p.committedLeaderEpoch])])]),
    [
      ['per-partition', ERROR_CODES.NONE, [['t', [[0, 7, 0]]]]],
      ['nobody', ERROR_CODES.NONE, [['t', [[2, -1, -1]]]]],
    ],
  );
});

test('static members: a new instance takes over the member without a rebalance; the old member id is FENCED_INSTANCE_ID', async () => {
  const a = await connect();
  const b = await connect();
  const leader = await joinAsNew(a, 5, 'static');
  await syncGroup(a, 5, 'static', 1, leader.memberId, { assignments: [{ memberId: leader.memberId, assignment: Uint8Array.of(1) }] });
  const instance = { groupInstanceId: 'pod-1' };
  const firstJoin = joinAsNew(b, 9, 'static', instance);
  await sleep(50);
  assert.equal(await heartbeat(a, 4, 'static', 1, leader.memberId), ERROR_CODES.REBALANCE_IN_PROGRESS);
  await joinGroup(a, 9, 'static', leader.memberId);
  const old = await firstJoin;
  assert.equal(old.errorCode, ERROR_CODES.NONE, 'static members join without MEMBER_ID_REQUIRED');
  const syncingOld = syncGroup(b, 5, 'static', 2, old.memberId, { groupInstanceId: 'pod-1' });
  await syncGroup(a, 5, 'static', 2, leader.memberId, {
    assignments: [
      { memberId: leader.memberId, assignment: Uint8Array.of(1) },
      { memberId: old.memberId, assignment: Uint8Array.of(2) },
    ],
  });
  assert.deepEqual([...(await syncingOld).assignment], [2]);

  // The instance restarts: same instance id, no member id. The group stays Stable at generation 2.
  const c = await connect();
  const replaced = await joinGroup(c, 9, 'static', '', instance);
  assert.equal(replaced.errorCode, ERROR_CODES.NONE);
  assert.notEqual(replaced.memberId, old.memberId);
  assert.equal(replaced.generationId, 2);
  const synced = await syncGroup(c, 5, 'static', 2, replaced.memberId, { groupInstanceId: 'pod-1' });
  assert.deepEqual([...synced.assignment], [2], 'the instance keeps its assignment');
  assert.equal(await heartbeat(a, 4, 'static', 2, leader.memberId), ERROR_CODES.NONE, 'no rebalance');

  assert.equal(await heartbeat(b, 4, 'static', 2, old.memberId, 'pod-1'), ERROR_CODES.FENCED_INSTANCE_ID);
  assert.equal(await heartbeat(b, 2, 'static', 2, old.memberId), ERROR_CODES.UNKNOWN_MEMBER_ID);
  assert.deepEqual(await commit(b, 9, 'static', 2, old.memberId, { 0: 1 }, { groupInstanceId: 'pod-1' }), { 0: ERROR_CODES.FENCED_INSTANCE_ID });
  assert.equal((await syncGroup(b, 5, 'static', 2, old.memberId, { groupInstanceId: 'pod-1' })).errorCode, ERROR_CODES.FENCED_INSTANCE_ID);
  assert.equal((await joinGroup(b, 9, 'static', old.memberId, instance)).errorCode, ERROR_CODES.FENCED_INSTANCE_ID);
  assert.deepEqual(await commit(c, 9, 'static', 2, replaced.memberId, { 0: 3 }, { groupInstanceId: 'pod-1' }), { 0: ERROR_CODES.NONE });
  const d = await describe(c, 5, 'static');
  assert.deepEqual(d.members.map((m) => [m.memberId, m.groupInstanceId]).sort(), [
    [leader.memberId, null],
    [replaced.memberId, 'pod-1'],
  ].sort());

  const left = await leave(a, 5, 'static', [{ memberId: old.memberId, groupInstanceId: 'pod-1' }, { memberId: '', groupInstanceId: 'pod-1' }, { memberId: '', groupInstanceId: 'pod-9' }]);
  assert.deepEqual(left.members.map((m) => [m.groupInstanceId, m.errorCode]), [
    ['pod-1', ERROR_CODES.FENCED_INSTANCE_ID],
    ['pod-1', ERROR_CODES.NONE],
    ['pod-9', ERROR_CODES.UNKNOWN_MEMBER_ID],
  ]);
  assert.deepEqual((await describe(c, 5, 'static')).members.map((m) => m.memberId), [leader.memberId]);
});

test('timeouts: an expired session leaves the group, a member that does not rejoin in time is dropped, a closed connection ends its join', async () => {
  const a = await connect();
  const b = await connect();
  // Session expiry: A stops heartbeating; B's join finds it gone and completes alone.
  const gone = await joinAsNew(a, 9, 'expiry', { sessionTimeoutMs: 200, rebalanceTimeoutMs: 200 });
  await syncGroup(a, 5, 'expiry', 1, gone.memberId);
  await sleep(350);
  const alone = await joinAsNew(b, 9, 'expiry');
  assert.deepEqual(alone.members.map((m) => m.memberId), [alone.memberId]);
  assert.equal(await heartbeat(a, 4, 'expiry', 1, gone.memberId), ERROR_CODES.UNKNOWN_MEMBER_ID);

  // Rebalance timeout (the largest of the members'): A never rejoins; B's join completes at the deadline.
  const slow = await joinAsNew(a, 9, 'deadline', { sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 300 });
  await syncGroup(a, 5, 'deadline', 1, slow.memberId);
  const started = Date.now();
  const prompt = await joinAsNew(b, 9, 'deadline', { rebalanceTimeoutMs: 300 });
  const waited = Date.now() - started;
  assert.ok(waited >= 250 && waited < 5000, `the join waited ${String(waited)} ms`);
  assert.equal(prompt.generationId, 2);
  assert.deepEqual(prompt.members.map((m) => m.memberId), [prompt.memberId]);
  assert.equal(await heartbeat(a, 4, 'deadline', 1, slow.memberId), ERROR_CODES.UNKNOWN_MEMBER_ID);

  // A join whose connection closes leaves no member behind to hold up the next round.
  const stays = await joinAsNew(a, 9, 'closing');
  await syncGroup(a, 5, 'closing', 1, stays.memberId);
  const doomed = await connectRaw(served.broker);
  const first = await joinGroup(doomed, 9, 'closing', '');
  const hanging = joinGroup(doomed, 9, 'closing', first.memberId).catch((err: unknown) => err);
  await sleep(50);
  assert.equal((await describe(a, 5, 'closing')).members.length, 2);
  doomed.close();
  assert.ok((await hanging) instanceof Error);
  const deadline = Date.now() + 5000;
  while ((await describe(a, 5, 'closing')).members.length !== 1 && Date.now() < deadline) await sleep(20);
  assert.deepEqual((await describe(a, 5, 'closing')).members.map((m) => m.memberId), [stays.memberId]);
});

test('ListGroups v4+ filters by state and v5+ by type; DescribeGroups blanks metadata outside Stable', async () => {
  const a = await connect();
  const b = await connect();
  const stable = await joinAsNew(a, 9, 'list-stable');
  await syncGroup(a, 5, 'list-stable', 1, stable.memberId);
  const completing = await joinAsNew(b, 9, 'list-completing');
  const d = await describe(b, 5, 'list-completing');
  assert.equal(d.groupState, 'CompletingRebalance');
  assert.equal(d.protocolData, '');
  assert.deepEqual(d.members.map((m) => [m.memberId, m.memberMetadata.length, m.memberAssignment.length]), [[completing.memberId, 0, 0]]);
  const names = (r: ListGroupsResponse): string[] => r.groups.map((g) => g.groupId).filter((g) => g.startsWith('list-'));
  assert.deepEqual(names(await listGroups(a, 4, ['stable'])), ['list-stable']);
  assert.deepEqual(names(await listGroups(a, 5, ['CompletingRebalance', 'Stable'], ['Classic'])).sort(), ['list-completing', 'list-stable']);
  assert.deepEqual(names(await listGroups(a, 5, [], ['consumer'])), []);
  const all = await listGroups(a, 5);
  assert.deepEqual(all.groups.filter((g) => g.groupId === 'list-stable').map((g) => [g.groupState, g.groupType, g.protocolType]), [['Stable', 'classic', 'consumer']]);
  const dead = await describe(a, 0, 'never-existed');
  assert.deepEqual([dead.errorCode, dead.groupState, dead.members.length], [ERROR_CODES.NONE, 'Dead', 0]);
});

test('a wire member and an embedded consumer share one group through the same coordinator', async () => {
  const c = await connect();
  const wire = await joinAsNew(c, 9, 'shared');
  await syncGroup(c, 5, 'shared', 1, wire.memberId, { assignments: [{ memberId: wire.memberId, assignment: Uint8Array.of(7) }] });
  // The embedded side sees the wire member, and its commits are fenced by the wire member's generation.
  const groups = served.db.admin();
  const described = await groups.describeGroups(['shared']);
  assert.deepEqual(described.groups[0]!.members.map((m) => m.memberId), [wire.memberId]);
  assert.deepEqual(await commit(c, 9, 'shared', 1, wire.memberId, { 1: 42 }), { 1: ERROR_CODES.NONE });
  const fetched = await groups.fetchOffsets({ groupId: 'shared', topics: ['t'] });
  assert.equal(fetched[0]!.partitions.find((p) => p.partition === 1)?.offset, '42');
  await leave(c, 5, 'shared', [{ memberId: wire.memberId }]);
});

test('OffsetDelete v0: spares topics the active group subscribes to, deletes the rest; whole-group errors', async () => {
  const c = await connect();
  await served.db.engine.createTopic('u', { partitions: 1 });
  const offsetDelete = async (groupId: string, topics: Record<string, number[]>): Promise<{ errorCode: number; partitions: Record<string, number> }> => {
    const request = { groupId, topics: Object.entries(topics).map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex })) })) };
    const response = await c.request(API_KEYS.OFFSET_DELETE, 0, encodeOffsetDeleteRequest, request, decodeOffsetDeleteResponse);
    return { errorCode: response.errorCode, partitions: Object.fromEntries(response.topics.flatMap((t) => t.partitions.map((p) => [`${t.name}-${String(p.partitionIndex)}`, p.errorCode]))) };
  };
  assert.deepEqual(await commit(c, 8, 'od', -1, '', { 0: 1, 1: 2 }), { 0: ERROR_CODES.NONE, 1: ERROR_CODES.NONE });
  await served.db.admin().setOffsets({ groupId: 'od', topic: 'u', partitions: [{ partition: 0, offset: '3' }] });
  const subscription = encodeSubscription({ topics: ['t'], userData: null, ownedPartitions: [], generationId: -1, rackId: null });
  const member = await joinAsNew(c, 9, 'od', { protocols: [{ name: 'range', metadata: subscription }] });
  await syncGroup(c, 5, 'od', 1, member.memberId);

  assert.deepEqual(await offsetDelete('od', { t: [0, 7], u: [0], missing: [0] }), {
    errorCode: ERROR_CODES.NONE,
    partitions: { 't-0': ERROR_CODES.GROUP_SUBSCRIBED_TO_TOPIC, 't-7': ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION, 'u-0': ERROR_CODES.NONE, 'missing-0': ERROR_CODES.UNKNOWN_TOPIC_OR_PARTITION },
  });
  await leave(c, 5, 'od', [{ memberId: member.memberId }]);
  assert.deepEqual(await offsetDelete('od', { t: [0] }), { errorCode: ERROR_CODES.NONE, partitions: { 't-0': ERROR_CODES.NONE } });
  assert.deepEqual((await fetchCommitted(c, 8, 'od', [0, 1])).offsets, { 0: [-1, ''], 1: [2, 'm1'] });
  assert.deepEqual(await offsetDelete('od', { t: [1] }), { errorCode: ERROR_CODES.NONE, partitions: { 't-1': ERROR_CODES.NONE } });
  assert.equal((await listGroups(c, 5)).groups.some((g) => g.groupId === 'od'), true, 'the empty group document stays');

  assert.equal((await offsetDelete('never-was', { t: [0] })).errorCode, ERROR_CODES.GROUP_ID_NOT_FOUND);
  assert.equal((await offsetDelete('', { t: [0] })).errorCode, ERROR_CODES.INVALID_GROUP_ID);
  const connectMember = await joinAsNew(c, 9, 'od-connect', { protocolType: 'connect' });
  assert.equal(connectMember.errorCode, ERROR_CODES.NONE);
  assert.equal((await offsetDelete('od-connect', { t: [0] })).errorCode, ERROR_CODES.NON_EMPTY_GROUP);
});
