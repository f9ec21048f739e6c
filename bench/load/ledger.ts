// What the load generator sent, exactly: per exporter and source, flows,
// bytes, packets and datagrams; the offered rate over time; and sample flows
// with their send time (the latency markers).

export interface SourceLedger {
  exporter: string;
  version: 5 | 9;
  sourceId: number;
  flows: number;
  bytes: number;
  packets: number;
  datagrams: number;
  /** Datagrams whose send() failed (not counted above). */
  sendErrors: number;
}

/** A flow whose send time is known: found in a tier by (exporter, source id, next hop). */
export interface Marker { exporter: string; sourceId: number; nextHop: string; sentMs: number }

export interface Ledger {
  startedMs: number;
  endedMs: number;
  sources: SourceLedger[];
  /** [ms since the epoch, flows sent so far], about every 200 ms. */
  curve: Array<[number, number]>;
  markers: Marker[];
}

export interface Totals { flows: number; bytes: number; packets: number }

export function totals(sources: readonly SourceLedger[]): Totals & { datagrams: number; sendErrors: number } {
  const t = { flows: 0, bytes: 0, packets: 0, datagrams: 0, sendErrors: 0 };
  for (const s of sources) { t.flows += s.flows; t.bytes += s.bytes; t.packets += s.packets; t.datagrams += s.datagrams; t.sendErrors += s.sendErrors; }
  return t;
}

/** Per exporter address (sources summed). */
export function byExporter(sources: readonly SourceLedger[]): Map<string, Totals> {
  const out = new Map<string, Totals>();
  for (const s of sources) {
    const t = out.get(s.exporter) ?? { flows: 0, bytes: 0, packets: 0 };
    t.flows += s.flows; t.bytes += s.bytes; t.packets += s.packets;
    out.set(s.exporter, t);
  }
  return out;
}

/** Sums curves sampled at different moments (each a step function) into one. */
export function mergeCurves(curves: ReadonlyArray<ReadonlyArray<[number, number]>>): Array<[number, number]> {
  const times = [...new Set(curves.flatMap((c) => c.map(([t]) => t)))].sort((a, b) => a - b);
  const idx = curves.map(() => -1);
  return times.map((t) => {
    let sum = 0;
    curves.forEach((c, i) => {
      while (idx[i]! + 1 < c.length && c[idx[i]! + 1]![0] <= t) idx[i]!++;
      sum += idx[i]! >= 0 ? c[idx[i]!]![1] : 0;
    });
    return [t, sum];
  });
}

/** The next hop the generator stamps on record number `counter` of a source, as a 32-bit value: 10.0.0.0 + counter. */
export function nextHopValue(counter: number): number {
  return (0x0a000000 + (counter & 0xffffff)) >>> 0;
}

export function nextHopOf(counter: number): string {
  const v = nextHopValue(counter);
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}
