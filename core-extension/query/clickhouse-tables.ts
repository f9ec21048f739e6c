// The hot tier's tables as the query side sees them, taken from the writer's
// schema (one definition: the writer creates them, the planner reads them).
import { QUERY_TABLES, tableRef } from '../../consumers/clickhouse/schema.js';
import type { ChTable } from './clickhouse-sql.js';

/** Every table a query may read, cheapest first, qualified with `database`. */
export function hotTables(database: string): ChTable[] {
  return QUERY_TABLES.map((t) => ({
    name: tableRef(database, t.name),
    kind: t.kind,
    grainSeconds: t.grainSeconds,
    dims: new Set(t.dimensions),
    ...(t.eitherHost ? { eitherHost: true } : {}),
    metrics: t.metrics,
  }));
}
