// Shared state: `onelog serve` runs as its own process on a file that this test process also opens with
// the embedded API, as any other process may. Records written on either side are read on the other
// while both are live, and a kafkajs consumer and an embedded consumer in different processes split one
// group's partitions between them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { javaRoundRobin } from './helpers/kafkajs-assigners.ts';
import { PartitionAssigners } from '../../src/client/assignors.ts';
import { open } from '../../src/client/database.ts';
import { startServeProcess } from './helpers/serve-process.ts';

test('a served file and an embedded process share records and a consumer group', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-shared-'));
  const file = path.join(dir, 'shared.onelog');
  const db = await open(file);
  const served = await startServeProcess(file);
  const kafka = new Kafka({ clientId: 'shared', brokers: [served.broker], logLevel: logLevel.NOTHING });
  try {
    await db.admin().createTopics({ topics: [{ topic: 'shared', numPartitions: 4 }] });

    // One group, one member in each process. Both join first; once the group has split the 4 partitions
    // between them, records are written on both sides, and each is read exactly once, by its owner.
    const seen = new Map<string, string>();
    const owners = new Map<number, string>();
    const note = (who: string, partition: number, key: string): void => {
      const owner = owners.get(partition);
      assert.ok(owner === undefined || owner === who, `partition ${String(partition)} read by ${owner ?? ''} and ${who}`);
      owners.set(partition, who);
      assert.ok(!seen.has(key), `${key} read twice`);
      seen.set(key, who);
    };
    const assigned = new Map<string, number[]>();
    let split: () => void = () => undefined;
    const groupSplit = new Promise<void>((resolve) => (split = resolve));
    const joined = (who: string, partitions: readonly number[]): void => {
      assigned.set(who, [...partitions]);
      const all = [...assigned.values()];
      if (all.length === 2 && all.every((p) => p.length > 0) && all.flat().length === 4) split();
    };
    let allRead: () => void = () => undefined;
    const allSeen = new Promise<void>((resolve) => (allRead = resolve));
    const check = (): void => {
      if (seen.size === 400) allRead();
    };
    const wire = kafka.consumer({ groupId: 'shared-group', partitionAssigners: [javaRoundRobin], maxWaitTimeInMs: 100, sessionTimeout: 10_000, rebalanceTimeout: 5000, heartbeatInterval: 500 });
    wire.on(wire.events.GROUP_JOIN, (e) => {
      joined('kafkajs', e.payload.memberAssignment.shared ?? []);
    });
    await wire.connect();
    await wire.subscribe({ topics: ['shared'], fromBeginning: true });
    const embedded = db.consumer({ groupId: 'shared-group', partitionAssigners: [PartitionAssigners.roundRobin], sessionTimeout: 10_000, rebalanceTimeout: 5000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
    embedded.on(embedded.events.GROUP_JOIN, (e) => {
      joined('embedded', e.payload.memberAssignment.shared ?? []);
    });
    await embedded.subscribe({ topics: ['shared'], fromBeginning: true });
    void wire.run({
      eachMessage: async ({ partition, message }) => {
        note('kafkajs', partition, message.key?.toString() ?? '');
        check();
        await Promise.resolve();
      },
    });
    void embedded.run({
      eachMessage: async ({ partition, message }) => {
        note('embedded', partition, message.key?.toString() ?? '');
        check();
        await Promise.resolve();
      },
    });
    await groupSplit;

    // Written by kafkajs through the server process, and here through the engine.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'shared', messages: Array.from({ length: 200 }, (_, i) => ({ key: `wire-${String(i)}`, value: `w${String(i)}` })) });
    await producer.disconnect();
    await db.producer().send({ topic: 'shared', messages: Array.from({ length: 200 }, (_, i) => ({ key: `local-${String(i)}`, value: `l${String(i)}` })) });
    await allSeen;
    await Promise.all([wire.disconnect(), embedded.disconnect()]);
    assert.equal(seen.size, 400);
    assert.deepEqual(new Set(owners.values()), new Set(['kafkajs', 'embedded']));
  } finally {
    assert.equal(await served.stop(), 0);
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
