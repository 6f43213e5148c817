// AlterConfigs (key 33), versions 0-2: Kafka's legacy alter, which replaces a topic's whole set of
// configs: the configs given are set and every other one returns to its default. Each resource succeeds
// or fails on its own (unknown topic, bad config or value, null value, broker or other resource types);
// validateOnly makes every check without changing anything. It never retries a write.
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeAlterConfigsRequest,
  encodeAlterConfigsResponse,
  type AlterConfigsRequest,
  type AlterConfigsRequestAlterConfigsResource,
  type AlterConfigsResponse,
  type AlterConfigsResponseAlterConfigsResourceResponse,
} from '../../protocol/generated/alter-configs.ts';
import type { Engine } from '../../storage/engine.ts';
import { replacingTopicConfigs } from '../../storage/topic-rules.ts';
import { answerEach, failure, SUCCESS } from '../admin-common.ts';
import { alterTopic, configValues } from '../config-resources.ts';
import { defineHandler } from '../handler.ts';

async function replace(engine: Engine, resource: AlterConfigsRequestAlterConfigsResource, validateOnly: boolean): Promise<AlterConfigsResponseAlterConfigsResourceResponse> {
  const answer = { resourceType: resource.resourceType, resourceName: resource.resourceName };
  try {
    await alterTopic(engine, resource, (current) => replacingTopicConfigs(current, configValues(resource.resourceName, resource.configs)), validateOnly);
    return { ...answer, ...SUCCESS };
  } catch (err) {
    return { ...answer, ...failure(err) };
  }
}

export const alterConfigsHandler = defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  apiKey: API_KEYS.ALTER_CONFIGS,
  minVersion: 0,
  maxVersion: 2,
  request: { decode: decodeAlterConfigsRequest },
  response: { encode: encodeAlterConfigsResponse },
  async handle(ctx, request) {
    const responses = await answerEach(
      request.resources,
      (r) => `resource ${String(r.resourceType)}/${JSON.stringify(r.resourceName)}`,
      (r) => replace(ctx.server.engine, r, request.validateOnly),
      (r, outcome) => ({ resourceType: r.resourceType, resourceName: r.resourceName, ...outcome }),
    );
    return { throttleTimeMs: 0, responses };
  },
});
