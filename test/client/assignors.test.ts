// The partition assignors and the Kafka ConsumerProtocol codec: range and roundrobin hand out what Kafka's
// do; cooperative-sticky is balanced, keeps owned partitions, withholds the ones that move (so nothing
// kept is revoked) and converges in a second round; subscription and assignment bytes round-trip and
// decode what kafkajs' own encoder writes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AssignerProtocol } from 'kafkajs';
import {
  PartitionAssigners,
  cooperativeStickyAssigner,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  rangeAssigner,
  roundRobinAssigner,
  type AssignorMember,
  type TopicPartitions,
} from '../../src/client/assignors.ts';
import { OnelogError } from '../../src/errors.ts';

function member(memberId: string, topics: string[], owned: TopicPartitions[] = [], generationId = -1): AssignorMember {
  return { memberId, groupInstanceId: null, subscription: { topics, userData: null, ownedPartitions: owned, generationId, rackId: null } };
}

const asObject = (m: Map<string, TopicPartitions[]>): Record<string, Record<string, number[]>> =>
  Object.fromEntries([...m].map(([id, tps]) => [id, Object.fromEntries(tps.map((tp) => [tp.topic, tp.partitions]))]));

function count(tps: readonly TopicPartitions[] | undefined): number {
  return (tps ?? []).reduce((n, tp) => n + tp.partitions.length, 0);
}

test('range: contiguous ranges per topic, the first members taking the remainder', () => {
  const members = [member('b', ['t', 'u']), member('a', ['t', 'u']), member('c', ['t'])];
  const result = rangeAssigner.assign(members, new Map([['t', 7], ['u', 3]]));
  assert.deepEqual(asObject(result), {
    a: { t: [0, 1, 2], u: [0, 1] },
    b: { t: [3, 4], u: [2] },
    c: { t: [5, 6] },
  });
});

test('roundrobin: partitions dealt in (topic, partition) order to sorted members, skipping non-subscribers', () => {
  const members = [member('m2', ['t']), member('m1', ['t', 'u'])];
  const result = roundRobinAssigner.assign(members, new Map([['t', 3], ['u', 2], ['missing', 0]]));
  assert.deepEqual(asObject(result), { m1: { t: [0, 2], u: [0, 1] }, m2: { t: [1] } });
});

test('PartitionAssigners names the built-in assigners with Kafka protocol names', () => {
  assert.equal(PartitionAssigners.range.name, 'range');
  assert.equal(PartitionAssigners.roundRobin.name, 'roundrobin');
  assert.equal(PartitionAssigners.cooperativeSticky.name, 'cooperative-sticky');
  assert.equal(PartitionAssigners.cooperativeSticky.rebalanceProtocol, 'cooperative');
  assert.equal(PartitionAssigners.roundRobin.rebalanceProtocol, 'eager');
});

test('cooperative-sticky: a new member gets nothing the old one owns in the first round, half in the second', () => {
  const counts = new Map([['t', 6]]);
  const first = cooperativeStickyAssigner.assign([member('a', ['t'], [{ topic: 't', partitions: [0, 1, 2, 3, 4, 5] }], 1), member('b', ['t'])], counts);
  // a keeps three (never revoked), the three that move are withheld: a revokes them and rejoins.
  assert.equal(count(first.get('a')), 3);
  assert.equal(count(first.get('b')), 0);
  const kept = first.get('a')![0]!.partitions;
  const second = cooperativeStickyAssigner.assign([member('a', ['t'], first.get('a'), 2), member('b', ['t'], [], 2)], counts);
  assert.deepEqual(second.get('a')![0]!.partitions, kept);
  assert.deepEqual(second.get('b')![0]!.partitions, [0, 1, 2, 3, 4, 5].filter((p) => !kept.includes(p)));
});

