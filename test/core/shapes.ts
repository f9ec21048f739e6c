// The query shapes every tier must answer identically: each a set of URL
// parameters and the same question put to the reference (reference.ts).
import type { FlowRecord } from '../../common/flow.js';
import { expected, type RefQuery } from './reference.js';

const HOUR = 3_600_000;

export interface Shape { name: string; params: string; ref: Partial<RefQuery> & Pick<RefQuery, 'groupBy'>; start?: number; end?: number }

export function shapes(records: FlowRecord[], NOW: number, START: number, END: number) {
  const SHAPES: Shape[] = [
    { name: 'one total row', params: '', ref: { groupBy: [] } },
    { name: 'top 5 source IPs with other', params: 'group_by=src_ip&limit=5', ref: { groupBy: ['src_ip'], limit: 5 } },
    { name: 'top 5 destination ports by packets', params: 'group_by=dst_port&limit=5&metric=packets', ref: { groupBy: ['dst_port'], limit: 5, metric: 'packets' } },
    { name: 'traffic over time, 1h buckets', params: 'group_by=time&interval=1h', ref: { groupBy: [], interval: 3600 } },
    { name: 'top 2 protocols over time, 6h buckets, other per bucket', params: 'group_by=protocol,time&interval=6h&limit=2', ref: { groupBy: ['protocol'], interval: 21600, limit: 2 } },
    { name: 'source x destination by flows', params: 'group_by=src_ip,dst_ip&limit=10&metric=flows', ref: { groupBy: ['src_ip', 'dst_ip'], limit: 10, metric: 'flows' } },
    { name: 'IPv4 CIDR filter', params: 'group_by=dst_port&filter=src_ip=10.20.0.0/16', ref: { groupBy: ['dst_port'], filters: [['src_ip', ['10.20.0.0/16']]] } },
    { name: 'IPv4 CIDR off an octet boundary', params: 'group_by=src_ip&filter=src_ip=10.20.0.0/22', ref: { groupBy: ['src_ip'], filters: [['src_ip', ['10.20.0.0/22']]] } },
    { name: 'IPv6 CIDR on either side, protocol alternatives', params: 'group_by=src_ip&filter=ip=2001:db8::/32,protocol=tcp|udp', ref: { groupBy: ['src_ip'], filters: [['ip', ['2001:db8::/32']], ['protocol', ['tcp', 'udp']]] } },
    { name: 'one IPv6 address over time', params: 'group_by=time&interval=2h&filter=dst_ip=2001:db8:0:1::53', ref: { groupBy: [], interval: 7200, filters: [['dst_ip', ['2001:db8:0:1::53']]] } },
    { name: 'bits/s by exporter for ports 443 or 53 on either side', params: 'group_by=exporter&filter=port=443|53&metric=bps', ref: { groupBy: ['exporter'], filters: [['port', ['443', '53']]], metric: 'bps' } },
    { name: 'monthly trend by protocol', params: 'group_by=time,protocol&interval=month&limit=3', ref: { groupBy: ['protocol'], interval: 'month', limit: 3 } },
    { name: 'smallest destination AS first', params: 'group_by=dst_as&order=asc&limit=2', ref: { groupBy: ['dst_as'], order: 'asc', limit: 2 } },
    { name: 'packets/s by output interface, ANDed filters from two parameters', params: 'group_by=output_if&filter=input_if=1|2&filter=src_as=0&metric=pps', ref: { groupBy: ['output_if'], filters: [['input_if', ['1', '2']], ['src_as', ['0']]], metric: 'pps' } },
    { name: 'bits/s every 5 minutes over 3 hours', params: 'group_by=time&interval=5m&metric=bps', ref: { groupBy: [], interval: 300, metric: 'bps' }, start: NOW - 5 * HOUR + 7_000, end: NOW - 2 * HOUR },
    { name: 'top talkers per minute within the minute rollup', params: 'group_by=src_ip,time&interval=1m&limit=3', ref: { groupBy: ['src_ip'], interval: 60, limit: 3 }, start: NOW - 3 * HOUR, end: NOW - 2 * HOUR },
    { name: 'an IPv6 block holding IPv4-mapped space matches IPv4 flows too', params: 'group_by=protocol&filter=src_ip=::/1', ref: { groupBy: ['protocol'], filters: [['src_ip', ['0.0.0.0/0', '::/1']]] } },
    { name: 'many groups (600: the group lists go to the engines in slices)', params: 'group_by=src_ip,dst_ip,src_port&limit=600', ref: { groupBy: ['src_ip', 'dst_ip', 'src_port'], limit: 600 } },
    { name: "one address's history on either side (flows from it to itself count once)", params: 'group_by=time&interval=30m&filter=ip=10.20.0.5', ref: { groupBy: [], interval: 1800, filters: [['ip', ['10.20.0.5']]] } },
    { name: 'one IPv6 address on either side by protocol', params: 'group_by=protocol&filter=ip=2001:db8::1', ref: { groupBy: ['protocol'], filters: [['ip', ['2001:db8::1']]] } },
    { name: 'two addresses on either side (a flow between them counts once)', params: 'group_by=time&interval=1h&filter=ip=10.20.0.5|10.20.1.9', ref: { groupBy: [], interval: 3600, filters: [['ip', ['10.20.0.5', '10.20.1.9']]] } },
    { name: 'daily traffic by destination port', params: 'group_by=dst_port,time&interval=1d&limit=3', ref: { groupBy: ['dst_port'], interval: 86400, limit: 3 } },
    { name: 'top destination IPs for one exporter', params: 'group_by=dst_ip&limit=4&filter=exporter=192.0.2.2', ref: { groupBy: ['dst_ip'], limit: 4, filters: [['exporter', ['192.0.2.2']]] } },
    { name: 'many groups over time', params: 'group_by=dst_ip,src_port,time&interval=6h&limit=600&metric=packets', ref: { groupBy: ['dst_ip', 'src_port'], interval: 21600, limit: 600, metric: 'packets' } },
  ];

  const range = (s: Shape) => ({ startMs: s.start ?? START, endMs: s.end ?? END });
  const url = (tier: string, s: Shape) => `/api/netflow${tier}?start=${range(s).startMs}&end=${range(s).endMs}${s.params ? `&${s.params}` : ''}`;
  const want = (s: Shape) => expected(records, { filters: [], metric: 'bytes', ...s.ref, ...range(s) } as RefQuery);

  return { SHAPES, url, want };
}
