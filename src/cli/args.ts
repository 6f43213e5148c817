// Flag parsing the commands share: node:util parseArgs (its errors become usage errors in main.ts),
// positional counts, integers, k=v lists, byte sizes and points in time. It opens nothing and knows no
// command.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from './output.ts';

export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

/** Parses `args` strictly; `names` are the positionals the command takes (extra ones are refused). */
export function parse(args: readonly string[], options: ParseArgsOptionsConfig, names: readonly string[], optional = 0): Parsed {
  const { values, positionals } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  const required = names.length - optional;
  if (positionals.length < required) throw new UsageError(`missing ${names.slice(positionals.length, required).join(' ')}.`);
  if (positionals.length > names.length) throw new UsageError(`unexpected argument '${positionals[names.length] ?? ''}'.`);
  return { values, positionals };
}

export function stringFlag(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function boolFlag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function listFlag(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** An integer flag within [min, max]; `fallback` when absent. */
export function intFlag(p: Parsed, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const text = stringFlag(p, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${String(min)}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${String(max)}`}, got '${text}'.`);
  }
  return n;
}

/** `k=v` pairs (repeatable flag) as a record; a bare `k` maps to null when `allowBare` (reset a config). */
export function keyValues(name: string, items: readonly string[], allowBare: boolean): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0 && !(allowBare && eq < 0 && item.length > 0)) throw new UsageError(`--${name} takes key=value${allowBare ? ' (or key alone to reset it)' : ''}, got '${item}'.`);
    Object.defineProperty(out, eq < 0 ? item : item.slice(0, eq), { value: eq < 0 ? null : item.slice(eq + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** A byte size such as 65536, 64k, 4MiB or 1g (binary units). */
export function byteSize(name: string, text: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m === null ? undefined : SIZE_UNITS[m[2]!.toLowerCase()];
  if (m === null || unit === undefined) throw new UsageError(`--${name} must be a size such as 65536, 64k or 4MiB, got '${text}'.`);
  return Number(m[1]) * unit;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A point in time: an ISO 8601 date (2026-01-01, 2026-01-01T00:00Z), ms since the epoch, or a duration ago (10m, 2h, 1d). */
export function pointInTime(name: string, text: string, now: number): number {
  const rel = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (rel !== null) return Math.round(now - Number(rel[1]) * DURATION_UNITS[rel[2]!]!);
  if (/^\d{10,}$/.test(text.trim())) return Number(text.trim());
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`--${name} takes an ISO date (2026-01-01T00:00Z), ms since the epoch or a duration ago (30s, 10m, 2h, 1d), got '${text}'.`);
  return t;
}

/** The option every command that writes accepts. */
export const BUSY_OPTION: ParseArgsOptionsConfig = { 'busy-timeout': { type: 'string' } };

/** --busy-timeout MS (default 5000): how long a write waits for another process's writer lock. */
export function busyTimeout(p: Parsed): number {
  return intFlag(p, 'busy-timeout', 5000, 0);
}
