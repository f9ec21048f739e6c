// Independent references for the decoder tests: the real captures of
// ../shared/testdata/netflow, and Wireshark's NetFlow dissector (tshark) turned
// into the record it implies, computed here from tshark's own fields.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlowRecord } from '../../common/flow.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
export const TESTDATA = join(root, '..', 'shared', 'testdata', 'netflow');

export const CAPTURES = ['nfv9-cisco-asr9k-one-source', 'nfv9-cisco-asr9k-two-source-ids'].map((name) => ({
  name,
  pcap: join(TESTDATA, name, 'traffic.pcap'),
  nfacctd: join(TESTDATA, name, 'nfacctd-output.json'),
}));

export interface TsharkPacket { _source: { layers: Record<string, unknown> & { cflow?: Record<string, unknown>; ip?: Record<string, string>; ipv6?: Record<string, string> } } }

/** tshark's JSON dissection of a capture, NetFlow decoded on `port`. */
export function tsharkJson(pcap: string, port = 9991): TsharkPacket[] {
  const out = execFileSync('tshark', ['-r', pcap, '-d', `udp.port==${port},cflow`, '-T', 'json'], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.toString()) as TsharkPacket[];
}

/** One record as tshark shows it, with the header of its datagram. */
export interface TsharkFlow {
  frame: number;
  exporter: string;
  header: Record<string, unknown>;
  fields: Record<string, string | Record<string, string>>;
  /** Options data (it has scope fields) rather than a flow. */
  options: boolean;
  /** Capture time of the frame, whole ms. */
  receivedMs: number;
}

/** Every record tshark decoded (v9 "Flow N" in each set, v5 "pdu N/M"), in capture order. */
export function tsharkFlows(packets: TsharkPacket[]): TsharkFlow[] {
  const flows: TsharkFlow[] = [];
  packets.forEach((p, i) => {
    const layers = p._source.layers;
    const cflow = layers.cflow;
    if (!cflow) return;
    const exporter = layers.ip?.['ip.src'] ?? layers.ipv6?.['ipv6.src'] ?? '';
    const receivedMs = secondsToMs((layers.frame as Record<string, string>)['frame.time_epoch']!);
    const add = (fields: TsharkFlow['fields']) =>
      flows.push({ frame: i + 1, exporter, header: cflow, fields, receivedMs, options: Object.keys(fields).some((k) => k.startsWith('cflow.scope_')) });
    for (const [k, v] of Object.entries(cflow)) {
      if (/^pdu \d+\/\d+$/.test(k)) add(v as TsharkFlow['fields']);
      if (!k.startsWith('FlowSet') || typeof v !== 'object' || v === null) continue;
      for (const [fk, flow] of Object.entries(v as Record<string, unknown>)) if (/^Flow \d+$/.test(fk)) add(flow as TsharkFlow['fields']);
    }
  });
  return flows;
}

/** "328866.242000000" (seconds, as tshark prints uptimes) -> 328866242 ms, without floating point. */
export function secondsToMs(s: string): number {
  const [whole, frac = ''] = s.split('.');
  return Number(whole) * 1000 + Number((frac + '000').slice(0, 3));
}

/**
 * Sampling rates the options records of a dissection announce, by "exporter/source id/sampler id"
 * (sampler id "" for a rate of the whole source id): the random interval, or
 * (packet interval + packet space) / packet interval.
 */
export function tsharkSamplers(flows: TsharkFlow[]): Map<string, number> {
  const rates = new Map<string, number>();
  for (const f of flows.filter((x) => x.options)) {
    const g = (k: string) => (typeof f.fields[k] === 'string' ? Number(f.fields[k]) : undefined);
    const interval = g('cflow.sampler_random_interval') ?? g('cflow.sampling_interval');
    const pi = g('cflow.sampling_packet_interval');
    const ps = g('cflow.sampling_packet_space');
    const rate = interval ?? (pi !== undefined ? Math.round((pi + (ps ?? 0)) / pi) : undefined);
    const id = g('cflow.sampler_id') ?? g('cflow.selector_id');
    if (rate !== undefined) rates.set(`${f.exporter}/${f.header['cflow.source_id']}/${id ?? ''}`, rate);
  }
  return rates;
}

