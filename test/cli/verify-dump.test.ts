// verify on a sound file and on one with bytes flipped inside a batch (exit 2, the damaged position
// printed), and dump showing batches with their headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { RECORD_BATCH_OVERHEAD } from '../../src/format/record-batch.ts';
import { jsonLines, runCli, tempDb } from './helpers/run-cli.ts';

async function filled(): Promise<string> {
  const file = tempDb();
  await runCli(['create', file, '--extent-size', '64k']);
  await runCli(['topics', file, 'create', 't', '--partitions', '2']);
  // Enough records for several extents per partition.
  const lines = Array.from({ length: 20_000 }, (_, i) => `${String(i)} record number ${String(i)}`).join('\n');
  const produced = await runCli(['produce', file, 't', '--key-separator', ' '], lines);
  assert.equal(produced.code, 0, produced.stderr);
  return file;
}

test('verify passes a sound file; dump lists its batches with their headers', async () => {
  const file = await filled();
  const verified = await runCli(['verify', file]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /is sound/);
  const json = jsonLines((await runCli(['verify', file, '--json'])).stdout)[0]!;
  assert.equal(json.ok, true);
  assert.equal(json.records, 20_000);
  assert.deepEqual(json.damage, []);

  const dump = await runCli(['dump', file, 't', '--partition', '0', '--json']);
  assert.equal(dump.code, 0, dump.stderr);
  const batches = jsonLines(dump.stdout) as { position: number; size: number; crcOk: boolean; header: { baseOffset: number; lastOffsetDelta: number; recordCount: number; magic: number } }[];
  assert.ok(batches.length > 1);
  let next = 0;
  for (const b of batches) {
    assert.equal(b.crcOk, true);
    assert.equal(b.header.magic, 2);
    assert.equal(b.header.baseOffset, next);
    next = b.header.baseOffset + b.header.lastOffsetDelta + 1;
  }
  const text = await runCli(['dump', file, 't', '--partition', '1', '--records']);
  assert.match(text.stdout, /^t-1 /);
  assert.match(text.stdout, /@\d+ {2}offsets 0-\d+ {2}records \d+ .* ok /);
  assert.match(text.stdout, /"key":"\d+","value":"record number \d+"/);
  assert.equal((await runCli(['dump', file, 'nope'])).code, 2);
});

test('verify finds bytes flipped inside a batch: exit 2 and the position of the damage', async () => {
  const file = await filled();
  const batches = jsonLines((await runCli(['dump', file, 't', '--partition', '1', '--json'])).stdout) as { position: number; size: number }[];
  const victim = batches[Math.floor(batches.length / 2)]!;
  const fd = fs.openSync(file, 'r+');
  const at = victim.position + RECORD_BATCH_OVERHEAD + 10;
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, at);
  byte[0] = byte[0]! ^ 0x5a;
  fs.writeSync(fd, byte, 0, 1, at);
  fs.closeSync(fd);

  const verified = await runCli(['verify', file]);
  assert.equal(verified.code, 2);
  assert.match(verified.stdout, new RegExp(`damage at position ${String(victim.position)}: t-1: CRC mismatch`));
  assert.match(verified.stderr, /damaged/);
  assert.equal(verified.stderr.trim().split('\n').length, 1);
  const json = await runCli(['verify', file, '--json']);
  assert.equal(json.code, 2);
  const report = jsonLines(json.stdout)[0]!;
  assert.equal(report.ok, false);
  assert.deepEqual(
    (report.damage as { position: number; partition: number }[]).map((d) => [d.position, d.partition]),
    [[victim.position, 1]],
  );
  const dump = jsonLines((await runCli(['dump', file, 't', '--partition', '1', '--json'])).stdout);
  assert.ok(dump.some((b) => b.position === victim.position && b.crcOk === false));
});
