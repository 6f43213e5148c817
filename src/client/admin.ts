// The kafkajs-shaped admin client over one database file: topics, partitions, topic configs, offsets by
// time, deleting records, and group offsets and descriptions. Argument and result shapes follow kafkajs;
// a file has one "broker" (node 0) leading every partition. It produces and consumes nothing and never
// joins or leaves a group: group state comes from the consumer-group coordinator, which also refuses
// offset changes and deletions of groups that have live members.

import { OnelogError } from '../errors.ts';
import type { Engine, TopicInfo } from '../storage/engine.ts';
import { describeTopicConfigs, replacingTopicConfigs } from '../storage/topic-rules.ts';
import { ERROR_CODES } from '../protocol/error-codes.ts';
import { GroupCoordinator } from './group-coordinator.ts';
import { partitionMetadataOf } from './partitioner.ts';
import { retrying } from './producer.ts';
import {
  ConfigResourceTypes,
  ConfigSource,
  type AlterConfigsResponse,
  type ConfigEntries,
  type DeleteGroupsResult,
  type DescribeConfigResponse,
  type FetchOffsetsPartition,
  type GroupDescriptions,
  type GroupOverview,
  type IResourceConfig,
  type IResourceConfigEntry,
  type ITopicConfig,
  type ITopicMetadata,
  type ITopicPartitionConfig,
  type ResourceConfigQuery,
  type RetryOptions,
  type SeekEntry,
} from './types.ts';

export interface AdminConfig {
  /** Retries of changes failing with a retriable error (the writer lock BUSY); kafkajs' defaults. */
  retry?: RetryOptions;
}

const EARLIEST_OFFSET = -2;
const LATEST_OFFSET = -1;

function invalid(message: string): OnelogError {
  return new OnelogError('INVALID_ARGUMENT', message);
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`Invalid ${what} ${JSON.stringify(value)}: a non-empty string is required.`);
  return value;
}

function requireArray<T>(value: readonly T[] | undefined, what: string): readonly T[] {
  if (!Array.isArray(value)) throw invalid(`Invalid ${what}: an array is required.`);
  return value as readonly T[];
}

/** Runs `work` now and reports its result or failure as a promise, as an async kafkajs method does. */
function promised<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    resolve(work());
  });
}

/** Throws the first rejection among `results`, after all settled. */
function throwFirstFailure(results: readonly PromiseSettledResult<unknown>[]): void {
  for (const r of results) {
    if (r.status === 'rejected') {
      const reason: unknown = r.reason;
      throw reason;
    }
  }
}

