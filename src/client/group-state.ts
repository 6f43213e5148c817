// The consumer-group state machine kept in the database file as one JSON document per group: Kafka's
// classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, offset-commit fencing) written as
// pure transitions of that document at a given time. The coordinator runs each transition inside
// Engine.updateDocument, so it applies atomically to the newest document written by whichever process. Nothing
// here does I/O, reads a clock or waits; protocol metadata and assignments are opaque bytes (base64).
//
// Invariants of a group document (every transition keeps them):
//  G1. state is Empty exactly when there are no members; then leader and protocolName are null.
//  G2. In CompletingRebalance and Stable, every member has generationId equal to the group's, is not
//      joining, and the leader is a member. In Stable every member holds the leader's assignment ('' none).
//  G3. In PreparingRebalance, a member whose `joining` is set has asked to join this round; the round
//      completes (generation + 1) as soon as every member is joining, or at the deadline, when members
//      that did not rejoin are removed.
//  G4. A member whose last contact is older than its session timeout is removed by the next transition
//      (whoever runs it), unless it is joining (waiting for the round it joined, bounded by the deadline).
//  G5. A commit is accepted only from a current member with the current generation, outside
//      CompletingRebalance; or with a negative generation (outside group management) while the group has
//      no members.
//  G6. A static member (groupInstanceId set) is the only member with its instance id; a request naming that
//      instance id with another member id is FENCED_INSTANCE_ID. A new instance with the same id takes over
//      the member record under a new member id.
//  G7. pendingMembers holds member ids handed out by a join that required a known member id (Kafka's
//      MEMBER_ID_REQUIRED, JoinGroup v4+); a join with one of them before its deadline adds that member.

import { OnelogError } from '../errors.ts';

export type GroupStateName = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

/** Kafka's errors for a member's standing in the group (also OnelogError codes). */
export type MemberErrorName = 'UNKNOWN_MEMBER_ID' | 'ILLEGAL_GENERATION' | 'REBALANCE_IN_PROGRESS';

/** A member's standing when the request also names its static instance id (G6). */
export type InstanceErrorName = MemberErrorName | 'FENCED_INSTANCE_ID';

/** The error names of Kafka's group protocol that transitions return (never throw). */
export type GroupErrorName = InstanceErrorName | 'INCONSISTENT_GROUP_PROTOCOL' | 'NON_EMPTY_GROUP' | 'GROUP_ID_NOT_FOUND' | 'MEMBER_ID_REQUIRED';

export interface GroupProtocol {
  readonly name: string;
  /** Protocol metadata as base64 (for consumers: Kafka ConsumerProtocol Subscription bytes). */
  readonly metadata: string;
}

export interface MemberRecord {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: GroupProtocol[];
  /** Time of the member's last join, sync, heartbeat or commit (ms). */
  lastSeen: number;
  /** Asked to join the round in progress and waits for its completion. */
  joining: boolean;
  /** Generation whose join response the member got (-1: none yet). */
  generationId: number;
  /** Called SyncGroup in its generation. */
  synced: boolean;
  /** Assignment bytes (base64) for its generation, set by the leader's SyncGroup. */
  assignment: string;
}

/** A member id handed out with MEMBER_ID_REQUIRED, valid for a join until `deadline` (ms). */
export interface PendingMember {
  memberId: string;
  deadline: number;
}

export interface GroupDocument {
  version: 1;
  groupId: string;
  state: GroupStateName;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string | null;
  /** End of the current PreparingRebalance or CompletingRebalance phase (ms; 0 otherwise). */
  deadline: number;
  /** In order of first join (the first joining member leads when the leader is gone). */
  members: MemberRecord[];
  /** G7; absent in documents written before it existed (read as empty). */
  pendingMembers: PendingMember[];
}

export const GROUP_DOCUMENT_PREFIX = 'group:';

export function groupDocumentKey(groupId: string): string {
  return GROUP_DOCUMENT_PREFIX + groupId;
}

