// The consumer-group coordinator without a daemon: Kafka's classic group protocol (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup, OffsetCommit/OffsetFetch with generation fencing, DescribeGroups, ListGroups,
// DeleteGroups) over a membership document kept in the database file. Every process that opens the file
// can act as the coordinator: each call applies one transition of group-state.ts atomically under the
// writer lock, and calls that wait (a join for its round, a sync for the leader) poll the document and
// apply what time decides (expired sessions, deadlines) themselves, so no process has to stay up for a
// group to make progress. It is shaped for every client: the embedded Consumer is one, the Kafka wire server
// is another (JoinGroup v4+'s MEMBER_ID_REQUIRED round trip, static members fenced by instance id); protocol
// metadata and assignments pass through as opaque bytes, read only to learn which topics a consumer group
// subscribes to when an OffsetDelete must spare them. It never fetches records and never computes
// assignments (the leader member does, client-side, as in Kafka).

import { randomUUID } from 'node:crypto';
import { OnelogError } from '../errors.ts';
import type { Engine, GroupOffset, GroupOffsetCommit } from '../storage/engine.ts';
import { decodeSubscription } from './assignors.ts';
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
  type InstanceErrorName,
  type MemberErrorName,
  type SyncStep,
} from './group-state.ts';

export type { GroupErrorName, GroupStateName, InstanceErrorName, MemberErrorName } from './group-state.ts';

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
  /**
   * A new member without a groupInstanceId first gets its id with error MEMBER_ID_REQUIRED and joins again
   * with it (Kafka's JoinGroup v4+); default false: it is added at once.
   */
  readonly requireKnownMemberId?: boolean;
}

export interface JoinGroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Buffer;
}

/** The stored join response with protocol metadata as bytes; `members` only for the leader (others: empty). */
export type JoinGroupResult =
  | (Omit<JoinResponse, 'members'> & { readonly members: readonly JoinGroupMember[] })
  | { readonly error: 'UNKNOWN_MEMBER_ID' | 'INCONSISTENT_GROUP_PROTOCOL' | 'FENCED_INSTANCE_ID'; readonly memberId: string }
  /** `memberId` is the id to join with next. */
  | { readonly error: 'MEMBER_ID_REQUIRED'; readonly memberId: string };

export interface SyncGroupRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId?: string | null;
  /** When given (SyncGroup v5+), must be the group's: INCONSISTENT_GROUP_PROTOCOL otherwise. */
  readonly protocolType?: string | null;
  readonly protocolName?: string | null;
  /** The leader's assignment for every member; empty from the other members. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[];
}

export type SyncGroupResult =
  | { readonly error: 'NONE'; readonly protocolType: string; readonly protocolName: string; readonly assignment: Buffer }
  | { readonly error: InstanceErrorName | 'INCONSISTENT_GROUP_PROTOCOL' };

export interface GroupMemberRef {
  readonly memberId: string;
  readonly groupInstanceId?: string | null;
}

export interface LeaveGroupResult {
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null; readonly error: 'NONE' | 'UNKNOWN_MEMBER_ID' | 'FENCED_INSTANCE_ID' }[];
}

export interface OffsetCommitRequest {
  readonly groupId: string;
  /** -1 with memberId '' commits with no generation, accepted only while the group has no members. */
  readonly generationId: number;
  readonly memberId: string;
  readonly offsets: readonly GroupOffsetCommit[];
}

