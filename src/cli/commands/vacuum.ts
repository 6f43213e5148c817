// `onelog vacuum FILE`: moves data down into free extents and cuts the file to its live size
// (Engine.vacuum), then prints how many extents moved and the file's size before and after. It changes
// nothing else: no retention, no compaction, no record is dropped or rewritten.
import { BUSY_OPTION, busyTimeout, parse } from '../args.ts';
import { withDatabase } from '../open-database.ts';
import type { Output } from '../output.ts';

export const VACUUM_HELP = `Usage: onelog vacuum FILE [options]

Shrinks FILE to its live size: extents in use near the end of the file are copied into free extents
below them (freed by retention, compaction, DeleteRecords or deleted topics), and the file is cut after
the last extent in use. Records keep their offsets and bytes. Readers in other processes may go on
reading meanwhile; a writer in another process waits for each bounded step.

Options:
  --busy-timeout MS    how long to wait for another process's writer lock (default 5000)
  --json               print {"movedExtents","fileSizeBefore","fileSizeAfter"} as one JSON line
  --help               this text`;

export async function vacuumCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(args, { ...BUSY_OPTION }, ['FILE']);
  const file = p.positionals[0]!;
  await withDatabase(file, { write: true, busyTimeoutMs: busyTimeout(p) }, async (db) => {
    const result = await db.engine.vacuum();
    const summary = `moved ${String(result.movedExtents)} extent${result.movedExtents === 1 ? '' : 's'} in ${file}: ${String(result.fileSizeBefore)} bytes before, ${String(result.fileSizeAfter)} bytes after`;
    out.result(summary, { movedExtents: result.movedExtents, fileSizeBefore: result.fileSizeBefore, fileSizeAfter: result.fileSizeAfter });
  });
}
