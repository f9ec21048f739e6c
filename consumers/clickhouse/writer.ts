// The hot-tier sink: each batch the pull loop hands over is inserted into the
// ingest table (whose materialized views fill the flows table and every
// rollup) in one INSERT per UTC day, and the loop acks only after every
// insert returned.
//
// Exactly once, on every engine (old servers deduplicate only replicated
// tables, and a redelivered message may arrive in a different batch, on
// another instance): every message's rows in a partition travel with one
// marker row carrying the message's stream sequence (ingest_seq). An INSERT of
// one partition that fits one block becomes exactly one part in each target
// table, so in each table a message's rows are either all there with their
// marker, or neither is. A message that may have been stored before (JetStream
// redelivered it, or an earlier attempt of this batch failed half way) is
// looked up by its marker in each table, and inserted only into the tables
// that lack it: through the ingest table when all lack it, else through the
// flows table directly or the rollup's own feed table.
import type { Logger } from '../../common/log.js';
import { Counter, Histogram, type Registry } from '../../common/metrics.js';
import type { Sink, StreamMessage } from '../pull.js';
import type { ClickHouseEngine } from './engine.js';
import { encodeMessage, markerRow, type DayChunk, type EncodedMessage } from './rows.js';
import { HOST_COLUMN, INGEST_TABLE, ipLiteral, PAYLOAD_COLUMNS, RAW, ROLLUPS, tableRef } from './schema.js';

/** A message's rows of one day, as the writer inserts them. */
interface Piece { seq: number; chunk: DayChunk }

/**
 * A table that holds markers, and the table an insert for it alone goes
 * through. `markerKey` narrows a marker lookup to the sorting key's leading
 * column where that is not time: the host rollup sorts by address first, and
 * a marker row's address is all zeros (its flow has none), so the lookup
 * reads a few granules instead of the whole day.
 */
interface Target { table: string; via: string; grainSeconds: number; markerKey?: string }

const TARGETS: readonly Target[] = [
  { table: RAW.name, via: RAW.name, grainSeconds: 1 },
  ...ROLLUPS.map((r) => ({ table: r.name, via: r.feed, grainSeconds: r.grainSeconds, ...(r.eitherHost ? { markerKey: `${HOST_COLUMN} = ${ipLiteral(new Uint8Array(16))} AND ` } : {}) })),
];

export class ClickHouseWriter implements Sink<EncodedMessage> {
  /** Sequences of messages in a batch whose write failed: some of their rows may be stored. */
  private readonly suspect = new Set<number>();
  private readonly rows: Counter;
  private readonly inserts: Counter;
  private readonly duplicates: Counter;
  private readonly repairs: Counter;
  private readonly insertSeconds: Histogram;

