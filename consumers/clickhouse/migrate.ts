// Brings the database to the newest schema version at writer start: applies
// every migration not yet recorded in schema_migrations, in order, then makes
// the tables' TTL match the configured window where the engine has TTL.
import type { Logger } from '../../common/log.js';
import type { ClickHouseEngine } from './engine.js';
import { createMigrationsTable, DATA_TABLES, MIGRATIONS, MIGRATIONS_TABLE, tableRef, ttlExpression, type SchemaContext } from './schema.js';

export async function migrate(engine: ClickHouseEngine, database: string, retentionMs: number, log: Logger): Promise<number> {
  const ctx: SchemaContext = { database, caps: engine.capabilities, retentionMs };
  for (const sql of createMigrationsTable(database)) await engine.exec(sql);
  const applied = new Set((await engine.query<{ version: number }>(`SELECT DISTINCT version FROM ${tableRef(database, MIGRATIONS_TABLE)}`)).map((r) => Number(r.version)));
  let current = Math.max(0, ...applied);
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    for (const sql of m.statements(ctx)) await engine.exec(sql);
    await engine.insert(tableRef(database, MIGRATIONS_TABLE), [{ version: m.version, description: m.description, applied_at: Math.floor(Date.now() / 1000) }]);
    log.info({ version: m.version, description: m.description }, 'applied schema migration');
    current = Math.max(current, m.version);
  }
  if (engine.capabilities.ttl) await alignTtl(engine, database, retentionMs, log);
  return current;
}

/** A changed retention window changes the TTL of every data table (without rewriting parts now). */
async function alignTtl(engine: ClickHouseEngine, database: string, retentionMs: number, log: Logger): Promise<void> {
  const want = ttlExpression(retentionMs);
  const seconds = Math.ceil(retentionMs / 1000);
  const rows = await engine.query<{ name: string; engine_full: string }>(
    `SELECT name, engine_full FROM system.tables WHERE database = '${database}' AND name IN (${DATA_TABLES.map((t) => `'${t}'`).join(', ')})`);
  for (const r of rows) {
    // The server prints INTERVAL n SECOND back as toIntervalSecond(n).
    if (r.engine_full.includes(`toIntervalSecond(${seconds})`) || r.engine_full.includes(want)) continue;
    await engine.exec(`ALTER TABLE ${tableRef(database, r.name)} MODIFY TTL ${want} SETTINGS materialize_ttl_after_modify = 0`);
    log.info({ table: r.name, retention_s: seconds }, 'changed table TTL to the configured retention');
  }
}
