// `npm run bench`: runs onelog (raw engine and through the client API) and its peers (physical writes,
// SQLite) on the same payload in one process, plus the large-topic RSS run in a child process, and prints
// aligned tables or, with --json, one JSON object per line. Orchestration and reporting only: each
// system's work lives in its own bench file.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { API_HANDLERS, apiRun, fdatasyncLatency, sendLatency, type ApiHandler, type ApiShape, type LatencyResult } from './api-bench.ts';
import { cliRun } from './cli-bench.ts';
import { compactionRun, type CompactionSample } from './compaction-bench.ts';
import { onelogRun, type ProduceShape } from './onelog-bench.ts';
import { physicalWrite, type PhysicalMode } from './physical-bench.ts';
import { sqliteRun, type SqliteSync } from './sqlite-bench.ts';
import { wireRun, type WireClient } from './wire-bench.ts';
import {
  KEY_BYTES,
  makePayload,
  maxRssBytes,
  median,
  rates,
  RECORD_BYTES,
  tallyOf,
  toMb,
  VALUE_BYTES,
  type ReadTally,
  type ResultRow,
  type Sample,
} from './measure.ts';

const USAGE = [
  'usage: npm run bench -- [--records N] [--runs N] [--latency-samples N] [--large-gb N] [--skip-large] [--compaction-mb N] [--only SECTIONS] [--json]',
  '  --only SECTIONS  comma-separated sections to run (default: all): engine, api, latency, physical, sqlite, large, wire, cli, compaction.',
].join('\n');
/** The parts of the run that --only can pick. */
const SECTIONS = ['engine', 'api', 'latency', 'physical', 'sqlite', 'large', 'wire', 'cli', 'compaction'] as const;
type Section = (typeof SECTIONS)[number];
const PARTITION_COUNTS = [1, 8] as const;
const RSS_TARGET_MB = 200;
/** Targets of the client API, reported (not asserted): throughput vs the raw engine, send p50 vs fdatasync. */
const API_THROUGHPUT_TARGET = 0.75;
const LATENCY_P50_TARGET = 2;
/** Targets of the wire path (kcat produce vs the embedded API) and of `onelog produce` (vs the API). */
const WIRE_PRODUCE_TARGET = 0.5;
const CLI_PRODUCE_TARGET = 0.5;
/** Target of compaction: a producer keeps this share of its throughput while compaction runs. */
const COMPACTION_PRODUCE_TARGET = 0.7;
/** Issue #7: a compaction step never holds the writer lock longer than this (ms). */
const COMPACTION_STEP_BOUND_MS = 50;

interface Options {
  readonly records: number;
  readonly runs: number;
  readonly latencySamples: number;
  readonly largeGb: number;
  readonly compactionMb: number;
  readonly skipLarge: boolean;
  readonly sections: ReadonlySet<Section>;
  readonly json: boolean;
}

function isSection(name: string): name is Section {
  return (SECTIONS as readonly string[]).includes(name);
}

