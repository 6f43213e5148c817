// `onelog export FILE [--topic T]`: writes every record (of every topic, or the named ones) to stdout as
// JSON Lines that `onelog import` reads back, with progress on a TTY. Read-only.
import { OnelogError } from '../../errors.ts';
import { batchTotalSize, decodeRecordsInto, readBatchHeader, type RecordHeader } from '../../format/record-batch.ts';
import { listFlag, parse } from '../args.ts';
import { recordJson } from '../format-record.ts';
import { withDatabase } from '../open-database.ts';
import { createProgress } from '../progress.ts';
import { StdoutWriter } from '../stdout-writer.ts';

export const EXPORT_HELP = `Usage: onelog export FILE [--topic T]... > out.jsonl

Writes the records of every topic (or of each --topic T) to stdout, one JSON object per line, partition
by partition in offset order:
  {"topic","partition","offset","timestamp","key","value","headers":[{"key","value"}]}
key, value and header values are UTF-8 text, or base64 marked by "keyEncoding"/"valueEncoding":"base64";
null stays null. 'onelog import' reads this back (the output is the same as consume --format json).
A progress bar is drawn on stderr when it is a terminal. Read-only.

Options:
  --topic T   export only T (repeatable)
  --help      this text`;

export async function exportCommand(args: readonly string[]): Promise<void> {
  const p = parse(args, { topic: { type: 'string', multiple: true } }, ['FILE']);
  const file = p.positionals[0]!;
  const wanted = listFlag(p, 'topic');
  await withDatabase(file, { write: false }, async (db) => {
    const engine = db.engine;
    for (const t of wanted) {
      if (engine.describeTopic(t) === undefined) throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `there is no topic ${t} in this file: 'onelog topics FILE list' shows the topics.`, { topic: t });
    }
    const topics = engine.listTopics().filter((t) => wanted.length === 0 || wanted.includes(t.name));
    const parts = topics.flatMap((t) => Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.name, partition, from: engine.logStartOffset(t.name, partition), to: engine.highWatermark(t.name, partition) })));
    const total = parts.reduce((n, x) => n + x.to - x.from, 0);
    const progress = createProgress('exporting', 'records');
    const w = new StdoutWriter();
    let done = 0;
    for (const part of parts) {
      let next = part.from;
      const visitor = {
        record(offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[] | null): void {
          if (offset < next || offset >= part.to) return;
          w.write(`${recordJson({ topic: part.topic, partition: part.partition, offset, timestamp, key, value, headers })}\n`);
          done++;
        },
      };
      while (next < part.to && !w.closed) {
        const r = engine.read(part.topic, part.partition, next, { maxBytes: 1024 * 1024 });
        if (r.records.length === 0) break;
        for (let pos = 0; pos < r.records.length; pos += batchTotalSize(r.records, pos)) {
          const h = readBatchHeader(r.records, pos);
          if (!h.isControl) decodeRecordsInto(r.records, pos, visitor);
          next = Math.max(next, h.baseOffset + h.lastOffsetDelta + 1);
        }
        progress.update(done, total);
        await w.flush();
      }
    }
    await w.end();
    progress.end();
  });
}
