// Parquet data files through embedded DuckDB: a batch of prepared messages
// (columns.ts) is staged into a DuckDB table already in the table's types and
// in time order, then `COPY ... TO` writes one zstd file per day partition
// with the Iceberg field ids in the Parquet schema. The per-column counts and
// bounds the manifest needs are worked out while staging.
//
// Staging is the hot path (hundreds of thousands of records a second), so
// DuckDB is given as little to do as possible:
// - the sort is a sort of one packed number per row here (time, then arrival),
//   and rows are staged in that order, so the COPY only encodes;
// - 64-bit values are written straight into BIGINT/TIMESTAMPTZ vectors;
// - each string column is an ENUM of the batch's distinct values, so rows
//   carry small ids and DuckDB writes the ENUM's dictionary as the column's
//   Parquet dictionary (a plain UTF-8 string column to every reader) without
//   hashing a string per row.
import { mkdir, stat } from 'node:fs/promises';
import { endianness, tmpdir } from 'node:os';
import { threadId } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import { DuckDBDataChunk, DuckDBInstance, UINTEGER, VARCHAR, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { RECORD_FIELDS } from '../../common/flow.js';
import { STRING_COLUMNS, type PreparedFlows } from './columns.js';
import { localPath } from './io.js';
import type { DataFile } from './manifest.js';
import { COLUMNS, decodeBound, encodeLong, MS_PER_DAY, SORT_ORDER_ID, type Column } from './schema.js';

export interface ParquetOptions {
  /** zstd level (1-22): 3 is zstd's default; higher is smaller and slower. */
  compressionLevel: number;
  /**
   * Rows per row group. Each row group repeats the address dictionaries, so
   * large groups are markedly smaller (18.5 vs 21.5 bytes/row measured at 1M
   * vs 123k rows); engines still prune and parallelise per group.
   */
  rowGroupRows: number;
  /**
   * DuckDB threads for sorting and encoding. One measured best: the COPY of a
   * batch then streams (two threads buffered and reordered the rows, at twice
   * the CPU), and it runs beside the pull loop's thread decoding the next batch.
   */
  threads: number;
  /** DuckDB memory limit, e.g. "1GB"; spills to temp files beyond it. */
  memoryLimit: string;
  /** V2 adds delta encodings (much smaller sorted times); every current reader reads them. */
  parquetVersion: 'V1' | 'V2';
}

/** Where this process's DuckDB instances spill (the service's own /tmp under its unit, never the working directory), a folder each. */
const DUCKDB_TEMP_PREFIX = join(tmpdir(), `serviceradar-netflow-duckdb-${process.pid}-${threadId}`);
let duckDbInstances = 0;

/**
 * An in-memory DuckDB on UTC that spills to a folder of its own in this process's temp folder.
 * DuckDB's own default spills to `.tmp` in the working directory: read-only
 * under the packaged units, and litter in a checkout.
 */
export async function openDuckDb(opts: { threads?: number; memoryLimit?: string; settings?: Record<string, string> } = {}): Promise<{ instance: DuckDBInstance; con: DuckDBConnection }> {
  const instance = await DuckDBInstance.create(':memory:', {
    ...(opts.threads ? { threads: String(opts.threads) } : {}),
    ...(opts.memoryLimit ? { memory_limit: opts.memoryLimit } : {}),
    ...opts.settings,
  });
  const con = await instance.connect();
  await con.run(`SET GLOBAL TimeZone = 'UTC'`);
  // A folder per instance: DuckDB names its spill files the same in every instance.
  await con.run(`SET GLOBAL temp_directory = ${sqlString(`${DUCKDB_TEMP_PREFIX}-${++duckDbInstances}`)}`);
  return { instance, con };
}

export const DEFAULT_PARQUET: ParquetOptions = { compressionLevel: 3, rowGroupRows: 1_048_576, threads: 1, memoryLimit: '1GB', parquetVersion: 'V2' };

/** Counts and bounds of a file's rows, before it is written. */
export type FileStats = Pick<DataFile, 'recordCount' | 'partitionDay' | 'valueCounts' | 'nullValueCounts' | 'lowerBounds' | 'upperBounds'>;

const VECTOR = 2048;
const PROTO_TYPE = new Map<string, string>(RECORD_FIELDS.map((f) => [f.name, f.type]));
const YIELD_ROWS = 32 * VECTOR;
const TWO_32 = 2 ** 32;
// 64-bit values are staged as two 32-bit halves, low first.
if (endianness() !== 'LE') throw new Error('the Parquet stage writes little-endian vectors');

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const enumType = (c: Column) => `stage_enum_${c.id}`;
/** uint32 fields are staged as such (half the bytes to append) and widened to BIGINT by the COPY. */
const narrow = (c: Column) => PROTO_TYPE.get(c.name) === 'uint32';
const STAGE_COLUMNS = COLUMNS.map((c) => `${ident(c.name)} ${c.type === 'string' ? enumType(c) : narrow(c) ? 'UINTEGER' : c.duckdb}`).join(', ');
const FROM_STAGE = `SELECT ${COLUMNS.map((c) => (narrow(c) ? `CAST(${ident(c.name)} AS BIGINT) AS ${ident(c.name)}` : ident(c.name))).join(', ')} FROM stage`;
const FIELD_IDS = `{${COLUMNS.map((c) => `${ident(c.name)}: ${c.id}`).join(', ')}}`;

/** One string column of a batch: each row's id among the batch's distinct values of the column. */
interface BatchStrings { ids: Uint32Array; values: string[]; keys: Uint8Array[] }

/** A batch end to end, in arrival order, with the time order and its day ranges. */
interface Batch {
  /** Every other column: the messages' arrays end to end (times in ms). */
  numbers: Map<string, Float64Array | Uint32Array>;
  /** Per STRING_COLUMNS entry. */
  strings: BatchStrings[];
  /** Row indexes by time, then arrival. */
  order: Uint32Array;
  /** Consecutive ranges of `order` with one partition day each. */
  days: { day: number; from: number; to: number }[];
}

export class ParquetWriter {
  /** Calls run one at a time: they share the connection and its staging tables. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly instance: DuckDBInstance, private readonly con: DuckDBConnection, readonly opts: ParquetOptions) {}

  static async open(opts: Partial<ParquetOptions> = {}): Promise<ParquetWriter> {
    const o = { ...DEFAULT_PARQUET, ...opts };
    // Sorts larger than memory_limit (compacting a busy day) spill to the temp folder.
    const { instance, con } = await openDuckDb({ threads: o.threads, memoryLimit: o.memoryLimit });
    // Staged rows are in time order already: the COPY must keep it (DuckDB's default).
    await con.run(`SET preserve_insertion_order=true`);
    return new ParquetWriter(instance, con, o);
  }

  close(): void {
    this.con.closeSync();
    this.instance.closeSync();
  }

  /**
   * Writes the messages' records as one file per day partition; `locate(day)`
   * names each file's location (absolute path or file:// URI). Returns the
   * files with their manifest statistics.
   */
  writeBatch(parts: PreparedFlows[], locate: (day: number) => string): Promise<DataFile[]> {
    if (!parts.some((p) => p.flows.rows > 0)) return Promise.resolve([]);
    return this.serialized(() => this.writeStaged(assemble(parts), locate));
  }

  private serialized<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeStaged(batch: Batch, locate: (day: number) => string): Promise<DataFile[]> {
    const files: DataFile[] = [];
    try {
      await this.createEnums(batch.strings);
      for (const range of batch.days) {
        const stats = await this.stage(batch, range.from, range.to, range.day);
        // No bloom filters in batch files: they cost a fifth of the COPY and
        // 1.1 bytes a row, and compaction soon rewrites these files with them.
        files.push(await this.copy(FROM_STAGE, locate(range.day), stats, false));
      }
      return files;
    } finally {
      await this.con.run(`DROP TABLE IF EXISTS stage; DROP TABLE IF EXISTS dict; ${STRING_COLUMNS.map((c) => `DROP TYPE IF EXISTS ${enumType(c)};`).join(' ')}`);
    }
  }

  /** One ENUM type per string column, its members the column's distinct values in id order. */
  private async createEnums(strings: BatchStrings[]): Promise<void> {
    const chunk = DuckDBDataChunk.create([UINTEGER, VARCHAR], VECTOR);
    for (let k = 0; k < STRING_COLUMNS.length; k++) {
      const values = strings[k]!.values;
      await this.con.run('CREATE OR REPLACE TABLE dict (id UINTEGER, v VARCHAR)');
      const appender = await this.con.createAppender('dict');
      try {
        const ids = new Uint32Array(VECTOR);
        for (let off = 0; off < values.length; off += VECTOR) {
          const n = Math.min(VECTOR, values.length - off);
          const strVec = duckdb.data_chunk_get_vector(chunk.chunk, 1);
          for (let i = 0; i < n; i++) { ids[i] = off + i; duckdb.vector_assign_string_element(strVec, i, values[off + i]!); }
          duckdb.copy_data_to_vector(duckdb.data_chunk_get_vector(chunk.chunk, 0), 0, ids.buffer, 0, n * 4);
          duckdb.data_chunk_set_size(chunk.chunk, n);
          duckdb.append_data_chunk(raw(appender), chunk.chunk);
        }
      } finally {
        appender.closeSync();
      }
      await this.con.run(`CREATE TYPE ${enumType(STRING_COLUMNS[k]!)} AS ENUM (SELECT v FROM dict ORDER BY id)`);
    }
  }

  /**
   * Stages rows order[from..to) (one day) into table `stage`, whole vectors
   * at a time, and returns their counts and bounds.
   */
  private async stage(batch: Batch, from: number, to: number, day: number): Promise<FileStats> {
    await this.con.run(`CREATE OR REPLACE TABLE stage (${STAGE_COLUMNS})`);
    const appender = await this.con.createAppender('stage');
    const bounds = new Float64Array(2 * COLUMNS.length);
    const seen = batch.strings.map((s) => new Uint8Array(s.values.length));
    try {
      const types = COLUMNS.map((_, j) => duckdb.appender_column_type(raw(appender), j));
      const chunk = duckdb.create_data_chunk(types);
      // An ENUM's ids are 1, 2 or 4 bytes wide by its member count.
      const buffers = COLUMNS.map((c, j) => {
        if (c.type !== 'string') return new Uint32Array(narrow(c) ? VECTOR : 2 * VECTOR);
        const t = duckdb.enum_internal_type(types[j]!);
        return t === duckdb.Type.UTINYINT ? new Uint8Array(VECTOR) : t === duckdb.Type.USMALLINT ? new Uint16Array(VECTOR) : new Uint32Array(VECTOR);
      });
      COLUMNS.forEach((_, j) => { bounds[2 * j] = Infinity; bounds[2 * j + 1] = -Infinity; });
      for (let at = from; at < to; at += VECTOR) {
        const n = Math.min(VECTOR, to - at);
        let k = 0;
        for (let j = 0; j < COLUMNS.length; j++) {
          const c = COLUMNS[j]!;
          const out = buffers[j]!;
          if (c.type === 'string') {
            gatherIds(batch.strings[k]!.ids, batch.order, at, n, out, seen[k]!);
            k++;
          } else {
            const src = batch.numbers.get(c.name)!;
            if (src instanceof Float64Array) gatherDoubles(src, batch.order, at, n, c.type === 'timestamptz' ? 1000 : 1, out as Uint32Array, bounds, 2 * j);
            else gatherUints(src, batch.order, at, n, out as Uint32Array, bounds, 2 * j);
          }
          duckdb.copy_data_to_vector(duckdb.data_chunk_get_vector(chunk, j), 0, out.buffer, 0, c.type === 'string' || narrow(c) ? n * out.BYTES_PER_ELEMENT : n * 8);
        }
        duckdb.data_chunk_set_size(chunk, n);
        duckdb.append_data_chunk(raw(appender), chunk);
        // Staging runs on the event loop's thread: hand it back now and then,
        // so the pull loop reads the next batch's messages meanwhile.
        if ((at - from) % YIELD_ROWS === YIELD_ROWS - VECTOR) {
          appender.flushSync();
          await new Promise(setImmediate);
        }
      }
    } finally {
      appender.closeSync();
    }
    const recordCount = to - from;
    const lowerBounds = new Map<number, Buffer>();
    const upperBounds = new Map<number, Buffer>();
    let k = 0;
    COLUMNS.forEach((c, j) => {
      if (c.type === 'string') {
        const [lo, hi] = stringBounds(batch.strings[k]!.keys, seen[k++]!);
        lowerBounds.set(c.id, Buffer.from(lo));
        upperBounds.set(c.id, Buffer.from(hi));
      } else {
        // Times are staged from ms; Iceberg timestamptz bounds are microseconds.
        const scale = c.type === 'timestamptz' ? 1000n : 1n;
        lowerBounds.set(c.id, encodeLong(BigInt(bounds[2 * j]!) * scale));
        upperBounds.set(c.id, encodeLong(BigInt(bounds[2 * j + 1]!) * scale));
      }
    });
    return {
      recordCount,
      partitionDay: day,
      valueCounts: new Map(COLUMNS.map((c) => [c.id, recordCount])),
      nullValueCounts: new Map(COLUMNS.map((c) => [c.id, 0])),
      lowerBounds, upperBounds,
    };
  }

  /**
   * Rewrites data files of one day into one file sorted by time (compaction);
   * the statistics are the merged statistics of the sources.
   */
  rewriteFiles(sources: DataFile[], location: string): Promise<DataFile> {
    const list = `[${sources.map((s) => sqlString(localPath(s.path))).join(', ')}]`;
    return this.serialized(() => this.copy(`SELECT ${COLUMNS.map((c) => ident(c.name)).join(', ')} FROM read_parquet(${list}) ORDER BY timestamp`, location, mergeStats(sources), true));
  }

  private async copy(select: string, location: string, stats: FileStats, bloomFilters: boolean): Promise<DataFile> {
    const path = localPath(location);
    await mkdir(dirname(path), { recursive: true });
    await this.con.run(`COPY (${select}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${this.opts.compressionLevel}, ROW_GROUP_SIZE ${this.opts.rowGroupRows}, PARQUET_VERSION ${this.opts.parquetVersion}, WRITE_BLOOM_FILTER ${bloomFilters}, FIELD_IDS ${FIELD_IDS})`);
    const size = (await stat(path)).size;
    const meta = await this.con.runAndReadAll(
      `SELECT path_in_schema, sum(total_compressed_size), sum(num_values), min(stats_min_value), max(stats_max_value), bool_and(min_is_exact), bool_and(max_is_exact) FROM parquet_metadata($1) GROUP BY 1`, [path]);
    const byName = new Map(COLUMNS.map((c) => [c.name as string, c]));
    const columnSizes = new Map<number, number>();
    const lowerBounds = new Map(stats.lowerBounds);
    const upperBounds = new Map(stats.upperBounds);
    let rows = 0;
    for (const [name, bytes, values, lo, hi, loExact, hiExact] of meta.getRows()) {
      const c = byName.get(String(name));
      if (!c) continue;
      columnSizes.set(c.id, Number(bytes));
      rows = Math.max(rows, Number(values));
      // Merged files know no string bounds: take the file's own statistics
      // (exact ones only; a missing bound is allowed, a wrong one would make
      // readers skip rows).
      if (c.type === 'string' && !stats.lowerBounds.has(c.id)) {
        if (lo !== null && loExact) lowerBounds.set(c.id, Buffer.from(String(lo), 'utf8'));
        if (hi !== null && hiExact) upperBounds.set(c.id, Buffer.from(String(hi), 'utf8'));
      }
    }
    if (rows !== stats.recordCount) throw new Error(`${path}: wrote ${rows} rows, expected ${stats.recordCount}`);
    return { path: location, fileSizeBytes: size, columnSizes, sortOrderId: SORT_ORDER_ID, ...stats, lowerBounds, upperBounds };
  }
}

/** The messages end to end: numbers concatenated, strings renumbered per column, the time order and its days. */
function assemble(parts: PreparedFlows[]): Batch {
  const rows = parts.reduce((n, p) => n + p.flows.rows, 0);
  const numbers = new Map<string, Float64Array | Uint32Array>();
  for (const c of COLUMNS) {
    if (c.type === 'string') continue;
    const first = parts[0]!.flows[c.name] as Float64Array | Uint32Array;
    const out = first instanceof Float64Array ? new Float64Array(rows) : new Uint32Array(rows);
    let at = 0;
    for (const p of parts) {
      out.set((p.flows[c.name] as Float64Array | Uint32Array).subarray(0, p.flows.rows), at);
      at += p.flows.rows;
    }
    numbers.set(c.name, out);
  }
  const strings = STRING_COLUMNS.map((_, k) => {
    const out: BatchStrings = { ids: new Uint32Array(rows), values: [], keys: [] };
    // Ids of a string table -> this column's ids (-1: not seen yet).
    const remaps = new Map<PreparedFlows['strings'], Int32Array>();
    let at = 0;
    for (const p of parts) {
      let remap = remaps.get(p.strings);
      if (!remap) remaps.set(p.strings, (remap = new Int32Array(p.strings.size).fill(-1)));
      const src = p.ids[k]!;
      for (let i = 0; i < p.flows.rows; i++) {
        const g = src[i]!;
        let id = remap[g]!;
        if (id < 0) {
          id = remap[g] = out.values.length;
          out.values.push(p.strings.values[g]!);
          out.keys.push(p.strings.bytesOf(g));
        }
        out.ids[at + i] = id;
      }
      at += p.flows.rows;
    }
    return out;
  });
  const ts = numbers.get('timestamp') as Float64Array;
  const order = timeOrder(ts);
  const days: Batch['days'] = [];
  for (let i = 0; i < rows; i++) {
    const day = Math.floor(ts[order[i]!]! / MS_PER_DAY);
    if (days.length && days[days.length - 1]!.day === day) days[days.length - 1]!.to = i + 1;
    else days.push({ day, from: i, to: i + 1 });
  }
  return { numbers, strings, order, days };
}

/** Row indexes sorted by time, ties in arrival order. */
export function timeOrder(ts: Float64Array): Uint32Array {
  const n = ts.length;
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) { const v = ts[i]!; if (v < min) min = v; if (v > max) max = v; }
  const order = new Uint32Array(n);
  // Time offset and row index packed into one double each (exact below 2^53)
  // sort natively, several times faster than a comparator.
  const INDEX = 2 ** 21;
  if (n <= INDEX && max - min < 2 ** 53 / INDEX) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = (ts[i]! - min) * INDEX + i;
    keys.sort();
    for (let i = 0; i < n; i++) { const key = keys[i]!; order[i] = key - Math.floor(key / INDEX) * INDEX; }
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => ts[a]! - ts[b]! || a - b);
}

