// Shared by the fault tests: one scenario of bench/load/faults.ts, short
// (a few seconds of traffic each side of the fault), and the assertions every
// fault must pass: what each tier stored is compared with the load generator's
// ledger (SQL on ClickHouse, DuckDB's iceberg_scan on the Iceberg table).
import assert from 'node:assert/strict';
import { FAULTS, runFault, type FaultResult, type FaultTiming } from '../../bench/load/faults.js';

export const SHORT: FaultTiming = { exporters: 4, rate: 100, beforeMs: 3000, afterMs: 3000, downMs: 3000, clickhouseDownMs: 5000 };

export async function fault(name: string, timing: Partial<FaultTiming> = {}): Promise<FaultResult> {
  const f = FAULTS.find((x) => x.name === name);
  assert.ok(f, `no fault named ${name}`);
  const r = await runFault(f, { ...SHORT, ...timing });
  const detail = JSON.stringify({ ...r, saw: r.saw.slice(0, 12) });
  assert.ok(r.sent > 0, `traffic was sent: ${detail}`);
  assert.equal(r.clickhouse.duplicated, 0, `no duplicate in ClickHouse: ${detail}`);
  assert.equal(r.iceberg.duplicated, 0, `no duplicate in Iceberg: ${detail}`);
  assert.ok(r.ok, `${r.verdict}: ${detail}`);
  return r;
}

/** A fault the pipeline must ride out without losing a record. */
export async function lossless(name: string, timing: Partial<FaultTiming> = {}): Promise<FaultResult> {
  const r = await fault(name, timing);
  assert.equal(r.clickhouse.lost, 0, `nothing lost in ClickHouse: ${JSON.stringify(r.clickhouse)}`);
  assert.equal(r.iceberg.lost, 0, `nothing lost in Iceberg: ${JSON.stringify(r.iceberg)}`);
  assert.equal(r.clickhouse.exactSources, r.clickhouse.sources, 'every source\'s flows, bytes and packets match in ClickHouse');
  assert.equal(r.iceberg.exactSources, r.iceberg.sources, 'every source\'s flows, bytes and packets match in Iceberg');
  return r;
}
