// `onelog dump FILE TOPIC`: lists a topic's batches as stored, with their positions and header fields
// (and, with --records, their records), for debugging. Read-only; a damaged batch is shown, not fixed.
import { decodeRecords, type BatchHeader } from '../../format/record-batch.ts';
import { OnelogError } from '../../errors.ts';
import { walkPartition } from '../../storage/verify.ts';
import { boolFlag, intFlag, parse } from '../args.ts';
import { recordJson } from '../format-record.ts';
import { withDatabase } from '../open-database.ts';
import { styled, type Output } from '../output.ts';
import { StdoutWriter } from '../stdout-writer.ts';
import { formatTime } from '../table.ts';

export const DUMP_HELP = `Usage: onelog dump FILE TOPIC [options]

Shows TOPIC's batches as stored: file position, size, offsets, record count, CRC (and whether it
matches), compression, timestamp type and timestamps, producer id/epoch/sequence, flags.

Options:
  --partition N   only partition N (default: all)
  --records       also print each batch's records (as JSON lines, indented)
  --json          one JSON object per batch: {"topic","partition","position","size","crcOk",
                  "header":{...},"records":[...] (with --records)}; damage as {"damage":{...}}
  --help          this text`;

function flags(h: BatchHeader): string {
  return [h.isTransactional ? 'transactional' : '', h.isControl ? 'control' : ''].filter((f) => f !== '').join(',') || '-';
}

export async function dumpCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(args, { partition: { type: 'string' }, records: { type: 'boolean' } }, ['FILE', 'TOPIC']);
  const [file, topic] = p.positionals as [string, string];
  const only = p.values.partition === undefined ? null : intFlag(p, 'partition', 0, 0);
  const withRecords = boolFlag(p, 'records');
  await withDatabase(file, { write: false }, async (db) => {
    const layout = db.engine.layout();
    const parts = layout.partitions.filter((x) => x.topic === topic && (only === null || x.partition === only));
    if (parts.length === 0) throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `there is no ${only === null ? `topic ${topic}` : `partition ${topic}-${String(only)}`} in this file.`, { topic });
    const w = new StdoutWriter();
    for (const part of parts) {
      if (!out.json) w.write(`${styled(`${topic}-${String(part.partition)}`, 'bold')}  logStartOffset ${String(part.logStartOffset)}  highWatermark ${String(part.nextOffset)}  extents ${part.extents.map((e) => String(e[0])).join(',') || '-'}\n`);
      const damage = walkPartition(db.engine, layout, part, (b) => {
        const h = b.header;
        const records = withRecords && b.crcOk ? decodeRecords(b.bytes.subarray(b.at, b.at + b.size), 0).map((r) => recordJson({ topic, partition: part.partition, ...r })) : [];
        if (out.json) {
          w.write(`{"topic":${JSON.stringify(topic)},"partition":${String(part.partition)},"position":${String(b.position)},"size":${String(b.size)},"crcOk":${String(b.crcOk)},"header":${JSON.stringify(h)}${withRecords ? `,"records":[${records.join(',')}]` : ''}}\n`);
        } else {
          w.write(
            `  @${String(b.position)}  offsets ${String(h.baseOffset)}-${String(h.baseOffset + h.lastOffsetDelta)}  records ${String(h.recordCount)}  size ${String(b.size)}  crc ${h.crc.toString(16).padStart(8, '0')} ${b.crcOk ? 'ok' : styled('BAD', 'red')}  ${h.compression}  ${h.timestampType}  ${formatTime(h.baseTimestamp)}..${formatTime(h.maxTimestamp)}  producer ${String(h.producerId)}/${String(h.producerEpoch)}/${String(h.baseSequence)}  epoch ${String(h.partitionLeaderEpoch)}  flags ${flags(h)}\n`,
          );
          for (const r of records) w.write(`    ${r}\n`);
        }
      });
      for (const d of damage) w.write(out.json ? `${JSON.stringify({ damage: d })}\n` : `  ${styled('damage', 'red')} at position ${String(d.position)}: ${d.message}\n`);
      await w.flush();
    }
    await w.end();
  });
}
