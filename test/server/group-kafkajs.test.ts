// kafkajs consumer groups against `onelog serve`: three kafkajs consumers share a 6-partition topic
// without overlap; a mixed group of one embedded consumer (same file, same coordinator) and two kafkajs
// consumers shares it too and consumes every record; and a restarted kafkajs consumer resumes from the
// offsets its group committed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Consumer as KafkajsConsumer, type PartitionAssigner } from 'kafkajs';
import { javaRoundRobin } from './helpers/kafkajs-assigners.ts';
import { PartitionAssigners } from '../../src/client/assignors.ts';
import { CONSUMER_EVENTS } from '../../src/client/consumer-types.ts';
import type { Consumer } from '../../src/client/consumer.ts';
import { GroupCoordinator } from '../../src/client/group-coordinator.ts';
import { startServer, type ServedDatabase } from './helpers/server-fixture.ts';

const PARTITIONS = 6;

let served: ServedDatabase;
let kafka: Kafka;

before(async () => {
  served = await startServer();
  kafka = new Kafka({ clientId: 'group-test', brokers: [served.broker], logLevel: logLevel.NOTHING });
});
after(async () => {
  await served.close();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, ready: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}


interface Seen {
  readonly member: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/** One group member's view: its latest assignment (partitions of the topic) and what it consumed. */
interface Member {
  readonly name: string;
  assignment: number[];
  stop(): Promise<void>;
}

async function produce(topic: string, values: readonly string[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((value, i) => ({ value, partition: i % PARTITIONS })) });
  await producer.disconnect();
}

/** An eachMessage handler (for kafkajs's consumer and onelog's alike) recording what `name` was handed into `seen`. */
function recordInto(name: string, seen: Seen[]): (payload: { partition: number; message: { offset: string; value: Buffer | null } }) => Promise<void> {
  return async ({ partition, message }) => {
    seen.push({ member: name, partition, offset: Number(message.offset), value: message.value?.toString() ?? '' });
    await Promise.resolve();
  };
}

async function startKafkajs(name: string, groupId: string, topic: string, seen: Seen[], assigners?: PartitionAssigner[]): Promise<Member> {
  const consumer: KafkajsConsumer = kafka.consumer({ groupId, heartbeatInterval: 100, maxWaitTimeInMs: 100, sessionTimeout: 10_000, rebalanceTimeout: 5_000, ...(assigners ? { partitionAssigners: assigners } : {}) });
  const member: Member = { name, assignment: [], stop: () => consumer.disconnect() };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    member.assignment = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachMessage: recordInto(name, seen) });
  return member;
}

async function startEmbedded(name: string, groupId: string, topic: string, seen: Seen[]): Promise<Member> {
  const consumer: Consumer = served.db.consumer({ groupId, partitionAssigners: [PartitionAssigners.roundRobin], heartbeatInterval: 100, maxWaitTimeInMs: 100, rebalanceTimeout: 5_000 });
  const member: Member = { name, assignment: [], stop: () => consumer.disconnect() };
  consumer.on(CONSUMER_EVENTS.GROUP_JOIN, (e: { payload: { memberAssignment: Record<string, number[]> } }) => {
    member.assignment = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  });
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachMessage: recordInto(name, seen) });
  return member;
}

/** Waits until the group is Stable with every member holding an equal share, the shares disjoint and complete. */
async function waitForBalancedGroup(groupId: string, members: readonly Member[]): Promise<void> {
  const coordinator = new GroupCoordinator(served.db.engine);
  await waitUntil(`a balanced group ${groupId}`, () => {
    const d = coordinator.describeGroup(groupId);
    const all = members.flatMap((m) => m.assignment).sort((a, b) => a - b);
    return d.state === 'Stable' && d.members.length === members.length && members.every((m) => m.assignment.length === PARTITIONS / members.length) && all.join() === '0,1,2,3,4,5';
  });
}