/** The record tshark's fields imply (all fields but time_received). */
export function expectedRecord(f: TsharkFlow, samplers: Map<string, number>, defaultRate = 1): Omit<FlowRecord, 'time_received'> {
  const g = (k: string) => (typeof f.fields[k] === 'string' ? (f.fields[k] as string) : undefined);
  const num = (...ks: string[]) => Number(ks.map(g).find((v) => v !== undefined) ?? 0);
  const hex = (k: string) => parseInt(g(k) ?? '0', 16);
  const h = f.header as Record<string, string> & { 'cflow.timestamp_tree': Record<string, string> };
  const v5 = h['cflow.version'] === '5';
  // Both families in one template (Cisco): the one not used is all zeros.
  const v4used = g('cflow.srcaddr') !== undefined && !(g('cflow.srcaddr') === '0.0.0.0' && g('cflow.dstaddr') === '0.0.0.0' && (g('cflow.srcaddrv6') ?? '::') !== '::');
  const v6 = !v4used && g('cflow.srcaddrv6') !== undefined;
  const noHop = (a: string | undefined) => (a === undefined || a === '0.0.0.0' || a === '::' ? '' : a);
  const headerMs = Number(h['cflow.timestamp_tree']['cflow.unix_secs']) * 1000 + (v5 ? Math.floor(Number(h['cflow.timestamp_tree']['cflow.unix_nsecs']) / 1e6) : 0);
  const uptime = secondsToMs(h['cflow.sysuptime']!);
  const times = f.fields['cflow.timedelta_tree'] as Record<string, string> | undefined;
  const at = (k: string) => (times?.[k] !== undefined ? headerMs - (uptime - secondsToMs(times[k]!)) : headerMs);
  const protocol = num('cflow.protocol');
  let dstPort = num('cflow.dstport');
  if ((protocol === 1 || protocol === 58) && dstPort === 0 && g('cflow.icmp_type_code_ipv4') !== undefined) dstPort = hex('cflow.icmp_type_code_ipv4');
  const sourceId = v5 ? (Number(h['cflow.engine_type']) << 8) | Number(h['cflow.engine_id']) : Number(h['cflow.source_id']);
  const sampler = g('cflow.sampler_id') ?? g('cflow.selector_id');
  const rate = v5
    ? Number(h['cflow.samplerate'] ?? 0) || defaultRate
    : samplers.get(`${f.exporter}/${sourceId}/${sampler ?? ''}`) ?? samplers.get(`${f.exporter}/${sourceId}/`) ?? defaultRate;
  return {
    timestamp: at('cflow.timeend'),
    src_ip: (v6 ? g('cflow.srcaddrv6') : g('cflow.srcaddr')) ?? '',
    dst_ip: (v6 ? g('cflow.dstaddrv6') : g('cflow.dstaddr')) ?? '',
    src_port: num('cflow.srcport'), dst_port: dstPort, protocol,
    bytes: num('cflow.octets', 'cflow.post_octets', 'cflow.permanent_octets'),
    packets: num('cflow.packets', 'cflow.post_packets', 'cflow.permanent_packets'),
    exporter: f.exporter, source_id: sourceId,
    input_if: num('cflow.inputint'), output_if: num('cflow.outputint'),
    tcp_flags: hex('cflow.tcpflags'), tos: hex('cflow.tos'),
    src_as: num('cflow.srcas'), dst_as: num('cflow.dstas'),
    src_mask: v6 ? num('cflow.srcmaskv6', 'cflow.srcmask') : num('cflow.srcmask'),
    dst_mask: v6 ? num('cflow.dstmaskv6', 'cflow.dstmask') : num('cflow.dstmask'),
    next_hop: noHop(v6 ? g('cflow.nexthopv6') ?? g('cflow.bgpnexthopv6') : g('cflow.nexthop') ?? g('cflow.bgpnexthop')),
    sampling_rate: rate,
    flow_start: at('cflow.timestart'),
    ip_version: v6 ? 6 : g('cflow.srcaddr') !== undefined ? 4 : 0,
    flow_version: v5 ? 5 : 9,
  };
}
