// Idempotent-producer bookkeeping for one partition, as Kafka's ProducerStateManager keeps it: per producerId
// the epoch and the last five batches' sequence ranges, so a retried batch is acknowledged with its original
// offsets instead of being written twice, and a gap in sequences is rejected. Pure state; no I/O.

import { OnelogError } from '../errors.ts';
import type { ProducerBatchEntry, ProducerMeta } from '../format/metadata.ts';

const KEPT_BATCHES = 5;

export interface ProducerEntry {
  epoch: number;
  batches: ProducerBatchEntry[];
}

export type ProducerCheck =
  | { readonly kind: 'new' }
  | { readonly kind: 'duplicate'; readonly baseOffset: number; readonly lastOffset: number };

function lastSequenceOf(baseSequence: number, recordCount: number): number {
  return (baseSequence + recordCount - 1) % 0x8000_0000;
}

export function checkProducer(
  producers: Map<number, ProducerEntry>,
  producerId: number,
  producerEpoch: number,
  baseSequence: number,
  recordCount: number,
  where: { topic: string; partition: number },
): ProducerCheck {
  const entry = producers.get(producerId);
  if (entry === undefined || baseSequence < 0) return { kind: 'new' };
  if (producerEpoch < entry.epoch) {
    throw new OnelogError('INVALID_PRODUCER_EPOCH', `Producer ${producerId} used epoch ${producerEpoch}, older than its current epoch ${entry.epoch}: this producer was fenced by a newer instance.`, where);
  }
  if (producerEpoch > entry.epoch) return { kind: 'new' };
  const lastSequence = lastSequenceOf(baseSequence, recordCount);
  for (const [first, last, baseOffset, lastOffset] of entry.batches) {
    if (first === baseSequence && last === lastSequence) return { kind: 'duplicate', baseOffset, lastOffset };
  }
  const previous = entry.batches[entry.batches.length - 1];
  if (previous !== undefined && baseSequence !== (previous[1] + 1) % 0x8000_0000) {
    throw new OnelogError(
      'OUT_OF_ORDER_SEQUENCE',
      `Producer ${producerId} sent sequence ${baseSequence} on ${where.topic}-${where.partition}, but ${(previous[1] + 1) % 0x8000_0000} was expected: an earlier batch is missing.`,
      where,
    );
  }
  return { kind: 'new' };
}

/** Records a written batch of an idempotent producer (producerId >= 0 and baseSequence >= 0). */
export function recordProducerBatch(
  producers: Map<number, ProducerEntry>,
  producerId: number,
  producerEpoch: number,
  baseSequence: number,
  baseOffset: number,
  lastOffset: number,
): void {
  if (producerId < 0 || baseSequence < 0) return;
  let entry = producers.get(producerId);
  if (entry === undefined || producerEpoch > entry.epoch) {
    entry = { epoch: producerEpoch, batches: [] };
    producers.set(producerId, entry);
  }
  entry.batches.push([baseSequence, lastSequenceOf(baseSequence, lastOffset - baseOffset + 1), baseOffset, lastOffset]);
  if (entry.batches.length > KEPT_BATCHES) entry.batches.shift();
}

export function producersFromMeta(meta: Readonly<Record<string, ProducerMeta>>): Map<number, ProducerEntry> {
  const map = new Map<number, ProducerEntry>();
  for (const [id, p] of Object.entries(meta)) map.set(Number(id), { epoch: p.epoch, batches: p.batches.map((b) => [...b]) });
  return map;
}

/**
 * The state to checkpoint: only batches below `durableEnd` (the checkpoint's durable tail), so that a retry
 * of a batch whose bytes were lost is written again rather than acknowledged as a duplicate.
 */
export function producersToMeta(map: ReadonlyMap<number, ProducerEntry>, durableEnd: number): Record<string, ProducerMeta> {
  const out: Record<string, ProducerMeta> = {};
  for (const [id, p] of map) {
    const batches = p.batches.filter((b) => b[3] < durableEnd);
    if (batches.length > 0 || p.batches.length === 0) out[String(id)] = { epoch: p.epoch, batches };
  }
  return out;
}
