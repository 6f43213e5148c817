// `onelog groups FILE list|describe|reset-offsets|delete`: consumer groups from a shell: their state,
// members and assignments, committed offsets and lag, and resetting or deleting them while they have no
// running members. Listing and describing open the file read-only.
import { decodeAssignment, type TopicPartitions } from '../../client/assignors.ts';
import { GroupCoordinator } from '../../client/group-coordinator.ts';
import { OnelogError } from '../../errors.ts';
import { BUSY_OPTION, boolFlag, busyTimeout, intFlag, parse, pointInTime, stringFlag } from '../args.ts';
import { withDatabase } from '../open-database.ts';
import { UsageError, type Output } from '../output.ts';
import { renderFields, renderTable } from '../table.ts';

export const GROUPS_HELP = `Usage: onelog groups FILE [list]
       onelog groups FILE describe G
       onelog groups FILE reset-offsets G --topic T (--to-earliest | --to-latest | --to-datetime D | --to-offset N) [--partition N]
       onelog groups FILE delete G

  list            groups with their state and protocol type (the default)
  describe        state, generation, members with their assignments, and per partition the committed
                  offset, the log end offset and the lag
  reset-offsets   commits new offsets for T's partitions (every partition unless --partition):
                  --to-earliest (logStartOffset), --to-latest (highWatermark), --to-datetime D (the
                  first record at or after D: ISO date, ms since the epoch or a duration ago like 2h),
                  --to-offset N (clamped into the log). The group must have no running members.
  delete          deletes the group and its committed offsets (no running members allowed)

Options:
  --busy-timeout MS   how long reset-offsets/delete wait for another process's writer lock (5000)
  --json              JSON Lines: list prints one object per group, reset-offsets one per partition;
                      describe and delete print one object
  --help              this text`;

/** A member's assignment as Kafka's ConsumerProtocol bytes decode it; null when they do not decode. */
function assignmentOf(bytes: Buffer): TopicPartitions[] | null {
  if (bytes.length === 0) return [];
  try {
    return decodeAssignment(bytes).assignment;
  } catch {
    return null;
  }
}

function assignmentText(a: TopicPartitions[] | null, bytes: Buffer): string {
  if (a === null) return `(${String(bytes.length)} bytes, not a consumer assignment)`;
  return a.map((tp) => `${tp.topic}:${tp.partitions.join(',')}`).join(' ') || '-';
}

function requireGroup(g: string | undefined, action: string): string {
  if (g === undefined || g === '') throw new UsageError(`groups ${action} needs the group id G.`);
  return g;
}

