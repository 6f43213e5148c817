// Client-side partition assignment, as Kafka does it: the group leader decodes every member's subscription,
// runs the assignor the group agreed on and hands back one assignment per member. Holds the Kafka
// ConsumerProtocol codec (Subscription v0-v3, Assignment v0-v3), so embedded members and Kafka clients can
// share a group, and the range, roundrobin and cooperative-sticky assignors. Pure functions of their
// input: no engine, no clock, no group state.

import { OnelogError } from '../errors.ts';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

/** Kafka's ConsumerProtocolSubscription. */
export interface Subscription {
  topics: string[];
  userData: Buffer | null;
  /** v1+: the partitions the member owns now (what cooperative assignors keep in place). */
  ownedPartitions: TopicPartitions[];
  /** v2+: the generation the owned partitions were assigned in (-1 unknown). */
  generationId: number;
  /** v3+. */
  rackId: string | null;
}

/** Kafka's ConsumerProtocolAssignment. */
export interface Assignment {
  assignment: TopicPartitions[];
  userData: Buffer | null;
}

export type RebalanceProtocol = 'eager' | 'cooperative';

export interface AssignorMember {
  memberId: string;
  groupInstanceId: string | null;
  subscription: Subscription;
}

/**
 * An assignment strategy. `name` is the protocol name members advertise (Kafka's names, so Java clients
 * agree on it); an eager protocol revokes every partition at each rebalance, a cooperative one only those
 * that move (and each move takes two rebalances: revoke, then assign).
 */
export interface PartitionAssigner {
  readonly name: string;
  readonly rebalanceProtocol: RebalanceProtocol;
  /** Assignment per memberId, from the members' subscriptions and each topic's partition count. */
  assign(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Map<string, TopicPartitions[]>;
}

export const SUBSCRIPTION_VERSION = 3;
export const ASSIGNMENT_VERSION = 3;

// ---- ConsumerProtocol bytes (big-endian, Kafka's classic encoding) -------------------------------------

class Writer {
  readonly #parts: Buffer[] = [];

  int16(v: number): void {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    this.#parts.push(b);
  }

  int32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.#parts.push(b);
  }

  string(s: string | null): void {
    if (s === null) {
      this.int16(-1);
      return;
    }
    const bytes = Buffer.from(s, 'utf8');
    this.int16(bytes.length);
    this.#parts.push(bytes);
  }

  bytes(b: Buffer | null): void {
    if (b === null) {
      this.int32(-1);
      return;
    }
    this.int32(b.length);
    this.#parts.push(b);
  }

  topicPartitions(list: readonly TopicPartitions[]): void {
    this.int32(list.length);
    for (const { topic, partitions } of list) {
      this.string(topic);
      this.int32(partitions.length);
      for (const p of partitions) this.int32(p);
    }
  }

  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

class Reader {
  readonly #buf: Buffer;
  readonly #what: string;
  #pos = 0;

  constructor(buf: Buffer, what: string) {
    this.#buf = buf;
    this.#what = what;
  }

