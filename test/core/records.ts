// Flow records for the core-extension's tests: deterministic, both address
// families, sampled and unsampled exporters, a few heavy talkers, and
// timestamps with millisecond precision spread over a chosen range.
import { emptyRecord, type FlowRecord } from '../../common/flow.js';
import { rng } from '../../demo/traffic.js';


const V4_HOSTS = ['10.20.0.5', '10.20.1.9', '10.20.7.200', '10.21.3.3', '192.168.1.10', '192.168.1.77', '172.16.5.4', '8.8.8.8', '1.1.1.1', '93.184.216.34', '151.101.1.69', '203.0.113.9'];
const V6_HOSTS = ['2001:db8::1', '2001:db8::2', '2001:db8:0:1::53', '2001:db8:ffff::10', 'fe80::1', '2606:4700::1111', '2a00:1450:4001:80b::200e'];
const PORTS = [443, 443, 443, 80, 53, 53, 22, 123, 3389, 8080, 445, 993];
const EXPORTERS = [{ addr: '192.0.2.1', rate: 1 }, { addr: '192.0.2.2', rate: 100 }, { addr: '2001:db8:ee::1', rate: 10 }];

/** `n` records with timestamps in [fromMs, toMs). */
export function makeRecords(n: number, fromMs: number, toMs: number, seed = 7): FlowRecord[] {
  const rand = rng(seed);
  const pick = <T>(xs: T[], skew = 1) => xs[Math.floor(Math.pow(rand(), skew) * xs.length)]!;
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const v6 = rand() < 0.25;
    const hosts = v6 ? V6_HOSTS : V4_HOSTS;
    const exp = pick(EXPORTERS);
    const r = emptyRecord();
    r.timestamp = fromMs + Math.floor(rand() * (toMs - fromMs));
    r.flow_start = r.timestamp - Math.floor(rand() * 60_000);
    r.time_received = r.timestamp + 50;
    r.src_ip = pick(hosts, 2.2); // skewed: the first hosts talk most
    r.dst_ip = pick(hosts);
    r.protocol = rand() < 0.7 ? 6 : rand() < 0.9 ? 17 : 1;
    r.src_port = r.protocol === 1 ? 0 : 1024 + Math.floor(rand() * 60000);
    r.dst_port = r.protocol === 1 ? 2048 : pick(PORTS);
    r.bytes = 40 + Math.floor(Math.pow(rand(), 3) * 2_000_000);
    r.packets = 1 + Math.floor(r.bytes / (200 + rand() * 1200));
    r.exporter = exp.addr;
    r.sampling_rate = exp.rate;
    r.input_if = 1 + Math.floor(rand() * 4);
    r.output_if = 1 + Math.floor(rand() * 4);
    r.src_as = rand() < 0.5 ? 0 : 64500 + Math.floor(rand() * 20);
    r.dst_as = rand() < 0.5 ? 0 : 15169 + Math.floor(rand() * 3);
    r.tcp_flags = r.protocol === 6 ? 0x1b : 0;
    r.ip_version = v6 ? 6 : 4;
    r.flow_version = 9;
    r.source_id = 1;
    out.push(r);
  }
  return out;
}
