// A stream message's columns made ready for the Parquet stage, once, when the
// pull loop hands the message over: every value is checked against what the
// table can hold (a message that fails is dead-lettered with the reason), and
// each address string is replaced by an id in a table of distinct strings.
//
// Strings are interned by their bytes, straight from the message buffer: most
// addresses repeat (clients, popular servers, the exporters), so each distinct
// one is validated as UTF-8 and decoded to a JavaScript string once, not once
// per record.
import type { FlowColumns, StringColumn } from '../../common/flow.js';
import { RECORD_FIELDS, timeProblem, TIME_LIMITS_MS } from '../../common/flow.js';
import { COLUMNS, type Column } from './schema.js';

export const STRING_COLUMNS: readonly Column[] = COLUMNS.filter((c) => c.type === 'string');

const PROTO_TYPE = new Map<string, string>(RECORD_FIELDS.map((f) => [f.name, f.type]));
/** The 64-bit columns: decoded as doubles, which are exact only below 2^53; the times are held to what both tiers store. */
const WIDE_COLUMNS = COLUMNS.filter((c) => c.type !== 'string' && PROTO_TYPE.get(c.name) !== 'uint32');
type TimeField = keyof typeof TIME_LIMITS_MS;

/** What the stage needs of one message: its columns and the ids of its strings. */
export interface PreparedFlows {
  flows: FlowColumns;
  /** The table the ids index (a writer starts a new one now and then, so an old one stays valid). */
  strings: StringTable;
  /** Per STRING_COLUMNS entry, the id of each row's string. */
  ids: Uint32Array[];
}

/**
 * Distinct strings by their UTF-8 bytes: open addressing on an FNV-1a hash,
 * keys kept back to back in one byte array.
 */
export class StringTable {
  readonly values: string[] = [];
  private keys = new Uint8Array(1 << 16);
  private keysUsed = 0;
  /** Key of id i: keys[offsets[i] .. offsets[i + 1]). */
  private offsets = new Uint32Array(1 << 12);
  private hashes = new Int32Array(1 << 12);
  /** id + 1 per slot; 0 is empty. */
  private slots = new Int32Array(1 << 13);
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  get size(): number { return this.values.length; }
  get keyBytes(): number { return this.keysUsed; }

  /** The UTF-8 bytes of id `id`. */
  bytesOf(id: number): Uint8Array {
    return this.keys.subarray(this.offsets[id]!, this.offsets[id + 1]!);
  }

  /** The id of data[start..end); throws when the bytes are not UTF-8. */
  intern(data: Uint8Array, start: number, end: number): number {
    // Kept a signed 32-bit integer throughout, so it never becomes a double.
    let h = 0x811c9dc5 | 0;
    for (let p = start; p < end; p++) h = Math.imul(h ^ data[p]!, 0x01000193);
    // Fields read once into locals: this is the hottest loop of the cold tier.
    const { slots, hashes, offsets, keys } = this;
    const mask = slots.length - 1;
    const length = end - start;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const entry = slots[s]!;
      if (entry === 0) return this.add(data, start, end, h, s);
      const id = entry - 1;
      if (hashes[id] !== h) continue;
      const from = offsets[id]!;
      if (offsets[id + 1]! - from !== length) continue;
      let i = 0;
      while (i < length && keys[from + i] === data[start + i]) i++;
      if (i === length) return id;
    }
  }

  private add(data: Uint8Array, start: number, end: number, hash: number, slot: number): number {
    const bytes = data.subarray(start, end);
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      throw new Error(`string ${JSON.stringify(Buffer.from(bytes).toString('latin1').slice(0, 64))} is not UTF-8`);
    }
    const id = this.values.length;
    this.values.push(text);
    if (id + 2 > this.offsets.length) {
      this.offsets = grow(this.offsets, this.offsets.length * 2);
      this.hashes = grow(this.hashes, this.hashes.length * 2);
    }
    if (this.keysUsed + bytes.length > this.keys.length) this.keys = grow(this.keys, Math.max(this.keys.length * 2, this.keysUsed + bytes.length));
    this.keys.set(bytes, this.keysUsed);
    this.keysUsed += bytes.length;
    this.offsets[id] = this.keysUsed - bytes.length;
    this.offsets[id + 1] = this.keysUsed;
    this.hashes[id] = hash;
    this.slots[slot] = id + 1;
    // At most half full, so probes stay short.
    if (2 * this.values.length > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.values.length; id++) {
      let s = this.hashes[id]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = id + 1;
    }
    this.slots = slots;
  }
}

function grow<T extends Uint8Array | Uint32Array | Int32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/**
 * The string tables a writer interns into: a table only grows, so past a
 * size a fresh one is started (messages prepared earlier keep theirs).
 */
export class Interner {
  private table = new StringTable();
  constructor(private readonly maxStrings = 1 << 20, private readonly maxBytes = 64 << 20) {}

  current(): StringTable {
    if (this.table.size >= this.maxStrings || this.table.keyBytes >= this.maxBytes) this.table = new StringTable();
    return this.table;
  }
}

function sameBytes(data: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  while (a < aEnd && data[a] === data[b]) { a++; b++; }
  return a === aEnd;
}

/**
 * Checks one message's values and interns its strings; throws (naming the
 * record and field) when a value cannot be stored exactly.
 */
export function prepareFlows(flows: FlowColumns, interner: Interner): PreparedFlows {
  for (const c of WIDE_COLUMNS) {
    const values = flows[c.name] as Float64Array;
    const time = TIME_LIMITS_MS[c.name as TimeField] as { min: number; max: number } | undefined;
    const lo = time ? time.min : -Number.MAX_SAFE_INTEGER, hi = time ? time.max : Number.MAX_SAFE_INTEGER;
    // One scan for the range; the record is looked for only when something is out of it.
    let min = Infinity, max = -Infinity;
    for (let i = 0; i < values.length; i++) { const v = values[i]!; if (v < min) min = v; if (v > max) max = v; }
    if (min < lo || max > hi) {
      const i = values.findIndex((v) => v < lo || v > hi);
      throw new Error(time ? timeProblem(c.name as TimeField, values[i]!, i)! : `record ${i}: ${c.name} ${values[i]} is out of range (at most ${hi} in magnitude)`);
    }
  }
  const strings = interner.current();
  const ids = STRING_COLUMNS.map((c) => {
    const col = flows[c.name] as StringColumn;
    const out = new Uint32Array(flows.rows);
    const { data, start, end } = col;
    let i = 0;
    try {
      for (; i < flows.rows; i++) {
        // A run of one value (a datagram's exporter and next hop) is hashed once.
        if (i > 0 && sameBytes(data, start[i - 1]!, end[i - 1]!, start[i]!, end[i]!)) out[i] = out[i - 1]!;
        else out[i] = strings.intern(data, start[i]!, end[i]!);
      }
    } catch (err) {
      throw new Error(`record ${i}: ${c.name}: ${(err as Error).message}`);
    }
    return out;
  });
  return { flows, strings, ids };
}
