// IncrementalAlterConfigs (key 44), versions 0-1: changes the named configs of a topic and leaves the
// others: SET a value, DELETE (back to the default), and for list configs (cleanup.policy) APPEND or
// SUBTRACT comma-separated items. Each resource succeeds or fails on its own (unknown topic, bad config or
// value, an operation a config does not take, broker or other resource types); validateOnly makes every
// check without changing anything. It never retries a write.
import { OnelogError } from '../../errors.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeIncrementalAlterConfigsRequest,
  encodeIncrementalAlterConfigsResponse,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsRequestAlterableConfig,
  type IncrementalAlterConfigsRequestAlterConfigsResource,
  type IncrementalAlterConfigsResponse,
  type IncrementalAlterConfigsResponseAlterConfigsResourceResponse,
} from '../../protocol/generated/incremental-alter-configs.ts';
import type { Engine } from '../../storage/engine.ts';
import { topicConfig, topicConfigType } from '../../storage/topic-rules.ts';
import { answerEach, failure, SUCCESS } from '../admin-common.ts';
import { alterTopic } from '../config-resources.ts';
import { defineHandler } from '../handler.ts';

/** Kafka's AlterConfigOp.OpType. */
const OPERATION = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

function listItems(value: string): string[] {
  return value === '' ? [] : value.split(',').map((item) => item.trim());
}

/** The new value of one config (null: back to the default) after one operation on its current value. */
function applied(topic: string, current: Readonly<Record<string, string>>, config: IncrementalAlterConfigsRequestAlterableConfig): string | null {
  const { name, configOperation, value } = config;
  if (configOperation === OPERATION.DELETE) return null;
  if (configOperation !== OPERATION.SET && configOperation !== OPERATION.APPEND && configOperation !== OPERATION.SUBTRACT) {
    throw new OnelogError('INVALID_ARGUMENT', `Topic ${topic}: unknown config operation ${String(configOperation)} for ${name} (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT).`, { topic });
  }
  if (value === null) throw new OnelogError('INVALID_ARGUMENT', `Topic ${topic}: a null value is not supported for ${name}.`, { topic });
  if (configOperation === OPERATION.SET) return value;
  if (topicConfigType(name) !== 'list') {
    throw new OnelogError('INVALID_CONFIG', `Topic ${topic}: ${configOperation === OPERATION.APPEND ? 'APPEND' : 'SUBTRACT'} works only on list configs, and ${name} is not one.`, { topic });
  }
  const items = listItems(topicConfig(current, name));
  const given = listItems(value);
  const next = configOperation === OPERATION.APPEND ? [...items, ...given.filter((item) => !items.includes(item))] : items.filter((item) => !given.includes(item));
  return next.join(',');
}

async function alter(engine: Engine, resource: IncrementalAlterConfigsRequestAlterConfigsResource, validateOnly: boolean): Promise<IncrementalAlterConfigsResponseAlterConfigsResourceResponse> {
  const answer = { resourceType: resource.resourceType, resourceName: resource.resourceName };
  try {
    await alterTopic(engine, resource, (current) => Object.fromEntries(resource.configs.map((c) => [c.name, applied(resource.resourceName, current, c)])), validateOnly);
    return { ...answer, ...SUCCESS };
  } catch (err) {
    return { ...answer, ...failure(err) };
  }
}

export const incrementalAlterConfigsHandler = defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  apiKey: API_KEYS.INCREMENTAL_ALTER_CONFIGS,
  minVersion: 0,
  maxVersion: 1,
  request: { decode: decodeIncrementalAlterConfigsRequest },
  response: { encode: encodeIncrementalAlterConfigsResponse },
  async handle(ctx, request) {
    const responses = await answerEach(
      request.resources,
      (r) => `resource ${String(r.resourceType)}/${JSON.stringify(r.resourceName)}`,
      (r) => alter(ctx.server.engine, r, request.validateOnly),
      (r, outcome) => ({ resourceType: r.resourceType, resourceName: r.resourceName, ...outcome }),
    );
    return { throttleTimeMs: 0, responses };
  },
});
