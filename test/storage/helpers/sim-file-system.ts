// An in-memory FileSystem for crash tests, modelling power loss the way SQLite's crash tests do: each file
// keeps a durable image plus the writes (zero() counts as a write of zeros) made since they were last synced,
// and a power cut keeps none of those writes, a random subset, or a random subset with one of them torn at a
// random byte. It can cut power at the N-th fdatasync (instead of completing it), make the N-th fdatasync fail
// with EIO, and implements OFD byte-range locks per handle. It must not touch the real disk, and it knows
// nothing of the engine or its file format.

import { OnelogError } from '../../../src/errors.ts';
import type { FileSystem, LockRange, OpenFileOptions, StorageFile } from '../../../src/storage/file-layer.ts';

/** What survives of the writes not yet synced when power is cut. */
export type CutMode = 'drop-all' | 'keep-some' | 'tear-one';

export const CUT_MODES: readonly CutMode[] = ['drop-all', 'keep-some', 'tear-one'];

/** An unsynced write, as a rule choosing survivors sees it. */
export interface UnsyncedWrite {
  readonly position: number;
  readonly length: number;
}

/** Which unsynced writes survive a cut: drawn from the seeded PRNG as a mode says, or named by a rule. */
export type CutRule = CutMode | ((write: UnsyncedWrite) => boolean);

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence on every machine. */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [low, high]. */
  range(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

function errnoError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** What every call on a handle that lived through a power cut throws: the process it belonged to is gone. */
function powerLossError(): Error {
  return errnoError('EPOWERLOSS', 'simulated power loss: this handle died with the machine');
}

/** A growable byte image of one file. */
class Image {
  bytes: Buffer;
  size: number;

  constructor(initial: Uint8Array) {
    this.bytes = Buffer.alloc(Math.max(initial.length, 4096));
    this.bytes.set(initial, 0);
    this.size = initial.length;
  }

  write(data: Uint8Array, position: number): void {
    const end = position + data.length;
    if (end > this.bytes.length) {
      const grown = Buffer.alloc(Math.max(end, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.size);
      this.bytes = grown;
    }
    this.bytes.set(data, position);
    this.size = Math.max(this.size, end);
  }

  contents(): Buffer {
    return Buffer.from(this.bytes.subarray(0, this.size));
  }

  truncate(size: number): void {
    if (size >= this.size) return;
    this.bytes.fill(0, size, this.size);
    this.size = size;
  }
}

interface PendingWrite {
  readonly seq: number;
  readonly position: number;
  readonly data: Buffer;
}

interface HeldLock {
  readonly owner: SimFile;
  readonly position: number;
  readonly length: number;
  readonly exclusive: boolean;
}

/** One file on the simulated disk. */
class DiskFile {
  current: Image;
  durable: Image;
  /** Writes made since the last sync that covered them, in issue order. */
  unsynced: PendingWrite[] = [];
  locks: HeldLock[] = [];

  constructor(initial: Uint8Array) {
    this.current = new Image(initial);
    this.durable = new Image(initial);
  }

  write(seq: number, data: Buffer, position: number): void {
    this.current.write(data, position);
    this.unsynced.push({ seq, position, data });
  }

  /**
   * A cut of the file: at once in the page cache, and on disk with the next sync. Modelled simply: writes
   * issued before it are persisted first (they are ordered before it), so a later power cut keeps either
   * the whole old tail or the cut file.
   */
  truncate(seq: number, size: number): void {
    this.persist(seq);
    this.current.truncate(size);
    this.durable.truncate(size);
  }

  /** A completed fdatasync: writes issued before it (seq < upTo) reach the disk, in order. */
  persist(upTo: number): void {
    while (this.unsynced.length > 0 && this.unsynced[0]!.seq < upTo) {
      const w = this.unsynced.shift()!;
      this.durable.write(w.data, w.position);
    }
  }

  /**
   * A failed fdatasync, as Linux reports one: the writes it covered are dropped from write-back (they stay
   * readable from the page cache but never reach the disk, so the next cut loses them).
   */
  lose(upTo: number): void {
    this.unsynced = this.unsynced.filter((w) => w.seq >= upTo);
  }
}

/** The machine: files, the global sync counter and the armed faults. */
class Machine {
  readonly files = new Map<string, DiskFile>();
  readonly prng: Prng;
  /** Incremented by every power cut; handles and syncs of an older epoch are dead. */
  epoch = 0;
  syncCount = 0;
  writeSeq = 0;
  cutAt: { readonly sync: number; readonly rule: CutRule } | null = null;
  failAt: number | null = null;
  cutWaiters: (() => void)[] = [];

  constructor(seed: number) {
    this.prng = new Prng(seed);
  }

  /** Counts a sync call and says what it does: complete, cut power instead, or fail with EIO. */
  beginSync(): 'complete' | 'cut' | 'fail' {
    this.syncCount++;
    if (this.cutAt !== null && this.cutAt.sync === this.syncCount) {
      const rule = this.cutAt.rule;
      this.cutAt = null;
      this.powerCut(rule);
      return 'cut';
    }
    if (this.failAt === this.syncCount) {
      this.failAt = null;
      return 'fail';
    }
    return 'complete';
  }

  powerCut(rule: CutRule): void {
    const rng = this.prng;
    for (const file of this.files.values()) {
      const image = new Image(file.durable.contents());
      const keepProbability = rng.next();
      let kept: PendingWrite[];
      if (typeof rule === 'function') kept = file.unsynced.filter((w) => rule({ position: w.position, length: w.data.length }));
      else if (rule === 'drop-all') kept = [];
      else kept = file.unsynced.filter(() => rng.chance(keepProbability));
      const torn = rule === 'tear-one' && kept.length > 0 ? rng.int(kept.length) : -1;
      kept.forEach((w, i) => {
        if (i !== torn) {
          image.write(w.data, w.position);
        } else if (w.data.length > 1) {
          const at = rng.range(1, w.data.length - 1);
          if (rng.chance(0.5)) image.write(w.data.subarray(0, at), w.position);
          else image.write(w.data.subarray(at), w.position + at);
        }
      });
      file.current = image;
      file.durable = new Image(image.contents());
      file.unsynced = [];
      file.locks = [];
    }
    this.epoch++;
    this.cutAt = null;
    this.failAt = null;
    const waiters = this.cutWaiters;
    this.cutWaiters = [];
    for (const w of waiters) w();
  }
}

/** A handle on a simulated file: one open file description (its locks are its own, as OFD locks are). */
class SimFile implements StorageFile {
  readonly #machine: Machine;
  readonly #file: DiskFile;
  readonly #readOnly: boolean;
  readonly #epoch: number;
  #closed = false;

  constructor(machine: Machine, file: DiskFile, readOnly: boolean) {
    this.#machine = machine;
    this.#file = file;
    this.#readOnly = readOnly;
    this.#epoch = machine.epoch;
  }

  get #dead(): boolean {
    return this.#epoch !== this.#machine.epoch;
  }

  #live(): void {
    if (this.#dead) throw powerLossError();
    if (this.#closed) throw errnoError('EBADF', 'bad file descriptor (the handle was closed)');
  }

  #writable(): void {
    this.#live();
    if (this.#readOnly) throw errnoError('EBADF', 'bad file descriptor (the handle is read-only)');
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.#live();
    const image = this.#file.current;
    const n = Math.max(0, Math.min(length, image.size - position));
    buffer.set(image.bytes.subarray(position, position + n), offset);
    return n;
  }

  write(buffer: Uint8Array, offset: number, length: number, position: number): void {
    this.#writable();
    this.#file.write(this.#machine.writeSeq++, Buffer.from(buffer.subarray(offset, offset + length)), position);
  }

  writev(buffers: readonly Uint8Array[], position: number): void {
    this.#writable();
    // One write, as the system call makes it: a power cut may keep, drop or tear it as a whole.
    this.#file.write(this.#machine.writeSeq++, Buffer.concat(buffers), position);
  }

  datasync(): Promise<void> {
    this.#live();
    const outcome = this.#machine.beginSync();
    // The machine died during this call: it never returns, like everything else the process was doing.
    if (outcome === 'cut') return new Promise<void>(() => undefined);
    const upTo = this.#machine.writeSeq;
    return new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        if (this.#dead) return;
        if (outcome === 'fail') {
          this.#file.lose(upTo);
          reject(errnoError('EIO', 'i/o error, fdatasync'));
        } else {
          this.#file.persist(upTo);
          resolve();
        }
      });
    });
  }

  datasyncSync(): void {
    this.#live();
    const outcome = this.#machine.beginSync();
    if (outcome === 'cut') throw powerLossError();
    if (outcome === 'fail') {
      this.#file.lose(this.#machine.writeSeq);
      throw errnoError('EIO', 'i/o error, fdatasync');
    }
    this.#file.persist(this.#machine.writeSeq);
  }

  zero(position: number, length: number): void {
    this.#writable();
    // As the node file layer does: only bytes inside the file are zeroed; the file never grows.
    const end = Math.min(position + length, this.#file.current.size);
    if (end <= position) return;
    this.#file.write(this.#machine.writeSeq++, Buffer.alloc(end - position), position);
  }

  truncate(size: number): void {
    this.#writable();
    this.#file.truncate(this.#machine.writeSeq++, size);
  }

  size(): number {
    this.#live();
    return this.#file.current.size;
  }

  tryLock(range: LockRange, exclusive: boolean): boolean {
    this.#live();
    if (exclusive && this.#readOnly) throw errnoError('EBADF', 'an exclusive lock needs a handle open for writing');
    const end = range.position + range.length;
    for (const l of this.#file.locks) {
      if (l.owner !== this && l.position < end && range.position < l.position + l.length && (exclusive || l.exclusive)) return false;
    }
    this.#release(range);
    this.#file.locks.push({ owner: this, position: range.position, length: range.length, exclusive });
    return true;
  }

  /** Releasing a lock never fails, even after a cut (the kernel's lock table went with the machine). */
  unlock(range: LockRange): void {
    if (this.#dead || this.#closed) return;
    this.#release(range);
  }

  /** Drops this handle's locks on `range`, keeping the parts of them outside it. */
  #release(range: LockRange): void {
    const end = range.position + range.length;
    const kept: HeldLock[] = [];
    for (const l of this.#file.locks) {
      const lEnd = l.position + l.length;
      if (l.owner !== this || lEnd <= range.position || end <= l.position) {
        kept.push(l);
        continue;
      }
      if (l.position < range.position) kept.push({ ...l, length: range.position - l.position });
      if (lEnd > end) kept.push({ ...l, position: end, length: lEnd - end });
    }
    this.#file.locks = kept;
  }

  /** Closing never fails, even after a cut; it releases this handle's locks. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#dead) this.#file.locks = this.#file.locks.filter((l) => l.owner !== this);
  }
}

/** The simulated file system. One instance is one machine: a power cut hits all of its files. */
export class SimFileSystem implements FileSystem {
  readonly #machine: Machine;

  constructor(seed: number) {
    this.#machine = new Machine(seed);
  }

  open(path: string, options: OpenFileOptions): StorageFile {
    const file = this.#machine.files.get(path);
    if (file === undefined) throw new OnelogError('FILE_NOT_FOUND', `No simulated file at ${path}.`);
    return new SimFile(this.#machine, file, options.readOnly);
  }

  /** Atomic and durable, as the real create is. */
  create(path: string, initial: Uint8Array): boolean {
    if (this.#machine.files.has(path)) return false;
    this.#machine.files.set(path, new DiskFile(initial));
    return true;
  }

  /** fdatasync calls (async and sync, on every handle) made so far. */
  get syncCount(): number {
    return this.#machine.syncCount;
  }

  /** Power cuts so far. */
  get cutCount(): number {
    return this.#machine.epoch;
  }

  /** What a reader sees in the file now (durable bytes plus writes not yet synced); a copy. */
  image(path: string): Buffer {
    const file = this.#machine.files.get(path);
    if (file === undefined) throw new Error(`no simulated file at ${path}`);
    return file.current.contents();
  }

  /** Cuts power now: unsynced writes survive as `rule` says, and every open handle dies. */
  powerCut(rule: CutRule): void {
    this.#machine.powerCut(rule);
  }

  /** Cuts power at the `sync`-th fdatasync (counting from the first of this machine), instead of completing it. */
  armCut(sync: number, rule: CutRule): void {
    this.#machine.cutAt = { sync, rule };
  }

  /** Makes the `sync`-th fdatasync fail with EIO; the writes it covered never reach the disk. */
  armSyncFailure(sync: number): void {
    this.#machine.failAt = sync;
  }

  /** Cancels an armed cut or sync failure that was not reached. */
  disarm(): void {
    this.#machine.cutAt = null;
    this.#machine.failAt = null;
  }

  /** Resolves at the next power cut. */
  nextCut(): Promise<void> {
    return new Promise<void>((resolve) => this.#machine.cutWaiters.push(resolve));
  }
}
