// `onelog produce FILE TOPIC`: appends records read from stdin (one per line, JSON objects, or the whole
// input as one raw value) or given with --value, in large batches with several appends in flight.
// It never reads records back.
import { OnelogError } from '../../errors.ts';
import type { RecordHeader, RecordInput } from '../../format/record-batch.ts';
import { partitionForKey } from '../../client/partitioner.ts';
import type { Engine } from '../../storage/engine.ts';
import { BUSY_OPTION, busyTimeout, intFlag, keyValues, listFlag, parse, stringFlag } from '../args.ts';
import { BATCH_RECORDS, BatchAppender } from '../batch-appender.ts';
import { parseRecordLine } from '../format-record.ts';
import { withDatabase } from '../open-database.ts';
import { UsageError, type Output } from '../output.ts';
import { eachLine, readAll } from '../stdin.ts';

export const PRODUCE_HELP = `Usage: onelog produce FILE TOPIC [options] < input

Appends records to TOPIC (created with 1 partition when missing). By default every line of stdin is
one record (the newline is not part of the value; an empty line is an empty value).

Options:
  --value V            produce the single record V instead of reading stdin
  --key K              key of every record
  --key-separator SEP  split each line at the first SEP into key and value (lines without SEP get a
                       null key)
  --header k=v         add a header to every record (repeatable)
  --partition N        write to partition N; otherwise keyed records go where Kafka's default
                       partitioner (murmur2) puts them and unkeyed ones fill one partition per batch
                       of ${String(BATCH_RECORDS)}, round-robin (Kafka's sticky partitioning)
  --format F           line (default): one record per line
                       json: one JSON object per line, as 'consume --format json' and 'export' print:
                         {"key":"k","value":"v","headers":[{"key":"h","value":"x"}],"partition":0,
                          "timestamp":1767225600000}; every field is optional, "keyEncoding" /
                         "valueEncoding": "base64" mark binary bytes, headers may be {"h":"x"}
                       raw: all of stdin, byte for byte, is one record (as kcat -P sends a file)
  --busy-timeout MS    how long to wait for another process's writer lock (default 5000)
  --json               print one JSON line per append: {"topic","partition","baseOffset",
                       "lastOffset","count"}; otherwise a summary goes to stderr
  --help               this text`;

type Format = 'line' | 'json' | 'raw';

function formatOf(text: string | undefined): Format {
  if (text === undefined || text === 'line') return 'line';
  if (text === 'json' || text === 'raw') return text;
  throw new UsageError(`--format must be line, json or raw, got '${text}'.`);
}

async function ensureTopic(engine: Engine, topic: string): Promise<number> {
  const info = engine.describeTopic(topic);
  if (info !== undefined) return info.partitions;
  try {
    return (await engine.createTopic(topic, { partitions: 1 })).partitions;
  } catch (err) {
    if (err instanceof OnelogError && err.code === 'TOPIC_EXISTS') return engine.describeTopic(topic)?.partitions ?? 1;
    throw err;
  }
}

export async function produceCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(
    args,
    {
      value: { type: 'string' },
      key: { type: 'string' },
      'key-separator': { type: 'string' },
      header: { type: 'string', multiple: true },
      partition: { type: 'string' },
      format: { type: 'string' },
      ...BUSY_OPTION,
    },
    ['FILE', 'TOPIC'],
  );
  const [file, topic] = p.positionals as [string, string];
  const format = formatOf(stringFlag(p, 'format'));
  const single = stringFlag(p, 'value');
  const fixedKey = stringFlag(p, 'key');
  const separator = stringFlag(p, 'key-separator');
  if (separator === '') throw new UsageError('--key-separator must not be empty.');
  if (fixedKey !== undefined && separator !== undefined) throw new UsageError('give either --key or --key-separator, not both.');
  if (single !== undefined && format !== 'line') throw new UsageError('--value produces one record: it does not combine with --format.');
  if (format !== 'line' && separator !== undefined) throw new UsageError('--key-separator applies to --format line only.');
  const headers: RecordHeader[] = Object.entries(keyValues('header', listFlag(p, 'header'), false)).map(([key, value]) => ({ key, value: Buffer.from(value ?? '', 'utf8') }));
  const explicitPartition = p.values.partition === undefined ? null : intFlag(p, 'partition', 0, 0);
  const keyBytes = fixedKey === undefined ? null : Buffer.from(fixedKey, 'utf8');
  const sep = separator === undefined ? null : Buffer.from(separator, 'utf8');

  await withDatabase(file, { write: true, busyTimeoutMs: busyTimeout(p) }, async (db) => {
    const engine = db.engine;
    const partitions = await ensureTopic(engine, topic);
    if (explicitPartition !== null && explicitPartition >= partitions) {
      throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} has partitions 0 to ${String(partitions - 1)}, not ${String(explicitPartition)}.`, { topic, partition: explicitPartition });
    }
    const appender = new BatchAppender(engine, (t, partition, result, count) => {
      if (out.json) out.result('', { topic: t, partition, baseOffset: result.baseOffset, lastOffset: result.lastOffset, count });
    });
    let unkeyed = Math.floor(Math.random() * partitions) * BATCH_RECORDS;
    const partitionOf = (key: Buffer | null, given: number | undefined): number => {
      if (given !== undefined) {
        if (given >= partitions) throw new OnelogError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} has partitions 0 to ${String(partitions - 1)}, not ${String(given)}.`, { topic, partition: given });
        return given;
      }
      if (explicitPartition !== null) return explicitPartition;
      if (partitions === 1) return 0;
      if (key !== null) return partitionForKey(key, partitions);
      return Math.floor(unkeyed++ / BATCH_RECORDS) % partitions;
    };
    const now = Date.now();
    const hs = headers.length === 0 ? undefined : headers;
    const add = (key: Buffer | null, value: Buffer | null, timestamp: number, recordHeaders: RecordHeader[] | undefined, given?: number): Promise<void> | undefined => {
      const record: RecordInput = recordHeaders === undefined ? { key, value, timestamp } : { key, value, timestamp, headers: recordHeaders };
      return appender.add(topic, partitionOf(key, given), record);
    };

    if (single !== undefined) {
      await add(keyBytes, Buffer.from(single, 'utf8'), now, hs);
    } else if (format === 'raw') {
      await add(keyBytes, await readAll(), now, hs);
    } else if (format === 'json') {
      let n = 0;
      await eachLine((line) => {
        n++;
        if (line.length === 0 || (line.length === 1 && line[0] === 13)) return;
        const r = parseRecordLine(line.toString('utf8'), `stdin line ${String(n)}`);
        const recordHeaders = [...headers, ...r.headers];
        return add(r.key ?? keyBytes, r.value, r.timestamp ?? Date.now(), recordHeaders.length === 0 ? undefined : recordHeaders, r.partition);
      });
    } else {
      let batchTime = Date.now();
      let inBatch = 0;
      await eachLine((line) => {
        // One clock read per batch: lines read together share a timestamp.
        if (++inBatch === BATCH_RECORDS) {
          inBatch = 0;
          batchTime = Date.now();
        }
        if (sep === null) return add(keyBytes, line, batchTime, hs);
        const at = line.indexOf(sep);
        return at < 0 ? add(null, line, batchTime, hs) : add(line.subarray(0, at), line.subarray(at + sep.length), batchTime, hs);
      });
    }
    await appender.finish();
    if (!out.json) out.info(`produced ${appender.appended.toLocaleString('en-US')} record${appender.appended === 1 ? '' : 's'} to ${topic}`);
  });
}
