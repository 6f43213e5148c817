// kafkajs consumer groups against `onelog serve`, each member a process of its own: three members share a
// 6-partition topic, one is SIGKILLed mid-way, its partitions move to the survivors, every record is
// consumed (again only after the killed member's last commit), and a new member resumes from the
// committed offsets. The scenario is test/server/helpers/group-kill-scenario.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memberOfHelper, runKillScenario, SESSION_TIMEOUT_MS } from './helpers/group-kill-scenario.ts';

test('kafkajs: 3 member processes, one SIGKILLed mid-way, partitions reassigned, every record consumed, commits honoured on restart', { timeout: 40_000 }, async (t) => {
  const result = await runKillScenario('kafkajs', memberOfHelper('kafkajs'));
  t.diagnostic(JSON.stringify(result));
  assert.ok(result.reassignedMs < SESSION_TIMEOUT_MS + 4_000, `reassigned ${String(result.reassignedMs)} ms after the kill`);
});