export function emptyGroup(groupId: string): GroupDocument {
  return { version: 1, groupId, state: 'Empty', generationId: 0, protocolType: null, protocolName: null, leader: null, deadline: 0, members: [], pendingMembers: [] };
}

// ---- parsing the stored document -------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';
const STATES: readonly unknown[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable'];

function isProtocol(v: unknown): v is GroupProtocol {
  return isRecord(v) && isString(v.name) && isString(v.metadata);
}

function isPending(v: unknown): v is PendingMember {
  return isRecord(v) && isString(v.memberId) && isInt(v.deadline);
}

function isMember(v: unknown): v is MemberRecord {
  return (
    isRecord(v) &&
    isString(v.memberId) &&
    isNullableString(v.groupInstanceId) &&
    isString(v.clientId) &&
    isString(v.clientHost) &&
    isInt(v.sessionTimeoutMs) &&
    isInt(v.rebalanceTimeoutMs) &&
    Array.isArray(v.protocols) &&
    v.protocols.every(isProtocol) &&
    isInt(v.lastSeen) &&
    typeof v.joining === 'boolean' &&
    isInt(v.generationId) &&
    typeof v.synced === 'boolean' &&
    isString(v.assignment)
  );
}

/** The group document stored under `group:<groupId>` (undefined: none); a malformed one is CORRUPT_FILE. */
export function parseGroupDocument(groupId: string, value: unknown): GroupDocument | undefined {
  if (value === undefined) return undefined;
  if (
    isRecord(value) &&
    value.version === 1 &&
    value.groupId === groupId &&
    STATES.includes(value.state) &&
    isInt(value.generationId) &&
    isNullableString(value.protocolType) &&
    isNullableString(value.protocolName) &&
    isNullableString(value.leader) &&
    isInt(value.deadline) &&
    Array.isArray(value.members) &&
    value.members.every(isMember) &&
    (value.pendingMembers === undefined || (Array.isArray(value.pendingMembers) && value.pendingMembers.every(isPending)))
  ) {
    return { ...value, pendingMembers: value.pendingMembers ?? [] } as unknown as GroupDocument;
  }
  throw new OnelogError('CORRUPT_FILE', `The membership document of consumer group ${JSON.stringify(groupId)} is malformed; delete the group to start it afresh.`);
}

// ---- housekeeping: expiry, deadlines, round completion -----------------------------------------------

function findMember(doc: GroupDocument, memberId: string): MemberRecord | undefined {
  return doc.members.find((m) => m.memberId === memberId);
}

function expired(m: MemberRecord, now: number): boolean {
  return !m.joining && m.lastSeen + m.sessionTimeoutMs < now;
}

function toEmpty(doc: GroupDocument): void {
  doc.state = 'Empty';
  doc.generationId++;
  doc.protocolType = null;
  doc.protocolName = null;
  doc.leader = null;
  doc.deadline = 0;
  doc.members = [];
}

function prepareRebalance(doc: GroupDocument, now: number): void {
  if (doc.members.length === 0) {
    if (doc.state !== 'Empty') toEmpty(doc);
    return;
  }
  if (doc.state === 'PreparingRebalance') return;
  doc.state = 'PreparingRebalance';
  doc.deadline = now + Math.max(...doc.members.map((m) => m.rebalanceTimeoutMs));
  for (const m of doc.members) m.joining = false;
}

function removeMembers(doc: GroupDocument, remove: (m: MemberRecord) => boolean, now: number): boolean {
  const before = doc.members.length;
  doc.members = doc.members.filter((m) => !remove(m));
  if (doc.members.length === before) return false;
  if (doc.leader !== null && findMember(doc, doc.leader) === undefined) doc.leader = null;
  prepareRebalance(doc, now);
  return true;
}

/** The protocol every member supports that most members prefer (ties: the earlier member's preference). */
function selectProtocol(doc: GroupDocument): string {
  const candidates = doc.members
    .map((m) => new Set(m.protocols.map((p) => p.name)))
    .reduce((acc, names) => new Set([...acc].filter((n) => names.has(n))));
  const votes = new Map<string, number>();
  for (const m of doc.members) {
    const vote = m.protocols.find((p) => candidates.has(p.name));
    if (vote !== undefined) votes.set(vote.name, (votes.get(vote.name) ?? 0) + 1);
  }
  let best = doc.members[0]!.protocols[0]!.name;
  let bestVotes = -1;
  for (const [name, n] of votes) {
    if (n > bestVotes) {
      best = name;
      bestVotes = n;
    }
  }
  return best;
}

function completeJoin(doc: GroupDocument, now: number): void {
  doc.generationId++;
  doc.protocolName = selectProtocol(doc);
  if (doc.leader === null || findMember(doc, doc.leader) === undefined) doc.leader = doc.members[0]!.memberId;
  doc.state = 'CompletingRebalance';
  doc.deadline = now + Math.max(...doc.members.map((m) => m.rebalanceTimeoutMs));
  for (const m of doc.members) {
    m.joining = false;
    m.generationId = doc.generationId;
    m.synced = false;
    m.assignment = '';
    m.lastSeen = now;
  }
}

/**
 * Applies what time alone decides: expired sessions, a PreparingRebalance deadline (members that did not
 * rejoin are removed), a CompletingRebalance deadline (members that did not sync, the leader among them,
 * are removed), forgets pending member ids past their deadline (G7), and completes a round whose members
 * have all joined. Returns whether anything changed.
 */
export function housekeep(doc: GroupDocument, now: number): boolean {
  let changed = removeMembers(doc, (m) => expired(m, now), now);
  const pending = doc.pendingMembers.length;
  doc.pendingMembers = doc.pendingMembers.filter((p) => p.deadline > now);
  changed = doc.pendingMembers.length !== pending || changed;
  if (doc.state === 'PreparingRebalance' && now >= doc.deadline) changed = removeMembers(doc, (m) => !m.joining, now) || changed;
  if (doc.state === 'CompletingRebalance' && now >= doc.deadline) changed = removeMembers(doc, (m) => !m.synced, now) || changed;
  if (doc.state === 'PreparingRebalance' && doc.members.every((m) => m.joining)) {
    completeJoin(doc, now);
    changed = true;
  }
  return changed;
}

/** Whether housekeep would change the document at `now` (so a reader knows a write is due). */
export function needsHousekeeping(doc: GroupDocument, now: number): boolean {
  return housekeep(structuredClone(doc), now);
}

// ---- JoinGroup -------------------------------------------------------------------------------------

export interface JoinRequest {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly protocolType: string;
  readonly protocols: readonly GroupProtocol[];
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** A new member without an instance id first gets its id with MEMBER_ID_REQUIRED (G7, JoinGroup v4+). */
  readonly requireKnownMemberId: boolean;
}

export type JoinStep =
  | { readonly error: 'UNKNOWN_MEMBER_ID' | 'INCONSISTENT_GROUP_PROTOCOL' | 'FENCED_INSTANCE_ID' }
  | { readonly error: 'NONE' | 'MEMBER_ID_REQUIRED'; readonly memberId: string };

function sameProtocols(a: readonly GroupProtocol[], b: readonly GroupProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata === b[i]!.metadata);
}