  constructor(private readonly engine: ClickHouseEngine, private readonly database: string, private readonly log: Logger, registry: Registry) {
    const registers = [registry];
    this.rows = new Counter({ name: 'netflow_clickhouse_rows_total', help: 'flow records inserted', registers });
    this.inserts = new Counter({ name: 'netflow_clickhouse_inserts_total', help: 'INSERT statements run', labelNames: ['table'], registers });
    this.duplicates = new Counter({ name: 'netflow_clickhouse_duplicate_messages_total', help: 'redelivered messages already stored in every table (skipped)', registers });
    this.repairs = new Counter({ name: 'netflow_clickhouse_partial_messages_total', help: 'redelivered messages stored in some tables only (completed)', registers });
    this.insertSeconds = new Histogram({ name: 'netflow_clickhouse_insert_seconds', help: 'time of one INSERT', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
  }

  /** For PullOptions.prepare: encodes (and so validates) a message once, when it is pulled. */
  readonly prepare = (msg: StreamMessage): EncodedMessage => encodeMessage(msg.flows);

  async write(messages: StreamMessage<EncodedMessage>[]): Promise<void> {
    const byDay = new Map<number, { certain: Piece[]; doubtful: Piece[] }>();
    for (const m of messages) {
      const doubtful = m.redelivered || this.suspect.has(m.seq);
      for (const chunk of m.prepared!.chunks) {
        let day = byDay.get(chunk.day);
        if (!day) { day = { certain: [], doubtful: [] }; byDay.set(chunk.day, day); }
        (doubtful ? day.doubtful : day.certain).push({ seq: m.seq, chunk });
      }
    }
    try {
      for (const day of [...byDay.keys()].sort((a, b) => a - b)) {
        const { certain, doubtful } = byDay.get(day)!;
        await this.writeDay(certain, doubtful);
      }
    } catch (err) {
      for (const m of messages) this.suspect.add(m.seq);
      throw err;
    }
    for (const m of messages) this.suspect.delete(m.seq);
  }

  private async writeDay(certain: Piece[], doubtful: Piece[]): Promise<void> {
    const whole = [...certain];
    if (doubtful.length) {
      const present = await Promise.all(TARGETS.map((t) => this.markersIn(t, doubtful)));
      const partial = new Map<Target, Piece[]>();
      for (const p of doubtful) {
        const missing = TARGETS.filter((_, i) => !present[i]!.has(p.seq));
        if (missing.length === TARGETS.length) whole.push(p);
        else if (missing.length === 0) this.duplicates.inc();
        else {
          this.repairs.inc();
          for (const t of missing) partial.set(t, [...(partial.get(t) ?? []), p]);
        }
      }
      for (const [t, pieces] of partial) {
        this.log.warn({ table: t.table, messages: pieces.map((p) => p.seq) }, 'completing messages a crash left in some tables only');
        await this.insert(t.via, pieces);
      }
    }
    if (whole.length) {
      await this.insert(INGEST_TABLE, whole);
      this.rows.inc(whole.reduce((n, p) => n + p.chunk.rows, 0));
    }
  }

  /** Sequences among `pieces` whose marker is in the target table. */
  private async markersIn(t: Target, pieces: Piece[]): Promise<Set<number>> {
    const lo = Math.min(...pieces.map((p) => p.chunk.markerTs));
    const hi = Math.max(...pieces.map((p) => p.chunk.markerTs));
    const from = lo - (lo % t.grainSeconds);
    const rows = await this.engine.query<{ seq: string }>(
      `SELECT DISTINCT ingest_seq AS seq FROM ${tableRef(this.database, t.table)}
WHERE ${t.markerKey ?? ''}timestamp >= toDateTime(${from}, 'UTC') AND timestamp <= toDateTime(${hi}, 'UTC') AND ingest_seq IN (${pieces.map((p) => p.seq).join(', ')})`);
    return new Set(rows.map((r) => Number(r.seq)));
  }

  /** One INSERT of one partition, sized to stay one block (so one part per table). */
  private async insert(table: string, pieces: Piece[]): Promise<void> {
    const parts: Buffer[] = [];
    let rows = 0;
    for (const p of pieces) {
      parts.push(p.chunk.data, markerRow(p.seq, p.chunk.markerTs));
      rows += p.chunk.rows + 1;
    }
    const data = Buffer.concat(parts);
    const block = Math.max(rows, 1_048_576);
    const settings = {
      max_insert_block_size: block, min_insert_block_size_rows: block, min_insert_block_size_bytes: Math.max(data.length * 4, 268_435_456),
      // Every rollup's view groups by the whole sorting key, so its block has one row a key already;
      // merging it again on insert was a third of the engine's CPU per row with fifteen rollups.
      ...(this.engine.capabilities.optimizeOnInsert ? { optimize_on_insert: 0 } : {}),
    };
    const end = this.insertSeconds.startTimer();
    await this.engine.insert(tableRef(this.database, table), { format: 'TabSeparated', columns: PAYLOAD_COLUMNS, data }, settings);
    end();
    this.inserts.inc({ table });
  }
}
