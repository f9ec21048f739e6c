// NetFlow v5 and v9 datagrams -> FlowRecords. One decoder holds the template
// and sequence state of every exporter it hears; it never throws, and every
// datagram, record and problem is counted in stats().
import type { FlowRecord } from '../../common/flow.js';
import { compileTemplate, newContext, V5_LAYOUT, type DecodeContext, type RecordReader } from './compile.js';
import { readSamplingRecord, type Sampling } from './options.js';
import type { SequenceStats } from './sequence.js';
import { Clock, ExporterState, type PendingSet, type SourceState, type Template } from './state.js';
import { allZero, layoutKey, minRecordLength, parseOptionsTemplateSet, parseTemplateSet, sameFields } from './templates.js';

export interface DecoderOptions {
  /** Templates kept per exporter (all source ids together); the oldest gives way. Default 512. */
  maxTemplatesPerExporter?: number;
  /** Data sets held per exporter while their template is unknown. Default 256. */
  pendingPerExporter?: number;
  /** How long a held data set waits for its template. Default 60 s. */
  pendingTtlMs?: number;
  /** Sampling rate to assume for an exporter that announces none (asked once per exporter). */
  defaultSamplingRate?: (exporter: string) => number | undefined;
  /** Exporters remembered; the least recently heard gives way. Default 4096. */
  maxExporters?: number;
  /** Source ids remembered per exporter. Default 256. */
  maxSourcesPerExporter?: number;
  /** Bytes held in data sets waiting for templates, all exporters together. Default 16 MiB. */
  maxPendingBytes?: number;
  /** Template fields held, all exporters together (what bounds template memory, ~100 bytes a field);
   *  past it the least recently heard exporters give way. Default 1,000,000. */
  maxTemplateFields?: number;
}

