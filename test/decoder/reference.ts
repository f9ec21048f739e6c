// The real captures of ../shared/testdata/netflow and how to read them with tshark.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
export const TESTDATA = join(root, '..', 'shared', 'testdata', 'netflow');

export const CAPTURES = ['nfv9-cisco-asr9k-one-source', 'nfv9-cisco-asr9k-two-source-ids'].map((name) => ({
  name,
  pcap: join(TESTDATA, name, 'traffic.pcap'),
  nfacctd: join(TESTDATA, name, 'nfacctd-output.json'),
}));

/** tshark's JSON dissection of a capture, NetFlow decoded on `port`. */
export function tsharkJson(pcap: string, port = 9991): TsharkPacket[] {
  const out = execFileSync('tshark', ['-r', pcap, '-d', `udp.port==${port},cflow`, '-T', 'json'], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.toString()) as TsharkPacket[];
}

export interface TsharkPacket { _source: { layers: Record<string, unknown> & { cflow?: Record<string, unknown>; ip?: Record<string, string>; ipv6?: Record<string, string> } } }

/** One flow record as tshark shows it, with the header fields of its datagram. */
export interface TsharkFlow { frame: number; exporter: string; header: Record<string, unknown>; fields: Record<string, string | Record<string, string>> }

/** Every "Flow N" tshark decoded, in capture order. */
export function tsharkFlows(packets: TsharkPacket[]): TsharkFlow[] {
  const flows: TsharkFlow[] = [];
  packets.forEach((p, i) => {
    const layers = p._source.layers;
    const cflow = layers.cflow;
    if (!cflow) return;
    const exporter = layers.ip?.['ip.src'] ?? layers.ipv6?.['ipv6.src'] ?? '';
    for (const [k, set] of Object.entries(cflow)) {
      if (!k.startsWith('FlowSet') || typeof set !== 'object' || set === null) continue;
      for (const [fk, flow] of Object.entries(set as Record<string, unknown>)) {
        if (/^Flow \d+$/.test(fk)) flows.push({ frame: i + 1, exporter, header: cflow, fields: flow as TsharkFlow['fields'] });
      }
    }
  });
  return flows;
}
