// Peer "sqlite": node:sqlite (DatabaseSync) in WAL mode, one table (k BLOB, v BLOB), inserts in
// transactions of 1000 rows under synchronous=FULL or OFF, and a read of all rows touching every key and
// value. It must stay a plain, idiomatic SQLite use: no tuning beyond what the comparison names.

import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { measure, ReadTally, recordCount, recordsAt, withTempDir, type Sample } from './measure.ts';

const ROWS_PER_TRANSACTION = 1000;

export type SqliteSync = 'FULL' | 'OFF';

export interface SqliteResult {
  readonly write: Sample;
  /** Present when the read was asked for: a scan of all rows of the database just written. */
  readonly read: Sample | undefined;
}

function openDatabase(file: string, sync: SqliteSync): DatabaseSync {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode=WAL');
  db.exec(`PRAGMA synchronous=${sync}`);
  return db;
}

/**
 * Inserts every record into a fresh database, then (when `expected` is given) reopens it and reads all
 * rows back, checking them against `expected`. Files are deleted afterwards.
 */
export async function sqliteRun(payload: Buffer, sync: SqliteSync, expected: ReadTally | undefined): Promise<SqliteResult> {
  return withTempDir(async (dir) => {
    const file = path.join(dir, 'bench.sqlite');
    const writer = openDatabase(file, sync);
    let write: Sample;
    try {
      writer.exec('CREATE TABLE t (k BLOB, v BLOB)');
      const insert = writer.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
      write = await measure((rss) => {
        const total = recordCount(payload);
        for (let start = 0; start < total; start += ROWS_PER_TRANSACTION) {
          writer.exec('BEGIN');
          for (const record of recordsAt(payload, start, Math.min(ROWS_PER_TRANSACTION, total - start))) {
            insert.run(record.key, record.value);
          }
          writer.exec('COMMIT');
          rss.sample();
        }
      });
    } finally {
      writer.close();
    }
    if (expected === undefined) return { write, read: undefined };

    const reader = openDatabase(file, sync);
    try {
      const select = reader.prepare('SELECT k, v FROM t');
      const tally = new ReadTally();
      const read = await measure((rss) => {
        for (const row of select.iterate()) {
          const k = row.k;
          const v = row.v;
          if (!(k instanceof Uint8Array) || !(v instanceof Uint8Array)) throw new Error('sqlite returned a non-BLOB row');
          tally.add(k, v);
          if ((tally.records & 0x3f) === 0) rss.sample();
        }
      });
      tally.expectSame(expected, `sqlite read (synchronous=${sync})`);
      return { write, read };
    } finally {
      reader.close();
    }
  });
}
