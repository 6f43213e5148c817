// Child process of group-processes.test.ts: one consumer of a group, in its own process.
// `group-member.ts <path> <topic> <groupId> <sessionTimeoutMs> <heartbeatIntervalMs> <assigner> [delayMs]`
// joins the group (fromBeginning) and, for every batch it handles, prints one line `r <partition> <offset>`
// per record, then takes `delayMs` more before returning (stdout on a pipe is written synchronously, so a
// record is reported before its offset can be committed, and a kill meets reported, uncommitted records). It prints `assigned <memberId> <partitions,...>` at each join and `ready`
// after the first. On stdin `stop` it disconnects (committing what it handled and leaving the group),
// prints `stopped` and exits 0. It judges nothing: the parent checks what was reported.

import { createInterface } from 'node:readline';
import { Engine } from '../../../src/storage/engine.ts';
import { Consumer } from '../../../src/client/consumer.ts';
import { PartitionAssigners } from '../../../src/client/assignors.ts';

const [path, topic, groupId, sessionArg, heartbeatArg, assignerArg, delayArg] = process.argv.slice(2);
const delayMs = Number(delayArg ?? '0');
if (path === undefined || topic === undefined || groupId === undefined || sessionArg === undefined || heartbeatArg === undefined || assignerArg === undefined) {
  throw new Error('usage: group-member.ts <path> <topic> <groupId> <sessionTimeoutMs> <heartbeatIntervalMs> <range|roundRobin|cooperativeSticky> [delayMs]');
}
if (assignerArg !== 'range' && assignerArg !== 'roundRobin' && assignerArg !== 'cooperativeSticky') throw new Error(`unknown assigner ${assignerArg}`);

const engine = await Engine.open(path, { create: false });
const consumer = new Consumer(engine, {
  groupId,
  sessionTimeout: Number(sessionArg),
  heartbeatInterval: Number(heartbeatArg),
  rebalanceTimeout: 20_000,
  partitionAssigners: [PartitionAssigners[assignerArg]],
});
consumer.on(consumer.events.GROUP_JOIN, (e) => {
  const partitions = e.payload.memberAssignment[topic] ?? [];
  process.stdout.write(`assigned ${e.payload.memberId} ${partitions.join(',')}\n`);
});
consumer.on(consumer.events.CRASH, (e) => {
  process.stderr.write(`group-member: crash ${e.payload.error.stack ?? e.payload.error.message}\n`);
  process.exit(3);
});
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({
  eachBatch: async ({ batch }) => {
    let out = '';
    for (const m of batch.messages) out += `r ${batch.partition} ${m.offset}\n`;
    process.stdout.write(out);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  },
});
process.stdout.write('ready\n');

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line !== 'stop') return;
  void (async () => {
    await consumer.disconnect();
    await engine.close();
    process.stdout.write('stopped\n');
    process.exit(0);
  })();
});
