// `onelog compact FILE`: runs log compaction now (Engine.runCompaction: for topics whose cleanup.policy
// includes compact, sealed extents are rewritten keeping the latest record per key, offsets unchanged)
// and prints what it rewrote per partition. It changes nothing else: no retention, no config changes.
import { BUSY_OPTION, busyTimeout, parse } from '../args.ts';
import { withDatabase } from '../open-database.ts';
import type { Output } from '../output.ts';
import { renderTable } from '../table.ts';

export const COMPACT_HELP = `Usage: onelog compact FILE [options]

Compacts FILE now: in every partition of a topic with cleanup.policy compact, the sealed extents older
than min.compaction.lag.ms are rewritten keeping only the latest record of each key (offsets keep their
values, with gaps between them); tombstones older than delete.retention.ms are dropped. The extent being
written is never compacted. A process that writes to FILE also does this on its own.

Options:
  --busy-timeout MS    how long to wait for another process's writer lock (default 5000)
  --json               print {"rewrittenExtents","removedRecords","steps","longestStepMs","partitions":
                       [{"topic","partition","rewrittenExtents","writtenExtents","removedRecords"}]}
                       as one JSON line (steps: how many bounded steps it took under the writer lock)
  --help               this text`;

export async function compactCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(args, { ...BUSY_OPTION }, ['FILE']);
  const file = p.positionals[0]!;
  await withDatabase(file, { write: true, busyTimeoutMs: busyTimeout(p) }, async (db) => {
    const result = await db.engine.runCompaction();
    const summary = `removed ${String(result.removedRecords)} record${result.removedRecords === 1 ? '' : 's'}, rewriting ${String(result.rewrittenExtents)} extent${result.rewrittenExtents === 1 ? '' : 's'} in ${file} (${String(result.steps)} step${result.steps === 1 ? '' : 's'}, the longest ${result.longestStepMs.toFixed(1)} ms)`;
    const rows = result.partitions.map((r) => [r.topic, String(r.partition), String(r.rewrittenExtents), String(r.writtenExtents), String(r.removedRecords)]);
    const table = rows.length === 0 ? '' : `\n\n${renderTable(['topic', 'partition', 'rewritten extents', 'written extents', 'removed records'], rows)}`;
    out.result(`${summary}${table}`, {
      rewrittenExtents: result.rewrittenExtents,
      removedRecords: result.removedRecords,
      steps: result.steps,
      longestStepMs: result.longestStepMs,
      partitions: result.partitions,
    });
  });
}