function staticMember(doc: GroupDocument, groupInstanceId: string | null): MemberRecord | undefined {
  return groupInstanceId === null ? undefined : doc.members.find((m) => m.groupInstanceId === groupInstanceId);
}

/** G6: the request names a static instance that another member id now holds. */
function fenced(doc: GroupDocument, groupInstanceId: string | null, memberId: string): boolean {
  const holder = staticMember(doc, groupInstanceId);
  return holder !== undefined && holder.memberId !== memberId;
}

function addMember(doc: GroupDocument, req: JoinRequest, memberId: string, now: number): MemberRecord {
  const member: MemberRecord = {
    memberId,
    groupInstanceId: req.groupInstanceId,
    clientId: req.clientId,
    clientHost: req.clientHost,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs,
    protocols: [...req.protocols],
    lastSeen: now,
    joining: false,
    generationId: -1,
    synced: false,
    assignment: '',
  };
  doc.members.push(member);
  doc.protocolType = req.protocolType;
  prepareRebalance(doc, now);
  member.joining = true;
  return member;
}

/**
 * A known member joins again: it joins the round in progress, or starts one, unless the group is in one
 * of `keepIn`, its metadata is unchanged and it does not lead (then its current join response stands).
 */
function rejoin(doc: GroupDocument, member: MemberRecord, req: JoinRequest, now: number, keepIn: readonly GroupStateName[]): void {
  const changed = !sameProtocols(member.protocols, req.protocols);
  member.protocols = [...req.protocols];
  member.sessionTimeoutMs = req.sessionTimeoutMs;
  member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
  member.lastSeen = now;
  if (keepIn.includes(doc.state) && !changed && doc.leader !== member.memberId) return;
  prepareRebalance(doc, now);
  member.joining = true;
}

