'use client';
// Panels, the loading / empty / error states, the top-N table and the status line.
import type { ReactNode } from 'react';
import type { FlowResponse } from '../lib/api-types.js';
import type { TableRow } from '../lib/series.js';
import { formatBytes, formatCount, formatExact, formatShare } from '../lib/units.js';
import type { ApiError } from './api.js';

export function Panel({ title, actions, children, className, note }: { title: string; actions?: ReactNode; children: ReactNode; className?: string; note?: ReactNode }) {
  return (
    <section className={`panel ${className ?? ''}`} aria-label={title}>
      <header className="panel-head">
        <h2>{title}</h2>
        {actions && <div className="panel-actions">{actions}</div>}
      </header>
      <div className="panel-body">{children}</div>
      {note && <footer className="panel-note">{note}</footer>}
    </section>
  );
}

export function Skeleton({ height }: { height: number }) {
  return <div className="skeleton" style={{ height }} aria-hidden="true" />;
}

export function Loading({ what }: { what: string }) {
  return <div className="state" role="status"><span className="spinner" aria-hidden="true" />Loading {what}…</div>;
}

export function Empty({ filtered, onClearFilters }: { filtered: boolean; onClearFilters: () => void }) {
  return (
    <div className="state state-empty" role="status">
      <p className="state-title">No flows in this range: is an exporter sending to port 2055?</p>
      {filtered
        ? <p>The filters may exclude everything. <button type="button" className="btn btn-link" onClick={onClearFilters}>Clear the filters</button> or widen the range.</p>
        : <p>Point a router&apos;s NetFlow v5/v9 export at this collector (UDP 2055), or pick a wider range.</p>}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: ApiError; onRetry: () => void }) {
  // The API may already start its reason with the parameter's name; say it once.
  const reason = error.parameter && error.message.startsWith(`${error.parameter}: `) ? error.message.slice(error.parameter.length + 2) : error.message;
  const what = error.status === 400 && error.parameter ? `The query was refused (${error.parameter}): ${reason}` :
    error.status === 0 ? `Cannot reach the core service: ${error.message}` : `The query failed (HTTP ${error.status}): ${error.message}`;
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">{what}</p>
      <button type="button" className="btn" onClick={onRetry}>Try again</button>
    </div>
  );
}

export interface Column { id: string; label: string; numeric?: boolean }

/**
 * The top-N table: the group, bytes, packets, flows, an optional rate, and the
 * share of all traffic. Each cell carries its exact value in data-value (what
 * the CSV holds); a group can be added as a filter.
 */
export function TopTable({ caption, groupLabel, rows, rate, onPick, mono, id }: {
  caption: string; groupLabel: string; rows: TableRow[]; mono: boolean; id: string;
  rate?: { label: string; format: (v: number) => string };
  onPick?: (r: TableRow) => void;
}) {
  return (
    <div className="table-wrap">
      <table className="data" id={id}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col" className="num rank">#</th>
            <th scope="col">{groupLabel}</th>
            <th scope="col" className="num">Bytes</th>
            <th scope="col" className="num">Packets</th>
            <th scope="col" className="num">Flows</th>
            {rate && <th scope="col" className="num">{rate.label}</th>}
            <th scope="col" className="share-col">Share</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={r.key ?? `other-${i}`} className={r.other ? 'row-other' : undefined}>
              <td className="num rank">{r.other ? '' : i + 1}</td>
              <td data-value={r.label} className={mono && !r.other ? 'mono' : undefined}>
                {onPick && r.key !== null
                  ? <button type="button" className="cell-link" title={`Filter on ${r.label}`} onClick={() => onPick(r)}>{r.label}</button>
                  : r.label}
              </td>
              <td className="num" data-value={r.bytes} title={`${formatExact(r.bytes)} bytes`}>{formatBytes(r.bytes)}</td>
              <td className="num" data-value={r.packets} title={`${formatExact(r.packets)} packets`}>{formatCount(r.packets)}</td>
              <td className="num" data-value={r.flows} title={`${formatExact(r.flows)} flows`}>{formatCount(r.flows)}</td>
              {rate && <td className="num" data-value={r.rate}>{rate.format(r.rate)}</td>}
              <td className="share-col" data-value={shareValue(r.share)}>
                <span className="share"><span className="share-bar" style={{ width: `${Math.min(100, r.share * 100)}%` }} /></span>
                <span className="share-num">{formatShare(r.share)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Share as a percentage with 4 decimals: what the table's data-value and the CSV carry. */
export function shareValue(share: number): number {
  return Math.round(share * 1e6) / 1e4;
}

const BACKEND_NAMES: Record<string, string> = { clickhouse: 'ClickHouse (hot tier)', iceberg: 'Iceberg (cold tier)', 'iceberg+clickhouse': 'Iceberg + ClickHouse' };

/** The discreet footer: which tier answered, how fast, when, and in which time zone times are shown. */
export function StatusLine({ answers, updatedAt, loading, tz, onTz }: {
  answers: FlowResponse[] | null; updatedAt: number | null; loading: boolean; tz: 'local' | 'utc'; onTz: (tz: 'local' | 'utc') => void;
}) {
  const backends = answers ? [...new Set(answers.map((a) => a.meta.backend))] : [];
  const slowest = answers ? Math.max(...answers.map((a) => a.meta.elapsed_ms)) : null;
  const rowsRead = answers ? answers.reduce((s, a) => s + (a.meta.rows_read ?? 0), 0) : null;
  const zone = tz === 'utc' ? 'UTC' : localZone();
  return (
    <footer className="status" aria-label="Query status">
      <span className="status-item" aria-live="polite">
        {loading ? <><span className="spinner small" aria-hidden="true" /> updating…</> : updatedAt ? <>Updated <time dateTime={new Date(updatedAt).toISOString()}>{clock(updatedAt, tz)}</time></> : null}
      </span>
      {backends.length > 0 && <span className="status-item" data-backend={backends.join(',')} title={answers?.map((a) => a.meta.tables.join(', ')).join(' · ')}>answered by {backends.map((b) => BACKEND_NAMES[b] ?? b).join(', ')}</span>}
      {slowest !== null && <span className="status-item">{slowest.toFixed(0)} ms</span>}
      {rowsRead !== null && rowsRead > 0 && <span className="status-item">{formatCount(rowsRead)} rows read</span>}
      <span className="status-item status-tz">
        Times in <button type="button" className="btn btn-link" onClick={() => onTz(tz === 'utc' ? 'local' : 'utc')} title="Switch between UTC and this browser's time zone">{zone}</button>
      </span>
    </footer>
  );
}

export function localZone(): string {
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (name === 'UTC' || name === 'Etc/UTC') return 'UTC (this browser)';
  const offset = -new Date().getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const h = String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0');
  const m = String(Math.abs(offset) % 60).padStart(2, '0');
  return `${name} (UTC${sign}${h}:${m})`;
}

export function clock(ms: number, tz: 'local' | 'utc'): string {
  return new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone: tz === 'utc' ? 'UTC' : undefined }).format(ms);
}

export function Kpi({ label, value, title }: { label: string; value: string; title?: string }) {
  return <div className="kpi" title={title}><div className="kpi-label">{label}</div><div className="kpi-value">{value}</div></div>;
}
