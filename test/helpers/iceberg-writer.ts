// Running the parquet-writer for tests: a config file, the service as a child
// process (`node dist/cli.js parquet-writer --config ...`, so it can be killed
// with SIGKILL), publishing flows, and what the readers must then see, worked
// out from the records the test sent. For tests that drive the writer in
// process: a scratch table with its Parquet writer, a writer on it, and stream
// messages as the pull loop hands them over.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JetStreamClient } from 'nats';
import { encodeBatch, toColumns, type FlowRecord } from '../../common/flow.js';
import { createLogger } from '../../common/log.js';
import { createRegistry } from '../../common/metrics.js';
import { SUBJECT } from '../../common/stream.js';
import type { Catalog } from '../../consumers/iceberg/catalog.js';
import type { PreparedFlows } from '../../consumers/iceberg/columns.js';
import { ParquetWriter } from '../../consumers/iceberg/parquet.js';
import { IcebergWriter, type WriterDeps } from '../../consumers/iceberg/writer.js';
import type { StreamMessage } from '../../consumers/pull.js';
import { REPO, type ReaderView } from './iceberg-peers.js';
import { spawnPeer, tempDir, type Peer } from './process.js';

export function writeConfig(dir: string, name: string, config: Record<string, unknown>): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ metrics_listen_addr: '', batch_interval: '1s', ack_wait: '8s', ...config }, null, 2));
  return path;
}

export function spawnWriter(configPath: string, env: Record<string, string> = {}): Peer {
  return spawnPeer(process.execPath, [join(REPO, 'dist', 'cli.js'), 'parquet-writer', '--config', configPath], { env: { ...process.env, LOG_LEVEL: 'info', ...env } });
}

/**
 * Publishes records in messages of `perMessage`; returns the stream sequence
 * of each message. Each carries a Nats-Msg-Id, as the checker's do, so a
 * publish the client resends after a reconnect is stored once.
 */
export async function publishFlows(js: JetStreamClient, records: FlowRecord[], perMessage: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < records.length; i += perMessage) {
    const ack = await js.publish(SUBJECT, encodeBatch({ records: records.slice(i, i + perMessage), collector_id: 'test' }), { msgID: randomUUID() });
    seqs.push(ack.seq);
  }
  return seqs;
}

const NUMERIC = ['src_port', 'dst_port', 'protocol', 'bytes', 'packets', 'source_id', 'input_if', 'output_if', 'tcp_flags', 'tos', 'src_as', 'dst_as', 'src_mask', 'dst_mask', 'sampling_rate', 'ip_version', 'flow_version'] as const;
const TIMES = ['timestamp', 'flow_start', 'time_received'] as const;

/** What any reader must report for exactly these records. */
export function expectedView(records: FlowRecord[]): Omit<ReaderView, 'samples'> {
  const sums: Record<string, number> = {};
  for (const c of NUMERIC) sums[c] = records.reduce((n, r) => n + r[c], 0);
  // Sums of ms times pass 2^53: exact as decimal strings of BigInts.
  const timeSums: Record<string, string> = {};
  for (const c of TIMES) timeSums[c] = String(records.reduce((n, r) => n + BigInt(r[c]), 0n));
  const perDay: Record<string, number> = {};
  for (const r of records) {
    const d = new Date(r.timestamp).toISOString().slice(0, 10);
    perDay[d] = (perDay[d] ?? 0) + 1;
  }
  const keys = new Set(records.map((r) => [r.timestamp, r.src_ip, r.dst_ip, r.src_port, r.dst_port, r.bytes, r.packets, r.flow_start].join('|')));
  return { rows: records.length, sums, time_sums: timeSums, per_day: perDay, distinct_keys: keys.size };
}

/** A reader's row as the test sent it (times in ms). */
export function asRow(r: FlowRecord): Record<string, string | number> {
  return { ...r };
}

/** A table folder (`<scratch>/netflow`) and a one-thread Parquet writer, closed and removed after `run`. */
export async function withTable(prefix: string, run: (root: string, parquet: ParquetWriter) => Promise<void>): Promise<void> {
  const dir = tempDir(prefix);
  const parquet = await ParquetWriter.open({ threads: 1 });
  try {
    await run(join(dir.path, 'netflow'), parquet);
  } finally {
    parquet.close();
    dir.remove();
  }
}

/** An Iceberg writer on `catalog`, silent, with its own metrics registry. */
export function writerFor(catalog: Catalog, parquet: ParquetWriter, deps: Partial<WriterDeps> = {}): IcebergWriter {
  return new IcebergWriter({ catalog, parquet, log: createLogger('test', 'silent'), registry: createRegistry('w'), source: 'test', ...deps });
}

/** Stream message `seq` carrying `records`, as the pull loop hands it to a sink. */
export function streamMessage(seq: number, records: FlowRecord[], redelivered = false): StreamMessage<PreparedFlows> {
  return { seq, redelivered, flows: toColumns({ records, collector_id: 'test' }) };
}
