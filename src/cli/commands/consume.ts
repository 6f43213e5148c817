// `onelog consume FILE TOPIC`: prints records of a topic from a chosen position (beginning, offset, time,
// a group's committed offsets), up to a count, to the end or following new records until Ctrl-C. With
// --group it commits what it printed. It never writes records.
import { GroupCoordinator } from '../../client/group-coordinator.ts';
import type { Database } from '../../client/database.ts';
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

Where to start (one of; default: the beginning, or the end with --follow; with --group, the group's
committed offset where it has one):
  --from-beginning     each partition's first record
  --offset N           offset N in each partition; a negative N (--offset=-10) starts N records
                       before the end
  --since T            the first record at or after T: an ISO date (2026-01-01T00:00Z), ms since the
                       epoch, or a duration ago (30s, 10m, 2h, 1d)

Options:
  --partition N        only partition N (default: every partition, read in turn)
  --count N            stop after N records
  --follow             keep waiting for new records (written by any process) until Ctrl-C
  --group G            start from group G's committed offsets and commit the offset after each
                       record printed (every second and at exit). The command reads as a standalone
                       consumer outside the group protocol: G must have no running members
  --format F           value (default): the value, one per line
                       json: one JSON object per line:
                         {"topic","partition","offset","timestamp","key","value","headers":[{"key","value"}]}
                         key/value are UTF-8 text, or base64 with "keyEncoding"/"valueEncoding":"base64"
                       any other text is a kcat-like template: %t topic, %p partition, %o offset,
                         %k key, %s value, %K/%S key/value length, %T timestamp (ms), %h headers
                         (k=v,...), %% percent; escapes \\n \\t \\r \\0 \\\\   e.g. --format '%k\\t%s\\n'
                       In value and template output, bytes that are not valid UTF-8 print as base64.
  --busy-timeout MS    with --group: how long a commit waits for another process's writer lock
  --json               same as --format json
  --help               this text`;

const READ_BYTES = 1024 * 1024;
const COMMIT_INTERVAL_MS = 1000;
const FOLLOW_WAIT_MS = 500;

type Start = { readonly kind: 'beginning' } | { readonly kind: 'end' } | { readonly kind: 'offset'; readonly offset: number } | { readonly kind: 'time'; readonly timestamp: number };

function startOf(p: ReturnType<typeof parse>, follow: boolean): { start: Start; explicit: boolean } {
  const given = [boolFlag(p, 'from-beginning'), p.values.offset !== undefined, p.values.since !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError('give at most one of --from-beginning, --offset and --since.');
  if (boolFlag(p, 'from-beginning')) return { start: { kind: 'beginning' }, explicit: true };
  const offset = stringFlag(p, 'offset');
  if (offset !== undefined) return { start: { kind: 'offset', offset: intFlag(p, 'offset', 0, Number.MIN_SAFE_INTEGER) }, explicit: true };
  const since = stringFlag(p, 'since');
  if (since !== undefined) return { start: { kind: 'time', timestamp: pointInTime('since', since, Date.now()) }, explicit: true };
  return { start: follow ? { kind: 'end' } : { kind: 'beginning' }, explicit: false };
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
  committed: number;
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
  const { start, explicit } = startOf(p, follow);
  const limit = p.values.count === undefined ? Infinity : intFlag(p, 'count', 0, 0);
  const group = stringFlag(p, 'group');
  if (group === '') throw new UsageError('--group needs a group id.');
  const render = renderer(out.json ? 'json' : (stringFlag(p, 'format') ?? 'value'));
  const onlyPartition = p.values.partition === undefined ? null : intFlag(p, 'partition', 0, 0);

  await withDatabase(file, group === undefined ? { write: false } : { write: true, busyTimeoutMs: busyTimeout(p) }, (db) => consume(db, { topic, follow, start, explicit, limit, group, render, onlyPartition }));
}

interface ConsumeOptions {
  readonly topic: string;
  readonly follow: boolean;
  readonly start: Start;
  readonly explicit: boolean;
  readonly limit: number;
  readonly group: string | undefined;
  readonly render: (r: ShownRecord) => string;
  readonly onlyPartition: number | null;
}

async function consume(db: Database, o: ConsumeOptions): Promise<void> {
  const engine = db.engine;
  const { topic } = o;
  const info = engine.describeTopic(topic);
  if (info === undefined) throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `there is no topic ${topic} in this file: 'onelog topics FILE list' shows the topics.`, { topic });
  if (o.onlyPartition !== null && o.onlyPartition >= info.partitions) {
    throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} has partitions 0 to ${String(info.partitions - 1)}, not ${String(o.onlyPartition)}.`, { topic, partition: o.onlyPartition });
  }
  const coordinator = o.group === undefined ? null : new GroupCoordinator(engine);
  if (coordinator !== null && o.group !== undefined && coordinator.describeGroup(o.group).members.length > 0) {
    throw new OnelogError('NON_EMPTY_GROUP', `group ${o.group} has running members: stop them first, or consume without --group (or with another group).`);
  }
  const committed = o.group === undefined ? [] : engine.fetchOffsets(o.group).filter((c) => c.topic === topic);
  const partitions = o.onlyPartition === null ? Array.from({ length: info.partitions }, (_, i) => i) : [o.onlyPartition];
  const cursors: Cursor[] = partitions.map((partition) => {
    const c = o.explicit ? undefined : committed.find((x) => x.partition === partition);
    const next = c === undefined ? startOffset(engine, topic, partition, o.start) : Math.min(Math.max(c.offset, engine.logStartOffset(topic, partition)), engine.highWatermark(topic, partition));
    return { partition, next, committed: c?.offset ?? -1 };
  });
  // Without --follow the end is where the log ended when we started.
  const ends = new Map(cursors.map((c) => [c.partition, engine.highWatermark(topic, c.partition)]));

  const writer = new StdoutWriter();
  let printed = 0;
  const state = { stopping: false };
  const stop = (): void => {
    state.stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let lastCommit = Date.now();
  const commit = async (): Promise<void> => {
    if (coordinator === null || o.group === undefined) return;
    const offsets = cursors.filter((c) => c.next !== c.committed).map((c) => ({ topic, partition: c.partition, offset: c.next }));
    if (offsets.length === 0) return;
    const { error } = await coordinator.commitOffsets({ groupId: o.group, generationId: -1, memberId: '', offsets });
    if (error !== 'NONE') throw new OnelogError('NON_EMPTY_GROUP', `group ${o.group} got running members (${error}) while this command consumed: its last offsets were not committed.`);
    for (const c of cursors) c.committed = c.next;
    lastCommit = Date.now();
  };

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
        if (state.stopping || printed >= o.limit || writer.closed) break;
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
      if (Date.now() - lastCommit >= COMMIT_INTERVAL_MS) await commit();
      if (state.stopping || printed >= o.limit || writer.closed) break;
      if (progressed) continue;
      if (!o.follow) break;
      await writer.flush(true);
      await waitForAny(engine, topic, cursors, () => state.stopping);
    }
    await writer.end();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  await commit();
}

/** Resolves when any partition has records past its cursor, after a short timeout, or on a signal. */
async function waitForAny(engine: Engine, topic: string, cursors: readonly Cursor[], stopped: () => boolean): Promise<void> {
  if (stopped()) return;
  let wake: () => void = () => undefined;
  const signal = new Promise<void>((resolve) => {
    wake = resolve;
  });
  process.once('SIGINT', wake);
  process.once('SIGTERM', wake);
  try {
    await Promise.race([signal, ...cursors.map((c) => engine.waitForData(topic, c.partition, c.next, FOLLOW_WAIT_MS))]);
  } finally {
    process.off('SIGINT', wake);
    process.off('SIGTERM', wake);
    wake();
  }
}
