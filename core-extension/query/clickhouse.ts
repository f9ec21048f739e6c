// The real-time tier: ClickHouse (a server over HTTP, or chDB in this process)
// through the writer's engine module, reading the raw flows table or the
// cheapest rollup the writer maintains.
import type { ClickHouseEngine } from '../../consumers/clickhouse/engine.js';
import { ipText } from './ip.js';
import { IP_DIMENSIONS, type AggResult, type Aggregate, type AggregateEngine } from './model.js';
import { choosePieces, clickhouseAggregate, neededDimensions, type ChTable } from './clickhouse-sql.js';
import { hotTables } from './clickhouse-tables.js';

/** UNKNOWN_TABLE (60) and UNKNOWN_DATABASE (81), as every version words them. */
const NOT_CREATED_YET = /Code: (60|81)\b/;

export class ClickHouseTier implements AggregateEngine {
  private readonly tables: ChTable[];

  constructor(private readonly engine: ClickHouseEngine, database: string) {
    this.tables = hotTables(database);
  }

  async aggregate(agg: Aggregate, signal: AbortSignal): Promise<AggResult> {
    const pieces = choosePieces(this.tables, neededDimensions(agg), agg);
    const sql = clickhouseAggregate(agg, pieces);
    let res;
    try {
      res = await this.engine.select<Record<string, string | number>>(sql, { signal });
    } catch (err) {
      // Before the writer's first start there are no tables yet: no flows, not an outage.
      if (NOT_CREATED_YET.test((err as Error).message)) return { rows: [], rowsRead: 0, tables: [] };
      throw err;
    }
    const rows = res.rows.map((r) => ({
      keys: agg.keys.map((d, i) => (IP_DIMENSIONS.has(d) ? hexToIp(String(r[`k${i}`])) : Number(r[`k${i}`]))),
      ...(agg.interval ? { bucket: Number(r.bucket) * 1000 } : {}),
      bytes: Number(r.bytes), packets: Number(r.packets), flows: Number(r.flows),
    }));
    return { rows, rowsRead: res.rowsRead, tables: [...new Set(pieces.map((p) => p.table.name))] };
  }
}

/** 32 hex digits of a FixedString(16) address -> canonical text; 16 zero bytes = no address (''). */
export function hexToIp(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  if (b.length !== 16 || b.every((x) => x === 0)) return '';
  return ipText(b);
}
