// Plain-text tables for TTY output: padded columns, numbers right-aligned, a bold header only on a TTY.
// It formats strings and writes nothing.
import { styled } from './output.ts';

/** Renders rows under a header; columns whose cells all look numeric are right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.,]+( [KMG]?i?B)?$|^-$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric[i] === true ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [styled(line(header), 'bold'), ...rows.map(line)].join('\n');
}

/** `key: value` lines with the keys aligned. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${styled(`${k}:`.padEnd(width + 1), 'bold')} ${v}`).join('\n');
}

/** A byte count in binary units (1.5 MiB). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${String(n)} B` : `${v.toFixed(1)} ${units[u]!}`;
}

/** A timestamp in ms as ISO 8601, or '-' for none (-1). */
export function formatTime(ms: number): string {
  return ms < 0 || !Number.isFinite(ms) ? '-' : new Date(ms).toISOString();
}
