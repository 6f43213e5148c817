// Checks that src/protocol/generated is exactly what scripts/generate-protocol.ts produces from the
// message specs now: regenerating into a temporary directory must give byte-identical files. Skipped
// when the specs (outside the repository, in ../shared) are not present. It never writes into the repo.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const specsDir = path.resolve(repoRoot, '../shared/kafka-message-specs');
const committed = path.join(repoRoot, 'src/protocol/generated');

test('regenerating gives byte-identical files', () => {
  assert.ok(existsSync(specsDir), `Kafka's message specs must be at ${specsDir} (../shared beside the repo, as in CI)`);
  const outDir = mkdtempSync(path.join(tmpdir(), 'onelog-generated-'));
  try {
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts/generate-protocol.ts'), outDir], { stdio: 'pipe' });
    const files = readdirSync(outDir).sort();
    assert.deepStrictEqual(readdirSync(committed).sort(), files);
    for (const file of files) {
      assert.ok(
        readFileSync(path.join(outDir, file)).equals(readFileSync(path.join(committed, file))),
        `${file} differs from a fresh generation: run npm run generate`,
      );
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