/** What can be wrong with a datagram. Each is counted once per occurrence. */
export const ERROR_KINDS = [
  'short_datagram',      // shorter than its header
  'unsupported_version', // not NetFlow v5 or v9
  'v5_bad_count',        // v5 record count 0 or above 30
  'v5_truncated',        // fewer bytes than the v5 record count says
  'set_length',          // a v9 set shorter than its header or running past the datagram: the rest is dropped
  'bad_template',        // a template that cannot describe a record, or runs past its set
  'template_mismatch',   // a data set whose length does not fit its template: the set is dropped
  'stale_packet',        // sent before the exporter restarted; its templates are gone
  'internal',            // a decoder bug; the datagram is dropped
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** Sequence tracking of one (exporter, source id). */
export interface SequenceGap extends SequenceStats { exporter: string; sourceId: number; version: number; restarts: number }
export interface DecoderStats {
  /** Datagrams given to decode(). */
  packets: number;
  /** Datagrams in which something was wrong (all or part of them dropped). */
  packets_malformed: number;
  /** Records returned. */
  flows: number;
  errors: Record<ErrorKind, number>;
  /** Templates (data and options) known, per exporter address. */
  templates: Record<string, number>;
  templates_learned: number;
  /** Templates forgotten to stay within maxTemplatesPerExporter. */
  templates_evicted: number;
  /** Fields of all templates held (bounded by maxTemplateFields). */
  template_fields: number;
  /** Per (exporter, source id): gaps, estimated loss, reordering, restarts. */
  sequenceGaps: SequenceGap[];
  /** Data sets waiting for their template now, and the bytes they hold. */
  pending: number;
  pending_bytes: number;
  /** Waiting data sets decoded when their template came, given up after pendingTtlMs, or refused for want of room. */
  pending_decoded: number;
  pending_expired: number;
  pending_dropped: number;
  exporters_evicted: number;
}

const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;
const u32 = (b: Uint8Array, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

const V5_HEADER = 24, V5_RECORD = 48, V5_MAX_COUNT = 30;
const V9_HEADER = 20;
const MAX_LAYOUTS = 1024;
const v5Reader = compileTemplate(V5_LAYOUT)!;

export class NetFlowDecoder {
  private readonly maxTemplates: number;
  private readonly maxPending: number;
  private readonly pendingTtlMs: number;
  private readonly maxExporters: number;
  private readonly maxSources: number;
  private readonly maxPendingBytes: number;
  private readonly maxTemplateFields: number;
  private readonly defaultRate: (exporter: string) => number | undefined;

  private readonly exporters = new Map<string, ExporterState>();
  /** Compiled readers by layout, shared by every exporter that uses the layout. */
  private readonly layouts = new Map<string, RecordReader | null>();
  private readonly x: DecodeContext = newContext();
  private readonly sampling: Sampling = { samplerId: undefined, rate: 0 };
  /** (set id, start, end) of each set in the datagram being decoded. */
  private sets = new Int32Array(3 * 64);

  private packets = 0;
  private malformedPackets = 0;
  private flows = 0;
  private readonly errors = Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as Record<ErrorKind, number>;
  private malformed = false;
  private templatesLearned = 0;
  private exportersEvicted = 0;
  private evictedWithExporters = 0;
  private readonly pendingCounts = { decoded: 0, expired: 0, dropped: 0 };
  private pendingBytes = 0;
  private templateFields = 0;
  private readonly withPending = new Set<ExporterState>();
  private nextSweepMs = 0;

  constructor(opts: DecoderOptions = {}) {
    this.maxTemplates = opts.maxTemplatesPerExporter ?? 512;
    this.maxPending = opts.pendingPerExporter ?? 256;
    this.pendingTtlMs = opts.pendingTtlMs ?? 60_000;
    this.maxExporters = opts.maxExporters ?? 4096;
    this.maxSources = opts.maxSourcesPerExporter ?? 256;
    this.maxPendingBytes = opts.maxPendingBytes ?? 16 * 1024 * 1024;
    this.maxTemplateFields = opts.maxTemplateFields ?? 1_000_000;
    this.defaultRate = opts.defaultSamplingRate ?? (() => undefined);
  }

  /** Never throws: malformed input is counted in stats() and dropped. May also return records of
   *  earlier datagrams that waited for this datagram's template. */
  decode(datagram: Uint8Array, exporter: string, receivedMs: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    this.packets++;
    this.malformed = false;
    try {
      if (receivedMs >= this.nextSweepMs) this.expirePending(receivedMs);
      const version = datagram.length >= 2 ? u16(datagram, 0) : -1;
      if (datagram.length < 4) this.fail('short_datagram');
      else if (version === 9) this.v9(datagram, exporter, receivedMs, out);
      else if (version === 5) this.v5(datagram, exporter, receivedMs, out);
      else this.fail('unsupported_version');
    } catch {
      this.fail('internal');
      out.length = 0;
    }
    if (this.malformed) this.malformedPackets++;
    this.flows += out.length;
    return out;
  }

  stats(): DecoderStats {
    const templates: Record<string, number> = {};
    const sequenceGaps: SequenceGap[] = [];
    let evicted = 0, pending = 0;
    for (const [exporter, e] of this.exporters) {
      templates[exporter] = e.templates.size;
      for (const s of e.sources.values()) sequenceGaps.push({ exporter, sourceId: s.id, version: s.version, ...s.seq.stats, restarts: s.restarts });
      evicted += e.templatesEvicted;
      pending += e.pending.length;
    }
    return {
      packets: this.packets,
      packets_malformed: this.malformedPackets,
      flows: this.flows,
      errors: { ...this.errors },
      templates,
      templates_learned: this.templatesLearned,
      templates_evicted: evicted + this.evictedWithExporters,
      template_fields: this.templateFields,
      sequenceGaps,
      pending,
      pending_bytes: this.pendingBytes,
      pending_decoded: this.pendingCounts.decoded,
      pending_expired: this.pendingCounts.expired,
      pending_dropped: this.pendingCounts.dropped,
      exporters_evicted: this.exportersEvicted,
    };
  }

  private fail(kind: ErrorKind): void {
    this.errors[kind]++;
    this.malformed = true;
  }

  private exporter(address: string): ExporterState {
    let e = this.exporters.get(address);
    if (e !== undefined) {
      // Keep the map in least-recently-heard order once eviction is near.
      if (this.exporters.size > this.maxExporters / 2 || this.templateFields > this.maxTemplateFields / 2) { this.exporters.delete(address); this.exporters.set(address, e); }
      return e;
    }
    if (this.exporters.size >= this.maxExporters) this.evictOldest();

    const rate = this.defaultRate(address);
    e = new ExporterState(rate !== undefined && rate >= 1 ? Math.floor(rate) : 1, { maxTemplates: this.maxTemplates, maxSources: this.maxSources });
    this.exporters.set(address, e);
    return e;
  }

  /** Forgets the least recently heard exporter. */
  private evictOldest(): void {
    const [oldAddr, old] = this.exporters.entries().next().value!;
    this.dropPending(old, () => true, 'dropped');
    this.exporters.delete(oldAddr);
    this.exportersEvicted++;
    this.evictedWithExporters += old.templatesEvicted;
    this.templateFields -= old.fieldCount;
  }

  /** Stores a template within the memory bound: other exporters give way, least recently heard first. */
  private setTemplate(e: ExporterState, sourceId: number, id: number, t: Template): void {
    const before = e.fieldCount;
    e.setTemplate(sourceId, id, t);
    this.templateFields += e.fieldCount - before;
    while (this.templateFields > this.maxTemplateFields && this.exporters.size > 1 && this.exporters.values().next().value !== e) this.evictOldest();
  }

  private v5(b: Uint8Array, exporter: string, receivedMs: number, out: FlowRecord[]): void {
    if (b.length < V5_HEADER) return this.fail('short_datagram');
    const count = u16(b, 2);
    if (count === 0 || count > V5_MAX_COUNT) return this.fail('v5_bad_count');
    if (b.length < V5_HEADER + count * V5_RECORD) return this.fail('v5_truncated');
    const uptime = u32(b, 4);
    const headerMs = u32(b, 8) * 1000 + Math.floor(u32(b, 12) / 1e6);
    const sourceId = (b[20]! << 8) | b[21]!;
    // Top 2 bits: sampling mode; low 14 bits: the interval.
    const interval = u16(b, 22) & 0x3fff;
    const e = this.exporter(exporter);
    const src = e.source(sourceId, 5);
    const clock = src.clock(headerMs, uptime);
    if (clock === Clock.Restarted) src.seq.reset();
    if (clock !== Clock.Stale) src.seq.observe(u32(b, 16), count);
    const x = this.x;
    x.exporter = exporter; x.sourceId = sourceId; x.version = 5;
    x.headerMs = headerMs; x.uptime = uptime; x.receivedMs = receivedMs;
    x.rate = interval > 0 ? interval : e.defaultRate;
    x.samplers = null;
    for (let i = 0, o = V5_HEADER; i < count; i++, o += V5_RECORD) out.push(v5Reader.read(b, o, x)!);
  }

  private v9(b: Uint8Array, exporter: string, receivedMs: number, out: FlowRecord[]): void {
    const n = b.length;
    if (n < V9_HEADER) return this.fail('short_datagram');
    const uptime = u32(b, 4);
    const headerMs = u32(b, 8) * 1000;
    const sourceId = u32(b, 16);
    const e = this.exporter(exporter);
    const src = e.source(sourceId, 9);
    const clock = src.clock(headerMs, uptime);
    if (clock === Clock.Stale) return this.fail('stale_packet');
    if (clock === Clock.Restarted) {
      const before = e.fieldCount;
      e.forgetSource(sourceId);
      this.templateFields += e.fieldCount - before;
      this.dropPending(e, (p) => p.sourceId === sourceId, 'dropped');
      src.seq.reset();
    }
    src.seq.observe(u32(b, 12), 1);

    // Pass 1: find the sets and learn every template, wherever it sits in the datagram.
    let sets = 0;
    let learned = false;
    for (let p = V9_HEADER; p + 4 <= n;) {
      const id = u16(b, p);
      const len = u16(b, p + 2);
      if (len < 4 || p + len > n) {
        // Zeros to the end are padding after the last set; anything else is a broken set.
        if (!allZero(b, p, n)) this.fail('set_length');
        break;
      }
      if (id === 0) learned = this.learnTemplates(b, p + 4, p + len, e, sourceId) || learned;
      else if (id === 1) learned = this.learnOptionsTemplates(b, p + 4, p + len, e, sourceId) || learned;
      else if (id >= 256) {
        if (3 * sets + 3 > this.sets.length) { const grown = new Int32Array(this.sets.length * 2); grown.set(this.sets); this.sets = grown; }
        this.sets[3 * sets] = id; this.sets[3 * sets + 1] = p + 4; this.sets[3 * sets + 2] = p + len;
        sets++;
      }
      p += len;
    }

    // Pass 2: options data first, so the sampling rates they announce apply to this datagram's flows.
    for (let i = 0; i < sets; i++) {
      const t = e.template(sourceId, this.sets[3 * i]!);
      if (t !== undefined && t.kind === 'options') this.readOptions(b, this.sets[3 * i + 1]!, this.sets[3 * i + 2]!, t, src);
    }
    const x = this.x;
    x.exporter = exporter; x.sourceId = sourceId; x.version = 9;
    x.headerMs = headerMs; x.uptime = uptime; x.receivedMs = receivedMs;
    x.rate = src.rate > 0 ? src.rate : e.defaultRate;
    x.samplers = src.samplers;
    // Pass 3: flow data; sets whose template is unknown wait for it.
    for (let i = 0; i < sets; i++) {
      const id = this.sets[3 * i]!, start = this.sets[3 * i + 1]!, end = this.sets[3 * i + 2]!;
      const t = e.template(sourceId, id);
      if (t === undefined) this.hold(e, { sourceId, templateId: id, data: new Uint8Array(b.subarray(start, end)), headerMs, uptime, receivedMs });
      else if (t.kind === 'data') this.readRecords(b, start, end, t.reader, out);
    }
    if (learned && e.pending.length > 0) this.releasePending(e, exporter, out);
  }

  /** The records of one data set; nothing from it when its length does not fit the template. */
  private readRecords(b: Uint8Array, start: number, end: number, r: RecordReader, out: FlowRecord[]): void {
    const x = this.x;
    const before = out.length;
    let p = start;
    if (r.fixedLength > 0) {
      const len = r.fixedLength;
      // Up to 3 bytes of padding may follow the last record; more than that, unless zeros, means the
      // set was not written with this template (a stale or foreign definition).
      const rest = (end - start) % len;
      if (rest >= 4 && !allZero(b, end - rest, end)) return this.fail('template_mismatch');
      // Records of nothing but zeros at the end are padding too (some exporters pad beyond 3 bytes).
      let stop = end - rest;
      while (stop - len >= start && allZero(b, stop - len, stop)) stop -= len;
      for (; p < stop; p += len) out.push(r.read(b, p, x)!);
      return;
    }
    x.end = end;
    while (p + r.minLength <= end) {
      const rec = r.read(b, p, x);
      if (rec === null) { out.length = before; return this.fail('template_mismatch'); }
      out.push(rec);
      p = x.next;
    }
    if (end - p >= 4 && !allZero(b, p, end)) { out.length = before; this.fail('template_mismatch'); }
  }

  private readOptions(b: Uint8Array, start: number, end: number, t: Extract<Template, { kind: 'options' }>, src: SourceState): void {
    const s = this.sampling;
    for (let p = start; p + t.minLength <= end;) {
      const next = readSamplingRecord(b, p, end, t.def, s);
      if (next < 0) return this.fail('template_mismatch');
      if (s.rate > 0) {
        if (s.samplerId === undefined) src.rate = s.rate;
        else src.setSampler(s.samplerId, s.rate);
      }
      p = next;
    }
  }

  private learnTemplates(b: Uint8Array, start: number, end: number, e: ExporterState, sourceId: number): boolean {
    const { defs, malformed } = parseTemplateSet(b, start, end);
    if (malformed) this.fail('bad_template');
    for (const d of defs) {
      const old = e.template(sourceId, d.id);
      // Exporters resend their templates every few packets; an unchanged one costs nothing.
      if (old !== undefined && old.kind === 'data' && sameFields(old.fields, d.fields)) continue;
      const reader = this.reader(d.fields);
      if (reader === null) { this.fail('bad_template'); continue; }
      this.setTemplate(e, sourceId, d.id, { kind: 'data', fields: d.fields, reader });
      this.templatesLearned++;
    }
    return defs.length > 0;
  }

  private learnOptionsTemplates(b: Uint8Array, start: number, end: number, e: ExporterState, sourceId: number): boolean {
    const { defs, malformed } = parseOptionsTemplateSet(b, start, end);
    if (malformed) this.fail('bad_template');
    for (const d of defs) {
      const fields = [...d.scope, ...d.options];
      const old = e.template(sourceId, d.id);
      if (old !== undefined && old.kind === 'options' && sameFields(old.fields, fields) && old.def.scope.length === d.scope.length) continue;
      const minLength = minRecordLength(fields);
      if (minLength === 0) { this.fail('bad_template'); continue; }
      this.setTemplate(e, sourceId, d.id, { kind: 'options', fields, def: d, minLength });
      this.templatesLearned++;
    }
    return defs.length > 0;
  }

  private reader(fields: readonly { type: number; length: number }[]): RecordReader | null {
    const key = layoutKey(fields);
    let r = this.layouts.get(key);
    if (r === undefined) {
      r = compileTemplate(fields);
      if (this.layouts.size >= MAX_LAYOUTS) this.layouts.delete(this.layouts.keys().next().value!);
      this.layouts.set(key, r);
    }
    return r;
  }

  private hold(e: ExporterState, p: PendingSet): void {
    if (e.pending.length >= this.maxPending || this.pendingBytes + p.data.length > this.maxPendingBytes) {
      this.pendingCounts.dropped++;
      return;
    }
    e.pending.push(p);
    this.pendingBytes += p.data.length;
    this.withPending.add(e);
  }

  /** Decodes the held sets whose template is now known. */
  private releasePending(e: ExporterState, exporter: string, out: FlowRecord[]): void {
    const x = this.x;
    const waiting: PendingSet[] = [];
    for (const p of e.pending) {
      const t = e.template(p.sourceId, p.templateId);
      if (t === undefined) { waiting.push(p); continue; }
      this.pendingBytes -= p.data.length;
      this.pendingCounts.decoded++;
      const src = e.source(p.sourceId, 9);
      if (t.kind === 'options') { this.readOptions(p.data, 0, p.data.length, t, src); continue; }
      x.exporter = exporter; x.sourceId = p.sourceId; x.version = 9;
      x.headerMs = p.headerMs; x.uptime = p.uptime; x.receivedMs = p.receivedMs;
      x.rate = src.rate > 0 ? src.rate : e.defaultRate;
      x.samplers = src.samplers;
      this.readRecords(p.data, 0, p.data.length, t.reader, out);
    }
    e.pending.length = 0;
    e.pending.push(...waiting);
    if (waiting.length === 0) this.withPending.delete(e);
  }

  private dropPending(e: ExporterState, which: (p: PendingSet) => boolean, as: 'dropped' | 'expired'): void {
    if (e.pending.length === 0) return;
    const keep = e.pending.filter((p) => {
      if (!which(p)) return true;
      this.pendingBytes -= p.data.length;
      this.pendingCounts[as]++;
      return false;
    });
    e.pending.length = 0;
    e.pending.push(...keep);
    if (keep.length === 0) this.withPending.delete(e);
  }

  private expirePending(nowMs: number): void {
    this.nextSweepMs = nowMs + Math.min(1000, this.pendingTtlMs);
    const cutoff = nowMs - this.pendingTtlMs;
    for (const e of [...this.withPending]) this.dropPending(e, (p) => p.receivedMs < cutoff, 'expired');
  }
}
