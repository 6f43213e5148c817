// Peer "physical": the payload's bytes written to one file with plain sequential fs.writeSync of 1 MiB
// buffers, with no fdatasync or with fdatasync every 4 MiB. It is the disk's ceiling, not a database;
// it must not frame, index or read anything back.

import fs from 'node:fs';
import path from 'node:path';
import { measure, withTempDir, type Sample } from './measure.ts';

const WRITE_BYTES = 1 << 20;
const SYNC_EVERY_BYTES = 4 << 20;

export type PhysicalMode = 'none' | 'fdatasync';

/** Writes all of `payload` to a fresh file and returns the time taken (the file is deleted afterwards). */
export async function physicalWrite(payload: Buffer, mode: PhysicalMode): Promise<Sample> {
  return withTempDir(async (dir) => {
    const fd = fs.openSync(path.join(dir, 'physical.bin'), 'w');
    try {
      return await measure((rss) => {
        let unsynced = 0;
        for (let pos = 0; pos < payload.length; pos += WRITE_BYTES) {
          const chunk = payload.subarray(pos, Math.min(pos + WRITE_BYTES, payload.length));
          let done = 0;
          while (done < chunk.length) done += fs.writeSync(fd, chunk, done, chunk.length - done, pos + done);
          unsynced += chunk.length;
          if (mode === 'fdatasync' && unsynced >= SYNC_EVERY_BYTES) {
            fs.fdatasyncSync(fd);
            unsynced = 0;
          }
          rss.sample();
        }
        if (mode === 'fdatasync' && unsynced > 0) fs.fdatasyncSync(fd);
      });
    } finally {
      fs.closeSync(fd);
    }
  });
}
