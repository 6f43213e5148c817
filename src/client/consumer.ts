// The kafkajs-shaped consumer: subscribe, run with eachMessage/eachBatch (or pull with messages()),
// commit, seek, pause/resume, and group membership through the GroupCoordinator (in-file, no daemon): a
// heartbeat timer keeps the session, a cheap read-only watch notices rebalances between heartbeats, and
// the member that leads computes the assignment client-side. Records are read straight from the engine,
// and an idle consumer sleeps in engine.waitForAny on its partitions, so a commit by whichever process wakes
// it. It never writes records and never touches the file except through Engine and GroupCoordinator.
//
// Invariants of a running consumer:
//  C1. A partition is fetched and handed out only while this member owns it: from its assignment in a
//      generation until it is revoked (eager rebalance: all, before rejoining; cooperative: only the ones
//      the new assignment lacks, after it arrives) or lost (the membership was refused).
//  C2. `next` of an owned partition is the offset after the last message resolved (handled); fetching
//      starts there, and commits write it. A message is resolved only after its handler returned.
//  C3. Offsets are committed only with the member's current (memberId, generationId), and the coordinator
//      checks both atomically with the commit; a refused commit loses the partitions (C1) without retry.
//  C4. With autoCommit, resolved offsets are committed before partitions are revoked and before the member
//      leaves the group, so an orderly rebalance or shutdown hands no message out twice.
//  C5. Commits run one at a time, in order, each taking the offsets resolved when its turn comes (C2): the
//      commit after a fetch is not awaited (the next fetch is handled meanwhile), yet never covers a
//      message not handled, and revocations and the leave wait for every commit before them.

import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { OnelogError } from '../errors.ts';
import type { Engine } from '../storage/engine.ts';
import {
  PartitionAssigners,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  groupByTopic,
  type PartitionAssigner,
  type RebalanceProtocol,
  type Subscription,
  type TopicPartitions,
} from './assignors.ts';
import {
  CONSUMER_EVENTS,
  type Batch,
  type ConsumedMessage,
  type ConsumerConfig,
  type ConsumerEventName,
  type ConsumerEventPayloads,
  type ConsumerMessagesConfig,
  type ConsumerRunConfig,
  type ConsumerSubscribeTopic,
  type ConsumerSubscribeTopics,
  type EachBatchHandler,
  type EachBatchPayload,
  type EachMessageHandler,
  type InstrumentationEvent,
  type OffsetsByTopicPartition,
} from './consumer-types.ts';
import { GroupCoordinator, type JoinGroupMember, type MemberErrorName } from './group-coordinator.ts';
import { toKafkaMessages, type DecodedMessages } from './messages.ts';
import type { GroupDescription, KafkaMessage, TopicOffsets, TopicPartitionOffset, TopicPartitionOffsetAndMetadata } from './types.ts';

export type { ConsumerConfig } from './consumer-types.ts';

/** How often a member reads the group document between heartbeats to notice a rebalance (ms). */
const WATCH_INTERVAL_MS = 50;
/** Longest single wait for data: between waits the loop commits when autoCommitInterval is due. */
const WAIT_SLICE_MS = 250;

interface TopicMatcher {
  readonly matcher: string | RegExp;
  readonly fromBeginning: boolean;
}

interface OwnedPartition {
  readonly topic: string;
  readonly partition: number;
  /** tpKey(topic, partition). */
  readonly key: string;
  /** Set when the member gave the partition up (C1): whatever handles it must stop. */
  revoked: boolean;
  /** C2: the next offset to fetch and to commit. */
  next: number;
  /** The offset last committed for it (null: none yet). */
  committed: number | null;
  /** Where autoCommitThreshold counts resolved messages from: the last commit, or the start. */
  countedFrom: number;
}

interface Settings {
  readonly groupId: string;
  readonly groupInstanceId: string | null;
  readonly assigners: readonly PartitionAssigner[];
  readonly sessionTimeout: number;
  readonly rebalanceTimeout: number;
  readonly heartbeatInterval: number;
  readonly metadataMaxAge: number;
  readonly maxBytesPerPartition: number;
  readonly maxBytes: number;
  readonly maxWaitTimeInMs: number;
  readonly retries: number;
  readonly initialRetryTime: number;
  readonly maxRetryTime: number;
  readonly multiplier: number;
  readonly factor: number;
  readonly restartOnFailure: ((err: Error) => Promise<boolean>) | undefined;
  readonly allowAutoTopicCreation: boolean;
  readonly rackId: string | null;
}

interface RunSettings {
  readonly autoCommit: boolean;
  readonly autoCommitInterval: number | null;
  readonly autoCommitThreshold: number | null;
  readonly eachBatchAutoResolve: boolean;
  readonly concurrency: number;
  readonly eachMessage: ConsumerRunConfig['eachMessage'];
  readonly eachBatch: ConsumerRunConfig['eachBatch'];
}

interface JoinOutcome {
  readonly assignment: TopicPartitions[];
  readonly lost: boolean;
}

/** Why a run ended early: the error, and whether a restart may help (kafkajs' retriable crash). */
interface RunnerCrash {
  readonly error: Error;
  readonly restartable: boolean;
}

/** A handler's own failure, carried back to the loop (which retries, then crashes). */
interface HandlerFailure {
  readonly cause: unknown;
}

