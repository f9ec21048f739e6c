// What the decoder remembers per exporter: templates scoped by (source id,
// template id), and per source id the clock (to notice restarts), the
// sequence tracker and the sampling rates announced in options data.
// Everything is capped; the oldest entry makes room for a new one.
import type { RecordReader } from './compile.js';
import { SequenceTracker } from './sequence.js';
import type { TemplateField } from './fields.js';
import type { OptionsTemplateDef } from './templates.js';

export type Template =
  | { kind: 'data'; fields: readonly TemplateField[]; reader: RecordReader }
  | { kind: 'options'; fields: readonly TemplateField[]; def: OptionsTemplateDef; minLength: number };

/** A data set kept until its template arrives (pitfall: data before template). */
export interface PendingSet {
  sourceId: number;
  templateId: number;
  data: Uint8Array;
  headerMs: number;
  uptime: number;
  receivedMs: number;
}

export const enum Clock { Same, Restarted, Stale }

// Header clocks of one incarnation agree within this: unix_secs has 1 s steps and
// datagrams queue a little in the exporter.
const CLOCK_SLACK_MS = 10_000;
const UPTIME_WRAP_MS = 2 ** 32;
const MAX_SAMPLERS = 256;

export class SourceState {
  readonly seq: SequenceTracker;
  restarts = 0;
  /** Rate for the whole source id from options data without a sampler id; 0 = none announced. */
  rate = 0;
  samplers: Map<number, number> | null = null;
  private bootMs = NaN;
  private previousBootMs = NaN;
  private lastUptime = 0;

  constructor(readonly id: number, readonly version: number) {
    // v5 counts flows (up to 30 a datagram), v9 counts datagrams.
    this.seq = version === 5 ? new SequenceTracker(30_000, 3_000_000) : new SequenceTracker(1_000, 100_000);
  }

  /**
   * Classifies a datagram by the boot time its header implies (export time - sysUptime).
   * A later boot time with a smaller uptime is a restart: templates learned before it are stale.
   * The boot time of the incarnation before the last restart marks a late datagram from it.
   * A boot time that moves without either is the exporter's clock being set.
   */
  clock(headerMs: number, uptime: number): Clock {
    const boot = headerMs - uptime;
    const near = (other: number) => { const d = boot - other; return Math.abs(d) <= CLOCK_SLACK_MS || Math.abs(d - UPTIME_WRAP_MS) <= CLOCK_SLACK_MS; };
    let verdict = Clock.Same;
    if (Number.isNaN(this.bootMs) || near(this.bootMs)) verdict = Clock.Same;
    else if (near(this.previousBootMs)) return Clock.Stale;
    else if (boot > this.bootMs && uptime < this.lastUptime) {
      verdict = Clock.Restarted;
      this.restarts++;
      this.previousBootMs = this.bootMs;
    }
    this.bootMs = boot;
    this.lastUptime = uptime;
    return verdict;
  }

  setSampler(id: number, rate: number): void {
    this.samplers ??= new Map();
    if (!this.samplers.has(id) && this.samplers.size >= MAX_SAMPLERS) this.samplers.delete(this.samplers.keys().next().value!);
    this.samplers.set(id, rate);
  }
}

export interface Limits { maxTemplates: number; maxSources: number }

export class ExporterState {
  readonly templates = new Map<number, Template>();
  readonly sources = new Map<number, SourceState>();
  readonly pending: PendingSet[] = [];
  templatesEvicted = 0;
  /** Fields of all templates held: what the templates cost in memory. */
  fieldCount = 0;

  constructor(readonly defaultRate: number, private readonly limits: Limits) {}

  /**
   * One sequence per (source id, version): an exporter sending both v5 and v9
   * (a migration, or two processes on one box) has two unrelated counters.
   */
  source(id: number, version: number): SourceState {
    const key = version === 5 ? id + 2 ** 32 : id;
    let s = this.sources.get(key);
    if (s === undefined) {
      if (this.sources.size >= this.limits.maxSources) this.sources.delete(this.sources.keys().next().value!);
      s = new SourceState(id, version);
      this.sources.set(key, s);
    }
    return s;
  }

  template(sourceId: number, id: number): Template | undefined {
    return this.templates.get(sourceId * 65536 + id);
  }

  /** Stores a definition; the newest one for (source id, template id) wins. */
  setTemplate(sourceId: number, id: number, t: Template): void {
    const key = sourceId * 65536 + id;
    const old = this.templates.get(key);
    if (old !== undefined) this.drop(key, old);
    else if (this.templates.size >= this.limits.maxTemplates) {
      const [oldest, t0] = this.templates.entries().next().value!;
      this.drop(oldest, t0);
      this.templatesEvicted++;
    }
    this.templates.set(key, t);
    this.fieldCount += t.fields.length;
  }

  /** Forgets the templates of a source id that restarted. */
  forgetSource(sourceId: number): void {
    for (const [key, t] of this.templates) if (Math.floor(key / 65536) === sourceId) this.drop(key, t);
  }

  private drop(key: number, t: Template): void {
    this.templates.delete(key);
    this.fieldCount -= t.fields.length;
  }
}
