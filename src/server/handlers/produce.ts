// Produce (key 0), versions 0-11: appends each partition's records to the file, stored as the producer
// sent them (engine.appendBatch checks structure and CRC and assigns offsets), and answers per partition
// with the base offset, the log-append time (-1 unless the topic uses LogAppendTime) and the log start
// offset. The partitions of one request are appended concurrently, so they share one group commit.
// Durability: acks=1 and acks=-1 both answer once the engine acknowledges the append, i.e. once it is
// durable under the file's sync mode; in one node the leader's log is the whole ISR, so the two are the
// same, and timeoutMs (the wait for replicas) has nothing to bound. acks=0 gets no response at all
// (failures are only logged); every other acks is INVALID_REQUIRED_ACKS.
// v3+ must carry exactly one RecordBatch v2 per partition, as Kafka requires (INVALID_RECORD otherwise,
// UNSUPPORTED_COMPRESSION_TYPE for zstd before v7); v0-v2 carry legacy message sets (magic 0/1), which are
// up-converted into one RecordBatch v2, or a single RecordBatch v2 (several in one partition are refused
// with INVALID_RECORD, where Kafka would take them). Idempotent producers' sequences are checked by the
// engine: a retried batch is acknowledged with its original offsets without a second write, a gap is
// OUT_OF_ORDER_SEQUENCE_NUMBER and an older epoch INVALID_PRODUCER_EPOCH. Transactions are not supported:
// a request with a transactionalId or a transactional batch is refused on every partition with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED (what Kafka answers a producer not allowed to write transactions),
// and control batches with INVALID_RECORD. Produce never creates topics: unknown ones are
// UNKNOWN_TOPIC_OR_PARTITION, as in Kafka.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeProduceRequest,
  encodeProduceResponse,
  type ProduceRequest,
  type ProduceResponse,
  type ProduceResponsePartitionProduceResponse,
} from '../../protocol/generated/produce.ts';
import { isLegacyMessageSet, legacyToRecordBatch } from '../../format/legacy-message-set.ts';
import {
  ATTRIBUTES_OFFSET,
  batchTotalSize,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CURRENT_MAGIC_VALUE,
  MAGIC_OFFSET,
  RECORD_BATCH_OVERHEAD,
  TRANSACTIONAL_FLAG_MASK,
} from '../../format/record-batch.ts';
import { compressionCodecId } from '../../format/compression.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import { kafkaErrorCode, kafkaErrorMessage } from '../kafka-errors.ts';

/** A partition's batch ready to append, or the error it is answered with instead. */
type Prepared = { readonly batch: Buffer; readonly transactional: boolean } | { readonly errorCode: number; readonly message: string };

const ZSTD = compressionCodecId('zstd');

function refused(errorCode: number, message: string): Prepared {
  return { errorCode, message };
}

/** Checks that `records` is exactly one RecordBatch v2, as Kafka requires from Produce v3 on. */
function singleBatch(records: Buffer, version: number): Prepared {
  if (records.length < RECORD_BATCH_OVERHEAD || records[MAGIC_OFFSET] !== CURRENT_MAGIC_VALUE) {
    return refused(ERROR_CODES.INVALID_RECORD, `Produce v${version} must carry one record batch of magic ${CURRENT_MAGIC_VALUE} per partition.`);
  }
  if (batchTotalSize(records) !== records.length) {
    return refused(ERROR_CODES.INVALID_RECORD, `Produce v${version} must carry exactly one record batch per partition.`);
  }
  const attributes = records.readInt16BE(ATTRIBUTES_OFFSET);
  if (version < 7 && (attributes & COMPRESSION_CODEC_MASK) === ZSTD) {
    return refused(ERROR_CODES.UNSUPPORTED_COMPRESSION_TYPE, `Produce v${version} may not use zstd compression (v7+ may).`);
  }
  if ((attributes & CONTROL_FLAG_MASK) !== 0) return refused(ERROR_CODES.INVALID_RECORD, 'Clients may not write control batches.');
  return { batch: records, transactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0 };
}

function prepare(records: Buffer | null, version: number): Prepared {
  if (records === null) return refused(ERROR_CODES.INVALID_RECORD, 'The partition carries no records.');
  if (version < 3 && isLegacyMessageSet(records)) {
    try {
      return { batch: legacyToRecordBatch(records), transactional: false };
    } catch (err) {
      return refused(kafkaErrorCode(err), kafkaErrorMessage(err));
    }
  }
  return singleBatch(records, version);
}

function failed(index: number, errorCode: number, errorMessage: string | null): ProduceResponsePartitionProduceResponse {
  return {
    index,
    errorCode,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorMessage,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
}

async function append(ctx: RequestContext, topic: string, index: number, batch: Buffer): Promise<ProduceResponsePartitionProduceResponse> {
  try {
    const result = await ctx.server.engine.appendBatch(topic, index, batch);
    return {
      index,
      errorCode: ERROR_CODES.NONE,
      baseOffset: BigInt(result.baseOffset),
      logAppendTimeMs: BigInt(result.logAppendTime),
      logStartOffset: BigInt(result.logStartOffset),
      recordErrors: [],
      errorMessage: null,
      currentLeader: { leaderId: -1, leaderEpoch: -1 },
    };
  } catch (err) {
    return failed(index, kafkaErrorCode(err), kafkaErrorMessage(err));
  }
}

export const produceHandler = defineHandler<ProduceRequest, ProduceResponse>({
  apiKey: API_KEYS.PRODUCE,
  minVersion: 0,
  maxVersion: 11,
  request: { decode: decodeProduceRequest },
  response: { encode: encodeProduceResponse },
  async handle(ctx, request) {
    const version = ctx.apiVersion;
    const prepared = request.topicData.map((t) => t.partitionData.map((p) => prepare(p.records, version)));
    const transactional = request.transactionalId !== null || prepared.some((ps) => ps.some((p) => 'batch' in p && p.transactional));
    let requestError: { code: number; message: string } | null = null;
    if (request.acks !== 0 && request.acks !== 1 && request.acks !== -1) {
      requestError = { code: ERROR_CODES.INVALID_REQUIRED_ACKS, message: `acks must be 0, 1 or -1, got ${request.acks}.` };
    } else if (transactional) {
      requestError = { code: ERROR_CODES.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, message: 'Transactions are not supported by onelog serve: produce without a transactionalId.' };
    }
    const responses = await Promise.all(
      request.topicData.map(async (topic, t) => ({
        name: topic.name,
        partitionResponses: await Promise.all(
          topic.partitionData.map(async (partition, p) => {
            if (requestError !== null) return failed(partition.index, requestError.code, requestError.message);
            const ready = prepared[t]![p]!;
            if ('errorCode' in ready) return failed(partition.index, ready.errorCode, ready.message);
            return append(ctx, topic.name, partition.index, ready.batch);
          }),
        ),
      })),
    );
    if (request.acks === 0) {
      for (const topic of responses) {
        for (const p of topic.partitionResponses) {
          if (p.errorCode !== ERROR_CODES.NONE) ctx.server.log(`produce (acks=0) to ${topic.name}-${p.index} failed: ${p.errorMessage ?? String(p.errorCode)}`);
        }
      }
      return null;
    }
    return { responses, throttleTimeMs: 0, nodeEndpoints: [] };
  },
});