function unknownTopic(topic: string): OnelogError {
  return new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${topic} does not exist in this database.`, { topic });
}

function configsOf(topic: string, entries: readonly IResourceConfigEntry[] | undefined): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const [i, entry] of (entries ?? []).entries()) {
    const { name, value } = entry as { name: unknown; value: unknown };
    if (typeof name !== 'string' || typeof value !== 'string') throw invalid(`Invalid configEntries for topic "${topic}": entry ${i} needs string "name" and "value".`);
    configs[name] = value;
  }
  return configs;
}

/** A requested offset as a safe integer (kafkajs passes offsets as decimal strings). */
function offsetOf(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw invalid(`Invalid offset ${JSON.stringify(value)} for ${what}: a decimal integer string is required.`);
  return n;
}

export class Admin {
  readonly #engine: Engine;
  readonly #numPartitions: number;
  readonly #groups: GroupCoordinator;
  readonly #retry: RetryOptions;

  /** `numPartitions`: partitions of a topic created without numPartitions (the database's default). */
  constructor(engine: Engine, numPartitions = 1, config: AdminConfig = {}) {
    this.#engine = engine;
    this.#numPartitions = numPartitions;
    this.#retry = config.retry ?? {};
    this.#groups = new GroupCoordinator(engine);
  }

  /** Nothing to connect to: kept so kafkajs code runs unchanged. */
  async connect(): Promise<void> {
    // The database is open already.
  }

  /** Nothing to disconnect: the database stays open until Database.close(). */
  async disconnect(): Promise<void> {
    // The database is closed by Database.close().
  }

  listTopics(): Promise<string[]> {
    return promised(() => this.#engine.listTopics().map((t) => t.name));
  }

  /**
   * Creates the topics, each on its own as Kafka does. Resolves true when all were created (or, with
   * validateOnly, would be), false when every one that was not had already existed; every other failure
   * throws after the others were created.
   */
  async createTopics(options: { topics: ITopicConfig[]; validateOnly?: boolean; waitForLeaders?: boolean; timeout?: number }): Promise<boolean> {
    const topics = requireArray(options.topics, 'topics array');
    const names = new Set<string>();
    const plans = topics.map((t) => {
      const topic = requireString(t.topic, 'topic name');
      if (names.has(topic)) throw invalid(`Invalid topics array: topic ${topic} appears more than once.`);
      names.add(topic);
      const configs = configsOf(topic, t.configEntries);
      const numPartitions = t.replicaAssignment !== undefined && t.replicaAssignment.length > 0 ? t.replicaAssignment.length : (t.numPartitions ?? -1);
      return { topic, configs, partitions: numPartitions === -1 ? this.#numPartitions : numPartitions };
    });
    const results = await Promise.allSettled(
      plans.map(async ({ topic, configs, partitions }) => {
        if (options.validateOnly === true) {
          this.#engine.checkCreateTopic(topic, { partitions, configs });
          return;
        }
        await this.#retrying(() => this.#engine.createTopic(topic, { partitions, configs }));
      }),
    );
    const failures = results.filter((r) => r.status === 'rejected');
    if (failures.length === 0) return true;
    throwFirstFailure(failures.filter((r) => !(r.reason instanceof OnelogError && r.reason.code === 'TOPIC_EXISTS')));
    return false;
  }

  /** Deletes the topics (their records and committed group offsets); throws the first failure after trying all. */
  async deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void> {
    const topics = requireArray(options.topics, 'topics array').map((t) => requireString(t, 'topic name'));
    const results = await Promise.allSettled(topics.map((t) => this.#retrying(() => this.#engine.deleteTopic(t))));
    throwFirstFailure(results);
  }

  /** Raises topics' partition counts to `count` (assignments are ignored); resolves true, as kafkajs' type says. */
  async createPartitions(options: { topicPartitions: ITopicPartitionConfig[]; validateOnly?: boolean; timeout?: number }): Promise<boolean> {
    const entries = requireArray(options.topicPartitions, 'topicPartitions array');
    const names = new Set<string>();
    for (const e of entries) {
      const topic = requireString(e.topic, 'topic name');
      if (names.has(topic)) throw invalid(`Invalid topicPartitions array: topic ${topic} appears more than once.`);
      names.add(topic);
    }
    const results = await Promise.allSettled(
      entries.map(async ({ topic, count }) => {
        if (options.validateOnly === true) this.#engine.checkCreatePartitions(topic, count);
        else await this.#retrying(() => this.#engine.createPartitions(topic, count));
      }),
    );
    throwFirstFailure(results);
    return true;
  }

  /** Metadata of the named topics (all topics when none are named); an unknown topic throws. */
  fetchTopicMetadata(options?: { topics?: string[] }): Promise<{ topics: ITopicMetadata[] }> {
    return promised(() => {
      const names = options?.topics === undefined || options.topics.length === 0 ? this.#engine.listTopics().map((t) => t.name) : options.topics;
      return { topics: names.map((name) => ({ name, partitions: partitionMetadataOf(this.#describe(name).partitions) })) };
    });
  }

  /** Per partition: offset and high = highWatermark, low = logStartOffset (decimal strings). */
  fetchTopicOffsets(topic: string): Promise<(SeekEntry & { high: string; low: string })[]> {
    return promised(() => {
      const info = this.#describe(requireString(topic, 'topic'));
      return Array.from({ length: info.partitions }, (_, partition) => {
        const high = String(this.#engine.highWatermark(topic, partition));
        return { partition, offset: high, high, low: String(this.#engine.logStartOffset(topic, partition)) };
      });
    });
  }

  /**
   * Per partition, the offset of the first record whose timestamp is >= `timestamp`, or the
   * highWatermark when there is none (as kafkajs reports it). Without a timestamp: the highWatermark.
   */
  fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<SeekEntry[]> {
    return promised(() => {
      const info = this.#describe(requireString(topic, 'topic'));
      return Array.from({ length: info.partitions }, (_, partition) => {
        const found = timestamp === undefined ? null : this.#engine.offsetForTimestamp(topic, partition, timestamp);
        return { partition, offset: String(found === null ? this.#engine.highWatermark(topic, partition) : found.offset) };
      });
    });
  }

  /**
   * A group's committed offsets: for each named topic every partition ('-1' where none is committed);
   * without topics, every topic the group has committed to. resolveOffsets turns -1/-2 (also "none")
   * into the highWatermark/logStartOffset and commits them, as kafkajs does.
   */
  async fetchOffsets(options: { groupId: string; topics?: string[]; resolveOffsets?: boolean }): Promise<{ topic: string; partitions: FetchOffsetsPartition[] }[]> {
    const groupId = requireString(options.groupId, 'groupId');
    const committed = this.#engine.fetchOffsets(groupId);
    const topics = options.topics === undefined || options.topics.length === 0 ? [...new Set(committed.map((o) => o.topic))] : options.topics;
    const result = topics.map((topic) => {
      const info = this.#describe(topic);
      const partitions = Array.from({ length: info.partitions }, (_, partition): FetchOffsetsPartition => {
        const c = committed.find((o) => o.topic === topic && o.partition === partition);
        return { partition, offset: c === undefined ? String(LATEST_OFFSET) : String(c.offset), metadata: c?.metadata ?? null };
      });
      return { topic, partitions };
    });
    if (options.resolveOffsets !== true) return result;
    for (const entry of result) {
      for (const p of entry.partitions) {
        const offset = Number(p.offset);
        if (offset === LATEST_OFFSET) p.offset = String(this.#engine.highWatermark(entry.topic, p.partition));
        else if (offset === EARLIEST_OFFSET) p.offset = String(this.#engine.logStartOffset(entry.topic, p.partition));
      }
      await this.setOffsets({ groupId, topic: entry.topic, partitions: entry.partitions });
    }
    return result;
  }

  /**
   * Commits, for every partition of `topic`, the logStartOffset (earliest) or the highWatermark (latest,
   * the default). The group must have no live members.
   */
  async resetOffsets(options: { groupId: string; topic: string; earliest?: boolean }): Promise<void> {
    const topic = requireString(options.topic, 'topic');
    const info = this.#describe(topic);
    const partitions = Array.from({ length: info.partitions }, (_, partition) => ({
      partition,
      offset: String(options.earliest === true ? this.#engine.logStartOffset(topic, partition) : this.#engine.highWatermark(topic, partition)),
    }));
    await this.setOffsets({ groupId: options.groupId, topic, partitions });
  }

  /** Commits the given offsets for the group; refused while the group has live members (as kafkajs). */
  async setOffsets(options: { groupId: string; topic: string; partitions: SeekEntry[] }): Promise<void> {
    const groupId = requireString(options.groupId, 'groupId');
    const topic = requireString(options.topic, 'topic');
    const partitions = requireArray(options.partitions, 'partitions');
    if (partitions.length === 0) throw invalid('Invalid partitions: at least one { partition, offset } is required.');
    const info = this.#describe(topic);
    const offsets = partitions.map((p) => {
      if (!Number.isInteger(p.partition) || p.partition < 0 || p.partition >= info.partitions) {
        throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${topic} has partitions 0 to ${info.partitions - 1}, not ${String(p.partition)}.`, { topic, partition: p.partition });
      }
      return { topic, partition: p.partition, offset: offsetOf(p.offset, `${topic}-${p.partition}`) };
    });
    // A commit with no generation, which the coordinator accepts only while the group has no members.
    const { error } = await this.#retrying(() => this.#groups.commitOffsets({ groupId, generationId: -1, memberId: '', offsets }));
    if (error !== 'NONE') throw new OnelogError(error, `Group ${groupId} has running members (${error}): stop its consumers before setting its offsets.`);
  }

  /** Every group with committed offsets or a membership record. */
  listGroups(): Promise<{ groups: GroupOverview[] }> {
    return promised(() => ({ groups: this.#groups.listGroups().map(({ groupId, protocolType }) => ({ groupId, protocolType })) }));
  }

  /** Groups as the coordinator's membership records show them ('Dead': neither members nor offsets). */
  describeGroups(groupIds: string[]): Promise<GroupDescriptions> {
    return promised(() => {
      const ids = requireArray(groupIds, 'groupIds array').map((g) => requireString(g, 'groupId'));
      return {
        groups: ids.map((groupId) => {
          const d = this.#groups.describeGroup(groupId);
          return {
            groupId,
            state: d.state,
            protocol: d.protocol,
            protocolType: d.protocolType,
            members: d.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost, memberMetadata: m.memberMetadata, memberAssignment: m.memberAssignment })),
          };
        }),
      };
    });
  }

  /**
   * Deletes groups (membership record and committed offsets). Each group is tried; when one is refused
   * (live members: NON_EMPTY_GROUP, or unknown: GROUP_ID_NOT_FOUND) the call throws naming them, as kafkajs
   * throws its KafkaJSDeleteGroupsError, after the others were deleted.
   */
  async deleteGroups(groupIds: string[]): Promise<DeleteGroupsResult[]> {
    const ids = requireArray(groupIds, 'groupIds array').map((g) => requireString(g, 'groupId'));
    const results: DeleteGroupsResult[] = [];
    for (const groupId of ids) {
      const { error } = await this.#retrying(() => this.#groups.deleteGroup(groupId));
      results.push({ groupId, errorCode: ERROR_CODES[error] });
    }
    const failed = results.filter((r) => r.errorCode !== 0);
    if (failed.length > 0) {
      const names = failed.map((r) => `${r.groupId} (${r.errorCode === ERROR_CODES.NON_EMPTY_GROUP ? 'NON_EMPTY_GROUP: it has running members' : 'GROUP_ID_NOT_FOUND'})`);
      throw invalid(`Could not delete consumer groups: ${names.join(', ')}.`);
    }
    return results;
  }

  /** Topic configs as kafkajs' DescribeConfigs shows them: set ones from TOPIC_CONFIG, the rest defaults. */
  describeConfigs(options: { resources: ResourceConfigQuery[]; includeSynonyms?: boolean }): Promise<DescribeConfigResponse> {
    return promised(() => {
      const resources = requireArray(options.resources, 'resources array').map((resource) => {
        const name = this.#topicResource(resource.type, resource.name);
        const names = resource.configNames !== undefined && resource.configNames.length > 0 ? resource.configNames : null;
        const configEntries = describeTopicConfigs(this.#describe(name).configs, names).map(({ name: configName, value, isSet }): ConfigEntries => {
          const configSource = isSet ? ConfigSource.TOPIC_CONFIG : ConfigSource.DEFAULT_CONFIG;
          return {
            configName,
            configValue: value,
            isDefault: !isSet,
            configSource,
            isSensitive: false,
            readOnly: false,
            configSynonyms: options.includeSynonyms === true ? [{ configName, configValue: value, configSource }] : [],
          };
        });
        return { configEntries, errorCode: 0, errorMessage: '', resourceName: name, resourceType: ConfigResourceTypes.TOPIC };
      });
      return { resources, throttleTime: 0 };
    });
  }

  /**
   * Replaces topics' configs, as Kafka's AlterConfigs does: the configs named are set, every other config
   * of the topic returns to its default. Every resource is checked before the first one changes; validateOnly
   * checks without changing anything.
   */
  async alterConfigs(options: { resources: IResourceConfig[]; validateOnly?: boolean }): Promise<AlterConfigsResponse> {
    const plans = requireArray(options.resources, 'resources array').map((resource) => {
      const name = this.#topicResource(resource.type, resource.name);
      const change = replacingTopicConfigs(this.#describe(name).configs, configsOf(name, resource.configEntries));
      this.#engine.checkAlterTopicConfigs(name, change);
      return { name, change };
    });
    if (options.validateOnly !== true) for (const { name, change } of plans) await this.#retrying(() => this.#engine.alterTopicConfigs(name, change));
    return {
      resources: plans.map(({ name }) => ({ errorCode: 0, errorMessage: null, resourceName: name, resourceType: ConfigResourceTypes.TOPIC })),
      throttleTime: 0,
    };
  }

  /**
   * Deletes the records below each given offset ('-1': all records) by advancing the partition's
   * logStartOffset, as Kafka's DeleteRecords does.
   */
  async deleteTopicRecords(options: { topic: string; partitions: SeekEntry[] }): Promise<void> {
    const topic = requireString(options.topic, 'topic');
    const partitions = requireArray(options.partitions, 'partitions');
    if (partitions.length === 0) throw invalid('Invalid partitions: at least one { partition, offset } is required.');
    const info = this.#describe(topic);
    for (const p of partitions) {
      if (!Number.isInteger(p.partition) || p.partition < 0 || p.partition >= info.partitions) {
        throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${topic} has partitions 0 to ${info.partitions - 1}, not ${String(p.partition)}.`, { topic, partition: p.partition });
      }
    }
    for (const p of partitions) {
      const offset = offsetOf(p.offset, `${topic}-${p.partition}`);
      await this.#retrying(() => this.#engine.deleteRecords(topic, p.partition, offset));
    }
  }

  #retrying<T>(work: () => Promise<T>): Promise<T> {
    return retrying(this.#retry, work);
  }

  #describe(topic: string): TopicInfo {
    const info = this.#engine.describeTopic(topic);
    if (info === undefined) throw unknownTopic(topic);
    return info;
  }

  #topicResource(type: number, name: string): string {
    if (type !== ConfigResourceTypes.TOPIC) throw invalid(`Only TOPIC config resources (${ConfigResourceTypes.TOPIC}) exist in a onelog file, got resource type ${String(type)}.`);
    return requireString(name, 'resource name');
  }
}
