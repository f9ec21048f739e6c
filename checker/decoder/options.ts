// Options data records: the decoder only needs the sampling configuration they
// announce (RFC 3954 section 6.2; the IPFIX ids of RFC 5477 that v9 exporters also send).
import { F, VARIABLE_LENGTH, type TemplateField } from './fields.js';
import type { OptionsTemplateDef } from './templates.js';

export interface Sampling {
  /** Sampler id the rate belongs to; undefined for a rate of the whole (exporter, source id). */
  samplerId: number | undefined;
  /** 1 in `rate` packets; 0 when the record announces no rate. */
  rate: number;
}

function uint(b: Uint8Array, p: number, len: number): number {
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + b[p + i]!;
  return v;
}

/** Skips (scope) or reads (options) one field; returns the offset after it, or -1 past `end`. */
function fieldEnd(b: Uint8Array, p: number, f: TemplateField, end: number): [start: number, next: number] {
  if (f.length !== VARIABLE_LENGTH) return [p, p + f.length];
  if (p >= end) return [p, -1];
  let n = b[p]!;
  let start = p + 1;
  if (n === 255) {
    if (p + 3 > end) return [p, -1];
    n = (b[p + 1]! << 8) | b[p + 2]!;
    start = p + 3;
  }
  return [start, start + n];
}

/**
 * Reads the options record at b[o] into `out`; returns the offset after it, or -1 when it passes `end`.
 * The rate comes from an interval (34, or 50 for a sampler), packet interval + packet space
 * (305/306: select `interval` of every `interval + space`), or size/population (309/310).
 */
export function readSamplingRecord(b: Uint8Array, o: number, end: number, t: OptionsTemplateDef, out: Sampling): number {
  let p = o;
  for (const f of t.scope) {
    p = fieldEnd(b, p, f, end)[1];
    if (p < 0 || p > end) return -1;
  }
  let interval = 0, packetInterval = 0, packetSpace = 0, size = 0, population = 0;
  let samplerId: number | undefined;
  for (const f of t.options) {
    const [start, next] = fieldEnd(b, p, f, end);
    if (next < 0 || next > end) return -1;
    const len = next - start;
    if (len >= 1 && len <= 8) {
      switch (f.type) {
        case F.SAMPLING_INTERVAL: case F.FLOW_SAMPLER_RANDOM_INTERVAL: interval = uint(b, start, len); break;
        case F.FLOW_SAMPLER_ID: case F.SELECTOR_ID: samplerId = uint(b, start, len); break;
        case F.SAMPLING_PACKET_INTERVAL: packetInterval = uint(b, start, len); break;
        case F.SAMPLING_PACKET_SPACE: packetSpace = uint(b, start, len); break;
        case F.SAMPLING_SIZE: size = uint(b, start, len); break;
        case F.SAMPLING_POPULATION: population = uint(b, start, len); break;
      }
    }
    p = next;
  }
  let rate = 0;
  if (interval > 0) rate = interval;
  else if (packetInterval > 0) rate = Math.round((packetInterval + packetSpace) / packetInterval);
  else if (size > 0 && population >= size) rate = Math.round(population / size);
  out.samplerId = samplerId;
  out.rate = rate > 0xffffffff ? 0 : rate;
  return p;
}
