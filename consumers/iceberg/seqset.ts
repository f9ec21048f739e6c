// The set of stream sequence numbers already committed to the table, carried
// in every snapshot's summary: how a writer that restarts, or receives a
// redelivered message, knows it must not commit those records again.
//
// Form: a floor F (every sequence <= F is done: committed, or acknowledged
// and never coming back) plus sorted, merged ranges above it. The floor
// follows the consumer's ack floor, so the ranges stay as few as the messages
// in flight, however long the table lives.

export interface SeqSet {
  floor: number;
  /** Sorted, disjoint, non-adjacent [first, last] ranges, all above floor. */
  ranges: [number, number][];
  /**
   * The stream the sequences are of (its creation time): a stream deleted and
   * created again numbers from 1, and the old set must not swallow those.
   */
  stream?: string;
}

export const EMPTY: SeqSet = { floor: 0, ranges: [] };

export const SUMMARY_FLOOR = 'serviceradar.committed-seq-floor';
export const SUMMARY_RANGES = 'serviceradar.committed-seqs';
export const SUMMARY_BATCH = 'serviceradar.batch-seqs';
export const SUMMARY_STREAM = 'serviceradar.stream-created';

export function has(set: SeqSet, seq: number): boolean {
  if (seq <= set.floor) return true;
  let lo = 0;
  let hi = set.ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = set.ranges[mid]!;
    if (seq < a) hi = mid - 1;
    else if (seq > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Sorted, merged ranges of a list of sequence numbers. */
export function toRanges(seqs: number[]): [number, number][] {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const s of sorted) {
    const last = out.at(-1);
    if (last && s === last[1] + 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

/** `set` with `seqs` added, and its floor raised to `ackFloor` when that is higher. */
export function add(set: SeqSet, seqs: number[], ackFloor = 0): SeqSet {
  const merged: [number, number][] = [];
  const all = [...set.ranges, ...toRanges(seqs)].sort((a, b) => a[0] - b[0]);
  for (const [a, b] of all) {
    const last = merged.at(-1);
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  let floor = Math.max(set.floor, ackFloor);
  const ranges: [number, number][] = [];
  for (const [a, b] of merged) {
    if (b <= floor) continue;
    if (a <= floor + 1) floor = b;
    else ranges.push([a, b]);
  }
  return { floor, ranges, ...(set.stream === undefined ? {} : { stream: set.stream }) };
}

/** What identifies the stream's numbering: its creation time, and how far it has got. */
export interface StreamState { created: string; lastSeq: number }

/**
 * The set as it applies to messages of `stream`: empty when it was recorded
 * for another one; cut at the stream's last sequence when the numbering went
 * back (a stream restored from an older backup keeps its creation time, and
 * numbers on from the backup's end: what it holds was committed, what comes
 * after is new). A set recorded without a stream is taken to be of this one.
 */
export function forStream(set: SeqSet, stream: StreamState | undefined): SeqSet {
  if (stream === undefined) return set;
  if (set.stream !== undefined && set.stream !== stream.created) return { ...EMPTY, stream: stream.created };
  const last = stream.lastSeq;
  return {
    floor: Math.min(set.floor, last),
    ranges: set.ranges.filter(([a]) => a <= last).map(([a, b]) => [a, Math.min(b, last)] as [number, number]),
    stream: stream.created,
  };
}

export function formatRanges(ranges: [number, number][]): string {
  return ranges.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',');
}

export function parseRanges(text: string): [number, number][] {
  if (!text) return [];
  return text.split(',').map((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad sequence range "${part}"`);
    return [Number(m[1]), Number(m[2] ?? m[1])] as [number, number];
  });
}

/** The set a snapshot summary records; empty for a table without one. */
export function fromSummary(summary: Record<string, string> | undefined): SeqSet {
  if (!summary) return EMPTY;
  const stream = summary[SUMMARY_STREAM];
  return { floor: Number(summary[SUMMARY_FLOOR] ?? 0), ranges: parseRanges(summary[SUMMARY_RANGES] ?? ''), ...(stream === undefined ? {} : { stream }) };
}

export function toSummary(set: SeqSet): Record<string, string> {
  return { [SUMMARY_FLOOR]: String(set.floor), [SUMMARY_RANGES]: formatRanges(set.ranges), ...(set.stream === undefined ? {} : { [SUMMARY_STREAM]: set.stream }) };
}
