// The real-time tier: ClickHouse (a server over HTTP, or chDB in this process)
// through the writer's engine module, reading the raw flows table or the
// cheapest rollup the writer maintains. Only tables that exist are used, so a
// core-extension newer than the writer's schema (or one started before the
// writer ever ran) still answers correctly.
import type { ClickHouseEngine } from '../../consumers/clickhouse/engine.js';
import { assertIdentifier } from '../../consumers/clickhouse/schema.js';
import { ipText } from './ip.js';
import { IP_DIMENSIONS, type AggResult, type Aggregate, type AggregateEngine } from './model.js';
import { choosePieces, clickhouseAggregate, type ChTable } from './clickhouse-sql.js';
import { hotTables } from './clickhouse-tables.js';

/** UNKNOWN_TABLE (60) and UNKNOWN_DATABASE (81), as every version words them. */
const UNKNOWN_TABLE = /Code: (60|81)\b/;
/** How long the list of existing tables is trusted (a writer upgrade may add or drop rollups). */
const TABLES_TTL_MS = 30_000;

export class ClickHouseTier implements AggregateEngine {
  private readonly all: ChTable[];
  private existing: { at: number; tables: Promise<ChTable[]> } | undefined;

  constructor(private readonly engine: ClickHouseEngine, private readonly database: string) {
    this.all = hotTables(database);
  }

  async aggregate(agg: Aggregate, signal: AbortSignal): Promise<AggResult> {
    for (let attempt = 0; ; attempt++) {
      const tables = await this.tables(attempt > 0);
      // No flows table yet: the writer has not run, so there are no flows.
      if (!tables.some((t) => t.kind === 'raw')) return { rows: [], rowsRead: 0, tables: [] };
      const pieces = choosePieces(tables, agg);
      try {
        const res = await this.engine.select<Record<string, string | number>>(clickhouseAggregate(agg, pieces), { signal });
        const rows = res.rows.map((r) => ({
          keys: agg.keys.map((d, i) => (IP_DIMENSIONS.has(d) ? hexToIp(String(r[`k${i}`])) : Number(r[`k${i}`]))),
          ...(agg.interval ? { bucket: Number(r.bucket) * 1000 } : {}),
          bytes: Number(r.bytes), packets: Number(r.packets), flows: Number(r.flows),
        }));
        return { rows, rowsRead: res.rowsRead, tables: [...new Set(pieces.map((p) => p.table.name))] };
      } catch (err) {
        // A table went away since we looked (a schema migration): look again, once.
        if (attempt === 0 && UNKNOWN_TABLE.test((err as Error).message)) continue;
        throw err;
      }
    }
  }

  private tables(refresh: boolean): Promise<ChTable[]> {
    const now = Date.now();
    if (refresh || !this.existing || now - this.existing.at > TABLES_TTL_MS) {
      const sql = `SELECT name FROM system.tables WHERE database = '${assertIdentifier(this.database, 'database')}'`;
      const tables = this.engine.query<{ name: string }>(sql).then((rows) => {
        const names = new Set(rows.map((r) => `${this.database}.${r.name}`));
        return this.all.filter((t) => names.has(t.name));
      });
      this.existing = { at: now, tables };
      tables.catch(() => { this.existing = undefined; });
    }
    return this.existing.tables;
  }
}

/** 32 hex digits of a FixedString(16) address -> canonical text; 16 zero bytes = no address (''). */
export function hexToIp(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  if (b.length !== 16 || b.every((x) => x === 0)) return '';
  return ipText(b);
}
