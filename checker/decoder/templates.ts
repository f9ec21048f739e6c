// Parsing of v9 template sets (id 0) and options template sets (id 1):
// bytes -> template definitions. Storing them is state.ts's job.
import { VARIABLE_LENGTH, type TemplateField } from './fields.js';

export interface DataTemplateDef { id: number; fields: TemplateField[] }
export interface OptionsTemplateDef { id: number; scope: TemplateField[]; options: TemplateField[] }
export interface Parsed<T> { defs: T[]; malformed: boolean }

/**
 * Far more fields than exporters send, and few enough that one template costs little to compile
 * and keep (a 64 KB datagram could otherwise define one of 16,000 fields: ~20 ms and ~1 MB each).
 */
export const MAX_TEMPLATE_FIELDS = 256;

const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;

export function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function readFields(b: Uint8Array, p: number, count: number): TemplateField[] {
  const out = new Array<TemplateField>(count);
  for (let i = 0; i < count; i++) out[i] = { type: u16(b, p + 4 * i), length: u16(b, p + 4 * i + 2) };
  return out;
}

/** Templates in the set body b[p, e). Zero bytes after the last one are padding; anything else malformed ends the set. */
export function parseTemplateSet(b: Uint8Array, p: number, e: number): Parsed<DataTemplateDef> {
  const defs: DataTemplateDef[] = [];
  let malformed = false;
  while (p + 4 <= e) {
    const id = u16(b, p);
    const count = u16(b, p + 2);
    if (id < 256) return { defs, malformed: malformed || !allZero(b, p, e) };
    const next = p + 4 + 4 * count;
    if (next > e) return { defs, malformed: true };
    // Skipped whole: its length is sound, so the templates after it can still be read.
    if (count > MAX_TEMPLATE_FIELDS) { malformed = true; p = next; continue; }
    defs.push({ id, fields: readFields(b, p + 4, count) });
    p = next;
  }
  return { defs, malformed };
}

/** Options templates in the set body b[p, e) (RFC 3954 section 6.1: scope and option lengths are in bytes). */
export function parseOptionsTemplateSet(b: Uint8Array, p: number, e: number): Parsed<OptionsTemplateDef> {
  const defs: OptionsTemplateDef[] = [];
  let malformed = false;
  while (p + 6 <= e) {
    const id = u16(b, p);
    const scopeBytes = u16(b, p + 2);
    const optionBytes = u16(b, p + 4);
    if (id < 256) return { defs, malformed: malformed || !allZero(b, p, e) };
    const next = p + 6 + scopeBytes + optionBytes;
    if (scopeBytes % 4 !== 0 || optionBytes % 4 !== 0 || next > e) return { defs, malformed: true };
    if ((scopeBytes + optionBytes) / 4 > MAX_TEMPLATE_FIELDS) { malformed = true; p = next; continue; }
    defs.push({ id, scope: readFields(b, p + 6, scopeBytes / 4), options: readFields(b, p + 6 + scopeBytes, optionBytes / 4) });
    p = next;
  }
  return { defs, malformed };
}

/** Shortest record a list of fields can describe (a variable-length field takes at least its 1-byte length). */
export function minRecordLength(fields: readonly TemplateField[]): number {
  let n = 0;
  for (const f of fields) n += f.length === VARIABLE_LENGTH ? 1 : f.length;
  return n;
}

export function sameFields(a: readonly TemplateField[], b: readonly TemplateField[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.type !== b[i]!.type || a[i]!.length !== b[i]!.length) return false;
  return true;
}

/** A key naming a layout, for sharing compiled readers between exporters that use the same one. */
export function layoutKey(fields: readonly TemplateField[]): string {
  let k = '';
  for (const f of fields) k += f.type.toString(36) + ':' + f.length.toString(36) + ',';
  return k;
}
