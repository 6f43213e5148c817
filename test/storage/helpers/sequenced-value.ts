// Record values for the multi-process tests: each encodes (writer id, per-writer sequence) followed by a
// padding whose length and bytes derive from both, so a reader can check every byte it got. Pure functions;
// no I/O and no engine calls.

const HEADER_BYTES = 8;
const MAX_PADDING = 200;

function paddingLength(writer: number, seq: number): number {
  return (seq * 7 + writer * 13) % MAX_PADDING;
}

function paddingByte(writer: number, seq: number, i: number): number {
  return (writer * 31 + seq + i) & 0xff;
}

export function encodeValue(writer: number, seq: number): Buffer {
  const length = paddingLength(writer, seq);
  const buf = Buffer.allocUnsafe(HEADER_BYTES + length);
  buf.writeUInt32BE(writer, 0);
  buf.writeUInt32BE(seq, 4);
  for (let i = 0; i < length; i++) buf[HEADER_BYTES + i] = paddingByte(writer, seq, i);
  return buf;
}

/** The (writer, seq) a value encodes, or null when any of its bytes is not what encodeValue writes. */
export function decodeValue(value: Buffer | null): { writer: number; seq: number } | null {
  if (value === null || value.length < HEADER_BYTES) return null;
  const writer = value.readUInt32BE(0);
  const seq = value.readUInt32BE(4);
  const length = paddingLength(writer, seq);
  if (value.length !== HEADER_BYTES + length) return null;
  for (let i = 0; i < length; i++) if (value[HEADER_BYTES + i] !== paddingByte(writer, seq, i)) return null;
  return { writer, seq };
}
