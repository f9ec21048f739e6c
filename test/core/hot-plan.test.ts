// The hot tier's table choice (pure: no engine): which rollups cover which
// parts of a range, worked out by hand from the grains and the range's edges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choosePieces } from '../../core-extension/query/clickhouse-sql.js';
import { hotTables } from '../../core-extension/query/clickhouse-tables.js';
import { parseIpNet } from '../../core-extension/query/ip.js';
import type { Aggregate, FilterTerm } from '../../core-extension/query/model.js';

const tables = hotTables('netflow');
const H = 3_600_000, D = 86_400_000;
// 2026-01-10 00:00 UTC
const DAY0 = Date.UTC(2026, 0, 10);

function plan(agg: Partial<Aggregate>): string[] {
  const full: Aggregate = { startMs: 0, endMs: 0, filters: [], keys: [], interval: null, ...agg };
  return choosePieces(tables, full).map((p) => `${p.table.name.replace('netflow.', '')} ${new Date(p.fromMs).toISOString().slice(5, 19)}..${new Date(p.toMs).toISOString().slice(5, 19)}`);
}

const ip = (text: string): FilterTerm => ({ key: 'ip', values: [{ kind: 'ip', net: parseIpNet(text) }] });

test('top sources over two days: daily for the whole day, hourly, minute and raw rollups at the edges', () => {
  // 09 22:30:15 .. 11 22:00:00
  const startMs = DAY0 - 90 * 60_000 + 15_000, endMs = DAY0 + D + 22 * H;
  assert.deepEqual(plan({ startMs, endMs, keys: ['src_ip'] }), [
    'flows 01-09T22:30:15..01-09T22:31:00',
    'flows_1m_src_hosts 01-09T22:31:00..01-09T23:00:00',
    'flows_1h_src_hosts 01-09T23:00:00..01-10T00:00:00',
    'flows_1d_src_hosts 01-10T00:00:00..01-11T00:00:00',
    'flows_1h_src_hosts 01-11T00:00:00..01-11T22:00:00',
  ]);
});

test('a protocol filter rules out the coarse host rollups (they have no protocol)', () => {
  const filters: FilterTerm[] = [{ key: 'protocol', values: [{ kind: 'uint', value: 6 }] }];
  assert.deepEqual(plan({ startMs: DAY0, endMs: DAY0 + 2 * D, keys: ['src_ip'], filters }), ['flows_1m_src_hosts 01-10T00:00:00..01-12T00:00:00']);
});

test('traffic over time reads the narrow links rollup; a 30 s bucket reads raw flows', () => {
  assert.deepEqual(plan({ startMs: DAY0, endMs: DAY0 + D, interval: { kind: 'fixed', seconds: 1800 } }), ['flows_1m_links 01-10T00:00:00..01-11T00:00:00']);
  assert.deepEqual(plan({ startMs: DAY0, endMs: DAY0 + H, interval: { kind: 'fixed', seconds: 30 } }), ['flows 01-10T00:00:00..01-10T01:00:00']);
});

test('ports over time in hourly buckets: hourly rollup, not the daily one', () => {
  assert.deepEqual(plan({ startMs: DAY0, endMs: DAY0 + 2 * D, keys: ['dst_port'], interval: { kind: 'fixed', seconds: 3600 } }), ['flows_1h_dst_ports 01-10T00:00:00..01-12T00:00:00']);
});

test("one address on either side reads the host rollup; two addresses or a block do not (a flow between them would count twice)", () => {
  const range = { startMs: DAY0, endMs: DAY0 + H, interval: { kind: 'fixed', seconds: 300 } as const };
  assert.deepEqual(plan({ ...range, filters: [ip('10.20.0.5')] }), ['flows_1m_hosts 01-10T00:00:00..01-10T01:00:00']);
  assert.deepEqual(plan({ ...range, filters: [ip('10.20.0.0/16')] }), ['flows 01-10T00:00:00..01-10T01:00:00']);
  const two: FilterTerm = { key: 'ip', values: [{ kind: 'ip', net: parseIpNet('10.20.0.5') }, { kind: 'ip', net: parseIpNet('10.20.0.6') }] };
  assert.deepEqual(plan({ ...range, filters: [two] }), ['flows 01-10T00:00:00..01-10T01:00:00']);
  // Grouped by source address: the host rollup cannot say which side the address was on.
  assert.deepEqual(plan({ ...range, interval: null, keys: ['src_ip'], filters: [ip('10.20.0.5')] }), ['flows 01-10T00:00:00..01-10T01:00:00']);
});

test('monthly buckets may read daily rollups', () => {
  assert.deepEqual(plan({ startMs: DAY0, endMs: DAY0 + 3 * D, keys: ['dst_port'], interval: { kind: 'month' } }), ['flows_1d_dst_ports 01-10T00:00:00..01-13T00:00:00']);
});