/**
 * A member asks to join. A new member (empty memberId; `newMemberId` is its id) is added and starts a
 * round, or first gets its id back with MEMBER_ID_REQUIRED (G7); a new instance of a static member takes
 * over its record under the new id (G6) and keeps its generation when the group is Stable and nothing
 * changed. A known member rejoins the round in progress, or starts one when it leads or its metadata
 * changed, or else keeps its generation. The caller then waits until the member is no longer joining
 * (joinResponse).
 */
export function join(doc: GroupDocument, req: JoinRequest, newMemberId: string, now: number): JoinStep {
  housekeep(doc, now);
  if (req.memberId !== '' && fenced(doc, req.groupInstanceId, req.memberId)) return { error: 'FENCED_INSTANCE_ID' };
  const previous = req.memberId === '' ? staticMember(doc, req.groupInstanceId) : undefined;
  const others = doc.members.filter((m) => m.memberId !== req.memberId && m !== previous);
  if (others.length > 0) {
    const names = new Set(req.protocols.map((p) => p.name));
    const common = others.every((m) => m.protocols.some((p) => names.has(p.name)));
    if (doc.protocolType !== req.protocolType || !common) return { error: 'INCONSISTENT_GROUP_PROTOCOL' };
  }
  let member: MemberRecord;
  if (previous !== undefined) {
    if (doc.leader === previous.memberId) doc.leader = newMemberId;
    previous.memberId = newMemberId;
    previous.clientId = req.clientId;
    previous.clientHost = req.clientHost;
    // After the leader's assignment was computed for the old id, only a new round gives the new one its share.
    rejoin(doc, previous, req, now, ['Stable']);
    member = previous;
  } else if (req.memberId === '' && req.requireKnownMemberId && req.groupInstanceId === null) {
    doc.pendingMembers.push({ memberId: newMemberId, deadline: now + req.sessionTimeoutMs });
    return { error: 'MEMBER_ID_REQUIRED', memberId: newMemberId };
  } else if (req.memberId === '') {
    member = addMember(doc, req, newMemberId, now);
  } else {
    const known = findMember(doc, req.memberId);
    const pending = doc.pendingMembers.findIndex((p) => p.memberId === req.memberId);
    if (known !== undefined) {
      rejoin(doc, known, req, now, ['Stable', 'CompletingRebalance']);
      member = known;
    } else if (pending >= 0) {
      doc.pendingMembers.splice(pending, 1);
      member = addMember(doc, req, req.memberId, now);
    } else {
      return { error: 'UNKNOWN_MEMBER_ID' };
    }
  }
  housekeep(doc, now);
  return { error: 'NONE', memberId: member.memberId };
}