/** The sections --only names (all when not given). */
function parseSections(text: string | undefined): ReadonlySet<Section> {
  if (text === undefined) return new Set(SECTIONS);
  const sections = new Set<Section>();
  for (const name of text.split(',').map((n) => n.trim())) {
    if (!isSection(name)) throw new Error(`--only takes sections among ${SECTIONS.join(', ')}, got ${JSON.stringify(name)}\n${USAGE}`);
    sections.add(name);
  }
  return sections;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '1000000' },
      runs: { type: 'string', default: '3' },
      'latency-samples': { type: 'string', default: '2000' },
      'large-gb': { type: 'string', default: '4' },
      'compaction-mb': { type: 'string', default: '1024' },
      'skip-large': { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const positiveInteger = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${text}\n${USAGE}`);
    return n;
  };
  const largeGb = Number(values['large-gb']);
  if (!Number.isFinite(largeGb) || largeGb <= 0) throw new Error(`--large-gb must be a positive number, got ${values['large-gb']}\n${USAGE}`);
  return {
    records: positiveInteger('records', values.records),
    runs: positiveInteger('runs', values.runs),
    latencySamples: positiveInteger('latency-samples', values['latency-samples']),
    largeGb,
    compactionMb: positiveInteger('compaction-mb', values['compaction-mb']),
    skipLarge: values['skip-large'],
    sections: parseSections(values.only),
    json: values.json,
  };
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

type RowShape = Pick<ResultRow, 'bench' | 'system' | 'mode' | 'producers' | 'partitions' | 'batch_size'>;

/** A throughput row of the client API: a ResultRow of system "onelog-api", with its ratio to the raw engine. */
interface ApiRow extends Omit<ResultRow, 'system' | 'vs_sqlite' | 'vs_physical_fdatasync'> {
  readonly system: 'onelog-api';
  /** Consume rows: how the group consumer took the messages. */
  readonly handler?: ApiHandler;
  /** Median over runs of msgs/s divided by that of a raw engine run in the same shape made just before. */
  readonly vs_engine: number;
}

type TableRow = ResultRow | ApiRow;

/** One latency line: a single-record durable send through the API, or one plain write + fdatasync. */
interface LatencyRow {
  readonly bench: 'send-latency';
  readonly system: 'onelog-api' | 'physical';
  readonly mode: string;
  readonly samples: number;
  readonly p50_us: number;
  readonly p99_us: number;
  /** p50 divided by the plain fdatasync's p50 (same run). */
  readonly vs_fdatasync_p50?: number;
}

/**
 * A row of the wire and command-line benches: a client of `onelog serve` (kcat, kafkajs), `onelog produce`,
 * or the embedded API they are compared with, producing or consuming the same records in the same run.
 */
interface ClientRow {
  readonly bench: 'produce' | 'consume';
  readonly system: 'onelog-wire' | 'onelog-cli' | 'onelog-api';
  readonly client: WireClient | 'onelog produce';
  readonly mode: 'batch';
  readonly records: number;
  readonly runs: number;
  readonly msgs_per_s: number;
  readonly mb_per_s: number;
  /** msgs/s over the embedded API's figure for the same bench in the same section. */
  readonly vs_api?: number;
}

/** Folds the runs of one measurement into a row: median rates, highest sampled RSS. */
function summarize<S extends TableRow['system']>(
  shape: Omit<RowShape, 'system'> & { readonly system: S },
  records: number,
  samples: readonly Sample[],
  extra: Partial<Omit<ResultRow, 'system'>> = {},
): Omit<ResultRow, 'system'> & { readonly system: S } {
  const perRun = samples.map((s) => rates(records, s.seconds));
  return {
    ...shape,
    records,
    runs: samples.length,
    msgs_per_s: median(perRun.map((r) => r.msgsPerS)),
    mb_per_s: median(perRun.map((r) => r.mbPerS)),
    rss_mb: toMb(Math.max(...samples.map((s) => s.rssPeakBytes))),
    ...extra,
  };
}

function describe(row: Pick<TableRow, 'bench' | 'system' | 'mode' | 'producers' | 'partitions'>): string {
  return `${row.system} ${row.bench} mode=${row.mode} producers=${row.producers} partitions=${row.partitions}`;
}

function rateText(samples: readonly Sample[], records: number): string {
  const last = samples[samples.length - 1]!;
  return `${Math.round(rates(records, last.seconds).msgsPerS).toLocaleString('en-US')} msgs/s`;
}

/** Everything every system reads, generated once before any clock starts and shared by all of them. */
interface Prepared {
  readonly payload: Buffer;
  readonly expected: ReadTally;
}

function prepare(count: number): Prepared {
  const payload = makePayload(count);
  return { payload, expected: tallyOf(payload) };
}

async function runOnelog(options: Options, prepared: Prepared): Promise<{ produce: ResultRow[]; consume: ResultRow[] }> {
  const { expected, payload } = prepared;
  const produceRows: ResultRow[] = [];
  const consumeRows: ResultRow[] = [];
  for (const partitions of PARTITION_COUNTS) {
    const shapes: ProduceShape[] = [
      { sync: 'none', producers: 1, batchSize: 1000, partitions },
      { sync: 'batch', producers: 1, batchSize: 1000, partitions },
      { sync: 'batch', producers: 64, batchSize: 100, partitions },
    ];
    for (const shape of shapes) {
      const rowShape: RowShape = { bench: 'produce', system: 'onelog', mode: shape.sync, producers: shape.producers, partitions, batch_size: shape.batchSize };
      const withConsume = shape.sync === 'none';
      const produced: Sample[] = [];
      const consumed: Sample[] = [];
      for (let run = 1; run <= options.runs; run++) {
        const result = await onelogRun(payload, shape, withConsume ? expected : undefined);
        produced.push(result.produce);
        if (result.consume !== undefined) consumed.push(result.consume);
        progress(`${describe(rowShape)} run ${run}/${options.runs}: ${rateText(produced, options.records)}`);
      }
      produceRows.push(summarize(rowShape, options.records, produced, { max_rss_mb: toMb(maxRssBytes()) }));
      if (withConsume) {
        const consumeShape: RowShape = { ...rowShape, bench: 'consume' };
        progress(`${describe(consumeShape)}: ${rateText(consumed, options.records)} (last run)`);
        consumeRows.push(summarize(consumeShape, options.records, consumed, { max_rss_mb: toMb(maxRssBytes()) }));
      }
    }
  }
  return { produce: produceRows, consume: consumeRows };
}

/** Runs of `api` over the engine's runs made just before them: the median of the per-run ratios of msgs/s. */
function pairedRatio(api: readonly Sample[], engine: readonly Sample[]): number {
  return median(api.map((s, run) => engine[run]!.seconds / s.seconds));
}

/**
 * The client API in the raw engine's single-producer shapes: send in batches of 1000; group consume with
 * eachMessage and with eachBatch. Each API run follows a run of the raw engine in the same shape, made for
 * the vs_engine ratio alone, and the ratio reported is the median of the per-run ratios: the machine's
 * speed drifts over a bench by more than the gap measured, so ratios of runs made minutes apart (the engine
 * rows were measured first) would measure the drift. The engine rows keep their own runs, whose RSS no
 * API run has touched.
 */
async function runApi(options: Options, prepared: Prepared): Promise<{ produce: ApiRow[]; consume: ApiRow[] }> {
  const { expected, payload } = prepared;
  const produceRows: ApiRow[] = [];
  const consumeRows: ApiRow[] = [];
  for (const partitions of PARTITION_COUNTS) {
    for (const sync of ['none', 'batch'] as const) {
      const shape: ApiShape = { sync, batchSize: 1000, partitions };
      const rowShape = { bench: 'produce', system: 'onelog-api', mode: sync, producers: 1, partitions, batch_size: 1000 } as const;
      const withConsume = sync === 'none';
      const produced: Sample[] = [];
      const consumed: Record<ApiHandler, Sample[]> = { eachMessage: [], eachBatch: [] };
      const engineProduced: Sample[] = [];
      const engineConsumed: Sample[] = [];
      for (let run = 1; run <= options.runs; run++) {
        const engine = await onelogRun(payload, { sync, producers: 1, batchSize: 1000, partitions }, withConsume ? expected : undefined);
        engineProduced.push(engine.produce);
        if (engine.consume !== undefined) engineConsumed.push(engine.consume);
        const result = await apiRun(payload, shape, withConsume ? expected : undefined);
        produced.push(result.produce);
        const consume = result.consume;
        if (consume !== undefined) for (const handler of API_HANDLERS) consumed[handler].push(consume[handler]);
        progress(`${describe(rowShape)} run ${run}/${options.runs}: ${rateText(produced, options.records)} (engine just before: ${rateText(engineProduced, options.records)})`);
      }
      produceRows.push({ ...summarize(rowShape, options.records, produced, { max_rss_mb: toMb(maxRssBytes()) }), vs_engine: pairedRatio(produced, engineProduced) });
      if (withConsume) {
        const consumeShape = { ...rowShape, bench: 'consume' } as const;
        for (const handler of API_HANDLERS) {
          progress(`${describe(consumeShape)} ${handler}: ${rateText(consumed[handler], options.records)} (last run; engine just before: ${rateText(engineConsumed, options.records)})`);
          consumeRows.push({ ...summarize(consumeShape, options.records, consumed[handler], { max_rss_mb: toMb(maxRssBytes()) }), handler, vs_engine: pairedRatio(consumed[handler], engineConsumed) });
        }
      }
    }
  }
  return { produce: produceRows, consume: consumeRows };
}

/** Single-record send latency through the API (default and zero group-commit window) beside one fdatasync. */
async function runLatency(options: Options): Promise<LatencyRow[]> {
  const value = Buffer.alloc(100, 0x61);
  const count = options.latencySamples;
  const row = (system: LatencyRow['system'], mode: string, r: LatencyResult): LatencyRow => ({ bench: 'send-latency', system, mode, samples: r.samples, p50_us: r.p50Us, p99_us: r.p99Us });
  const physical = row('physical', 'fdatasync', await fdatasyncLatency(count, value));
  progress(`physical fdatasync of 100 B: p50 ${physical.p50_us.toFixed(0)} us, p99 ${physical.p99_us.toFixed(0)} us`);
  const rows = [row('onelog-api', 'batch', await sendLatency(count, value)), row('onelog-api', 'batch/window=0', await sendLatency(count, value, 0))];
  for (const r of rows) progress(`onelog-api send-latency mode=${r.mode}: p50 ${r.p50_us.toFixed(0)} us, p99 ${r.p99_us.toFixed(0)} us`);
  return [physical, ...rows.map((r) => ({ ...r, vs_fdatasync_p50: r.p50_us / physical.p50_us }))];
}

/** Median msgs/s and MB/s of `samples` for `records` records of `recordBytes` payload bytes each. */
function clientRates(samples: readonly Sample[], records: number, recordBytes: number): { msgs_per_s: number; mb_per_s: number } {
  const seconds = median(samples.map((s) => s.seconds));
  return { msgs_per_s: records / seconds, mb_per_s: (records * recordBytes) / 1_000_000 / seconds };
}

/** Each row with its ratio to the embedded API's row of the same bench. */
function withApiRatios(rows: readonly ClientRow[]): ClientRow[] {
  return rows.map((row) => {
    const api = rows.find((r) => r.system === 'onelog-api' && r.bench === row.bench);
    return api === undefined || row === api ? row : { ...row, vs_api: row.msgs_per_s / api.msgs_per_s };
  });
}

/** kcat and kafkajs against `onelog serve` (acks=-1, sync batch), and the embedded API, on the same records. */
async function runWire(options: Options): Promise<ClientRow[]> {
  const runs: Awaited<ReturnType<typeof wireRun>>[] = [];
  for (let run = 1; run <= options.runs; run++) {
    const samples = await wireRun(options.records);
    runs.push(samples);
    progress(`wire run ${run}/${options.runs}: ${samples.map((s) => `${s.client} produce ${rateText([s.produce], options.records)}, consume ${rateText([s.consume], options.records)}`).join('; ')}`);
  }
  const rows: ClientRow[] = [];
  for (const bench of ['produce', 'consume'] as const) {
    for (const client of ['embedded', 'kcat', 'kafkajs'] satisfies WireClient[]) {
      const samples = runs.map((r) => r.find((s) => s.client === client)![bench]);
      const system = client === 'embedded' ? 'onelog-api' : 'onelog-wire';
      rows.push({ bench, system, client, mode: 'batch', records: options.records, runs: options.runs, ...clientRates(samples, options.records, RECORD_BYTES) });
    }
  }
  return withApiRatios(rows);
}

/** `onelog produce` fed the records as stdin lines, beside the embedded API producing the same values. */
async function runCli(options: Options): Promise<ClientRow[]> {
  const cli: Sample[] = [];
  const api: Sample[] = [];
  for (let run = 1; run <= options.runs; run++) {
    const samples = await cliRun(options.records);
    cli.push(samples.cli);
    api.push(samples.api);
    progress(`cli run ${run}/${options.runs}: onelog produce ${rateText([samples.cli], options.records)}; api ${rateText([samples.api], options.records)}`);
  }
  const shape = { bench: 'produce', mode: 'batch', records: options.records, runs: options.runs } as const;
  return withApiRatios([
    { ...shape, system: 'onelog-api', client: 'embedded', ...clientRates(api, options.records, VALUE_BYTES) },
    { ...shape, system: 'onelog-cli', client: 'onelog produce', ...clientRates(cli, options.records, VALUE_BYTES) },
  ]);
}

/** One line of the compaction bench (medians over the runs). */
interface CompactionRow {
  readonly bench: 'compaction';
  readonly system: 'onelog';
  readonly topic_mb: number;
  readonly live_fraction: number;
  readonly runs: number;
  readonly compaction_mb_per_s: number;
  readonly removed_records: number;
  readonly produce_alone_msgs_per_s: number;
  readonly produce_during_msgs_per_s: number;
  /** The median over runs of each run's produce_during over its produce_alone. */
  readonly produce_kept: number;
  /** The longest a compaction step held the writer lock, over every run (ms). */
  readonly longest_step_ms: number;
}

async function runCompaction(options: Options): Promise<CompactionRow> {
  const samples: CompactionSample[] = [];
  for (let run = 1; run <= options.runs; run++) {
    const s = await compactionRun(options.compactionMb);
    samples.push(s);
    progress(
      `compaction run ${run}/${options.runs}: ${(s.topicBytes / 1e6 / s.compactionSeconds).toFixed(1)} MB/s, producer ${integer(s.produceDuring)} msgs/s during vs ${integer(s.produceAlone)} alone (${ratio(s.produceDuring / s.produceAlone)}), ${String(s.steps)} steps, longest ${s.longestStepMs.toFixed(1)} ms`,
    );
  }
  const alone = median(samples.map((s) => s.produceAlone));
  const during = median(samples.map((s) => s.produceDuring));
  return {
    bench: 'compaction',
    system: 'onelog',
    topic_mb: options.compactionMb,
    live_fraction: 0.1,
    runs: options.runs,
    compaction_mb_per_s: median(samples.map((s) => s.topicBytes / 1e6 / s.compactionSeconds)),
    removed_records: median(samples.map((s) => s.removedRecords)),
    produce_alone_msgs_per_s: alone,
    produce_during_msgs_per_s: during,
    // Each run's producer alone is measured in that run, before and after its compaction: the ratio pairs
    // the two rates on the same state of the machine, and the median is over those paired ratios.
    produce_kept: median(samples.map((s) => s.produceDuring / s.produceAlone)),
    longest_step_ms: Math.max(...samples.map((s) => s.longestStepMs)),
  };
}

function formatCompaction(row: CompactionRow): string {
  return [
    `compaction: ${String(row.topic_mb)} MB topic, 10% of records the latest of their key: ${row.compaction_mb_per_s.toFixed(1)} MB/s, ${integer(row.removed_records)} records removed`,
    `  one producer (batches of 1000, sync batch) to another topic of the file: ${integer(row.produce_alone_msgs_per_s)} msgs/s alone, ${integer(row.produce_during_msgs_per_s)} during compaction`,
    `  = ${ratio(row.produce_kept)} kept (target >= ${COMPACTION_PRODUCE_TARGET.toFixed(2)}x: ${row.produce_kept >= COMPACTION_PRODUCE_TARGET ? 'met' : 'NOT met'}). --compaction-mb sets the topic size.`,
    `  longest step under the writer lock: ${row.longest_step_ms.toFixed(1)} ms (bound 50 ms: ${row.longest_step_ms <= COMPACTION_STEP_BOUND_MS ? 'met' : 'NOT met'})`,
  ].join('\n');
}

async function runPhysical(options: Options, { payload }: Prepared): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const mode of ['none', 'fdatasync'] satisfies PhysicalMode[]) {
    const shape: RowShape = { bench: 'produce', system: 'physical', mode: mode === 'none' ? 'none' : 'fdatasync/4MiB', producers: 1, partitions: 1, batch_size: 0 };
    const samples: Sample[] = [];
    for (let run = 1; run <= options.runs; run++) {
      samples.push(await physicalWrite(payload, mode));
      progress(`${describe(shape)} run ${run}/${options.runs}: ${rateText(samples, options.records)}`);
    }
    rows.push(summarize(shape, options.records, samples));
  }
  return rows;
}

async function runSqlite(options: Options, { payload, expected }: Prepared): Promise<{ produce: ResultRow[]; consume: ResultRow[] }> {
  const produceRows: ResultRow[] = [];
  const consumeRows: ResultRow[] = [];
  for (const sync of ['FULL', 'OFF'] satisfies SqliteSync[]) {
    const shape: RowShape = { bench: 'produce', system: 'sqlite', mode: sync.toLowerCase(), producers: 1, partitions: 1, batch_size: 1000 };
    const withRead = sync === 'OFF';
    const written: Sample[] = [];
    const read: Sample[] = [];
    for (let run = 1; run <= options.runs; run++) {
      const result = await sqliteRun(payload, sync, withRead ? expected : undefined);
      written.push(result.write);
      if (result.read !== undefined) read.push(result.read);
      progress(`${describe(shape)} run ${run}/${options.runs}: ${rateText(written, options.records)}`);
    }
    produceRows.push(summarize(shape, options.records, written));
    if (withRead) {
      const readShape: RowShape = { ...shape, bench: 'consume' };
      progress(`${describe(readShape)}: ${rateText(read, options.records)} (last run)`);
      consumeRows.push(summarize(readShape, options.records, read));
    }
  }
  return { produce: produceRows, consume: consumeRows };
}

function isResultRow(value: unknown): value is ResultRow {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const numbers = ['producers', 'partitions', 'batch_size', 'records', 'runs', 'msgs_per_s', 'mb_per_s', 'rss_mb'];
  return (
    (v.bench === 'large-produce' || v.bench === 'large-consume') &&
    v.system === 'onelog' &&
    typeof v.mode === 'string' &&
    numbers.every((key) => typeof v[key] === 'number')
  );
}

/** Exits with the child's failure when a command fails. */
async function run(command: string, args: readonly string[]): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with code ${String(code)}`);
}

