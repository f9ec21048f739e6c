'use client';
// Small keyboard-reachable controls: segmented choices, selects, the time
// range picker and the filter bar.
import { useState, type FormEvent } from 'react';
import { FILTER_KEYS, filterSpec, parseFilterInput, removeFilter, setFilter, type Filter } from '../lib/filters.js';
import type { Preset, TimeRange } from '../lib/url-state.js';

export function Segmented<T extends string | number>({ label, value, options, onChange }: {
  label: string; value: T; options: readonly { id: T; label: string }[]; onChange: (v: T) => void;
}) {
  return (
    <div className="seg" role="group" aria-label={label}>
      {options.map((o) => (
        <button key={String(o.id)} type="button" className={o.id === value ? 'seg-btn on' : 'seg-btn'} aria-pressed={o.id === value} onClick={() => onChange(o.id)}>
          {o.label}
        </button>
      ))}
    </div>
  );
}

export function Select<T extends string | number>({ label, value, options, onChange, id, disabled }: {
  label: string; value: T; options: readonly { id: T; label: string }[]; onChange: (v: T) => void; id: string; disabled?: boolean;
}) {
  return (
    <label className="field" htmlFor={id}>
      <span className="field-label">{label}</span>
      <select id={id} value={String(value)} disabled={disabled} onChange={(e) => onChange(options.find((o) => String(o.id) === e.target.value)!.id)}>
        {options.map((o) => <option key={String(o.id)} value={String(o.id)}>{o.label}</option>)}
      </select>
    </label>
  );
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A time for an <input type="datetime-local"> or "date", in UTC or the browser's zone. */
function toInput(ms: number, utc: boolean, dateOnly: boolean): string {
  const d = new Date(ms);
  const [y, mo, day, h, mi] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes()];
  const date = `${y}-${pad(mo)}-${pad(day)}`;
  return dateOnly ? date : `${date}T${pad(h)}:${pad(mi)}`;
}

function fromInput(text: string, utc: boolean, dateOnly: boolean): number {
  if (!text) return NaN;
  const full = dateOnly ? `${text}T00:00` : text;
  return utc ? Date.parse(`${full}:00Z`) : new Date(full).getTime();
}

/**
 * Presets plus a custom range. Historical ranges are whole UTC days (the day
 * buckets are UTC days): the end date is included.
 */
export function RangePicker({ presets, range, onChange, utc, dateOnly, defaultSpanMs }: {
  presets: readonly Preset[]; range: TimeRange; onChange: (r: TimeRange) => void; utc: boolean; dateOnly: boolean; defaultSpanMs: number;
}) {
  const custom = !('preset' in range);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const now = Date.now();
  const cur = 'preset' in range ? { start: now - defaultSpanMs, end: now } : range;
  const dayMs = 86_400_000;
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');

  const openCustom = () => {
    setFrom(toInput(cur.start, utc, dateOnly));
    setTo(toInput(dateOnly ? cur.end - 1 : cur.end, utc, dateOnly));
    setError(null);
    setOpen(true);
  };

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const start = fromInput(from, utc, dateOnly);
    const end = fromInput(to, utc, dateOnly) + (dateOnly ? dayMs : 0);
    if (!Number.isFinite(start) || !Number.isFinite(end)) { setError('Enter both ends of the range.'); return; }
    if (start >= end) { setError('The range must end after it starts.'); return; }
    setOpen(false);
    onChange({ start, end });
  };

  return (
    <div className="range">
      <div className="seg" role="group" aria-label="Time range">
        {presets.map((p) => {
          const on = 'preset' in range && range.preset === p.id;
          return <button key={p.id} type="button" className={on ? 'seg-btn on' : 'seg-btn'} aria-pressed={on} onClick={() => { setOpen(false); onChange({ preset: p.id }); }}>{p.label}</button>;
        })}
        <button type="button" className={custom ? 'seg-btn on' : 'seg-btn'} aria-pressed={custom} aria-expanded={open} onClick={() => (open ? setOpen(false) : openCustom())}>
          {custom ? customLabel(range, utc, dateOnly) : 'Custom…'}
        </button>
      </div>
      {open && (
        <form className="popover" onSubmit={apply} aria-label="Custom time range">
          <label className="field"><span className="field-label">From{utc ? ' (UTC)' : ''}</span>
            <input type={dateOnly ? 'date' : 'datetime-local'} value={from} onChange={(e) => setFrom(e.target.value)} required autoFocus />
          </label>
          <label className="field"><span className="field-label">To{utc ? ' (UTC)' : ''}{dateOnly ? ', included' : ''}</span>
            <input type={dateOnly ? 'date' : 'datetime-local'} value={to} onChange={(e) => setTo(e.target.value)} required />
          </label>
          <div className="popover-actions">
            <button type="submit" className="btn btn-primary">Apply</button>
            <button type="button" className="btn" onClick={() => setOpen(false)}>Cancel</button>
          </div>
          {error && <p className="form-error" role="alert">{error}</p>}
        </form>
      )}
    </div>
  );
}

function customLabel(r: { start: number; end: number }, utc: boolean, dateOnly: boolean): string {
  if (dateOnly) return `${toInput(r.start, true, true)} → ${toInput(r.end - 1, true, true)}`;
  return `${toInput(r.start, utc, false).replace('T', ' ')} → ${toInput(r.end, utc, false).replace('T', ' ')}`;
}

/** Active filters as removable chips, and a form to add one. */
export function FilterBar({ filters, onChange }: { filters: Filter[]; onChange: (f: Filter[]) => void }) {
  const [key, setKey] = useState('ip');
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);

  const add = (e: FormEvent) => {
    e.preventDefault();
    const parsed = parseFilterInput(key, text);
    if ('error' in parsed) { setError(parsed.error); return; }
    setError(null);
    setText('');
    onChange(setFilter(filters, key, parsed.values));
  };

  return (
    <div className="filters">
      <form className="filter-add" onSubmit={add} aria-label="Add a filter">
        <select aria-label="Filter field" value={key} onChange={(e) => { setKey(e.target.value); setError(null); }}>
          {FILTER_KEYS.map((k) => <option key={k.key} value={k.key}>{k.label}</option>)}
        </select>
        <input
          type="text" aria-label="Filter value" placeholder={filterSpec(key)?.hint} value={text}
          onChange={(e) => setText(e.target.value)} aria-invalid={error ? true : undefined} aria-describedby={error ? 'filter-error' : undefined}
          spellCheck={false} autoComplete="off"
        />
        <button type="submit" className="btn">Add filter</button>
      </form>
      <ul className="chips" aria-label="Active filters">
        {filters.map((f) => (
          <li key={f.key} className="chip">
            <span className="chip-key">{filterSpec(f.key)?.label ?? f.key}</span>
            <span className="chip-val">{f.values.join(' | ')}</span>
            <button type="button" className="chip-x" aria-label={`Remove filter ${f.key}=${f.values.join('|')}`} onClick={() => onChange(removeFilter(filters, f.key))}>×</button>
          </li>
        ))}
        {filters.length > 1 && <li><button type="button" className="btn btn-link" onClick={() => onChange([])}>Clear all</button></li>}
      </ul>
      {error && <p id="filter-error" className="form-error" role="alert">{error}</p>}
    </div>
  );
}

