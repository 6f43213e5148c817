// `onelog topics FILE list|create|describe|delete|alter`: topic administration from a shell, over the
// engine's topic calls. Listing and describing open the file read-only.
import { OnelogError } from '../../errors.ts';
import type { TopicInfo } from '../../storage/engine.ts';
import { BUSY_OPTION, busyTimeout, intFlag, keyValues, listFlag, parse } from '../args.ts';
import { withDatabase } from '../open-database.ts';
import { allPartitionStats, summarize } from '../partition-stats.ts';
import { UsageError, type Output } from '../output.ts';
import { formatBytes, formatTime, renderFields, renderTable } from '../table.ts';

export const TOPICS_HELP = `Usage: onelog topics FILE [list]
       onelog topics FILE create NAME [--partitions N] [--config k=v]...
       onelog topics FILE describe NAME
       onelog topics FILE delete NAME
       onelog topics FILE alter NAME --config k=v [--config k]...

  list       topics with partitions, records, bytes and their non-default configs (the default)
  create     a new topic (1 partition unless --partitions); --config sets Kafka topic configs,
             e.g. --config compression.type=zstd --config cleanup.policy=delete
  describe   per partition: logStartOffset, highWatermark, records, bytes, oldest/newest timestamp
  delete     removes the topic, its records and the groups' offsets for it
  alter      --config k=v sets a config, --config k (no =) returns it to its default

Options:
  --busy-timeout MS   how long create/delete/alter wait for another process's writer lock (5000)
  --json              JSON Lines: list prints one object per topic; the others print one object
  --help              this text`;

function configText(configs: Readonly<Record<string, string>>): string {
  const entries = Object.entries(configs);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

function requireName(name: string | undefined, action: string): string {
  if (name === undefined) throw new UsageError(`topics ${action} needs the topic NAME.`);
  return name;
}

function topicOrThrow(info: TopicInfo | undefined, name: string): TopicInfo {
  if (info === undefined) throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `there is no topic ${name} in this file: 'onelog topics FILE list' shows the topics.`, { topic: name });
  return info;
}

export async function topicsCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(args, { partitions: { type: 'string' }, config: { type: 'string', multiple: true }, ...BUSY_OPTION }, ['FILE', 'ACTION', 'NAME'], 2);
  const [file, action = 'list', nameArg] = p.positionals as [string, string | undefined, string | undefined];
  const write = { write: true, busyTimeoutMs: busyTimeout(p) };
  switch (action) {
    case 'list': {
      if (nameArg !== undefined) throw new UsageError(`topics list takes no NAME.`);
      await withDatabase(file, { write: false }, (db) => {
        const stats = allPartitionStats(db.engine);
        const topics = db.engine.listTopics().map((t) => ({ ...summarize(t.name, stats.filter((s) => s.topic === t.name)), topicId: t.topicId, configs: t.configs }));
        if (out.json) {
          for (const t of topics) out.result('', t);
          return;
        }
        out.result(
          topics.length === 0 ? 'no topics' : renderTable(['topic', 'partitions', 'records', 'bytes', 'configs'], topics.map((t) => [t.name, String(t.partitions), String(t.records), formatBytes(t.bytes), configText(t.configs)])),
          {},
        );
      });
      return;
    }
    case 'create': {
      const name = requireName(nameArg, action);
      const partitions = intFlag(p, 'partitions', 1, 1);
      const configs = keyValues('config', listFlag(p, 'config'), false) as Record<string, string>;
      await withDatabase(file, write, async (db) => {
        const info = await db.engine.createTopic(name, { partitions, configs });
        out.result(`created topic ${info.name} with ${String(info.partitions)} partition${info.partitions === 1 ? '' : 's'}`, { ...info });
      });
      return;
    }
    case 'describe': {
      const name = requireName(nameArg, action);
      await withDatabase(file, { write: false }, (db) => {
        const info = topicOrThrow(db.engine.describeTopic(name), name);
        const partitions = allPartitionStats(db.engine, name);
        const head = renderFields([
          ['topic', info.name],
          ['topic id', info.topicId],
          ['partitions', String(info.partitions)],
          ['configs', configText(info.configs)],
        ]);
        const table = renderTable(
          ['partition', 'logStartOffset', 'highWatermark', 'records', 'bytes', 'oldest', 'newest'],
          partitions.map((s) => [String(s.partition), String(s.logStartOffset), String(s.highWatermark), String(s.records), formatBytes(s.bytes), formatTime(s.oldestTimestamp), formatTime(s.newestTimestamp)]),
        );
        out.result(`${head}\n\n${table}`, { ...info, partitionList: partitions });
      });
      return;
    }
    case 'delete': {
      const name = requireName(nameArg, action);
      await withDatabase(file, write, async (db) => {
        topicOrThrow(db.engine.describeTopic(name), name);
        await db.engine.deleteTopic(name);
        out.result(`deleted topic ${name}`, { deleted: name });
      });
      return;
    }
    case 'alter': {
      const name = requireName(nameArg, action);
      const change = keyValues('config', listFlag(p, 'config'), true);
      if (Object.keys(change).length === 0) throw new UsageError('topics alter needs at least one --config k=v (or --config k to reset k).');
      await withDatabase(file, write, async (db) => {
        topicOrThrow(db.engine.describeTopic(name), name);
        const info = await db.engine.alterTopicConfigs(name, change);
        out.result(`altered topic ${name}: ${configText(info.configs)}`, { ...info });
      });
      return;
    }
    default:
      throw new UsageError(`unknown topics action '${action}': use list, create, describe, delete or alter.`);
  }
}
