// Reading stdin for `produce` and `import`: as lines (views of the chunks read, newline removed, no
// copying unless a line spans two chunks) or whole. It interprets no bytes.

/** Hands each line of stdin to `onLine`, awaiting it when it returns a promise (backpressure). */
export async function eachLine(onLine: (line: Buffer) => Promise<void> | undefined): Promise<void> {
  let rest: Buffer | null = null;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    const buf: Buffer = rest === null ? chunk : Buffer.concat([rest, chunk]);
    let start = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
      const r = onLine(buf.subarray(start, nl));
      if (r !== undefined) await r;
      start = nl + 1;
    }
    rest = start < buf.length ? buf.subarray(start) : null;
  }
  if (rest !== null) await onLine(rest);
}

/** All of stdin as one Buffer. */
export async function readAll(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
