// Write combining for the engine's file: the batches a round of group commit appends are held and reach
// the file as one vectored write per run of adjacent batches, instead of one system call per batch.
// It must never let an operation observe or overtake a held write: every call other than hold() (reads,
// writes, syncs, zeroing, truncation, size, locks, close) first issues everything held, in order.

import type { LockRange, StorageFile } from './file-layer.ts';

/** Held bytes that make a run issue at once (a run also issues when another operation needs the file). */
const MAX_RUN_BYTES = 8 * 1024 * 1024;
/** Buffers in one run at most (below the usual IOV_MAX of 1024). */
const MAX_RUN_BUFFERS = 512;
/** Runs held at once at most: one per partition being appended to, as round-robin producers make them. */
const MAX_RUNS = 64;

/** Adjacent held writes: `buffers` go one after another from `position` to `end`. */
interface Run {
  readonly position: number;
  end: number;
  readonly buffers: Uint8Array[];
}

export class CombiningFile implements StorageFile {
  readonly #file: StorageFile;
  /** Held runs by the position where they end, where the next batch of their partition continues them. */
  #runs = new Map<number, Run>();

  constructor(file: StorageFile) {
    this.#file = file;
  }

  /**
   * Holds `buffer` for writing at `position` until flush() or another operation on the file. The caller
   * hands the buffer over: it must not change it afterwards. A write overlapping a held one issues
   * everything held first, so the later bytes still win.
   */
  hold(buffer: Uint8Array, position: number): void {
    const end = position + buffer.length;
    let run = this.#runs.get(position);
    if (this.#overlapsHeld(position, end)) {
      this.flush();
      run = undefined;
    }
    if (run === undefined) {
      if (this.#runs.size >= MAX_RUNS) this.flush();
      run = { position, end: position, buffers: [] };
    } else {
      this.#runs.delete(position);
    }
    run.buffers.push(buffer);
    run.end = end;
    if (run.end - run.position >= MAX_RUN_BYTES || run.buffers.length >= MAX_RUN_BUFFERS) this.#issue(run);
    else this.#runs.set(end, run);
  }

  /** Issues every held write. */
  flush(): void {
    if (this.#runs.size === 0) return;
    const runs = [...this.#runs.values()];
    this.#runs = new Map();
    for (const run of runs) this.#issue(run);
  }

  #overlapsHeld(position: number, end: number): boolean {
    for (const run of this.#runs.values()) {
      if (position < run.end && end > run.position) return true;
    }
    return false;
  }

  #issue(run: Run): void {
    if (run.buffers.length === 1) {
      const only = run.buffers[0]!;
      this.#file.write(only, 0, only.length, run.position);
    } else {
      this.#file.writev(run.buffers, run.position);
    }
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.flush();
    return this.#file.read(buffer, offset, length, position);
  }

  write(buffer: Uint8Array, offset: number, length: number, position: number): void {
    this.flush();
    this.#file.write(buffer, offset, length, position);
  }

  writev(buffers: readonly Uint8Array[], position: number): void {
    this.flush();
    this.#file.writev(buffers, position);
  }

  datasync(): Promise<void> {
    this.flush();
    return this.#file.datasync();
  }

  datasyncSync(): void {
    this.flush();
    this.#file.datasyncSync();
  }

  zero(position: number, length: number): void {
    this.flush();
    this.#file.zero(position, length);
  }

  truncate(size: number): void {
    this.flush();
    this.#file.truncate(size);
  }

  size(): number {
    this.flush();
    return this.#file.size();
  }

  tryLock(range: LockRange, exclusive: boolean): boolean {
    this.flush();
    return this.#file.tryLock(range, exclusive);
  }

  unlock(range: LockRange): void {
    this.flush();
    this.#file.unlock(range);
  }

  close(): void {
    this.flush();
    this.#file.close();
  }
}
