// Test assertion: a call or promise fails with an OnelogError of the given code. It asserts only; it
// makes no database and no files.

import assert from 'node:assert/strict';
import { OnelogError, type OnelogErrorCode } from '../../src/errors.ts';

/** Awaits `p` (or calls it, catching a synchronous throw) and returns the OnelogError it failed with. */
export async function rejectsWith(p: Promise<unknown> | (() => unknown), code: OnelogErrorCode): Promise<OnelogError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    assert.ok(err instanceof OnelogError, `expected OnelogError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected OnelogError ${code}`);
}
