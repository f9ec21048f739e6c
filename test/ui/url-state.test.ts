// URL state: every view setting round-trips through the query string, junk
// falls back to defaults, and the state gives the API's parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseRealtime, serializeRealtime, parseHistorical, serializeHistorical, apiParams, carryOver, safeReturnPath,
  REALTIME_DEFAULTS, HISTORICAL_DEFAULTS, type RealtimeState, type HistoricalState,
} from '../../core-extension/ui/lib/url-state.js';

test('defaults serialize to an empty query string', () => {
  assert.equal(serializeRealtime(REALTIME_DEFAULTS), '');
  assert.equal(serializeHistorical(HISTORICAL_DEFAULTS), '');
  assert.deepEqual(parseRealtime(''), REALTIME_DEFAULTS);
  assert.deepEqual(parseHistorical('?'), HISTORICAL_DEFAULTS);
});

test('a real-time view round-trips, readable', () => {
  const s: RealtimeState = {
    range: { preset: 'last_15m' }, tz: 'utc', metric: 'pps', split: '', chart: 'line', refresh: 0,
    filters: [{ key: 'src_ip', values: ['10.0.0.0/8'] }, { key: 'protocol', values: ['tcp', 'udp'] }],
  };
  const q = serializeRealtime(s);
  assert.equal(q, '?range=last_15m&src_ip=10.0.0.0/8&protocol=tcp|udp&tz=utc&metric=pps&split=none&chart=line&refresh=0');
  assert.deepEqual(parseRealtime(q), s);
});

test('a custom range round-trips as ISO times', () => {
  const s: HistoricalState = { ...HISTORICAL_DEFAULTS, range: { start: Date.UTC(2025, 3, 1), end: Date.UTC(2025, 4, 1) }, k: 5, table: 'dst_port', limit: 100, metric: 'packets' };
  const q = serializeHistorical(s);
  assert.equal(q, '?start=2025-04-01T00:00:00Z&end=2025-05-01T00:00:00Z&metric=packets&k=5&table=dst_port&limit=100');
  assert.deepEqual(parseHistorical(q), s);
  // Epoch milliseconds are accepted too.
  assert.deepEqual(parseHistorical(`?start=${Date.UTC(2025, 3, 1)}&end=${Date.UTC(2025, 4, 1)}`).range, s.range);
});

test('junk in the URL falls back to defaults, one setting at a time', () => {
  const s = parseRealtime('?range=last_99y&metric=bogus&split=password&refresh=7&chart=pie&tz=mars&src_ip=not-an-ip&dst_port=443&start=2025-05-01&end=2025-04-01');
  assert.deepEqual(s, { ...REALTIME_DEFAULTS, filters: [{ key: 'dst_port', values: ['443'] }] });
  // A historical preset is not a real-time one.
  assert.deepEqual(parseRealtime('?range=last_30d').range, { preset: 'last_1h' });
});

test('API parameters for a preset, grouped by time and a dimension', () => {
  const p = apiParams({ preset: 'last_1h' }, [{ key: 'dst_port', values: ['443'] }, { key: 'protocol', values: ['tcp'] }], { group_by: ['time', 'protocol'], metric: 'bps', limit: 8 });
  assert.deepEqual([...p.entries()], [['time_range', 'last_1h'], ['group_by', 'time,protocol'], ['metric', 'bps'], ['limit', '8'], ['filter', 'dst_port=443,protocol=6']]);
});

test('API parameters for a custom range with an interval and no filter', () => {
  const p = apiParams({ start: Date.UTC(2025, 0, 1), end: Date.UTC(2025, 0, 8) }, [], { group_by: ['time', 'protocol'], metric: 'bytes', interval: '1d', limit: 5 });
  assert.equal(p.toString(), 'start=2025-01-01T00%3A00%3A00Z&end=2025-01-08T00%3A00%3A00Z&group_by=time%2Cprotocol&interval=1d&metric=bytes&limit=5');
});

test('switching views keeps the filters and time zone, not the range', () => {
  const s = parseRealtime('?range=last_15m&ip=10.1.1.1&tz=utc&metric=pps');
  assert.equal(carryOver(s, 'historical'), '?ip=10.1.1.1');
  assert.equal(carryOver(parseHistorical('?tz=local&range=last_90d'), 'realtime'), '');
});

test('the login page only returns to paths on this site', () => {
  assert.equal(safeReturnPath('/historical/?range=last_7d'), '/historical/?range=last_7d');
  for (const bad of [null, '', 'https://evil.example/', '//evil.example/', '/\\evil.example', 'javascript:alert(1)', '/\u0000x']) assert.equal(safeReturnPath(bad), '/');
});
