// The storage engine: one database file holding topics, partitions (as chains of extents of Kafka
// RecordBatch v2 bytes), committed group offsets and producer state. It owns the write path (writer lock,
// group commit, checkpoints, recovery) and the read path (whole batches by offset). It does no network and
// no record-level API work: the client layer builds on it.
//
// Invariants (each is relied on by recovery or by readers in other processes):
//  I1. An append is acknowledged only after an fdatasync that began after its bytes were written
//      (sync 'batch'/'always'); tail slots are published only after that fdatasync.
//  I2. Readers never read past a partition's committed tail (the published slot, or this handle's own
//      committed state), so a batch still being written is never visible.
//  I3. A partition's new tail extent is zero: reused extents are zeroed and the zeros made durable before a
//      checkpoint names them; extents past the logical end of the file are zeroed by recovery. A batch is
//      written into an extent only after the checkpoint naming it was written, and acknowledged only after
//      an fdatasync covering both. Recovery therefore never meets stale or foreign bytes as a valid batch.
//  I4. An extent freed by checkpoint k is not zeroed or reused before checkpoint k is durable.
//  I5. A checkpoint writes the metadata blob and then a superblock with a higher sequence: over its twin
//      when the current superblock is durable, over the current one when this handle wrote it since the
//      last fdatasync (nothing acknowledged depends on it yet). It records durable tails only. The newest
//      superblock whose blob checks out names the state, so a torn checkpoint leaves a durable one in force.
//  I6. Recovery (first opener, or a writer finding a dead writer's mark) starts at each partition's
//      checkpointed tail, accepts batches whose offsets continue exactly and whose CRC matches, crossing
//      into the partition's next extent only where an extent ended cleanly, cuts at the first batch that
//      fails, and zeroes everything after the cut.
//  I7. Retention and DeleteRecords free only whole extents at the head of a partition's log, never its last
//      one, nor one holding the durable end a checkpoint records (an fdatasync first moves that end on):
//      the checkpoint's tail lies in a kept extent and logStartOffset (the first kept extent's first
//      offset, or higher) never passes the checkpointed nextOffset. Freeing is a metadata checkpoint, so a
//      crash leaves the old or the new extent map, never a leaked extent (free + owned = extentCount).
//  I8. Compaction rewrites only a partition's leading sealed extents before the one holding the durable
//      end (so it never reads an unacknowledged record, never touches the tail, and the checkpoint's tail
//      stays in a kept extent), keeping every kept record's offset; logStartOffset, nextOffset and producer
//      state are unchanged. A rewrite spans steps: its output extents are taken from the free list, not
//      zeroed but ended by a zero batch header after their last batch (they are never a tail, so nothing
//      scans past it), and listed free by every checkpoint until the one that swaps them for the sources,
//      and they are written and fdatasynced before that checkpoint, which frees the sources (I4); so a
//      crash leaves the old or the new extents in force and leaks none. A rewrite goes on only while its
//      sources still lie where it left them, and is given up when another handle's metadata is loaded;
//      vacuum never cuts the file below an output extent. Readers elsewhere retry when the metadata changed.
//  I9. Vacuum moves a used extent only into a free extent below it whose freeing checkpoint is durable (I4):
//      a partition's extent is copied whole (its zeros past the tail included, so I3 holds for the copy)
//      and fdatasynced before the one checkpoint that names the copy and frees the original; the metadata
//      extent moves by a checkpoint writing its blob into the new one. It moves nothing while an fdatasync
//      of this handle's appends is in flight, and it first makes pending appends durable, so no tail moves
//      under an unpublished write. The file is cut only after a durable checkpoint whose extentCount ends
//      at the cut (no metadata names an extent past it); a reader holding older metadata sees the metadata
//      sequence change, so what it read from a moved or cut extent is discarded and read again (I2 holds).

import { randomUUID } from 'node:crypto';
import { OnelogError } from '../errors.ts';
import { type CompressionType } from '../format/compression.ts';
import {
  DATA_START,
  DEFAULT_EXTENT_SIZE,
  FORMAT_VERSION,
  HEADER_SIZE,
  LOCK_OPEN,
  MAX_EXTENT_SIZE,
  MIN_EXTENT_SIZE,
  SLOT_COUNT,
  SLOT_SIZE,
  SUPERBLOCK_POSITIONS,
  SUPERBLOCK_USED,
  decodeCommitHeader,
  decodeFileHeader,
  decodeSuperblock,
  decodeTailSlot,
  encodeCommitHeader,
  encodeFileHeader,
  encodeSuperblock,
  encodeTailSlot,
  slotPosition,
  type CommitHeader,
  type FileHeader,
  type Superblock,
} from '../format/file-layout.ts';
import { crc32c } from '../format/crc32c.ts';
import { checkMetadataConsistency, decodeMetadata, encodeMetadata, type DatabaseMeta, type ExtentEntry, type GroupOffsetMeta } from '../format/metadata.ts';
import {
  RECORD_BATCH_OVERHEAD,
  batchTotalSize,
  decodeRecords,
  encodeBatch,
  readBatchHeader,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  verifyBatchCrc,
  type RecordInput,
} from '../format/record-batch.ts';
import { CombiningFile } from './combining-file.ts';
import type { FileSystem, StorageFile } from './file-layer.ts';
import { nodeFileSystem } from './node-file-layer.ts';
import { dropsRecords, foldKeys, keptBatch, type KeepRecord } from './compaction-filter.ts';
import { KeyOffsetMap } from './key-offset-map.ts';
import { extentDataEnd, extentStart, locate, positionInExtent, readBatches, scanBatches, tailListIndex, type Geometry } from './partition-log.ts';
import { checkProducer, producersFromMeta, producersToMeta, recordProducerBatch, type ProducerEntry } from './producer-state.ts';
import { topicCompression, topicConfig, validatePartitionCount, validateTopicConfigs, validateTopicName } from './topic-rules.ts';
import { WriterLock } from './writer-lock.ts';

export type SyncMode = 'always' | 'batch' | 'none';

export interface EngineOptions {
  /** When an append is acknowledged: after its own fdatasync, after a shared one (default), or at once. */
  readonly sync?: SyncMode;
  /** Appends arriving while an fdatasync is in flight wait at most this long for the next one (ms); a full group (FULL_GROUP_BYTES) does not wait. */
  readonly groupCommitWindowMs?: number;
  /** How long a writer waits for the writer lock before OnelogBusyError (ms). */
  readonly busyTimeoutMs?: number;
  /** Create the database when the file does not exist (default true). */
  readonly create?: boolean;
  readonly readOnly?: boolean;
  /** Extent size for a new database (power of two, 64 KiB to 1 GiB; default 4 MiB). */
  readonly extentSize?: number;
  /** A checkpoint is taken after this many appended bytes, bounding recovery work (default 64 MiB). */
  readonly checkpointBytes?: number;
  /** How often a follow-read polls for commits made by other processes (ms, default 10). */
  readonly pollIntervalMs?: number;
  /** Database-wide topic config defaults, overriding Kafka's. */
  readonly topicDefaults?: Readonly<Record<string, string>>;
  /**
   * How often a handle open for writing looks for extents that retention can free (ms, default 300000, as
   * Kafka's log.retention.check.interval.ms); retention also runs after every extent a partition fills.
   */
  readonly retentionCheckIntervalMs?: number;
  readonly fileSystem?: FileSystem;
  readonly clock?: () => number;
}

export interface TopicInfo {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface AppendOptions {
  readonly compression?: CompressionType;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
}

export interface AppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The broker time stamped on the batch for LogAppendTime topics, else -1. */
  readonly logAppendTime: number;
  readonly logStartOffset: number;
}

export interface ReadOptions {
  /** Byte budget; at least one whole batch is returned even when larger (default 1 MiB). */
  readonly maxBytes?: number;
}

export interface ReadResult {
  /** Whole RecordBatch v2 batches, concatenated exactly as stored. */
  readonly records: Buffer;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Offset to read next (the requested offset when nothing was returned). */
  readonly nextOffset: number;
}

/** A partition and the offset a waiter wants its highWatermark to pass (waitForAny). */
export interface DataWaitTarget {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface OffsetForTimestamp {
  readonly offset: number;
  readonly timestamp: number;
}

export interface GroupOffsetCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch?: number;
  readonly metadata?: string | null;
}

export interface GroupOffset extends GroupOffsetMeta {
  readonly topic: string;
  readonly partition: number;
}

/** What retention freed in one partition, and where its log starts now. */
export interface PartitionRetention {
  readonly topic: string;
  readonly partition: number;
  readonly freedExtents: number;
  readonly logStartOffset: number;
}

/** What `Engine.runRetention()` freed: extents in all, and per partition that lost extents. */
export interface RetentionResult {
  readonly freedExtents: number;
  readonly partitions: readonly PartitionRetention[];
}

/** One bounded retention step; `more` when it stopped at its extent budget with work left. */
interface RetentionStep {
  readonly partitions: PartitionRetention[];
  readonly more: boolean;
}

/** What compaction did in one partition: extents rewritten (and written in their place), records dropped. */
export interface PartitionCompaction {
  readonly topic: string;
  readonly partition: number;
  readonly rewrittenExtents: number;
  readonly writtenExtents: number;
  readonly removedRecords: number;
}

/** What `Engine.runCompaction()` did, in all and per partition it changed. */
export interface CompactionResult {
  readonly rewrittenExtents: number;
  readonly removedRecords: number;
  /** The bounded steps it took, and the longest time one of them held the writer lock (ms). */
  readonly steps: number;
  readonly longestStepMs: number;
  readonly partitions: readonly PartitionCompaction[];
}

/** What `Engine.vacuum()` did: extents moved down, and the file's size before and after. */
export interface VacuumResult {
  readonly movedExtents: number;
  readonly fileSizeBefore: number;
  readonly fileSizeAfter: number;
}

/**
 * One bounded vacuum step: extents moved; `more` when it stopped at its budget, `blocked` when it waited
 * for this handle's in-flight fdatasync and did nothing.
 */
interface VacuumStep {
  readonly moved: number;
  readonly more: boolean;
  readonly blocked: boolean;
}

/** One bounded compaction step; `more` when it changed something, so another step may find more. */
interface CompactionStep {
  readonly partitions: PartitionCompaction[];
  readonly more: boolean;
  /** A rewrite waits for a background fdatasync: the next step should not follow at once. */
  readonly waiting: boolean;
}

/** What a compaction step did in one partition, tallied as it goes. */
type CompactionProgress = { -readonly [K in keyof PartitionCompaction]: PartitionCompaction[K] };

/** An extent of a partition named by its physical index and first offset together (see CompactionPass). */
type ExtentRef = readonly [index: number, firstOffset: number];

/** A place in a partition's log: an extent and a byte position in the file inside it. */
interface LogCursor {
  readonly ref: ExtentRef;
  readonly position: number;
}

/**
 * A partition's compaction pass, kept between its steps in memory only (dropped when the partition is
 * found clean, when another handle's metadata is loaded, or when the topic is deleted or no longer
 * compacted; a reopened handle starts over). An extent is named by its physical index and first offset together, so a
 * freed and reused extent, or one vacuum moved, is never mistaken for the one a cursor meant: an unknown
 * cursor starts over from the first extent.
 */
interface CompactionPass {
  /** Latest offset per key over the data folded in so far. */
  latest: KeyOffsetMap;
  /** Where the data not yet folded into `latest` begins; null: at the first extent. */
  scanNext: LogCursor | null;
  /** Where the data not yet found to hold nothing to drop begins; null: at the first extent. */
  cleanNext: LogCursor | null;
  /** logStartOffset when the clean cursor last started over (records below a new one are droppable). */
  logStartOffset: number;
  /** Earliest time a tombstone kept in the data found clean becomes droppable. */
  tombstoneDue: number;
  rewrite: Rewrite | null;
}

/** A rewrite in progress: consecutive source extents, and the reserved output extents their kept bytes went to. */
interface Rewrite {
  /** The sources so far, the last one being read; they must still lie consecutively in the extent list. */
  readonly sources: ExtentRef[];
  /** Position of the next batch to read in the last source. */
  position: number;
  readonly outputs: RewriteOutput[];
  removedRecords: number;
  /** #syncsBegun at its last write: the swap waits for a completed fdatasync numbered above it. */
  writtenBeforeSync: number;
  /** Every source was read: only the swap is left. */
  complete: boolean;
  /** Steps in a row that stopped to let a background fdatasync make freed extents reusable. */
  deferrals: number;
}

interface RewriteOutput {
  readonly index: number;
  /** Bytes written into the extent so far. */
  size: number;
  readonly firstOffset: number;
  maxTimestamp: number;
}

/** One partition's place in the file, as `Engine.layout()` reports it for inspection tools. */
export interface PartitionLayout {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  /** Committed end: the highWatermark and the file position just past the last committed batch. */
  readonly nextOffset: number;
  readonly tailPosition: number;
  readonly extents: readonly ExtentEntry[];
}

/** The file's geometry and every partition's extents (read-only; for `onelog verify` and `onelog dump`). */
export interface DatabaseLayout {
  readonly dataStart: number;
  readonly extentSize: number;
  readonly partitions: readonly PartitionLayout[];
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly uid: number;
  readonly slot: number;
  logStartOffset: number;
  extents: ExtentEntry[];
  /** Committed (durable, visible) end: offset and file position. */
  nextOffset: number;
  tailPosition: number;
  /** Written end, ahead of the committed end while an fdatasync is pending (valid under the lock). */
  writeNextOffset: number;
  writeTailPosition: number;
  /** End as of the last completed fdatasync: what a checkpoint records. */
  durableNextOffset: number;
  durableTailPosition: number;
  producers: Map<number, ProducerEntry>;
  /** The maxTimestamp of the first batch in the tail extent, once read or written (segment.ms rolls from it). */
  rolledFrom: { readonly extent: number; readonly timestamp: number } | null;
}

interface TopicState {
  readonly name: string;
  readonly topicId: string;
  configs: Record<string, string>;
  partitions: PartitionState[];
}

interface AppendRequest {
  readonly kind: 'append';
  readonly topic: string;
  readonly partition: number;
  readonly batch: Buffer;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (e: unknown) => void;
}

interface MetaRequest {
  readonly kind: 'meta';
  /** Sync at once after the checkpoint instead of joining the next group commit (close does this). */
  readonly syncNow?: boolean;
  /**
   * `apply` writes a checkpoint itself when it changes metadata (compaction and vacuum steps): none is written after
   * it, and when it wrote none the request resolves at once, with nothing to make durable.
   */
  readonly checkpointsItself?: boolean;
  readonly apply: () => unknown;
  readonly resolve: (r: unknown) => void;
  readonly reject: (e: unknown) => void;
}

type WriteRequest = AppendRequest | MetaRequest;

interface Pending {
  readonly partition: PartitionState | null;
  readonly nextOffset: number;
  readonly tailPosition: number;
  readonly settle: () => void;
  readonly fail: (e: unknown) => void;
}

const DEFAULT_CHECKPOINT_BYTES = 64 * 1024 * 1024;
/**
 * Append bytes that make a full group: its fdatasync starts as soon as none is in flight, without waiting
 * for the rest of a burst of appends or for the group-commit window (as a Kafka producer sends a full batch
 * before linger.ms).
 */
const FULL_GROUP_BYTES = 256 * 1024;
const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 300_000;
/** A retention step frees at most this many extents: one checkpoint, well under 50 ms under the lock. */
const RETENTION_STEP_EXTENTS = 64;
/**
 * A compaction step works (reading chunks, folding keys, checking and rewriting batches) until this many
 * milliseconds have passed, found at the first batch end after each COMPACTION_CHECK_BYTES of a chunk (so a
 * step overruns by at most that much work, however large the chunk); its pass carries over to the next step
 * (CompactionPass). It never waits for an fdatasync (a swap waits for one begun in the background), so
 * with a swap's checkpoint a step stays well under 50 ms under the lock.
 */
