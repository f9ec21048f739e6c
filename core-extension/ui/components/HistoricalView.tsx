'use client';
// Historical Traffic: days and months over weeks of flows, spikes flagged by
// a stated rule, and a result table exported exactly as shown.
import { useMemo } from 'react';
import type { FlowResponse } from '../lib/api-types.js';
import { csvFileName, toCsv } from '../lib/csv.js';
import { addFilterValue } from '../lib/filters.js';
import { buildTable, buildTimeSeries, monthly, stackTotals, type TableRow } from '../lib/series.js';
import { describeRule, findSpikes, spikeRule } from '../lib/spikes.js';
import { formatMetric, formatExact } from '../lib/units.js';
import {
  DIMENSIONS, HISTORICAL_PRESETS, SPIKE_K_CHOICES, TABLE_LIMITS, apiParams, carryOver, isoTime, parseHistorical, serializeHistorical,
  serializeRealtime, REALTIME_DEFAULTS, type HistoricalState,
} from '../lib/url-state.js';
import { Chart } from './Chart.js';
import { dailyOption, formatDay, monthlyOption } from './chart-options.js';
import { FilterBar, RangePicker, Segmented, Select } from './controls.js';
import { prefetch } from './api.js';
import { useQueries, useUrlState, type Request } from './hooks.js';
import { Empty, ErrorState, Kpi, Panel, Skeleton, StatusLine, TopTable, shareValue } from './parts.js';
import { Shell } from './Shell.js';

const DAY_MS = 86_400_000;
/** Protocols drawn per day; the rest is folded into "other" by the API. */
const PROTOCOL_LIMIT = 6;
const METRICS = [{ id: 'bytes', label: 'Bytes' }, { id: 'packets', label: 'Packets' }, { id: 'flows', label: 'Flows' }] as const;
const MONO = new Set(['src_ip', 'dst_ip', 'exporter']);

function requests(s: HistoricalState): Record<'daily' | 'table', Request> {
  return {
    daily: { path: '/api/netflow', params: apiParams(s.range, s.filters, { group_by: ['time', 'protocol'], interval: '1d', metric: s.metric, limit: PROTOCOL_LIMIT }) },
    table: { path: '/api/netflow', params: apiParams(s.range, s.filters, { group_by: [s.table], metric: s.metric, limit: s.limit }) },
  };
}

// The first answers are asked for as soon as this code loads, not after the page has
// hydrated: the daily chart's first, the table's (a top-N over every group) once it is in.
if (typeof window !== 'undefined' && location.pathname.startsWith('/historical')) {
  const { daily, table } = requests(parseHistorical(location.search));
  prefetch(table.path, table.params, prefetch(daily.path, daily.params));
}

