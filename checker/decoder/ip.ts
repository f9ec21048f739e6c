// IP address bytes <-> text. Formatting is on the hot path (two addresses per
// flow), so it works on the datagram bytes directly.

const OCTET: string[] = Array.from({ length: 256 }, (_, i) => String(i));
const OCTET_DOT: string[] = OCTET.map((s) => s + '.');

// Addresses repeat a lot in flow data. Keeping the text of recent ones saves building a string
// per record and, more, the flattening the encoder does on each concatenated one. A fixed-size
// direct-mapped table: constant memory, and a miss costs no more than having no cache.
const SLOTS = 1 << 16;
const slotKeys = new Int32Array(SLOTS);
const slotText = new Array<string | undefined>(SLOTS).fill(undefined);

/** Dotted quad of the 4 bytes at b[o]. */
export function ip4(b: Uint8Array, o: number): string {
  const key = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  const slot = Math.imul(key, 0x9e3779b1) >>> 16;
  let s = slotText[slot];
  if (s !== undefined && slotKeys[slot] === key) return s;
  s = OCTET_DOT[b[o]!]! + OCTET_DOT[b[o + 1]!]! + OCTET_DOT[b[o + 2]!]! + OCTET[b[o + 3]!]!;
  slotKeys[slot] = key;
  slotText[slot] = s;
  return s;
}

/** True when any of the 16 bytes at b[o] is not zero. */
export function nonZero16(b: Uint8Array, o: number): boolean {
  let v = 0;
  for (let i = 0; i < 16; i++) v |= b[o + i]!;
  return v !== 0;
}

const V6_SLOTS = 1 << 12;
const v6Keys = new Int32Array(4 * V6_SLOTS);
const v6Text = new Array<string | undefined>(V6_SLOTS).fill(undefined);

/** RFC 5952 text of the 16 bytes at b[o]: lower case, longest zero run as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function ip6(b: Uint8Array, o: number): string {
  const w0 = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  const w1 = (b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!;
  const w2 = (b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!;
  const w3 = (b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!;
  let h = Math.imul(w0, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w2, 0xc2b2ae35) ^ Math.imul(w3, 0x27d4eb2f);
  h ^= h >>> 15;
  const slot = Math.imul(h, 0x2c1b3c6d) >>> 20;
  const k = 4 * slot;
  let s = v6Text[slot];
  if (s !== undefined && v6Keys[k] === w0 && v6Keys[k + 1] === w1 && v6Keys[k + 2] === w2 && v6Keys[k + 3] === w3) return s;
  s = formatIp6(b, o);
  v6Keys[k] = w0; v6Keys[k + 1] = w1; v6Keys[k + 2] = w2; v6Keys[k + 3] = w3;
  v6Text[slot] = s;
  return s;
}

// Text is assembled as bytes and turned into one flat string at the end (faster than ~15 concatenations).
const text = Buffer.alloc(64);
const HEX_DIGIT = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

function formatIp6(b: Uint8Array, o: number): string {
  let mapped = b[o + 10] === 0xff && b[o + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[o + i] !== 0) mapped = false;
  if (mapped) return '::ffff:' + OCTET_DOT[b[o + 12]!]! + OCTET_DOT[b[o + 13]!]! + OCTET_DOT[b[o + 14]!]! + OCTET[b[o + 15]!]!;
  // Longest run of two or more zero groups; the first one on a tie.
  let bestAt = -1, bestLen = 1, runAt = -1;
  for (let i = 0; i <= 8; i++) {
    const zero = i < 8 && b[o + 2 * i] === 0 && b[o + 2 * i + 1] === 0;
    if (zero) { if (runAt < 0) runAt = i; continue; }
    if (runAt >= 0 && i - runAt > bestLen) { bestAt = runAt; bestLen = i - runAt; }
    runAt = -1;
  }
  let n = 0;
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      text[n++] = 58; text[n++] = 58; // "::"
      i += bestLen - 1;
      continue;
    }
    if (n > 0 && text[n - 1] !== 58) text[n++] = 58;
    const v = (b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!;
    // Hex digits without leading zeros.
    for (let shift = v > 0xfff ? 12 : v > 0xff ? 8 : v > 0xf ? 4 : 0; shift >= 0; shift -= 4) text[n++] = HEX_DIGIT[(v >> shift) & 15]!;
  }
  return text.toString('latin1', 0, n);
}

/** Bytes of an IPv4 or IPv6 address in text form; throws on anything else. */
export function parseIp(text: string): Uint8Array {
  const v4 = parseIp4(text);
  if (v4) return v4;
  const v6 = parseIp6(text);
  if (v6) return v6;
  throw new Error(`not an IP address: ${JSON.stringify(text)}`);
}

function parseIp4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i]!)) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIp6(text: string): Uint8Array | null {
  let s = text;
  let tail: Uint8Array | null = null;
  // A trailing dotted quad stands for the last two groups.
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
    tail = parseIp4(s.slice(lastColon + 1));
    if (!tail) return null;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i]!)) return null;
    const v = parseInt(all[i]!, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}
