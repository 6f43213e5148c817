// DescribeConfigs (key 32), versions 0-4: a TOPIC resource shows every topic config with its value, set
// ones as DYNAMIC_TOPIC_CONFIG and the rest as DEFAULT_CONFIG; the BROKER resource of node 0 (or '', the
// cluster default) shows the server's read-only settings. configurationKeys narrows the list (null or
// empty: all), synonyms (v1+) come only when asked for, config types from v3, documentation never. An
// unknown topic, another broker or another resource type is that resource's error code alone. It
// changes nothing.
import { OnelogError } from '../../errors.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeDescribeConfigsRequest,
  encodeDescribeConfigsResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsRequestDescribeConfigsResource,
  type DescribeConfigsResponse,
  type DescribeConfigsResponseDescribeConfigsResult,
} from '../../protocol/generated/describe-configs.ts';
import { failure, SUCCESS } from '../admin-common.ts';
import { CONFIG_SOURCE, describeBroker, describeTopic, isThisBroker, RESOURCE_TYPE, topicResource, type DescribedConfig } from '../config-resources.ts';
import { defineHandler, NODE_ID, type ServerContext } from '../handler.ts';

function configsOf(server: ServerContext, resource: DescribeConfigsRequestDescribeConfigsResource): DescribedConfig[] {
  const { resourceType, resourceName } = resource;
  // As Kafka reads the filter: an empty list, like null, means every config.
  const configurationKeys = resource.configurationKeys === null || resource.configurationKeys.length === 0 ? null : resource.configurationKeys;
  if (resourceType === RESOURCE_TYPE.TOPIC) {
    return describeTopic(topicResource(server.engine, resourceName).configs, configurationKeys);
  }
  if (resourceType === RESOURCE_TYPE.BROKER) {
    if (!isThisBroker(resourceName)) throw new OnelogError('INVALID_ARGUMENT', `This server is the single broker ${String(NODE_ID)}; there is no broker ${JSON.stringify(resourceName)}.`);
    return describeBroker(server, configurationKeys);
  }
  throw new OnelogError('INVALID_ARGUMENT', `Config resource type ${String(resourceType)} is not supported: describe topics (${String(RESOURCE_TYPE.TOPIC)}) or the broker (${String(RESOURCE_TYPE.BROKER)}).`);
}

function describe(server: ServerContext, resource: DescribeConfigsRequestDescribeConfigsResource, includeSynonyms: boolean): DescribeConfigsResponseDescribeConfigsResult {
  const answer = { resourceType: resource.resourceType, resourceName: resource.resourceName };
  try {
    const configs = configsOf(server, resource).map((c) => ({
      name: c.name,
      value: c.value,
      readOnly: c.readOnly,
      isDefault: c.source === CONFIG_SOURCE.DEFAULT_CONFIG,
      configSource: c.source,
      isSensitive: false,
      synonyms: includeSynonyms ? c.synonyms.map((s) => ({ ...s })) : [],
      configType: c.configType,
      documentation: null,
    }));
    return { ...answer, ...SUCCESS, configs };
  } catch (err) {
    return { ...answer, ...failure(err), configs: [] };
  }
}

export const describeConfigsHandler = defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  apiKey: API_KEYS.DESCRIBE_CONFIGS,
  minVersion: 0,
  maxVersion: 4,
  request: { decode: decodeDescribeConfigsRequest },
  response: { encode: encodeDescribeConfigsResponse },
  handle(ctx, request) {
    return { throttleTimeMs: 0, results: request.resources.map((r) => describe(ctx.server, r, request.includeSynonyms)) };
  },
});
