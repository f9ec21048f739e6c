// Flow records to the bytes ClickHouse parses: TabSeparated rows in the column
// order of schema.FLOW_COLUMNS, written straight into a Buffer (IP addresses
// as their 16 raw bytes, escaped where TSV needs it). The same payload goes to
// chDB and to any server version. Encoding validates too: a record that does
// not fit its columns is refused with the field and the value, and the writer
// dead-letters its message.
import { timeProblem, TIME_LIMITS_MS, type FlowColumns, type StringColumn } from '../../common/flow.js';
import { FLOW_COLUMNS } from './schema.js';

const DAY_S = 86_400;
const TAB = 0x09, NL = 0x0a, BACKSLASH = 0x5c;
const MAX_COLLECTOR_BYTES = 1024;

export class RecordError extends Error {
  override name = 'RecordError';
}

/** The TSV rows of one stream message that fall on one UTC day. */
export interface DayChunk {
  /** UTC day number (days since the epoch): the partition the rows go to. */
  day: number;
  rows: number;
  /** Earliest timestamp (s) among the rows: where the message's marker row sits. */
  markerTs: number;
  data: Buffer;
}

/** A message's rows, encoded once when it is pulled, split by partition. */
export interface EncodedMessage { chunks: DayChunk[] }

/** Grows as needed; bytes are written in place, numbers digit by digit. */
class Out {
  buf: Buffer;
  pos = 0;
  constructor(size: number) { this.buf = Buffer.allocUnsafe(size); }

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A non-negative integer below 2^53 (callers reserve 17 bytes). */
  uint(n: number): void {
    const b = this.buf;
    if (n < 10) { b[this.pos++] = 48 + n; return; }
    let digits = 2;
    for (let limit = 100; n >= limit; limit *= 10) digits++;
    let p = this.pos + digits;
    this.pos = p;
    // 32-bit integer division where the value allows it: most fields are small.
    while (n >= 4294967296) { const q = Math.floor(n / 10); b[--p] = 48 + (n - q * 10); n = q; }
    while (n >= 10) { const q = (n / 10) >>> 0; b[--p] = 48 + (n - q * 10); n = q; }
    b[--p] = 48 + n;
  }

  int(n: number): void {
    if (n < 0) { this.buf[this.pos++] = 0x2d; this.uint(-n); } else this.uint(n);
  }

  byte(v: number): void { this.buf[this.pos++] = v; }

  /** The first `n` of pre-escaped bytes (an address, the collector id); callers reserve. */
  bytes(src: Uint8Array, n: number): void {
    const b = this.buf;
    let p = this.pos;
    for (let k = 0; k < n; k++) b[p++] = src[k]!;
    this.pos = p;
  }

  take(): Buffer { return this.buf.subarray(0, this.pos); }
}

// Per column: the widest a field can be (reserve), checked against the row's estimate.
const ROW_RESERVE = FLOW_COLUMNS.length * 1 + FLOW_COLUMNS.reduce((n, c) => n + (c.source.kind === 'ip' ? 32 : 21), 0);

