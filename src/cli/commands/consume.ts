// `onelog consume FILE TOPIC`: prints records of a topic from a chosen position (beginning, offset, time),
// up to a count, to the end or following new records until Ctrl-C. With --group it is a member of the
// group (the embedded consumer: partitions shared with other members) and commits what it printed. It
// never writes records.
import type { Database } from '../../client/database.ts';
import type { KafkaMessageHeaders } from '../../client/types.ts';
import { OnelogError } from '../../errors.ts';
import { decodeRecordsInto, readBatchHeader, batchTotalSize, type RecordHeader } from '../../format/record-batch.ts';
import type { Engine } from '../../storage/engine.ts';
import { BUSY_OPTION, boolFlag, busyTimeout, intFlag, parse, pointInTime, stringFlag } from '../args.ts';
import { compileTemplate, recordJson, showBytes, type ShownRecord } from '../format-record.ts';
import { withDatabase } from '../open-database.ts';
import { UsageError, type Output } from '../output.ts';
import { StdoutWriter } from '../stdout-writer.ts';

export const CONSUME_HELP = `Usage: onelog consume FILE TOPIC [options]

Prints TOPIC's records to stdout and exits at the end of the log (or after --count records);
--follow keeps printing new records until Ctrl-C (exit 0).

Where to start (one of; default: the beginning, or the end with --follow):
  --from-beginning     each partition's first record
  --offset N           offset N in each partition; a negative N (--offset=-10) starts N records
                       before the end
  --since T            the first record at or after T: an ISO date (2026-01-01T00:00Z), ms since the
                       epoch, or a duration ago (30s, 10m, 2h, 1d)

Options:
  --partition N        only partition N (default: every partition, read in turn)
  --count N            stop after N records
  --follow             keep waiting for new records (written by every process) until Ctrl-C
  --group G            consume as a member of consumer group G, as kafka-console-consumer --group
                       and kcat -G do: members (other 'onelog consume --group G' processes, embedded
                       or Kafka clients through 'onelog serve') split TOPIC's partitions. Starts at G's
                       committed offsets; a partition without one starts at its earliest record with
                       --from-beginning, else at the end (Kafka's auto.offset.reset=latest). Commits
                       what it printed after each fetch, and at exit. With --group the command follows
                       (as kcat -G): it runs until --count records or Ctrl-C, then commits and leaves
                       the group (exit 0). Not with --partition, --offset or --since
  --format F           value (default): the value, one per line
                       json: one JSON object per line:
                         {"topic","partition","offset","timestamp","key","value","headers":[{"key","value"}]}
                         key/value are UTF-8 text, or base64 with "keyEncoding"/"valueEncoding":"base64"
                       other text is a kcat-like template: %t topic, %p partition, %o offset,
                         %k key, %s value, %K/%S key/value length, %T timestamp (ms), %h headers
                         (k=v,...), %% percent; escapes \\n \\t \\r \\0 \\\\   e.g. --format '%k\\t%s\\n'
                       In value and template output, bytes that are not valid UTF-8 print as base64.
  --busy-timeout MS    with --group: how long the group's writes wait for another process's writer lock
  --json               same as --format json
  --help               this text`;

const READ_BYTES = 1024 * 1024;
const FOLLOW_WAIT_MS = 500;

type Start = { readonly kind: 'beginning' } | { readonly kind: 'end' } | { readonly kind: 'offset'; readonly offset: number } | { readonly kind: 'time'; readonly timestamp: number };

