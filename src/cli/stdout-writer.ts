// Fast, backpressured writing of many small pieces to stdout (consume, export, dump): pieces are joined
// into large writes, and a closed pipe (`| head`) ends the command quietly instead of with an error.
// It formats nothing.

const FLUSH_AT = 256 * 1024;

export class StdoutWriter {
  #parts: (string | Buffer)[] = [];
  #size = 0;
  #closed = false;
  #error: Error | null = null;

  constructor() {
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      this.#closed = true;
      if (err.code !== 'EPIPE') this.#error = err;
    });
  }

  /** True once the reader went away: the command should stop producing output. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Queues a piece; call flush() regularly (it is cheap until FLUSH_AT bytes are queued). */
  write(piece: string | Buffer): void {
    this.#parts.push(piece);
    this.#size += piece.length;
  }

  /** Writes the queued pieces when there are enough (or `force`), waiting while stdout is full. */
  async flush(force = false): Promise<void> {
    if (this.#closed) {
      this.#parts = [];
      this.#size = 0;
      return;
    }
    if (this.#size === 0 || (!force && this.#size < FLUSH_AT)) return;
    const chunk = this.#parts.every((p) => typeof p === 'string') ? this.#parts.join('') : Buffer.concat(this.#parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    this.#parts = [];
    this.#size = 0;
    if (!process.stdout.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          process.stdout.off('drain', done);
          process.stdout.off('error', done);
          resolve();
        };
        process.stdout.on('drain', done);
        process.stdout.on('error', done);
      });
    }
  }

  /** Writes everything still queued and waits until stdout took it. */
  async end(): Promise<void> {
    await this.flush(true);
    if (this.#error !== null) throw this.#error;
    if (this.#closed) return;
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  }
}
