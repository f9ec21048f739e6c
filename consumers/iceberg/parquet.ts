// Parquet data files through embedded DuckDB: records are staged into a DuckDB
// table, then `COPY ... TO` writes one zstd file per day partition, sorted by
// time, with the Iceberg field ids in the Parquet schema, and the per-column
// counts and bounds the manifest needs are computed from the same rows.
//
// Staging is the hot path (hundreds of thousands of records a second), so it
// avoids per-value calls into DuckDB: numbers are transposed in one pass into
// typed arrays copied into DuckDB vectors whole, and strings (addresses, which
// repeat a lot within a batch) go through a per-batch dictionary so only each
// distinct string crosses into DuckDB once.
import { mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBDataChunk, DuckDBInstance, DOUBLE, UINTEGER, VARCHAR, type DuckDBAppender, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { FlowRecord } from '../../common/flow.js';
import { RECORD_FIELDS } from '../../common/flow.js';
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
  /** DuckDB threads for sorting and encoding. */
  threads: number;
  /** DuckDB memory limit, e.g. "1GB"; spills to temp files beyond it. */
  memoryLimit: string;
  /** V2 adds delta encodings (much smaller sorted times); every current reader reads them. */
  parquetVersion: 'V1' | 'V2';
}

export const DEFAULT_PARQUET: ParquetOptions = { compressionLevel: 3, rowGroupRows: 1_048_576, threads: 2, memoryLimit: '1GB', parquetVersion: 'V2' };

/** Counts and bounds of a file's rows, before it is written. */
export type FileStats = Pick<DataFile, 'recordCount' | 'partitionDay' | 'valueCounts' | 'nullValueCounts' | 'lowerBounds' | 'upperBounds'>;

const VECTOR = 2048;
const PROTO_TYPE = new Map<string, string>(RECORD_FIELDS.map((f) => [f.name, f.type]));
/** How each column is staged: strings as dictionary ids, 64-bit values as doubles (exact below 2^53). */
const STAGE_KIND = new Map(COLUMNS.map((c) => [c.name, c.type === 'string' ? 'dict' : PROTO_TYPE.get(c.name) === 'uint32' ? 'u32' : 'f64'] as const));

const STRING_COLUMNS = COLUMNS.filter((c) => c.type === 'string');
const NUMBER_COLUMNS = COLUMNS.filter((c) => c.type !== 'string');
const DAY = `CAST(floor("timestamp" / ${MS_PER_DAY}) AS INTEGER)`;

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Column expression converting a staged column to its Iceberg type. */
function finalExpr(c: Column): string {
  const col = `s.${ident(c.name)}`;
  if (c.type === 'string') return `d_${c.id}.v`;
  if (c.type === 'timestamptz') return `make_timestamp(CAST(${col} AS BIGINT) * 1000)::TIMESTAMPTZ`;
  return `CAST(${col} AS BIGINT)`;
}

const FIELD_IDS = `{${COLUMNS.map((c) => `${ident(c.name)}: ${c.id}`).join(', ')}}`;

/**
 * Moves records into column arrays in one pass over the rows (reading every
 * field of a record while it is in cache is several times faster than one pass
 * per column). Generated from the column table so it cannot drift from it.
 */
type Transposer = (records: FlowRecord[], start: number, n: number, cols: (Float64Array | Uint32Array)[], dict: (s: string) => number) => void;
const transpose: Transposer = (() => {
  const lines = COLUMNS.map((c, j) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(c.name)) throw new Error(`unexpected field name ${c.name}`);
    return STAGE_KIND.get(c.name) === 'dict' ? `cols[${j}][i] = dict(r.${c.name});` : `cols[${j}][i] = r.${c.name};`;
  });
  return new Function('records', 'start', 'n', 'cols', 'dict', `for (let i = 0; i < n; i++) { const r = records[start + i]; ${lines.join(' ')} }`) as Transposer;
})();

