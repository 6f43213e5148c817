// The latest-offset map of a compaction pass: key bytes to the highest offset seen for them, held in
// typed arrays (an open-addressing table over an arena of key bytes) so that a pass over millions of keys
// costs the garbage collector nothing and about 20 bytes per key plus the keys themselves. Keys are
// compared byte for byte, never by hash alone. It does no I/O and knows nothing of records or batches.

const EMPTY = -1;
const INITIAL_SLOTS = 1 << 10;
const INITIAL_ARENA = 1 << 16;

/** FNV-1a over `key[start, end)`, as an unsigned 32-bit number. */
function hashBytes(key: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
  // Final mixing (murmur3's fmix32), so that the low bits used as a slot index depend on every byte.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class KeyOffsetMap {
  /** Per slot: the entry index, or EMPTY. Its length is a power of two, at most half full. */
  #slots = new Int32Array(INITIAL_SLOTS).fill(EMPTY);
  /** Per entry: where its key lies in the arena, its length, its hash and its offset. */
  #keyStart = new Float64Array(INITIAL_SLOTS / 2);
  #keyLength = new Int32Array(INITIAL_SLOTS / 2);
  #hash = new Uint32Array(INITIAL_SLOTS / 2);
  #offset = new Float64Array(INITIAL_SLOTS / 2);
  #arena = new Uint8Array(INITIAL_ARENA);
  #arenaUsed = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The slot holding `key`, or the empty slot where it would go. */
  #find(key: Uint8Array, hash: number): number {
    const mask = this.#slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.#slots[slot]!;
      if (entry === EMPTY) return slot;
      if (this.#hash[entry] === hash && this.#keyLength[entry] === key.length && this.#sameKey(entry, key)) return slot;
    }
  }

  #sameKey(entry: number, key: Uint8Array): boolean {
    const arena = this.#arena;
    const start = this.#keyStart[entry]!;
    for (let i = 0; i < key.length; i++) if (arena[start + i] !== key[i]) return false;
    return true;
  }

  /** The offset stored for `key`, or undefined. */
  get(key: Uint8Array): number | undefined {
    const entry = this.#slots[this.#find(key, hashBytes(key, 0, key.length))]!;
    return entry === EMPTY ? undefined : this.#offset[entry];
  }

  /**
   * Stores `offset` for `key` when it is higher than the one stored (or none is). Returns true when the key
   * already had a lower offset (a record of it was superseded).
   */
  raise(key: Uint8Array, offset: number): boolean {
    const hash = hashBytes(key, 0, key.length);
    let slot = this.#find(key, hash);
    const entry = this.#slots[slot]!;
    if (entry !== EMPTY) {
      if (this.#offset[entry]! >= offset) return false;
      this.#offset[entry] = offset;
      return true;
    }
    if ((this.#size + 1) * 2 > this.#slots.length) {
      this.#grow();
      slot = this.#find(key, hash);
    }
    const added = this.#size++;
    if (added === this.#offset.length) this.#growEntries();
    if (this.#arenaUsed + key.length > this.#arena.length) this.#growArena(key.length);
    this.#arena.set(key, this.#arenaUsed);
    this.#keyStart[added] = this.#arenaUsed;
    this.#keyLength[added] = key.length;
    this.#hash[added] = hash;
    this.#offset[added] = offset;
    this.#arenaUsed += key.length;
    this.#slots[slot] = added;
    return false;
  }

  #grow(): void {
    const slots = new Int32Array(this.#slots.length * 2).fill(EMPTY);
    const mask = slots.length - 1;
    for (let entry = 0; entry < this.#size; entry++) {
      let slot = this.#hash[entry]! & mask;
      while (slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      slots[slot] = entry;
    }
    this.#slots = slots;
  }

  #growEntries(): void {
    const capacity = this.#offset.length * 2;
    const keyStart = new Float64Array(capacity);
    keyStart.set(this.#keyStart);
    this.#keyStart = keyStart;
    const keyLength = new Int32Array(capacity);
    keyLength.set(this.#keyLength);
    this.#keyLength = keyLength;
    const hash = new Uint32Array(capacity);
    hash.set(this.#hash);
    this.#hash = hash;
    const offset = new Float64Array(capacity);
    offset.set(this.#offset);
    this.#offset = offset;
  }

  #growArena(needed: number): void {
    const arena = new Uint8Array(Math.max(this.#arena.length * 2, this.#arenaUsed + needed));
    arena.set(this.#arena.subarray(0, this.#arenaUsed));
    this.#arena = arena;
  }
}
