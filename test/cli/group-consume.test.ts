// consume --group as a real group member: two following processes split a 4-partition topic (each record
// printed by exactly one of them), SIGINT commits and leaves (exit 0), and a later member of the same
// group starts after the committed offsets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectLines, jsonLines, runCli, startCli, tempDb } from './helpers/run-cli.ts';

interface Described {
  state: string;
  members: { assignment: { topic: string; partitions: number[] }[] }[];
}

/** Waits until group g has `count` members that together own all `partitions` partitions. */
async function waitForMembers(file: string, group: string, count: number, partitions: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await runCli(['groups', file, 'describe', group, '--json']);
    if (r.code === 0) {
      const d = jsonLines(r.stdout)[0] as unknown as Described;
      const owned = d.members.flatMap((m) => m.assignment.flatMap((a) => a.partitions));
      if (d.state === 'Stable' && d.members.length === count && d.members.every((m) => m.assignment.length > 0) && owned.length === partitions) return;
    }
    if (Date.now() > deadline) throw new Error(`group ${group} did not reach ${String(count)} members: ${r.stdout}${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('two consume --group processes split the partitions; after SIGINT a new member starts at the committed offsets', async (t) => {
  const file = tempDb();
  await runCli(['create', file]);
  await runCli(['topics', file, 'create', 't', '--partitions', '4']);
  const args = ['consume', file, 't', '--group', 'g', '--follow', '--from-beginning', '--format', '%p:%s\n'];
  const a = startCli(args);
  t.after(() => a.kill('SIGKILL'));
  await waitForMembers(file, 'g', 1, 4);
  const b = startCli(args);
  t.after(() => b.kill('SIGKILL'));
  await waitForMembers(file, 'g', 2, 4);
  const linesA = collectLines(a);
  const linesB = collectLines(b);

  const expected: string[] = [];
  for (let p = 0; p < 4; p++) {
    const values = Array.from({ length: 10 }, (_, i) => `v${String(p)}-${String(i)}`);
    await runCli(['produce', file, 't', '--partition', String(p)], `${values.join('\n')}\n`);
    expected.push(...values.map((v) => `${String(p)}:${v}`));
  }
  const deadline = Date.now() + 20_000;
  while (linesA.lines.length + linesB.lines.length < expected.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const seenA = linesA.lines.map((l) => l.text);
  const seenB = linesB.lines.map((l) => l.text);
  assert.deepEqual([...seenA, ...seenB].sort(), [...expected].sort());
  assert.ok(seenA.length > 0 && seenB.length > 0, `both members print records (${String(seenA.length)} and ${String(seenB.length)})`);
  const partitionsOf = (seen: string[]): Set<string> => new Set(seen.map((l) => l.split(':')[0]!));
  for (const p of partitionsOf(seenA)) assert.ok(!partitionsOf(seenB).has(p), `partition ${p} went to one member only`);

  const exits = [a, b].map((c) => new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code))));
  a.kill('SIGINT');
  b.kill('SIGINT');
  assert.deepEqual(await Promise.all(exits), [0, 0]);

  for (let p = 0; p < 4; p++) await runCli(['produce', file, 't', '--partition', String(p), '--value', `after${String(p)}`]);
  const next = await runCli(['consume', file, 't', '--group', 'g', '--from-beginning', '--count', '4', '--format', '%s\n']);
  assert.equal(next.code, 0);
  assert.deepEqual(next.stdout.split('\n').filter((l) => l !== '').sort(), ['after0', 'after1', 'after2', 'after3']);
  const described = jsonLines((await runCli(['groups', file, 'describe', 'g', '--json'])).stdout)[0]!;
  assert.deepEqual(described.members, []);
});
