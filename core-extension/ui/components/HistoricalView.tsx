'use client';
// Historical Traffic: days and months over weeks of flows, spikes flagged by
// a stated rule, and a result table exported exactly as shown.
import { useMemo } from 'react';
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

export function HistoricalView() {
  const [state, setState] = useUrlState(parseHistorical, serializeHistorical);
  const reqs = useMemo(() => (state ? { requests: requests(state), context: state } : null), [state]);
  const q = useQueries(reqs, 0);

  const update = (patch: Partial<HistoricalState>) => state && setState({ ...state, ...patch });

  // The data changes with the answer only; the spike rule also with k, which applies at once.
  const data = useMemo(() => {
    if (!q.data || !q.context) return null;
    const { daily, table } = q.data;
    // The metric and table dimension the data was asked with, not a change still loading.
    const { metric, table: dimension } = q.context;
    const ts = buildTimeSeries(daily.results, daily.meta, metric, 'protocol');
    const dayTotals = stackTotals(ts);
    const months = monthly(ts, Date.parse(daily.meta.start), Date.parse(daily.meta.end));
    const rows = buildTable(table.results, dimension, null);
    const total = dayTotals.reduce((a, b) => a + b, 0);
    const tableTotalFlows = rows.reduce((a, r) => a + r.flows, 0);
    return { ts, metric, dimension, dayTotals, months, rows, total, tableTotalFlows, monthlyOption: monthlyOption(months, metric), answers: [daily, table] };
  }, [q.data, q.context]);
  const k = state?.k ?? 3;
  const view = useMemo(() => {
    if (!data) return null;
    const rule = spikeRule(data.dayTotals, k);
    const spikes = findSpikes(data.dayTotals, rule);
    return { ...data, rule, spikes, options: { daily: dailyOption(data.ts, data.dayTotals, spikes, rule.threshold, data.metric), monthly: data.monthlyOption } };
  }, [data, k]);

  if (!state) return <Shell view="historical" carry=""><main id="main" className="content"><Skeleton height={320} /></main></Shell>;

  // Headings and formats follow the data on screen, not a change still loading.
  const metric = view?.metric ?? state.metric;
  const dimension = view?.dimension ?? state.table;
  const fmt = (v: number) => formatMetric(metric, v);
  const dim = DIMENSIONS.find((d) => d.id === dimension)!;
  const empty = view !== null && view.tableTotalFlows === 0;

  const download = () => {
    if (!view) return;
    const { header, body } = csvOf(dim.label, view.rows);
    const blob = new Blob([toCsv(header, body)], { type: 'text/csv;charset=utf-8' });
    const range = 'preset' in state.range ? state.range.preset : `${isoTime(state.range.start)}_${isoTime(state.range.end)}`;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = csvFileName([dimension, metric, range]);
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
      <main id="main" className={`content${q.stale && view ? ' is-stale' : ''}`} aria-busy={q.loading}>
        <h1 className="sr-only">Historical Traffic</h1>
        {q.error && <ErrorState error={q.error} onRetry={q.reload} />}
        {!view && !q.error && <div className="grid"><Skeleton height={56} /><Skeleton height={320} /><div className="grid-2"><Skeleton height={240} /><Skeleton height={240} /></div></div>}
        {view && empty && <Empty filtered={state.filters.length > 0} onClearFilters={() => update({ filters: [] })} />}
        {view && !empty && (
          <div className="grid">
            <div className="kpis">
              <Kpi label={`Total ${metric}`} value={fmt(view.total)} title={formatExact(view.total)} />
              <Kpi label="Median day" value={Number.isFinite(view.rule.median) ? fmt(view.rule.median) : '–'} title="The baseline the spike rule uses" />
              <Kpi label="Peak day" value={fmt(Math.max(0, ...view.dayTotals))} />
              <Kpi label="Spike days" value={String(view.spikes.length)} />
            </div>
            <Panel
              title="Daily traffic by protocol"
              actions={<Select id="k" label="Spike rule k" value={state.k} options={SPIKE_K_CHOICES.map((k) => ({ id: k, label: `${k} × MAD` }))} onChange={(k) => update({ k })} />}
              note={<><span className="rule" data-rule={view.rule.method}>{describeRule(view.rule, fmt, 'day')}</span> Days are UTC days.</>}
            >
              <Chart
                name="daily" height={300} option={view.options.daily} total={view.total}
                label={`Daily ${metric} by protocol over ${view.ts.times.length} days, ${view.spikes.length} spike days`}
              />
            </Panel>
            <div className="grid-2 grid-2-wide">
              <Panel title="Monthly traffic by protocol" note={view.months.partial.some(Boolean) ? '* month only partly in the range.' : undefined}>
                <Chart name="monthly" height={240} option={view.options.monthly} label={`Monthly ${metric} by protocol, ${view.months.months.length} months`} />
              </Panel>
              <Panel title="Spikes">
                {view.spikes.length === 0
                  ? <p className="muted pad">No day above the threshold.</p>
                  : (
                    <table className="data" id="spikes">
                      <thead><tr><th scope="col">Day (UTC)</th><th scope="col" className="num">{METRICS.find((m) => m.id === metric)!.label}</th><th scope="col" className="num">× median</th><th scope="col"><span className="sr-only">Open</span></th></tr></thead>
                      <tbody>
                        {view.spikes.map((i) => (
                          <tr key={i}>
                            <td>{formatDay(view.ts.times[i])}</td>
                            <td className="num">{fmt(view.dayTotals[i])}</td>
                            <td className="num">{view.rule.median > 0 ? `${(view.dayTotals[i] / view.rule.median).toFixed(1)}×` : '–'}</td>
                            <td><a className="btn btn-link" href={dayLink(view.ts.times[i])}>Open day</a></td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  )}
              </Panel>
            </div>
            <Panel
              title={`Top ${dim.plural}`}
              actions={<>
                <Select id="table" label="Group by" value={state.table} options={DIMENSIONS} onChange={(table) => update({ table })} />
                <Select id="limit" label="Rows" value={state.limit} options={TABLE_LIMITS.map((n) => ({ id: n, label: String(n) }))} onChange={(limit) => update({ limit })} />
                <button type="button" className="btn btn-primary" onClick={download}>Download CSV</button>
              </>}
              note={`Ordered by ${metric}; share is of all bytes in the range. The CSV holds exactly these rows and columns, with exact values.`}
            >
              <TopTable
                id="results" caption={`Top ${dim.label} by ${metric}`} groupLabel={dim.label} rows={view.rows} mono={MONO.has(dimension)}
                onPick={(r: TableRow) => r.key !== null && update({ filters: addFilterValue(state.filters, dimension, r.key) })}
              />
            </Panel>
          </div>
        )}
      </main>
      <StatusLine answers={view?.answers ?? null} updatedAt={q.updatedAt} loading={q.loading} tz={state.tz} onTz={(tz) => update({ tz })} />
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
