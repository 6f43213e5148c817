// CRC-32C (Castagnoli), the checksum of Kafka record batches and of onelog's own structures: a thin
// wrapper over @node-rs/crc32 that accepts a byte range. It only computes; comparing is the caller's job.

import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC-32C of `data[start, end)` as an unsigned 32-bit number. `initial` continues a checksum over
 * preceding bytes (crc32c(a ++ b) === crc32c(b, 0, b.length, crc32c(a))).
 */
export function crc32c(data: Uint8Array, start = 0, end: number = data.length, initial = 0): number {
  const range = start === 0 && end === data.length ? data : data.subarray(start, end);
  return nativeCrc32c(range, initial) >>> 0;
}