test('cooperative-sticky: a departed member\'s partitions are spread without moving anyone else\'s', () => {
  const counts = new Map([['t', 9]]);
  const result = cooperativeStickyAssigner.assign(
    [member('a', ['t'], [{ topic: 't', partitions: [0, 1, 2] }], 3), member('b', ['t'], [{ topic: 't', partitions: [3, 4, 5] }], 3)],
    counts,
  );
  const a = result.get('a')![0]!.partitions;
  const b = result.get('b')![0]!.partitions;
  assert.ok([0, 1, 2].every((p) => a.includes(p)));
  assert.ok([3, 4, 5].every((p) => b.includes(p)));
  assert.deepEqual([...a, ...b].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(Math.abs(a.length - b.length) <= 1);
});

test('cooperative-sticky: conflicting claims go to the newest generation; stale ones are not kept', () => {
  const result = cooperativeStickyAssigner.assign(
    [member('a', ['t'], [{ topic: 't', partitions: [0, 1] }], 5), member('b', ['t'], [{ topic: 't', partitions: [1, 2, 3] }], 4)],
    new Map([['t', 4]]),
  );
  assert.ok(result.get('a')![0]!.partitions.includes(1));
  assert.ok(!(result.get('b')?.[0]?.partitions ?? []).includes(1));
});

test('cooperative-sticky (property): balanced after convergence, kept partitions never revoked, nothing doubly owned', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 1000 }), (memberCount, partitions, seed) => {
      const counts = new Map([['t', partitions]]);
      // A random starting ownership (each partition owned by a random member or nobody).
      const ids = Array.from({ length: memberCount }, (_, i) => `m${i}`);
      const owned = new Map<string, number[]>(ids.map((id) => [id, []]));
      for (let p = 0; p < partitions; p++) {
        const owner = (seed * 31 + p * 17) % (memberCount + 1);
        if (owner < memberCount) owned.get(ids[owner]!)!.push(p);
      }
      let state = owned;
      for (let round = 0; round < 3; round++) {
        const members = ids.map((id) => member(id, ['t'], state.get(id)!.length > 0 ? [{ topic: 't', partitions: state.get(id)! }] : [], round + 1));
        const result = cooperativeStickyAssigner.assign(members, counts);
        const next = new Map(ids.map((id) => [id, result.get(id)?.[0]?.partitions ?? []]));
        const all = [...next.values()].flat();
        assert.equal(new Set(all).size, all.length, 'a partition assigned twice');
        for (const id of ids) {
          // Cooperative: a member keeps owning what it owned unless the partition moves away, in which case
          // it is withheld from everyone this round.
          for (const p of state.get(id)!) {
            const holder = ids.find((other) => next.get(other)!.includes(p));
            assert.ok(holder === undefined || holder === id, `partition ${p} moved from ${id} to ${String(holder)} in one round`);
          }
        }
        state = next;
      }
      const sizes = ids.map((id) => state.get(id)!.length);
      assert.equal(sizes.reduce((a, b) => a + b, 0), partitions, 'every partition assigned after convergence');
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `unbalanced: ${sizes.join(',')}`);
    }),
    { numRuns: 300 },
  );
});

test('subscription bytes: round trip at every version', () => {
  const s = { topics: ['a', 'bé'], userData: Buffer.from([1, 2]), ownedPartitions: [{ topic: 'a', partitions: [0, 7] }], generationId: 9, rackId: 'r1' };
  assert.deepEqual(decodeSubscription(encodeSubscription(s)), s);
  assert.deepEqual(decodeSubscription(encodeSubscription(s, 2)), { ...s, rackId: null });
  assert.deepEqual(decodeSubscription(encodeSubscription(s, 1)), { ...s, generationId: -1, rackId: null });
  assert.deepEqual(decodeSubscription(encodeSubscription(s, 0)), { ...s, ownedPartitions: [], generationId: -1, rackId: null });
});

test('assignment bytes: round trip, empty bytes mean nothing assigned', () => {
  const a = { assignment: [{ topic: 't', partitions: [1, 2] }], userData: null };
  assert.deepEqual(decodeAssignment(encodeAssignment(a)), a);
  assert.deepEqual(decodeAssignment(Buffer.alloc(0)), { assignment: [], userData: null });
});

test('kafkajs interop: onelog decodes kafkajs MemberMetadata/MemberAssignment and kafkajs decodes onelog\'s', () => {
  const metadata = AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['x', 'y'], userData: Buffer.from('ud') });
  const decoded = decodeSubscription(metadata);
  assert.deepEqual(decoded.topics, ['x', 'y']);
  assert.deepEqual(decoded.userData, Buffer.from('ud'));
  const assignment = AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { x: [0, 2] }, userData: Buffer.alloc(0) });
  assert.deepEqual(decodeAssignment(assignment).assignment, [{ topic: 'x', partitions: [0, 2] }]);

  const ours = encodeSubscription({ topics: ['x'], userData: null, ownedPartitions: [{ topic: 'x', partitions: [1] }], generationId: 3, rackId: null });
  assert.deepEqual(AssignerProtocol.MemberMetadata.decode(ours)?.topics, ['x']);
  const ourAssignment = encodeAssignment({ assignment: [{ topic: 'x', partitions: [4, 5] }], userData: null });
  assert.deepEqual(AssignerProtocol.MemberAssignment.decode(ourAssignment)?.assignment, { x: [4, 5] });
});

test('malformed protocol bytes are INVALID_ARGUMENT, not a crash', () => {
  for (const bad of [Buffer.from([0]), Buffer.from([0, 3, 0x7f, 0xff, 0xff, 0xff]), Buffer.from([0xff, 0xff])]) {
    assert.throws(
      () => decodeSubscription(bad),
      (err: unknown) => err instanceof OnelogError && err.code === 'INVALID_ARGUMENT',
    );
  }
});
