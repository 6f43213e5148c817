// Test driver: issue 6's kill-a-member scenario for one client, whose group members run as OS processes
// that print `PARTITION OFFSET KEY` per record they process and `assigned P,P,...` (kcat: its rebalance
// line on stderr) once ready to read an assignment; records are produced only while every member has
// taken up the group's current assignment, since clients still fetch their old one during a rebalance. Three members share a 6-partition topic of
// a fresh served file; one is SIGKILLed while records are flowing to its partitions; its partitions must
// move to the survivors once its session expires, every record must be consumed, duplicates only on the
// killed member's partitions at or after its last commit; the survivors stop cleanly with everything
// committed, and a new member of the group reads only what was produced after. It owns no client: each
// test file says how to start its client's member (memberOfHelper for clients in group-member.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { decodeAssignment } from '../../../src/client/assignors.ts';
import { GroupCoordinator } from '../../../src/client/group-coordinator.ts';
import type { Producer } from '../../../src/client/producer.ts';
import { startServer } from './server-fixture.ts';

export const PARTITIONS = 6;
export const SESSION_TIMEOUT_MS = 6_000;
const ALL_PARTITIONS = Array.from({ length: PARTITIONS }, (_, p) => p);
const HELPER = new URL('group-member.ts', import.meta.url).pathname;

/** The command line of one group member (a process printing `PARTITION OFFSET KEY` lines). */
export type MemberCommand = (broker: string, groupId: string, topic: string, clientId: string) => { readonly command: string; readonly args: readonly string[] };

/** A member run by test/server/helpers/group-member.ts. */
export function memberOfHelper(client: 'kafkajs' | 'platformatic'): MemberCommand {
  return (broker, groupId, topic, clientId) => ({ command: process.execPath, args: [HELPER, client, broker, groupId, topic, clientId, String(SESSION_TIMEOUT_MS)] });
}

interface Consumed {
  readonly member: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
}

interface MemberProcess {
  readonly clientId: string;
  readonly consumed: Consumed[];
  running: boolean;
  /** The partitions it last said it reads, or null before its first assignment. */
  assigned: number[] | null;
  /** Set when the process exited without the test asking it to. */
  unexpectedExit: string | null;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM; resolves once it exited 0 (it committed and left the group). */
  stop(): Promise<void>;
}

function startMember(command: MemberCommand, broker: string, groupId: string, topic: string, clientId: string): MemberProcess {
  const { command: file, args } = command(broker, groupId, topic, clientId);
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let partial = '';
  let asked = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const member: MemberProcess = {
    clientId,
    consumed: [],
    running: true,
    assigned: null,
    unexpectedExit: null,
    async kill(): Promise<void> {
      asked = true;
      child.kill('SIGKILL');
      await exited;
    },
    async stop(): Promise<void> {
      asked = true;
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      assert.equal(code, 0, `${clientId} exits 0 on SIGTERM (signal ${String(signal)}): ${stderr}`);
    },
  };
  const assigned = (partitions: string): void => {
    member.assigned = [...partitions.matchAll(/\d+/g)].map((d) => Number(d[0])).sort((a, b) => a - b);
  };
  let partialErr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr = (stderr + c).slice(-4_000);
    const lines = (partialErr + c).split('\n');
    partialErr = lines.pop() ?? '';
    // kcat: `% Group G rebalanced (memberid M): assigned: T [0], T [3]`
    for (const line of lines) {
      const m = /rebalanced \(memberid [^)]*\): assigned: (.*)$/.exec(line);
      if (m) assigned(m[1]!.replace(/\S+ \[/g, '['));
    }
  });
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    const lines = (partial + c).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^(\d+) (\d+) (\S+)$/.exec(line);
      if (m) member.consumed.push({ member: clientId, partition: Number(m[1]), offset: Number(m[2]), key: m[3]! });
      const a = /^assigned (.*)$/.exec(line);
      if (a) assigned(a[1]!);
    }
  });
  void exited.then(({ code, signal }) => {
    member.running = false;
    if (!asked) member.unexpectedExit = `${clientId} exited (code ${String(code)}, signal ${String(signal)}): ${stderr}`;
  });
  return member;
}

