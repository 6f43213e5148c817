// Test helper: one consumer-group member in a process of its own, so a test can SIGKILL it for real.
// `node group-member.ts kafkajs|platformatic BROKER GROUP TOPIC CLIENT_ID SESSION_TIMEOUT_MS` joins GROUP
// (heartbeats every 500 ms, rebalance timeout = session timeout), reads TOPIC from the group's committed
// offsets (earliest without one), prints `PARTITION OFFSET KEY` on stdout for every record it processes,
// commits only what it printed (at least once), and prints `assigned P,P,...` once it is ready to read a
// new assignment. On SIGTERM it commits, leaves the group and exits 0. It asserts nothing: the test
// reads its lines and the group's offsets.
import { Kafka, logLevel } from 'kafkajs';
import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes, stringDeserializers, type GroupAssignment } from '@platformatic/kafka';

const HEARTBEAT_INTERVAL_MS = 500;
const COMMIT_INTERVAL_MS = 100;

type Stop = () => Promise<void>;

interface MemberOptions {
  readonly broker: string;
  readonly groupId: string;
  readonly topic: string;
  readonly clientId: string;
  readonly sessionTimeout: number;
}

// Pipes are written synchronously on Linux, so a printed line is in the pipe before the next record.
function print(partition: number, offset: bigint | string, key: string): void {
  process.stdout.write(`${partition} ${String(offset)} ${key}\n`);
}

function printAssigned(partitions: Iterable<number>): void {
  process.stdout.write(`assigned ${[...partitions].sort((a, b) => a - b).join(',')}\n`);
}

/** kafkajs with its default auto-commit: each batch's processed offsets are committed after the batch and on rebalance. */
async function kafkajsMember({ broker, groupId, topic, clientId, sessionTimeout }: MemberOptions): Promise<Stop> {
  const kafka = new Kafka({ clientId, brokers: [broker], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    rebalanceTimeout: sessionTimeout,
    maxWaitTimeInMs: 100,
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => printAssigned(e.payload.memberAssignment[topic] ?? []));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      print(partition, message.offset, message.key?.toString() ?? '');
      await Promise.resolve();
    },
  });
  return () => consumer.disconnect();
}

/**
 * @platformatic/kafka from committed offsets. Its autocommit commits at fetch time (before the records are
 * processed), which loses records when a member is killed, so this member commits what it printed itself:
 * every 100 ms, when a rebalance starts (before rejoining, with the old generation) and before leaving.
 * Records of partitions it no longer owns after a rebalance are dropped unprinted, as Kafka's own consumer does.
 */
async function platformaticMember({ broker, groupId, topic, clientId, sessionTimeout }: MemberOptions): Promise<Stop> {
  const consumer = new Consumer({
    clientId,
    groupId,
    bootstrapBrokers: [broker],
    sessionTimeout,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    rebalanceTimeout: sessionTimeout,
    maxWaitTime: 100,
    deserializers: stringDeserializers,
  });
  let owned = new Set<number>();
  const processed = new Map<number, bigint>();
  let committing = Promise.resolve();
  const commit = (): Promise<void> => {
    const offsets = [...processed].map(([partition, offset]) => ({ topic, partition, offset, leaderEpoch: 0 }));
    processed.clear();
    if (offsets.length === 0) return committing;
    // A commit the coordinator fences (a rebalance under way) is not retried: the records are read again.
    committing = committing.then(() => consumer.commit({ offsets }).catch(() => undefined));
    return committing;
  };
  consumer.on('consumer:group:rebalance', () => void commit());
  consumer.on('consumer:group:join', (payload: { assignments?: GroupAssignment[] }) => {
    owned = new Set((payload.assignments ?? []).filter((a) => a.topic === topic).flatMap((a) => a.partitions));
    for (const partition of processed.keys()) if (!owned.has(partition)) processed.delete(partition);
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: false,
  });
  // The stream has read the committed offsets of a new assignment: what it fetches next is that assignment's.
  stream.on('offsets', () => printAssigned(owned));
  const timer = setInterval(() => void commit(), COMMIT_INTERVAL_MS);
  const reading = (async () => {
    for await (const m of stream) {
      if (!owned.has(m.partition)) continue;
      print(m.partition, m.offset, m.key);
      processed.set(m.partition, m.offset + 1n);
    }
  })();
  return async () => {
    clearInterval(timer);
    await stream.close();
    await reading;
    await commit();
    await consumer.close();
  };
}

const [client, broker, groupId, topic, clientId, sessionTimeout] = process.argv.slice(2);
if (broker === undefined || groupId === undefined || topic === undefined || clientId === undefined || sessionTimeout === undefined || (client !== 'kafkajs' && client !== 'platformatic')) {
  process.stderr.write('usage: group-member.ts kafkajs|platformatic BROKER GROUP TOPIC CLIENT_ID SESSION_TIMEOUT_MS\n');
  process.exit(2);
}
const options: MemberOptions = { broker, groupId, topic, clientId, sessionTimeout: Number(sessionTimeout) };
const stop = await (client === 'kafkajs' ? kafkajsMember : platformaticMember)(options);
process.once('SIGTERM', () => {
  void stop().then(() => process.exit(0));
});
