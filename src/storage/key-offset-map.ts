// The latest-offset map of a compaction pass: key bytes to the highest offset seen for them, held in
// typed arrays so that a pass over millions of keys costs the garbage collector nothing and 30 to 50 bytes
// per key plus the keys themselves. Keys are compared byte for byte, never by hash alone. It does no I/O
// and knows nothing of records or batches.
//
// No insert may take long, as compaction runs in steps of a few milliseconds under the writer lock:
// nothing here is ever copied or rehashed whole. The table is split by hash into SHARDS open-addressing
// shards that grow (and rehash) one at a time, each keeping its entries' hashes beside their indexes,
// so a rehash touches only the shard's own small arrays. Shards grow at loads spread from 1/2 to 3/4 (by
// their number), so that they do not all rehash within the same few thousand inserts. Entries live in
// fixed-size pages and key bytes in chunks that are added, never moved.

const EMPTY = -1;
const SHARD_BITS = 8;
const SHARDS = 1 << SHARD_BITS;
const INITIAL_SHARD_SLOTS = 8;
/** Entries per page: 2^PAGE_BITS. */
const PAGE_BITS = 12;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
/** Key-byte chunks start at the smaller size and double up to the larger; a longer key gets a chunk of its own size. */
const FIRST_CHUNK_BYTES = 1 << 16;
const MAX_CHUNK_BYTES = 1 << 20;

/** FNV-1a over `key[start, end)`, as an unsigned 32-bit number. */
function hashBytes(key: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
  // Final mixing (murmur3's fmix32), so that the top bits (the shard) and the low bits (the slot) depend on every byte.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** One open-addressing table: per slot an entry index (or EMPTY) and that entry's hash. Its length is a power of two, at most `limit` full. */
interface Shard {
  entries: Int32Array;
  hashes: Uint32Array;
  size: number;
  /** The load in quarters of the slots past which it grows: 2 (half full) to nearly 3. */
  readonly quarters: number;
  /** How many entries it holds before it grows. */
  limit: number;
}

/** Per entry, paged: where its key lies (chunk and position in it), its length, and its offset. */
interface Page {
  readonly chunk: Int32Array;
  readonly start: Int32Array;
  readonly length: Int32Array;
  readonly offset: Float64Array;
}

function newShard(number: number): Shard {
  const quarters = 2 + number / SHARDS;
  return { entries: new Int32Array(INITIAL_SHARD_SLOTS).fill(EMPTY), hashes: new Uint32Array(INITIAL_SHARD_SLOTS), size: 0, quarters, limit: Math.floor((INITIAL_SHARD_SLOTS * quarters) / 4) };
}

export class KeyOffsetMap {
  readonly #shards: Shard[] = Array.from({ length: SHARDS }, (_, i) => newShard(i));
  readonly #pages: Page[] = [];
  readonly #chunks: Uint8Array[] = [];
  #chunkUsed = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The slot of `shard` holding the key (`length` bytes of `bytes` from `start`), or the empty slot where it would go. */
  #find(shard: Shard, bytes: Uint8Array, start: number, length: number, hash: number): number {
    const { entries, hashes } = shard;
    const mask = entries.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = entries[slot]!;
      if (entry === EMPTY || (hashes[slot] === hash && this.#sameKey(entry, bytes, start, length))) return slot;
    }
  }

  #sameKey(entry: number, bytes: Uint8Array, start: number, length: number): boolean {
    const page = this.#pages[entry >>> PAGE_BITS]!;
    const i = entry & PAGE_MASK;
    if (page.length[i] !== length) return false;
    const chunk = this.#chunks[page.chunk[i]!]!;
    const stored = page.start[i]! - start;
    for (let j = start; j < start + length; j++) if (chunk[stored + j] !== bytes[j]) return false;
    return true;
  }

  /** The offset stored for the key that is `length` bytes of `bytes` from `start`, or undefined. */
  get(bytes: Uint8Array, start: number, length: number): number | undefined {
    const hash = hashBytes(bytes, start, start + length);
    const shard = this.#shards[hash >>> (32 - SHARD_BITS)]!;
    const entry = shard.entries[this.#find(shard, bytes, start, length, hash)]!;
    return entry === EMPTY ? undefined : this.#pages[entry >>> PAGE_BITS]!.offset[entry & PAGE_MASK];
  }

  /**
   * Stores `offset` for the key that is `length` bytes of `bytes` from `start` when it is higher than the
   * one stored (or none is); the key's bytes are copied. Returns true when the key already had a lower
   * offset (a record of it was superseded).
   */
  raise(bytes: Uint8Array, start: number, length: number, offset: number): boolean {
    const hash = hashBytes(bytes, start, start + length);
    const shard = this.#shards[hash >>> (32 - SHARD_BITS)]!;
    let slot = this.#find(shard, bytes, start, length, hash);
    const found = shard.entries[slot]!;
    if (found !== EMPTY) {
      const offsets = this.#pages[found >>> PAGE_BITS]!.offset;
      if (offsets[found & PAGE_MASK]! >= offset) return false;
      offsets[found & PAGE_MASK] = offset;
      return true;
    }
    if (shard.size === shard.limit) {
      this.#grow(shard);
      slot = this.#find(shard, bytes, start, length, hash);
    }
    const entry = this.#size++;
    if ((entry & PAGE_MASK) === 0) {
      this.#pages.push({ chunk: new Int32Array(PAGE_SIZE), start: new Int32Array(PAGE_SIZE), length: new Int32Array(PAGE_SIZE), offset: new Float64Array(PAGE_SIZE) });
    }
    const page = this.#pages[entry >>> PAGE_BITS]!;
    const i = entry & PAGE_MASK;
    const chunkIndex = this.#room(length);
    this.#chunks[chunkIndex]!.set(bytes.subarray(start, start + length), this.#chunkUsed);
    page.chunk[i] = chunkIndex;
    page.start[i] = this.#chunkUsed;
    page.length[i] = length;
    page.offset[i] = offset;
    this.#chunkUsed += length;
    shard.entries[slot] = entry;
    shard.hashes[slot] = hash;
    shard.size++;
    return false;
  }

  /** The index of the chunk to put `length` key bytes into at #chunkUsed: the last one when they fit, else a new one. */
  #room(length: number): number {
    const last = this.#chunks.length - 1;
    if (last >= 0 && this.#chunkUsed + length <= this.#chunks[last]!.length) return last;
    const size = last < 0 ? FIRST_CHUNK_BYTES : Math.min(MAX_CHUNK_BYTES, this.#chunks[last]!.length * 2);
    this.#chunks.push(new Uint8Array(Math.max(size, length)));
    this.#chunkUsed = 0;
    return last + 1;
  }

  /** Doubles one shard, moving its slots by the hashes kept beside them. */
  #grow(shard: Shard): void {
    const { entries, hashes } = shard;
    const slots = entries.length * 2;
    const grownEntries = new Int32Array(slots).fill(EMPTY);
    const grownHashes = new Uint32Array(slots);
    const mask = slots - 1;
    for (let old = 0; old < entries.length; old++) {
      const entry = entries[old]!;
      if (entry === EMPTY) continue;
      const hash = hashes[old]!;
      let slot = hash & mask;
      while (grownEntries[slot] !== EMPTY) slot = (slot + 1) & mask;
      grownEntries[slot] = entry;
      grownHashes[slot] = hash;
    }
    shard.entries = grownEntries;
    shard.hashes = grownHashes;
    shard.limit = Math.floor((slots * shard.quarters) / 4);
  }
}
