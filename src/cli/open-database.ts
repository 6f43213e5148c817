// How every command but `create` and `serve` opens its FILE: never creating it, read-only unless the
// command writes, and with errors that name the fix from a shell (not the library's option names).
import { OnelogBusyError, OnelogError } from '../errors.ts';
import { open, type Database } from '../client/database.ts';

export interface OpenFor {
  readonly write: boolean;
  readonly busyTimeoutMs?: number;
}

/** Opens an existing onelog file for a command; FILE_NOT_FOUND says how to create one. */
export async function openDatabase(file: string, how: OpenFor): Promise<Database> {
  try {
    return await open(file, how.write ? { create: false, busyTimeoutMs: how.busyTimeoutMs ?? 5000 } : { create: false, readOnly: true });
  } catch (err) {
    if (err instanceof OnelogError && err.code === 'FILE_NOT_FOUND') {
      throw new OnelogError('FILE_NOT_FOUND', `no onelog file at ${file}: check the path, or create one with 'onelog create ${file}'.`, { cause: err });
    }
    throw err;
  }
}

/** A BUSY error in the command line's words (the library's names its busyTimeoutMs option). */
function busy(file: string, how: OpenFor, err: unknown): unknown {
  if (!(err instanceof OnelogError) || err.code !== 'BUSY') return err;
  return new OnelogBusyError(`${file} is locked by another writer and stayed locked for the busy timeout (${String(how.busyTimeoutMs ?? 5000)} ms): retry later or raise --busy-timeout.`);
}

/** Runs `body` with the database open and closes it afterwards, whatever happens. */
export async function withDatabase<T>(file: string, how: OpenFor, body: (db: Database) => T | Promise<T>): Promise<T> {
  let db: Database;
  try {
    db = await openDatabase(file, how);
  } catch (err) {
    throw busy(file, how, err);
  }
  try {
    return await body(db);
  } catch (err) {
    throw busy(file, how, err);
  } finally {
    await db.close();
  }
}
