// `onelog info FILE`: what a database holds: format version, size, free space, topics, partitions,
// records and the oldest/newest timestamps. Opens the file read-only; changes nothing.
import { parse } from '../args.ts';
import { withDatabase } from '../open-database.ts';
import { allPartitionStats, summarize } from '../partition-stats.ts';
import { formatBytes, formatTime, renderFields, renderTable } from '../table.ts';
import type { Output } from '../output.ts';

export const INFO_HELP = `Usage: onelog info FILE

Shows FILE's format version, database id, size, extent size, free space, and its topics with their
partitions, records and oldest/newest record timestamps. Read-only.

Options:
  --json   one JSON object on one line: {"file","formatVersion","databaseId","fileSize","extentSize",
           "extents","freeExtents","freeBytes","topics","partitions","records","oldestTimestamp",
           "newestTimestamp","topicList":[{"name","partitions","records","bytes",...}]}
  --help   this text`;

export async function infoCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(args, {}, ['FILE']);
  const file = p.positionals[0]!;
  await withDatabase(file, { write: false }, (db) => {
    const s = db.engine.stats();
    const stats = allPartitionStats(db.engine);
    const topics = db.engine.listTopics();
    const topicList = topics.map((t) => summarize(t.name, stats.filter((x) => x.topic === t.name)));
    const all = summarize('', stats);
    const json = {
      file,
      formatVersion: s.formatVersion,
      databaseId: s.databaseId,
      fileSize: s.fileSize,
      extentSize: s.extentSize,
      extents: s.extentCount,
      freeExtents: s.freeExtents,
      freeBytes: s.freeExtents * s.extentSize,
      topics: topics.length,
      partitions: stats.length,
      records: all.records,
      oldestTimestamp: all.oldestTimestamp,
      newestTimestamp: all.newestTimestamp,
      topicList,
    };
    const fields: [string, string][] = [
      ['file', file],
      ['format version', String(s.formatVersion)],
      ['database id', s.databaseId],
      ['size', formatBytes(s.fileSize)],
      ['extent size', formatBytes(s.extentSize)],
      ['extents', `${String(s.extentCount)} (${String(s.freeExtents)} free, ${formatBytes(s.freeExtents * s.extentSize)})`],
      ['topics', String(topics.length)],
      ['partitions', String(stats.length)],
      ['records', all.records.toLocaleString('en-US')],
      ['oldest record', formatTime(all.oldestTimestamp)],
      ['newest record', formatTime(all.newestTimestamp)],
    ];
    const table =
      topicList.length === 0
        ? ''
        : `\n\n${renderTable(
            ['topic', 'partitions', 'records', 'bytes', 'oldest', 'newest'],
            topicList.map((t) => [t.name, String(t.partitions), String(t.records), formatBytes(t.bytes), formatTime(t.oldestTimestamp), formatTime(t.newestTimestamp)]),
          )}`;
    out.result(`${renderFields(fields)}${table}`, json);
  });
}
