// A progress line on stderr for long commands (verify, export, import): drawn only when stderr is a TTY,
// redrawn at most every 100 ms, erased when done. It never touches stdout, which may be piped.
import { formatBytes } from './table.ts';

export interface Progress {
  /** `done` of `total` units (total null: unknown, a counter is shown). */
  update(done: number, total: number | null): void;
  /** Erases the line. */
  end(): void;
}

const WIDTH = 30;

/** A progress line labelled `label`, counting `unit` ('bytes' shows binary sizes). */
export function createProgress(label: string, unit: 'bytes' | 'records'): Progress {
  const stream = process.stderr;
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined };
  const started = Date.now();
  let last = 0;
  let drawn = false;
  const show = (n: number): string => (unit === 'bytes' ? formatBytes(n) : `${n.toLocaleString('en-US')} records`);
  return {
    update(done, total): void {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const rate = done / Math.max((now - started) / 1000, 0.001);
      const speed = unit === 'bytes' ? `${formatBytes(rate)}/s` : `${Math.round(rate).toLocaleString('en-US')}/s`;
      let text: string;
      if (total === null || total <= 0) {
        text = `${label} ${show(done)} ${speed}`;
      } else {
        const fraction = Math.min(1, done / total);
        const filled = Math.round(fraction * WIDTH);
        text = `${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${show(done)} ${speed}`;
      }
      stream.write(`\r\u001b[2K${text}`);
      drawn = true;
    },
    end(): void {
      if (drawn) stream.write('\r\u001b[2K');
    },
  };
}
