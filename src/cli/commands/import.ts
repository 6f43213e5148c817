// `onelog import FILE < in.jsonl`: appends the records of JSON Lines (as `export` writes them) to their
// topics and partitions, keeping keys, values, headers and timestamps; missing topics and partitions are
// created. Offsets are assigned anew. Progress on a TTY.
import { OnelogError } from '../../errors.ts';
import type { Engine } from '../../storage/engine.ts';
import { BUSY_OPTION, busyTimeout, parse, stringFlag } from '../args.ts';
import { BatchAppender } from '../batch-appender.ts';
import { parseRecordLine } from '../format-record.ts';
import { withDatabase } from '../open-database.ts';
import { createProgress } from '../progress.ts';
import { eachLine } from '../stdin.ts';
import type { Output } from '../output.ts';
import { partitionForKey } from '../../client/partitioner.ts';

export const IMPORT_HELP = `Usage: onelog import FILE [options] < in.jsonl

Reads JSON Lines from stdin, as 'onelog export' (or consume --format json) writes them, and appends each
record to its "topic" and "partition" with its key, value, headers and timestamp. Offsets are assigned
by FILE (into an empty topic, records keep the offsets they had when the source started at 0). A topic
that does not exist is created, and grown when a line names a partition beyond its count. Blank lines are
skipped. A progress counter is drawn on stderr when it is a terminal.

Options:
  --topic T           put every record in topic T, whatever its "topic" field says
  --busy-timeout MS   how long to wait for another process's writer lock (default 5000)
  --json              print the summary as one JSON line: {"records","topics"}
  --help              this text`;

async function ensurePartition(engine: Engine, topic: string, partition: number): Promise<number> {
  const info = engine.describeTopic(topic);
  if (info === undefined) return (await engine.createTopic(topic, { partitions: partition + 1 })).partitions;
  if (info.partitions > partition) return info.partitions;
  return (await engine.createPartitions(topic, partition + 1)).partitions;
}

export async function importCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(args, { topic: { type: 'string' }, ...BUSY_OPTION }, ['FILE']);
  const file = p.positionals[0]!;
  const forced = stringFlag(p, 'topic');
  await withDatabase(file, { write: true, busyTimeoutMs: busyTimeout(p) }, async (db) => {
    const engine = db.engine;
    const counts = new Map<string, number>();
    const appender = new BatchAppender(engine, () => undefined);
    const progress = createProgress('importing', 'records');
    let n = 0;
    const handle = async (line: Buffer): Promise<void> => {
      n++;
      const text = line.toString('utf8').trim();
      if (text === '') return;
      const r = parseRecordLine(text, `stdin line ${String(n)}`);
      const topic = forced ?? r.topic;
      if (topic === undefined) throw new OnelogError('INVALID_ARGUMENT', `stdin line ${String(n)}: the record names no "topic": add one, or give --topic T.`);
      let partitions = counts.get(topic);
      if (partitions === undefined || (r.partition ?? 0) >= partitions) {
        partitions = await ensurePartition(engine, topic, r.partition ?? 0);
        counts.set(topic, partitions);
      }
      const partition = r.partition ?? (r.key === null || partitions === 1 ? 0 : partitionForKey(r.key, partitions));
      await appender.add(topic, partition, { key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp ?? Date.now() });
      progress.update(n, null);
    };
    await eachLine(handle);
    await appender.finish();
    progress.end();
    const records = appender.appended;
    out.result(`imported ${records.toLocaleString('en-US')} record${records === 1 ? '' : 's'} into ${String(counts.size)} topic${counts.size === 1 ? '' : 's'}`, { records, topics: [...counts.keys()].sort() });
  });
}
