// The file layer: the only interface through which the storage engine reads, writes, syncs and locks.
// It declares what a file must offer; it holds no logic of the engine. The real implementation, backed
// by node:fs, lives in node-file-layer.ts (the one module that touches node:fs); tests substitute a
// simulated one that models power loss.

export interface LockRange {
  readonly position: number;
  readonly length: number;
}

export interface StorageFile {
  /** Reads up to `length` bytes at `position` into `buffer[offset..]`; returns bytes read (short at EOF). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** Writes all of `buffer[offset..offset+length)` at `position`, extending the file when needed. */
  write(buffer: Uint8Array, offset: number, length: number, position: number): void;
  /** Writes `buffers` one after another from `position`: write() of their concatenation, in one system call where it can. */
  writev(buffers: readonly Uint8Array[], position: number): void;
  /**
   * Makes every write issued before this call durable (fdatasync). Rejects when the OS reports a failure;
   * the engine then enters its failed state and never retries.
   */
  datasync(): Promise<void>;
  /** The synchronous form of datasync, for checkpoints that must finish before the next write. */
  datasyncSync(): void;
  /** Makes `[position, position+length)` read as zeros (punching a hole where the OS can). */
  zero(position: number, length: number): void;
  /** Cuts the file to `size` bytes (never grows it); the new size is durable after the next datasync. */
  truncate(size: number): void;
  /** Current size of the file in bytes. */
  size(): number;
  /** Takes an advisory lock on a byte range without waiting; false when another holder has it. */
  tryLock(range: LockRange, exclusive: boolean): boolean;
  /** Releases a lock taken with tryLock. */
  unlock(range: LockRange): void;
  close(): void;
}

export interface OpenFileOptions {
  readonly readOnly: boolean;
}

export interface FileSystem {
  /** Opens an existing file; throws OnelogError FILE_NOT_FOUND when it is absent. */
  open(path: string, options: OpenFileOptions): StorageFile;
  /**
   * Creates `path` holding exactly `initial`, durably and atomically: other processes see either no file or
   * the whole initial image. Returns false when the file already exists (another creator won).
   */
  create(path: string, initial: Uint8Array): boolean;
}
