// InitProducerId (key 22), versions 0-5: gives an idempotent producer (no transactionalId) a new
// producerId from the file (engine.allocateProducerId) with epoch 0. Like Kafka, a producer that passes
// its current producerId and epoch (v3+, to recover after an error) also gets a new producerId with epoch
// 0 — Kafka bumps epochs only for transactional ids — and one that passes only one of the two gets
// INVALID_REQUEST. Transactions are not supported: a request with a transactionalId is refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, Kafka's answer to a producer not allowed to use transactions,
// which clients treat as fatal rather than retrying.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeInitProducerIdRequest,
  encodeInitProducerIdResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../protocol/generated/init-producer-id.ts';
import { defineHandler } from '../handler.ts';
import { kafkaErrorCode } from '../kafka-errors.ts';

function refused(errorCode: number): InitProducerIdResponse {
  return { throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 };
}

export const initProducerIdHandler = defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  apiKey: API_KEYS.INIT_PRODUCER_ID,
  minVersion: 0,
  maxVersion: 5,
  request: { decode: decodeInitProducerIdRequest },
  response: { encode: encodeInitProducerIdResponse },
  async handle(ctx, request) {
    if (request.transactionalId !== null) return refused(ERROR_CODES.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if ((request.producerId === -1n) !== (request.producerEpoch === -1)) return refused(ERROR_CODES.INVALID_REQUEST);
    try {
      const producerId = await ctx.server.engine.allocateProducerId();
      return { throttleTimeMs: 0, errorCode: ERROR_CODES.NONE, producerId: BigInt(producerId), producerEpoch: 0 };
    } catch (err) {
      return refused(kafkaErrorCode(err));
    }
  },
});