const COMPACTION_STEP_MS = 5;
/** How long the next compaction step waits when a rewrite waits for a background fdatasync (ms). */
const COMPACTION_SYNC_WAIT_MS = 1;
/**
 * How many steps in a row a rewrite waits for freed extents to become reusable through background
 * fdatasyncs (a checkpoint written meanwhile, as appends sealing extents write, defers that) before it
 * makes them reusable by an fdatasync of its own.
 */
const COMPACTION_MAX_DEFERRALS = 8;
/** Compaction reads a partition's data in chunks of whole batches of about this many bytes. */
const COMPACTION_READ_BYTES = 256 * 1024;
/** A compaction step looks at the clock after each batch that ends this many bytes or more past its last look. */
const COMPACTION_CHECK_BYTES = 32 * 1024;
/**
 * After a compaction step that appends waited behind, the next step waits this many times the step's own
 * duration, so writers keep about ten elevenths of the writer lock while compaction runs (Kafka throttles
 * its cleaner's I/O for the same reason). Without appends, steps follow each other at once.
 */
const COMPACTION_PAUSE_FACTOR = 10;
/** A vacuum step moves at most this many extents (each copied whole and fdatasynced under the lock: about 15 ms for 4 MiB). */
const VACUUM_STEP_EXTENTS = 1;
/** Vacuum copies an extent in chunks of at most this many bytes. */
const VACUUM_COPY_CHUNK = 1024 * 1024;
/** A read retries this many times while the metadata changes under it, then fails with BUSY. */
const MAX_READ_ATTEMPTS = 16;

function noop(): void {
  // Settling a durability mark needs no action.
}
const MAX_METADATA_RETRIES = 5;

/**
 * Freezes a JSON value and everything in it, in place, and returns it. Documents are kept frozen so that a
 * read-only check may be handed the stored value itself instead of a copy.
 */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function mergeDefaults(defaults: Readonly<Record<string, string>> | undefined, configs: Readonly<Record<string, string>>): Record<string, string> {
  return { ...defaults, ...configs };
}

export class Engine {
  readonly path: string;
  readonly #file: CombiningFile;
  readonly #header: FileHeader;
  readonly #geometry: Geometry;
  readonly #options: EngineOptions;
  readonly #sync: SyncMode;
  readonly #clock: () => number;
  readonly #lock: WriterLock;

  // Metadata state (the last loaded or written checkpoint plus this handle's changes under the lock).
  #superblock!: Superblock;
  #superblockSlot = 0;
  #metaNext = 0;
  #extentCount = 0;
  #freeExtents: number[] = [];
  #freedSinceCheckpoint: number[] = [];
  #freedAwaitingSync: number[] = [];
  /**
   * Whether the current superblock is durable: 'durable' (a checkpoint may overwrite its twin), 'pending'
   * (written by this handle since the last fdatasync, so nothing acknowledged depends on it yet and the
   * next checkpoint overwrites it in place), or 'unknown' (written by another handle: sync first).
   */
  #superblockState: 'durable' | 'pending' | 'unknown' = 'unknown';
  /** Incremented by every superblock write or load; a sync that began at the current epoch makes it durable. */
  #writeEpoch = 0;
  #metaExtent = 0;
  #nextPartitionUid = 1;
  #nextProducerId = 0;
  #topics = new Map<string, TopicState>();
  #byUid = new Map<number, PartitionState>();
  #groups: Record<string, Record<string, Record<string, GroupOffsetMeta>>> = {};
  /** Named documents by key; each value is frozen (deepFreeze), so it is never changed in place. */
  #documents: Record<string, unknown> = {};

  // Commit header as last seen or written by this handle.
  #commitSequence = 0;
  #metaSequence = 0;

  // Writer state.
  #queue: WriteRequest[] = [];
  #pending: Pending[] = [];
  #pumpScheduled = false;
  /** Set while #pumpSteps runs (an enqueue from inside it must not pump again). */
  #pumping = false;
  /** Bytes of the appends queued since the queue was last drained, and of those written but not yet synced. */
  #queuedBytes = 0;
  #pendingBytes = 0;
  #acquiring = false;
  #syncInFlight = false;
  #syncJustCompleted = false;
  #arrivedDuringSync = false;
  #releaseScheduled = false;
  #backgroundSync = false;
  #syncTimer: NodeJS.Timeout | null = null;
  #lastSyncStart = 0;
  /**
   * fdatasyncs begun by this handle, and the highest-numbered one completed: a write made while
   * #syncsBegun was n is durable once #syncedThrough > n.
   */
  #syncsBegun = 0;
  #syncedThrough = 0;
  #bytesSinceCheckpoint = 0;
  #failure: OnelogError | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;

  // Retention: the timer of a handle open for writing, and whether a step is queued.
  #retentionTimer: NodeJS.Timeout | null = null;
  #retentionQueued = false;
  // Compaction: whether a step is queued, and per partition uid the compactable end (an extent's first
  // offset) a step last found nothing to drop below, and when the earliest tombstone kept then is due.
  #compactionQueued = false;
  /** Appends queued so far, and as of the last compaction step (compaction pauses while writers are active). */
  #appendsQueued = 0;
  #appendsAtCompactionStep = 0;
  /** runCompaction() calls in progress: while one runs, it alone paces compaction (no scheduled steps). */
  #compactionRuns = 0;
  #compactedClean = new Map<number, { end: number; tombstoneDue: number }>();
  #compactionPasses = new Map<number, CompactionPass>();
  /** The buffer compaction reads its chunks into (allocated once: a step allocates no chunk of its own). */
  #compactionScratch: Buffer | undefined;
  /** Output extents of rewrites in progress: taken from the free list, yet listed free by every checkpoint until their swap. */
  #compactionReserved = new Set<number>();
  /** Set by a compaction step that left a rewrite waiting for a background fdatasync. */
  #compactionWaiting = false;

  // Follow-reads.
  #waiters = new Set<() => void>();
  #pollTimer: NodeJS.Timeout | null = null;
  #positionHints = new Map<string, number>();

  private constructor(path: string, file: StorageFile, header: FileHeader, options: EngineOptions) {
    this.path = path;
    this.#file = new CombiningFile(file);
    this.#header = header;
    this.#geometry = { dataStart: header.dataStart, extentSize: header.extentSize };
    this.#options = options;
    this.#sync = options.sync ?? 'batch';
    this.#clock = options.clock ?? Date.now;
    this.#lock = new WriterLock(this.#file);
  }

  /** Opens (and by default creates) a database file, recovering it when the last writer died. */
  static async open(path: string, options: EngineOptions = {}): Promise<Engine> {
    const fsys = options.fileSystem ?? nodeFileSystem;
    const sync = options.sync ?? 'batch';
    if (!['always', 'batch', 'none'].includes(sync)) {
      throw new OnelogError('INVALID_ARGUMENT', `sync must be 'always', 'batch' or 'none', got ${JSON.stringify(sync)}.`);
    }
    const interval = options.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS;
    if (!Number.isSafeInteger(interval) || interval < 1) {
      throw new OnelogError('INVALID_ARGUMENT', `retentionCheckIntervalMs must be a positive integer (ms), got ${String(interval)}.`);
    }
    let file: StorageFile;
    try {
      file = fsys.open(path, { readOnly: options.readOnly ?? false });
    } catch (err) {
      if (!(err instanceof OnelogError && err.code === 'FILE_NOT_FOUND') || options.create === false || options.readOnly === true) throw err;
      fsys.create(path, Engine.#initialImage(options));
      file = fsys.open(path, { readOnly: false });
    }
    try {
      const headerBytes = Buffer.alloc(HEADER_SIZE);
      file.read(headerBytes, 0, HEADER_SIZE, 0);
      const header = decodeFileHeader(headerBytes, path);
      const engine = new Engine(path, file, header, options);
      await engine.#start();
      if (options.readOnly !== true) engine.#startRetentionTimer(interval);
      return engine;
    } catch (err) {
      try {
        file.close();
      } catch {
        // Closing after a failed open reports nothing more useful than the failure itself.
      }
      if (err instanceof OnelogError) throw err;
      throw new OnelogError('FAILED', `Opening ${path} failed with an I/O error: ${err instanceof Error ? err.message : String(err)}. Check the disk and retry.`, { cause: err });
    }
  }

  static #initialImage(options: EngineOptions): Buffer {
    const extentSize = options.extentSize ?? DEFAULT_EXTENT_SIZE;
    if (!Number.isInteger(extentSize) || extentSize < MIN_EXTENT_SIZE || extentSize > MAX_EXTENT_SIZE || (extentSize & (extentSize - 1)) !== 0) {
      throw new OnelogError('INVALID_ARGUMENT', `extentSize must be a power of two from ${MIN_EXTENT_SIZE} to ${MAX_EXTENT_SIZE} bytes, got ${String(extentSize)}.`);
    }
    const meta: DatabaseMeta = { extentCount: 1, freeExtents: [], metaExtent: 0, nextPartitionUid: 1, nextProducerId: 0, topics: [], groups: {} };
    const blob = encodeMetadata(meta);
    const image = Buffer.alloc(DATA_START + blob.length);
    encodeFileHeader({ formatVersion: FORMAT_VERSION, extentSize, dataStart: DATA_START, databaseId: randomUUID(), createdAt: Date.now() }).copy(image, 0);
    const sb = encodeSuperblock({ sequence: 1, metaPosition: DATA_START, metaLength: blob.length, metaCrc: crc32c(blob), extentCount: 1 });
    sb.copy(image, SUPERBLOCK_POSITIONS[0]);
    encodeCommitHeader({ writerState: 0, commitSequence: 0, metaSequence: 1 }).copy(image, slotPosition(0));
    blob.copy(image, DATA_START);
    return image;
  }