function startOf(p: ReturnType<typeof parse>, follow: boolean): Start {
  const given = [boolFlag(p, 'from-beginning'), p.values.offset !== undefined, p.values.since !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError('give at most one of --from-beginning, --offset and --since.');
  if (boolFlag(p, 'from-beginning')) return { kind: 'beginning' };
  const offset = stringFlag(p, 'offset');
  if (offset !== undefined) return { kind: 'offset', offset: intFlag(p, 'offset', 0, Number.MIN_SAFE_INTEGER) };
  const since = stringFlag(p, 'since');
  if (since !== undefined) return { kind: 'time', timestamp: pointInTime('since', since, Date.now()) };
  return follow ? { kind: 'end' } : { kind: 'beginning' };
}

function startOffset(engine: Engine, topic: string, partition: number, start: Start): number {
  const low = engine.logStartOffset(topic, partition);
  const high = engine.highWatermark(topic, partition);
  switch (start.kind) {
    case 'beginning':
      return low;
    case 'end':
      return high;
    case 'offset': {
      const o = start.offset < 0 ? high + start.offset : start.offset;
      return Math.min(Math.max(o, low), high);
    }
    case 'time':
      return engine.offsetForTimestamp(topic, partition, start.timestamp)?.offset ?? high;
  }
}

function renderer(format: string): (r: ShownRecord) => string {
  if (format === 'value') return (r) => `${showBytes(r.value)}\n`;
  if (format === 'json') return (r) => `${recordJson(r)}\n`;
  if (!format.includes('%')) throw new UsageError(`--format must be value, json or a template with %-fields (such as '%k\\t%s\\n'), got '${format}'.`);
  return compileTemplate(format);
}

interface Cursor {
  readonly partition: number;
  next: number;
}

export async function consumeCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(
    args,
    {
      'from-beginning': { type: 'boolean' },
      offset: { type: 'string' },
      since: { type: 'string' },
      partition: { type: 'string' },
      count: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      group: { type: 'string' },
      format: { type: 'string' },
      ...BUSY_OPTION,
    },
    ['FILE', 'TOPIC'],
  );
  const [file, topic] = p.positionals as [string, string];
  const follow = boolFlag(p, 'follow');
  const start = startOf(p, follow);
  const limit = p.values.count === undefined ? Infinity : intFlag(p, 'count', 0, 0);
  const group = stringFlag(p, 'group');
  const render = renderer(out.json ? 'json' : (stringFlag(p, 'format') ?? 'value'));
  if (group !== undefined) {
    if (group === '') throw new UsageError('--group needs a group id.');
    const stray = ['partition', 'offset', 'since'].find((f) => p.values[f] !== undefined);
    if (stray !== undefined) throw new UsageError(`--${stray} cannot be used with --group: the group assigns the partitions and starts at its committed offsets.`);
    await withDatabase(file, { write: true, busyTimeoutMs: busyTimeout(p) }, (db) => consumeInGroup(db, { topic, group, fromBeginning: boolFlag(p, 'from-beginning'), limit, render }));
    return;
  }
  const onlyPartition = p.values.partition === undefined ? null : intFlag(p, 'partition', 0, 0);
  await withDatabase(file, { write: false }, (db) => consume(db, { topic, follow, start, limit, render, onlyPartition }));
}

function topicPartitions(engine: Engine, topic: string): number {
  const info = engine.describeTopic(topic);
  if (info === undefined) throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `there is no topic ${topic} in this file: 'onelog topics FILE list' shows the topics.`, { topic });
  return info.partitions;
}

interface ConsumeOptions {
  readonly topic: string;
  readonly follow: boolean;
  readonly start: Start;
  readonly limit: number;
  readonly render: (r: ShownRecord) => string;
  readonly onlyPartition: number | null;
}

