// What the decoder must never do with any input: throw, hit its own 'internal'
// counter (it catches its bugs and counts them), return a record that is not of
// its proto types, lose count of a datagram or a flow, or hold more than its
// caps. Throws an Error naming the broken invariant. (Hangs and memory growth
// are watched by run.ts.)
import { RECORD_FIELDS, type FlowRecord } from '../../common/flow.js';
import { MAX_TEMPLATE_FIELDS } from '../../checker/decoder/templates.js';
import { FUZZ_LIMITS, replay } from './frames.js';

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`decoder invariant broken: ${what}`);
}

function checkRecord(r: FlowRecord): void {
  for (const f of RECORD_FIELDS) {
    const v = r[f.name];
    if (f.type === 'string') { check(typeof v === 'string', `${f.name} is a string`); continue; }
    check(typeof v === 'number' && Number.isInteger(v), `${f.name} = ${String(v)} is an integer`);
    if (f.type === 'uint32') check((v as number) >= 0 && (v as number) <= 0xffffffff, `${f.name} = ${String(v)} fits uint32`);
    if (f.type === 'uint64') check((v as number) >= 0, `${f.name} = ${String(v)} is not negative`);
  }
}

export function checkInput(data: Uint8Array): ReturnType<typeof replay> {
  const { decoder, frames, records } = replay(data);
  const s = decoder.stats();
  check(s.errors.internal === 0, 'no internal error');
  check(s.packets === frames, `${s.packets} datagrams counted of ${frames}`);
  check(s.flows === records.length, `${s.flows} flows counted of ${records.length} returned`);
  check(s.packets_malformed <= s.packets, 'malformed <= datagrams');
  check(Object.keys(s.templates).length <= FUZZ_LIMITS.maxExporters!, 'exporter cap');
  for (const n of Object.values(s.templates)) check(n <= FUZZ_LIMITS.maxTemplatesPerExporter!, 'template cap');
  check(s.pending <= FUZZ_LIMITS.maxExporters! * FUZZ_LIMITS.pendingPerExporter!, 'pending cap');
  // The exporter being heard may go past the budget alone (the others give way first).
  check(s.template_fields >= 0 && s.template_fields <= FUZZ_LIMITS.maxTemplateFields! + FUZZ_LIMITS.maxTemplatesPerExporter! * MAX_TEMPLATE_FIELDS, `template fields ${s.template_fields} within cap`);
  check(s.pending_bytes >= 0 && s.pending_bytes <= FUZZ_LIMITS.maxPendingBytes!, `pending bytes ${s.pending_bytes} within cap`);
  for (const r of records) checkRecord(r);
  return { decoder, frames, records };
}
