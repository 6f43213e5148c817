// The real file layer over node:fs: positional reads and writes, fdatasync, hole punching and OFD byte-range
// locks (fs-native-extensions). This is the only module of onelog that touches node:fs. It must stay a thin
// mapping of StorageFile onto system calls: no caching, no engine logic.

import fs from 'node:fs';
import { dirname } from 'node:path';
import { tryLock, unlock, trimSync } from 'fs-native-extensions';
import { OnelogError } from '../errors.ts';
import type { FileSystem, LockRange, OpenFileOptions, StorageFile } from './file-layer.ts';

const ZERO_CHUNK = Buffer.alloc(1 << 16);

class NodeFile implements StorageFile {
  readonly #fd: number;
  #canPunch = true;

  constructor(fd: number) {
    this.#fd = fd;
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): number {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.#fd, buffer, offset + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  write(buffer: Uint8Array, offset: number, length: number, position: number): void {
    let done = 0;
    while (done < length) {
      done += fs.writeSync(this.#fd, buffer, offset + done, length - done, position + done);
    }
  }

  writev(buffers: readonly Uint8Array[], position: number): void {
    let rest = buffers;
    let at = position;
    while (rest.length > 0) {
      let done = fs.writevSync(this.#fd, rest, at);
      at += done;
      // A short write: drop the buffers written whole and write the remainder of the one cut.
      let i = 0;
      while (i < rest.length && done >= rest[i]!.length) done -= rest[i++]!.length;
      rest = i < rest.length && done > 0 ? [rest[i]!.subarray(done), ...rest.slice(i + 1)] : rest.slice(i);
    }
  }

  datasync(): Promise<void> {
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.#fd, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  datasyncSync(): void {
    fs.fdatasyncSync(this.#fd);
  }

  zero(position: number, length: number): void {
    if (length <= 0) return;
    const end = Math.min(position + length, this.size());
    if (end <= position) return;
    if (this.#canPunch) {
      try {
        trimSync(this.#fd, position, end - position);
        return;
      } catch {
        this.#canPunch = false;
      }
    }
    for (let p = position; p < end; p += ZERO_CHUNK.length) {
      this.write(ZERO_CHUNK, 0, Math.min(ZERO_CHUNK.length, end - p), p);
    }
  }

  truncate(size: number): void {
    if (size < this.size()) fs.ftruncateSync(this.#fd, size);
  }

  size(): number {
    return fs.fstatSync(this.#fd).size;
  }

  tryLock(range: LockRange, exclusive: boolean): boolean {
    return tryLock(this.#fd, range.position, range.length, { shared: !exclusive });
  }

  unlock(range: LockRange): void {
    unlock(this.#fd, range.position, range.length);
  }

  close(): void {
    fs.closeSync(this.#fd);
  }
}

export const nodeFileSystem: FileSystem = {
  open(path: string, options: OpenFileOptions): StorageFile {
    try {
      return new NodeFile(fs.openSync(path, options.readOnly ? 'r' : 'r+'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new OnelogError('FILE_NOT_FOUND', `No onelog file at ${path}: check the path, or open it with create: true to make a new database.`, { cause: err });
      }
      if (code === 'EISDIR') {
        throw new OnelogError('NOT_A_ONELOG_FILE', `${path} is a directory, not a onelog file: give the path of a database file.`, { cause: err });
      }
      throw new OnelogError('FAILED', `Cannot open ${path}: ${(err as Error).message}. Check the path and its permissions.`, { cause: err });
    }
  },
  create(path: string, initial: Uint8Array): boolean {
    const temp = `${path}.creating-${process.pid}-${Date.now()}`;
    let fd: number;
    try {
      fd = fs.openSync(temp, 'wx', 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new OnelogError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FAILED', `Cannot create ${path}: ${(err as Error).message}. Check that its directory exists and is writable.`, { cause: err });
    }
    try {
      fs.writeSync(fd, initial, 0, initial.length, 0);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(temp, path);
      const dir = fs.openSync(dirname(path), 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      fs.unlinkSync(temp);
    }
  },
};
