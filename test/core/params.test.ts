// Parameter parsing: every accepted form gives the canonical query worked out
// by hand; every bad form is a ParamError naming the parameter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery, parseFilter, parseInterval, parseTime } from '../../core-extension/api/params.js';
import { ipText, parseIpNet, hex } from '../../core-extension/query/ip.js';
import { ParamError } from '../../core-extension/query/model.js';

const NOW = Date.UTC(2025, 3, 14, 12, 34, 56);
const q = (s: string, tier: 'auto' | 'realtime' | 'historical' = 'auto') => parseQuery(new URLSearchParams(s), NOW, tier);

function rejects(s: string, parameter: string, reason?: RegExp, tier: 'auto' | 'realtime' | 'historical' = 'auto') {
  assert.throws(() => q(s, tier), (err: unknown) => {
    assert.ok(err instanceof ParamError, `expected ParamError for ${s}, got ${err}`);
    assert.equal(err.parameter, parameter, `parameter for ${s}`);
    if (reason) assert.match(err.message, reason);
    return true;
  });
}

test('defaults: last hour, one total row, bytes', () => {
  const x = q('');
  assert.equal(x.endMs, NOW);
  assert.equal(x.startMs, NOW - 3_600_000);
  assert.deepEqual(x.groupBy, []);
  assert.equal(x.byTime, false);
  assert.equal(x.interval, null);
  assert.equal(x.metric, 'bytes');
  assert.equal(x.limit, null);
  assert.equal(x.order, 'desc');
  assert.equal(x.format, 'json');
});

test('time ranges: presets, today/yesterday in UTC, explicit start/end', () => {
  assert.equal(parseQuery(new URLSearchParams(''), NOW + 789).endMs, NOW, 'now is cut to the second');
  assert.equal(q('time_range=last_24h').startMs, NOW - 86_400_000);
  assert.equal(q('time_range=last_90d').startMs, NOW - 90 * 86_400_000);
  const today = q('time_range=today');
  assert.equal(today.startMs, Date.UTC(2025, 3, 14));
  assert.equal(today.endMs, NOW);
  const y = q('time_range=yesterday');
  assert.deepEqual([y.startMs, y.endMs], [Date.UTC(2025, 3, 13), Date.UTC(2025, 3, 14)]);
  const e = q('start=2025-04-01T00:00:00Z&end=2025-04-02T06:00:00%2B02:00');
  assert.deepEqual([e.startMs, e.endMs], [Date.UTC(2025, 3, 1), Date.UTC(2025, 3, 2, 4)]);
  assert.equal(q('start=1744588800000').startMs, 1744588800000);
  assert.equal(q('start=1744588800000').endMs, NOW);
  assert.equal(q('start=2025-04-10').startMs, Date.UTC(2025, 3, 10));
  rejects('time_range=last_3y', 'time_range', /must be one of/);
  rejects('time_range=last_1h&start=2025-04-01', 'time_range', /not both/);
  rejects('end=2025-04-01', 'start', /required/);
  rejects('start=2025-04-02&end=2025-04-01', 'end', /after start/);
  rejects('start=2025-02-30', 'start', /calendar/);
  rejects('start=yesterday', 'start', /ISO 8601/);
  rejects('start=1900-01-01', 'start', /ten years/);
});

test('group_by and interval: default interval gives 60-300 points', () => {
  const x = q('group_by=src_ip,time');
  assert.deepEqual(x.groupBy, ['src_ip']);
  assert.equal(x.byTime, true);
  assert.deepEqual(x.interval, { kind: 'fixed', seconds: 60 }); // 1 h / 1 min = 60 points
  assert.equal(x.limit, 10);
  for (const [range, seconds] of [['last_24h', 900], ['last_7d', 3600], ['last_30d', 43200], ['last_90d', 86400], ['last_5m', 10]] as const) {
    assert.deepEqual(q(`group_by=time&time_range=${range}`).interval, { kind: 'fixed', seconds }, range);
  }
  assert.deepEqual(parseInterval('5m', 0, 3_600_000), { kind: 'fixed', seconds: 300 });
  assert.deepEqual(parseInterval('month', 0, 3_600_000), { kind: 'month' });
  assert.equal(q('group_by=time').limit, null);
  rejects('group_by=src_ip,src_ip', 'group_by', /twice/);
  rejects('group_by=bytes', 'group_by', /not one of/);
  rejects("group_by=src_ip;DROP TABLE flows", 'group_by');
  rejects('interval=1m', 'interval', /group_by includes time/);
  rejects('group_by=time&interval=1s&time_range=last_30d', 'interval', /buckets/);
  rejects('group_by=time&interval=5x', 'interval');
  rejects('limit=5', 'limit', /only applies/);
});

