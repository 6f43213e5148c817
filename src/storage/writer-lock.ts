// The cross-process writer lock: OFD byte-range locks on the database file itself, with SQLite's PENDING
// idea for fairness (a waiter holds the pending byte so the current holder cannot immediately take the lock
// again) and a busy timeout. The kernel drops a dead holder's locks, which is how a crashed writer's lock is
// reclaimed. It only locks; it knows nothing of what the holder writes.

import { OnelogBusyError } from '../errors.ts';
import { LOCK_PENDING, LOCK_WRITE } from '../format/file-layout.ts';
import type { StorageFile } from './file-layer.ts';

const FIRST_RETRY_MS = 1;
const MAX_RETRY_MS = 8;

export class WriterLock {
  readonly #file: StorageFile;
  #held = false;
  #pendingHeld = false;

  constructor(file: StorageFile) {
    this.#file = file;
  }

  get held(): boolean {
    return this.#held;
  }

  /** One attempt, without waiting. */
  tryAcquire(): boolean {
    if (this.#held) return true;
    if (!this.#pendingHeld) {
      if (!this.#file.tryLock(LOCK_PENDING, true)) return false;
      this.#pendingHeld = true;
    }
    if (!this.#file.tryLock(LOCK_WRITE, true)) return false;
    this.#file.unlock(LOCK_PENDING);
    this.#pendingHeld = false;
    this.#held = true;
    return true;
  }

  /** Waits for the lock, polling with a short backoff, until `busyTimeoutMs` has passed. */
  async acquire(busyTimeoutMs: number, path: string): Promise<void> {
    const deadline = Date.now() + busyTimeoutMs;
    let wait = FIRST_RETRY_MS;
    while (!this.tryAcquire()) {
      if (Date.now() >= deadline) {
        this.#dropPending();
        throw new OnelogBusyError(
          `${path} is locked by another writer and stayed locked for the busy timeout (${busyTimeoutMs} ms): retry later or raise busyTimeoutMs.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(MAX_RETRY_MS, wait * 2);
    }
  }

  /** True when another handle is waiting for the lock (it holds the pending byte). */
  othersWaiting(): boolean {
    if (this.#file.tryLock(LOCK_PENDING, true)) {
      this.#file.unlock(LOCK_PENDING);
      return false;
    }
    return true;
  }

  release(): void {
    if (this.#held) {
      this.#file.unlock(LOCK_WRITE);
      this.#held = false;
    }
    this.#dropPending();
  }

  #dropPending(): void {
    if (this.#pendingHeld) {
      this.#file.unlock(LOCK_PENDING);
      this.#pendingHeld = false;
    }
  }
}