export interface JoinResponse {
  readonly error: 'NONE';
  readonly generationId: number;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly leader: string;
  readonly memberId: string;
  /** For the leader: every member of the generation with its metadata for the chosen protocol. */
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null; readonly metadata: string }[];
}

/** The join response once the member's round completed; null while it is still joining. */
export function joinResponse(doc: GroupDocument, memberId: string): JoinResponse | { readonly error: 'UNKNOWN_MEMBER_ID' } | null {
  const member = findMember(doc, memberId);
  if (member === undefined) return { error: 'UNKNOWN_MEMBER_ID' };
  if (member.joining) return null;
  const protocolName = doc.protocolName!;
  const isLeader = doc.leader === memberId;
  return {
    error: 'NONE',
    generationId: member.generationId,
    protocolType: doc.protocolType!,
    protocolName,
    leader: doc.leader!,
    memberId,
    members: isLeader
      ? doc.members
          .filter((m) => m.generationId === member.generationId)
          .map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.protocols.find((p) => p.name === protocolName)?.metadata ?? '' }))
      : [],
  };
}

// ---- SyncGroup, Heartbeat, LeaveGroup, commit fencing ------------------------------------------------

function checkMember(doc: GroupDocument, generationId: number, memberId: string, groupInstanceId: string | null, now: number): InstanceErrorName | MemberRecord {
  if (fenced(doc, groupInstanceId, memberId)) return 'FENCED_INSTANCE_ID';
  const member = findMember(doc, memberId);
  if (member === undefined || expired(member, now)) return 'UNKNOWN_MEMBER_ID';
  if (generationId !== doc.generationId) return 'ILLEGAL_GENERATION';
  return member;
}

export interface SyncRequest {
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** SyncGroup v5+ names the protocol it joined with; null: not checked. */
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  /** The leader's assignments (base64) by member id; empty from the others. */
  readonly assignments: ReadonlyMap<string, string>;
}

export type SyncStep = { readonly error: InstanceErrorName | 'INCONSISTENT_GROUP_PROTOCOL' } | { readonly error: 'NONE'; readonly assignment: string | null };

/**
 * A member of `generationId` asks for its assignment; the leader's call carries everyone's and makes the
 * group Stable. `assignment` null means: wait for the leader (then call syncResponse).
 */
export function sync(doc: GroupDocument, req: SyncRequest, now: number): SyncStep {
  housekeep(doc, now);
  const member = checkMember(doc, req.generationId, req.memberId, req.groupInstanceId, now);
  if (typeof member === 'string') return { error: member };
  if ((req.protocolType !== null && req.protocolType !== doc.protocolType) || (req.protocolName !== null && req.protocolName !== doc.protocolName)) {
    return { error: 'INCONSISTENT_GROUP_PROTOCOL' };
  }
  if (doc.state === 'PreparingRebalance') return { error: 'REBALANCE_IN_PROGRESS' };
  member.lastSeen = now;
  member.synced = true;
  if (doc.state === 'CompletingRebalance' && req.memberId === doc.leader) {
    for (const m of doc.members) m.assignment = req.assignments.get(m.memberId) ?? '';
    doc.state = 'Stable';
    doc.deadline = 0;
  }
  return { error: 'NONE', assignment: doc.state === 'Stable' ? member.assignment : null };
}

/** A waiting member's sync outcome from the current document; null while the leader has not synced. */
export function syncResponse(doc: GroupDocument, generationId: number, memberId: string): SyncStep | null {
  const member = findMember(doc, memberId);
  if (member === undefined) return { error: 'UNKNOWN_MEMBER_ID' };
  if (doc.generationId !== generationId) return { error: 'ILLEGAL_GENERATION' };
  if (doc.state === 'PreparingRebalance') return { error: 'REBALANCE_IN_PROGRESS' };
  if (doc.state === 'Stable') return { error: 'NONE', assignment: member.assignment };
  return null;
}