  async #start(): Promise<void> {
    const readOnly = this.#options.readOnly === true;
    this.#loadMetadata();
    this.#readCommitHeaderInto();
    if (readOnly) {
      this.#applySlots();
      return;
    }
    // Alone with the file: whatever the last writer left since its checkpoint must be validated.
    if (this.#file.tryLock(LOCK_OPEN, true)) {
      await this.#lock.acquire(this.#options.busyTimeoutMs ?? 5000, this.path);
      try {
        this.#recover();
      } finally {
        this.#releaseLock();
        this.#file.unlock(LOCK_OPEN);
      }
    } else {
      this.#applySlots();
    }
    // Hold the open lock shared so later openers know they are not alone. It can fail only while another
    // opener holds it exclusively for its recovery; such an opener then recovers once more, harmlessly.
    this.#file.tryLock(LOCK_OPEN, false);
  }

  // ---------------------------------------------------------------------------------------------------
  // Metadata: load, snapshot, checkpoint.

  /** Valid superblocks, newest first, with the index of the slot each was read from. */
  #readSuperblocks(): { sb: Superblock; slot: number }[] {
    const found: { sb: Superblock; slot: number }[] = [];
    const buf = Buffer.alloc(SUPERBLOCK_USED);
    SUPERBLOCK_POSITIONS.forEach((position, slot) => {
      buf.fill(0);
      this.#file.read(buf, 0, SUPERBLOCK_USED, position);
      const sb = decodeSuperblock(buf);
      if (sb !== null) found.push({ sb, slot });
    });
    return found.sort((a, b) => b.sb.sequence - a.sb.sequence);
  }

  /** Loads the newest checkpoint whose superblock and blob both check out. */
  #loadMetadata(): void {
    for (let attempt = 0; attempt < MAX_METADATA_RETRIES; attempt++) {
      const candidates = this.#readSuperblocks();
      for (const { sb, slot } of candidates) {
        const { dataStart, extentSize } = this.#geometry;
        const blobExtent = Math.floor((sb.metaPosition - dataStart) / extentSize);
        const sane =
          sb.extentCount >= 1 &&
          dataStart + sb.extentCount * extentSize <= Number.MAX_SAFE_INTEGER &&
          sb.metaLength > 0 &&
          sb.metaPosition >= dataStart &&
          blobExtent < sb.extentCount &&
          sb.metaPosition + sb.metaLength <= dataStart + (blobExtent + 1) * extentSize;
        if (!sane) continue;
        const blob = Buffer.alloc(sb.metaLength);
        if (this.#file.read(blob, 0, sb.metaLength, sb.metaPosition) !== sb.metaLength) continue;
        if (crc32c(blob) !== sb.metaCrc) continue;
        const meta = decodeMetadata(blob, sb.metaPosition);
        checkMetadataConsistency(meta, { extentCount: sb.extentCount, slotCount: SLOT_COUNT, blobExtent, extentSize, dataStart }, sb.metaPosition);
        this.#installMetadata(sb, slot, meta);
        return;
      }
      if (candidates.length > 0 && attempt < MAX_METADATA_RETRIES - 1) continue;
      break;
    }
    throw new OnelogError('CORRUPT_FILE', `${this.path}: no valid metadata checkpoint was found (both superblocks or their metadata are damaged). Restore the file from a backup.`, {
      position: SUPERBLOCK_POSITIONS[0],
    });
  }

  #installMetadata(sb: Superblock, slot: number, meta: DatabaseMeta): void {
    this.#superblock = sb;
    this.#superblockSlot = slot;
    this.#superblockState = 'unknown';
    // A sync that began before this load says nothing of this superblock's durability.
    this.#writeEpoch++;
    this.#metaNext = sb.metaPosition + sb.metaLength;
    this.#extentCount = meta.extentCount;
    this.#freeExtents = [...meta.freeExtents];
    this.#freedSinceCheckpoint = [];
    this.#freedAwaitingSync = [];
    this.#metaExtent = meta.metaExtent;
    this.#nextPartitionUid = meta.nextPartitionUid;
    this.#nextProducerId = meta.nextProducerId;
    this.#groups = structuredClone(meta.groups);
    // The decoded documents are this load's own: kept frozen (each copied by updateDocument on change).
    this.#documents = { ...meta.documents };
    for (const value of Object.values(this.#documents)) deepFreeze(value);
    const previous = this.#byUid;
    this.#topics = new Map();
    this.#byUid = new Map();
    for (const t of meta.topics) {
      const topic: TopicState = { name: t.name, topicId: t.topicId, configs: { ...t.configs }, partitions: [] };
      t.partitions.forEach((p, index) => {
        const old = previous.get(p.uid);
        const ps: PartitionState = {
          topic: t.name,
          partition: index,
          uid: p.uid,
          slot: p.slot,
          logStartOffset: p.logStartOffset,
          extents: p.extents.map((e) => [...e]),
          nextOffset: p.nextOffset,
          tailPosition: p.tailPosition,
          writeNextOffset: p.nextOffset,
          writeTailPosition: p.tailPosition,
          durableNextOffset: p.nextOffset,
          durableTailPosition: p.tailPosition,
          producers: producersFromMeta(p.producers),
          rolledFrom: null,
        };
        if (old !== undefined && old.nextOffset > ps.nextOffset && positionInExtent(this.#geometry, ps.extents.at(-1)?.[0] ?? -1, old.tailPosition)) {
          ps.nextOffset = old.nextOffset;
          ps.tailPosition = old.tailPosition;
        }
        topic.partitions.push(ps);
        this.#byUid.set(ps.uid, ps);
      });
      this.#topics.set(t.name, topic);
    }
    this.#positionHints.clear();
    // Compaction passes were built on the metadata replaced here; their reserved extents are free in it.
    this.#compactionPasses.clear();
    this.#compactionReserved.clear();
    this.#compactedClean.clear();
  }

  #snapshot(): DatabaseMeta {
    return {
      extentCount: this.#extentCount,
      freeExtents: [...this.#freeExtents, ...this.#freedAwaitingSync, ...this.#freedSinceCheckpoint, ...this.#compactionReserved].sort((a, b) => a - b),
      metaExtent: this.#metaExtent,
      nextPartitionUid: this.#nextPartitionUid,
      nextProducerId: this.#nextProducerId,
      topics: [...this.#topics.values()].map((t) => ({
        name: t.name,
        topicId: t.topicId,
        configs: t.configs,
        partitions: t.partitions.map((p) => ({
          uid: p.uid,
          slot: p.slot,
          logStartOffset: p.logStartOffset,
          nextOffset: p.durableNextOffset,
          tailPosition: p.durableTailPosition,
          extents: p.extents,
          producers: producersToMeta(p.producers, p.durableNextOffset),
        })),
      })),
      groups: this.#groups,
      documents: this.#documents,
    };
  }

  /**
   * Takes an extent: a free one (lowest first; one whose freeing checkpoint is not durable yet after an
   * fdatasync), or only when there is none a new one at the end of the file. For a partition's data
   * a reused tail extent is zeroed and the zeros made durable before a checkpoint can name it (I3). A
   * rewrite's output is not zeroed: it is never a tail, and its batches end at a zero batch header (I8).
   * Extents past the logical end were zeroed by recovery and never written since.
   */
  #takeExtent(use: 'tail' | 'rewrite' | 'meta'): number {
    // Space reuse before growth: extents freed by a checkpoint not yet durable become reusable by a sync.
    if (this.#freeExtents.length === 0 && this.#freedAwaitingSync.length > 0) this.#syncNow();
    const free = this.#freeExtents.shift();
    if (free === undefined) return this.#extentCount++;
    if (use === 'tail') {
      this.#file.zero(extentStart(this.#geometry, free), this.#geometry.extentSize);
      this.#syncNow();
    }
    return free;
  }

  /**
   * Writes a checkpoint (invariant I5) without waiting for it to be durable: the next fdatasync (a group
   * commit, or the one the next checkpoint starts with) makes it so. The caller holds the writer lock.
   */
  #checkpoint(): void {
    if (this.#superblockState === 'unknown') this.#syncNow();
    const position = (index: number): number => extentStart(this.#geometry, index);
    let blob = encodeMetadata(this.#snapshot());
    if (this.#metaNext + blob.length > position(this.#metaExtent) + this.#geometry.extentSize) {
      if (blob.length > this.#geometry.extentSize) {
        throw new OnelogError('METADATA_TOO_LARGE', `The database metadata (${blob.length} bytes) no longer fits in one extent (${this.#geometry.extentSize} bytes): create the database with a larger extentSize.`);
      }
      this.#freedSinceCheckpoint.push(this.#metaExtent);
      this.#metaExtent = this.#takeExtent('meta');
      this.#metaNext = position(this.#metaExtent);
      blob = encodeMetadata(this.#snapshot());
    }
    this.#file.write(blob, 0, blob.length, this.#metaNext);
    const sb: Superblock = {
      sequence: this.#superblock.sequence + 1,
      metaPosition: this.#metaNext,
      metaLength: blob.length,
      metaCrc: crc32c(blob),
      extentCount: this.#extentCount,
    };
    const slot = this.#superblockState === 'durable' ? 1 - this.#superblockSlot : this.#superblockSlot;
    const sbBytes = encodeSuperblock(sb);
    this.#file.write(sbBytes, 0, sbBytes.length, SUPERBLOCK_POSITIONS[slot]!);
    this.#superblock = sb;
    this.#superblockSlot = slot;
    this.#superblockState = 'pending';
    this.#writeEpoch++;
    this.#metaNext += blob.length;
    // Extents freed by this checkpoint become reusable once it is durable (invariant I4).
    this.#freedAwaitingSync.push(...this.#freedSinceCheckpoint);
    this.#freedSinceCheckpoint = [];
    this.#bytesSinceCheckpoint = 0;
    this.#metaSequence = sb.sequence;
    this.#writeCommitHeader(1);
    // Under sync 'none' no group commit will make this checkpoint durable: start an fdatasync in the
    // background, so the next checkpoint rarely has to wait for one (invariant I5).
    if (this.#sync === 'none') this.#syncInBackground();
  }

  #syncInBackground(): void {
    if (this.#backgroundSync) return;
    this.#backgroundSync = true;
    const epoch = this.#writeEpoch;
    const ticket = ++this.#syncsBegun;
    const tails = [...this.#byUid.values()].map((ps) => ({ partition: ps, nextOffset: ps.writeNextOffset, tailPosition: ps.writeTailPosition, settle: noop, fail: noop }));
    let syncing: Promise<void>;
    try {
      syncing = this.#file.datasync();
    } catch (err) {
      this.#backgroundSync = false;
      this.#fail(err);
      return;
    }
    syncing.then(
      () => {
        this.#backgroundSync = false;
        this.#syncedThrough = Math.max(this.#syncedThrough, ticket);
        if (this.#failure === null) this.#markDurable(epoch, tails);
      },
      (err: unknown) => {
        this.#backgroundSync = false;
        this.#fail(err);
      },
    );
  }

  /** Everything written so far is durable after a completed fdatasync that began after it. */
  #markDurable(epochAtStart: number, batch: readonly Pending[]): void {
    for (const p of batch) {
      const ps = p.partition;
      if (ps !== null && p.nextOffset > ps.durableNextOffset) {
        ps.durableNextOffset = p.nextOffset;
        ps.durableTailPosition = p.tailPosition;
      }
    }
    // Only when no superblock was written since the sync began: a later checkpoint may have overwritten
    // the freeing one's superblock in place (I5), and a torn write of it would bring back the state before.
    if (epochAtStart === this.#writeEpoch) {
      this.#superblockState = 'durable';
      this.#freeExtents.push(...this.#freedAwaitingSync);
      this.#freeExtents.sort((a, b) => a - b);
      this.#freedAwaitingSync = [];
    }
  }

  /** A synchronous fdatasync: all writes so far become durable. */
  #syncNow(): void {
    const ticket = ++this.#syncsBegun;
    this.#file.datasyncSync();
    this.#syncedThrough = Math.max(this.#syncedThrough, ticket);
    for (const ps of this.#byUid.values()) {
      ps.durableNextOffset = ps.writeNextOffset;
      ps.durableTailPosition = ps.writeTailPosition;
    }
    this.#markDurable(this.#writeEpoch, []);
  }

  // ---------------------------------------------------------------------------------------------------
  // Commit header and tail slots.

  #readCommitHeader(): CommitHeader | null {
    const buf = Buffer.alloc(SLOT_SIZE);
    for (let attempt = 0; attempt < 3; attempt++) {
      this.#file.read(buf, 0, SLOT_SIZE, slotPosition(0));
      const ch = decodeCommitHeader(buf);
      if (ch !== null) return ch;
    }
    return null;
  }

  #readCommitHeaderInto(): void {
    const ch = this.#readCommitHeader();
    if (ch !== null) this.#commitSequence = ch.commitSequence;
    this.#metaSequence = this.#superblock.sequence;
  }

  #writeCommitHeader(writerState: number): void {
    const buf = encodeCommitHeader({ writerState, commitSequence: this.#commitSequence, metaSequence: this.#metaSequence });
    this.#file.write(buf, 0, SLOT_SIZE, slotPosition(0));
  }

  #writeSlot(ps: PartitionState): void {
    this.#file.write(this.#slotBytes(ps), 0, SLOT_SIZE, slotPosition(ps.slot));
  }

  /** The partition's tail slot as it is to be written. */
  #slotBytes(ps: PartitionState): Buffer {
    const buf = Buffer.alloc(SLOT_SIZE);
    encodeTailSlot({ partitionUid: ps.uid, nextOffset: ps.nextOffset, tailPosition: ps.tailPosition }, buf, 0);
    return buf;
  }

  /** Reads the tail slots of all partitions in one read and returns uid → slot. */
  #readSlots(): Map<number, { nextOffset: number; tailPosition: number }> {
    const out = new Map<number, { nextOffset: number; tailPosition: number }>();
    let maxSlot = 0;
    for (const ps of this.#byUid.values()) maxSlot = Math.max(maxSlot, ps.slot);
    if (maxSlot === 0) return out;
    const buf = Buffer.alloc(maxSlot * SLOT_SIZE);
    this.#file.read(buf, 0, buf.length, slotPosition(1));
    for (const ps of this.#byUid.values()) {
      const slot = decodeTailSlot(buf, (ps.slot - 1) * SLOT_SIZE);
      if (slot !== null && slot.partitionUid === ps.uid) out.set(ps.uid, slot);
    }
    return out;
  }

  /** Raises committed tails to what other handles published, where the slot is ahead and sane. */
  #applySlots(): void {
    for (const [uid, slot] of this.#readSlots()) {
      const ps = this.#byUid.get(uid)!;
      if (slot.nextOffset > ps.nextOffset && this.#tailIsKnown(ps, slot.tailPosition)) {
        ps.nextOffset = slot.nextOffset;
        ps.tailPosition = slot.tailPosition;
      }
    }
  }

  #tailIsKnown(ps: PartitionState, tail: number): boolean {
    return ps.extents.some(([index]) => positionInExtent(this.#geometry, index, tail));
  }

  /**
   * Brings this handle's view up to date with commits by other handles (cheap when nothing changed: one
   * read of the commit header). Not called while this handle holds the writer lock.
   */
  #refresh(): void {
    if (this.#lock.held) return;
    const ch = this.#readCommitHeader();
    if (ch === null) return;
    if (ch.metaSequence !== this.#metaSequence) {
      // A superblock torn by a concurrent write loads the older one: keep its sequence so the next
      // refresh loads again.
      this.#loadMetadata();
      this.#metaSequence = this.#superblock.sequence;
      this.#commitSequence = ch.commitSequence;
      this.#applySlots();
    } else if (ch.commitSequence !== this.#commitSequence) {
      this.#commitSequence = ch.commitSequence;
      this.#applySlots();
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Recovery and catching up under the writer lock.

  /**
   * Scans a partition forward from its written end, across its extents, either up to `limit` (a tail that
   * another writer published: trusted, no CRC work) or, with `limit` null, validating every batch and
   * stopping at the first that fails (recovery; `accepted` then receives each accepted batch's position and
   * size). Returns the index in ps.extents where the scan stopped (-1 without extents).
   */
  #scanForward(ps: PartitionState, limit: number | null, accepted?: [number, number][]): number {
    if (ps.extents.length === 0) return -1;
    // The extent holding the written end: the last one that contains it and starts at or before its offset
    // (an extent's end may be the start of the partition's next extent in the file).
    let i = ps.extents.findLastIndex(([index, first]) => first <= ps.writeNextOffset && positionInExtent(this.#geometry, index, ps.writeTailPosition));
    if (i < 0) {
      // The checkpoint predates the partition's first batch: its log starts at the first extent.
      i = 0;
      ps.writeTailPosition = extentStart(this.#geometry, ps.extents[0]![0]);
    }
    let stopped = i;
    for (; i < ps.extents.length; i++) {
      stopped = i;
      const entry = ps.extents[i]!;
      const start = extentStart(this.#geometry, entry[0]);
      if (!positionInExtent(this.#geometry, entry[0], ps.writeTailPosition)) {
        ps.writeTailPosition = start;
        entry[1] = ps.writeNextOffset;
      }
      const end = limit !== null && positionInExtent(this.#geometry, entry[0], limit) ? limit : start + this.#geometry.extentSize;
      const result = scanBatches(this.#file, ps.writeTailPosition, end, ps.writeNextOffset, limit === null, (b) => {
        entry[2] = Math.max(entry[2], b.maxTimestamp);
        recordProducerBatch(ps.producers, b.producerId, b.producerEpoch, b.baseSequence, b.baseOffset, b.lastOffset);
        accepted?.push([b.position, b.size]);
        return false;
      });
      ps.writeNextOffset = result.nextOffset;
      ps.writeTailPosition = result.position;
      if (limit !== null && result.position === limit) break;
      // Continue into the next extent only when this one ended cleanly: too little room for another batch,
      // or zeros (a torn or foreign batch ends the log).
      if (i + 1 < ps.extents.length && !this.#endsCleanly(result.position, start + this.#geometry.extentSize)) break;
    }
    ps.nextOffset = ps.writeNextOffset;
    ps.tailPosition = ps.writeTailPosition;
    return stopped;
  }

  #endsCleanly(position: number, extentEnd: number): boolean {
    const room = extentEnd - position;
    if (room < RECORD_BATCH_OVERHEAD) return true;
    const probe = Buffer.alloc(RECORD_BATCH_OVERHEAD);
    this.#file.read(probe, 0, RECORD_BATCH_OVERHEAD, position);
    return probe.every((b) => b === 0);
  }

  /** Invariant I6. Runs under the writer lock. */
  #recover(): void {
    this.#loadMetadata();
    for (const ps of this.#byUid.values()) {
      const accepted: [number, number][] = [];
      const at = this.#scanForward(ps, null, accepted);
      if (at < 0) continue;
      // The accepted batches may be in the page cache only (their fdatasync failed, and Linux then
      // forgets them as dirty): write them again so the sync below either makes them durable or fails.
      for (const [position, size] of accepted) {
        const bytes = Buffer.allocUnsafe(size);
        this.#file.read(bytes, 0, size, position);
        this.#file.write(bytes, 0, size, position);
      }
      const cutExtent = ps.extents[at]![0];
      this.#file.zero(ps.writeTailPosition, extentStart(this.#geometry, cutExtent) + this.#geometry.extentSize - ps.writeTailPosition);
      // Extents after the cut hold nothing of this log: free them (they are zeroed again when reused).
      for (const [index] of ps.extents.splice(at + 1)) this.#freedSinceCheckpoint.push(index);
      if (ps.extents[at]![1] > ps.writeNextOffset) ps.extents[at]![1] = ps.writeNextOffset;
      this.#writeSlot(ps);
    }
    // Nothing past the logical end of the file may survive: a crashed allocation could have written there.
    const logicalEnd = extentStart(this.#geometry, this.#extentCount);
    const size = this.#file.size();
    if (size > logicalEnd) this.#file.zero(logicalEnd, size - logicalEnd);
    this.#commitSequence++;
    this.#syncNow();
    this.#checkpoint();
    this.#syncNow();
    this.#writeCommitHeader(0);
  }

  /** Called right after taking the writer lock: adopt other writers' commits, or recover a dead one's. */
  #catchUp(): void {
    const ch = this.#readCommitHeader();
    if (ch === null || ch.writerState !== 0) {
      this.#recover();
    } else {
      if (ch.metaSequence !== this.#metaSequence) {
        this.#loadMetadata();
        this.#metaSequence = this.#superblock.sequence;
      }
      this.#commitSequence = ch.commitSequence;
      const slots = this.#readSlots();
      for (const ps of this.#byUid.values()) {
        const slot = slots.get(ps.uid);
        if (slot !== undefined && slot.nextOffset > ps.writeNextOffset && this.#tailIsKnown(ps, slot.tailPosition)) {
          this.#scanForward(ps, slot.tailPosition);
        }
        ps.nextOffset = ps.writeNextOffset;
        ps.tailPosition = ps.writeTailPosition;
      }
    }
    this.#writeCommitHeader(1);
  }

  #releaseLock(): void {
    if (!this.#lock.held) return;
    this.#writeCommitHeader(0);
    this.#lock.release();
  }

  // ---------------------------------------------------------------------------------------------------
  // The write queue and group commit.

  #checkUsable(): void {
    if (this.#failure !== null) throw this.#failure;
    if (this.#closed || this.#closing !== null) throw new OnelogError('CLOSED', `The database ${this.path} is closed: open it again to use it.`);
  }

  #checkWritable(): void {
    this.#checkUsable();
    if (this.#options.readOnly === true) throw new OnelogError('READ_ONLY', `The database ${this.path} was opened read-only: open it without readOnly to write.`);
  }

  #enqueue<T>(make: (resolve: (v: T) => void, reject: (e: unknown) => void) => WriteRequest): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#syncInFlight) this.#arrivedDuringSync = true;
      const request = make(resolve, reject);
      this.#queue.push(request);
      if (request.kind === 'append') this.#queuedBytes += request.batch.length;
      // A full group (producers resuming after a group commit gathered enough bytes) is written and synced
      // now, while the rest of the burst is still being encoded: the next group forms during that
      // fdatasync instead of after it.
      if (this.#groupIsFull(this.#queuedBytes) && !this.#syncInFlight && !this.#pumping && this.#lock.held) {
        this.#clearSyncTimer();
        this.#pump();
      }
      this.#schedulePump();
    });
  }

  /** Whether the appends written but not yet synced, plus `queued` bytes, make a full group (sync 'batch'). */
  #groupIsFull(queued = 0): boolean {
    return this.#sync === 'batch' && this.#pendingBytes + queued >= FULL_GROUP_BYTES;
  }

  #clearSyncTimer(): void {
    if (this.#syncTimer === null) return;
    clearTimeout(this.#syncTimer);
    this.#syncTimer = null;
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #fail(err: unknown): void {
    if (this.#failure === null) {
      this.#failure = new OnelogError('FAILED', `The database ${this.path} hit an I/O error and is in a failed state: ${err instanceof Error ? err.message : String(err)}. Close and reopen it.`, { cause: err });
    }
    const failure = this.#failure;
    for (const r of this.#queue) r.reject(failure);
    for (const p of this.#pending) p.fail(failure);
    this.#queue = [];
    this.#pending = [];
    this.#queuedBytes = 0;
    this.#pendingBytes = 0;
    this.#clearSyncTimer();
    this.#stopRetentionTimer();
    try {
      this.#lock.release();
    } catch {
      // The file itself failed; the kernel drops its locks when it is closed.
    }
    this.#wakeWaiters();
  }

  /** Writes queued requests and decides when to fdatasync; an error fails the database, never escapes. */
  #pump(): void {
    this.#pumping = true;
    try {
      this.#pumpSteps();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#pumping = false;
    }
  }

  #pumpSteps(): void {
    const afterSync = this.#syncJustCompleted;
    this.#syncJustCompleted = false;
    if (this.#failure !== null || this.#acquiring) return;
    if (!this.#lock.held) {
      if (this.#queue.length === 0) return;
      this.#acquiring = true;
      this.#lock.acquire(this.#options.busyTimeoutMs ?? 5000, this.path).then(
        () => {
          this.#acquiring = false;
          try {
            this.#catchUp();
          } catch (err) {
            this.#fail(err);
            return;
          }
          this.#pump();
        },
        (err: unknown) => {
          this.#acquiring = false;
          for (const r of this.#queue) r.reject(err);
          this.#queue = [];
          this.#queuedBytes = 0;
        },
      );
      return;
    }
    // Between two rounds of group commit, let a writer in another process have its turn.
    if (afterSync && !this.#syncInFlight && this.#pending.length === 0 && this.#syncTimer === null && this.#lock.othersWaiting()) {
      this.#releaseLock();
      this.#schedulePump();
      return;
    }
    try {
      if (this.#sync !== 'always') {
        while (this.#queue.length > 0) this.#executeOne(this.#queue.shift()!);
      } else if (!this.#syncInFlight && this.#pending.length === 0 && this.#queue.length > 0) {
        this.#executeOne(this.#queue.shift()!);
      }
      if (this.#queue.length === 0) this.#queuedBytes = 0;
      // The batches just appended reach the file now, one vectored write per partition.
      this.#file.flush();
      if (this.#bytesSinceCheckpoint >= (this.#options.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES)) this.#checkpoint();
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (this.#syncInFlight || this.#syncTimer !== null) return;
    if (this.#pending.length === 0) {
      this.#afterCommit();
      return;
    }
    if (this.#sync === 'none') {
      this.#settlePending();
      this.#afterCommit();
      return;
    }
    // Appends that arrived while a sync was in flight share the next one, started no sooner than the
    // group-commit window after the previous one began unless they make a full group; an append into an
    // idle database is synced at once.
    const wait = afterSync && this.#arrivedDuringSync && this.#sync === 'batch' && !this.#groupIsFull() ? this.#lastSyncStart + (this.#options.groupCommitWindowMs ?? 2) - Date.now() : 0;
    if (wait > 0) {
      this.#syncTimer = setTimeout(() => {
        this.#syncTimer = null;
        this.#startSync();
      }, wait);
      return;
    }
    this.#startSync();
  }

  #startSync(): void {
    if (this.#failure !== null) return;
    if (this.#pending.length === 0) {
      try {
        this.#afterCommit();
      } catch (err) {
        this.#fail(err);
      }
      return;
    }
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#syncInFlight = true;
    this.#arrivedDuringSync = false;
    this.#lastSyncStart = Date.now();
    const epoch = this.#writeEpoch;
    const ticket = ++this.#syncsBegun;
    const failBatch = (err: unknown): void => {
      this.#syncInFlight = false;
      this.#fail(err);
      for (const p of batch) p.fail(this.#failure);
    };
    let syncing: Promise<void>;
    try {
      syncing = this.#file.datasync();
    } catch (err) {
      failBatch(err);
      return;
    }
    syncing.then(
      () => {
        this.#syncInFlight = false;
        this.#syncedThrough = Math.max(this.#syncedThrough, ticket);
        try {
          if (this.#failure !== null) throw this.#failure;
          this.#markDurable(epoch, batch);
          // A full group written meanwhile starts its fdatasync before this one's producers resume (they
          // run once this callback returns), so the disk syncs it while they encode their next appends.
          // Publishing first makes the slot and commit-header writes before that fdatasync begins, not
          // while it runs: on ext4 a write made while an fdatasync commits the journal waits for the
          // commit (about 60 us a write against 8 us, measured with 64 producers).
          this.#publish(batch);
          if (this.#groupIsFull() && this.#queue.length === 0) this.#startSync();
        } catch (err) {
          failBatch(err);
          return;
        }
        // Producers resume as the acknowledgements resolve; pump after they queued their next appends,
        // so the lock is not released and retaken between two rounds of a busy group commit.
        this.#syncJustCompleted = true;
        this.#schedulePump();
      },
      failBatch,
    );
  }

  /** Makes durable writes visible: raise committed tails, publish slots, bump the commit sequence. */
  #publish(batch: Pending[]): void {
    const touched = new Set<PartitionState>();
    for (const p of batch) {
      const ps = p.partition;
      if (ps !== null && p.nextOffset > ps.nextOffset) {
        ps.nextOffset = p.nextOffset;
        ps.tailPosition = p.tailPosition;
        touched.add(ps);
      }
    }
    // Held in slot order, adjacent slots (a topic's partitions) reach the file as one vectored write,
    // issued by the commit header's write.
    for (const ps of [...touched].sort((a, b) => a.slot - b.slot)) this.#file.hold(this.#slotBytes(ps), slotPosition(ps.slot));
    if (touched.size > 0) {
      this.#commitSequence++;
      this.#writeCommitHeader(1);
    }
    for (const p of batch) p.settle();
    if (touched.size > 0) this.#wakeWaiters();
  }

  #settlePending(): void {
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#publish(batch);
  }

  /**
   * Nothing pending. With work queued, go on (letting a waiting process in first). Otherwise keep the lock
   * until the current callbacks have run: the producer whose append just completed usually sends its next
   * one at once, and keeping the lock spares it a release, a re-acquisition and a catch-up.
   */
  #afterCommit(): void {
    if (this.#queue.length > 0) {
      if (this.#lock.othersWaiting()) this.#releaseLock();
      this.#schedulePump();
      return;
    }
    if (this.#releaseScheduled) return;
    this.#releaseScheduled = true;
    setImmediate(() => {
      this.#releaseScheduled = false;
      try {
        const idle = !this.#syncInFlight && this.#syncTimer === null && this.#pending.length === 0;
        if (!this.#lock.held || !idle || this.#failure !== null) return;
        if (this.#queue.length === 0 || this.#lock.othersWaiting()) {
          this.#releaseLock();
          if (this.#queue.length > 0) this.#schedulePump();
        }
      } catch (err) {
        this.#fail(err);
      }
    });
  }

  /** Executes a request taken off the queue; if that fails the database, the request fails with it. */
  #executeOne(request: WriteRequest): void {
    try {
      this.#execute(request);
    } catch (err) {
      this.#fail(err);
      request.reject(this.#failure);
      throw err;
    }
  }

  #execute(request: WriteRequest): void {
    if (request.kind === 'meta') {
      let result: unknown;
      const sequence = this.#metaSequence;
      try {
        result = request.apply();
      } catch (err) {
        request.reject(err);
        return;
      }
      if (request.checkpointsItself === true) {
        if (this.#metaSequence === sequence) request.resolve(result);
        else this.#pending.push({ partition: null, nextOffset: 0, tailPosition: 0, settle: () => request.resolve(result), fail: request.reject });
        return;
      }
      // Close syncs before and after, so the checkpoint it leaves records every tail.
      if (request.syncNow === true) this.#syncNow();
      this.#checkpoint();
      if (request.syncNow === true) {
        this.#syncNow();
        request.resolve(result);
      } else {
        this.#pending.push({ partition: null, nextOffset: 0, tailPosition: 0, settle: () => request.resolve(result), fail: request.reject });
      }
      return;
    }
    const ps = this.#partitionOrNull(request.topic, request.partition);
    if (ps === null) {
      request.reject(this.#unknownPartition(request.topic, request.partition));
      return;
    }
    const topic = this.#topics.get(request.topic)!;
    const batch = request.batch;
    const header = readBatchHeader(batch, 0);
    if (header.producerId >= 0 && header.baseSequence >= 0) {
      let check;
      try {
        check = checkProducer(ps.producers, header.producerId, header.producerEpoch, header.baseSequence, header.lastOffsetDelta + 1, {
          topic: ps.topic,
          partition: ps.partition,
        });
      } catch (err) {
        request.reject(err);
        return;
      }
      if (check.kind === 'duplicate') {
        const result: AppendResult = { baseOffset: check.baseOffset, lastOffset: check.lastOffset, logAppendTime: -1, logStartOffset: ps.logStartOffset };
        this.#pending.push({ partition: null, nextOffset: 0, tailPosition: 0, settle: () => request.resolve(result), fail: request.reject });
        return;
      }
    }
    const size = batch.length;
    const extentSize = this.#geometry.extentSize;
    const last = ps.extents.at(-1);
    if (last !== undefined && !positionInExtent(this.#geometry, last[0], ps.writeTailPosition)) {
      throw new OnelogError('CORRUPT_FILE', `${ps.topic}-${String(ps.partition)}: the write position ${ps.writeTailPosition} lies outside the partition's last extent; refusing to write. Run \`onelog verify\`.`, {
        position: ps.writeTailPosition,
      });
    }
    const logAppendTime = topicConfig(topic.configs, 'message.timestamp.type') === 'LogAppendTime' ? this.#clock() : -1;
    const maxTimestamp = logAppendTime >= 0 ? logAppendTime : header.maxTimestamp;
    // A new extent when the batch does not fit, when the tail extent's data would pass segment.bytes, or
    // when the tail extent is old enough to roll by time.
    const used = last === undefined ? 0 : ps.writeTailPosition - extentStart(this.#geometry, last[0]);
    const sealTail =
      last === undefined || used + size > extentSize || (used > 0 && (used + size > Number(topicConfig(topic.configs, 'segment.bytes')) || this.#rollsByTime(ps, topic.configs, maxTimestamp)));
    if (sealTail) this.#allocateExtent(ps);
    const baseOffset = ps.writeNextOffset;
    const lastOffset = baseOffset + header.lastOffsetDelta;
    setBaseOffset(batch, 0, baseOffset);
    setPartitionLeaderEpoch(batch, 0, 0);
    if (logAppendTime >= 0) setLogAppendTime(batch, 0, logAppendTime);
    if (ps.writeTailPosition === extentStart(this.#geometry, ps.extents.at(-1)![0])) ps.rolledFrom = { extent: ps.extents.at(-1)![0], timestamp: maxTimestamp };
    this.#file.hold(batch, ps.writeTailPosition);
    ps.writeTailPosition += size;
    ps.writeNextOffset = lastOffset + 1;
    const current = ps.extents.at(-1)!;
    current[2] = Math.max(current[2], maxTimestamp);
    recordProducerBatch(ps.producers, header.producerId, header.producerEpoch, header.baseSequence, baseOffset, lastOffset);
    this.#bytesSinceCheckpoint += size;
    const result: AppendResult = { baseOffset, lastOffset, logAppendTime, logStartOffset: ps.logStartOffset };
    this.#pending.push({ partition: ps, nextOffset: ps.writeNextOffset, tailPosition: ps.writeTailPosition, settle: () => request.resolve(result), fail: request.reject });
    this.#pendingBytes += size;
    // A partition just sealed an extent: the moment retention may have a whole extent to free.
    if (sealTail) {
      this.#scheduleRetention();
      this.#scheduleCompaction();
    }
  }

  /**
   * Whether a batch whose maxTimestamp is `timestamp` rolls the (non-empty) tail extent by time, as Kafka
   * rolls a segment: when it is more than segment.ms after the maxTimestamp of the extent's first batch
   * (for a compacted topic, max.compaction.lag.ms when smaller, so that no record waits longer than that
   * in the never-compacted tail). Batches without timestamps (-1) roll nothing.
   */
  #rollsByTime(ps: PartitionState, configs: Readonly<Record<string, string>>, timestamp: number): boolean {
    let rollMs = Number(topicConfig(configs, 'segment.ms'));
    if (topicConfig(configs, 'cleanup.policy').split(',').includes('compact')) rollMs = Math.min(rollMs, Number(topicConfig(configs, 'max.compaction.lag.ms')));
    if (timestamp < 0 || timestamp <= rollMs) return false;
    const tail = ps.extents.at(-1)![0];
    if (ps.rolledFrom?.extent !== tail) {
      const head = Buffer.alloc(RECORD_BATCH_OVERHEAD);
      this.#file.read(head, 0, head.length, extentStart(this.#geometry, tail));
      ps.rolledFrom = { extent: tail, timestamp: readBatchHeader(head, 0).maxTimestamp };
    }
    const first = ps.rolledFrom.timestamp;
    return first >= 0 && timestamp - first > rollMs;
  }

  /** Invariant I3: a zeroed extent, recorded by a checkpoint written before a batch goes into it. */
  #allocateExtent(ps: PartitionState): void {
    const index = this.#takeExtent('tail');
    const start = extentStart(this.#geometry, index);
    ps.extents.push([index, ps.writeNextOffset, -1]);
    ps.writeTailPosition = start;
    this.#checkpoint();
  }

  // ---------------------------------------------------------------------------------------------------
  // Public API: topics.

  #partitionOrNull(topic: string, partition: number): PartitionState | null {
    return this.#topics.get(topic)?.partitions[partition] ?? null;
  }

  #unknownPartition(topic: string, partition: number): OnelogError {
    const t = this.#topics.get(topic);
    const what = t === undefined ? `Topic ${JSON.stringify(topic)} does not exist` : `Topic ${topic} has no partition ${String(partition)} (it has ${t.partitions.length})`;
    return new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `${what}: create it first or check the name.`, { topic, partition });
  }

  #partition(topic: string, partition: number): PartitionState {
    const ps = this.#partitionOrNull(topic, partition);
    if (ps === null) throw this.#unknownPartition(topic, partition);
    return ps;
  }

  #freeSlot(): number {
    const used = new Set<number>();
    for (const ps of this.#byUid.values()) used.add(ps.slot);
    for (let s = 1; s < SLOT_COUNT; s++) if (!used.has(s)) return s;
    throw new OnelogError('TOO_MANY_PARTITIONS', `The database holds the most partitions one file can track (${SLOT_COUNT - 1}): delete topics or use another file.`);
  }

  #newPartition(topic: string, index: number): PartitionState {
    const ps: PartitionState = {
      topic,
      partition: index,
      uid: this.#nextPartitionUid++,
      slot: this.#freeSlot(),
      logStartOffset: 0,
      extents: [],
      nextOffset: 0,
      tailPosition: 0,
      writeNextOffset: 0,
      writeTailPosition: 0,
      durableNextOffset: 0,
      durableTailPosition: 0,
      producers: new Map(),
      rolledFrom: null,
    };
    this.#byUid.set(ps.uid, ps);
    this.#writeSlot(ps);
    return ps;
  }

  async createTopic(name: string, options: { partitions?: number; configs?: Readonly<Record<string, string>> } = {}): Promise<TopicInfo> {
    this.#checkWritable();
    const { partitions, configs } = this.#newTopic(name, options);
    return this.#enqueue<TopicInfo>((resolve, reject) => ({
      kind: 'meta',
      apply: () => {
        if (this.#topics.has(name)) throw new OnelogError('TOPIC_EXISTS', `Topic ${name} already exists: choose another name or delete it first.`, { topic: name });
        const topic: TopicState = { name, topicId: randomUUID(), configs, partitions: [] };
        for (let i = 0; i < partitions; i++) topic.partitions.push(this.#newPartition(name, i));
        this.#topics.set(name, topic);
        return this.#topicInfo(topic);
      },
      resolve: resolve as (v: unknown) => void,
      reject,
    }));
  }

  /** The partition count and configs (over the database's topic defaults) of a new topic, checked. */
  #newTopic(name: string, options: { partitions?: number; configs?: Readonly<Record<string, string>> }): { partitions: number; configs: Record<string, string> } {
    validateTopicName(name);
    const partitions = options.partitions ?? 1;
    validatePartitionCount(name, partitions);
    const configs = mergeDefaults(this.#options.topicDefaults, options.configs ?? {});
    validateTopicConfigs(name, configs);
    this.#checkMaxMessageBytes(name, configs);
    return { partitions, configs };
  }

  /**
   * Makes every check createTopic makes, without creating anything (a validate-only request): throws what
   * createTopic would, and returns the partition count and configs the topic would get.
   */
  checkCreateTopic(name: string, options: { partitions?: number; configs?: Readonly<Record<string, string>> } = {}): { partitions: number; configs: Record<string, string> } {
    this.#checkWritable();
    const planned = this.#newTopic(name, options);
    if (this.describeTopic(name) !== undefined) throw new OnelogError('TOPIC_EXISTS', `Topic ${name} already exists: choose another name or delete it first.`, { topic: name });
    return planned;
  }

  /** An explicit max.message.bytes must fit one extent; the default is capped at the extent size. */
  #checkMaxMessageBytes(topic: string, configs: Readonly<Record<string, string>>): void {
    const explicit = configs['max.message.bytes'];
    if (explicit !== undefined && Number(explicit) > this.#geometry.extentSize) {
      throw new OnelogError('INVALID_CONFIG', `Topic ${topic}: max.message.bytes ${explicit} exceeds this database's extent size (${this.#geometry.extentSize} bytes); a batch must fit in one extent.`, { topic });
    }
  }

  async createPartitions(name: string, count: number): Promise<TopicInfo> {
    this.#checkWritable();
    validatePartitionCount(name, count);
    return this.#enqueue<TopicInfo>((resolve, reject) => ({
      kind: 'meta',
      apply: () => {
        const topic = this.#growableTopic(name, count);
        for (let i = topic.partitions.length; i < count; i++) topic.partitions.push(this.#newPartition(name, i));
        return this.#topicInfo(topic);
      },
      resolve: resolve as (v: unknown) => void,
      reject,
    }));
  }

  #growableTopic(name: string, count: number): TopicState {
    const topic = this.#topics.get(name);
    if (topic === undefined) throw this.#unknownPartition(name, 0);
    if (count <= topic.partitions.length) {
      throw new OnelogError('INVALID_PARTITIONS', `Topic ${name} has ${topic.partitions.length} partitions; the new count must be larger (got ${count}).`, { topic: name });
    }
    return topic;
  }

  /** Makes every check createPartitions makes, without adding partitions (a validate-only request). */
  checkCreatePartitions(name: string, count: number): void {
    this.#checkWritable();
    validatePartitionCount(name, count);
    this.#refresh();
    this.#growableTopic(name, count);
  }

  async deleteTopic(name: string): Promise<void> {
    this.#checkWritable();
    await this.#enqueue<unknown>((resolve, reject) => ({
      kind: 'meta',
      apply: () => {
        const topic = this.#topics.get(name);
        if (topic === undefined) throw this.#unknownPartition(name, 0);
        for (const ps of topic.partitions) {
          for (const [index] of ps.extents) this.#freedSinceCheckpoint.push(index);
          this.#endCompactionPass(ps.uid);
          this.#compactedClean.delete(ps.uid);
          this.#byUid.delete(ps.uid);
          const zero = Buffer.alloc(SLOT_SIZE);
          this.#file.write(zero, 0, SLOT_SIZE, slotPosition(ps.slot));
        }
        this.#topics.delete(name);
        for (const group of Object.values(this.#groups)) Reflect.deleteProperty(group, name);
        return undefined;
      },
      resolve,
      reject,
    }));
  }

  async alterTopicConfigs(name: string, configs: Readonly<Record<string, string | null>>): Promise<TopicInfo> {
    this.#checkWritable();
    return this.#enqueue<TopicInfo>((resolve, reject) => ({
      kind: 'meta',
      apply: () => {
        const topic = this.#topics.get(name);
        if (topic === undefined) throw this.#unknownPartition(name, 0);
        topic.configs = this.#alteredConfigs(name, topic.configs, configs);
        // A topic no longer compacted gives up its passes (and their reserved extents); a pass of a topic
        // still compacted goes on, deciding with the new configs from its next step on.
        if (!topicConfig(topic.configs, 'cleanup.policy').split(',').includes('compact')) {
          for (const ps of topic.partitions) this.#endCompactionPass(ps.uid);
        }
        for (const ps of topic.partitions) this.#compactedClean.delete(ps.uid);
        return this.#topicInfo(topic);
      },
      resolve: resolve as (v: unknown) => void,
      reject,
    }));
  }

  /** A topic's configs after `change` (null: back to the default), checked. */
  #alteredConfigs(name: string, current: Readonly<Record<string, string>>, change: Readonly<Record<string, string | null>>): Record<string, string> {
    // Built from entries, so that every name (even "__proto__") becomes a key the checks see.
    const kept = Object.entries(current).filter(([k]) => !Object.hasOwn(change, k));
    const set = Object.entries(change).filter((entry): entry is [string, string] => entry[1] !== null);
    const next = Object.fromEntries([...kept, ...set]);
    validateTopicConfigs(name, next);
    this.#checkMaxMessageBytes(name, next);
    return next;
  }

  /**
   * Makes every check alterTopicConfigs makes, without changing anything (a validate-only request):
   * returns the configs the topic would have.
   */
  checkAlterTopicConfigs(name: string, configs: Readonly<Record<string, string | null>>): Record<string, string> {
    this.#checkWritable();
    this.#refresh();
    const topic = this.#topics.get(name);
    if (topic === undefined) throw this.#unknownPartition(name, 0);
    return this.#alteredConfigs(name, topic.configs, configs);
  }

  #topicInfo(t: TopicState): TopicInfo {
    return { name: t.name, topicId: t.topicId, partitions: t.partitions.length, configs: { ...t.configs } };
  }

  listTopics(): TopicInfo[] {
    this.#checkUsable();
    this.#refresh();
    return [...this.#topics.values()].map((t) => this.#topicInfo(t)).sort((a, b) => a.name.localeCompare(b.name));
  }

  describeTopic(name: string): TopicInfo | undefined {
    this.#checkUsable();
    this.#refresh();
    const t = this.#topics.get(name);
    return t === undefined ? undefined : this.#topicInfo(t);
  }

  // ---------------------------------------------------------------------------------------------------
  // Public API: appends.

  /** Encodes `records` as one batch and appends it; resolves once durable under the sync mode. */
  async append(topic: string, partition: number, records: readonly RecordInput[], options: AppendOptions = {}): Promise<AppendResult> {
    this.#checkWritable();
    // The writer catches up with other processes under the lock; refresh here only to learn of a topic
    // another process created.
    if (this.#partitionOrNull(topic, partition) === null) this.#refresh();
    const t = this.#topics.get(topic);
    this.#partition(topic, partition);
    const compression = (t === undefined ? null : topicCompression(t.configs)) ?? options.compression ?? 'none';
    const batch = encodeBatch({
      baseOffset: 0,
      records,
      compression,
      producerId: options.producerId ?? -1,
      producerEpoch: options.producerEpoch ?? -1,
      baseSequence: options.baseSequence ?? -1,
    });
    return this.#appendEncoded(topic, partition, batch, t?.configs ?? {});
  }

  /**
   * Appends a batch built elsewhere (a Kafka producer's bytes): CRC and structure are checked, baseOffset
   * and partitionLeaderEpoch are assigned, the rest is stored as sent (recompressed only when the topic's
   * compression.type names another codec, as a Kafka broker does).
   */
  async appendBatch(topic: string, partition: number, batch: Buffer): Promise<AppendResult> {
    this.#checkWritable();
    if (this.#partitionOrNull(topic, partition) === null) this.#refresh();
    this.#partition(topic, partition);
    const t = this.#topics.get(topic)!;
    const header = readBatchHeader(batch, 0);
    if (header.batchLength + 12 !== batch.length || !verifyBatchCrc(batch, 0)) {
      throw new OnelogError('CORRUPT_BATCH', `The batch for ${topic}-${String(partition)} is damaged (length or CRC mismatch): the producer must resend it.`, { position: 0, topic, partition });
    }
    const wanted = topicCompression(t.configs);
    let bytes: Buffer = Buffer.from(batch);
    if (wanted !== null && wanted !== header.compression && !header.isControl) {
      const records = decodeRecords(batch, 0);
      bytes = encodeBatch({
        baseOffset: 0,
        records,
        compression: wanted,
        timestampType: header.timestampType,
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        baseSequence: header.baseSequence,
        isTransactional: header.isTransactional,
      });
    }
    return this.#appendEncoded(topic, partition, bytes, t.configs);
  }

  #appendEncoded(topic: string, partition: number, batch: Buffer, configs: Readonly<Record<string, string>>): Promise<AppendResult> {
    this.#appendsQueued++;
    const max = Math.min(Number(topicConfig(configs, 'max.message.bytes')), this.#geometry.extentSize);
    if (batch.length > max) {
      return Promise.reject(
        new OnelogError('RECORD_TOO_LARGE', `The batch for ${topic}-${String(partition)} is ${batch.length} bytes, over max.message.bytes (${max}): send fewer or smaller records, or raise the topic's max.message.bytes.`, {
          topic,
          partition,
        }),
      );
    }
    return this.#enqueue<AppendResult>((resolve, reject) => ({ kind: 'append', topic, partition, batch, resolve, reject }));
  }

  // ---------------------------------------------------------------------------------------------------
  // Public API: reads.

  logStartOffset(topic: string, partition: number): number {
    this.#checkUsable();
    this.#refresh();
    return this.#partition(topic, partition).logStartOffset;
  }

  highWatermark(topic: string, partition: number): number {
    this.#checkUsable();
    this.#refresh();
    return this.#partition(topic, partition).nextOffset;
  }

  /** Reads whole batches from `offset` (never past the committed end), within a byte budget. */
  read(topic: string, partition: number, offset: number, options: ReadOptions = {}): ReadResult {
    this.#checkUsable();
    // Seqlock against extents being freed and reused, moved or cut off by another process while we read: if
    // the metadata changed between our refresh and the end of the read, read again with the new metadata.
    for (let attempt = 0; ; attempt++) {
      this.#refresh();
      const seen = this.#metaSequence;
      let result: ReadResult | OnelogError;
      try {
        result = this.#readOnce(topic, partition, offset, options.maxBytes ?? 1024 * 1024);
      } catch (err) {
        if (!(err instanceof OnelogError)) throw err;
        result = err;
      }
      if (this.#lock.held || this.#readCommitHeader()?.metaSequence === seen) {
        if (result instanceof OnelogError) throw result;
        return result;
      }
      // What was read may come from an extent moved, reused or cut since: never return it.
      if (attempt + 1 >= MAX_READ_ATTEMPTS) {
        throw new OnelogError('BUSY', `${topic}-${String(partition)}: the database metadata kept changing during ${String(MAX_READ_ATTEMPTS)} attempts to read offset ${String(offset)} (another process is moving extents): retry the read.`, {
          topic,
          partition,
        });
      }
    }
  }

  #readOnce(topic: string, partition: number, offset: number, maxBytes: number): ReadResult {
    const ps = this.#partition(topic, partition);
    const hw = ps.nextOffset;
    if (!Number.isSafeInteger(offset) || offset < ps.logStartOffset || offset > hw) {
      throw new OnelogError(
        'OFFSET_OUT_OF_RANGE',
        `Offset ${String(offset)} is outside ${topic}-${String(partition)}'s log (logStartOffset ${ps.logStartOffset}, highWatermark ${hw}): seek within that range.`,
        { topic, partition },
      );
    }
    if (offset === hw) return { records: Buffer.alloc(0), highWatermark: hw, logStartOffset: ps.logStartOffset, nextOffset: offset };
    const view = { extents: ps.extents, tailPosition: ps.tailPosition };
    const hintKey = `${String(ps.uid)}:${String(offset)}`;
    const hint = this.#positionHints.get(hintKey);
    this.#positionHints.delete(hintKey);
    let position = hint ?? locate(this.#file, this.#geometry, view, offset);
    let result = position < 0 ? null : readBatches(this.#file, this.#geometry, view, position, maxBytes);
    if (hint !== undefined && (result === null || result.records.length === 0 || readBatchHeader(result.records, 0).baseOffset !== offset)) {
      position = locate(this.#file, this.#geometry, view, offset);
      result = position < 0 ? null : readBatches(this.#file, this.#geometry, view, position, maxBytes);
    }
    if (result === null || result.records.length === 0) {
      throw new OnelogError('CORRUPT_FILE', `${topic}-${String(partition)}: offset ${String(offset)} is below the highWatermark (${hw}) but no batch holding it was found; the file is damaged. Run \`onelog verify\`.`, {
        topic,
        partition,
        position,
      });
    }
    // Remember where the next batch starts, unless that is the end of the extent: the next position in the
    // file then belongs to another extent, maybe another partition's.
    if ((result.endPosition - this.#geometry.dataStart) % this.#geometry.extentSize !== 0) {
      if (this.#positionHints.size > 4096) this.#positionHints.clear();
      this.#positionHints.set(`${String(ps.uid)}:${String(result.nextOffset)}`, result.endPosition);
    }
    return { records: result.records, highWatermark: hw, logStartOffset: ps.logStartOffset, nextOffset: result.nextOffset };
  }

  /**
   * Resolves true once the partition's highWatermark passes `offset` (a commit by this or another
   * process), false after `timeoutMs`, when `signal` aborts, or when the database closes or fails.
   */
  waitForData(topic: string, partition: number, offset: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return this.waitForAny([{ topic, partition, offset }], timeoutMs, signal);
  }

  /**
   * Resolves true once one target's highWatermark passes its offset (a commit by this or another process),
   * false after `timeoutMs`, when `signal` aborts, or when the database closes or fails. One waiter covers
   * every target, and an aborted or timed-out wait leaves nothing behind: long polls across partitions
   * (the consumer, Fetch, `consume --follow`) need no slicing or sharing of their own.
   */
  async waitForAny(targets: readonly DataWaitTarget[], timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    this.#checkUsable();
    const ready = (): boolean => {
      this.#refresh();
      return targets.some((t) => this.#partition(t.topic, t.partition).nextOffset > t.offset);
    };
    if (ready()) return true;
    if (signal?.aborted === true || timeoutMs <= 0) return false;
    return new Promise<boolean>((resolve) => {
      const done = (value: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        this.#waiters.delete(check);
        this.#updatePolling();
        resolve(value);
      };
      const aborted = (): void => {
        done(false);
      };
      const check = (): void => {
        try {
          if (this.#failure !== null || this.#closed) done(false);
          else if (ready()) done(true);
        } catch {
          // A failed or damaged file, or a deleted topic: the caller's next read reports it.
          done(false);
        }
      };
      const timer = setTimeout(aborted, timeoutMs);
      signal?.addEventListener('abort', aborted);
      // With no targets it is a plain sleep: nothing to poll for.
      if (targets.length === 0) return;
      this.#waiters.add(check);
      this.#updatePolling();
    });
  }

  #updatePolling(): void {
    if (this.#waiters.size > 0 && this.#pollTimer === null) {
      this.#pollTimer = setInterval(() => this.#wakeWaiters(), this.#options.pollIntervalMs ?? 10);
    } else if (this.#waiters.size === 0 && this.#pollTimer !== null) {
      clearInterval(this.#pollTimer);
      this.#pollTimer = null;
    }
  }

  #wakeWaiters(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** The first offset whose timestamp is >= `timestamp`, as Kafka's ListOffsets does; null when none. */
  offsetForTimestamp(topic: string, partition: number, timestamp: number): OffsetForTimestamp | null {
    this.#checkUsable();
    this.#refresh();
    const ps = this.#partition(topic, partition);
    const view = { extents: ps.extents, tailPosition: ps.tailPosition };
    const tailIndex = tailListIndex(this.#geometry, ps.extents, ps.tailPosition);
    for (let i = 0; i <= tailIndex; i++) {
      const [index, , maxTimestamp] = ps.extents[i]!;
      // The tail's extent may hold batches newer than its checkpointed maxTimestamp: always scan it.
      const isLast = i === tailIndex;
      if (!isLast && maxTimestamp < timestamp) continue;
      const start = extentStart(this.#geometry, index);
      const end = extentDataEnd(this.#geometry, view, i);
      const result: { found: OffsetForTimestamp | null } = { found: null };
      scanBatches(this.#file, start, end, null, false, (b) => {
        if (b.maxTimestamp < timestamp || b.lastOffset < ps.logStartOffset) return false;
        const buf = Buffer.allocUnsafe(b.size);
        this.#file.read(buf, 0, b.size, b.position);
        for (const r of decodeRecords(buf, 0)) {
          if (r.timestamp >= timestamp && r.offset >= ps.logStartOffset) {
            result.found = { offset: r.offset, timestamp: r.timestamp };
            return true;
          }
        }
        return false;
      });
      if (result.found !== null) return result.found;
      if (isLast) break;
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------------
  // Public API: group offsets and producer ids.

  async commitOffsets(groupId: string, offsets: readonly GroupOffsetCommit[]): Promise<void> {
    await this.commitOffsetsIf(groupId, offsets, null, () => null);
  }

  /**
   * Commits group offsets only if `check`, run under the writer lock on the newest version of the named
   * document, returns null; otherwise rejects with the error it returns (e.g. a fenced generation). The
   * check and the commit are one atomic step. The check is given the stored document itself, frozen: it
   * reads it, and a change would throw (a commit takes no copy, as it comes after every fetch).
   */
  async commitOffsetsIf(
    groupId: string,
    offsets: readonly GroupOffsetCommit[],
    documentKey: string | null,
    check: (document: unknown) => OnelogError | null,
  ): Promise<void> {
    this.#checkWritable();
    if (groupId.length === 0) throw new OnelogError('INVALID_ARGUMENT', 'A group id must not be empty.');
    await this.#enqueue<unknown>((resolve, reject) => ({
      kind: 'meta',
      apply: () => {
        const refused = check(documentKey === null ? undefined : this.#documents[documentKey]);
        if (refused !== null) throw refused;
        for (const o of offsets) this.#partition(o.topic, o.partition);
        const group = (this.#groups[groupId] ??= {});
        const now = this.#clock();
        for (const o of offsets) {
          (group[o.topic] ??= {})[String(o.partition)] = { offset: o.offset, leaderEpoch: o.leaderEpoch ?? -1, metadata: o.metadata ?? null, commitTimestamp: now };
        }
        return undefined;
      },
      resolve,
      reject,
    }));
  }

  /**
   * Advances a partition's logStartOffset to `offset` (-1: the highWatermark), as Kafka's DeleteRecords
   * does; extents wholly below it are freed (one that holds the partition's durable end waits for a later
   * retention step). Resolves with the new logStartOffset once durable.
   */
  async deleteRecords(topic: string, partition: number, offset: number): Promise<number> {
    this.#checkWritable();
    return this.#enqueue<number>((resolve, reject) => ({
      kind: 'meta',
      apply: () => {
        const ps = this.#partition(topic, partition);
        const target = offset === -1 ? ps.writeNextOffset : offset;
        if (!Number.isSafeInteger(target) || target < 0 || target > ps.writeNextOffset) {
          throw new OnelogError('OFFSET_OUT_OF_RANGE', `Cannot delete records of ${topic}-${String(partition)} below ${String(offset)}: the offset must be from 0 to the highWatermark (${ps.writeNextOffset}), or -1 for the highWatermark.`, {
            topic,
            partition,
          });
        }
        if (target > ps.logStartOffset) {
          // The checkpoint must not put logStartOffset past the end it records (invariant I7).
          if (target > ps.durableNextOffset) this.#syncNow();
          ps.logStartOffset = target;
          this.#freeLeadingExtents(ps, this.#extentsBelowLogStart(ps));
        }
        return ps.logStartOffset;
      },
      resolve: resolve as (v: unknown) => void,
      reject,
    }));
  }

  // ---------------------------------------------------------------------------------------------------
  // Retention (invariant I7): whole sealed extents at the head of a partition's log are freed in bounded
  // steps by the handle holding the writer lock, each step one metadata checkpoint.

  /** Leading extents wholly below logStartOffset (their successor starts at or below it). */
  #extentsBelowLogStart(ps: PartitionState): number {
    let count = 0;
    while (count + 1 < ps.extents.length && ps.extents[count + 1]![1] <= ps.logStartOffset) count++;
    return count;
  }

  /**
   * How many leading extents of a partition retention frees now: those wholly below logStartOffset, and for
   * topics whose cleanup.policy includes `delete` the sealed ones (all but the last) whose newest timestamp
   * is more than retention.ms before `now`, and the oldest sealed ones while the partition's size, less one
   * extent, stays at or above retention.bytes. Size counts the space taken: extentSize per sealed extent
   * plus the bytes written in the last one.
   */
  #retentionCount(ps: PartitionState, configs: Readonly<Record<string, string>>, now: number): number {
    const sealed = ps.extents.length - 1;
    if (sealed <= 0) return 0;
    let count = this.#extentsBelowLogStart(ps);
    if (!topicConfig(configs, 'cleanup.policy').split(',').includes('delete')) return count;
    const retentionMs = Number(topicConfig(configs, 'retention.ms'));
    if (retentionMs >= 0) {
      let old = 0;
      while (old < sealed && now - ps.extents[old]![2] > retentionMs) old++;
      count = Math.max(count, old);
    }
    const retentionBytes = Number(topicConfig(configs, 'retention.bytes'));
    if (retentionBytes >= 0) {
      const { extentSize } = this.#geometry;
      const tailUsed = Math.min(Math.max(ps.writeTailPosition - extentStart(this.#geometry, ps.extents[sealed]![0]), 0), extentSize);
      const size = sealed * extentSize + tailUsed;
      count = Math.max(count, Math.min(sealed, Math.floor((size - retentionBytes) / extentSize)));
    }
    return count;
  }

  /** True when the partition's durable end (what a checkpoint records) lies in one of its extents from `from` on. */
  #keepsDurableTail(ps: PartitionState, from: number): boolean {
    return ps.extents.slice(from).some(([index]) => positionInExtent(this.#geometry, index, ps.durableTailPosition));
  }

  /**
   * Frees the first `count` extents of a partition (never its last) and moves logStartOffset to the first
   * kept extent when that is higher. The extent holding the durable end must stay, since the next
   * checkpoint records that end (invariant I7): when the written end is past it, an fdatasync moves the
   * durable end up first; an extent still holding it is kept. Returns how many extents were freed.
   */
  #freeLeadingExtents(ps: PartitionState, wanted: number): number {
    let count = Math.min(wanted, ps.extents.length - 1);
    if (count <= 0) return 0;
    if (!this.#keepsDurableTail(ps, count)) this.#syncNow();
    while (count > 0 && !this.#keepsDurableTail(ps, count)) count--;
    for (const [index] of ps.extents.splice(0, count)) this.#freedSinceCheckpoint.push(index);
    if (count > 0) ps.logStartOffset = Math.max(ps.logStartOffset, ps.extents[0]![1]);
    return count;
  }

  /** One bounded step, under the writer lock: frees at most RETENTION_STEP_EXTENTS extents. */
  #retentionStep(): RetentionStep {
    const now = this.#clock();
    const partitions: PartitionRetention[] = [];
    let budget = RETENTION_STEP_EXTENTS;
    let more = false;
    for (const topic of this.#topics.values()) {
      for (const ps of topic.partitions) {
        const wanted = this.#retentionCount(ps, topic.configs, now);
        if (wanted === 0) continue;
        if (budget === 0 || wanted > budget) more = true;
        const freed = this.#freeLeadingExtents(ps, Math.min(wanted, budget));
        budget -= freed;
        if (freed > 0) partitions.push({ topic: ps.topic, partition: ps.partition, freedExtents: freed, logStartOffset: ps.logStartOffset });
      }
    }
    return { partitions, more };
  }

  #retentionWanted(): boolean {
    const now = this.#clock();
    for (const topic of this.#topics.values()) {
      if (topic.partitions.some((ps) => this.#retentionCount(ps, topic.configs, now) > 0)) return true;
    }
    return false;
  }

  /** Queues a retention step when this handle's view shows work and none is queued yet; it runs between appends. */
  #scheduleRetention(): void {
    if (this.#retentionQueued || this.#failure !== null || this.#closed || this.#closing !== null || !this.#retentionWanted()) return;
    this.#retentionQueued = true;
    this.#enqueue<RetentionStep>((resolve, reject) => ({
      kind: 'meta',
      apply: () => {
        this.#retentionQueued = false;
        return this.#retentionStep();
      },
      resolve: resolve as (v: unknown) => void,
      reject,
    })).then(
      (step) => {
        // Work left beyond the step's budget: queue the next step behind the appends waiting now.
        if (step.more) setImmediate(() => this.#scheduleRetention());
      },
      () => {
        // Failed before it ran (the lock was busy, or the database failed): the timer or the next filled
        // extent tries again; a failed database reports its failure to every caller.
        this.#retentionQueued = false;
      },
    );
  }

  #startRetentionTimer(intervalMs: number): void {
    this.#retentionTimer = setInterval(() => {
      try {
        this.#refresh();
        this.#scheduleRetention();
        this.#scheduleCompaction();
      } catch {
        // A damaged or failed file: the next call on this handle reports it.
      }
    }, intervalMs);
    this.#retentionTimer.unref();
  }

  #stopRetentionTimer(): void {
    if (this.#retentionTimer !== null) clearInterval(this.#retentionTimer);
    this.#retentionTimer = null;
  }

  /**
   * Runs retention now, in bounded steps (appends queued meanwhile go between them), until nothing more can
   * be freed; resolves once the last step is durable. Retention also runs on its own in a handle open for
   * writing: after each extent a partition fills, and every retentionCheckIntervalMs.
   */
  async runRetention(): Promise<RetentionResult> {
    this.#checkWritable();
    const freed = new Map<string, PartitionRetention>();
    let total = 0;
    for (;;) {
      const step = await this.#enqueue<RetentionStep>((resolve, reject) => ({
        kind: 'meta',
        apply: () => this.#retentionStep(),
        resolve: resolve as (v: unknown) => void,
        reject,
      }));
      for (const p of step.partitions) {
        const key = `${p.topic}\u0000${String(p.partition)}`;
        const before = freed.get(key)?.freedExtents ?? 0;
        freed.set(key, { ...p, freedExtents: before + p.freedExtents });
        total += p.freedExtents;
      }
      if (!step.more) break;
    }
    return { freedExtents: total, partitions: [...freed.values()] };
  }

  // ---------------------------------------------------------------------------------------------------
  // Compaction (invariant I8): for topics whose cleanup.policy includes `compact`, sealed extents at the
  // head of a partition's log are rewritten keeping the latest record per key, in steps of about 5 ms by
  // the handle holding the writer lock; a rewrite may span steps and ends in one metadata checkpoint that
  // swaps its sources for the extents it packed the kept batches into.

  /**
   * How many leading extents of a partition compaction may rewrite: sealed ones (never the last), before
   * the one holding the durable end (so every record considered is durable and the checkpoint's tail stays
   * in a kept extent), whose maxTimestamp is at most now - min.compaction.lag.ms.
   */
  #compactableCount(ps: PartitionState, configs: Readonly<Record<string, string>>, now: number): number {
    if (!topicConfig(configs, 'cleanup.policy').split(',').includes('compact')) return 0;
    const horizon = now - Number(topicConfig(configs, 'min.compaction.lag.ms'));
    const limit = Math.min(ps.extents.length - 1, tailListIndex(this.#geometry, ps.extents, ps.durableTailPosition));
    let count = 0;
    while (count < limit && ps.extents[count]![2] <= horizon) count++;
    return count;
  }

  /** True when a compaction step could find work: compactable extents not yet found clean, or a tombstone due. */
  #compactionDue(ps: PartitionState, configs: Readonly<Record<string, string>>, now: number): boolean {
    const count = this.#compactableCount(ps, configs, now);
    if (count === 0) return false;
    const clean = this.#compactedClean.get(ps.uid);
    return clean === undefined || clean.end < ps.extents[count]![1] || now >= clean.tombstoneDue;
  }

  /** The list index of the extent a cursor names in `ps`, or -1 when it no longer holds that place (freed, reused, moved). */
  #listIndexOf(ps: PartitionState, ref: ExtentRef): number {
    return ps.extents.findIndex((e) => e[0] === ref[0] && e[1] === ref[1]);
  }

  /** Whole durable batches of list extent `listIndex` from `position`, at most COMPACTION_READ_BYTES of them (at least one); empty at the extent's end. */
  #compactionChunk(ps: PartitionState, listIndex: number, position: number): Buffer {
    const view = { extents: ps.extents, tailPosition: ps.durableTailPosition };
    if (position >= extentDataEnd(this.#geometry, view, listIndex)) return Buffer.alloc(0);
    this.#compactionScratch ??= Buffer.allocUnsafe(COMPACTION_READ_BYTES);
    return readBatches(this.#file, this.#geometry, view, position, COMPACTION_READ_BYTES, this.#compactionScratch).records;
  }

  /** Ends a partition's compaction pass: its reserved output extents become free again (they were never named used). */
  #endCompactionPass(uid: number): void {
    const pass = this.#compactionPasses.get(uid);
    if (pass === undefined) return;
    this.#compactionPasses.delete(uid);
    this.#abortRewrite(pass);
  }

  #abortRewrite(pass: CompactionPass): void {
    if (pass.rewrite === null) return;
    for (const out of pass.rewrite.outputs) {
      this.#compactionReserved.delete(out.index);
      this.#freeExtents.push(out.index);
    }
    this.#freeExtents.sort((a, b) => a - b);
    pass.rewrite = null;
  }

  /**
   * One bounded piece of a partition's compaction pass, until `deadline` (performance.now() ms): first a
   * rewrite in progress goes on; else the extents not yet folded into the latest-offset map are folded in;
   * else the extents not yet found clean are checked, and the first one holding a record to drop starts a
   * rewrite. A record is dropped when it lies below logStartOffset, when its key (compared as bytes) has a
   * later record in the extents folded in, or when it is a tombstone (a keyed record with a null value)
   * whose timestamp is more than delete.retention.ms before `now`. Records with null keys and control
   * batches are kept. Returns null when the partition is clean (nothing to drop), else what it rewrote.
   */
  #compactPartition(ps: PartitionState, configs: Readonly<Record<string, string>>, now: number, deadline: number): PartitionCompaction | null {
    const count = this.#compactableCount(ps, configs, now);
    if (count === 0) {
      this.#endCompactionPass(ps.uid);
      return null;
    }
    const progress: CompactionProgress = { topic: ps.topic, partition: ps.partition, rewrittenExtents: 0, writtenExtents: 0, removedRecords: 0 };
    let pass = this.#compactionPasses.get(ps.uid);
    if (pass === undefined) {
      pass = { latest: new KeyOffsetMap(), scanNext: null, cleanNext: null, logStartOffset: ps.logStartOffset, tombstoneDue: Number.POSITIVE_INFINITY, rewrite: null };
      this.#compactionPasses.set(ps.uid, pass);
    }
    // Records below a new logStartOffset are droppable, and a tombstone may have come due: the clean cursor
    // starts over. A rewrite in progress goes on (what it kept below logStartOffset is never read, and goes
    // in a later pass); one whose sources retention freed is given up as it goes on.
    if (ps.logStartOffset !== pass.logStartOffset || now >= pass.tombstoneDue) {
      pass.cleanNext = null;
      pass.logStartOffset = ps.logStartOffset;
      pass.tombstoneDue = Number.POSITIVE_INFINITY;
    }
    const deleteRetentionMs = Number(topicConfig(configs, 'delete.retention.ms'));
    const keep: KeepRecord = (offset, timestamp, data, keyStart, keyLength, valueIsNull) => {
      if (offset < ps.logStartOffset) return false;
      if (keyLength < 0) return true;
      if (pass.latest.get(data, keyStart, keyLength) !== offset) return false;
      if (!valueIsNull) return true;
      if (now - timestamp > deleteRetentionMs) return false;
      pass.tombstoneDue = Math.min(pass.tombstoneDue, timestamp + deleteRetentionMs + 1);
      return true;
    };
    if (pass.rewrite !== null) {
      this.#continueRewrite(ps, pass, count, keep, deadline, progress);
      return progress;
    }
    // Fold the compactable data not yet folded in into the latest-offset map, a chunk at a time.
    let at = 0;
    let position = extentStart(this.#geometry, ps.extents[0]![0]);
    if (pass.scanNext !== null) {
      const found = this.#listIndexOf(ps, pass.scanNext.ref);
      if (found >= 0) {
        at = found;
        position = pass.scanNext.position;
      } else {
        // The cursor's extent is gone (freed by retention, or moved by vacuum): the pass starts over.
        pass.latest = new KeyOffsetMap();
        pass.cleanNext = null;
      }
    }
    const scanned = this.#walkBatches(ps, at, position, count, deadline, (chunk, p) => {
      if (!readBatchHeader(chunk, p).isControl && foldKeys(chunk, p, pass.latest, ps.logStartOffset)) pass.cleanNext = null;
      return false;
    });
    if (scanned.paused !== null) {
      pass.scanNext = scanned.paused;
      return progress;
    }
    pass.scanNext = { ref: this.#refAt(ps, count), position: extentStart(this.#geometry, ps.extents[count]![0]) };
    // Check the extents not yet found clean, a chunk at a time; the first one holding a record to drop is
    // rewritten from its start.
    at = pass.cleanNext === null ? -1 : this.#listIndexOf(ps, pass.cleanNext.ref);
    if (at < 0 || pass.cleanNext === null) {
      at = 0;
      position = extentStart(this.#geometry, ps.extents[0]![0]);
      pass.tombstoneDue = Number.POSITIVE_INFINITY;
    } else {
      position = pass.cleanNext.position;
    }
    const checked = this.#walkBatches(ps, at, position, count, deadline, (chunk, p) => dropsRecords(chunk, p, readBatchHeader(chunk, p), keep, ps.logStartOffset));
    if (checked.paused !== null) {
      pass.cleanNext = checked.paused;
      return progress;
    }
    if (checked.found >= 0) {
      const found = checked.found;
      pass.rewrite = { sources: [this.#refAt(ps, found)], position: extentStart(this.#geometry, ps.extents[found]![0]), outputs: [], removedRecords: 0, writtenBeforeSync: -1, complete: false, deferrals: 0 };
      this.#continueRewrite(ps, pass, count, keep, deadline, progress);
      return progress;
    }
    // Clean: the map is dropped, so memory is held only while a pass runs; the next pass (new extents
    // sealed, or a tombstone due) builds it again.
    this.#compactionPasses.delete(ps.uid);
    this.#compactedClean.set(ps.uid, { end: ps.extents[count]![1], tombstoneDue: pass.tombstoneDue });
    return null;
  }

  /**
   * Hands `visit` each whole batch of list extents [at, count) of `ps` from `position` on, read a chunk at a
   * time. Stops at the first batch `visit` returns true for (`found`: its extent's list index), or when
   * `deadline` has passed at a look at the clock (`paused`: where to go on), or at the end (neither).
   */
  #walkBatches(
    ps: PartitionState,
    at: number,
    position: number,
    count: number,
    deadline: number,
    visit: (chunk: Buffer, p: number) => boolean,
  ): { readonly found: number; readonly paused: LogCursor | null } {
    for (; at < count; at++, position = extentStart(this.#geometry, ps.extents[at]![0])) {
      for (let chunk = this.#compactionChunk(ps, at, position); chunk.length > 0; chunk = this.#compactionChunk(ps, at, position)) {
        for (let p = 0, looked = 0; p < chunk.length; ) {
          if (visit(chunk, p)) return { found: at, paused: null };
          p += batchTotalSize(chunk, p);
          if (p - looked >= COMPACTION_CHECK_BYTES || p === chunk.length) {
            looked = p;
            if (performance.now() >= deadline) return { found: -1, paused: { ref: this.#refAt(ps, at), position: position + p } };
          }
        }
        position += chunk.length;
      }
    }
    return { found: -1, paused: null };
  }

  #refAt(ps: PartitionState, listIndex: number): ExtentRef {
    return [ps.extents[listIndex]![0], ps.extents[listIndex]![1]];
  }

  /**
   * Goes on with the rewrite of `pass` until `deadline`: the kept bytes of its source extents go, in
   * order, into output extents reserved for it (listed free by every checkpoint until the swap, so a
   * crash leaks none). At a source extent's end, once the last output is at least three quarters full or
   * no compactable extent folded into the latest-offset map follows, the rewrite is complete and waits
   * for its swap (#swapWhenDurable). A rewrite whose sources no longer lie where it left them is given up.
   */
  #continueRewrite(ps: PartitionState, pass: CompactionPass, count: number, keep: KeepRecord, deadline: number, progress: CompactionProgress): void {
    const rewrite = pass.rewrite!;
    // Sources end where the data folded into the latest-offset map ends: past it, `keep` would drop every
    // record whose key the map has not seen yet.
    const end = Math.min(count, pass.scanNext === null ? -1 : this.#listIndexOf(ps, pass.scanNext.ref));
    const first = this.#listIndexOf(ps, rewrite.sources[0]!);
    const inPlace = (ref: ExtentRef, i: number): boolean => ps.extents[first + i]![0] === ref[0] && ps.extents[first + i]![1] === ref[1];
    if (first < 0 || first + rewrite.sources.length > end || !rewrite.sources.every(inPlace)) {
      this.#abortRewrite(pass);
      return;
    }
    if (rewrite.complete) {
      this.#swapWhenDurable(ps, pass, first, progress);
      return;
    }
    const extentSize = this.#geometry.extentSize;
    let at = first + rewrite.sources.length - 1;
    for (;;) {
      const chunk = this.#compactionChunk(ps, at, rewrite.position);
      if (chunk.length === 0) {
        at++;
        const last = rewrite.outputs.at(-1);
        if (at === end || (last !== undefined && last.size * 4 >= extentSize * 3)) {
          if (last !== undefined) this.#endOutput(rewrite, last);
          rewrite.complete = true;
          this.#swapWhenDurable(ps, pass, first, progress);
          return;
        }
        rewrite.sources.push(this.#refAt(ps, at));
        rewrite.position = extentStart(this.#geometry, ps.extents[at]![0]);
        continue;
      }
      for (let p = 0, looked = 0; p < chunk.length; ) {
        const size = batchTotalSize(chunk, p);
        const { bytes, removed } = keptBatch(chunk, p, size, readBatchHeader(chunk, p), keep, ps.logStartOffset);
        if (bytes !== null) {
          let out = rewrite.outputs.at(-1);
          if (out === undefined || out.size + bytes.length > extentSize) {
            // Extents freed but awaiting the fdatasync that makes their freeing durable (I4) would make
            // #takeExtent block on one: start it in the background and go on from this batch in a later
            // step, a few times, before taking the blocking way.
            if (this.#freeExtents.length === 0 && this.#freedAwaitingSync.length > 0 && rewrite.deferrals < COMPACTION_MAX_DEFERRALS) {
              rewrite.deferrals++;
              this.#syncInBackground();
              this.#compactionWaiting = true;
              return;
            }
            rewrite.deferrals = 0;
            if (out !== undefined) this.#endOutput(rewrite, out);
            const index = this.#takeExtent('rewrite');
            this.#compactionReserved.add(index);
            out = { index, size: 0, firstOffset: rewrite.outputs.length === 0 ? ps.extents[first]![1] : readBatchHeader(bytes, 0).baseOffset, maxTimestamp: -1 };
            rewrite.outputs.push(out);
          }
          this.#file.write(bytes, 0, bytes.length, extentStart(this.#geometry, out.index) + out.size);
          rewrite.writtenBeforeSync = this.#syncsBegun;
          out.size += bytes.length;
          out.maxTimestamp = Math.max(out.maxTimestamp, readBatchHeader(bytes, 0).maxTimestamp);
        }
        rewrite.removedRecords += removed;
        rewrite.position += size;
        p += size;
        if (p - looked >= COMPACTION_CHECK_BYTES || p === chunk.length) {
          looked = p;
          if (performance.now() >= deadline) return;
        }
      }
    }
  }

  /**
   * Ends a rewrite's output extent with a zero batch header after its last batch (where it has room), so
   * readers, recovery and verify stop there as at the zeros of a full extent, whatever the extent held
   * before. The swap's fdatasync makes it durable with the batches.
   */
  #endOutput(rewrite: Rewrite, out: RewriteOutput): void {
    const room = Math.min(RECORD_BATCH_OVERHEAD, this.#geometry.extentSize - out.size);
    if (room === 0) return;
    this.#file.write(Buffer.alloc(room), 0, room, extentStart(this.#geometry, out.index) + out.size);
    rewrite.writtenBeforeSync = this.#syncsBegun;
  }

  /**
   * Swaps the sources of a rewrite that read them all for its outputs once an fdatasync that began after
   * its last write has completed (I8); until then it starts one in the background and the swap waits for
   * a later step, so compaction never blocks the writer lock on an fdatasync of the whole file.
   */
  #swapWhenDurable(ps: PartitionState, pass: CompactionPass, first: number, progress: CompactionProgress): void {
    const rewrite = pass.rewrite!;
    if (this.#syncedThrough <= rewrite.writtenBeforeSync) {
      this.#syncInBackground();
      this.#compactionWaiting = true;
      return;
    }
    const end = first + rewrite.sources.length;
    const entries: ExtentEntry[] = rewrite.outputs.map((out) => [out.index, out.firstOffset, out.maxTimestamp]);
    const after = ps.extents.slice(end);
    const takenOver = after[0]!;
    // With nothing kept, the next extent takes over the window's first offset, so extents still cover the log.
    if (entries.length === 0) after[0] = [takenOver[0], ps.extents[first]![1], takenOver[2]];
    const old = ps.extents.slice(first, end);
    ps.extents = [...ps.extents.slice(0, first), ...entries, ...after];
    for (const [index] of old) this.#freedSinceCheckpoint.push(index);
    for (const out of rewrite.outputs) this.#compactionReserved.delete(out.index);
    this.#positionHints.clear();
    this.#compactedClean.delete(ps.uid);
    // The outputs hold nothing to drop: the next check starts after them. The scan cursor, at or past the
    // extent after the window, follows that extent when it took over the window's first offset.
    const next = first + entries.length;
    pass.cleanNext = { ref: this.#refAt(ps, next), position: extentStart(this.#geometry, ps.extents[next]![0]) };
    if (pass.scanNext !== null && pass.scanNext.ref[0] === takenOver[0] && pass.scanNext.ref[1] === takenOver[1]) {
      pass.scanNext = { ref: this.#refAt(ps, next), position: pass.scanNext.position };
    }
    pass.rewrite = null;
    progress.rewrittenExtents += old.length;
    progress.writtenExtents += entries.length;
    progress.removedRecords += rewrite.removedRecords;
    this.#checkpoint();
  }

  /** One bounded step, under the writer lock: compaction work until COMPACTION_STEP_MS has passed. */
  #compactionStep(): CompactionStep {
    const now = this.#clock();
    const deadline = performance.now() + COMPACTION_STEP_MS;
    const partitions: PartitionCompaction[] = [];
    this.#compactionWaiting = false;
    for (const topic of this.#topics.values()) {
      for (const ps of topic.partitions) {
        if (!this.#compactionDue(ps, topic.configs, now)) continue;
        if (performance.now() >= deadline) return { partitions, more: true, waiting: this.#compactionWaiting };
        const done = this.#compactPartition(ps, topic.configs, now, deadline);
        if (done !== null) partitions.push(done);
      }
    }
    return { partitions, more: partitions.length > 0, waiting: this.#compactionWaiting };
  }

  #compactionWanted(): boolean {
    const now = this.#clock();
    for (const topic of this.#topics.values()) {
      if (topic.partitions.some((ps) => this.#compactionDue(ps, topic.configs, now))) return true;
    }
    return false;
  }

  /**
   * One compaction step through the write queue, and how long to wait before the next: COMPACTION_PAUSE_FACTOR
   * times the step's duration when appends were queued since the previous step, else 0.
   */
  async #timedCompactionStep(scheduled: boolean): Promise<{ step: CompactionStep; stepMs: number; pauseMs: number }> {
    // Set by the step as it runs under the lock (an object: TypeScript does not track writes in callbacks).
    const timing = { stepMs: 0, writersActive: false };
    const step = await this.#enqueue<CompactionStep>((resolve, reject) => ({
      kind: 'meta',
      checkpointsItself: true,
      apply: () => {
        if (scheduled) this.#compactionQueued = false;
        timing.writersActive = this.#appendsQueued !== this.#appendsAtCompactionStep;
        this.#appendsAtCompactionStep = this.#appendsQueued;
        const started = performance.now();
        const result = this.#compactionStep();
        timing.stepMs = performance.now() - started;
        return result;
      },
      resolve: resolve as (v: unknown) => void,
      reject,
    }));
    const pauseMs = timing.writersActive ? timing.stepMs * COMPACTION_PAUSE_FACTOR : 0;
    // A step that left a rewrite waiting for a background fdatasync gives it a moment before the next.
    return { step, stepMs: timing.stepMs, pauseMs: step.waiting ? Math.max(pauseMs, COMPACTION_SYNC_WAIT_MS) : pauseMs };
  }

  /** Queues a compaction step when this handle's view shows work and none is queued yet; it runs between appends. */
  #scheduleCompaction(): void {
    if (this.#compactionQueued || this.#compactionRuns > 0 || this.#failure !== null || this.#closed || this.#closing !== null || !this.#compactionWanted()) return;
    this.#compactionQueued = true;
    this.#timedCompactionStep(true).then(
      ({ step, pauseMs }) => {
        if (step.more) setTimeout(() => this.#scheduleCompaction(), pauseMs).unref();
      },
      () => {
        // Failed before it ran: the timer or the next filled extent tries again.
        this.#compactionQueued = false;
      },
    );
  }

  /**
   * Compacts every compacted topic now, in bounded steps (appends queued meanwhile go between them), until
   * no step finds a record to drop; resolves once the last step is durable. Compaction also runs on its own
   * in a handle open for writing: after each extent a partition fills, and every retentionCheckIntervalMs.
   */
  async runCompaction(): Promise<CompactionResult> {
    this.#checkWritable();
    const done = new Map<string, PartitionCompaction>();
    this.#compactionRuns++;
    let steps;
    try {
      steps = await this.#compactUntilClean(done);
    } finally {
      this.#compactionRuns--;
    }
    const partitions = [...done.values()].filter((p) => p.rewrittenExtents > 0);
    return {
      rewrittenExtents: partitions.reduce((n, p) => n + p.rewrittenExtents, 0),
      removedRecords: partitions.reduce((n, p) => n + p.removedRecords, 0),
      ...steps,
      partitions,
    };
  }

  /**
   * runCompaction's loop: steps, paced while writers are active, until one finds nothing; tallies into
   * `done`, and returns how many steps it took and the longest.
   */
  async #compactUntilClean(done: Map<string, PartitionCompaction>): Promise<{ steps: number; longestStepMs: number }> {
    let steps = 0;
    let longestStepMs = 0;
    for (let pauseMs = 0; ; ) {
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      const timed = await this.#timedCompactionStep(false);
      const { step } = timed;
      pauseMs = timed.pauseMs;
      steps++;
      longestStepMs = Math.max(longestStepMs, timed.stepMs);
      for (const p of step.partitions) {
        const key = `${p.topic}\u0000${String(p.partition)}`;
        const before = done.get(key);
        done.set(key, {
          ...p,
          rewrittenExtents: p.rewrittenExtents + (before?.rewrittenExtents ?? 0),
          writtenExtents: p.writtenExtents + (before?.writtenExtents ?? 0),
          removedRecords: p.removedRecords + (before?.removedRecords ?? 0),
        });
      }
      if (!step.more) break;
    }
    return { steps, longestStepMs };
  }

  // ---------------------------------------------------------------------------------------------------
  // Vacuum (invariant I9): used extents near the end of the file move into free extents below them, in
  // bounded steps under the writer lock, and the file is cut to the end of its last used extent.

  /** Every used extent, highest first: partitions' extents (with owner and list index) and the metadata's. */
  #usedExtentsDescending(): { index: number; ps: PartitionState | null; at: number }[] {
    const used: { index: number; ps: PartitionState | null; at: number }[] = [{ index: this.#metaExtent, ps: null, at: -1 }];
    for (const ps of this.#byUid.values()) ps.extents.forEach(([index], at) => used.push({ index, ps, at }));
    return used.sort((a, b) => b.index - a.index);
  }

  /** Copies extent `from` whole into extent `to` (bytes past the end of the file read as zeros). */
  #copyExtent(from: number, to: number): void {
    const { extentSize } = this.#geometry;
    const chunk = Buffer.allocUnsafe(Math.min(extentSize, VACUUM_COPY_CHUNK));
    for (let done = 0; done < extentSize; done += chunk.length) {
      const n = this.#file.read(chunk, 0, chunk.length, extentStart(this.#geometry, from) + done);
      chunk.fill(0, n);
      this.#file.write(chunk, 0, chunk.length, extentStart(this.#geometry, to) + done);
    }
  }

  /** `position` moved along when the partition's extent at list index `at` (holding it) moves from `from` to `to`. */
  #movedPosition(ps: PartitionState, at: number, position: number, nextOffset: number, from: number, to: number): number {
    const holder = ps.extents.findLastIndex(([index, first]) => first <= nextOffset && positionInExtent(this.#geometry, index, position));
    return holder === at ? position - extentStart(this.#geometry, from) + extentStart(this.#geometry, to) : position;
  }

  /**
   * One bounded step, under the writer lock: moves at most VACUUM_STEP_EXTENTS of the highest used extents
   * into the lowest free ones below them, in one checkpoint made durable, then cuts the file when its tail
   * is free.
   */
  #vacuumStep(): VacuumStep {
    if (this.#syncInFlight) return { moved: 0, more: true, blocked: true };
    const metaAtStart = this.#metaExtent;
    // Appends written but not yet durable: make them durable and acknowledge them, so no tail moves under them.
    if (this.#pending.length > 0) {
      this.#syncNow();
      this.#settlePending();
    }
    // Extents freed by checkpoints not yet durable become reusable (invariant I4).
    if (this.#freedSinceCheckpoint.length > 0) this.#checkpoint();
    if (this.#freedAwaitingSync.length > 0 || this.#superblockState !== 'durable') this.#syncNow();
    const used = this.#usedExtentsDescending();
    const moves: { ps: PartitionState; at: number; from: number; to: number }[] = [];
    let moved = 0;
    let more = false;
    for (const high of used) {
      const low = this.#freeExtents[0];
      if (low === undefined || low > high.index) break;
      if (moved === VACUUM_STEP_EXTENTS) {
        more = true;
        break;
      }
      this.#freeExtents.shift();
      moved++;
      if (high.ps === null) {
        // The metadata extent moves by the checkpoint below, which writes its blob into the new one.
        this.#freedSinceCheckpoint.push(this.#metaExtent);
        this.#metaExtent = low;
        this.#metaNext = extentStart(this.#geometry, low);
      } else {
        this.#copyExtent(high.index, low);
        moves.push({ ps: high.ps, at: high.at, from: high.index, to: low });
      }
    }
    if (moves.length > 0) this.#syncNow();
    for (const { ps, at, from, to } of moves) {
      ps.tailPosition = this.#movedPosition(ps, at, ps.tailPosition, ps.nextOffset, from, to);
      ps.writeTailPosition = this.#movedPosition(ps, at, ps.writeTailPosition, ps.writeNextOffset, from, to);
      ps.durableTailPosition = this.#movedPosition(ps, at, ps.durableTailPosition, ps.durableNextOffset, from, to);
      const entry = ps.extents[at]!;
      ps.extents[at] = [to, entry[1], entry[2]];
      this.#freedSinceCheckpoint.push(from);
      this.#writeSlot(ps);
    }
    if (moved > 0) {
      this.#positionHints.clear();
      this.#checkpoint();
      this.#syncNow();
    }
    this.#cutFreeTail();
    // A checkpoint of this step may have moved the metadata into a new extent (its old one full), leaving
    // a free extent below a used one: another step moves data down into it.
    if (moved > 0 || this.#metaExtent !== metaAtStart) {
      const lowestFree = Math.min(...this.#freeExtents, ...this.#freedAwaitingSync, ...this.#freedSinceCheckpoint);
      if (lowestFree < this.#usedExtentsDescending()[0]!.index) more = true;
    }
    return { moved, more, blocked: false };
  }

  /**
   * When the extents at the end of the file are all free: a durable checkpoint with the smaller extentCount,
   * then the file cut at its new logical end. Also cuts bytes past the logical end left by a crash.
   */
  #cutFreeTail(): void {
    // Output extents of compaction rewrites in progress are kept too, though checkpoints list them free.
    const keep = Math.max(this.#usedExtentsDescending()[0]!.index, ...this.#compactionReserved) + 1;
    if (keep < this.#extentCount) {
      this.#freeExtents = this.#freeExtents.filter((index) => index < keep);
      this.#extentCount = keep;
      this.#checkpoint();
      this.#syncNow();
    }
    const end = extentStart(this.#geometry, this.#extentCount);
    if (this.#file.size() > end) {
      this.#file.truncate(end);
      this.#syncNow();
    }
  }

  /**
   * Moves data down into free extents and cuts the file to its live size, in bounded steps (appends queued
   * meanwhile go between them); resolves once the last step is durable. Readers in other processes retry
   * a read that overlapped a step. Extents freed but not yet reusable are made reusable first.
   */
  async vacuum(): Promise<VacuumResult> {
    this.#checkWritable();
    const fileSizeBefore = this.#file.size();
    let movedExtents = 0;
    for (;;) {
      const step = await this.#enqueue<VacuumStep>((resolve, reject) => ({
        kind: 'meta',
        // The step checkpoints what it changes: one after its cut could take a new metadata extent past it.
        checkpointsItself: true,
        apply: () => this.#vacuumStep(),
        resolve: resolve as (v: unknown) => void,
        reject,
      }));
      movedExtents += step.moved;
      if (step.blocked) await new Promise((resolve) => setTimeout(resolve, 1));
      else if (!step.more) break;
    }
    return { movedExtents, fileSizeBefore, fileSizeAfter: this.#file.size() };
  }

  fetchOffsets(groupId: string): GroupOffset[] {
    this.#checkUsable();
    this.#refresh();
    const out: GroupOffset[] = [];
    for (const [topic, partitions] of Object.entries(this.#groups[groupId] ?? {})) {
      for (const [partition, o] of Object.entries(partitions)) out.push({ topic, partition: Number(partition), ...o });
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /**
   * Deletes some of a group's committed offsets (Kafka's OffsetDelete): `select`, run under the writer lock
   * on the newest version of the named document, returns which partitions to delete, so the check (e.g.
   * that the group does not consume them) and the deletion are one atomic step. A group left without
   * offsets is gone from listGroups.
   */
  async deleteOffsetsIf(
    groupId: string,
    documentKey: string | null,
    select: (document: unknown) => readonly { readonly topic: string; readonly partition: number }[],
  ): Promise<void> {
    this.#checkWritable();
    await this.#enqueue<unknown>((resolve, reject) => ({
      kind: 'meta',
      apply: () => {
        const chosen = select(documentKey === null ? undefined : structuredClone(this.#documents[documentKey]));
        const group = this.#groups[groupId];
        if (group === undefined) return undefined;
        for (const { topic, partition } of chosen) {
          const partitions = group[topic];
          if (partitions === undefined) continue;
          Reflect.deleteProperty(partitions, String(partition));
          if (Object.keys(partitions).length === 0) Reflect.deleteProperty(group, topic);
        }
        if (Object.keys(group).length === 0) Reflect.deleteProperty(this.#groups, groupId);
        return undefined;
      },
      resolve,
      reject,
    }));
  }

  listGroups(): string[] {
    this.#checkUsable();
    this.#refresh();
    return Object.keys(this.#groups).sort();
  }

  async deleteGroup(groupId: string): Promise<void> {
    this.#checkWritable();
    await this.#enqueue<unknown>((resolve, reject) => ({
      kind: 'meta',
      apply: () => Reflect.deleteProperty(this.#groups, groupId),
      resolve,
      reject,
    }));
  }

  /** A named JSON document kept in the file by a layer above (see updateDocument); undefined if absent. */
  readDocument(key: string): unknown {
    this.#checkUsable();
    this.#refresh();
    const value = this.#documents[key];
    return value === undefined ? undefined : structuredClone(value);
  }

  /** Keys of the documents whose key starts with `prefix`. */
  listDocuments(prefix: string): string[] {
    this.#checkUsable();
    this.#refresh();
    return Object.keys(this.#documents)
      .filter((k) => k.startsWith(prefix))
      .sort();
  }

  /**
   * Atomically replaces a named JSON document: `update` runs under the writer lock on the newest state
   * (written by whichever process) and returns the new value (undefined deletes it) and a result; the promise
   * resolves with that result once the change is durable. `update` must be a pure function of its input.
   */
  async updateDocument<T>(key: string, update: (current: unknown) => { readonly value: unknown; readonly result: T }): Promise<T> {
    this.#checkWritable();
    return this.#enqueue<T>((resolve, reject) => ({
      kind: 'meta',
      apply: () => {
        const current = this.#documents[key];
        const { value, result } = update(current === undefined ? undefined : structuredClone(current));
        if (value === undefined) Reflect.deleteProperty(this.#documents, key);
        else this.#documents[key] = deepFreeze(structuredClone(value));
        return result;
      },
      resolve: resolve as (v: unknown) => void,
      reject,
    }));
  }

  /** Allocates a new producerId (for idempotent producers). */
  async allocateProducerId(): Promise<number> {
    this.#checkWritable();
    return this.#enqueue<number>((resolve, reject) => ({
      kind: 'meta',
      apply: () => this.#nextProducerId++,
      resolve: resolve as (v: unknown) => void,
      reject,
    }));
  }

  /** Database facts for `onelog info` and tests. */
  stats(): { extentSize: number; extentCount: number; freeExtents: number; fileSize: number; databaseId: string; formatVersion: number } {
    this.#checkUsable();
    this.#refresh();
    return {
      extentSize: this.#geometry.extentSize,
      extentCount: this.#extentCount,
      // Every extent the next checkpoint lists as free, reusable now or once that checkpoint is durable.
      freeExtents: this.#freeExtents.length + this.#freedAwaitingSync.length + this.#freedSinceCheckpoint.length + this.#compactionReserved.size,
      fileSize: this.#file.size(),
      databaseId: this.#header.databaseId,
      formatVersion: this.#header.formatVersion,
    };
  }

  /** The committed layout of every partition: its extent chain and tail, in topic and partition order. */
  layout(): DatabaseLayout {
    this.#checkUsable();
    this.#refresh();
    const partitions: PartitionLayout[] = [];
    for (const t of [...this.#topics.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      for (const ps of t.partitions) {
        partitions.push({
          topic: ps.topic,
          partition: ps.partition,
          logStartOffset: ps.logStartOffset,
          nextOffset: ps.nextOffset,
          tailPosition: ps.tailPosition,
          extents: ps.extents.map((e): ExtentEntry => [e[0], e[1], e[2]]),
        });
      }
    }
    return {
      dataStart: this.#geometry.dataStart,
      extentSize: this.#geometry.extentSize,
      partitions,
    };
  }

  /** `length` bytes of the file at `position`, as stored (zeros past its end); never writes. */
  readRaw(position: number, length: number): Buffer {
    this.#checkUsable();
    const buf = Buffer.alloc(length);
    this.#file.read(buf, 0, length, position);
    return buf;
  }

  /** Waits for queued writes, takes a final checkpoint and closes the file. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closing = (async () => {
      if (this.#failure === null && this.#options.readOnly !== true) {
        try {
          await new Promise<unknown>((resolve, reject) => {
            this.#queue.push({ kind: 'meta', syncNow: true, apply: () => undefined, resolve, reject });
            this.#schedulePump();
          });
        } catch {
          // A close never fails on the final checkpoint: the data is already durable or reported failed.
        }
      }
      this.#closed = true;
      this.#stopRetentionTimer();
      if (this.#syncTimer !== null) clearTimeout(this.#syncTimer);
      this.#waiters.forEach((w) => w());
      this.#updatePolling();
      try {
        if (this.#failure === null) this.#releaseLock();
        this.#lock.release();
        this.#file.close();
      } catch (err) {
        if (this.#failure === null) throw new OnelogError('FAILED', `Closing ${this.path} failed: ${err instanceof Error ? err.message : String(err)}.`, { cause: err });
      }
    })();
    return this.#closing;
  }
}