export function HistoricalView() {
  const [state, setState] = useUrlState(parseHistorical, serializeHistorical);
  const reqs = useMemo(() => (state ? { requests: requests(state), context: state } : null), [state]);
  const q = useQueries(reqs, 0);

  const update = (patch: Partial<HistoricalState>) => state && setState({ ...state, ...patch });

  // Each part is built from its own answer, read with the settings it was
  // asked with; the spike rule also follows k, which needs no request.
  const { daily, table } = q.answers;
  const days = useMemo(() => {
    if (!daily) return null;
    const { metric } = daily.context;
    const ts = buildTimeSeries(daily.body.results, daily.body.meta, metric, 'protocol');
    const dayTotals = stackTotals(ts);
    const months = monthly(ts, Date.parse(daily.body.meta.start), Date.parse(daily.body.meta.end));
    return { ts, metric, dayTotals, months, total: dayTotals.reduce((a, b) => a + b, 0), monthlyChart: monthlyOption(months, metric) };
  }, [daily]);
  const k = state?.k ?? 3;
  const spikes = useMemo(() => {
    if (!days) return null;
    const rule = spikeRule(days.dayTotals, k);
    const found = findSpikes(days.dayTotals, rule);
    return { rule, found, dailyChart: dailyOption(days.ts, days.dayTotals, found, rule.threshold, days.metric) };
  }, [days, k]);
  const result = useMemo(() => {
    if (!table) return null;
    const rows = buildTable(table.body.results, table.context.table, null);
    return { rows, metric: table.context.metric, dimension: table.context.table, flows: rows.reduce((a, r) => a + r.flows, 0) };
  }, [table]);

  if (!state) return <Shell view="historical" carry=""><main id="main" className="content"><Skeleton height={320} /></main></Shell>;

  const metric = days?.metric ?? state.metric;
  const fmt = (v: number) => formatMetric(metric, v);
  const dim = DIMENSIONS.find((d) => d.id === (result?.dimension ?? state.table))!;
  const empty = result !== null && result.flows === 0 && !q.stale.table;
  const answered = Object.values(q.answers).map((a) => (a as { body: FlowResponse }).body);
  const dimmed = (stale: boolean) => (stale ? 'is-stale' : undefined);

  const download = () => {
    if (!result) return;
    const { header, body } = csvOf(dim.label, result.rows);
    const blob = new Blob([toCsv(header, body)], { type: 'text/csv;charset=utf-8' });
    const range = 'preset' in state.range ? state.range.preset : `${isoTime(state.range.start)}_${isoTime(state.range.end)}`;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = csvFileName([result.dimension, result.metric, range]);
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };

  /** A spike day opened in the real-time view (its charts and top talkers), filters kept. */
  const dayLink = (t: number) => `/${serializeRealtime({ ...REALTIME_DEFAULTS, range: { start: t, end: t + DAY_MS }, filters: state.filters, tz: 'utc', refresh: 0 })}`;

  return (
    <Shell view="historical" carry={carryOver(state, 'realtime')}>
      <div className="toolbar">
        <RangePicker presets={HISTORICAL_PRESETS} range={state.range} onChange={(range) => update({ range })} utc dateOnly defaultSpanMs={30 * DAY_MS} />
        <FilterBar filters={state.filters} onChange={(filters) => update({ filters })} />
        <div className="toolbar-end">
          <Segmented label="Metric" value={state.metric} options={METRICS} onChange={(metric) => update({ metric })} />
          <button type="button" className="btn" onClick={q.reload} disabled={q.loading}>Refresh</button>
        </div>
      </div>
      <main id="main" className="content" aria-busy={q.loading}>
        <h1 className="sr-only">Historical Traffic</h1>
        {q.error && <ErrorState error={q.error} onRetry={q.reload} />}
        {empty && <Empty filtered={state.filters.length > 0} onClearFilters={() => update({ filters: [] })} />}
        {!empty && !(q.error && answered.length === 0) && (
          <div className="grid">
            <div className={`kpis ${dimmed(q.stale.daily) ?? ''}`}>
              <Kpi label={`Total ${metric}`} value={days ? fmt(days.total) : '…'} title={days ? formatExact(days.total) : undefined} />
              <Kpi label="Median day" value={spikes && Number.isFinite(spikes.rule.median) ? fmt(spikes.rule.median) : '–'} title="The baseline the spike rule uses" />
              <Kpi label="Peak day" value={days ? fmt(Math.max(0, ...days.dayTotals)) : '…'} />
              <Kpi label="Spike days" value={spikes ? String(spikes.found.length) : '…'} />
            </div>
            <Panel
              title="Daily traffic by protocol" className={dimmed(q.stale.daily)}
              actions={<Select id="k" label="Spike rule k" value={state.k} options={SPIKE_K_CHOICES.map((k) => ({ id: k, label: `${k} × MAD` }))} onChange={(k) => update({ k })} />}
              note={spikes ? <><span className="rule" data-rule={spikes.rule.method}>{describeRule(spikes.rule, fmt, 'day')}</span> Days are UTC days.</> : 'Days are UTC days.'}
            >
              {days && spikes ? (
                <Chart
                  name="daily" height={300} option={spikes.dailyChart} total={days.total}
                  label={`Daily ${metric} by protocol over ${days.ts.times.length} days, ${spikes.found.length} spike days`}
                />
              ) : <Skeleton height={300} />}
            </Panel>
            <div className="grid-2 grid-2-wide">
              <Panel title="Monthly traffic by protocol" className={dimmed(q.stale.daily)} note={days?.months.partial.some(Boolean) ? '* month only partly in the range.' : undefined}>
                {days ? <Chart name="monthly" height={240} option={days.monthlyChart} label={`Monthly ${metric} by protocol, ${days.months.months.length} months`} /> : <Skeleton height={240} />}
              </Panel>
              <Panel title="Spikes" className={dimmed(q.stale.daily)}>
                {!days || !spikes ? <Skeleton height={120} />
                  : spikes.found.length === 0
                    ? <p className="muted pad">No day above the threshold.</p>
                    : (
                      <table className="data" id="spikes">
                        <thead><tr><th scope="col">Day (UTC)</th><th scope="col" className="num">{METRICS.find((m) => m.id === metric)!.label}</th><th scope="col" className="num">× median</th><th scope="col"><span className="sr-only">Open</span></th></tr></thead>
                        <tbody>
                          {spikes.found.map((i) => (
                            <tr key={i}>
                              <td>{formatDay(days.ts.times[i])}</td>
                              <td className="num">{fmt(days.dayTotals[i])}</td>
                              <td className="num">{spikes.rule.median > 0 ? `${(days.dayTotals[i] / spikes.rule.median).toFixed(1)}×` : '–'}</td>
                              <td><a className="btn btn-link" href={dayLink(days.ts.times[i])}>Open day</a></td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    )}
              </Panel>
            </div>
            <Panel
              title={`Top ${dim.plural}`} className={dimmed(q.stale.table)}
              actions={<>
                <Select id="table" label="Group by" value={state.table} options={DIMENSIONS} onChange={(t) => update({ table: t })} />
                <Select id="limit" label="Rows" value={state.limit} options={TABLE_LIMITS.map((n) => ({ id: n, label: String(n) }))} onChange={(limit) => update({ limit })} />
                <button type="button" className="btn btn-primary" onClick={download} disabled={!result || q.stale.table}>Download CSV</button>
              </>}
              note={`Ordered by ${result?.metric ?? state.metric}; share is of all bytes in the range. The CSV holds exactly these rows and columns, with exact values.`}
            >
              {result ? (
                <TopTable
                  id="results" caption={`Top ${dim.label} by ${result.metric}`} groupLabel={dim.label} rows={result.rows} mono={MONO.has(result.dimension)}
                  onPick={(r: TableRow) => r.key !== null && update({ filters: addFilterValue(state.filters, result.dimension, r.key) })}
                />
              ) : <Skeleton height={200} />}
            </Panel>
          </div>
        )}
      </main>
      <StatusLine answers={answered.length ? answered : null} updatedAt={q.updatedAt} loading={q.loading} tz={state.tz} onTz={(tz) => update({ tz })} />
    </Shell>
  );
}

/** The CSV of the table as shown: same rows, same columns, exact numbers. */
export function csvOf(groupLabel: string, rows: TableRow[]): { header: string[]; body: (string | number)[][] } {
  return {
    header: [groupLabel, 'Bytes', 'Packets', 'Flows', 'Share %'],
    body: rows.map((r) => [r.label, r.bytes, r.packets, r.flows, shareValue(r.share)]),
  };
}