/** Rows order[at..at+n) of a double column as int64 halves (times `scale`); widens bounds[b], bounds[b+1]. */
function gatherDoubles(src: Float64Array, order: Uint32Array, at: number, n: number, scale: number, out: Uint32Array, bounds: Float64Array, b: number): void {
  let lo = bounds[b]!, hi = bounds[b + 1]!;
  for (let i = 0; i < n; i++) {
    const v = src[order[at + i]!]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    const x = v * scale;
    const high = Math.floor(x / TWO_32);
    out[2 * i] = x - high * TWO_32;
    out[2 * i + 1] = high;
  }
  bounds[b] = lo;
  bounds[b + 1] = hi;
}

/** Rows order[at..at+n) of a uint32 column; widens bounds[b], bounds[b+1]. */
function gatherUints(src: Uint32Array, order: Uint32Array, at: number, n: number, out: Uint32Array, bounds: Float64Array, b: number): void {
  let lo = bounds[b]!, hi = bounds[b + 1]!;
  for (let i = 0; i < n; i++) {
    const v = src[order[at + i]!]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    out[i] = v;
  }
  bounds[b] = lo;
  bounds[b + 1] = hi;
}

/** Rows order[at..at+n) of a string column's ids; marks each id used. */
function gatherIds(src: Uint32Array, order: Uint32Array, at: number, n: number, out: Uint8Array | Uint16Array | Uint32Array, seen: Uint8Array): void {
  for (let i = 0; i < n; i++) {
    const id = src[order[at + i]!]!;
    out[i] = id;
    seen[id] = 1;
  }
}

