// serviceradar-netflow decode FILE.pcap [--port N]: the records a capture of
// NetFlow export datagrams decodes to, one JSON object a line with the proto's
// field names (like `nfdump -r`), to debug an exporter. A summary goes to stderr.
import { readFileSync } from 'node:fs';
import { NetFlowDecoder } from './decoder/index.js';
import { PcapError, PcapReader } from './pcap.js';

const USAGE = `usage: serviceradar-netflow decode FILE.pcap [--port N] [--stats]

Decodes the NetFlow v5/v9 datagrams in a classic pcap capture and prints one
JSON flow record a line. Every UDP datagram is tried unless --port N keeps only
those sent to port N. The exporter is the datagram's source address; the
receive time is the capture time. --stats prints the decoder's counters (JSON)
to stderr at the end.`;

class UsageError extends Error {}

function parseArgs(argv: string[]): { file: string; port?: number; stats: boolean } | 'help' {
  let file: string | undefined;
  let port: number | undefined;
  let stats = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return 'help';
    if (a === '--stats') stats = true;
    else if (a === '--port' || a.startsWith('--port=')) {
      const v = a === '--port' ? argv[++i] : a.slice('--port='.length);
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new UsageError(`--port needs a UDP port number (1-65535), got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
      port = Number(v);
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else throw new UsageError(`one capture file at a time (got ${JSON.stringify(file)} and ${JSON.stringify(a)})`);
  }
  if (file === undefined) throw new UsageError('which capture? give the path of a .pcap file');
  return { file, port, stats };
}

/** Writes lines to stdout in large chunks, waiting when the pipe is full; stops quietly if the reader goes away. */
class Output {
  private buf = '';
  private closed = false;
  constructor() { process.stdout.on('error', () => { this.closed = true; }); }
  async line(s: string): Promise<void> {
    this.buf += s + '\n';
    if (this.buf.length >= 1 << 16) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.closed || this.buf === '') return;
    const chunk = this.buf;
    this.buf = '';
    if (!process.stdout.write(chunk)) await new Promise<void>((resolve) => { process.stdout.once('drain', resolve); process.stdout.once('error', () => resolve()); });
  }
  get gone(): boolean { return this.closed; }
}

export async function run(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`serviceradar-netflow decode: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (args === 'help') { console.log(USAGE); return 0; }

  let bytes: Uint8Array;
  try {
    bytes = readFileSync(args.file);
  } catch (e) {
    console.error(`serviceradar-netflow decode: cannot read ${args.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    return 1;
  }
  const decoder = new NetFlowDecoder();
  const out = new Output();
  let datagrams = 0;
  let cutShort: string | undefined;
  try {
    const reader = new PcapReader(bytes);
    for (const d of reader.udp()) {
      if (args.port !== undefined && d.dstPort !== args.port) continue;
      datagrams++;
      for (const r of decoder.decode(d.payload, d.src, Math.floor(d.tsMs))) await out.line(JSON.stringify(r));
      if (out.gone) break;
    }
  } catch (e) {
    if (!(e instanceof PcapError)) throw e;
    cutShort = e.message;
  }
  await out.flush();
  const s = decoder.stats();
  const errors = Object.entries(s.errors).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  console.error(`${args.file}: ${datagrams} UDP datagrams, ${s.flows} flow records${errors ? `; decode errors: ${errors}` : ''}${s.pending ? `; ${s.pending} data sets never got their template` : ''}`);
  if (args.stats) console.error(JSON.stringify(s, null, 2));
  if (cutShort !== undefined) {
    console.error(`serviceradar-netflow decode: ${args.file}: ${cutShort}`);
    return 1;
  }
  return 0;
}
