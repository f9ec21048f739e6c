// The fuzz input format: a run of datagrams, so one input can carry a template
// and the data that needs it, an exporter restart, or a flood. Each frame is
// [exporter index: 1 byte][length: 2 bytes, big-endian][datagram]; a last frame
// shorter than its length takes what is left. Shared by the fuzz target and the
// corpus regression test, which replay a file the same way.
import { NetFlowDecoder, type DecoderOptions } from '../../checker/decoder/index.js';
import type { FlowRecord } from '../../common/flow.js';

export interface Frame { exporter: string; datagram: Uint8Array }

/** Small caps, so a short input can reach every eviction and drop path. */
export const FUZZ_LIMITS: DecoderOptions = {
  maxExporters: 4, maxTemplatesPerExporter: 8, maxSourcesPerExporter: 4,
  pendingPerExporter: 4, maxPendingBytes: 8192, pendingTtlMs: 5_000, maxTemplateFields: 64,
};
/** Receive clock of the first frame; each next frame is 1 s later (so held data also expires). */
export const FUZZ_T0 = 1_700_000_000_000;

export function splitFrames(input: Uint8Array): Frame[] {
  const frames: Frame[] = [];
  for (let p = 0; p + 3 <= input.length;) {
    const exporter = `192.0.2.${input[p]! % 8}`;
    const len = (input[p + 1]! << 8) | input[p + 2]!;
    const end = Math.min(input.length, p + 3 + len);
    frames.push({ exporter, datagram: input.subarray(p + 3, end) });
    p = end;
  }
  return frames;
}

export function joinFrames(frames: readonly { exporterIndex: number; datagram: Uint8Array }[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + 3 + f.datagram.length, 0));
  let p = 0;
  for (const f of frames) {
    if (f.datagram.length > 0xffff) throw new Error('datagram longer than 65535 bytes');
    out[p] = f.exporterIndex; out[p + 1] = f.datagram.length >> 8; out[p + 2] = f.datagram.length & 0xff;
    out.set(f.datagram, p + 3);
    p += 3 + f.datagram.length;
  }
  return out;
}

/** Decodes every frame of an input with one fresh decoder. */
export function replay(input: Uint8Array): { decoder: NetFlowDecoder; frames: number; records: FlowRecord[] } {
  const decoder = new NetFlowDecoder(FUZZ_LIMITS);
  const frames = splitFrames(input);
  const records: FlowRecord[] = [];
  frames.forEach((f, i) => { for (const r of decoder.decode(f.datagram, f.exporter, FUZZ_T0 + i * 1000)) records.push(r); });
  return { decoder, frames: frames.length, records };
}