export async function groupsCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(
    args,
    {
      topic: { type: 'string' },
      partition: { type: 'string' },
      'to-earliest': { type: 'boolean' },
      'to-latest': { type: 'boolean' },
      'to-datetime': { type: 'string' },
      'to-offset': { type: 'string' },
      ...BUSY_OPTION,
    },
    ['FILE', 'ACTION', 'G'],
    2,
  );
  const [file, action = 'list', groupArg] = p.positionals as [string, string | undefined, string | undefined];
  const write = { write: true, busyTimeoutMs: busyTimeout(p) };
  switch (action) {
    case 'list':
      if (groupArg !== undefined) throw new UsageError('groups list takes no group id.');
      await withDatabase(file, { write: false }, (db) => {
        const groups = new GroupCoordinator(db.engine).listGroups();
        if (out.json) {
          for (const g of groups) out.result('', { ...g });
          return;
        }
        out.result(groups.length === 0 ? 'no groups' : renderTable(['group', 'state', 'protocol type'], groups.map((g) => [g.groupId, g.state, g.protocolType || '-'])), {});
      });
      return;
    case 'describe': {
      const group = requireGroup(groupArg, action);
      await withDatabase(file, { write: false }, (db) => {
        const engine = db.engine;
        const d = new GroupCoordinator(engine).describeGroup(group);
        if (d.state === 'Dead') throw new OnelogError('GROUP_ID_NOT_FOUND', `there is no group ${group} in this file: 'onelog groups FILE list' shows the groups.`);
        const owners = new Map<string, string>();
        const members = d.members.map((m) => {
          const assignment = assignmentOf(m.memberAssignment);
          for (const tp of assignment ?? []) for (const partition of tp.partitions) owners.set(`${tp.topic}\u0000${String(partition)}`, m.memberId);
          return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost, assignment: assignment ?? [], assignmentText: assignmentText(assignment, m.memberAssignment) };
        });
        const rows = new Map<string, { topic: string; partition: number; committed: number | null }>();
        for (const c of engine.fetchOffsets(group)) rows.set(`${c.topic}\u0000${String(c.partition)}`, { topic: c.topic, partition: c.partition, committed: c.offset });
        for (const key of owners.keys()) {
          if (rows.has(key)) continue;
          const [topic, partition] = key.split('\u0000') as [string, string];
          rows.set(key, { topic, partition: Number(partition), committed: null });
        }
        const offsets = [...rows.entries()]
          .map(([key, r]) => {
            const exists = (engine.describeTopic(r.topic)?.partitions ?? 0) > r.partition;
            const logEnd = exists ? engine.highWatermark(r.topic, r.partition) : null;
            const lag = logEnd === null ? null : r.committed === null ? logEnd - engine.logStartOffset(r.topic, r.partition) : Math.max(0, logEnd - r.committed);
            return { ...r, logEndOffset: logEnd, lag, memberId: owners.get(key) ?? null };
          })
          .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
        const json = { groupId: group, state: d.state, generationId: d.generationId, protocolType: d.protocolType, protocol: d.protocol, leader: d.leader, members, offsets };
        const head = renderFields([
          ['group', group],
          ['state', d.state],
          ['generation', String(d.generationId)],
          ['protocol', `${d.protocolType || '-'} ${d.protocol}`.trim()],
          ['members', String(members.length)],
        ]);
        const memberTable = members.length === 0 ? '' : `\n\n${renderTable(['member', 'client', 'host', 'assignment'], members.map((m) => [m.memberId, m.clientId, m.clientHost, m.assignmentText]))}`;
        const offsetTable =
          offsets.length === 0
            ? '\n\nno committed offsets'
            : `\n\n${renderTable(
                ['topic', 'partition', 'committed', 'log end', 'lag', 'member'],
                offsets.map((r) => [r.topic, String(r.partition), r.committed === null ? '-' : String(r.committed), r.logEndOffset === null ? '-' : String(r.logEndOffset), r.lag === null ? '-' : String(r.lag), r.memberId ?? '-']),
              )}`;
        out.result(`${head}${memberTable}${offsetTable}`, json);
      });
      return;
    }
    case 'reset-offsets': {
      const group = requireGroup(groupArg, action);
      const topic = stringFlag(p, 'topic');
      if (topic === undefined) throw new UsageError('groups reset-offsets needs --topic T.');
      const targets = [boolFlag(p, 'to-earliest'), boolFlag(p, 'to-latest'), p.values['to-datetime'] !== undefined, p.values['to-offset'] !== undefined].filter(Boolean).length;
      if (targets !== 1) throw new UsageError('groups reset-offsets needs exactly one of --to-earliest, --to-latest, --to-datetime D and --to-offset N.');
      const datetime = stringFlag(p, 'to-datetime');
      const timestamp = datetime === undefined ? null : pointInTime('to-datetime', datetime, Date.now());
      const toOffset = p.values['to-offset'] === undefined ? null : intFlag(p, 'to-offset', 0, 0);
      const only = p.values.partition === undefined ? null : intFlag(p, 'partition', 0, 0);
      await withDatabase(file, write, async (db) => {
        const engine = db.engine;
        const info = engine.describeTopic(topic);
        if (info === undefined) throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `there is no topic ${topic} in this file.`, { topic });
        if (only !== null && only >= info.partitions) throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} has partitions 0 to ${String(info.partitions - 1)}, not ${String(only)}.`, { topic });
        const partitions = only === null ? Array.from({ length: info.partitions }, (_, i) => i) : [only];
        const offsets = partitions.map((partition) => {
          const low = engine.logStartOffset(topic, partition);
          const high = engine.highWatermark(topic, partition);
          let offset: number;
          if (boolFlag(p, 'to-earliest')) offset = low;
          else if (timestamp !== null) offset = engine.offsetForTimestamp(topic, partition, timestamp)?.offset ?? high;
          else if (toOffset !== null) offset = Math.min(Math.max(toOffset, low), high);
          else offset = high;
          return { partition, offset: String(offset) };
        });
        await db.admin().setOffsets({ groupId: group, topic, partitions: offsets });
        if (out.json) {
          for (const o of offsets) out.result('', { groupId: group, topic, partition: o.partition, offset: Number(o.offset) });
          return;
        }
        out.result(`reset group ${group} on ${topic}:\n${renderTable(['partition', 'offset'], offsets.map((o) => [String(o.partition), o.offset]))}`, {});
      });
      return;
    }
    case 'delete': {
      const group = requireGroup(groupArg, action);
      await withDatabase(file, write, async (db) => {
        const { error } = await new GroupCoordinator(db.engine).deleteGroup(group);
        if (error === 'GROUP_ID_NOT_FOUND') throw new OnelogError('GROUP_ID_NOT_FOUND', `there is no group ${group} in this file: 'onelog groups FILE list' shows the groups.`);
        if (error === 'NON_EMPTY_GROUP') throw new OnelogError('NON_EMPTY_GROUP', `group ${group} has running members: stop its consumers first.`);
        out.result(`deleted group ${group}`, { deleted: group });
      });
      return;
    }
    default:
      throw new UsageError(`unknown groups action '${action}': use list, describe, reset-offsets or delete.`);
  }
}