export class ParquetWriter {
  /** Calls run one at a time: they share the connection and its staging tables. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly instance: DuckDBInstance, private readonly con: DuckDBConnection, private readonly opts: ParquetOptions) {}

  static async open(opts: Partial<ParquetOptions> = {}): Promise<ParquetWriter> {
    const o = { ...DEFAULT_PARQUET, ...opts };
    const instance = await DuckDBInstance.create(':memory:', { threads: String(o.threads), memory_limit: o.memoryLimit });
    const con = await instance.connect();
    await con.run(`SET TimeZone='UTC'`);
    // Sorts larger than memory_limit (compacting a busy day) spill here.
    await con.run(`SET temp_directory=${sqlString(join(tmpdir(), `serviceradar-netflow-duckdb-${process.pid}`))}`);
    await con.run(`SET preserve_insertion_order=false`);
    return new ParquetWriter(instance, con, o);
  }

  close(): void {
    this.con.closeSync();
    this.instance.closeSync();
  }

  /**
   * Writes `records` as one file per day partition; `locate(day)` names each
   * file's location (absolute path or file:// URI). Returns the files with
   * their manifest statistics.
   */
  writeRecords(records: FlowRecord[], locate: (day: number) => string): Promise<DataFile[]> {
    return this.serialized(() => this.writeStaged(records, locate));
  }

  private serialized<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeStaged(records: FlowRecord[], locate: (day: number) => string): Promise<DataFile[]> {
    await this.stage(records);
    try {
      const files: DataFile[] = [];
      for (const stats of await this.stagedStats()) {
        const joins = STRING_COLUMNS.map((c) => `JOIN dict d_${c.id} ON d_${c.id}.id = s.${ident(c.name)}`).join(' ');
        const select = `SELECT ${COLUMNS.map((c) => `${finalExpr(c)} AS ${ident(c.name)}`).join(', ')} FROM stage s ${joins} WHERE ${DAY} = ${stats.partitionDay}`;
        files.push(await this.copy(select, locate(stats.partitionDay), stats));
      }
      return files;
    } finally {
      await this.con.run('DROP TABLE IF EXISTS stage; DROP TABLE IF EXISTS dict');
    }
  }

  /**
   * Rewrites data files of one day into one file sorted by time (compaction);
   * the statistics are the merged statistics of the sources.
   */
  rewriteFiles(sources: DataFile[], location: string): Promise<DataFile> {
    const list = `[${sources.map((s) => sqlString(localPath(s.path))).join(', ')}]`;
    return this.serialized(() => this.copy(`SELECT ${COLUMNS.map((c) => ident(c.name)).join(', ')} FROM read_parquet(${list})`, location, mergeStats(sources)));
  }

