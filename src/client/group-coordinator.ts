// The consumer-group coordinator without a daemon: Kafka's classic group protocol (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup, OffsetCommit/OffsetFetch with generation fencing, DescribeGroups, ListGroups,
// DeleteGroups) over a membership document kept in the database file. Every process that opens the file
// can act as the coordinator: each call applies one transition of group-state.ts atomically under the
// writer lock, and calls that wait (a join for its round, a sync for the leader) poll the document and
// apply what time decides (expired sessions, deadlines) themselves, so no process has to stay up for a
// group to make progress. It is shaped for any client: the embedded Consumer is one, the Kafka wire server
// will be another; protocol metadata and assignments pass through as opaque bytes. It never fetches
// records and never computes assignments (the leader member does, client-side, as in Kafka).

import { randomUUID } from 'node:crypto';
import { OnelogError } from '../errors.ts';
import type { Engine, GroupOffset, GroupOffsetCommit } from '../storage/engine.ts';
import {
  commitCheck,
  emptyGroup,
  groupDocumentKey,
  GROUP_DOCUMENT_PREFIX,
  heartbeat,
  housekeep,
  join,
  joinResponse,
  type JoinResponse,
  leave,
  memberStatus,
  needsHousekeeping,
  parseGroupDocument,
  sync,
  syncResponse,
  type GroupDocument,
  type GroupStateName,
  type MemberErrorName,
  type SyncStep,
} from './group-state.ts';

export type { GroupErrorName, GroupStateName, MemberErrorName } from './group-state.ts';

export interface GroupCoordinatorOptions {
  /** Time source for sessions and deadlines (ms); default Date.now. Every process must agree on it. */
  readonly clock?: () => number;
  /** How often a waiting join or sync re-reads the membership document (ms, default 10). */
  readonly pollIntervalMs?: number;
}

export interface ProtocolMetadata {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface JoinGroupRequest {
  readonly groupId: string;
  /** '' for a member joining for the first time: the coordinator assigns its id. */
  readonly memberId: string;
  readonly groupInstanceId?: string | null;
  readonly clientId?: string;
  readonly clientHost?: string;
  /** 'consumer' for consumers. */
  readonly protocolType: string;
  /** In order of preference. */
  readonly protocols: readonly ProtocolMetadata[];
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
}

export interface JoinGroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Buffer;
}

/** The stored join response with protocol metadata as bytes; `members` only for the leader (others: empty). */
export type JoinGroupResult =
  | (Omit<JoinResponse, 'members'> & { readonly members: readonly JoinGroupMember[] })
  | { readonly error: 'UNKNOWN_MEMBER_ID' | 'INCONSISTENT_GROUP_PROTOCOL'; readonly memberId: string };

export interface SyncGroupRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  /** The leader's assignment for every member; empty from the other members. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Buffer }[];
}

export type SyncGroupResult =
  | { readonly error: 'NONE'; readonly protocolType: string; readonly protocolName: string; readonly assignment: Buffer }
  | { readonly error: MemberErrorName };

export interface GroupMemberRef {
  readonly memberId: string;
  readonly groupInstanceId?: string | null;
}

export interface LeaveGroupResult {
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null; readonly error: 'NONE' | 'UNKNOWN_MEMBER_ID' }[];
}

export interface OffsetCommitRequest {
  readonly groupId: string;
  /** -1 with memberId '' commits outside any generation, accepted only while the group has no members. */
  readonly generationId: number;
  readonly memberId: string;
  readonly offsets: readonly GroupOffsetCommit[];
}

export interface GroupMemberDescription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** Metadata for the group's protocol (empty while none is chosen). */
  readonly memberMetadata: Buffer;
  /** The member's assignment in the current generation (empty before the leader synced). */
  readonly memberAssignment: Buffer;
}

export interface GroupDescriptionResult {
  readonly groupId: string;
  /** 'Dead' when the group has neither members nor committed offsets. */
  readonly state: GroupStateName | 'Dead';
  readonly generationId: number;
  readonly protocolType: string;
  readonly protocol: string;
  readonly leader: string;
  readonly members: readonly GroupMemberDescription[];
}

export interface GroupListing {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: GroupStateName;
}

export interface WaitOptions {
  /** Ends a waiting join (the member is removed) or sync with OnelogError CLOSED. */
  readonly signal?: AbortSignal;
}

const toBase64 = (b: Buffer): string => b.toString('base64');
const fromBase64 = (s: string): Buffer => Buffer.from(s, 'base64');