const LARGE_SEMI_SPACE_MB = 16;

/**
 * Runs the large-topic bench in a child process so the RSS it reports is its own. The child runs the
 * compiled JavaScript (tsconfig.bench.json), as an application using the package would: running the .ts
 * sources through Node's type stripping would add the stripper's own ~40 MB to the figure.
 */
async function runLarge(gb: number): Promise<ResultRow[]> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  progress('large topic: compiling src and bench to .bench-build/');
  await run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.bench.json')]);
  const script = path.join(root, '.bench-build/bench/large-topic.js');
  progress(`large topic: writing and reading ${gb} GB in a child process`);
  // Node 24's V8 lets the young generation grow to 64 MiB semi-spaces in allocation-heavy loops (the
  // decode loop makes a few objects per record), which V8 then keeps: ~130 MB of RSS that is the
  // runtime's, not onelog's. The child runs with 16 MiB semi-spaces, the default of earlier Node versions.
  const child = spawn(process.execPath, [`--max-semi-space-size=${LARGE_SEMI_SPACE_MB}`, script, '--gb', String(gb)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`large-topic child exited with code ${String(code)}`);
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const parsed: unknown = JSON.parse(line);
      if (!isResultRow(parsed)) throw new Error(`large-topic child printed an unexpected line: ${line}`);
      progress(`${describe(parsed)}: ${Math.round(parsed.msgs_per_s).toLocaleString('en-US')} msgs/s, rss ${parsed.rss_mb.toFixed(0)} MB`);
      return parsed;
    });
}

