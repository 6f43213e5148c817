// The metadata blob: topics, partitions with their extent maps and checkpointed tails, producer state,
// committed group offsets and the free-extent list, as UTF-8 JSON. Pure encode/decode with structural
// validation; it does no I/O. A blob that fails validation is reported as CORRUPT_FILE.

import { OnelogError } from '../errors.ts';

/** One extent of a partition: [extent index, first offset stored in it, max timestamp seen in it]. */
export type ExtentEntry = [index: number, firstOffset: number, maxTimestamp: number];

/** Recent batches of one producer on one partition: [firstSequence, lastSequence, baseOffset, lastOffset]. */
export type ProducerBatchEntry = [firstSequence: number, lastSequence: number, baseOffset: number, lastOffset: number];

export interface ProducerMeta {
  readonly epoch: number;
  readonly batches: ProducerBatchEntry[];
}

export interface PartitionMeta {
  readonly uid: number;
  readonly slot: number;
  readonly logStartOffset: number;
  /** Offset after the last batch that was durable when this checkpoint was taken. */
  readonly nextOffset: number;
  /** File position just past that batch (0 while the partition has no extent). */
  readonly tailPosition: number;
  readonly extents: ExtentEntry[];
  readonly producers: Record<string, ProducerMeta>;
}

export interface TopicMeta {
  readonly name: string;
  readonly topicId: string;
  readonly configs: Record<string, string>;
  readonly partitions: PartitionMeta[];
}

export interface GroupOffsetMeta {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  readonly commitTimestamp: number;
}

export interface DatabaseMeta {
  readonly extentCount: number;
  readonly freeExtents: number[];
  readonly metaExtent: number;
  readonly nextPartitionUid: number;
  readonly nextProducerId: number;
  readonly topics: TopicMeta[];
  /** groupId → topic → partition (as a string key) → committed offset. */
  readonly groups: Record<string, Record<string, Record<string, GroupOffsetMeta>>>;
  /**
   * Named JSON documents that layers above the engine keep in the file (consumer-group membership, for
   * one); the engine stores them without interpreting them. Absent in files that never had one.
   */
  readonly documents?: Record<string, unknown>;
}

export function encodeMetadata(meta: DatabaseMeta): Buffer {
  return Buffer.from(JSON.stringify(meta), 'utf8');
}

function fail(what: string, position: number): never {
  throw new OnelogError('CORRUPT_FILE', `The metadata checkpoint at position ${position} is malformed (${what}); the file is damaged. Run \`onelog verify\` and restore from a backup.`, { position });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function checkIntArray(v: unknown, length: number): boolean {
  return Array.isArray(v) && v.length === length && v.every(isInt);
}

/** Parses and structurally validates a metadata blob read from `position`. */
export function decodeMetadata(bytes: Buffer, position: number): DatabaseMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    fail('not JSON', position);
  }
  if (!isObject(raw)) fail('not an object', position);
  const { extentCount, freeExtents, metaExtent, nextPartitionUid, nextProducerId, topics, groups, documents } = raw;
  if (documents !== undefined && !isObject(documents)) fail('documents', position);
  if (!isInt(extentCount) || !isInt(metaExtent) || !isInt(nextPartitionUid) || !isInt(nextProducerId)) fail('counters', position);
  if (!Array.isArray(freeExtents) || !freeExtents.every(isInt)) fail('free extents', position);
  if (!Array.isArray(topics) || !isObject(groups)) fail('topics or groups', position);
  for (const t of topics) {
    if (!isObject(t) || typeof t.name !== 'string' || typeof t.topicId !== 'string' || !isObject(t.configs) || !Array.isArray(t.partitions)) fail('topic', position);
    for (const p of t.partitions) {
      if (!isObject(p)) fail('partition', position);
      if (!isInt(p.uid) || !isInt(p.slot) || !isInt(p.logStartOffset) || !isInt(p.nextOffset) || !isInt(p.tailPosition)) fail('partition fields', position);
      if (!Array.isArray(p.extents) || !p.extents.every((e) => checkIntArray(e, 3))) fail('extent map', position);
      if (!isObject(p.producers)) fail('producers', position);
      for (const pr of Object.values(p.producers)) {
        if (!isObject(pr) || !isInt(pr.epoch) || !Array.isArray(pr.batches) || !pr.batches.every((b) => checkIntArray(b, 4))) fail('producer state', position);
      }
    }
  }
  for (const g of Object.values(groups)) {
    if (!isObject(g)) fail('group', position);
    for (const tp of Object.values(g)) {
      if (!isObject(tp)) fail('group topic', position);
      for (const o of Object.values(tp)) {
        if (!isObject(o) || !isInt(o.offset) || !isInt(o.leaderEpoch) || !isInt(o.commitTimestamp) || !(o.metadata === null || typeof o.metadata === 'string')) fail('group offset', position);
      }
    }
  }
  return raw as unknown as DatabaseMeta;
}