/** TSV escaping of a string field, as UTF-8. */
function escapeText(text: string): Buffer {
  const escaped = /[\t\n\\]/.test(text) ? text.replace(/[\t\n\\]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\\\')) : text;
  return Buffer.from(escaped, 'utf8');
}

interface DayEntry { day: number; out: Out; rows: number; markerTs: number }

/**
 * The last address a column parsed, kept escaped for TSV: consecutive records
 * often repeat one (the exporter, a next hop), and then it is not parsed again.
 */
class AddressColumn {
  private readonly parsed = new Uint8Array(16);
  private readonly escaped = Buffer.alloc(32);
  private escapedLength = 0;
  private from = 0;
  private to = -1;
  constructor(private readonly name: string, private readonly col: StringColumn) {}

  write(out: Out, i: number): void {
    const { data, start, end } = this.col;
    const from = start[i]!, to = end[i]!;
    if (!this.same(data, from, to)) {
      if (!parseIp(data, from, to, this.parsed)) {
        throw new RecordError(`record ${i}: ${this.name} ${JSON.stringify(Buffer.from(data.subarray(from, Math.min(to, from + 64))).toString('utf8'))} is not an IP address`);
      }
      this.escapedLength = escapeBytes(this.parsed, this.escaped);
      this.from = from; this.to = to;
    }
    out.bytes(this.escaped, this.escapedLength);
  }

  private same(b: Uint8Array, from: number, to: number): boolean {
    if (to - from !== this.to - this.from) return false;
    for (let k = 0, d = this.from - from; from + k < to; k++) if (b[from + k] !== b[from + k + d]) return false;
    return true;
  }
}

/** TSV escaping of 16 raw address bytes into `out`; returns the length. */
function escapeBytes(src: Uint8Array, out: Uint8Array): number {
  let p = 0;
  for (let k = 0; k < 16; k++) {
    const v = src[k]!;
    if (v === TAB) { out[p++] = BACKSLASH; out[p++] = 0x74; }
    else if (v === NL) { out[p++] = BACKSLASH; out[p++] = 0x6e; }
    else if (v === BACKSLASH) { out[p++] = BACKSLASH; out[p++] = BACKSLASH; }
    else out[p++] = v;
  }
  return p;
}

type RowWriter = (out: Out, c: FlowColumns, i: number, ts: number, collector: Buffer, ips: AddressColumn[]) => void;

/**
 * One straight-line function writing a row in FLOW_COLUMNS order, built once
 * from the column table: a loop over the columns with a switch per value was
 * most of the encoder's time.
 */
function compileRowWriter(): { writeRow: RowWriter; addressFields: AddressField[] } {
  const addressFields: AddressField[] = [];
  const body = FLOW_COLUMNS.map(({ source: src }, k) => {
    const sep = k > 0 ? 'out.byte(9); ' : '';
    switch (src.kind) {
      case 'seconds': return `${sep}out.uint(ts);`;
      // Decoded values are non-negative integers: only the upper bound needs a check.
      // 0 means "unknown" for a sampling rate, and unknown counts as unsampled.
      case 'uint': return `${sep}v = c.${src.field}[i]; if (v > ${src.max}) tooLarge(i, '${src.field}', v, ${src.max}); out.uint(${src.field === 'sampling_rate' ? 'v === 0 ? 1 : v' : 'v'});`;
      case 'ip': addressFields.push(src.field); return `${sep}ips[${addressFields.length - 1}].write(out, i);`;
      case 'offset': return `${sep}out.int(${src.field === 'flow_start' ? `ts - seconds(c.${src.field}[i], i, '${src.field}')` : `seconds(c.${src.field}[i], i, '${src.field}') - ts`});`;
      case 'collector': return `${sep}out.bytes(collector, collector.length);`;
      case 'seq': return `${sep}out.byte(48);`;
    }
  });
  const make = new Function('tooLarge', 'seconds', `return function writeRow(out, c, i, ts, collector, ips) {\n  let v = 0;\n  ${body.join('\n  ')}\n  out.byte(10);\n};`) as (tooLarge: unknown, seconds: unknown) => RowWriter;
  return { writeRow: make(tooLarge, checkedSeconds), addressFields };
}

type AddressField = 'src_ip' | 'dst_ip' | 'exporter' | 'next_hop';
const { writeRow, addressFields } = compileRowWriter();

function tooLarge(i: number, field: string, v: number, max: number): never {
  throw new RecordError(`record ${i}: ${field} ${String(v)} is not an integer from 0 to ${max}`);
}

/**
 * Encodes the records of one message, split by UTC day. Throws RecordError
 * naming the record, field and value when one does not fit the schema.
 */
export function encodeMessage(c: FlowColumns): EncodedMessage {
  const collector = escapeText(c.collector_id);
  if (collector.length > MAX_COLLECTOR_BYTES) throw new RecordError(`collector_id is ${collector.length} bytes long, more than ${MAX_COLLECTOR_BYTES}`);
  const ips = addressFields.map((f) => new AddressColumn(f, c[f]));
  const byDay = new Map<number, DayEntry>();
  let cur: DayEntry | undefined;
  for (let i = 0; i < c.rows; i++) {
    const ts = checkedSeconds(c.timestamp[i]!, i, 'timestamp');
    const day = Math.floor(ts / DAY_S);
    if (!cur || cur.day !== day) {
      cur = byDay.get(day);
      if (!cur) { cur = { day, out: new Out(Math.max(1024, c.rows * 160)), rows: 0, markerTs: ts }; byDay.set(day, cur); }
    }
    cur.out.reserve(ROW_RESERVE + collector.length);
    writeRow(cur.out, c, i, ts, collector, ips);
    cur.rows++;
    if (ts < cur.markerTs) cur.markerTs = ts;
  }
  return { chunks: [...byDay.values()].map((e) => ({ day: e.day, rows: e.rows, markerTs: e.markerTs, data: e.out.take() })) };
}

function checkedSeconds(ms: number, index: number, field: keyof typeof TIME_LIMITS_MS): number {
  const problem = timeProblem(field, ms, index);
  if (problem) throw new RecordError(problem);
  return Math.floor(ms / 1000);
}

/**
 * The exactly-once marker row of message `seq` in one partition: every column
 * zero except timestamp (`markerTs`) and ingest_seq.
 */
export function markerRow(seq: number, markerTs: number): Buffer {
  const out = new Out(ROW_RESERVE);
  const zeroIp = new Uint8Array(16);
  for (let c = 0; c < FLOW_COLUMNS.length; c++) {
    if (c > 0) out.byte(TAB);
    const kind = FLOW_COLUMNS[c]!.source.kind;
    if (kind === 'seconds') out.uint(markerTs);
    else if (kind === 'seq') out.uint(seq);
    else if (kind === 'ip') out.bytes(zeroIp, 16);
    else if (kind !== 'collector') out.byte(0x30);
  }
  out.byte(NL);
  return out.take();
}

// ---------------------------------------------------------------------------
// IP text to 16 bytes (IPv4 as IPv4-mapped IPv6; "" as all zeros)

/** Parses the IPv4 or IPv6 address text in b[from..to) into `out` (16 bytes); false when it is neither. */
export function parseIp(b: Uint8Array, from: number, to: number, out: Uint8Array): boolean {
  out.fill(0);
  if (to === from) return true;
  if (to - from <= 15 && parseV4(b, from, to, out, 12)) {
    out[10] = 0xff; out[11] = 0xff;
    return true;
  }
  return parseV6(b, from, to, out);
}

function parseV4(b: Uint8Array, from: number, to: number, out: Uint8Array, at: number): boolean {
  let part = 0, value = 0, digits = 0;
  for (let i = from; i < to; i++) {
    const ch = b[i]!;
    if (ch === 0x2e) {
      if (digits === 0 || part === 3) return false;
      out[at + part++] = value; value = 0; digits = 0;
    } else if (ch >= 0x30 && ch <= 0x39) {
      // No leading zeros ("010" is octal to some parsers, so nobody should send it).
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (ch - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else return false;
  }
  if (digits === 0 || part !== 3) return false;
  out[at + 3] = value;
  return true;
}

function hexValue(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  if (ch >= 0x61 && ch <= 0x66) return ch - 0x57;
  if (ch >= 0x41 && ch <= 0x46) return ch - 0x37;
  return -1;
}

function parseV6(b: Uint8Array, from: number, n: number, out: Uint8Array): boolean {
  if (n - from < 2 || n - from > 45) return false;
  const words: number[] = [];
  let gap = -1;
  let i = from;
  if (b[i] === 0x3a && b[i + 1] === 0x3a) { gap = 0; i += 2; if (i === n) return fill(words, gap, out); }
  else if (b[i] === 0x3a) return false;
  for (;;) {
    // One group: hex digits, or a trailing dotted quad.
    const start = i;
    let value = 0;
    while (i < n) {
      const h = hexValue(b[i]!);
      if (h < 0) break;
      value = value * 16 + h;
      i++;
    }
    if (i < n && b[i] === 0x2e) {
      if (words.length > 6) return false;
      const quad = new Uint8Array(4);
      if (!parseV4(b, start, n, quad, 0)) return false;
      words.push((quad[0]! << 8) | quad[1]!, (quad[2]! << 8) | quad[3]!);
      return fill(words, gap, out);
    }
    if (i === start || i - start > 4) return false;
    words.push(value);
    if (words.length > 8) return false;
    if (i === n) return fill(words, gap, out);
    if (b[i] !== 0x3a) return false;
    i++;
    if (i < n && b[i] === 0x3a) {
      if (gap >= 0) return false;
      gap = words.length;
      i++;
      if (i === n) return fill(words, gap, out);
    } else if (i === n) return false;
  }
}

function fill(words: number[], gap: number, out: Uint8Array): boolean {
  if (gap < 0 ? words.length !== 8 : words.length > 7) return false;
  const tail = gap < 0 ? 0 : words.length - gap;
  const head = gap < 0 ? words.length : gap;
  for (let w = 0; w < head; w++) { out[2 * w] = words[w]! >> 8; out[2 * w + 1] = words[w]! & 0xff; }
  for (let w = 0; w < tail; w++) {
    const at = 8 - tail + w;
    out[2 * at] = words[gap + w]! >> 8; out[2 * at + 1] = words[gap + w]! & 0xff;
  }
  return true;
}