/** Adds the ratios to onelog's rows: vs SQLite doing the same work, and batch mode vs fdatasync'd writes. */
function withRatios(rows: readonly ResultRow[]): ResultRow[] {
  const find = (bench: ResultRow['bench'], system: ResultRow['system'], mode: string): ResultRow | undefined =>
    rows.find((r) => r.bench === bench && r.system === system && r.mode === mode);
  const sqliteOff = find('produce', 'sqlite', 'off');
  const sqliteFull = find('produce', 'sqlite', 'full');
  const sqliteRead = find('consume', 'sqlite', 'off');
  const physicalSynced = find('produce', 'physical', 'fdatasync/4MiB');
  return rows.map((row) => {
    if (row.system !== 'onelog') return row;
    let peer: ResultRow | undefined;
    if (row.bench === 'consume') peer = sqliteRead;
    else if (row.bench === 'produce') peer = row.mode === 'none' ? sqliteOff : sqliteFull;
    const ratios: Partial<ResultRow> = {};
    if (peer !== undefined) Object.assign(ratios, { vs_sqlite: row.msgs_per_s / peer.msgs_per_s });
    if (row.bench === 'produce' && row.mode === 'batch' && physicalSynced !== undefined) {
      Object.assign(ratios, { vs_physical_fdatasync: row.mb_per_s / physicalSynced.mb_per_s });
    }
    return { ...row, ...ratios };
  });
}