export interface KillScenarioResult {
  readonly produced: number;
  /** From the SIGKILL to a Stable group of the two survivors covering every partition. */
  readonly reassignedMs: number;
  /** Records the survivors read again after the killed member had read them (not yet committed). */
  readonly duplicates: number;
  /** Milliseconds from the start at which each step was done. */
  readonly steps: Readonly<Record<string, number>>;
}

/** Runs the scenario against a fresh served file; `name` names the topic, group and client ids. */
export async function runKillScenario(name: string, command: MemberCommand): Promise<KillScenarioResult> {
  const started = Date.now();
  const steps: Record<string, number> = {};
  const step = (what: string): void => {
    steps[what] = Date.now() - started;
  };
  const served = await startServer();
  const topic = `${name}-topic`;
  const groupId = `${name}-group`;
  const coordinator = new GroupCoordinator(served.db.engine);
  const members: MemberProcess[] = [];
  let producer: Producer | undefined;
  try {
    await served.db.engine.createTopic(topic, { partitions: PARTITIONS });
    producer = served.db.producer();
    const send = producer.send.bind(producer);
    let produced = 0;
    const produce = async (partitions: readonly number[], count: number): Promise<void> => {
      const first = produced;
      produced += count;
      await send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: `k${String(first + i)}`, value: 'v', partition: partitions[(first + i) % partitions.length]! })) });
    };

    const live = (): MemberProcess[] => members.filter((m) => m.running);
    const waitUntil = async (what: string, ready: () => boolean, timeoutMs = 20_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (!ready()) {
        const crashed = members.find((m) => m.unexpectedExit !== null);
        if (crashed) throw new Error(`while waiting for ${what}: ${crashed.unexpectedExit!}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: group ${JSON.stringify(coordinator.describeGroup(groupId).state)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    /**
     * clientId → partitions, once the group is Stable with exactly `clientIds` sharing every partition
     * evenly and each of them has taken up its share.
     */
    const balanced = (clientIds: readonly string[]): Map<string, number[]> | undefined => {
      const d = coordinator.describeGroup(groupId);
      if (d.state !== 'Stable' || d.members.length !== clientIds.length) return undefined;
      const owners = new Map<string, number[]>();
      for (const m of d.members) {
        const partitions = m.memberAssignment.length === 0 ? [] : decodeAssignment(m.memberAssignment).assignment.filter((t) => t.topic === topic).flatMap((t) => t.partitions);
        if (partitions.length !== PARTITIONS / clientIds.length) return undefined;
        partitions.sort((a, b) => a - b);
        if (members.find((p) => p.clientId === m.clientId)?.assigned?.join() !== partitions.join()) return undefined;
        owners.set(m.clientId, partitions);
      }
      const all = [...owners.values()].flat().sort((a, b) => a - b);
      return clientIds.every((c) => owners.has(c)) && all.join() === ALL_PARTITIONS.join() ? owners : undefined;
    };
    const committed = (): Map<number, number> => new Map(coordinator.fetchOffsets(groupId).filter((o) => o.topic === topic).map((o) => [o.partition, o.offset]));
    const allCommitted = (): boolean => {
      const c = committed();
      return ALL_PARTITIONS.every((p) => c.get(p) === served.db.engine.highWatermark(topic, p));
    };
    const consumedKeys = (): Set<string> => new Set(members.flatMap((m) => m.consumed.map((c) => c.key)));

    // Three members, balanced before any record exists (the joins' rebalances move no records).
    const names = [1, 2, 3].map((i) => `${name}-${String(i)}`);
    for (const clientId of names) members.push(startMember(command, served.broker, groupId, topic, clientId));
    let owners: Map<string, number[]> | undefined;
    await waitUntil('three balanced members', () => (owners = balanced(names)) !== undefined);
    step('balanced');

    // Phase 1: records on every partition, each consumed once and committed.
    await produce(ALL_PARTITIONS, 1_200);
    await waitUntil('phase 1 consumed and committed', () => consumedKeys().size === produced && allCommitted());
    step('phase1');
    const phase1End = new Map(ALL_PARTITIONS.map((p) => [p, served.db.engine.highWatermark(topic, p)]));

    // Phase 2: records keep flowing to the victim's partitions; it is SIGKILLed once it has committed some.
    const victim = members[1]!;
    const victimPartitions = owners!.get(victim.clientId)!;
    let flowing = true;
    const flow = (async () => {
      while (flowing) {
        await produce(victimPartitions, 12);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await waitUntil('the victim to consume and commit phase 2 records', () => {
      const c = committed();
      const read = victim.consumed.filter((r) => r.offset >= phase1End.get(r.partition)!).length;
      return read >= 100 && victimPartitions.some((p) => (c.get(p) ?? 0) > phase1End.get(p)!);
    });
    // A lower bound of the victim's last commit: a commit in flight at the kill may still land.
    const victimCommitted = committed();
    await victim.kill();
    const killedAt = Date.now();
    step('killed');
    flowing = false;
    await flow;
    // Records nobody consumed yet, which only the survivors can read.
    await produce(victimPartitions, 120);

    const survivors = live().map((m) => m.clientId);
    await waitUntil('the survivors to take over every partition', () => balanced(survivors) !== undefined, SESSION_TIMEOUT_MS + 10_000);
    const reassignedMs = Date.now() - killedAt;
    step('reassigned');

    // Phase 3: records on every partition for the two survivors.
    await produce(ALL_PARTITIONS, 1_200);
    await waitUntil('every record consumed', () => consumedKeys().size === produced);
    step('consumed');
    for (const m of live()) await m.stop();
    step('stopped');
    assert.ok(allCommitted(), 'the survivors committed every record when they stopped');

    // At least once; a record read twice is the victim's, read again by a survivor from the victim's commit.
    const reads = new Map<string, Consumed[]>();
    for (const c of members.flatMap((m) => m.consumed)) reads.set(c.key, [...(reads.get(c.key) ?? []), c]);
    assert.equal(reads.size, produced, 'every record consumed');
    let duplicates = 0;
    for (const [key, r] of reads) {
      const readers = `read by ${r.map((c) => c.member).join(', ')}; the victim ${victim.clientId} committed ${JSON.stringify([...victimCommitted])}`;
      assert.ok(r.every((c) => c.partition === r[0]!.partition && c.offset === r[0]!.offset), `${key} read at one position`);
      if (r.length === 1) continue;
      duplicates += r.length - 1;
      const { partition, offset } = r[0]!;
      assert.equal(r.length, 2, `${key} read at most twice (${readers})`);
      assert.ok(victimPartitions.includes(partition) && offset >= (victimCommitted.get(partition) ?? 0), `${key} (${String(partition)}:${String(offset)}) read again only after the victim's last commit (${readers})`);
      assert.ok(victim.consumed.some((c) => c.key === key), `${key} read again only when the victim had read it (${readers})`);
    }

    // A new member of the group resumes from the committed offsets: it reads only what is produced now.
    const first = produced;
    await produce(ALL_PARTITIONS, 60);
    const restarted = startMember(command, served.broker, groupId, topic, `${name}-4`);
    members.push(restarted);
    await waitUntil('the restarted member to read the new records', () => restarted.consumed.length >= 60);
    assert.deepEqual(
      restarted.consumed.map((c) => c.key).sort(),
      Array.from({ length: 60 }, (_, i) => `k${String(first + i)}`).sort(),
      'the restarted member reads only the records after the committed offsets',
    );
    await restarted.stop();
    assert.ok(allCommitted(), 'the restarted member committed what it read');
    assert.equal(coordinator.describeGroup(groupId).state, 'Empty', 'every member left the group');
    step('restarted');
    return { produced, reassignedMs, duplicates, steps };
  } finally {
    await Promise.all(members.filter((m) => m.running).map((m) => m.kill()));
    await producer?.disconnect();
    await served.close();
  }
}
