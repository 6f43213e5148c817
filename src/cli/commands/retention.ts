// `onelog retention FILE`: runs retention now (Engine.runRetention: whole sealed extents past each topic's
// retention.ms / retention.bytes are freed and logStartOffset advances) and prints what it freed per
// partition. It changes nothing else: no compaction, no vacuum, no config changes.
import { BUSY_OPTION, busyTimeout, parse } from '../args.ts';
import { withDatabase } from '../open-database.ts';
import type { Output } from '../output.ts';
import { renderTable } from '../table.ts';

export const RETENTION_HELP = `Usage: onelog retention FILE [options]

Runs retention on FILE now: in every partition, whole sealed extents holding only records past the
topic's retention.ms or beyond its retention.bytes are freed for reuse and the log start advances.
A process that writes to FILE also does this on its own (after an extent fills, and every 5 minutes).

Options:
  --busy-timeout MS    how long to wait for another process's writer lock (default 5000)
  --json               print {"freedExtents","partitions":[{"topic","partition","freedExtents",
                       "logStartOffset"}]} as one JSON line
  --help               this text`;

export async function retentionCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(args, { ...BUSY_OPTION }, ['FILE']);
  const file = p.positionals[0]!;
  await withDatabase(file, { write: true, busyTimeoutMs: busyTimeout(p) }, async (db) => {
    const result = await db.engine.runRetention();
    const partitions = result.partitions.map((r) => ({ topic: r.topic, partition: r.partition, freedExtents: r.freedExtents, logStartOffset: r.logStartOffset }));
    const summary = `freed ${String(result.freedExtents)} extent${result.freedExtents === 1 ? '' : 's'} in ${file}`;
    const table = partitions.length === 0 ? '' : `\n\n${renderTable(['topic', 'partition', 'freed extents', 'log start offset'], partitions.map((r) => [r.topic, String(r.partition), String(r.freedExtents), String(r.logStartOffset)]))}`;
    out.result(`${summary}${table}`, { freedExtents: result.freedExtents, partitions });
  });
}