export interface MetadataLimits {
  /** The superblock's extentCount, which the blob must repeat. */
  readonly extentCount: number;
  /** Slots 1 … slotCount-1 can hold partitions. */
  readonly slotCount: number;
  /** Extent index holding the blob itself. */
  readonly blobExtent: number;
  readonly extentSize: number;
  readonly dataStart: number;
}

/**
 * Checks what structural validation cannot: ranges and uniqueness (every extent owned once, slots and uids
 * unique, tails inside their partition's extents). A blob with a valid CRC can still be inconsistent when
 * a file was damaged on purpose or by a bug; this turns that into CORRUPT_FILE instead of a crash later.
 */
export function checkMetadataConsistency(meta: DatabaseMeta, limits: MetadataLimits, position: number): void {
  const { extentCount, slotCount, extentSize, dataStart } = limits;
  if (meta.extentCount !== extentCount || extentCount < 1) fail('extent count differs from the superblock', position);
  if (meta.metaExtent !== limits.blobExtent) fail('meta extent does not hold the blob', position);
  if (meta.nextProducerId < 0 || meta.nextPartitionUid < 1) fail('counters out of range', position);
  const owned = new Set<number>([meta.metaExtent]);
  const own = (index: number): void => {
    if (index < 0 || index >= extentCount || owned.has(index)) fail(`extent ${index} is out of range or owned twice`, position);
    owned.add(index);
  };
  meta.freeExtents.forEach(own);
  const names = new Set<string>();
  const slots = new Set<number>();
  const uids = new Set<number>();
  for (const t of meta.topics) {
    if (names.has(t.name) || !/^[a-zA-Z0-9._-]{1,249}$/.test(t.name)) fail(`topic name ${JSON.stringify(t.name)}`, position);
    names.add(t.name);
    for (const [key, value] of Object.entries(t.configs)) {
      if (typeof value !== 'string') fail(`config ${key} of ${t.name}`, position);
    }
    for (const p of t.partitions) {
      if (p.slot < 1 || p.slot >= slotCount || slots.has(p.slot)) fail(`slot ${p.slot}`, position);
      if (p.uid < 1 || p.uid >= meta.nextPartitionUid || uids.has(p.uid)) fail(`partition uid ${p.uid}`, position);
      slots.add(p.slot);
      uids.add(p.uid);
      if (p.logStartOffset < 0 || p.nextOffset < 0) fail('negative offsets', position);
      let previous = -1;
      for (const [index, firstOffset] of p.extents) {
        own(index);
        if (firstOffset < previous || firstOffset < 0) fail('extent map offsets out of order', position);
        previous = firstOffset;
      }
      const inside = p.extents.some(([index]) => p.tailPosition >= dataStart + index * extentSize && p.tailPosition <= dataStart + (index + 1) * extentSize);
      if (p.extents.length === 0 ? p.tailPosition !== 0 : !inside && p.tailPosition !== 0) fail('tail outside the partition', position);
    }
  }
}
