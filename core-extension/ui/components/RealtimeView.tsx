'use client';
// Real-Time Traffic: who is using the network right now.
import { useMemo } from 'react';
import { addFilterValue, type Filter } from '../lib/filters.js';
import { buildTable, buildTimeSeries, stackTotals, type TableRow } from '../lib/series.js';
import { formatBitRate, formatBytes, formatCount, formatExact, formatPacketRate } from '../lib/units.js';
import { DIMENSIONS, REALTIME_PRESETS, REFRESH_CHOICES, apiParams, carryOver, parseRealtime, serializeRealtime, type RealtimeState } from '../lib/url-state.js';
import { Chart } from './Chart.js';
import { topBarsOption, trafficOption } from './chart-options.js';
import { FilterBar, RangePicker, Segmented, Select } from './controls.js';
import { useQueries, useUrlState, type Request } from './hooks.js';
import { Empty, ErrorState, Kpi, Panel, Skeleton, StatusLine, TopTable } from './parts.js';
import { Shell } from './Shell.js';

const SPLITS = [{ id: '', label: 'Total' }, ...DIMENSIONS];
const REFRESH_LABELS = REFRESH_CHOICES.map((s) => ({ id: s, label: s === 0 ? 'Off' : s < 60 ? `${s} s` : `${s / 60} min` }));
/** Series drawn when splitting; the rest is folded into "other" by the API. */
const SPLIT_LIMIT = 8;
const TALKERS = 25;
const BARS = 10;

function requests(s: RealtimeState): Record<'series' | 'sources' | 'ports', Request> {
  const q = (group_by: string[], limit?: number): Request => ({ path: '/api/netflow', params: apiParams(s.range, s.filters, { group_by, metric: s.metric, limit }) });
  return {
    series: q(s.split ? ['time', s.split] : ['time'], s.split ? SPLIT_LIMIT : undefined),
    sources: q(['src_ip'], TALKERS),
    ports: q(['dst_port'], BARS),
  };
}