/** What one read of a partition returned, decoded only when its turn to be handled comes. */
interface PartitionRead {
  readonly owner: OwnedPartition;
  readonly records: Buffer;
  readonly highWatermark: number;
  /** The offset of the last record read (control records included). */
  readonly lastOffset: number;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new OnelogError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${String(value)}.`);
  return value;
}

function nullableCount(name: string, value: number | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  return positiveInt(name, value, 0);
}

function parseOffset(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new OnelogError('INVALID_ARGUMENT', `${what} must be an integer offset (a decimal string), got ${JSON.stringify(value)}.`);
  return n;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The pause/resume state, by topic (every partition) and by partition, as kafkajs keeps it. */
class PauseState {
  readonly #topics = new Set<string>();
  readonly #partitions = new Map<string, Set<number>>();
  /** Partitions resumed one by one while their whole topic stays paused. */
  readonly #except = new Map<string, Set<number>>();
  #version = 0;

  /** Changes with every pause and resume, so a handler loop looks the state up only when it changed. */
  get version(): number {
    return this.#version;
  }

  static #set(map: Map<string, Set<number>>, topic: string): Set<number> {
    let set = map.get(topic);
    if (set === undefined) map.set(topic, (set = new Set()));
    return set;
  }

  pause(topic: string, partitions: readonly number[] | undefined): void {
    this.#version++;
    if (partitions === undefined) {
      this.#topics.add(topic);
      this.#except.delete(topic);
      return;
    }
    for (const p of partitions) {
      PauseState.#set(this.#partitions, topic).add(p);
      this.#except.get(topic)?.delete(p);
    }
  }

  resume(topic: string, partitions: readonly number[] | undefined): void {
    this.#version++;
    if (partitions === undefined) {
      this.#topics.delete(topic);
      this.#partitions.delete(topic);
      this.#except.delete(topic);
      return;
    }
    for (const p of partitions) {
      this.#partitions.get(topic)?.delete(p);
      if (this.#topics.has(topic)) PauseState.#set(this.#except, topic).add(p);
    }
  }

  isPaused(topic: string, partition: number): boolean {
    return (this.#topics.has(topic) && this.#except.get(topic)?.has(partition) !== true) || this.#partitions.get(topic)?.has(partition) === true;
  }
}

function validateTopicsArg(topics: unknown, what: string): { topic: string; partitions: number[] | undefined }[] {
  if (!Array.isArray(topics)) throw new OnelogError('INVALID_ARGUMENT', `${what} takes an array of { topic, partitions? }.`);
  return topics.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null || typeof (entry as { topic?: unknown }).topic !== 'string') {
      throw new OnelogError('INVALID_ARGUMENT', `${what}: each entry needs a topic name.`);
    }
    const { topic, partitions } = entry as { topic: string; partitions?: unknown };
    if (partitions !== undefined && (!Array.isArray(partitions) || !partitions.every((p) => Number.isSafeInteger(p)))) {
      throw new OnelogError('INVALID_ARGUMENT', `${what}: partitions of ${topic} must be an array of partition numbers.`);
    }
    return { topic, partitions: partitions as number[] | undefined };
  });
}

/**
 * One run of the consumer: membership, the fetch loop and commits, from run() until stop() or a crash.
 * A restart after a crash is a new Runner.
 */
class Runner {
  readonly #engine: Engine;
  readonly #coordinator: GroupCoordinator;
  readonly #settings: Settings;
  readonly #run: RunSettings;
  readonly #subscriptions: readonly TopicMatcher[];
  readonly #pauses: PauseState;
  readonly #emit: <K extends ConsumerEventName>(type: K, payload: ConsumerEventPayloads[K]) => void;
  readonly #inHandler: AsyncLocalStorage<Runner | null>;

  #memberId = '';
  #generationId = -1;
  #protocol: RebalanceProtocol = 'eager';
  #topics: string[] = [];
  #topicsCheckedAt = 0;
  readonly #owned = new Map<string, OwnedPartition>();
  readonly #seeks = new Map<string, number>();

  #running = true;
  #rejoinNeeded = true;
  #lost = false;
  #joined = false;
  #joinTask: Promise<void> | null = null;
  #pendingJoin: JoinOutcome | null = null;
  /** What failed beside the loop (a join, a heartbeat, a commit after a fetch): the loop ends with it. */
  #backgroundError: Error | null = null;
  readonly #abort = new AbortController();

  #wakeUp: (() => void) | null = null;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #watchTimer: NodeJS.Timeout | null = null;
  #heartbeatInFlight: Promise<void> | null = null;
  #lastHeartbeat = 0;
  #lastCommit = Date.now();
  #commitChain: Promise<unknown> = Promise.resolve();
  /** An automatic commit of every owned partition waiting for its turn (it takes the offsets then). */
  #queuedCommit: Promise<MemberErrorName | 'NONE'> | null = null;
  #attempt = 0;
  #crash: RunnerCrash | null = null;

  /** Settles when the first assignment arrived (run() resolves) or the runner failed before it. */
  readonly started: Promise<void>;
  #markStarted!: (err?: unknown) => void;
  /** Settles when the loop ended and the member left; resolves with the crash, or null. */
  readonly finished: Promise<RunnerCrash | null>;

  constructor(
    engine: Engine,
    coordinator: GroupCoordinator,
    settings: Settings,
    run: RunSettings,
    subscriptions: readonly TopicMatcher[],
    pauses: PauseState,
    emit: <K extends ConsumerEventName>(type: K, payload: ConsumerEventPayloads[K]) => void,
    inHandler: AsyncLocalStorage<Runner | null>,
  ) {
    this.#engine = engine;
    this.#coordinator = coordinator;
    this.#settings = settings;
    this.#run = run;
    this.#subscriptions = subscriptions;
    this.#pauses = pauses;
    this.#emit = emit;
    this.#inHandler = inHandler;
    this.started = new Promise<void>((resolve, reject) => {
      this.#markStarted = (err?: unknown) => (err === undefined ? resolve() : reject(asError(err)));
    });
    this.finished = this.#main();
  }

  /** Whether stop() was called or the run ended (read after awaits, where a narrowed field would lie). */
  #stopped(): boolean {
    return !this.#running;
  }

  /** Whether the calling code runs inside one of this runner's handlers. */
  calledFromHandler(): boolean {
    return this.#inHandler.getStore() === this;
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  async #main(): Promise<RunnerCrash | null> {
    this.#heartbeatTimer = setInterval(() => void this.#heartbeat(false), this.#settings.heartbeatInterval);
    this.#watchTimer = setInterval(() => this.#watch(), Math.min(WATCH_INTERVAL_MS, this.#settings.heartbeatInterval));
    try {
      await this.#loop();
    } catch (err) {
      this.#crash = { error: asError(err), restartable: err instanceof OnelogError && err.retriable };
    }
    let crash = this.#crash;
    this.#running = false;
    this.#abort.abort();
    clearInterval(this.#heartbeatTimer);
    clearInterval(this.#watchTimer);
    try {
      await this.#joinTask;
      await this.#heartbeatInFlight;
      await this.#commitChain;
      if (this.#memberId !== '') {
        if (crash === null && this.#run.autoCommit && !this.#lost) await this.#commitUncommitted();
        this.#revoke([...this.#owned.values()], false);
        await this.#coordinator.leaveGroup(this.#settings.groupId, [{ memberId: this.#memberId }]);
      }
    } catch (err) {
      crash ??= { error: asError(err), restartable: false };
    }
    // run() resolves when stopped before the first assignment, and rejects with a crash.
    this.#markStarted(crash?.error);
    return crash;
  }

  /** Ends the run: handlers finish their current message, offsets are committed, the member leaves. */
  stop(): void {
    this.#running = false;
    this.#abort.abort();
    this.wake();
  }

  /** Ends a wait for data (something changed: pause state, seek, membership). */
  wake(): void {
    const wake = this.#wakeUp;
    this.#wakeUp = null;
    wake?.();
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      // One turn of the event loop per iteration: timers (heartbeats) and I/O run even when handlers and
      // reads complete synchronously.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.#backgroundError !== null) throw this.#backgroundError;
      if (this.#pendingJoin !== null) await this.#applyJoin(this.#pendingJoin);
      if (this.#rejoinNeeded && this.#joinTask === null) await this.#startRejoin();
      if (this.#stopped()) break;
      if (this.#joinTask !== null && this.#protocol === 'eager') await this.#joinTask;
      if (this.#pendingJoin !== null) continue;
      this.#applySeeks();
      this.#refreshTopicsIfDue();
      if (this.#run.autoCommit && this.#commitDue()) await this.#commitUncommitted();
      const ready = this.#readyPartitions();
      if (ready.length === 0) {
        await this.#waitForData();
        continue;
      }
      const failure = await this.#fetchAndProcess(ready);
      if (failure === null) {
        this.#attempt = 0;
        continue;
      }
      // A handler failed (what it handled before is committed): back off and fetch the same messages
      // again, or end the run after the retries, as kafkajs' retrier does.
      if (this.#stopped()) break;
      if (this.#attempt >= this.#settings.retries) {
        this.#crash = { error: asError(failure.cause), restartable: true };
        return;
      }
      const base = this.#settings.initialRetryTime * this.#settings.multiplier ** this.#attempt;
      const jitter = 1 - this.#settings.factor + 2 * this.#settings.factor * Math.random();
      this.#attempt++;
      await sleep(Math.min(this.#settings.maxRetryTime, Math.ceil(base * jitter)), this.#abort.signal);
    }
  }

  // ---- membership --------------------------------------------------------------------------------

  async #startRejoin(): Promise<void> {
    this.#rejoinNeeded = false;
    if (this.#joined) this.#emit(CONSUMER_EVENTS.REBALANCING, { groupId: this.#settings.groupId, memberId: this.#memberId });
    if (this.#lost) {
      this.#revoke([...this.#owned.values()], true);
      this.#lost = false;
    } else if (this.#protocol === 'eager' && this.#owned.size > 0) {
      // C4: no batch is being handled here (the loop handles them), so the resolved offsets are final.
      if (this.#run.autoCommit) await this.#commitUncommitted();
      this.#revoke([...this.#owned.values()], this.#lost);
      this.#lost = false;
    }
    const task = this.#joinAndSync()
      .then(
        (outcome) => {
          this.#pendingJoin = outcome;
        },
        (err: unknown) => {
          this.#backgroundError = asError(err);
        },
      )
      .then(() => {
        this.#joinTask = null;
        this.wake();
      });
    this.#joinTask = task;
    // Eager: nothing is owned until the assignment arrives. Cooperative: owned partitions keep flowing.
    if (this.#protocol === 'eager') await task;
  }

  /** Joins (or rejoins) and syncs until an assignment arrives; a refused membership starts over. */
  async #joinAndSync(): Promise<JoinOutcome> {
    const started = Date.now();
    let lost = false;
    for (;;) {
      this.#topics = this.#resolveTopics();
      this.#topicsCheckedAt = Date.now();
      // A member that lost its membership claims nothing: its partitions may have moved on.
      const owned = this.#lost ? [] : groupByTopic([...this.#owned.values()].map((p) => [p.topic, p.partition] as const));
      const protocols = this.#settings.assigners.map((a) => ({
        name: a.name,
        metadata: encodeSubscription({ topics: this.#topics, userData: null, ownedPartitions: owned, generationId: this.#generationId, rackId: this.#settings.rackId }),
      }));
      const joined = await this.#coordinator.joinGroup(
        {
          groupId: this.#settings.groupId,
          memberId: this.#memberId,
          groupInstanceId: this.#settings.groupInstanceId,
          clientId: 'onelog-consumer',
          protocolType: 'consumer',
          protocols,
          sessionTimeoutMs: this.#settings.sessionTimeout,
          rebalanceTimeoutMs: this.#settings.rebalanceTimeout,
        },
        { signal: this.#abort.signal },
      );
      if (joined.error !== 'NONE') {
        if (joined.error === 'INCONSISTENT_GROUP_PROTOCOL') {
          throw new OnelogError(
            'INVALID_CONFIG',
            `Group ${JSON.stringify(this.#settings.groupId)} uses assignment protocols none of this consumer's assigners (${this.#settings.assigners.map((a) => a.name).join(', ')}) supports.`,
          );
        }
        // UNKNOWN_MEMBER_ID: this member was removed (its session ran out); it joins afresh.
        this.#memberId = '';
        this.#generationId = -1;
        this.#lost = true;
        lost = true;
        continue;
      }
      this.#memberId = joined.memberId;
      this.#generationId = joined.generationId;
      this.#protocol = this.#settings.assigners.find((a) => a.name === joined.protocolName)?.rebalanceProtocol ?? 'eager';
      const isLeader = joined.leader === joined.memberId;
      const assignments = isLeader ? this.#assign(joined.protocolName, joined.members) : [];
      const synced = await this.#coordinator.syncGroup(
        { groupId: this.#settings.groupId, generationId: joined.generationId, memberId: joined.memberId, assignments },
        { signal: this.#abort.signal },
      );
      if (synced.error === 'REBALANCE_IN_PROGRESS') continue;
      if (synced.error !== 'NONE') {
        this.#memberId = synced.error === 'UNKNOWN_MEMBER_ID' ? '' : this.#memberId;
        this.#generationId = -1;
        this.#lost = true;
        lost = true;
        continue;
      }
      const assignment = decodeAssignment(synced.assignment).assignment;
      this.#emit(CONSUMER_EVENTS.GROUP_JOIN, {
        duration: Date.now() - started,
        groupId: this.#settings.groupId,
        isLeader,
        leaderId: joined.leader,
        groupProtocol: joined.protocolName,
        memberId: joined.memberId,
        memberAssignment: Object.fromEntries(assignment.map((a) => [a.topic, a.partitions])),
      });
      return { assignment, lost };
    }
  }

  /** The leader's part: every member's assignment from their subscriptions (client-side, as Kafka). */
  #assign(protocolName: string, members: readonly JoinGroupMember[]): { memberId: string; assignment: Buffer }[] {
    const assigner = this.#settings.assigners.find((a) => a.name === protocolName)!;
    const subscribers = members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, subscription: readSubscription(m.metadata) }));
    const counts = new Map<string, number>();
    for (const m of subscribers) {
      for (const topic of m.subscription.topics) {
        const info = this.#engine.describeTopic(topic);
        if (info !== undefined) counts.set(topic, info.partitions);
      }
    }
    const result = assigner.assign(subscribers, counts);
    return subscribers.map((m) => ({ memberId: m.memberId, assignment: encodeAssignment({ assignment: result.get(m.memberId) ?? [], userData: null }) }));
  }

  /** Takes the assignment a join produced: revokes what it lacks (cooperative), starts what it adds. */
  async #applyJoin(outcome: JoinOutcome): Promise<void> {
    this.#pendingJoin = null;
    if (outcome.lost || this.#lost) {
      this.#revoke([...this.#owned.values()], true);
      this.#lost = false;
    }
    const subscribed = new Set(this.#topics);
    const unsubscribed = outcome.assignment.filter((a) => !subscribed.has(a.topic));
    if (unsubscribed.length > 0) {
      this.#emit(CONSUMER_EVENTS.RECEIVED_UNSUBSCRIBED_TOPICS, {
        groupId: this.#settings.groupId,
        generationId: this.#generationId,
        memberId: this.#memberId,
        assignedTopics: outcome.assignment.map((a) => a.topic),
        topicsSubscribed: [...subscribed],
        topicsNotSubscribed: unsubscribed.map((a) => a.topic),
      });
    }
    const assigned = new Set<string>();
    for (const { topic, partitions } of outcome.assignment) if (subscribed.has(topic)) for (const p of partitions) assigned.add(tpKey(topic, p));
    const revoked = [...this.#owned.values()].filter((p) => !assigned.has(tpKey(p.topic, p.partition)));
    if (revoked.length > 0) {
      if (this.#run.autoCommit) await this.#commitUncommitted(revoked);
      this.#revoke(revoked, false);
      // Cooperative: the revoked partitions go to their new owners in the next round.
      this.#rejoinNeeded = true;
    }
    const added: [string, number][] = [];
    const committed = new Map(this.#coordinator.fetchOffsets(this.#settings.groupId).map((o) => [tpKey(o.topic, o.partition), o.offset]));
    for (const key of assigned) {
      if (this.#owned.has(key)) continue;
      const [topic, p] = key.split('\u0000') as [string, string];
      const partition = Number(p);
      const state: OwnedPartition = { topic, partition, key, revoked: false, next: 0, committed: committed.get(key) ?? null, countedFrom: 0 };
      state.next = this.#startOffset(state, state.committed);
      state.countedFrom = state.next;
      this.#owned.set(key, state);
      added.push([topic, partition]);
    }
    if (added.length > 0) {
      this.#emit(CONSUMER_EVENTS.PARTITIONS_ASSIGNED, { groupId: this.#settings.groupId, memberId: this.#memberId, generationId: this.#generationId, topics: groupByTopic(added) });
    }
    this.#joined = true;
    this.#markStarted();
  }

  #revoke(partitions: readonly OwnedPartition[], lost: boolean): void {
    if (partitions.length === 0) return;
    for (const p of partitions) {
      this.#owned.delete(p.key);
      p.revoked = true;
    }
    this.#emit(CONSUMER_EVENTS.PARTITIONS_REVOKED, {
      groupId: this.#settings.groupId,
      memberId: this.#memberId,
      generationId: this.#generationId,
      topics: groupByTopic(partitions.map((p) => [p.topic, p.partition] as const)),
      lost,
    });
  }

  /** Marks the membership lost (C3): partitions are dropped without commit and the member rejoins. */
  #loseMembership(error: MemberErrorName): void {
    if (error === 'UNKNOWN_MEMBER_ID') this.#memberId = '';
    this.#generationId = -1;
    this.#lost = true;
    this.#rejoinNeeded = true;
    this.wake();
  }

  /** Reacts to what the coordinator said of this member. */
  #onMemberStatus(error: MemberErrorName | 'NONE'): void {
    if (error === 'NONE' || this.#joinTask !== null || !this.#running || this.#memberId === '') return;
    if (error === 'REBALANCE_IN_PROGRESS') {
      this.#rejoinNeeded = true;
      this.wake();
    } else {
      this.#loseMembership(error);
    }
  }

  #heartbeat(force: boolean): Promise<void> {
    if (this.#heartbeatInFlight !== null) return this.#heartbeatInFlight;
    if (this.#memberId === '' || !this.#running) return Promise.resolve();
    if (!force && Date.now() - this.#lastHeartbeat < this.#settings.heartbeatInterval / 2) return Promise.resolve();
    const memberId = this.#memberId;
    const generationId = this.#generationId;
    this.#heartbeatInFlight = this.#coordinator
      .heartbeat(this.#settings.groupId, generationId, memberId)
      .then(
        ({ error }) => {
          this.#lastHeartbeat = Date.now();
          if (error === 'NONE') this.#emit(CONSUMER_EVENTS.HEARTBEAT, { groupId: this.#settings.groupId, memberId, groupGenerationId: generationId });
          if (memberId === this.#memberId && generationId === this.#generationId) this.#onMemberStatus(error);
        },
        (err: unknown) => {
          // A heartbeat that could not be written (writer lock busy) is retried at the next interval; an
          // engine that failed for good fails the fetch loop too.
          if (err instanceof OnelogError && !err.retriable) this.#backgroundError ??= err;
          this.wake();
        },
      )
      .finally(() => {
        this.#heartbeatInFlight = null;
      });
    return this.#heartbeatInFlight;
  }

  /** Between heartbeats: a read-only look at the group document, so rebalances start within ~50 ms. */
  #watch(): void {
    if (this.#memberId === '' || this.#joinTask !== null || !this.#running) return;
    try {
      const status = this.#coordinator.memberStatus(this.#settings.groupId, this.#generationId, this.#memberId);
      this.#onMemberStatus(status.error);
      // Some member's session ran out or a phase's deadline passed: write it now rather than at the next heartbeat.
      if (status.housekeepingDue) void this.#heartbeat(true);
    } catch (err) {
      this.#backgroundError ??= asError(err);
      this.wake();
    }
  }

  /** The heartbeat handed to handlers: kafkajs' semantics, throws REBALANCE_IN_PROGRESS when it must stop. */
  async #handlerHeartbeat(): Promise<void> {
    if (this.#mustYield()) {
      if (this.#run.autoCommit && !this.#lost) await this.#commitUncommitted();
      throw new OnelogError('REBALANCE_IN_PROGRESS', `Group ${this.#settings.groupId} is rebalancing: stop handling this batch.`);
    }
    await this.#heartbeat(false);
  }

  /** Whether handlers must stop (eager rebalance pending, membership lost or stopping). */
  #mustYield(): boolean {
    return !this.#running || this.#lost || (this.#rejoinNeeded && this.#protocol === 'eager');
  }

  // ---- topics and offsets -----------------------------------------------------------------------

  #resolveTopics(): string[] {
    const existing = this.#engine.listTopics().map((t) => t.name);
    const topics = new Set<string>();
    for (const s of this.#subscriptions) {
      if (typeof s.matcher === 'string') {
        if (existing.includes(s.matcher)) topics.add(s.matcher);
      } else {
        const re = s.matcher;
        for (const name of existing) {
          re.lastIndex = 0;
          if (re.test(name)) topics.add(name);
        }
      }
    }
    return [...topics].sort();
  }

  #refreshTopicsIfDue(): void {
    if (Date.now() - this.#topicsCheckedAt < this.#settings.metadataMaxAge) return;
    this.#topicsCheckedAt = Date.now();
    const topics = this.#resolveTopics();
    if (topics.join('\u0000') !== this.#topics.join('\u0000')) {
      this.#rejoinNeeded = true;
    }
  }

  #fromBeginning(topic: string): boolean {
    for (const s of this.#subscriptions) {
      if (typeof s.matcher === 'string' ? s.matcher === topic : ((s.matcher.lastIndex = 0), s.matcher.test(topic))) return s.fromBeginning;
    }
    return false;
  }

  /**
   * Where a newly owned (or reset) partition starts: its committed offset when inside the log, else by
   * policy (fromBeginning: the log start; otherwise the highWatermark), reported as OFFSET_RESET.
   */
  #startOffset(p: OwnedPartition, offset: number | null): number {
    const logStart = this.#engine.logStartOffset(p.topic, p.partition);
    const hw = this.#engine.highWatermark(p.topic, p.partition);
    if (offset !== null && offset >= logStart && offset <= hw) return offset;
    const earliest = this.#fromBeginning(p.topic);
    const resetTo = earliest ? logStart : hw;
    this.#emit(CONSUMER_EVENTS.OFFSET_RESET, {
      groupId: this.#settings.groupId,
      topic: p.topic,
      partition: p.partition,
      offset: offset === null ? null : String(offset),
      resetTo: String(resetTo),
      policy: earliest ? 'earliest' : 'latest',
      reason: offset === null ? 'no-committed-offset' : 'out-of-range',
      logStartOffset: String(logStart),
      highWatermark: String(hw),
    });
    return resetTo;
  }

  seek(topic: string, partition: number, offset: number): void {
    this.#seeks.set(tpKey(topic, partition), offset);
    this.wake();
  }

  #applySeeks(): void {
    for (const [key, offset] of this.#seeks) {
      const p = this.#owned.get(key);
      if (p === undefined) continue;
      this.#seeks.delete(key);
      p.next = offset === -2 ? this.#engine.logStartOffset(p.topic, p.partition) : offset === -1 ? this.#engine.highWatermark(p.topic, p.partition) : offset;
    }
    // Seeks of partitions this member does not own are dropped, as kafkajs does.
    for (const key of this.#seeks.keys()) if (!this.#owned.has(key)) this.#seeks.delete(key);
  }

  assigned(): TopicPartitions[] {
    return groupByTopic([...this.#owned.values()].map((p) => [p.topic, p.partition] as const));
  }

  uncommittedOffsets(): OffsetsByTopicPartition {
    const pairs = [...this.#owned.values()].filter((p) => p.committed !== p.next);
    const topics = new Map<string, { partition: number; offset: string }[]>();
    for (const p of pairs) {
      let list = topics.get(p.topic);
      if (list === undefined) topics.set(p.topic, (list = []));
      list.push({ partition: p.partition, offset: String(p.next) });
    }
    return { topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) };
  }

  #resolvedCount(): number {
    let n = 0;
    for (const p of this.#owned.values()) n += Math.max(0, p.next - p.countedFrom);
    return n;
  }

  // ---- commits -----------------------------------------------------------------------------------

  /**
   * Commits offsets with this member's generation (C3), one commit at a time; the payload is taken when
   * the commit's turn comes, so queued automatic commits merge. Resolves with the coordinator's answer.
   */
  commit(explicit: readonly TopicOffsets[] | null, only: readonly OwnedPartition[] | null = null): Promise<MemberErrorName | 'NONE'> {
    // An automatic commit of every partition still waiting for its turn will take the newest offsets: a
    // second one would add nothing, so it is shared.
    const all = explicit === null && only === null;
    if (all && this.#queuedCommit !== null) return this.#queuedCommit;
    const run = async (): Promise<MemberErrorName | 'NONE'> => {
      if (all) this.#queuedCommit = null;
      let topics: TopicOffsets[];
      if (explicit !== null) topics = [...explicit];
      else {
        const keys = only === null ? null : new Set(only.map((p) => p.key));
        topics = this.uncommittedOffsets()
          .topics.map((t) => ({ topic: t.topic, partitions: t.partitions.filter((p) => keys === null || keys.has(tpKey(t.topic, p.partition))) }))
          .filter((t) => t.partitions.length > 0);
      }
      this.#lastCommit = Date.now();
      if (topics.length === 0) return 'NONE';
      if (this.#memberId === '' || this.#generationId < 0) return 'UNKNOWN_MEMBER_ID';
      const offsets = topics.flatMap((t) =>
        t.partitions.map((p) => {
          const metadata = (p as { metadata?: string | null }).metadata;
          return { topic: t.topic, partition: p.partition, offset: parseOffset(p.offset, 'A committed offset'), ...(metadata === undefined ? {} : { metadata }) };
        }),
      );
      const memberId = this.#memberId;
      const generationId = this.#generationId;
      const { error } = await this.#coordinator.commitOffsets({ groupId: this.#settings.groupId, generationId, memberId, offsets });
      if (error !== 'NONE') return error;
      for (const o of offsets) {
        const p = this.#owned.get(tpKey(o.topic, o.partition));
        if (p !== undefined) {
          p.committed = o.offset;
          p.countedFrom = o.offset;
        }
      }
      this.#emit(CONSUMER_EVENTS.COMMIT_OFFSETS, { groupId: this.#settings.groupId, memberId, groupGenerationId: generationId, topics });
      return 'NONE';
    };
    const result = this.#commitChain.then(run, run);
    this.#commitChain = result.catch(() => undefined);
    if (all) this.#queuedCommit = result;
    return result;
  }

  /** Commits resolved offsets (all owned partitions, or some); a fenced commit loses the membership. */
  async #commitUncommitted(only: readonly OwnedPartition[] | null = null): Promise<void> {
    const error = await this.commit(null, only);
    // REBALANCE_IN_PROGRESS (a round completing), or a refusal while this member is rejoining (a
    // cooperative member keeps its partitions through the round, and its generation changes under it):
    // the offsets stay pending and go with the next commit; the join itself finds out a lost membership.
    if ((error === 'UNKNOWN_MEMBER_ID' || error === 'ILLEGAL_GENERATION') && this.#joinTask === null) this.#loseMembership(error);
  }

  /** kafkajs' commitOffsetsIfNecessary test: the interval passed or the threshold was reached. */
  #commitDue(): boolean {
    const { autoCommitInterval, autoCommitThreshold } = this.#run;
    return (autoCommitInterval !== null && Date.now() >= this.#lastCommit + autoCommitInterval) || (autoCommitThreshold !== null && this.#resolvedCount() >= autoCommitThreshold);
  }

  /**
   * After a fetch: kafkajs commits every batch; onelog once per fetch, without waiting for the durable
   * write (the next fetch is handled meanwhile; commits stay in order and merge, and each takes only
   * offsets already resolved). With an interval or threshold set, only when one is due.
   */
  async #commitAfterFetch(): Promise<void> {
    if (!this.#run.autoCommit) return;
    if (this.#run.autoCommitInterval !== null || this.#run.autoCommitThreshold !== null) {
      if (this.#commitDue()) await this.#commitUncommitted();
      return;
    }
    this.#commitUncommitted().catch((err: unknown) => {
      this.#backgroundError ??= asError(err);
      this.wake();
    });
  }

  // ---- fetching ----------------------------------------------------------------------------------

  #readyPartitions(): OwnedPartition[] {
    if (this.#mustYield()) return [];
    const ready: OwnedPartition[] = [];
    for (const p of this.#owned.values()) {
      if (this.#pauses.isPaused(p.topic, p.partition)) continue;
      if (this.#engine.highWatermark(p.topic, p.partition) > p.next) ready.push(p);
    }
    return ready;
  }

  /** Sleeps until a commit reaches an owned, unpaused partition, a wake-up, or maxWaitTimeInMs. */
  async #waitForData(): Promise<void> {
    const deadline = Date.now() + this.#settings.maxWaitTimeInMs;
    const interrupted = (): boolean => (this.#rejoinNeeded && this.#joinTask === null) || this.#pendingJoin !== null || this.#backgroundError !== null || this.#seeks.size > 0;
    while (this.#running && Date.now() < deadline && !interrupted()) {
      const woken = new AbortController();
      this.#wakeUp = () => {
        woken.abort();
      };
      const slice = Math.min(WAIT_SLICE_MS, deadline - Date.now());
      const watched = [...this.#owned.values()].filter((p) => !this.#pauses.isPaused(p.topic, p.partition));
      const data = await this.#engine.waitForAny(
        watched.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.next })),
        slice,
        woken.signal,
      );
      this.#wakeUp = null;
      if (data || woken.signal.aborted) return;
      if (this.#run.autoCommit && this.#run.autoCommitInterval !== null && this.#commitDue()) await this.#commitUncommitted();
    }
  }

  /** One fetch over the ready partitions and the handling of what it read; a handler's failure is returned. */
  async #fetchAndProcess(ready: OwnedPartition[]): Promise<HandlerFailure | null> {
    const fetchStarted = Date.now();
    this.#emit(CONSUMER_EVENTS.FETCH_START, { nodeId: 0 });
    const reads: PartitionRead[] = [];
    let budget = this.#settings.maxBytes;
    for (const p of ready) {
      if (budget <= 0) break;
      let result;
      try {
        result = this.#engine.read(p.topic, p.partition, p.next, { maxBytes: Math.min(this.#settings.maxBytesPerPartition, budget) });
      } catch (err) {
        if (err instanceof OnelogError && err.code === 'OFFSET_OUT_OF_RANGE') {
          p.next = this.#startOffset(p, p.next);
          continue;
        }
        if (err instanceof OnelogError && err.code === 'UNKNOWN_TOPIC_OR_PARTITION') {
          // The topic was deleted: the next assignment will not have it.
          this.#rejoinNeeded = true;
          continue;
        }
        throw err;
      }
      budget -= result.records.length;
      reads.push({ owner: p, records: result.records, highWatermark: result.highWatermark, lastOffset: result.nextOffset - 1 });
    }
    this.#emit(CONSUMER_EVENTS.FETCH, { numberOfBatches: reads.length, duration: Date.now() - fetchStarted, nodeId: 0 });
    const failures: HandlerFailure[] = [];
    const errors: unknown[] = [];
    let next = 0;
    // Each worker takes the next read until one fails; an error (a damaged batch) ends the fetch only once
    // every worker finished its batch, so no handler still runs when the loop ends.
    const worker = async (): Promise<void> => {
      while (next < reads.length && failures.length === 0 && errors.length === 0) {
        try {
          const failure = await this.#processBatch(reads[next++]!);
          if (failure !== null) failures.push(failure);
        } catch (err) {
          errors.push(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#run.concurrency, reads.length) }, worker));
    if (errors.length > 0) throw errors[0];
    await this.#commitAfterFetch();
    await this.#heartbeat(false);
    return failures[0] ?? null;
  }

  /** Whether handling of this partition must stop before the next message. */
  #stale(p: OwnedPartition): boolean {
    return this.#mustYield() || p.revoked || (this.#seeks.size > 0 && this.#seeks.has(p.key));
  }

  /**
   * Decodes one read (only now, so only the messages of the batches being handled are alive) and hands it
   * to the handler. A handler's own failure commits what was resolved before it and is returned.
   */
  async #processBatch({ owner: p, records, highWatermark, lastOffset }: PartitionRead): Promise<HandlerFailure | null> {
    if (this.#stale(p)) return null;
    const decoded = toKafkaMessages(records, p.next);
    if (decoded.messages.length === 0) {
      // Only control records: nothing to hand out, but the position moves past them (as kafkajs).
      p.next = Math.max(p.next, lastOffset + 1);
      return null;
    }
    const batch = makeBatch(p.topic, p.partition, highWatermark, decoded.messages, lastOffset);
    const started = Date.now();
    const event = {
      topic: batch.topic,
      partition: batch.partition,
      highWatermark: batch.highWatermark,
      offsetLag: batch.offsetLag(),
      offsetLagLow: batch.offsetLagLow(),
      batchSize: batch.messages.length,
      firstOffset: batch.firstOffset(),
      lastOffset: batch.lastOffset(),
    };
    const pause = (): (() => void) => {
      this.#pauses.pause(p.topic, [p.partition]);
      return () => {
        this.#pauses.resume(p.topic, [p.partition]);
        this.wake();
      };
    };
    this.#emit(CONSUMER_EVENTS.START_BATCH_PROCESS, event);
    let outcome: boolean | HandlerFailure | null;
    if (this.#run.eachMessage !== undefined) {
      const eachMessage = this.#run.eachMessage;
      // One handler context for the whole batch (entering one per message would cost more than many a handler).
      outcome = await this.#inHandler.run(this, () => this.#handleMessages(p, decoded, eachMessage, pause));
      // Records the batch skipped (control records) count as handled once every message was.
      if (outcome === true && !this.#stale(p)) p.next = Math.max(p.next, lastOffset + 1);
    } else {
      outcome = await this.#handleBatch(p, batch, lastOffset, this.#run.eachBatch!, pause);
      if (outcome === true && this.#run.eachBatchAutoResolve && !this.#stale(p)) p.next = Math.max(p.next, lastOffset + 1);
    }
    if (outcome === null) return null;
    if (typeof outcome === 'object') {
      if (this.#run.autoCommit) await this.#commitUncommitted();
      return outcome;
    }
    this.#emit(CONSUMER_EVENTS.END_BATCH_PROCESS, { ...event, duration: Date.now() - started });
    return null;
  }

  /**
   * Hands a batch's messages to eachMessage one at a time, each awaited, inside the handler context (the
   * runner's own commits leave it). `next` moves past a message once its handler returned (C2). True when
   * every message was handled, false when the partition went stale or was paused before one, null when a
   * handler ended by a rebalance or a stop, else the handler's failure.
   *
   * Written as a chain of callbacks on each handler's promise rather than an async loop: resuming an async
   * function per message costs more than many a handler does.
   */
  #handleMessages(p: OwnedPartition, { messages, offsets }: DecodedMessages, eachMessage: EachMessageHandler, pause: () => () => void): Promise<boolean | HandlerFailure | null> {
    const { topic, partition } = p;
    const heartbeat = (): Promise<void> => this.#handlerHeartbeat();
    const { autoCommit, autoCommitInterval, autoCommitThreshold } = this.#run;
    const commitWhenDue = autoCommit && (autoCommitInterval !== null || autoCommitThreshold !== null);
    return new Promise((resolve, reject) => {
      let pauses = -1;
      let i = 0;
      const failed = (err: unknown): void => resolve(this.#handlerFailure(err));
      // Hands out message i, or settles the batch.
      const next = (): void => {
        if (i === messages.length) {
          resolve(true);
          return;
        }
        if (this.#stale(p)) {
          resolve(false);
          return;
        }
        if (pauses !== this.#pauses.version) {
          pauses = this.#pauses.version;
          if (this.#pauses.isPaused(topic, partition)) {
            resolve(false);
            return;
          }
        }
        let handled: Promise<void>;
        try {
          // A JavaScript handler may return a plain value; Promise.resolve passes a promise through as is.
          handled = Promise.resolve(eachMessage({ topic, partition, message: messages[i]!, heartbeat, pause }));
        } catch (err) {
          failed(err);
          return;
        }
        handled.then(resolved, failed);
      };
      // Message i was handled.
      const resolved = (): void => {
        p.next = offsets[i++]! + 1;
        // A commit that fails (not a refusal: the engine failed) ends the run, as from every other commit.
        if (commitWhenDue && this.#commitDue()) this.#inHandler.run(null, () => this.#commitUncommitted()).then(next, reject);
        else next();
      };
      next();
    });
  }

  /** Calls eachBatch inside the handler context: true when it returned, else as #handleMessages. */
  async #handleBatch(p: OwnedPartition, batch: Batch, lastOffset: number, eachBatch: EachBatchHandler, pause: () => () => void): Promise<true | HandlerFailure | null> {
    const payload: EachBatchPayload = {
      batch,
      resolveOffset: (offset) => {
        if (p.revoked) return;
        const o = parseOffset(offset, 'resolveOffset');
        const last = batch.messages.at(-1);
        p.next = (last !== undefined && o === Number(last.offset) ? lastOffset : o) + 1;
      },
      heartbeat: () => this.#handlerHeartbeat(),
      pause,
      commitOffsetsIfNecessary: async (offsets) => {
        if (offsets !== undefined) {
          const error = await this.commit(offsets.topics);
          if (error !== 'NONE') throw new OnelogError(error, `Commit refused: ${error}.`);
        } else if (this.#commitDue()) await this.#commitUncommitted();
      },
      uncommittedOffsets: () => this.uncommittedOffsets(),
      isRunning: () => this.#running && !this.#mustYield(),
      isStale: () => this.#stale(p),
    };
    try {
      await this.#inHandler.run(this, eachBatch, payload);
      return true;
    } catch (err) {
      return this.#handlerFailure(err);
    }
  }

  /** A handler's exception: null when it ended by a rebalance or a stop (the message stays unresolved), else its own failure. */
  #handlerFailure(err: unknown): HandlerFailure | null {
    if (!this.#running) return null;
    if (err instanceof OnelogError && err.code === 'REBALANCE_IN_PROGRESS' && this.#mustYield()) return null;
    return { cause: err };
  }
}

/** A member's subscription; metadata that does not decode (a foreign client's) subscribes to nothing. */
function readSubscription(metadata: Buffer): Subscription {
  try {
    return decodeSubscription(metadata);
  } catch (err) {
    if (err instanceof OnelogError && err.code === 'INVALID_ARGUMENT') return { topics: [], userData: null, ownedPartitions: [], generationId: -1, rackId: null };
    throw err;
  }
}

function makeBatch(topic: string, partition: number, highWatermark: number, messages: KafkaMessage[], lastOffset: number): Batch {
  const first = messages[0];
  return {
    topic,
    partition,
    highWatermark: String(highWatermark),
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => first?.offset ?? null,
    lastOffset: () => String(lastOffset),
    offsetLag: () => String(Math.max(0, highWatermark - 1 - lastOffset)),
    offsetLagLow: () => String(Math.max(0, highWatermark - 1 - (first === undefined ? lastOffset : Number(first.offset)))),
  };
}

/**
 * A kafkajs-shaped consumer over a onelog Engine. Created by Database.consumer(config); several
 * consumers of one group, in one process or many, share its partitions.
 */
export class Consumer {
  readonly events: typeof CONSUMER_EVENTS = CONSUMER_EVENTS;
  readonly #engine: Engine;
  readonly #coordinator: GroupCoordinator;
  readonly #settings: Settings;
  readonly #emitter = new EventEmitter();
  readonly #subscriptions: TopicMatcher[] = [];
  readonly #pauses = new PauseState();
  readonly #inHandler = new AsyncLocalStorage<Runner | null>();
  #runner: Runner | null = null;
  #restartTimer: NodeJS.Timeout | null = null;
  #stopping: Promise<void> | null = null;

  constructor(engine: Engine, config: ConsumerConfig) {
    if (typeof config !== 'object' || typeof config.groupId !== 'string' || config.groupId.length === 0) {
      throw new OnelogError('INVALID_ARGUMENT', 'A consumer needs a groupId (a non-empty string).');
    }
    const assigners = config.partitionAssigners ?? [PartitionAssigners.roundRobin];
    if (assigners.length === 0) throw new OnelogError('INVALID_ARGUMENT', 'partitionAssigners must name at least one assigner.');
    const retry = config.retry ?? {};
    this.#engine = engine;
    this.#coordinator = new GroupCoordinator(engine);
    this.#settings = {
      groupId: config.groupId,
      groupInstanceId: config.groupInstanceId ?? null,
      assigners,
      sessionTimeout: positiveInt('sessionTimeout', config.sessionTimeout, 30_000),
      rebalanceTimeout: positiveInt('rebalanceTimeout', config.rebalanceTimeout, 60_000),
      heartbeatInterval: positiveInt('heartbeatInterval', config.heartbeatInterval, 3_000),
      metadataMaxAge: positiveInt('metadataMaxAge', config.metadataMaxAge, 300_000),
      maxBytesPerPartition: positiveInt('maxBytesPerPartition', config.maxBytesPerPartition, 1024 * 1024),
      maxBytes: positiveInt('maxBytes', config.maxBytes, 10 * 1024 * 1024),
      maxWaitTimeInMs: positiveInt('maxWaitTimeInMs', config.maxWaitTimeInMs, 5_000),
      retries: retry.retries ?? 5,
      initialRetryTime: retry.initialRetryTime ?? 300,
      maxRetryTime: retry.maxRetryTime ?? 30_000,
      multiplier: retry.multiplier ?? 2,
      factor: retry.factor ?? 0.2,
      restartOnFailure: retry.restartOnFailure,
      allowAutoTopicCreation: config.allowAutoTopicCreation ?? true,
      rackId: config.rackId ?? null,
    };
  }

  #emit<K extends ConsumerEventName>(type: K, payload: ConsumerEventPayloads[K]): void {
    if (this.#emitter.listenerCount(type) === 0) return;
    const event: InstrumentationEvent<ConsumerEventPayloads[K]> = { id: randomUUID(), type, timestamp: Date.now(), payload };
    this.#emitter.emit(type, event);
  }

  /** Listens to an instrumentation event; returns a function that removes the listener. */
  on<K extends ConsumerEventName>(eventName: K, listener: (event: InstrumentationEvent<ConsumerEventPayloads[K]>) => void): () => void {
    if (!Object.values(CONSUMER_EVENTS).includes(eventName)) {
      throw new OnelogError('INVALID_ARGUMENT', `Unknown consumer event ${JSON.stringify(eventName)}; use consumer.events.*.`);
    }
    this.#emitter.on(eventName, listener);
    return () => {
      this.#emitter.off(eventName, listener);
    };
  }

  /** Nothing to connect to: the engine is open. Emits CONNECT, as kafkajs. */
  connect(): Promise<void> {
    this.#emit(CONSUMER_EVENTS.CONNECT, null);
    return Promise.resolve();
  }

  /** Stops consuming (see stop) and emits DISCONNECT. The database stays open: close it with the Database. */
  async disconnect(): Promise<void> {
    await this.stop();
    this.#emit(CONSUMER_EVENTS.DISCONNECT, null);
  }

  /**
   * Adds topics to the subscription, before run(): names (created when missing, unless
   * allowAutoTopicCreation is false) or regular expressions, matched against the existing topics at each
   * join (and every metadataMaxAge while running). fromBeginning picks where a partition without a
   * committed offset starts, and where an out-of-range offset is reset to.
   */
  async subscribe(subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void> {
    if (this.#runner !== null) throw new OnelogError('INVALID_ARGUMENT', 'Cannot subscribe while the consumer is running: stop it first.');
    const topics: unknown[] = 'topics' in subscription ? subscription.topics : [subscription.topic];
    if (!Array.isArray(topics) || topics.length === 0) throw new OnelogError('INVALID_ARGUMENT', 'subscribe needs at least one topic (a name or a RegExp).');
    const fromBeginning = subscription.fromBeginning === true;
    for (const topic of topics) {
      if (typeof topic === 'string') {
        if (this.#engine.describeTopic(topic) === undefined) {
          if (!this.#settings.allowAutoTopicCreation) {
            throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${JSON.stringify(topic)} does not exist (allowAutoTopicCreation is false).`, { topic });
          }
          try {
            await this.#engine.createTopic(topic);
          } catch (err) {
            if (!(err instanceof OnelogError && err.code === 'TOPIC_EXISTS')) throw err;
          }
        }
        this.#subscriptions.push({ matcher: topic, fromBeginning });
      } else if (topic instanceof RegExp) {
        this.#subscriptions.push({ matcher: topic, fromBeginning });
      } else {
        throw new OnelogError('INVALID_ARGUMENT', `A subscribed topic must be a string or a RegExp, got ${typeof topic}.`);
      }
    }
  }

  /**
   * Joins the group and starts consuming in the background; resolves once the first assignment arrived.
   * Rejects when the consumer cannot join (e.g. the group uses other assignment protocols).
   */
  async run(config: ConsumerRunConfig = {}): Promise<void> {
    if (this.#runner !== null) return;
    if ((config.eachMessage === undefined) === (config.eachBatch === undefined)) {
      throw new OnelogError('INVALID_ARGUMENT', 'run needs exactly one of eachMessage and eachBatch.');
    }
    if (this.#subscriptions.length === 0) throw new OnelogError('INVALID_ARGUMENT', 'Subscribe to at least one topic before run().');
    const settings: RunSettings = {
      autoCommit: config.autoCommit ?? true,
      autoCommitInterval: nullableCount('autoCommitInterval', config.autoCommitInterval),
      autoCommitThreshold: nullableCount('autoCommitThreshold', config.autoCommitThreshold),
      eachBatchAutoResolve: config.eachBatchAutoResolve ?? true,
      concurrency: positiveInt('partitionsConsumedConcurrently', config.partitionsConsumedConcurrently, 1),
      eachMessage: config.eachMessage,
      eachBatch: config.eachBatch,
    };
    await this.#start(settings);
  }

  async #start(settings: RunSettings): Promise<void> {
    const runner = new Runner(this.#engine, this.#coordinator, this.#settings, settings, [...this.#subscriptions], this.#pauses, (t, p) => this.#emit(t, p), this.#inHandler);
    this.#runner = runner;
    void runner.finished.then((crash) => this.#finished(runner, settings, crash));
    await runner.started;
  }

  /** After a runner ended: a crash is reported (CRASH) and, when retriable, the consumer restarts. */
  async #finished(runner: Runner, settings: RunSettings, crash: RunnerCrash | null): Promise<void> {
    if (crash === null || this.#runner !== runner) return;
    let restart = crash.restartable;
    if (restart && this.#settings.restartOnFailure !== undefined) {
      restart = await this.#settings.restartOnFailure(crash.error).catch(() => true);
    }
    this.#emit(CONSUMER_EVENTS.CRASH, { error: crash.error, groupId: this.#settings.groupId, restart });
    if (this.#runner !== runner) return;
    this.#runner = null;
    if (restart) {
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = null;
        if (this.#runner === null && this.#stopping === null) this.#start(settings).catch(() => undefined);
      }, this.#settings.initialRetryTime);
    }
  }

  /**
   * Stops consuming: handlers finish their current message, resolved offsets are committed (autoCommit)
   * and the member leaves its group, so its partitions move at once. Called from inside a handler, it
   * returns without waiting for that handler.
   */
  async stop(): Promise<void> {
    if (this.#restartTimer !== null) {
      clearTimeout(this.#restartTimer);
      this.#restartTimer = null;
    }
    const runner = this.#runner;
    if (runner === null) return;
    runner.stop();
    if (runner.calledFromHandler()) {
      void runner.finished.then(() => this.#stopped(runner));
      return;
    }
    this.#stopping ??= runner.finished.then(() => this.#stopped(runner));
    await this.#stopping;
  }

  #stopped(runner: Runner): void {
    if (this.#runner !== runner) return;
    this.#runner = null;
    this.#stopping = null;
    this.#emit(CONSUMER_EVENTS.STOP, null);
  }

  #activeRunner(what: string): Runner {
    if (this.#runner === null) throw new OnelogError('INVALID_ARGUMENT', `${what}: the consumer is not running; call run() first.`);
    return this.#runner;
  }

  /**
   * Commits offsets (the offset of the next message to read, as kafkajs) with this member's generation;
   * OnelogError ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID when the member was fenced, REBALANCE_IN_PROGRESS
   * (retriable) while a rebalance completes.
   */
  async commitOffsets(topicPartitions: TopicPartitionOffsetAndMetadata[]): Promise<void> {
    const runner = this.#activeRunner('commitOffsets');
    const topics = new Map<string, { partition: number; offset: string; metadata?: string | null }[]>();
    for (const tp of topicPartitions) {
      parseOffset(tp.offset, 'A committed offset');
      let list = topics.get(tp.topic);
      if (list === undefined) topics.set(tp.topic, (list = []));
      list.push({ partition: tp.partition, offset: tp.offset, ...(tp.metadata === undefined ? {} : { metadata: tp.metadata }) });
    }
    const error = await runner.commit([...topics].map(([topic, partitions]) => ({ topic, partitions })));
    if (error !== 'NONE') {
      throw new OnelogError(error, `Offsets not committed for group ${JSON.stringify(this.#settings.groupId)}: ${error === 'REBALANCE_IN_PROGRESS' ? 'a rebalance is completing; retry' : 'this member was fenced by a newer generation'}.`);
    }
  }

  /**
   * Moves a partition's position: the next fetch of it starts at `offset` ('-2' the log start, '-1' the
   * highWatermark); the batch being handled stops. Only for partitions this member owns (others: ignored).
   */
  seek({ topic, partition, offset }: TopicPartitionOffset): void {
    const runner = this.#activeRunner('seek');
    const o = parseOffset(offset, 'A seek offset');
    if (o < -2) throw new OnelogError('INVALID_ARGUMENT', `A seek offset must be >= 0, or -1 (latest) or -2 (earliest); got ${o}.`);
    runner.seek(topic, partition, o);
  }

  /** Pauses fetching of topics (all partitions) or of some partitions; handlers stop after the current message. */
  pause(topics: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions } of validateTopicsArg(topics, 'pause')) this.#pauses.pause(topic, partitions);
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions } of validateTopicsArg(topics, 'resume')) this.#pauses.resume(topic, partitions);
    this.#runner?.wake();
  }

  /** The assigned partitions currently paused. */
  paused(): { topic: string; partitions: number[] }[] {
    const runner = this.#runner;
    if (runner === null) return [];
    return runner
      .assigned()
      .map(({ topic, partitions }) => ({ topic, partitions: partitions.filter((p) => this.#pauses.isPaused(topic, p)) }))
      .filter((t) => t.partitions.length > 0);
  }

  /** The partitions this member owns now (onelog; kafkajs has no equivalent). */
  assignment(): TopicPartitions[] {
    return this.#runner?.assigned() ?? [];
  }

  /** The group's state and members, in kafkajs' admin shape. */
  describeGroup(): Promise<GroupDescription> {
    const d = this.#coordinator.describeGroup(this.#settings.groupId);
    return Promise.resolve({
      groupId: d.groupId,
      state: d.state,
      protocol: d.protocol,
      protocolType: d.protocolType,
      members: d.members.map((m) => ({ clientHost: m.clientHost, clientId: m.clientId, memberId: m.memberId, memberAssignment: m.memberAssignment, memberMetadata: m.memberMetadata })),
    });
  }

  /**
   * Pull-style consumption: runs the consumer and yields one message at a time. A message counts as
   * handled (and is committed by the autoCommit rules) when the loop asks for the next one; leaving the
   * loop (break, return, throw) stops the consumer and leaves the last yielded message unhandled, so it is
   * delivered again (commit it yourself with commitOffsets, offset + 1, if the loop body finished it).
   */
  messages(config: ConsumerMessagesConfig = {}): AsyncIterableIterator<ConsumedMessage> {
    type Pull = { resolve: (r: IteratorResult<ConsumedMessage>) => void; reject: (e: unknown) => void };
    const ready: { item: ConsumedMessage; release: (handled: boolean) => void }[] = [];
    let pull: Pull | null = null;
    let current: ((handled: boolean) => void) | null = null;
    let started = false;
    let closed = false;
    let failure: unknown = null;

    const deliver = (): void => {
      if (pull === null) return;
      const p = pull;
      if (failure !== null) {
        pull = null;
        p.reject(failure);
        return;
      }
      if (closed) {
        pull = null;
        p.resolve({ value: undefined, done: true });
        return;
      }
      const next = ready.shift();
      if (next === undefined) return;
      pull = null;
      current = next.release;
      p.resolve({ value: next.item, done: false });
    };
    const offCrash = this.on(CONSUMER_EVENTS.CRASH, (event) => {
      if (event.payload.restart) return;
      failure = event.payload.error;
      deliver();
    });
    const offStop = this.on(CONSUMER_EVENTS.STOP, () => {
      closed = true;
      for (const r of ready.splice(0)) r.release(false);
      deliver();
    });
    const close = async (): Promise<IteratorResult<ConsumedMessage>> => {
      closed = true;
      // Stop first: a handler released unhandled then ends as part of the stop, not as a failure.
      const stopping = this.stop();
      current?.(false);
      current = null;
      for (const r of ready.splice(0)) r.release(false);
      offCrash();
      offStop();
      await stopping;
      deliver();
      return { value: undefined, done: true };
    };
    const iterator: AsyncIterableIterator<ConsumedMessage> = {
      next: async () => {
        current?.(true);
        current = null;
        if (!started && !closed) {
          started = true;
          await this.run({
            ...config,
            partitionsConsumedConcurrently: 1,
            eachMessage: ({ topic, partition, message }) =>
              new Promise<void>((resolve, reject) => {
                const unhandled = (): OnelogError => new OnelogError('CLOSED', 'The message iterator was closed before this message was handled.');
                if (closed) {
                  reject(unhandled());
                  return;
                }
                ready.push({ item: { topic, partition, message }, release: (handled) => (handled ? resolve() : reject(unhandled())) });
                deliver();
              }),
          });
        }
        return new Promise<IteratorResult<ConsumedMessage>>((resolve, reject) => {
          pull = { resolve, reject };
          deliver();
        });
      },
      return: close,
      throw: async (err: unknown) => {
        await close();
        throw err;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}