/** A commit that also names the member's static instance id (FENCED_INSTANCE_ID when another member holds it). */
export interface InstanceOffsetCommitRequest extends OffsetCommitRequest {
  readonly groupInstanceId: string | null;
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

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface OffsetDeleteResult {
  /** GROUP_ID_NOT_FOUND: neither members nor offsets; NON_EMPTY_GROUP: members of a non-consumer protocol. */
  readonly error: 'NONE' | 'GROUP_ID_NOT_FOUND' | 'NON_EMPTY_GROUP';
  /** Per asked partition (empty when `error` is not NONE). */
  readonly partitions: readonly (TopicPartitionRef & { readonly error: 'NONE' | 'GROUP_SUBSCRIBED_TO_TOPIC' })[];
}

export interface WaitOptions {
  /** Ends a waiting join (the member is removed) or sync with OnelogError CLOSED. */
  readonly signal?: AbortSignal;
}

const toBase64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const fromBase64 = (s: string): Buffer => Buffer.from(s, 'base64');

function checkGroupId(groupId: string): void {
  if (typeof groupId !== 'string' || groupId.length === 0) throw new OnelogError('INVALID_ARGUMENT', 'A consumer group id must be a non-empty string.');
}

function checkTimeout(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new OnelogError('INVALID_ARGUMENT', `${name} must be a positive integer of milliseconds, got ${String(value)}.`);
}

/** The topics a consumer group's members subscribe to; null when some member's subscription does not decode. */
function subscribedTopics(doc: GroupDocument): Set<string> | null {
  const topics = new Set<string>();
  for (const m of doc.members) {
    const protocol = m.protocols.find((p) => p.name === doc.protocolName) ?? m.protocols[0];
    if (protocol === undefined) return null;
    try {
      for (const topic of decodeSubscription(fromBase64(protocol.metadata)).topics) topics.add(topic);
    } catch {
      return null;
    }
  }
  return topics;
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
          requireKnownMemberId: req.requireKnownMemberId ?? false,
        },
        newMemberId,
        now,
      ),
    );
    if (step.error === 'MEMBER_ID_REQUIRED') return { error: step.error, memberId: step.memberId };
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
    const syncRequest = {
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId ?? null,
      protocolType: req.protocolType ?? null,
      protocolName: req.protocolName ?? null,
      assignments,
    };
    const step = await this.#updateExisting<Step>(req.groupId, absent, (doc, now) => ({
      result: sync(doc, syncRequest, now),
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

  /**
   * Heartbeat: keeps the member's session; REBALANCE_IN_PROGRESS tells it to rejoin. Also expires others.
   * Naming a static instance id another member holds answers FENCED_INSTANCE_ID.
   */
  heartbeat(groupId: string, generationId: number, memberId: string): Promise<{ readonly error: MemberErrorName | 'NONE' }>;
  heartbeat(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): Promise<{ readonly error: InstanceErrorName | 'NONE' }>;
  async heartbeat(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null = null): Promise<{ readonly error: InstanceErrorName | 'NONE' }> {
    checkGroupId(groupId);
    const error = await this.#updateExisting<InstanceErrorName | 'NONE'>(groupId, 'UNKNOWN_MEMBER_ID', (doc, now) => heartbeat(doc, generationId, memberId, groupInstanceId, now));
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

  /**
   * LeaveGroup: members named by id (also ids handed out with MEMBER_ID_REQUIRED), or by groupInstanceId
   * with an empty memberId (static members); an id with another member's instance id is FENCED_INSTANCE_ID.
   */
  async leaveGroup(groupId: string, members: readonly GroupMemberRef[]): Promise<LeaveGroupResult> {
    checkGroupId(groupId);
    const leaving = members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null }));
    const results = await this.#updateExisting(groupId, null, (doc, now) => leave(doc, leaving, now));
    return {
      members: leaving.map((m, i) => {
        const outcome = results?.[i] ?? { memberId: m.memberId, error: 'UNKNOWN_MEMBER_ID' as const };
        return { memberId: outcome.memberId, groupInstanceId: m.groupInstanceId, error: outcome.error };
      }),
    };
  }

  /**
   * OffsetCommit with fencing: the membership check (member known, session alive, generation current,
   * no rebalance completing; with an instance id, not fenced by another member) and the commit are one
   * atomic step under the writer lock.
   */
  commitOffsets(req: InstanceOffsetCommitRequest): Promise<{ readonly error: InstanceErrorName | 'NONE' }>;
  commitOffsets(req: OffsetCommitRequest): Promise<{ readonly error: MemberErrorName | 'NONE' }>;
  async commitOffsets(req: OffsetCommitRequest & { readonly groupInstanceId?: string | null }): Promise<{ readonly error: InstanceErrorName | 'NONE' }> {
    checkGroupId(req.groupId);
    const verdict: { error: InstanceErrorName | 'NONE' } = { error: 'NONE' };
    try {
      await this.#engine.commitOffsetsIf(req.groupId, req.offsets, groupDocumentKey(req.groupId), (document) => {
        const refused = commitCheck(parseGroupDocument(req.groupId, document), req.generationId, req.memberId, req.groupInstanceId ?? null, this.#clock());
        verdict.error = refused;
        if (refused === 'NONE') return null;
        return new OnelogError(
          refused === 'FENCED_INSTANCE_ID' ? 'UNKNOWN_MEMBER_ID' : refused,
          `Offsets of group ${JSON.stringify(req.groupId)} refused for member ${JSON.stringify(req.memberId)} of generation ${req.generationId}: ${refused}.`,
        );
      });
    } catch (err) {
      if (verdict.error !== 'NONE') return { error: verdict.error };
      throw err;
    }
    return { error: 'NONE' };
  }

  /**
   * OffsetDelete: removes committed offsets of partitions the group does not consume. While the group has
   * members, partitions of topics one of them subscribes to are kept (GROUP_SUBSCRIBED_TO_TOPIC; every
   * topic when a subscription does not decode). The check and the deletion are one atomic step.
   */
  async deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<OffsetDeleteResult> {
    checkGroupId(groupId);
    if (this.#read(groupId) === undefined && this.#engine.fetchOffsets(groupId).length === 0) return { error: 'GROUP_ID_NOT_FOUND', partitions: [] };
    const verdict: { result: OffsetDeleteResult } = { result: { error: 'NONE', partitions: [] } };
    await this.#engine.deleteOffsetsIf(groupId, groupDocumentKey(groupId), (document) => {
      const doc = parseGroupDocument(groupId, document);
      // A copy: expiring members here only decides who still subscribes, nothing is written.
      if (doc !== undefined) housekeep(doc, this.#clock());
      if (doc !== undefined && doc.members.length > 0 && doc.protocolType !== 'consumer') {
        verdict.result = { error: 'NON_EMPTY_GROUP', partitions: [] };
        return [];
      }
      const subscribed = doc === undefined || doc.members.length === 0 ? new Set<string>() : subscribedTopics(doc);
      const outcomes = partitions.map((p) => ({ ...p, error: subscribed === null || subscribed.has(p.topic) ? ('GROUP_SUBSCRIBED_TO_TOPIC' as const) : ('NONE' as const) }));
      verdict.result = { error: 'NONE', partitions: outcomes };
      return outcomes.filter((o) => o.error === 'NONE');
    });
    return verdict.result;
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
