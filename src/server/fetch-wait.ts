// Fetch's long poll: waits until any of several partitions has a record at or past a given offset, the
// time runs out, or the request is aborted. Waiters on the same partition and offset share one
// engine.waitForData, re-armed in short slices while anyone still listens, so repeated fetches that end
// early (data on another partition, a closed connection) leave at most one slice-long engine wait behind
// per partition instead of one per request. It reads no records and decides nothing about the response.
import type { Engine } from '../storage/engine.ts';

export interface WaitTarget {
  readonly topic: string;
  readonly partition: number;
  /** Wake once the partition's highWatermark is above this offset. */
  readonly offset: number;
}

/** One shared engine wait and the fetches listening to it. */
interface Watch {
  readonly listeners: Set<() => void>;
}

/** Longest single engine wait: a watch nobody listens to any more ends within this. */
const SLICE_MS = 250;

const watchesByEngine = new WeakMap<Engine, Map<string, Watch>>();

function watchesOf(engine: Engine): Map<string, Watch> {
  let watches = watchesByEngine.get(engine);
  if (watches === undefined) {
    watches = new Map();
    watchesByEngine.set(engine, watches);
  }
  return watches;
}

function arm(engine: Engine, watches: Map<string, Watch>, key: string, watch: Watch, target: WaitTarget): void {
  const settle = (ready: boolean): void => {
    if (!ready && watch.listeners.size > 0) {
      arm(engine, watches, key, watch, target);
      return;
    }
    watches.delete(key);
    for (const listener of [...watch.listeners]) listener();
  };
  // A failure (closed or failed engine, deleted topic) wakes the listeners: their next read reports it.
  engine.waitForData(target.topic, target.partition, target.offset, SLICE_MS).then(settle, () => settle(true));
}

function listen(engine: Engine, target: WaitTarget, listener: () => void): () => void {
  const watches = watchesOf(engine);
  const key = `${target.topic}\u0000${String(target.partition)}\u0000${String(target.offset)}`;
  let watch = watches.get(key);
  if (watch === undefined) {
    watch = { listeners: new Set() };
    watches.set(key, watch);
    arm(engine, watches, key, watch, target);
  }
  const current = watch;
  current.listeners.add(listener);
  return () => current.listeners.delete(listener);
}

/** Resolves once any target has data past its offset, after `timeoutMs`, or when `signal` aborts. */
export function waitForAny(engine: Engine, targets: readonly WaitTarget[], timeoutMs: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || timeoutMs <= 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const stops: (() => void)[] = [];
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      for (const stop of stops) stop();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    signal.addEventListener('abort', done);
    for (const target of targets) stops.push(listen(engine, target, done));
  });
}
