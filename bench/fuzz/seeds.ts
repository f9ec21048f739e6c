// The fuzz seeds: runs of consecutive datagrams of the real captures (template
// first, then the data that needs it) and built v5/v9 exports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapReader } from '../../checker/pcap.js';
import { V5Exporter, V9Exporter, type ExportFlow } from '../../demo/exporter/packets.js';
import type { MFrame } from './mutate.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const TESTDATA = join(root, '..', 'shared', 'testdata', 'netflow');
const CAPTURES = ['nfv9-cisco-asr9k-one-source', 'nfv9-cisco-asr9k-two-source-ids'];

export function buildSeeds(): MFrame[][] {
  const seeds: MFrame[][] = [];
  // Every fourth datagram from a second exporter, so per-exporter state is exercised too.
  const put = (datagrams: Uint8Array[]) => seeds.push(datagrams.map((d, i) => ({ exporterIndex: i % 4 === 3 ? 1 : 0, datagram: d })));
  for (const name of CAPTURES) {
    const all = [...new PcapReader(readFileSync(join(TESTDATA, name, 'traffic.pcap'))).udp()].map((d) => d.payload);
    // Windows of 1 to 4 datagrams from the start (where the templates are) and along the capture.
    for (let i = 0; i < all.length; i += Math.max(1, Math.floor(all.length / 12))) for (const w of [1, 4]) put(all.slice(i, i + w));
    put(all.slice(0, 8));
  }
  const T = 1_700_000_000_000;
  const flows: ExportFlow[] = Array.from({ length: 12 }, (_, i) => ({
    src_ip: i % 3 ? `10.0.${i}.1` : `2001:db8::${i}`, dst_ip: i % 3 ? '192.0.2.1' : '2001:db8::1', src_port: 1000 + i, dst_port: 443, protocol: 6,
    bytes: 1000 * i, packets: i + 1, timestamp: T - 1000, flow_start: T - 9000, input_if: 1, output_if: 2, tcp_flags: 0x12, tos: 0,
    src_as: 65000, dst_as: 15169, src_mask: 24, dst_mask: 16, next_hop: '',
  }));
  put(new V9Exporter({ bootMs: T - 86_400_000, samplingRate: 100, templateEvery: 2 }).packets(flows, T));
  put(new V5Exporter({ bootMs: T - 86_400_000, samplingRate: 10 }).packets(flows, T));
  return seeds;
}
