// kcat (librdkafka's balanced consumer, -G) consumer groups against `onelog serve`: three kcat processes
// share a 6-partition topic with librdkafka's auto-commit (every 5 s: kcat's -X auto.commit.interval.ms
// sets the legacy topic property, not the consumer's), one is SIGKILLed mid-way, its partitions move
// to the survivors, every record is consumed (again only after the killed member's last commit), and a
// new kcat of the group resumes from the committed offsets. kcat must be installed: this fails, never
// skips, without it. The scenario is test/server/helpers/group-kill-scenario.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runKillScenario, SESSION_TIMEOUT_MS, type MemberCommand } from './helpers/group-kill-scenario.ts';

const kcatMember: MemberCommand = (broker, groupId, topic, clientId) => ({
  command: 'kcat',
  args: [
    '-b', broker, '-G', groupId, topic, '-u', '-f', '%p %o %k\\n',
    '-X', `client.id=${clientId}`,
    '-X', `session.timeout.ms=${String(SESSION_TIMEOUT_MS)}`,
    '-X', 'heartbeat.interval.ms=500',
    '-X', 'auto.offset.reset=earliest',
    '-X', 'enable.auto.commit=true',
    '-X', 'fetch.wait.max.ms=100',
  ],
});

test('kcat: 3 member processes, one SIGKILLed mid-way, partitions reassigned, every record consumed, commits honoured on restart', { timeout: 40_000 }, async (t) => {
  const result = await runKillScenario('kcat', kcatMember);
  t.diagnostic(JSON.stringify(result));
  assert.ok(result.reassignedMs < SESSION_TIMEOUT_MS + 4_000, `reassigned ${String(result.reassignedMs)} ms after the kill`);
});