  private async copy(select: string, location: string, stats: FileStats): Promise<DataFile> {
    const path = localPath(location);
    await mkdir(dirname(path), { recursive: true });
    await this.con.run(`COPY (${select} ORDER BY timestamp) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${this.opts.compressionLevel}, ROW_GROUP_SIZE ${this.opts.rowGroupRows}, PARQUET_VERSION ${this.opts.parquetVersion}, FIELD_IDS ${FIELD_IDS})`);
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
      // String bounds come from the file's own statistics (exact ones only;
      // a missing bound is allowed, a wrong one would make readers skip rows).
      if (c.type === 'string' && !stats.lowerBounds.has(c.id)) {
        if (lo !== null && loExact) lowerBounds.set(c.id, Buffer.from(String(lo), 'utf8'));
        if (hi !== null && hiExact) upperBounds.set(c.id, Buffer.from(String(hi), 'utf8'));
      }
    }
    if (rows !== stats.recordCount) throw new Error(`${path}: wrote ${rows} rows, expected ${stats.recordCount}`);
    return { path: location, fileSizeBytes: size, columnSizes, sortOrderId: SORT_ORDER_ID, ...stats, lowerBounds, upperBounds };
  }

  /** Per day of the staged rows: count and bounds of every non-string column. */
  private async stagedStats(): Promise<FileStats[]> {
    const agg = NUMBER_COLUMNS.map((c) => `min(${ident(c.name)}), max(${ident(c.name)})`);
    const rows = (await this.con.runAndReadAll(`SELECT ${DAY} AS day, count(*), ${agg.join(', ')} FROM stage GROUP BY day ORDER BY day`)).getRows();
    return rows.map((row) => {
      const recordCount = Number(row[1]);
      const lowerBounds = new Map<number, Buffer>();
      const upperBounds = new Map<number, Buffer>();
      NUMBER_COLUMNS.forEach((c, j) => {
        // Staged times are ms; Iceberg timestamptz bounds are microseconds.
        const scale = c.type === 'timestamptz' ? 1000n : 1n;
        lowerBounds.set(c.id, encodeLong(BigInt(Number(row[2 + 2 * j])) * scale));
        upperBounds.set(c.id, encodeLong(BigInt(Number(row[3 + 2 * j])) * scale));
      });
      return {
        recordCount,
        partitionDay: Number(row[0]),
        valueCounts: new Map(COLUMNS.map((c) => [c.id, recordCount])),
        nullValueCounts: new Map(COLUMNS.map((c) => [c.id, 0])),
        lowerBounds, upperBounds,
      };
    });
  }

  private async stage(records: FlowRecord[]): Promise<void> {
    const stageCols = COLUMNS.map((c) => `${ident(c.name)} ${STAGE_KIND.get(c.name) === 'f64' ? 'DOUBLE' : 'UINTEGER'}`);
    await this.con.run(`CREATE OR REPLACE TABLE stage (${stageCols.join(', ')}); CREATE OR REPLACE TABLE dict (id UINTEGER, v VARCHAR)`);
    const types: DuckDBType[] = COLUMNS.map((c) => (STAGE_KIND.get(c.name) === 'f64' ? DOUBLE : UINTEGER));
    const cols = COLUMNS.map((c) => (STAGE_KIND.get(c.name) === 'f64' ? new Float64Array(VECTOR) : new Uint32Array(VECTOR)));
    const ids = new Map<string, number>();
    let fresh: string[] = [];
    const dict = (s: string) => {
      let id = ids.get(s);
      if (id === undefined) { id = ids.size; ids.set(s, id); fresh.push(s); }
      return id;
    };
    const rows = await this.con.createAppender('stage');
    const strings = await this.con.createAppender('dict');
    const chunk = DuckDBDataChunk.create(types, VECTOR);
    const dictChunk = DuckDBDataChunk.create([UINTEGER, VARCHAR], VECTOR);
    const flushDict = () => {
      for (let off = 0; off < fresh.length; off += VECTOR) {
        const part = fresh.slice(off, off + VECTOR);
        const first = ids.size - fresh.length + off;
        const idVec = duckdb.data_chunk_get_vector(dictChunk.chunk, 0);
        const strVec = duckdb.data_chunk_get_vector(dictChunk.chunk, 1);
        const idArr = new Uint32Array(part.length);
        for (let i = 0; i < part.length; i++) { idArr[i] = first + i; duckdb.vector_assign_string_element(strVec, i, part[i]!); }
        duckdb.copy_data_to_vector(idVec, 0, idArr.buffer, 0, idArr.byteLength);
        duckdb.data_chunk_set_size(dictChunk.chunk, part.length);
        duckdb.append_data_chunk(raw(strings), dictChunk.chunk);
      }
      fresh = [];
    };
    try {
      for (let start = 0; start < records.length; start += VECTOR) {
        const n = Math.min(VECTOR, records.length - start);
        transpose(records, start, n, cols, dict);
        for (let j = 0; j < cols.length; j++) {
          const vec = duckdb.data_chunk_get_vector(chunk.chunk, j);
          duckdb.copy_data_to_vector(vec, 0, cols[j]!.buffer, 0, n * cols[j]!.BYTES_PER_ELEMENT);
        }
        duckdb.data_chunk_set_size(chunk.chunk, n);
        duckdb.append_data_chunk(raw(rows), chunk.chunk);
        if (fresh.length >= VECTOR) flushDict();
      }
      flushDict();
    } finally {
      rows.closeSync();
      strings.closeSync();
    }
  }
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
// appended with copy_data_to_vector, which the API wraps only per value.
const raw = (a: DuckDBAppender) => (a as unknown as { appender: duckdb.Appender }).appender;
