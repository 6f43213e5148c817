// `onelog create FILE`: makes a new, empty onelog database (refusing an existing file). It writes nothing
// else and leaves topics to `onelog topics`.
import { open } from '../../client/database.ts';
import { OnelogError } from '../../errors.ts';
import { DEFAULT_EXTENT_SIZE } from '../../format/file-layout.ts';
import { byteSize, parse, stringFlag } from '../args.ts';
import { formatBytes } from '../table.ts';
import type { Output } from '../output.ts';

export const CREATE_HELP = `Usage: onelog create FILE [options]

Creates a new, empty onelog database at FILE. Refuses to touch a file that exists.

Options:
  --extent-size SIZE   allocation unit of partitions: a power of two from 64KiB to 1GiB
                       (default 4MiB); a batch can be at most this big
  --json               print {"file","extentSize","databaseId"} as one JSON line
  --help               this text`;

export async function createCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(args, { 'extent-size': { type: 'string' } }, ['FILE']);
  const file = p.positionals[0]!;
  const sizeText = stringFlag(p, 'extent-size');
  const extentSize = sizeText === undefined ? DEFAULT_EXTENT_SIZE : byteSize('extent-size', sizeText);
  let existing;
  try {
    existing = await open(file, { create: false, readOnly: true });
  } catch (err) {
    if (!(err instanceof OnelogError && err.code === 'FILE_NOT_FOUND')) {
      if (err instanceof OnelogError && err.code === 'NOT_A_ONELOG_FILE') throw new OnelogError('INVALID_ARGUMENT', `${file} exists and is not a onelog file: choose another path.`);
      throw err;
    }
  }
  if (existing !== undefined) {
    await existing.close();
    throw new OnelogError('INVALID_ARGUMENT', `${file} already exists: choose another path, or use it as it is.`);
  }
  const db = await open(file, { extentSize });
  const stats = db.engine.stats();
  await db.close();
  out.result(`created ${file} (extent size ${formatBytes(stats.extentSize)})`, { file, extentSize: stats.extentSize, databaseId: stats.databaseId });
}