async function consume(db: Database, o: ConsumeOptions): Promise<void> {
  const engine = db.engine;
  const { topic } = o;
  const count = topicPartitions(engine, topic);
  if (o.onlyPartition !== null && o.onlyPartition >= count) {
    throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} has partitions 0 to ${String(count - 1)}, not ${String(o.onlyPartition)}.`, { topic, partition: o.onlyPartition });
  }
  const partitions = o.onlyPartition === null ? Array.from({ length: count }, (_, i) => i) : [o.onlyPartition];
  const cursors: Cursor[] = partitions.map((partition) => ({ partition, next: startOffset(engine, topic, partition, o.start) }));
  // Without --follow the end is where the log ended when we started.
  const ends = new Map(cursors.map((c) => [c.partition, engine.highWatermark(topic, c.partition)]));

  const writer = new StdoutWriter();
  let printed = 0;
  const stopping = new AbortController();
  const stop = (): void => {
    stopping.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let current: Cursor = cursors[0]!;
  const visitor = {
    record(offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[] | null): void {
      if (offset < current.next || printed >= o.limit) return;
      writer.write(o.render({ topic, partition: current.partition, offset, timestamp, key, value, headers }));
      printed++;
      current.next = offset + 1;
    },
  };
  try {
    for (;;) {
      let progressed = false;
      for (const cursor of cursors) {
        if (stopping.signal.aborted || printed >= o.limit || writer.closed) break;
        const end = o.follow ? Infinity : ends.get(cursor.partition)!;
        if (cursor.next >= end) continue;
        const r = engine.read(topic, cursor.partition, cursor.next, { maxBytes: READ_BYTES });
        if (r.records.length === 0) continue;
        current = cursor;
        for (let pos = 0; pos < r.records.length && printed < o.limit; pos += batchTotalSize(r.records, pos)) {
          const header = readBatchHeader(r.records, pos);
          if (header.isControl) {
            cursor.next = Math.max(cursor.next, header.baseOffset + header.lastOffsetDelta + 1);
            continue;
          }
          decodeRecordsInto(r.records, pos, visitor);
          // Offsets a batch skips (none today; compaction later) are passed over too.
          if (printed < o.limit) cursor.next = Math.max(cursor.next, header.baseOffset + header.lastOffsetDelta + 1);
          if (!o.follow) cursor.next = Math.min(cursor.next, end);
        }
        progressed = true;
        await writer.flush();
      }
      if (stopping.signal.aborted || printed >= o.limit || writer.closed) break;
      if (progressed) continue;
      if (!o.follow) break;
      await writer.flush(true);
      await engine.waitForAny(cursors.map((c) => ({ topic, partition: c.partition, offset: c.next })), FOLLOW_WAIT_MS, stopping.signal);
    }
    await writer.end();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

interface GroupConsumeOptions {
  readonly topic: string;
  readonly group: string;
  readonly fromBeginning: boolean;
  readonly limit: number;
  readonly render: (r: ShownRecord) => string;
}

/** A consumer's headers back as a list (a repeated key's values in order; keys in first-seen order). */
function headerList(headers: KafkaMessageHeaders): RecordHeader[] {
  const list: RecordHeader[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (Array.isArray(value)) for (const v of value) list.push({ key, value: v });
    else list.push({ key, value: value ?? null });
  }
  return list;
}

/**
 * Consumes TOPIC as a member of the group until --count records, Ctrl-C or a closed stdout. A batch is
 * flushed to stdout before its handler returns, and only printed records are resolved, so the consumer's
 * automatic commits (after each batch, before a rebalance revokes partitions, and when it leaves) never
 * cover a record that was not printed.
 */
async function consumeInGroup(db: Database, o: GroupConsumeOptions): Promise<void> {
  const { topic } = o;
  topicPartitions(db.engine, topic);
  if (o.limit === 0) return;
  const writer = new StdoutWriter();
  const consumer = db.consumer({ groupId: o.group, allowAutoTopicCreation: false });
  let printed = 0;
  let finish: () => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const ended = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const offCrash = consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) fail(event.payload.error);
  });
  process.once('SIGINT', finish);
  process.once('SIGTERM', finish);
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: o.fromBeginning });
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
        for (const m of batch.messages) {
          if (!isRunning() || isStale() || printed >= o.limit || writer.closed) break;
          writer.write(o.render({ topic, partition: batch.partition, offset: Number(m.offset), timestamp: Number(m.timestamp), key: m.key, value: m.value, headers: headerList(m.headers) }));
          printed++;
          resolveOffset(m.offset);
        }
        await writer.flush(true);
        if (printed >= o.limit || writer.closed) finish();
      },
    });
    await ended;
  } finally {
    process.off('SIGINT', finish);
    process.off('SIGTERM', finish);
    offCrash();
    // Commits what was resolved and leaves the group, so the partitions move to other members at once.
    await consumer.disconnect();
  }
  await writer.end();
}
