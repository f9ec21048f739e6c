// Structured mutations of fuzz inputs (frames.ts format). They know where a
// NetFlow datagram keeps its lengths, counts, ids, field types and clocks, so
// most mutants get past the header checks and reach the template, data and
// pending paths; a share is plain bit flips and garbage.
import { F } from '../../checker/decoder/fields.js';

export interface MFrame { exporterIndex: number; datagram: Uint8Array }
export type Rand = () => number;

const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;
const put16 = (b: Uint8Array, p: number, v: number) => { b[p] = (v >> 8) & 0xff; b[p + 1] = v & 0xff; };
const put32 = (b: Uint8Array, p: number, v: number) => { put16(b, p, Math.floor(v / 65536) & 0xffff); put16(b, p + 2, v & 0xffff); };

const FIELD_TYPES = [...Object.values(F), 0, 255, 256, 32768, 65535];
const INTERESTING16 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 255, 256, 0x7fff, 0x8000, 0xfffe, 0xffff];

interface Spots { lengths: number[]; types: number[]; ids: number[] }

/** Offsets of the 16-bit fields worth lying in: set lengths, counts and field lengths; field types; set and template ids. */
export function spots(b: Uint8Array): Spots {
  const s: Spots = { lengths: [], types: [], ids: [] };
  if (b.length < 4) return s;
  s.lengths.push(2);
  if (b[1] !== 9 || b.length < 20) return s;
  for (let p = 20; p + 4 <= b.length;) {
    const id = u16(b, p), len = u16(b, p + 2);
    s.ids.push(p); s.lengths.push(p + 2);
    const end = Math.min(p + len, b.length);
    if (id === 0) {
      for (let q = p + 4; q + 4 <= end;) {
        const count = u16(b, q + 2);
        s.ids.push(q); s.lengths.push(q + 2);
        for (let k = 0, f = q + 4; k < count && f + 4 <= end; k++, f += 4) { s.types.push(f); s.lengths.push(f + 2); }
        q += 4 + 4 * count;
      }
    } else if (id === 1 && p + 10 <= end) {
      s.ids.push(p + 4); s.lengths.push(p + 6, p + 8);
      for (let f = p + 10; f + 4 <= end; f += 4) { s.types.push(f); s.lengths.push(f + 2); }
    }
    if (len < 4) break;
    p += len;
  }
  return s;
}

export class Mutator {
  constructor(private readonly rand: Rand, private readonly pool: () => MFrame[]) {}

  private int(n: number): number { return Math.floor(this.rand() * n); }
  private pick<T>(a: readonly T[]): T { return a[this.int(a.length)]!; }

  /** A mutant of `input`: 1 to 4 stacked mutations. */
  mutate(input: readonly MFrame[]): MFrame[] {
    let frames: MFrame[] = input.map((f) => ({ exporterIndex: f.exporterIndex, datagram: new Uint8Array(f.datagram) }));
    if (frames.length === 0) frames = [{ exporterIndex: 0, datagram: new Uint8Array(0) }];
    for (let k = 1 + this.int(4); k > 0; k--) frames = this.once(frames);
    // Inputs stay small: a fuzz run is about many inputs, not long ones. No datagram passes UDP's 64 KB.
    while (frames.length > 24) frames.splice(this.int(frames.length), 1);
    for (const f of frames) if (f.datagram.length > 0xffff) f.datagram = f.datagram.subarray(0, 0xffff);
    return frames;
  }

  /** A v9 datagram led by a template set of one template of many fields (up to the datagram's 64 KB), the rest after it. */
  private inflate(b: Uint8Array): Uint8Array {
    if (b.length < 20 || b[1] !== 9) return b;
    const n = this.pick([255, 256, 257, 1000, 16_000, this.int(16_000)]);
    const out = new Uint8Array(Math.min(0xffff, b.length + 8 + 4 * n));
    out.set(b.subarray(0, 20));
    const setLen = Math.min(out.length - 20, 8 + 4 * n);
    put16(out, 20, 0); put16(out, 22, setLen); put16(out, 24, 256 + this.int(8)); put16(out, 26, (setLen - 8) / 4);
    const variable = this.rand() < 0.5;
    for (let p = 28; p + 4 <= 20 + setLen; p += 4) { put16(out, p, this.pick(FIELD_TYPES)); put16(out, p + 2, variable ? 65535 : 1 + this.int(8)); }
    out.set(b.subarray(20, Math.max(20, out.length - setLen)), 20 + setLen);
    return out;
  }

  private once(frames: MFrame[]): MFrame[] {
    const i = this.int(frames.length);
    const f = frames[i]!;
    const b = f.datagram;
    const sp = spots(b);
    switch (this.int(15)) {
      case 0: for (let n = 1 + this.int(4); n > 0 && b.length > 0; n--) b[this.int(b.length)]! ^= 1 << this.int(8); break;
      case 1: if (b.length > 0) b[this.int(b.length)] = this.pick([0, 1, 0x7f, 0x80, 0xff, this.int(256)]); break;
      case 2: case 3: if (sp.lengths.length > 0) {
        const p = this.pick(sp.lengths);
        const old = u16(b, p);
        put16(b, p, this.rand() < 0.5 ? this.pick(INTERESTING16) : (old + this.pick([-4, -2, -1, 1, 2, 4, 65535 - old])) & 0xffff);
      } break;
      case 4: if (sp.types.length > 0) put16(b, this.pick(sp.types), this.pick(FIELD_TYPES)); break;
      case 5: if (sp.ids.length > 0) put16(b, this.pick(sp.ids), this.pick([0, 1, 2, 255, 256, 257, 300, 0xffff, u16(b, sp.ids[0]!)])); break;
      case 6: if (b.length >= 20) { // header: sequence, uptime, export time or source id
        const at = this.pick([4, 8, 12, 16]);
        put32(b, at, this.rand() < 0.5 ? this.pick([0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) : ((b[at]! << 24 >>> 0) + this.int(1 << 24)) >>> 0);
      } break;
      case 7: frames[i] = { ...f, datagram: b.subarray(0, this.int(b.length + 1)) }; break;
      case 8: { // splice with the tail of another datagram
        const other = this.pick(this.pool()).datagram;
        const cut = this.int(b.length + 1), from = this.int(other.length + 1);
        const s = new Uint8Array(cut + other.length - from); s.set(b.subarray(0, cut)); s.set(other.subarray(from), cut);
        frames[i] = { ...f, datagram: s };
        break;
      }
      case 9: frames.splice(this.int(frames.length + 1), 0, { ...this.pick(this.pool()) }); break;
      case 10: frames.splice(this.int(frames.length + 1), 0, { exporterIndex: f.exporterIndex, datagram: new Uint8Array(b) }); break;
      case 11: { const j = this.int(frames.length); [frames[i], frames[j]] = [frames[j]!, frames[i]!]; break; }
      case 12: if (frames.length > 1) frames.splice(i, 1); else f.exporterIndex = this.int(256); break;
      // Rare: big datagrams are slow to decode, and the point is many inputs.
      case 14: if (this.rand() < 0.2) frames[i] = { ...f, datagram: this.inflate(b) }; break;
      default: { // garbage, half of it behind a NetFlow version
        const g = Uint8Array.from({ length: this.int(1500) }, () => this.int(256));
        if (g.length >= 2 && this.rand() < 0.5) { g[0] = 0; g[1] = this.pick([5, 9]); }
        frames[i] = { ...f, datagram: g };
      }
    }
    return frames;
  }
}
