// `onelog verify FILE`: checks every batch CRC and structural invariant (src/storage/verify.ts) with a
// progress bar on a TTY, and exits 2 listing the positions of damage. Opens the file read-only: it never
// repairs (recovery happens when a writer opens the file).
import { OnelogError } from '../../errors.ts';
import { verifyDatabase } from '../../storage/verify.ts';
import { parse } from '../args.ts';
import { withDatabase } from '../open-database.ts';
import { createProgress } from '../progress.ts';
import { styled, type Output } from '../output.ts';
import { formatBytes } from '../table.ts';

export const VERIFY_HELP = `Usage: onelog verify FILE

Checks FILE read-only: the file header, both superblocks, the newest metadata checkpoint and extent
ownership (as opening does), and for every partition each batch: length, magic, CRC32C, records that
decode, offsets that continue from batch to batch and extent to extent, and the committed tail.
A progress bar is drawn on stderr when it is a terminal.

Exit status: 0 when the file is sound, 2 when damage was found (each printed with its file position).

Options:
  --json   one JSON object: {"file","ok","partitions","batches","records","bytes",
           "damage":[{"position","topic","partition","message"}],"notes":[...]}
  --help   this text`;

export async function verifyCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(args, {}, ['FILE']);
  const file = p.positionals[0]!;
  await withDatabase(file, { write: false }, (db) => {
    const progress = createProgress('verifying', 'bytes');
    const report = verifyDatabase(db.engine, (done, total) => progress.update(done, total));
    progress.end();
    const ok = report.damage.length === 0;
    const summary = `${String(report.partitions)} partition${report.partitions === 1 ? '' : 's'}, ${report.batches.toLocaleString('en-US')} batches, ${report.records.toLocaleString('en-US')} records, ${formatBytes(report.bytes)}`;
    const lines = [
      ...report.damage.map((d) => `${styled('damage', 'red')} at position ${String(d.position)}: ${d.message}`),
      ...report.notes.map((n) => `${styled('note', 'yellow')}: ${n}`),
      ok ? `${styled('ok', 'green')}: ${file} is sound (${summary})` : `${file}: ${String(report.damage.length)} damaged place${report.damage.length === 1 ? '' : 's'} found (${summary})`,
    ];
    out.result(lines.join('\n'), { file, ok, ...report });
    if (!ok) {
      const first = report.damage[0]!;
      throw new OnelogError('CORRUPT_FILE', `${file} is damaged (first at position ${String(first.position)}): restore it from a backup, or export what still reads with 'onelog export'.`, { position: first.position });
    }
  });
}
