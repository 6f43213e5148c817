// Test helper: the no-leak check of retention, compaction and vacuum tests — every extent of the file is
// free, owned by a partition, or the metadata extent. It reads the engine's public stats and layout only.
import assert from 'node:assert/strict';
import type { Engine } from '../../../src/storage/engine.ts';

/** No extent leaked: the free ones, the partitions' ones and the meta extent are every extent of the file. */
export function assertAccounted(db: Engine, what: string): void {
  const stats = db.stats();
  const owned = db.layout().partitions.reduce((n, p) => n + p.extents.length, 0);
  assert.equal(stats.freeExtents + owned + 1, stats.extentCount, `${what}: ${stats.freeExtents} free + ${owned} owned + 1 meta != ${stats.extentCount} extents`);
}