  #need(n: number): void {
    if (this.#pos + n > this.#buf.length) {
      throw new OnelogError('INVALID_ARGUMENT', `Malformed ${this.#what}: ${this.#buf.length} bytes end inside a field at byte ${this.#pos}.`);
    }
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  int16(): number {
    this.#need(2);
    const v = this.#buf.readInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }

  int32(): number {
    this.#need(4);
    const v = this.#buf.readInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    this.#need(n);
    const s = this.#buf.toString('utf8', this.#pos, this.#pos + n);
    this.#pos += n;
    return s;
  }

  requiredString(): string {
    const s = this.string();
    if (s === null) throw new OnelogError('INVALID_ARGUMENT', `Malformed ${this.#what}: a null string where a topic name belongs.`);
    return s;
  }

  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    this.#need(n);
    const b = Buffer.from(this.#buf.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return b;
  }

  count(): number {
    const n = this.int32();
    // Every element takes at least 2 bytes, so a larger count cannot be honest.
    if (n < 0 || n * 2 > this.remaining) throw new OnelogError('INVALID_ARGUMENT', `Malformed ${this.#what}: array count ${n}.`);
    return n;
  }

  topicPartitions(): TopicPartitions[] {
    const out: TopicPartitions[] = [];
    for (let i = this.count(); i > 0; i--) {
      const topic = this.requiredString();
      const partitions: number[] = [];
      for (let j = this.count(); j > 0; j--) partitions.push(this.int32());
      out.push({ topic, partitions });
    }
    return out;
  }
}

export function encodeSubscription(s: Subscription, version = SUBSCRIPTION_VERSION): Buffer {
  const w = new Writer();
  w.int16(version);
  w.int32(s.topics.length);
  for (const t of s.topics) w.string(t);
  w.bytes(s.userData);
  if (version >= 1) w.topicPartitions(s.ownedPartitions);
  if (version >= 2) w.int32(s.generationId);
  if (version >= 3) w.string(s.rackId);
  return w.done();
}

/** Decodes every version; fields of versions above 3 are ignored, as Kafka reads newer versions. */
export function decodeSubscription(buf: Buffer): Subscription {
  const r = new Reader(buf, 'consumer subscription');
  const version = r.int16();
  if (version < 0) throw new OnelogError('INVALID_ARGUMENT', `Malformed consumer subscription: version ${version}.`);
  const topics: string[] = [];
  for (let i = r.count(); i > 0; i--) topics.push(r.requiredString());
  const userData = r.bytes();
  const ownedPartitions = version >= 1 ? r.topicPartitions() : [];
  const generationId = version >= 2 ? r.int32() : -1;
  const rackId = version >= 3 ? r.string() : null;
  return { topics, userData, ownedPartitions, generationId, rackId };
}

export function encodeAssignment(a: Assignment, version = ASSIGNMENT_VERSION): Buffer {
  const w = new Writer();
  w.int16(version);
  w.topicPartitions(a.assignment);
  w.bytes(a.userData);
  return w.done();
}

/** Decodes every version; an empty buffer (a member the leader gave nothing) is an empty assignment. */
export function decodeAssignment(buf: Buffer): Assignment {
  if (buf.length === 0) return { assignment: [], userData: null };
  const r = new Reader(buf, 'consumer assignment');
  const version = r.int16();
  if (version < 0) throw new OnelogError('INVALID_ARGUMENT', `Malformed consumer assignment: version ${version}.`);
  const assignment = r.topicPartitions();
  const userData = r.remaining > 0 ? r.bytes() : null;
  return { assignment, userData };
}

// ---- helpers ---------------------------------------------------------------------------------------

const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sortedMembers(members: readonly AssignorMember[]): AssignorMember[] {
  return [...members].sort((a, b) => compareIds(a.memberId, b.memberId));
}

/** Topics some member subscribes to that exist, sorted. */
function subscribedTopics(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): string[] {
  const topics = new Set<string>();
  for (const m of members) for (const t of m.subscription.topics) if ((partitionCounts.get(t) ?? 0) > 0) topics.add(t);
  return [...topics].sort(compareIds);
}

/** Groups (topic, partition) pairs into TopicPartitions sorted by topic then partition. */
export function groupByTopic(pairs: Iterable<readonly [string, number]>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const [topic, partition] of pairs) {
    let list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, (list = []));
    list.push(partition);
  }
  return [...byTopic.keys()].sort(compareIds).map((topic) => ({ topic, partitions: byTopic.get(topic)!.sort((a, b) => a - b) }));
}

function emptyResult(members: readonly AssignorMember[]): Map<string, [string, number][]> {
  return new Map(members.map((m) => [m.memberId, []]));
}