/** The least and greatest used key, in the byte order Iceberg bounds use. */
function stringBounds(keys: Uint8Array[], seen: Uint8Array): [Uint8Array, Uint8Array] {
  let lo: Uint8Array | undefined, hi: Uint8Array | undefined;
  for (let id = 0; id < keys.length; id++) {
    if (!seen[id]) continue;
    const key = keys[id]!;
    if (!lo || compareBytes(key, lo) < 0) lo = key;
    if (!hi || compareBytes(key, hi) > 0) hi = key;
  }
  return [lo!, hi!];
}

/** Unsigned byte order (Buffer.compare's, without a native call per pair of short keys). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The statistics of files merged into one: counts add up, bounds widen. */
export function mergeStats(files: DataFile[]): FileStats {
  const days = new Set(files.map((f) => f.partitionDay));
  if (days.size !== 1) throw new Error(`cannot merge files of ${days.size} partitions`);
  const sum = (pick: (f: DataFile) => Map<number, number>) => {
    const out = new Map<number, number>();
    for (const f of files) for (const [id, n] of pick(f)) out.set(id, (out.get(id) ?? 0) + n);
    return out;
  };
  const bound = (pick: (f: DataFile) => Map<number, Buffer>, better: (cmp: number) => boolean) => {
    const out = new Map<number, Buffer>();
    for (const c of COLUMNS) {
      const all = files.map((f) => pick(f).get(c.id));
      // A bound is only known for the merged file when every source has one.
      if (all.some((b) => !b)) continue;
      out.set(c.id, all.reduce((a, b) => (better(compareBound(c, b!, a!)) ? b! : a!))!);
    }
    return out;
  };
  return {
    recordCount: files.reduce((n, f) => n + f.recordCount, 0),
    partitionDay: files[0]!.partitionDay,
    valueCounts: sum((f) => f.valueCounts),
    nullValueCounts: sum((f) => f.nullValueCounts),
    lowerBounds: bound((f) => f.lowerBounds, (cmp) => cmp < 0),
    upperBounds: bound((f) => f.upperBounds, (cmp) => cmp > 0),
  };
}

function compareBound(c: Column, a: Buffer, b: Buffer): number {
  if (c.type === 'string') return Buffer.compare(a, b);
  const [x, y] = [decodeBound(c.type, a) as bigint, decodeBound(c.type, b) as bigint];
  return x < y ? -1 : x > y ? 1 : 0;
}

// The binding-level appender behind the API object: whole vectors are
// appended with append_data_chunk, which the API wraps only per value.
const raw = (a: DuckDBAppender) => (a as unknown as { appender: duckdb.Appender }).appender;
