// The independent Iceberg peers of the cold-tier tests: pyiceberg and DuckDB's
// iceberg extension (Python, in the .cache/peers venv) reading a table, and the
// Apache Iceberg REST catalog server (the Java reference implementation).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort, spawnPeer, tempDir, waitFor, type Peer } from './process.js';

export const REPO = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const run = promisify(execFile);

export function peersPython(): string {
  return process.env.PEERS_PYTHON ?? join(REPO, '.cache', 'peers', 'bin', 'python');
}

export interface ReaderView {
  rows: number;
  sums: Record<string, number>;
  time_sums: Record<string, string>;
  per_day: Record<string, number>;
  distinct_keys: number;
  samples: Record<string, string | number>[][];
}

export interface PyicebergView extends ReaderView {
  schema: { id: number; name: string; type: string; required: boolean }[];
  spec: { field_id: number; name: string; transform: string; source_id: number }[];
  format_version: number;
  snapshot_id: number | null;
  snapshot_ids: number[];
  summaries: ({ operation: string } & Record<string, string>)[];
  operation: string | null;
  /** Manifests in the snapshot's manifest list. */
  manifests: number;
  metadata_location: string;
  files: string[];
  file_partitions: number[];
  file_bytes: number;
  ranges: { rows: number; files: string[] }[];
}

export interface PeerViews { pyiceberg: PyicebergView; duckdb?: ReaderView & { ranges: number[] } }

export interface ReadSpec {
  static?: string;
  rest?: string;
  table?: string;
  snapshot_id?: number;
  samples?: { timestamp: number; src_ip: string; src_port: number }[];
  ranges?: [number, number][];
  duckdb?: boolean;
}

/** What pyiceberg and DuckDB's iceberg_scan see in the table. */
export async function readWithPeers(spec: ReadSpec): Promise<PeerViews> {
  const script = join(REPO, 'test', 'iceberg', 'peers', 'read_table.py');
  try {
    const { stdout } = await run(peersPython(), [script, JSON.stringify(spec)], { maxBuffer: 256 * 1024 * 1024 });
    return JSON.parse(stdout) as PeerViews;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`independent readers failed: ${e.stderr?.slice(-3000) ?? e.message}`);
  }
}

export function restCatalogJar(): string {
  const line = readFileSync(join(REPO, 'scripts', 'deps', 'maven-test.txt'), 'utf8').split('\n').find((l) => l.startsWith('org.apache.iceberg:iceberg-open-api'));
  if (!line) throw new Error('scripts/deps/maven-test.txt names no iceberg-open-api jar');
  const jar = join(REPO, line.trim().split(/\s+/)[1]!);
  if (!existsSync(jar)) throw new Error(`${jar} is missing: run scripts/setup.sh test`);
  return jar;
}

export interface RestCatalogServer {
  uri: string;
  warehouse: string;
  stop(): Promise<void>;
}

/** The Apache Iceberg REST catalog server (SQLite catalog, file warehouse) on a free port. */
export async function startRestCatalog(): Promise<RestCatalogServer> {
  const dir = tempDir('iceberg-rest');
  const port = await freePort();
  const warehouse = join(dir.path, 'warehouse');
  const peer: Peer = spawnPeer('java', ['-Xmx512m', '-jar', restCatalogJar()], {
    cwd: dir.path,
    env: { ...process.env, CATALOG_URI: `jdbc:sqlite:file:${join(dir.path, 'catalog.db')}`, CATALOG_WAREHOUSE: `file://${warehouse}`, CATALOG_REST_PORT: String(port), CATALOG_JDBC_USER: 'user', CATALOG_JDBC_PASSWORD: 'password' },
  });
  const uri = `http://127.0.0.1:${port}`;
  await waitFor('the Iceberg REST catalog', async () => {
    if (peer.proc.exitCode !== null) throw new Error(`REST catalog exited: ${peer.output()}`);
    const res = await fetch(`${uri}/v1/config`);
    return res.ok;
  }, 90_000, 250);
  return { uri, warehouse, async stop() { await peer.kill(); dir.remove(); } };
}