const to = (n: number, digits: number): number => Number(n.toFixed(digits));
const optional = (n: number | undefined, digits: number): number | undefined => (n === undefined ? undefined : to(n, digits));

/** Trims JSON numbers to the precision the measurement has: whole msgs/s, 0.1 MB, 3-digit ratios. */
function rounded(row: TableRow): TableRow {
  const common = {
    msgs_per_s: Math.round(row.msgs_per_s),
    mb_per_s: to(row.mb_per_s, 1),
    rss_mb: to(row.rss_mb, 1),
    max_rss_mb: optional(row.max_rss_mb, 1),
  };
  if (row.system === 'onelog-api') return { ...row, ...common, vs_engine: to(row.vs_engine, 3) };
  return { ...row, ...common, vs_sqlite: optional(row.vs_sqlite, 3), vs_physical_fdatasync: optional(row.vs_physical_fdatasync, 3) };
}

function roundedClient(row: ClientRow): ClientRow {
  return { ...row, msgs_per_s: Math.round(row.msgs_per_s), mb_per_s: to(row.mb_per_s, 1), vs_api: optional(row.vs_api, 3) };
}

/** Latency lines in whole microseconds, ratios to 3 digits. */
function roundedLatency(row: LatencyRow): LatencyRow {
  return { ...row, p50_us: Math.round(row.p50_us), p99_us: Math.round(row.p99_us), vs_fdatasync_p50: optional(row.vs_fdatasync_p50, 3) };
}