function finish(result: Map<string, [string, number][]>): Map<string, TopicPartitions[]> {
  return new Map([...result].map(([memberId, pairs]) => [memberId, groupByTopic(pairs)]));
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

// ---- range -----------------------------------------------------------------------------------------

/** Kafka's RangeAssignor: per topic, contiguous ranges to its subscribers sorted by member id. */
export const rangeAssigner: PartitionAssigner = {
  name: 'range',
  rebalanceProtocol: 'eager',
  assign(members, partitionCounts) {
    const result = emptyResult(members);
    const sorted = sortedMembers(members);
    for (const topic of subscribedTopics(members, partitionCounts)) {
      const subscribers = sorted.filter((m) => m.subscription.topics.includes(topic));
      const count = partitionCounts.get(topic)!;
      const each = Math.floor(count / subscribers.length);
      const extra = count % subscribers.length;
      subscribers.forEach((m, i) => {
        const start = each * i + Math.min(i, extra);
        const length = each + (i < extra ? 1 : 0);
        for (let p = start; p < start + length; p++) result.get(m.memberId)!.push([topic, p]);
      });
    }
    return finish(result);
  },
};

// ---- roundrobin ------------------------------------------------------------------------------------

/** Kafka's RoundRobinAssignor: every partition in (topic, partition) order dealt to the next subscriber. */
export const roundRobinAssigner: PartitionAssigner = {
  name: 'roundrobin',
  rebalanceProtocol: 'eager',
  assign(members, partitionCounts) {
    const result = emptyResult(members);
    const sorted = sortedMembers(members);
    let next = 0;
    for (const topic of subscribedTopics(members, partitionCounts)) {
      for (let p = 0; p < partitionCounts.get(topic)!; p++) {
        // Some member subscribes to the topic, so this finds one within a full turn.
        while (!sorted[next % sorted.length]!.subscription.topics.includes(topic)) next++;
        result.get(sorted[next % sorted.length]!.memberId)!.push([topic, p]);
        next++;
      }
    }
    return finish(result);
  },
};

// ---- cooperative-sticky ----------------------------------------------------------------------------

/**
 * Kafka's CooperativeStickyAssignor semantics: a balanced assignment (for members with the same
 * subscription, counts differ by at most one) that keeps every member's valid owned partitions where the
 * balance allows; a partition that must move away from a member still in the group is left out of this
 * round (its owner revokes it and rejoins, and the next round assigns it), so kept partitions are never
 * revoked. Conflicting ownership claims go to the claim with the highest generation.
 */
export const cooperativeStickyAssigner: PartitionAssigner = {
  name: 'cooperative-sticky',
  rebalanceProtocol: 'cooperative',
  assign(members, partitionCounts) {
    const sorted = sortedMembers(members);
    const subscribed = new Map(sorted.map((m) => [m.memberId, new Set(m.subscription.topics)]));
    const all: [string, number][] = [];
    for (const topic of subscribedTopics(members, partitionCounts)) {
      for (let p = 0; p < partitionCounts.get(topic)!; p++) all.push([topic, p]);
    }
    const exists = new Set(all.map(([t, p]) => key(t, p)));

    // Previous owner of each partition: the valid claim with the highest generation (ties: nobody).
    const claims = new Map<string, { memberId: string; generation: number; tied: boolean }>();
    for (const m of sorted) {
      for (const { topic, partitions } of m.subscription.ownedPartitions) {
        if (!subscribed.get(m.memberId)!.has(topic)) continue;
        for (const p of partitions) {
          const k = key(topic, p);
          if (!exists.has(k)) continue;
          const claim = claims.get(k);
          const generation = m.subscription.generationId;
          if (claim === undefined || generation > claim.generation) claims.set(k, { memberId: m.memberId, generation, tied: false });
          else if (generation === claim.generation) claim.tied = true;
        }
      }
    }
    const previousOwner = new Map<string, string>();
    for (const [k, claim] of claims) if (!claim.tied) previousOwner.set(k, claim.memberId);

    // Start from what each member validly owns, then place the rest on the least-loaded eligible member.
    const owned = new Map<string, [string, number][]>(sorted.map((m) => [m.memberId, []]));
    const unassigned: [string, number][] = [];
    for (const tp of all) {
      const owner = previousOwner.get(key(tp[0], tp[1]));
      if (owner === undefined) unassigned.push(tp);
      else owned.get(owner)!.push(tp);
    }
    const eligible = (topic: string): AssignorMember[] => sorted.filter((m) => subscribed.get(m.memberId)!.has(topic));
    const load = (memberId: string): number => owned.get(memberId)!.length;
    const leastLoaded = (candidates: readonly AssignorMember[]): AssignorMember =>
      candidates.reduce((best, m) => (load(m.memberId) < load(best.memberId) ? m : best));

    // Shed partitions from members over the balanced share first (they go to the pool), so the pool fills
    // the members under it. Then move single partitions while some eligible member has two fewer.
    for (const m of sorted) {
      const list = owned.get(m.memberId)!;
      const share = fairShare(m, sorted, subscribed, partitionCounts);
      while (list.length > share) unassigned.push(list.pop()!);
    }
    unassigned.sort((a, b) => compareIds(a[0], b[0]) || a[1] - b[1]);
    for (const tp of unassigned) owned.get(leastLoaded(eligible(tp[0])).memberId)!.push(tp);
    for (let moved = true; moved; ) {
      moved = false;
      for (const m of sorted) {
        const list = owned.get(m.memberId)!;
        for (let i = list.length - 1; i >= 0; i--) {
          const tp = list[i]!;
          const target = leastLoaded(eligible(tp[0]));
          if (load(target.memberId) + 1 < list.length) {
            list.splice(i, 1);
            owned.get(target.memberId)!.push(tp);
            moved = true;
          }
        }
      }
    }

    // Cooperative: a partition going to someone other than its previous owner (still a member) waits for
    // the next round.
    const memberIds = new Set(sorted.map((m) => m.memberId));
    const result = new Map<string, [string, number][]>();
    for (const [memberId, list] of owned) {
      result.set(
        memberId,
        list.filter(([t, p]) => {
          const prev = previousOwner.get(key(t, p));
          return prev === undefined || prev === memberId || !memberIds.has(prev);
        }),
      );
    }
    return finish(result);
  },
};

/**
 * The number of partitions a member should hold at most: with every member on the same topics the
 * ceiling of partitions / members; otherwise the ceiling of its topics' partitions shared by their
 * subscribers (an upper bound the rebalancing moves then refine).
 */
function fairShare(
  member: AssignorMember,
  members: readonly AssignorMember[],
  subscribed: ReadonlyMap<string, ReadonlySet<string>>,
  partitionCounts: ReadonlyMap<string, number>,
): number {
  let share = 0;
  for (const topic of subscribed.get(member.memberId)!) {
    const count = partitionCounts.get(topic) ?? 0;
    const subscribers = members.filter((m) => subscribed.get(m.memberId)!.has(topic)).length;
    share += count / subscribers;
  }
  return Math.ceil(share);
}

/** The built-in assignors, by their kafkajs-style names. */
export const PartitionAssigners = {
  range: rangeAssigner,
  roundRobin: roundRobinAssigner,
  cooperativeSticky: cooperativeStickyAssigner,
} as const;