/** Keeps the member's session alive; tells it when it must rejoin. */
export function heartbeat(doc: GroupDocument, generationId: number, memberId: string, groupInstanceId: string | null, now: number): InstanceErrorName | 'NONE' {
  housekeep(doc, now);
  const member = checkMember(doc, generationId, memberId, groupInstanceId, now);
  if (typeof member === 'string') return member;
  member.lastSeen = now;
  return doc.state === 'PreparingRebalance' ? 'REBALANCE_IN_PROGRESS' : 'NONE';
}

/** What a heartbeat would answer, without writing (for members watching the document between heartbeats). */
export function memberStatus(doc: GroupDocument | undefined, generationId: number, memberId: string, now: number): MemberErrorName | 'NONE' {
  if (doc === undefined) return 'UNKNOWN_MEMBER_ID';
  const member = checkMember(doc, generationId, memberId, null, now);
  if (typeof member === 'string') return member === 'FENCED_INSTANCE_ID' ? 'UNKNOWN_MEMBER_ID' : member;
  return doc.state === 'PreparingRebalance' ? 'REBALANCE_IN_PROGRESS' : 'NONE';
}

export interface LeavingMember {
  /** '' names the member by its groupInstanceId (an administrator removing a static member). */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface LeaveOutcome {
  /** The member id that left (resolved from the instance id when none was given). */
  readonly memberId: string;
  readonly error: 'NONE' | 'UNKNOWN_MEMBER_ID' | 'FENCED_INSTANCE_ID';
}

/** Removes members (and pending member ids); each gets NONE, UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID. */
export function leave(doc: GroupDocument, members: readonly LeavingMember[], now: number): LeaveOutcome[] {
  housekeep(doc, now);
  const leaving = new Set<string>();
  const outcomes = members.map((m): LeaveOutcome => {
    if (m.memberId === '') {
      const holder = staticMember(doc, m.groupInstanceId);
      if (holder === undefined) return { memberId: '', error: 'UNKNOWN_MEMBER_ID' };
      leaving.add(holder.memberId);
      return { memberId: holder.memberId, error: 'NONE' };
    }
    const pending = doc.pendingMembers.findIndex((p) => p.memberId === m.memberId);
    if (pending >= 0) {
      doc.pendingMembers.splice(pending, 1);
      return { memberId: m.memberId, error: 'NONE' };
    }
    if (fenced(doc, m.groupInstanceId, m.memberId)) return { memberId: m.memberId, error: 'FENCED_INSTANCE_ID' };
    if (findMember(doc, m.memberId) === undefined) return { memberId: m.memberId, error: 'UNKNOWN_MEMBER_ID' };
    leaving.add(m.memberId);
    return { memberId: m.memberId, error: 'NONE' };
  });
  removeMembers(doc, (m) => leaving.has(m.memberId), now);
  housekeep(doc, now);
  return outcomes;
}

/**
 * G5: whether a commit by (generationId, memberId, groupInstanceId) is accepted against the document
 * (undefined: none). A negative generation with no member id commits outside group management.
 */
export function commitCheck(doc: GroupDocument | undefined, generationId: number, memberId: string, groupInstanceId: string | null, now: number): InstanceErrorName | 'NONE' {
  if (generationId < 0 && memberId === '' && groupInstanceId === null) {
    return doc === undefined || doc.members.every((m) => expired(m, now)) ? 'NONE' : 'UNKNOWN_MEMBER_ID';
  }
  // No group: a positive generation is one the coordinator no longer knows.
  if (doc === undefined) return generationId < 0 ? 'UNKNOWN_MEMBER_ID' : 'ILLEGAL_GENERATION';
  const member = checkMember(doc, generationId, memberId, groupInstanceId, now);
  if (typeof member === 'string') return member;
  return doc.state === 'CompletingRebalance' ? 'REBALANCE_IN_PROGRESS' : 'NONE';
}