const integer = (n: number): string => Math.round(n).toLocaleString('en-US');
const ratio = (n: number | undefined): string => (n === undefined ? '' : `${n.toFixed(2)}x`);

/** Columns padded to their widest cell, the first `leftAligned` left-aligned, under a rule. */
function aligned(header: readonly string[], cells: readonly (readonly string[])[], leftAligned: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string =>
    c.map((text, i) => (i < leftAligned ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...cells.map(line)];
}

function formatLatency(rows: readonly LatencyRow[]): string {
  const header = ['system', 'bench', 'mode', 'samples', 'p50 us', 'p99 us', 'vs fdatasync p50'];
  const cells = rows.map((r) => [r.system, r.bench, r.mode, String(r.samples), integer(r.p50_us), integer(r.p99_us), ratio(r.vs_fdatasync_p50)]);
  const met = rows.find((r) => r.system === 'onelog-api' && r.mode === 'batch');
  const verdict = met?.vs_fdatasync_p50 === undefined ? '' : met.vs_fdatasync_p50 <= LATENCY_P50_TARGET ? 'met' : 'NOT met';
  return [
    ...aligned(header, cells, 3),
    '',
    'send-latency: producer.send of one 100 B record, one at a time, each awaited until durable (sync batch); physical: one',
    '  fs.writeSync of 100 B + fs.fdatasyncSync on a temp file. "batch" opens the database with the default group-commit',
    `  window, "batch/window=0" with groupCommitWindowMs 0. Target: p50 <= ${LATENCY_P50_TARGET}x the fdatasync p50 (default window): ${verdict}.`,
  ].join('\n');
}

function verdict(value: number | undefined, target: number): string {
  if (value === undefined) return 'not run';
  return `${value >= target ? 'met' : 'NOT met'} (${ratio(value)})`;
}

function formatClients(rows: readonly ClientRow[]): string {
  const header = ['system', 'client', 'bench', 'mode', 'msgs/s', 'MB/s', 'vs api'];
  const cells = rows.map((r) => [r.system, r.client, r.bench, r.mode, integer(r.msgs_per_s), r.mb_per_s.toFixed(1), ratio(r.vs_api)]);
  const kcatProduce = rows.find((r) => r.client === 'kcat' && r.bench === 'produce');
  const cliProduce = rows.find((r) => r.system === 'onelog-cli');
  const notes: string[] = [];
  if (rows.some((r) => r.system === 'onelog-wire')) {
    notes.push(
      'onelog-wire: `onelog serve` in its own process (sync batch), 1-partition topics; kcat -P reads key<TAB>value lines',
      '  (acks=-1, linger.ms=5, batch.num.messages=10000), kcat -C reads them back to the end; kafkajs sends 1000 messages per',
      '  awaited send (acks=-1) and a kafkajs group consumer reads them (eachBatch). Records: 16-char keys, 100-char values.',
      '  onelog-api (wire section): the embedded producer.send of the same 1000-message sends (sync batch) and a group consumer.',
      `  Target: kcat produce >= ${WIRE_PRODUCE_TARGET.toFixed(2)}x the embedded produce: ${verdict(kcatProduce?.vs_api, WIRE_PRODUCE_TARGET)}.`,
    );
  }
  if (cliProduce !== undefined) {
    notes.push(
      'onelog-cli: `onelog produce FILE TOPIC` in its own process, timed from spawn to exit (start-up included), fed the records',
      '  as 100-char stdin lines (no key); onelog-api (cli section): producer.send of the same values in awaited sends of 1000.',
      `  Target: >= ${CLI_PRODUCE_TARGET.toFixed(2)}x the library's produce: ${verdict(cliProduce.vs_api, CLI_PRODUCE_TARGET)}.`,
    );
  }
  return [...aligned(header, cells, 4), '', ...notes].join('\n');
}

function formatTable(rows: readonly TableRow[], options: Options, baselineRssMb: number): string {
  const header = ['system', 'bench', 'mode', 'producers', 'partitions', 'batch', 'msgs/s', 'MB/s', 'rss MB', 'vs sqlite', "vs fsync'd physical", 'vs engine'];
  const leftAligned = 3;
  const cells = rows.map((r) => [
    r.system,
    r.bench,
    r.system === 'onelog-api' && r.handler !== undefined ? `${r.mode}, ${r.handler}` : r.mode,
    String(r.producers),
    String(r.partitions),
    r.batch_size === 0 ? '1 MiB' : String(r.batch_size),
    integer(r.msgs_per_s),
    r.mb_per_s.toFixed(1),
    integer(r.rss_mb),
    r.system === 'onelog-api' ? '' : ratio(r.vs_sqlite),
    r.system === 'onelog-api' ? '' : ratio(r.vs_physical_fdatasync),
    r.system === 'onelog-api' ? ratio(r.vs_engine) : '',
  ]);

  const large = rows.filter((r) => r.bench === 'large-produce' || r.bench === 'large-consume');
  const largePeak = Math.max(...large.map((r) => Math.max(r.rss_mb, r.max_rss_mb ?? 0)));
  const onelogMaxRss = Math.max(...rows.filter((r) => r.system === 'onelog' && !large.includes(r)).map((r) => r.max_rss_mb ?? 0));
  const apiWorst = rows.filter((r): r is ApiRow => r.system === 'onelog-api').reduce<ApiRow | undefined>((worst, r) => (worst === undefined || r.vs_engine < worst.vs_engine ? r : worst), undefined);
  const apiVerdict =
    apiWorst === undefined
      ? 'not run'
      : `${apiWorst.vs_engine >= API_THROUGHPUT_TARGET ? 'met' : 'NOT met'}; lowest ${ratio(apiWorst.vs_engine)}, ${[apiWorst.bench, apiWorst.handler ?? []].flat().join(' ')} with ${apiWorst.partitions} partition(s)`;
  const notes = [
    `${options.records.toLocaleString('en-US')} records of ${KEY_BYTES} B key + ${VALUE_BYTES} B value; msgs/s and MB/s are the median of ${options.runs} run(s).`,
    `MB/s counts key+value bytes only (${RECORD_BYTES} B per record) for every system, so all compare on the same payload; MB = 10^6 bytes.`,
    'onelog produce: "none" = 1 producer awaiting each append; "batch" = 1 producer (batches of 1000) or 64 concurrent producers',
    '  (batches of 100), each append awaited until durable; batches go to partitions round-robin. consume reads from offset 0,',
    '  decoding every record and touching key and value, from the file written under sync none (reopened).',
    'physical: plain sequential fs.writeSync of 1 MiB buffers of the same bytes, without and with fdatasync every 4 MiB.',
    'batch: records per append (onelog) or rows per transaction (sqlite), as written; physical writes 1 MiB buffers.',
    'sqlite: node:sqlite DatabaseSync, WAL, table (k BLOB, v BLOB), transactions of 1000 inserts; consume = SELECT of all rows.',
    'vs sqlite: onelog none vs synchronous=OFF, batch vs synchronous=FULL, consume vs the SELECT (higher is better for onelog).',
    "vs fsync'd physical: onelog batch-mode MB/s divided by physical fdatasync/4MiB MB/s.",
    'onelog-api: the same records through the client API: 1 producer awaiting each producer.send of 1000 kafkajs messages',
    '  (Buffer key and value, numeric timestamp as the engine gets, partition b mod n for send b); consume = a group consumer',
    '  (default autoCommit: a commit after every fetch) from the beginning of the file written under sync none (reopened),',
    '  touching key and value, once with eachMessage (an awaited handler call per message) and once with eachBatch (one',
    "  call per fetched batch, iterating its messages, as the engine's loop iterates a read). vs engine: each API run",
    "  follows a raw engine run of the same shape made for this ratio (not the engine rows' runs); the median over runs of",
    `  API msgs/s over that engine run's (target >= ${API_THROUGHPUT_TARGET.toFixed(2)}x: ${apiVerdict}).`,
    `rss MB: peak RSS of the bench process sampled during the measurement (highest over runs). Before any measurement it held`,
    `  ${integer(baselineRssMb)} MB (the pre-generated payload); its maxRSS after the onelog runs: ${Number.isFinite(onelogMaxRss) ? `${integer(onelogMaxRss)} MB` : 'not run'}.`,
  ];
  if (large.length > 0) {
    const met = largePeak < RSS_TARGET_MB ? 'met' : 'NOT met';
    notes.push(
      `large-*: ${options.largeGb} GB of payload in one partition (sync none, batches of 1000), written then read back in a child`,
      `  process (1 run) of compiled JS with --max-semi-space-size=${LARGE_SEMI_SPACE_MB} (Node 24's default of 64 adds ~130 MB of`,
      `  V8 young generation); its peak RSS (sampled; and maxRSS where that is the child's own) ${integer(largePeak)} MB: target < ${RSS_TARGET_MB} MB ${met}.`,
    );
  } else {
    notes.push('large-topic run skipped (--skip-large or --only).');
  }
  return [...aligned(header, cells, leftAligned), '', ...notes].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions();
  progress(`${options.records.toLocaleString('en-US')} records, ${options.runs} run(s) per measurement`);
  const prepared = prepare(options.records);
  const baselineRssMb = toMb(process.memoryUsage.rss());
  const { sections } = options;
  const none = { produce: [], consume: [] };
  const onelog = sections.has('engine') ? await runOnelog(options, prepared) : none;
  const api = sections.has('api') ? await runApi(options, prepared) : none;
  const latency = sections.has('latency') ? await runLatency(options) : [];
  const physical = sections.has('physical') ? await runPhysical(options, prepared) : [];
  const sqlite = sections.has('sqlite') ? await runSqlite(options, prepared) : none;
  const large = options.skipLarge || !sections.has('large') ? [] : await runLarge(options.largeGb);
  const compaction = sections.has('compaction') ? await runCompaction(options) : null;
  const clients = [...(sections.has('wire') ? await runWire(options) : []), ...(sections.has('cli') ? await runCli(options) : [])];
  const rows = withRatios([...onelog.produce, ...physical, ...sqlite.produce, ...onelog.consume, ...sqlite.consume, ...large]);
  const { produce: apiProduce, consume: apiConsume } = api;
  const table: TableRow[] = [...rows];
  // Each API bench's rows follow the engine's rows of that bench, or end the table when the engine did not run.
  for (const extra of [apiProduce, apiConsume]) {
    const bench = extra[0]?.bench;
    const after = table.findLastIndex((r) => r.system === 'onelog' && r.bench === bench);
    table.splice(after === -1 ? table.length : after + 1, 0, ...extra);
  }
  if (options.json) {
    for (const row of rows) console.log(JSON.stringify(rounded(row)));
    for (const row of [...apiProduce, ...apiConsume]) console.log(JSON.stringify(rounded(row)));
    for (const row of latency) console.log(JSON.stringify(roundedLatency(row)));
    for (const row of clients) console.log(JSON.stringify(roundedClient(row)));
    if (compaction !== null) {
      const { compaction_mb_per_s, produce_alone_msgs_per_s, produce_during_msgs_per_s, produce_kept, longest_step_ms } = compaction;
      console.log(JSON.stringify({ ...compaction, compaction_mb_per_s: to(compaction_mb_per_s, 1), produce_alone_msgs_per_s: Math.round(produce_alone_msgs_per_s), produce_during_msgs_per_s: Math.round(produce_during_msgs_per_s), produce_kept: to(produce_kept, 3), longest_step_ms: to(longest_step_ms, 1) }));
    }
  } else {
    const parts = [
      table.length === 0 ? [] : [formatTable(table, options, baselineRssMb)],
      latency.length === 0 ? [] : [formatLatency(latency)],
      clients.length === 0 ? [] : [formatClients(clients)],
      compaction === null ? [] : [formatCompaction(compaction)],
    ].flat();
    console.log(parts.join('\n\n'));
  }
}

await main();