export function RealtimeView() {
  const [state, setState] = useUrlState(parseRealtime, serializeRealtime);
  const reqs = useMemo(() => (state ? { requests: requests(state), context: state } : null), [state]);
  // A fixed (custom) range does not move: refreshing it would only repeat the answer.
  const q = useQueries(reqs, state && 'preset' in state.range ? state.refresh : 0);

  const update = (patch: Partial<RealtimeState>) => state && setState({ ...state, ...patch });
  const addFilter = (key: string, value: string) => state && setState({ ...state, filters: addFilterValue(state.filters, key, value) });

  // Data-derived values change with the answer only; the drawing options also
  // with how it is drawn (chart type, time zone). A pending change redraws nothing.
  const data = useMemo(() => {
    if (!q.data || !q.context) return null;
    const { series, sources, ports } = q.data;
    // What the data was asked with (metric, split) comes from its own context, not from a change still loading.
    const { metric: rate, split } = q.context;
    const ts = buildTimeSeries(series.results, series.meta, rate, split || null);
    const talkers = buildTable(sources.results, 'src_ip', rate);
    const portRows = buildTable(ports.results, 'dst_port', rate);
    const total = talkers.reduce((t, r) => ({ bytes: t.bytes + r.bytes, packets: t.packets + r.packets, flows: t.flows + r.flows, rate: t.rate + r.rate }), { bytes: 0, packets: 0, flows: 0, rate: 0 });
    const buckets = stackTotals(ts);
    const peak = Math.max(0, ...buckets);
    return { ts, rate, split, talkers, portRows, total, peak, plotted: buckets.reduce((a, b) => a + b, 0), answers: [series, sources, ports] };
  }, [q.data, q.context]);
  const chartType = state?.chart ?? 'area';
  const utcView = state?.tz === 'utc';
  const view = useMemo(() => data && {
    ...data,
    options: {
      traffic: trafficOption(data.ts, data.rate, chartType, utcView),
      sources: topBarsOption(data.talkers.slice(0, BARS), data.rate, (r) => r.rate, true),
      ports: topBarsOption(data.portRows, data.rate, (r) => r.rate, false),
    },
  }, [data, chartType, utcView]);

  if (!state) return <Shell view="realtime" carry=""><main id="main" className="content"><Skeleton height={320} /></main></Shell>;

  const shownRate = view?.rate ?? state.metric;
  const fmtRate = shownRate === 'bps' ? formatBitRate : formatPacketRate;
  const rateLabel = shownRate === 'bps' ? 'Avg bits/s' : 'Avg packets/s';
  const utc = state.tz === 'utc';
  const empty = view !== null && view.total.flows === 0;
  const pick = (key: string) => (r: TableRow) => r.key !== null && addFilter(key, r.key);

  return (
    <Shell view="realtime" carry={carryOver(state, 'historical')}>
      <div className="toolbar">
        <RangePicker presets={REALTIME_PRESETS} range={state.range} onChange={(range) => update({ range })} utc={utc} dateOnly={false} defaultSpanMs={3_600_000} />
        <FilterBar filters={state.filters} onChange={(filters: Filter[]) => update({ filters })} />
        <div className="toolbar-end">
          <Select id="refresh" label="Auto-refresh" value={state.refresh} options={REFRESH_LABELS} onChange={(refresh) => update({ refresh })} disabled={!('preset' in state.range)} />
          <button type="button" className="btn" onClick={q.reload} disabled={q.loading}>Refresh</button>
        </div>
      </div>
      <main id="main" className={`content${q.stale && view ? ' is-stale' : ''}`} aria-busy={q.loading}>
        <h1 className="sr-only">Real-Time Traffic</h1>
        {q.error && <ErrorState error={q.error} onRetry={q.reload} />}
        {!view && !q.error && <div className="grid"><Skeleton height={56} /><Skeleton height={320} /><div className="grid-2"><Skeleton height={280} /><Skeleton height={280} /></div></div>}
        {view && empty && <Empty filtered={state.filters.length > 0} onClearFilters={() => update({ filters: [] })} />}
        {view && !empty && (
          <div className="grid">
            <div className="kpis">
              <Kpi label="Traffic" value={formatBytes(view.total.bytes)} title={`${formatExact(view.total.bytes)} bytes`} />
              <Kpi label={shownRate === 'bps' ? 'Average rate' : 'Average packet rate'} value={fmtRate(view.total.rate)} />
              <Kpi label={shownRate === 'bps' ? 'Peak rate' : 'Peak packet rate'} value={fmtRate(view.peak)} title="Highest bucket in the chart" />
              <Kpi label="Packets" value={formatCount(view.total.packets)} title={`${formatExact(view.total.packets)} packets`} />
              <Kpi label="Flows" value={formatCount(view.total.flows)} title={`${formatExact(view.total.flows)} flows`} />
            </div>
            <Panel
              title="Traffic over time"
              actions={<>
                <Segmented label="Metric" value={state.metric} options={[{ id: 'bps', label: 'bits/s' }, { id: 'pps', label: 'packets/s' }] as const} onChange={(metric) => update({ metric })} />
                <Select id="split" label="By" value={state.split} options={SPLITS} onChange={(split) => update({ split })} />
                <Segmented label="Chart type" value={state.chart} options={[{ id: 'area', label: 'Stacked' }, { id: 'line', label: 'Lines' }] as const} onChange={(chart) => update({ chart })} />
              </>}
              note={view.ts.series.some((s) => s.other) ? `Top ${SPLIT_LIMIT} by ${shownRate === 'bps' ? 'volume' : 'packets'} over the range; the rest is "other".` : undefined}
            >
              <Chart
                name="traffic" height={300} option={view.options.traffic} total={view.plotted}
                onClick={(e) => { const s = view.ts.series.find((x) => x.name === e.seriesName); if (s?.key && view.split) addFilter(view.split, s.key); }}
                label={`Traffic over time in ${shownRate === 'bps' ? 'bits' : 'packets'} per second, ${view.ts.series.length} series, peak ${fmtRate(view.peak)}`}
              />
            </Panel>
            <div className="grid-2">
              <Panel title="Top source IPs" note="Click a bar or an address to filter on it.">
                <Chart
                  name="sources" height={barHeight(view.talkers)} option={view.options.sources}
                  label={`Top source IPs by average ${shownRate === 'bps' ? 'bit' : 'packet'} rate: ${view.talkers.filter((r) => !r.other).slice(0, 3).map((r) => r.label).join(', ')}`}
                  onClick={(e) => { const r = view.talkers.filter((x) => !x.other)[e.dataIndex]; if (r?.key) addFilter('src_ip', r.key); }}
                />
              </Panel>
              <Panel title="Top destination ports" note={<PortLinks rows={view.portRows} onPick={pick('dst_port')} />}>
                <Chart
                  name="ports" height={barHeight(view.portRows)} option={view.options.ports}
                  label={`Top destination ports: ${view.portRows.filter((r) => !r.other).slice(0, 3).map((r) => r.label).join(', ')}`}
                  onClick={(e) => { const r = view.portRows.filter((x) => !x.other)[e.dataIndex]; if (r?.key) addFilter('dst_port', r.key); }}
                />
              </Panel>
            </div>
            <Panel title="Top talkers" note={`Top ${TALKERS} source addresses; share is of all traffic in the range.`}>
              <TopTable id="talkers" caption="Top talkers by source IP" groupLabel="Source IP" rows={view.talkers} mono rate={{ label: rateLabel, format: fmtRate }} onPick={pick('src_ip')} />
            </Panel>
          </div>
        )}
      </main>
      <StatusLine answers={view?.answers ?? null} updatedAt={q.updatedAt} loading={q.loading} tz={state.tz} onTz={(tz) => update({ tz })} />
    </Shell>
  );
}

function barHeight(rows: TableRow[]): number {
  return Math.max(120, Math.min(BARS, rows.filter((r) => !r.other).length) * 24 + 16);
}

/** The ports as buttons too, so the filter is reachable without a pointer. */
function PortLinks({ rows, onPick }: { rows: TableRow[]; onPick: (r: TableRow) => void }) {
  const shown = rows.filter((r) => !r.other);
  if (!shown.length) return null;
  return (
    <span className="links">Filter: {shown.map((r) => (
      <button key={r.key} type="button" className="btn btn-link" onClick={() => onPick(r)}>{r.label.split(' ')[0]}</button>
    ))}</span>
  );
}