/** Every value consumed exactly once, and each partition's records by one member only. */
function assertSharedWithoutOverlap(seen: readonly Seen[], values: readonly string[], members: readonly Member[]): void {
  assert.deepEqual(seen.map((s) => s.value).sort(), [...values].sort());
  for (const m of members) {
    const consumedFrom = new Set(seen.filter((s) => s.member === m.name).map((s) => s.partition));
    assert.deepEqual([...consumedFrom].sort((a, b) => a - b), m.assignment, `${m.name} consumed only its own partitions`);
  }
}

test('three kafkajs consumers in one group share a 6-partition topic without overlap', { timeout: 30_000 }, async () => {
  const topic = 'three-kafkajs';
  await served.db.engine.createTopic(topic, { partitions: PARTITIONS });
  const seen: Seen[] = [];
  const members: Member[] = [];
  try {
    for (const name of ['k1', 'k2', 'k3']) members.push(await startKafkajs(name, 'three', topic, seen));
    await waitForBalancedGroup('three', members);
    const values = Array.from({ length: 600 }, (_, i) => `three-${String(i)}`);
    await produce(topic, values);
    await waitUntil('every record', () => seen.length >= values.length);
    await sleep(200);
    assertSharedWithoutOverlap(seen, values, members);
  } finally {
    for (const m of members) await m.stop();
  }
});

test('a mixed group: one embedded consumer and two kafkajs consumers share the partitions and consume every record', { timeout: 30_000 }, async () => {
  const topic = 'mixed';
  await served.db.engine.createTopic(topic, { partitions: PARTITIONS });
  const seen: Seen[] = [];
  const members: Member[] = [];
  try {
    members.push(await startEmbedded('embedded', 'mixed', topic, seen));
    await waitUntil('the embedded member leads', () => members[0]!.assignment.length === PARTITIONS);
    members.push(await startKafkajs('k1', 'mixed', topic, seen, [javaRoundRobin]));
    members.push(await startKafkajs('k2', 'mixed', topic, seen, [javaRoundRobin]));
    await waitForBalancedGroup('mixed', members);
    const fromKafkajs = Array.from({ length: 300 }, (_, i) => `kafkajs-${String(i)}`);
    await produce(topic, fromKafkajs);
    const producer = served.db.producer();
    const fromEmbedded = Array.from({ length: 300 }, (_, i) => `embedded-${String(i)}`);
    await producer.send({ topic, messages: fromEmbedded.map((value, i) => ({ value, partition: i % PARTITIONS })) });
    await producer.disconnect();
    const values = [...fromKafkajs, ...fromEmbedded];
    await waitUntil('every record', () => seen.length >= values.length);
    await sleep(200);
    assertSharedWithoutOverlap(seen, values, members);
    assert.ok(members.every((m) => seen.some((s) => s.member === m.name)), 'every member consumed');
  } finally {
    for (const m of members) await m.stop();
  }
});

test('a restarted kafkajs consumer resumes from the offsets its group committed', { timeout: 30_000 }, async () => {
  const topic = 'restart';
  await served.db.engine.createTopic(topic, { partitions: PARTITIONS });
  const coordinator = new GroupCoordinator(served.db.engine);
  const committed = (): number => coordinator.fetchOffsets('restart').reduce((sum, o) => sum + o.offset, 0);
  const first = Array.from({ length: 120 }, (_, i) => `first-${String(i)}`);
  await produce(topic, first);
  const seenBefore: Seen[] = [];
  const before = await startKafkajs('before', 'restart', topic, seenBefore);
  await waitUntil('the first records', () => seenBefore.length >= first.length);
  await before.stop();
  assert.equal(committed(), first.length, 'kafkajs committed every consumed offset');

  const second = Array.from({ length: 60 }, (_, i) => `second-${String(i)}`);
  await produce(topic, second);
  const seenAfter: Seen[] = [];
  const afterRestart = await startKafkajs('after', 'restart', topic, seenAfter);
  try {
    await waitUntil('the new records', () => seenAfter.length >= second.length);
    await sleep(200);
    assert.deepEqual(seenAfter.map((s) => s.value).sort(), [...second].sort(), 'only records after the committed offsets');
  } finally {
    await afterRestart.stop();
  }
  assert.equal(committed(), first.length + second.length);
});
