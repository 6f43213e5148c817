// Drives a fuzzing worker thread from the test's main thread: a watchdog per item turns a hang into a test
// failure, and the worker's outcomes and contract violations are collected. It runs no fuzzing itself.

import type { Worker } from 'node:worker_threads';

/** What a fuzzing worker posts: each item's start and result, then that it finished. */
export type WorkerMessage =
  | { readonly kind: 'start'; readonly label: string }
  | { readonly kind: 'done'; readonly outcome: string; readonly violation: string | null }
  | { readonly kind: 'finished' };

export interface WorkerReport {
  readonly violations: string[];
  /** How many items ended with each outcome. */
  readonly outcomes: Map<string, number>;
}

/** Collects the worker's reports; rejects when one item runs past `watchdogMs` or the worker dies. */
export function watchWorker(worker: Worker, watchdogMs: number): Promise<WorkerReport> {
  const violations: string[] = [];
  const outcomes = new Map<string, number>();
  return new Promise<WorkerReport>((resolve, reject) => {
    let current = '';
    let watchdog: NodeJS.Timeout | null = null;
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'start') {
        current = m.label;
        watchdog = setTimeout(() => {
          void worker.terminate();
          reject(new Error(`${current}: did not finish within ${String(watchdogMs)} ms (a hang)`));
        }, watchdogMs);
      } else if (m.kind === 'done') {
        if (watchdog !== null) clearTimeout(watchdog);
        outcomes.set(m.outcome, (outcomes.get(m.outcome) ?? 0) + 1);
        if (m.violation !== null) violations.push(`${current}: ${m.violation}`);
      } else {
        void worker.terminate().then(() => resolve({ violations, outcomes }));
      }
    });
    worker.on('error', (err: Error) => {
      if (watchdog !== null) clearTimeout(watchdog);
      reject(new Error(`${current}: the worker died: ${err.message}`, { cause: err }));
    });
  });
}
