// Flow records to the bytes ClickHouse parses: TabSeparated rows in the column
// order of schema.FLOW_COLUMNS, written straight into a Buffer (IP addresses
// as their 16 raw bytes, escaped where TSV needs it). The same payload goes to
// chDB and to any server version. Encoding validates too: a record that does
// not fit its columns is refused with the field and the value, and the writer
// dead-letters its message.
import type { FlowRecord } from '../../common/flow.js';
import { FLOW_COLUMNS, type ColumnSource } from './schema.js';

const DAY_S = 86_400;
const MAX_DATETIME_S = 4_294_967_295;
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
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (n >= 10) { const q = Math.floor(n / 10); b[--p] = 48 + (n - q * 10); n = q; }
    b[--p] = 48 + n;
  }

  int(n: number): void {
    if (n < 0) { this.buf[this.pos++] = 0x2d; this.uint(-n); } else this.uint(n);
  }

  /** 16 address bytes as a FixedString(16) field (reserve 32). */
  ip(src: Uint8Array, at: number): void {
    const b = this.buf;
    for (let i = at; i < at + 16; i++) {
      const v = src[i]!;
      if (v === TAB) { b[this.pos++] = BACKSLASH; b[this.pos++] = 0x74; }
      else if (v === NL) { b[this.pos++] = BACKSLASH; b[this.pos++] = 0x6e; }
      else if (v === BACKSLASH) { b[this.pos++] = BACKSLASH; b[this.pos++] = BACKSLASH; }
      else b[this.pos++] = v;
    }
  }

  byte(v: number): void { this.buf[this.pos++] = v; }

  /** Pre-escaped bytes (the collector id). */
  raw(bytes: Buffer): void { this.reserve(bytes.length); bytes.copy(this.buf, this.pos); this.pos += bytes.length; }

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

const ipScratch = new Uint8Array(16);

/**
 * Encodes the records of one message (published by `collectorId`), split by
 * UTC day. Throws RecordError naming the record, field and value when one does
 * not fit the schema.
 */
export function encodeMessage(records: readonly FlowRecord[], collectorId: string): EncodedMessage {
  if (typeof collectorId !== 'string') collectorId = '';
  const collector = escapeText(collectorId);
  if (collector.length > MAX_COLLECTOR_BYTES) throw new RecordError(`collector_id is ${collector.length} bytes long, more than ${MAX_COLLECTOR_BYTES}`);
  const byDay = new Map<number, DayEntry>();
  let cur: DayEntry | undefined;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const ts = checkedSeconds(r.timestamp, i, 'timestamp', false);
    const day = Math.floor(ts / DAY_S);
    if (!cur || cur.day !== day) {
      cur = byDay.get(day);
      if (!cur) { cur = { day, out: new Out(Math.max(1024, records.length * 160)), rows: 0, markerTs: ts }; byDay.set(day, cur); }
    }
    cur.out.reserve(ROW_RESERVE + collector.length);
    writeRow(cur.out, r, ts, i, collector);
    cur.rows++;
    if (ts < cur.markerTs) cur.markerTs = ts;
  }
  return { chunks: [...byDay.values()].map((e) => ({ day: e.day, rows: e.rows, markerTs: e.markerTs, data: e.out.take() })) };
}

function writeRow(out: Out, r: FlowRecord, ts: number, index: number, collector: Buffer): void {
  for (let c = 0; c < FLOW_COLUMNS.length; c++) {
    if (c > 0) out.byte(TAB);
    const src: ColumnSource = FLOW_COLUMNS[c]!.source;
    switch (src.kind) {
      case 'seconds': out.uint(ts); break;
      case 'uint': {
        let v = r[src.field] as number;
        if (!Number.isInteger(v) || v < 0 || v > src.max) throw new RecordError(`record ${index}: ${src.field} ${String(v)} is not an integer from 0 to ${src.max}`);
        // 0 means "unknown" for a sampling rate, and unknown counts as unsampled.
        if (v === 0 && src.field === 'sampling_rate') v = 1;
        out.uint(v);
        break;
      }
      case 'ip': {
        const text = r[src.field] as string;
        if (!parseIp(text, ipScratch)) throw new RecordError(`record ${index}: ${src.field} ${JSON.stringify(String(text).slice(0, 64))} is not an IP address`);
        out.ip(ipScratch, 0);
        break;
      }
      case 'offset': {
        const other = checkedSeconds(r[src.field] as number, index, src.field, true);
        out.int(src.field === 'flow_start' ? ts - other : other - ts);
        break;
      }
      case 'collector': out.raw(collector); break;
      case 'seq': out.byte(0x30); break;
    }
  }
  out.byte(NL);
}

function checkedSeconds(ms: number, index: number, field: string, zeroOk: boolean): number {
  if (!Number.isInteger(ms) || ms < (zeroOk ? 0 : 1000) || ms > MAX_DATETIME_S * 1000) {
    throw new RecordError(`record ${index}: ${field} ${String(ms)} is not a time in milliseconds from ${zeroOk ? 0 : 1000} to ${MAX_DATETIME_S * 1000}`);
  }
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
    else if (kind === 'ip') out.ip(zeroIp, 0);
    else if (kind !== 'collector') out.byte(0x30);
  }
  out.byte(NL);
  return out.take();
}

// ---------------------------------------------------------------------------
// IP text to 16 bytes (IPv4 as IPv4-mapped IPv6; "" as all zeros)

/** Parses an IPv4 or IPv6 address into `out` (16 bytes); false when it is neither. */
export function parseIp(text: string, out: Uint8Array): boolean {
  if (typeof text !== 'string') return false;
  out.fill(0);
  if (text.length === 0) return true;
  if (text.length <= 15 && parseV4(text, 0, text.length, out, 12)) {
    out[10] = 0xff; out[11] = 0xff;
    return true;
  }
  return parseV6(text, out);
}

function parseV4(text: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let part = 0, value = 0, digits = 0;
  for (let i = from; i < to; i++) {
    const ch = text.charCodeAt(i);
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

function parseV6(text: string, out: Uint8Array): boolean {
  if (text.length < 2 || text.length > 45) return false;
  const words: number[] = [];
  let gap = -1;
  let i = 0;
  const n = text.length;
  if (text.startsWith('::')) { gap = 0; i = 2; if (i === n) return fill(words, gap, out); }
  else if (text.charCodeAt(0) === 0x3a) return false;
  for (;;) {
    // One group: hex digits, or a trailing dotted quad.
    const start = i;
    let value = 0;
    while (i < n) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      i++;
    }
    if (i < n && text.charCodeAt(i) === 0x2e) {
      if (words.length > 6) return false;
      const quad = new Uint8Array(4);
      if (!parseV4(text, start, n, quad, 0)) return false;
      words.push((quad[0]! << 8) | quad[1]!, (quad[2]! << 8) | quad[3]!);
      return fill(words, gap, out);
    }
    if (i === start || i - start > 4) return false;
    words.push(value);
    if (words.length > 8) return false;
    if (i === n) return fill(words, gap, out);
    if (text.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i < n && text.charCodeAt(i) === 0x3a) {
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
