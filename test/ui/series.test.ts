// Rows -> chart series: gaps become zeros on the API's own bucket grid, series
// ordered largest first with "other" last, shares of the whole, months in UTC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTimeSeries, buildTable, monthly, stackTotals, totals, groupLabel } from '../../core-extension/ui/lib/series.js';
import type { FlowRow } from '../../core-extension/ui/lib/api-types.js';

const row = (r: Partial<FlowRow>): FlowRow => ({ bytes: 0, packets: 0, flows: 0, ...r }) as FlowRow;

test('missing buckets become zeros; the grid follows the API buckets', () => {
  const meta = { start: '2025-04-14T12:00:30Z', end: '2025-04-14T12:05:30Z', interval_s: 60 };
  const rows = [
    row({ timestamp: '2025-04-14T12:01:00Z', protocol: 6, bps: 100 }),
    row({ timestamp: '2025-04-14T12:03:00Z', protocol: 6, bps: 300 }),
    row({ timestamp: '2025-04-14T12:03:00Z', protocol: 17, bps: 50 }),
    row({ timestamp: '2025-04-14T12:04:00Z', other: true, protocol: null, bps: 7 }),
  ];
  const ts = buildTimeSeries(rows, meta, 'bps', 'protocol');
  // Buckets overlapping [12:00:30, 12:05:30): 12:00 ... 12:05
  assert.deepEqual(ts.times.map((t) => new Date(t).toISOString().slice(11, 16)), ['12:00', '12:01', '12:02', '12:03', '12:04', '12:05']);
  assert.deepEqual(ts.series.map((s) => [s.name, s.key, s.values]), [
    ['tcp', '6', [0, 100, 0, 300, 0, 0]],
    ['udp', '17', [0, 0, 0, 50, 0, 0]],
    ['other', null, [0, 0, 0, 0, 7, 0]],
  ]);
  assert.deepEqual(stackTotals(ts), [0, 100, 0, 350, 7, 0]);
});

test('an unsplit series is one total line', () => {
  const meta = { start: '2025-04-14T00:00:00Z', end: '2025-04-14T00:03:00Z', interval_s: 60 };
  const ts = buildTimeSeries([row({ timestamp: '2025-04-14T00:02:00Z', pps: 9 })], meta, 'pps', null);
  assert.deepEqual(ts.series.map((s) => s.values), [[0, 0, 9]]);
  assert.deepEqual(buildTimeSeries([], meta, 'pps', null), { times: [], series: [] });
});

test('table shares are of all bytes, the other row included', () => {
  const rows = [row({ src_ip: '10.0.0.1', bytes: 600, packets: 6, flows: 2, bps: 4.8 }), row({ src_ip: '10.0.0.2', bytes: 300, packets: 3, flows: 1, bps: 2.4 }), row({ other: true, src_ip: null, bytes: 100, packets: 1, flows: 1, bps: 0.8 })];
  const t = buildTable(rows, 'src_ip', 'bps');
  assert.deepEqual(t.map((r) => [r.label, r.key, r.share, r.rate]), [['10.0.0.1', '10.0.0.1', 0.6, 4.8], ['10.0.0.2', '10.0.0.2', 0.3, 2.4], ['other', null, 0.1, 0.8]]);
  assert.deepEqual(totals(rows), { bytes: 1000, packets: 10, flows: 4 });
});

test('group labels', () => {
  assert.equal(groupLabel('protocol', 17), 'udp');
  assert.equal(groupLabel('dst_port', 53), '53 dns');
  assert.equal(groupLabel('src_as', 64512), 'AS64512');
  assert.equal(groupLabel('src_ip', null), '(none)');
  assert.equal(groupLabel('src_ip', null, true), 'other');
});

test('days sum into UTC months; partly covered months are flagged', () => {
  const day = 86_400_000;
  const start = Date.UTC(2025, 2, 30); // 30 March
  const meta = { start: new Date(start).toISOString(), end: new Date(start + 4 * day).toISOString(), interval_s: 86_400 };
  const rows = [0, 1, 2, 3].map((i) => row({ timestamp: new Date(start + i * day).toISOString(), protocol: 6, bytes: 10 * (i + 1) }));
  const ts = buildTimeSeries(rows, meta, 'bytes', 'protocol');
  const m = monthly(ts, start, start + 4 * day);
  // 30, 31 March -> 10 + 20; 1, 2 April -> 30 + 40
  assert.deepEqual(m.months, ['2025-03', '2025-04']);
  assert.deepEqual(m.series[0].values, [30, 70]);
  assert.deepEqual(m.partial, [true, true]);
  assert.deepEqual(monthly(ts, Date.UTC(2025, 2, 1), Date.UTC(2025, 4, 1)).partial, [false, false]);
});