test('filters: canonical IPs and CIDRs, ports, protocol names, alternatives, AND across parameters', () => {
  const x = q('filter=src_ip=192.168.1.7/24,protocol=tcp|UDP|47&filter=dst_port=443&filter=ip=2001:DB8::1');
  assert.equal(x.filters.length, 4);
  const [src, proto, port, ip] = x.filters;
  assert.equal(src!.key, 'src_ip');
  const net = (src!.values[0] as { kind: 'ip'; net: ReturnType<typeof parseIpNet> }).net;
  assert.equal(net.text, '192.168.1.0/24');
  assert.equal(hex(net.lo), '00000000000000000000ffffc0a80100');
  assert.equal(hex(net.hi), '00000000000000000000ffffc0a801ff');
  assert.deepEqual(proto!.values, [{ kind: 'uint', value: 6 }, { kind: 'uint', value: 17 }, { kind: 'uint', value: 47 }]);
  assert.deepEqual(port, { key: 'dst_port', values: [{ kind: 'uint', value: 443 }] });
  assert.equal((ip!.values[0] as { kind: 'ip'; net: { text: string } }).net.text, '2001:db8::1');
  assert.deepEqual(parseFilter('src_as=AS65000'), [{ key: 'src_as', values: [{ kind: 'uint', value: 65000 }] }]);
  rejects('filter=dst_port=70000', 'filter', /0-65535/);
  rejects('filter=protocol=256', 'filter');
  rejects('filter=src_ip=10.0.0.0/33', 'filter', /prefix/);
  rejects('filter=src_ip=300.1.1.1', 'filter', /not an IP/);
  rejects('filter=bytes=5', 'filter', /not a filter key/);
  rejects('filter=src_ip', 'filter', /key=value/);
  rejects("filter=src_ip=1.1.1.1' OR '1'='1", 'filter');
  rejects('filter=dst_port=', 'filter', /empty/);
});

test('metric, limit, order, format, as_of, unknown and repeated parameters', () => {
  assert.equal(q('metric=bps').metric, 'bps');
  assert.equal(q('group_by=dst_port&limit=5&order=asc').limit, 5);
  assert.equal(q('format=csv').format, 'csv');
  assert.deepEqual(q('as_of=6412378236482374982').asOf, { snapshotId: '6412378236482374982' });
  assert.deepEqual(q('as_of=2025-04-01T00:00:00Z').asOf, { timeMs: Date.UTC(2025, 3, 1) });
  rejects('metric=octets', 'metric', /one of/);
  rejects('group_by=src_ip&limit=0', 'limit');
  rejects('group_by=src_ip&limit=10001', 'limit');
  rejects('group_by=src_ip&limit=1e3', 'limit');
  rejects('order=random', 'order');
  rejects('format=xml', 'format');
  rejects('as_of=99999999999999999999', 'as_of');
  rejects('as_of=2025-04-01', 'as_of', /historical/, 'realtime');
  rejects('sql=select', 'sql', /unknown parameter/);
  rejects('metric=bytes&metric=packets', 'metric', /more than once/);
  rejects(`filter=src_ip=${'1'.repeat(5000)}`, 'filter', /longer/);
});

test('IP text: canonical forms both ways', () => {
  assert.equal(parseIpNet('::ffff:10.1.2.3').text, '10.1.2.3');
  assert.equal(parseIpNet('2001:0db8:0000:0000:0001:0000:0000:0001').text, '2001:db8::1:0:0:1');
  assert.equal(parseIpNet('fe80::/10').text, 'fe80::/10');
  assert.equal(parseIpNet('2001:db8::/32').text, '2001:db8::/32');
  assert.equal(hex(parseIpNet('2001:db8::/32').hi), '20010db8ffffffffffffffffffffffff');
  assert.equal(parseIpNet('10.9.8.7/8').text, '10.0.0.0/8');
  assert.equal(parseIpNet('0.0.0.0/0').text, '0.0.0.0/0');
  assert.equal(hex(parseIpNet('0.0.0.0/0').hi), '00000000000000000000ffffffffffff');
  assert.equal(ipText(parseIpNet('::').lo), '::');
  assert.equal(ipText(parseIpNet('1::').lo), '1::');
  assert.throws(() => parseIpNet('1:2:3:4:5:6:7:8:9'));
  assert.throws(() => parseIpNet('fe80::1%eth0'));
  assert.equal(parseTime('t', '2025-04-14T12:00:00.5Z'), Date.UTC(2025, 3, 14, 12, 0, 0, 500));
});

test('CSV cells: quoted when needed, spreadsheet formulas defused', async () => {
  const { csvCell } = await import('../../core-extension/api/http.js');
  assert.equal(csvCell(443), '443');
  assert.equal(csvCell(null), '');
  assert.equal(csvCell('10.0.0.1'), '10.0.0.1');
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvCell(-5), '-5');
});