function checkGroupId(groupId: string): void {
  if (typeof groupId !== 'string' || groupId.length === 0) throw new OnelogError('INVALID_ARGUMENT', 'A consumer group id must be a non-empty string.');
}

function checkTimeout(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new OnelogError('INVALID_ARGUMENT', `${name} must be a positive integer of milliseconds, got ${String(value)}.`);
}

function aborted(what: string): OnelogError {
  return new OnelogError('CLOSED', `${what} was cancelled.`);
}

export class GroupCoordinator {
  readonly #engine: Engine;
  readonly #clock: () => number;
  readonly #pollIntervalMs: number;

  constructor(engine: Engine, options: GroupCoordinatorOptions = {}) {
    this.#engine = engine;
    this.#clock = options.clock ?? Date.now;
    this.#pollIntervalMs = options.pollIntervalMs ?? 10;
  }

  #read(groupId: string): GroupDocument | undefined {
    return parseGroupDocument(groupId, this.#engine.readDocument(groupDocumentKey(groupId)));
  }

  /** Runs `step` on the newest document (created empty when absent) and stores the result. */
  #update<T>(groupId: string, step: (doc: GroupDocument, now: number) => T): Promise<T> {
    return this.#engine.updateDocument(groupDocumentKey(groupId), (current) => {
      const doc = parseGroupDocument(groupId, current) ?? emptyGroup(groupId);
      const result = step(doc, this.#clock());
      return { value: doc, result };
    });
  }

  /** Like #update, but leaves an absent document absent and answers `absent` instead. */
  #updateExisting<T>(groupId: string, absent: T, step: (doc: GroupDocument, now: number) => T): Promise<T> {
    return this.#engine.updateDocument(groupDocumentKey(groupId), (current) => {
      const doc = parseGroupDocument(groupId, current);
      if (doc === undefined) return { value: undefined, result: absent };
      const result = step(doc, this.#clock());
      return { value: doc, result };
    });
  }

  /**
   * Polls the document until `ready` answers, applying housekeeping (session expiry, deadlines, round
   * completion) whenever it is due, so waiting members drive the group forward by themselves.
   */
  async #waitFor<T>(groupId: string, ready: (doc: GroupDocument | undefined) => T | null, signal: AbortSignal | undefined, what: string): Promise<T> {
    for (;;) {
      if (signal?.aborted === true) throw aborted(what);
      const doc = this.#read(groupId);
      const result = ready(doc);
      if (result !== null) return result;
      if (doc !== undefined && needsHousekeeping(doc, this.#clock())) {
        await this.#updateExisting(groupId, undefined, (d, now) => {
          housekeep(d, now);
        });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, this.#pollIntervalMs));
    }
  }

  /**
   * JoinGroup: resolves when the member's rebalance round completes (every member rejoined, or the
   * rebalance deadline removed those that did not), with the generation, the chosen protocol, the leader
   * and, for the leader, every member's metadata. A member that is already in a stable generation and is
   * not the leader gets that generation back at once when its metadata is unchanged.
   */
  async joinGroup(req: JoinGroupRequest, options: WaitOptions = {}): Promise<JoinGroupResult> {
    checkGroupId(req.groupId);
    checkTimeout('sessionTimeoutMs', req.sessionTimeoutMs);
    checkTimeout('rebalanceTimeoutMs', req.rebalanceTimeoutMs);
    if (req.protocolType.length === 0 || req.protocols.length === 0) {
      throw new OnelogError('INVALID_ARGUMENT', 'A member joining a group needs a protocol type and at least one protocol.');
    }
    const clientId = req.clientId ?? 'onelog';
    const newMemberId = `${clientId}-${randomUUID()}`;
    const step = await this.#update(req.groupId, (doc, now) =>
      join(
        doc,
        {
          memberId: req.memberId,
          groupInstanceId: req.groupInstanceId ?? null,
          clientId,
          clientHost: req.clientHost ?? 'localhost',
          protocolType: req.protocolType,
          protocols: req.protocols.map((p) => ({ name: p.name, metadata: toBase64(p.metadata) })),
          sessionTimeoutMs: req.sessionTimeoutMs,
          rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        },
        newMemberId,
        now,
      ),
    );
    if (step.error !== 'NONE') return { error: step.error, memberId: req.memberId };
    const memberId = step.memberId;
    try {
      const response = await this.#waitFor(
        req.groupId,
        (doc) => (doc === undefined ? ({ error: 'UNKNOWN_MEMBER_ID' } as const) : joinResponse(doc, memberId)),
        options.signal,
        'joinGroup',
      );
      if (response.error !== 'NONE') return { error: response.error, memberId };
      return { ...response, members: response.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: fromBase64(m.metadata) })) };
    } catch (err) {
      // A cancelled join leaves no member behind to hold up the round.
      if (err instanceof OnelogError && err.code === 'CLOSED' && options.signal?.aborted === true) await this.leaveGroup(req.groupId, [{ memberId }]);
      throw err;
    }
  }

  /**
   * SyncGroup: the leader hands in every member's assignment and the group becomes Stable; the other
   * members wait for it and get their own. REBALANCE_IN_PROGRESS when a new round began meanwhile.
   */
  async syncGroup(req: SyncGroupRequest, options: WaitOptions = {}): Promise<SyncGroupResult> {
    checkGroupId(req.groupId);
    const assignments = new Map(req.assignments.map((a) => [a.memberId, toBase64(a.assignment)]));
    type Step = { readonly result: SyncStep; readonly protocolType: string; readonly protocolName: string };
    const absent: Step = { result: { error: 'UNKNOWN_MEMBER_ID' }, protocolType: '', protocolName: '' };
    const step = await this.#updateExisting<Step>(req.groupId, absent, (doc, now) => ({
      result: sync(doc, req.generationId, req.memberId, assignments, now),
      protocolType: doc.protocolType ?? '',
      protocolName: doc.protocolName ?? '',
    }));
    if (step.result.error !== 'NONE') return { error: step.result.error };
    const { protocolType, protocolName } = step;
    const done = (assignment: string): SyncGroupResult => ({ error: 'NONE', protocolType, protocolName, assignment: fromBase64(assignment) });
    if (step.result.assignment !== null) return done(step.result.assignment);
    const response = await this.#waitFor(
      req.groupId,
      (doc) => (doc === undefined ? ({ error: 'UNKNOWN_MEMBER_ID' } as const) : syncResponse(doc, req.generationId, req.memberId)),
      options.signal,
      'syncGroup',
    );
    return response.error === 'NONE' ? done(response.assignment ?? '') : { error: response.error };
  }

  /** Heartbeat: keeps the member's session; REBALANCE_IN_PROGRESS tells it to rejoin. Also expires others. */
  async heartbeat(groupId: string, generationId: number, memberId: string): Promise<{ readonly error: MemberErrorName | 'NONE' }> {
    checkGroupId(groupId);
    const error = await this.#updateExisting<MemberErrorName | 'NONE'>(groupId, 'UNKNOWN_MEMBER_ID', (doc, now) => heartbeat(doc, generationId, memberId, now));
    return { error };
  }

  /**
   * What a heartbeat would answer, read without writing (cheap enough to call every few tens of ms), and
   * whether a write is due to expire a member or end a phase (then call heartbeat).
   */
  memberStatus(groupId: string, generationId: number, memberId: string): { readonly error: MemberErrorName | 'NONE'; readonly housekeepingDue: boolean } {
    const doc = this.#read(groupId);
    const now = this.#clock();
    return { error: memberStatus(doc, generationId, memberId, now), housekeepingDue: doc !== undefined && needsHousekeeping(doc, now) };
  }

  /** LeaveGroup: members named by id, or by groupInstanceId with an empty memberId (static members). */
  async leaveGroup(groupId: string, members: readonly GroupMemberRef[]): Promise<LeaveGroupResult> {
    checkGroupId(groupId);
    const results = await this.#updateExisting(groupId, null, (doc, now) => {
      const ids = members.map((m) =>
        m.memberId === '' && m.groupInstanceId != null ? (doc.members.find((d) => d.groupInstanceId === m.groupInstanceId)?.memberId ?? '') : m.memberId,
      );
      const errors = leave(doc, ids, now);
      return ids.map((memberId, i) => ({ memberId, groupInstanceId: members[i]!.groupInstanceId ?? null, error: errors[i]! }));
    });
    return { members: results ?? members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, error: 'UNKNOWN_MEMBER_ID' as const })) };
  }

  /**
   * OffsetCommit with fencing: the membership check (member known, session alive, generation current,
   * no rebalance completing) and the commit are one atomic step under the writer lock.
   */
  async commitOffsets(req: OffsetCommitRequest): Promise<{ readonly error: MemberErrorName | 'NONE' }> {
    checkGroupId(req.groupId);
    try {
      await this.#engine.commitOffsetsIf(req.groupId, req.offsets, groupDocumentKey(req.groupId), (document) => {
        const error = commitCheck(parseGroupDocument(req.groupId, document), req.generationId, req.memberId, this.#clock());
        return error === 'NONE'
          ? null
          : new OnelogError(error, `Offsets of group ${JSON.stringify(req.groupId)} refused for member ${JSON.stringify(req.memberId)} of generation ${req.generationId}: ${error}.`);
      });
    } catch (err) {
      if (err instanceof OnelogError && (err.code === 'UNKNOWN_MEMBER_ID' || err.code === 'ILLEGAL_GENERATION' || err.code === 'REBALANCE_IN_PROGRESS')) return { error: err.code };
      throw err;
    }
    return { error: 'NONE' };
  }

  /** OffsetFetch: the group's committed offsets, optionally only for some topics (and partitions). */
  fetchOffsets(groupId: string, topics?: readonly { readonly topic: string; readonly partitions?: readonly number[] }[]): GroupOffset[] {
    checkGroupId(groupId);
    const all = this.#engine.fetchOffsets(groupId);
    if (topics === undefined) return all;
    return all.filter((o) => topics.some((t) => t.topic === o.topic && (t.partitions === undefined || t.partitions.includes(o.partition))));
  }

  /** DescribeGroups for one group, in the shape kafkajs' admin returns (plus generation and leader). */
  describeGroup(groupId: string): GroupDescriptionResult {
    checkGroupId(groupId);
    const doc = this.#read(groupId);
    if (doc === undefined || doc.state === 'Empty') {
      const hasOffsets = this.#engine.fetchOffsets(groupId).length > 0;
      return {
        groupId,
        state: doc !== undefined || hasOffsets ? 'Empty' : 'Dead',
        generationId: doc?.generationId ?? -1,
        protocolType: hasOffsets ? 'consumer' : '',
        protocol: '',
        leader: '',
        members: [],
      };
    }
    const protocol = doc.protocolName ?? '';
    return {
      groupId,
      state: doc.state,
      generationId: doc.generationId,
      protocolType: doc.protocolType ?? '',
      protocol,
      leader: doc.leader ?? '',
      members: doc.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: fromBase64(m.protocols.find((p) => p.name === protocol)?.metadata ?? ''),
        memberAssignment: fromBase64(m.assignment),
      })),
    };
  }

  /** ListGroups: groups with a membership document or committed offsets. */
  listGroups(): GroupListing[] {
    const out = new Map<string, GroupListing>();
    for (const groupId of this.#engine.listGroups()) out.set(groupId, { groupId, protocolType: 'consumer', state: 'Empty' });
    for (const key of this.#engine.listDocuments(GROUP_DOCUMENT_PREFIX)) {
      const groupId = key.slice(GROUP_DOCUMENT_PREFIX.length);
      const doc = this.#read(groupId);
      if (doc !== undefined) out.set(groupId, { groupId, protocolType: doc.protocolType ?? out.get(groupId)?.protocolType ?? '', state: doc.state });
    }
    return [...out.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /**
   * DeleteGroups for one group: refused with NON_EMPTY_GROUP while it has members. The membership
   * document goes first (under the lock, with the check), then the offsets: a member joining in between
   * starts a fresh group whose offsets this call still removes.
   */
  async deleteGroup(groupId: string): Promise<{ readonly error: 'NONE' | 'NON_EMPTY_GROUP' | 'GROUP_ID_NOT_FOUND' }> {
    checkGroupId(groupId);
    const hasOffsets = this.#engine.fetchOffsets(groupId).length > 0;
    const error = await this.#engine.updateDocument<'NONE' | 'NON_EMPTY_GROUP' | 'GROUP_ID_NOT_FOUND'>(groupDocumentKey(groupId), (current) => {
      const doc = parseGroupDocument(groupId, current);
      if (doc === undefined) return { value: undefined, result: hasOffsets ? 'NONE' : 'GROUP_ID_NOT_FOUND' };
      housekeep(doc, this.#clock());
      if (doc.members.length > 0) return { value: doc, result: 'NON_EMPTY_GROUP' };
      return { value: undefined, result: 'NONE' };
    });
    if (error !== 'NONE') return { error };
    if (hasOffsets) await this.#engine.deleteGroup(groupId);
    return { error: 'NONE' };
  }
}
