'use client';
// Real-Time Traffic: who is using the network right now.
import { useMemo } from 'react';
import type { FlowResponse } from '../lib/api-types.js';
import { addFilterValue, type Filter } from '../lib/filters.js';
import { buildTable, buildTimeSeries, stackTotals, type TableRow } from '../lib/series.js';
import { formatBitRate, formatBytes, formatCount, formatExact, formatPacketRate } from '../lib/units.js';
import { DIMENSIONS, REALTIME_PRESETS, REFRESH_CHOICES, apiParams, carryOver, parseRealtime, serializeRealtime, type RealtimeState } from '../lib/url-state.js';
import { Chart } from './Chart.js';
import { topBarsOption, trafficOption } from './chart-options.js';
import { FilterBar, RangePicker, Segmented, Select } from './controls.js';
import { prefetch } from './api.js';
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

// The first answers are asked for as soon as this code loads, not after the page has hydrated.
if (typeof window !== 'undefined' && location.pathname === '/') {
  for (const r of Object.values(requests(parseRealtime(location.search)))) prefetch(r.path, r.params);
}

export function RealtimeView() {
  const [state, setState] = useUrlState(parseRealtime, serializeRealtime);
  const reqs = useMemo(() => (state ? { requests: requests(state), context: state } : null), [state]);
  // A fixed (custom) range does not move: refreshing it would only repeat the answer.
  const q = useQueries(reqs, state && 'preset' in state.range ? state.refresh : 0);

  const update = (patch: Partial<RealtimeState>) => state && setState({ ...state, ...patch });
  const addFilter = (key: string, value: string) => state && setState({ ...state, filters: addFilterValue(state.filters, key, value) });

  // Each panel is built from its own answer, read with the settings it was
  // asked with (its context), and drawn as soon as it is in. Drawing options
  // also follow how it is drawn (chart type, time zone), which needs no request.
  const { series, sources, ports } = q.answers;
  const traffic = useMemo(() => {
    if (!series) return null;
    const { metric, split } = series.context;
    const ts = buildTimeSeries(series.body.results, series.body.meta, metric, split || null);
    const buckets = stackTotals(ts);
    return { ts, rate: metric, split, peak: Math.max(0, ...buckets), plotted: buckets.reduce((a, b) => a + b, 0) };
  }, [series]);
  const talkers = useMemo(() => sources && topN(sources.body.results, 'src_ip', sources.context.metric), [sources]);
  const portRows = useMemo(() => ports && topN(ports.body.results, 'dst_port', ports.context.metric), [ports]);
  const chartType = state?.chart ?? 'area';
  const utcView = state?.tz === 'utc';
  const trafficChart = useMemo(() => traffic && trafficOption(traffic.ts, traffic.rate, chartType, utcView), [traffic, chartType, utcView]);
  const sourcesChart = useMemo(() => talkers && topBarsOption(talkers.rows.slice(0, BARS), talkers.rate, (r) => r.rate, true), [talkers]);
  const portsChart = useMemo(() => portRows && topBarsOption(portRows.rows, portRows.rate, (r) => r.rate, false), [portRows]);

  if (!state) return <Shell view="realtime" carry=""><main id="main" className="content"><Skeleton height={320} /></main></Shell>;

  const rateOf = (r: 'bps' | 'pps' | undefined) => (r ?? state.metric) === 'bps' ? formatBitRate : formatPacketRate;
  const fmtRate = rateOf(talkers?.rate);
  const utc = state.tz === 'utc';
  const empty = talkers !== null && talkers !== undefined && talkers.total.flows === 0;
  const pick = (key: string) => (r: TableRow) => r.key !== null && addFilter(key, r.key);
  const answered = Object.values(q.answers).map((a) => (a as { body: FlowResponse }).body);
  const dim = (stale: boolean) => (stale ? 'is-stale' : undefined);

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
      <main id="main" className="content" aria-busy={q.loading}>
        <h1 className="sr-only">Real-Time Traffic</h1>
        {q.error && <ErrorState error={q.error} onRetry={q.reload} />}
        {empty && !q.stale.sources && <Empty filtered={state.filters.length > 0} onClearFilters={() => update({ filters: [] })} />}
        {!(empty && !q.stale.sources) && !(q.error && answered.length === 0) && (
          <div className="grid">
            <div className={`kpis ${dim(q.stale.sources || q.stale.series) ?? ''}`}>
              <Kpi label="Traffic" value={talkers ? formatBytes(talkers.total.bytes) : '…'} title={talkers ? `${formatExact(talkers.total.bytes)} bytes` : undefined} />
              <Kpi label={talkers?.rate === 'pps' ? 'Average packet rate' : 'Average rate'} value={talkers ? fmtRate(talkers.total.rate) : '…'} />
              <Kpi label={traffic?.rate === 'pps' ? 'Peak packet rate' : 'Peak rate'} value={traffic ? rateOf(traffic.rate)(traffic.peak) : '…'} title="Highest bucket in the chart" />
              <Kpi label="Packets" value={talkers ? formatCount(talkers.total.packets) : '…'} title={talkers ? `${formatExact(talkers.total.packets)} packets` : undefined} />
              <Kpi label="Flows" value={talkers ? formatCount(talkers.total.flows) : '…'} title={talkers ? `${formatExact(talkers.total.flows)} flows` : undefined} />
            </div>
            <Panel
              title="Traffic over time" className={dim(q.stale.series)}
              actions={<>
                <Segmented label="Metric" value={state.metric} options={[{ id: 'bps', label: 'bits/s' }, { id: 'pps', label: 'packets/s' }] as const} onChange={(metric) => update({ metric })} />
                <Select id="split" label="By" value={state.split} options={SPLITS} onChange={(split) => update({ split })} />
                <Segmented label="Chart type" value={state.chart} options={[{ id: 'area', label: 'Stacked' }, { id: 'line', label: 'Lines' }] as const} onChange={(chart) => update({ chart })} />
              </>}
              note={traffic?.ts.series.some((s) => s.other) ? `Top ${SPLIT_LIMIT} by ${traffic.rate === 'bps' ? 'volume' : 'packets'} over the range; the rest is "other".` : undefined}
            >
              {traffic && trafficChart ? (
                <Chart
                  name="traffic" height={300} option={trafficChart} total={traffic.plotted}
                  onClick={(e) => { const s = traffic.ts.series.find((x) => x.name === e.seriesName); if (s?.key && traffic.split) addFilter(traffic.split, s.key); }}
                  label={`Traffic over time in ${traffic.rate === 'bps' ? 'bits' : 'packets'} per second, ${traffic.ts.series.length} series, peak ${rateOf(traffic.rate)(traffic.peak)}`}
                />
              ) : <Skeleton height={300} />}
            </Panel>
            <div className="grid-2">
              <Panel title="Top source IPs" className={dim(q.stale.sources)} note="Click a bar or an address to filter on it.">
                {talkers && sourcesChart ? (
                  <Chart
                    name="sources" height={barHeight(talkers.rows)} option={sourcesChart}
                    label={`Top source IPs by average ${talkers.rate === 'bps' ? 'bit' : 'packet'} rate: ${talkers.rows.filter((r) => !r.other).slice(0, 3).map((r) => r.label).join(', ')}`}
                    onClick={(e) => { const r = talkers.rows.filter((x) => !x.other)[e.dataIndex]; if (r?.key) addFilter('src_ip', r.key); }}
                  />
                ) : <Skeleton height={256} />}
              </Panel>
              <Panel title="Top destination ports" className={dim(q.stale.ports)} note={portRows ? <PortLinks rows={portRows.rows} onPick={pick('dst_port')} /> : undefined}>
                {portRows && portsChart ? (
                  <Chart
                    name="ports" height={barHeight(portRows.rows)} option={portsChart}
                    label={`Top destination ports: ${portRows.rows.filter((r) => !r.other).slice(0, 3).map((r) => r.label).join(', ')}`}
                    onClick={(e) => { const r = portRows.rows.filter((x) => !x.other)[e.dataIndex]; if (r?.key) addFilter('dst_port', r.key); }}
                  />
                ) : <Skeleton height={256} />}
              </Panel>
            </div>
            <Panel title="Top talkers" className={dim(q.stale.sources)} note={`Top ${TALKERS} source addresses; share is of all traffic in the range.`}>
              {talkers
                ? <TopTable id="talkers" caption="Top talkers by source IP" groupLabel="Source IP" rows={talkers.rows} mono rate={{ label: talkers.rate === 'bps' ? 'Avg bits/s' : 'Avg packets/s', format: fmtRate }} onPick={pick('src_ip')} />
                : <Skeleton height={200} />}
            </Panel>
          </div>
        )}
      </main>
      <StatusLine answers={answered.length ? answered : null} updatedAt={q.updatedAt} loading={q.loading} tz={state.tz} onTz={(tz) => update({ tz })} />
    </Shell>
  );
}

/** A top-N answer as table rows, with the totals of all rows (the "other" row included). */
function topN(results: FlowResponse['results'], field: string, rate: 'bps' | 'pps') {
  const rows = buildTable(results, field, rate);
  const total = rows.reduce((t, r) => ({ bytes: t.bytes + r.bytes, packets: t.packets + r.packets, flows: t.flows + r.flows, rate: t.rate + r.rate }), { bytes: 0, packets: 0, flows: 0, rate: 0 });
  return { rows, rate, total };
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
