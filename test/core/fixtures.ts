// Test fixtures for the core-extension: both tiers filled through the writers'
// own modules (the Iceberg sink that commits snapshots; the ClickHouse schema
// migration and insert path), and a running CoreService with a user and a token.
import { request } from 'node:http';
import { toColumns, type FlowRecord } from '../../common/flow.js';
import { createLogger } from '../../common/log.js';
import { createRegistry } from '../../common/metrics.js';
import { openEngine, type EngineConfig } from '../../consumers/clickhouse/engine.js';
import { migrate } from '../../consumers/clickhouse/migrate.js';
import { INGEST_TABLE, PAYLOAD_COLUMNS, tableRef, RAW, DATA_ONLY } from '../../consumers/clickhouse/schema.js';
import { encodeMessage } from '../../consumers/clickhouse/rows.js';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { ParquetWriter } from '../../consumers/iceberg/parquet.js';
import { IcebergWriter } from '../../consumers/iceberg/writer.js';
import { streamMessage } from '../helpers/iceberg-writer.js';
import { hashPassword, hashToken } from '../../core-extension/api/auth.js';
import { loadCoreConfig, type CoreConfig } from '../../core-extension/config.js';
import { CoreService } from '../../core-extension/service.js';

export const log = createLogger('test-core', process.env.LOG_LEVEL ?? 'silent');

/** Commits `records` to the Iceberg table in `dir` as one snapshot per `batch` records, as the writer's sink does. */
export async function writeCold(dir: string, records: FlowRecord[], batch = 2000, firstSeq = 1): Promise<void> {
  const parquet = await ParquetWriter.open({ threads: 1 });
  try {
    const writer = new IcebergWriter({ catalog: new FsCatalog(dir), parquet, log, registry: createRegistry('test-iceberg'), source: 'test' });
    let seq = firstSeq;
    for (let i = 0; i < records.length; i += batch) {
      // One stream message per 100 records, as checkers batch them.
      const chunk = records.slice(i, i + batch);
      const messages = [];
      for (let j = 0; j < chunk.length; j += 100) messages.push(streamMessage(seq++, chunk.slice(j, j + 100)));
      await writer.write(messages);
    }
  } finally {
    parquet.close();
  }
}

const DATABASE = 'netflow';

/**
 * Inserts `records` into the hot tier (chDB or a server) the way the writer
 * does: schema by the writer's migrations, rows through its ingest table (whose
 * materialized views fill the flows table and every rollup), columns filled as
 * the writer's row encoder makes them.
 */
export async function writeHot(engineCfg: EngineConfig, records: FlowRecord[]): Promise<void> {
  const engine = await openEngine(engineCfg);
  try {
    await migrate(engine, DATABASE, 30 * 86_400_000, log);
    for (let i = 0; i < records.length; i += 5000) {
      for (const chunk of encodeMessage(toColumns({ records: records.slice(i, i + 5000), collector_id: 'test' })).chunks) {
        await engine.insert(tableRef(DATABASE, INGEST_TABLE), { format: 'TabSeparated', columns: PAYLOAD_COLUMNS, data: chunk.data });
      }
    }
  } finally {
    await engine.close();
  }
}

/** Flow rows in the hot tier (marker rows excluded). */
export async function hotCount(engineCfg: EngineConfig): Promise<number> {
  const engine = await openEngine(engineCfg);
  try {
    const rows = await engine.query<{ n: string }>(`SELECT count() AS n FROM ${tableRef(DATABASE, RAW.name)} WHERE ${DATA_ONLY}`);
    return Number(rows[0]!.n);
  } finally {
    await engine.close();
  }
}

export const USER = { username: 'analyst', password: 'correct horse battery staple' };
export const TOKEN = 'test-token-0123456789abcdef0123456789abcdef';

export async function coreConfig(overrides: { netflow: Partial<CoreConfig['netflow']>; http?: Partial<CoreConfig['http']> }): Promise<CoreConfig> {
  return loadCoreConfig(undefined, {
    netflow: { nats_url: '', ...overrides.netflow },
    http: { listen_addr: '127.0.0.1:0', ...(overrides.http ?? {}) },
    grpc: { listen_addr: '127.0.0.1:0' },
    users: [{ username: USER.username, password_hash: await hashPassword(USER.password) }],
    api_tokens: [{ name: 'test-machine', token_hash: hashToken(TOKEN) }],
  } as Partial<CoreConfig>);
}

export async function startCore(cfg: CoreConfig): Promise<CoreService> {
  const core = new CoreService(cfg, log);
  await core.start();
  return core;
}

export interface Reply { status: number; headers: Record<string, string | string[] | undefined>; text: string; json(): any }

/** One HTTP request to the core-extension on loopback. */
export function call(port: number, method: string, path: string, opts: { token?: string; cookie?: string; body?: unknown; contentType?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.cookie) headers.cookie = opts.cookie;
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
