// DeleteTopics (key 20), versions 0-6: deletes each named topic (its records and committed group offsets)
// on its own; a failure is that topic's error code. Up to v5 topics are named; v6 names them or gives
// their ids (an unknown id is UNKNOWN_TOPIC_ID). A topic named twice in one request is refused, not
// deleted, as Kafka does. It never retries a write.
import { OnelogError } from '../../errors.ts';
import { ZERO_UUID } from '../../protocol/codec.ts';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeDeleteTopicsRequest,
  encodeDeleteTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type DeleteTopicsResponseDeletableTopicResult,
} from '../../protocol/generated/delete-topics.ts';
import type { Engine } from '../../storage/engine.ts';
import { answerEach, failure, refusal, SUCCESS } from '../admin-common.ts';
import { defineHandler } from '../handler.ts';

/** One topic to delete: by name (topicId ZERO_UUID) or, from v6, by id (name then ignored, as Kafka). */
interface Target {
  readonly name: string | null;
  readonly topicId: string;
}

async function remove(engine: Engine, target: Target): Promise<DeleteTopicsResponseDeletableTopicResult> {
  const byId = target.topicId !== ZERO_UUID;
  const info = byId ? engine.listTopics().find((t) => t.topicId === target.topicId) : target.name === null ? undefined : engine.describeTopic(target.name);
  if (byId && info === undefined) return { name: null, topicId: target.topicId, ...refusal(ERROR_CODES.UNKNOWN_TOPIC_ID, `No topic has id ${target.topicId}.`) };
  const name = info?.name ?? target.name;
  const answer = { name, topicId: info?.topicId ?? ZERO_UUID };
  try {
    if (name === null) throw new OnelogError('INVALID_ARGUMENT', 'A topic to delete needs a name or a topic id.');
    await engine.deleteTopic(name);
    return { ...answer, ...SUCCESS };
  } catch (err) {
    return { ...answer, ...failure(err) };
  }
}

export const deleteTopicsHandler = defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  apiKey: API_KEYS.DELETE_TOPICS,
  minVersion: 0,
  maxVersion: 6,
  request: { decode: decodeDeleteTopicsRequest },
  response: { encode: encodeDeleteTopicsResponse },
  async handle(ctx, request) {
    const targets: Target[] = ctx.apiVersion >= 6 ? request.topics : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const responses = await answerEach(
      targets,
      (target) => (target.topicId === ZERO_UUID ? `topic ${JSON.stringify(target.name)}` : `topic id ${target.topicId}`),
      (target) => remove(ctx.server.engine, target),
      (target, outcome) => ({ ...target, ...outcome }),
    );
    return { throttleTimeMs: 0, responses };
  },
});
