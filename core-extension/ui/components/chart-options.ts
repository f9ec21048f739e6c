// ECharts options for the views' charts. Colours come from the page's CSS
// variables, so charts follow the light or dark theme; no animation, because a
// monitoring view redraws often and should show numbers, not motion.
import type { ChartOption } from './echarts.js';
import { formatAxis, formatMetric, type Metric } from '../lib/units.js';
import type { Series, TableRow, TimeSeries, MonthSeries } from '../lib/series.js';

/** Tableau 10: distinguishable, colour-blind aware, readable on light and dark. */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const OTHER = '#8c939c';

interface Theme { text: string; muted: string; grid: string; surface: string; accent: string; danger: string; font: string; mono: string }

function theme(): Theme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return { text: v('--text'), muted: v('--text-muted'), grid: v('--grid'), surface: v('--surface'), accent: v('--accent'), danger: v('--danger'), font: v('--font-sans'), mono: v('--font-mono') };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function seriesColor(s: { other: boolean }, i: number): string {
  return s.other ? OTHER : PALETTE[i % PALETTE.length];
}

function base(t: Theme): ChartOption {
  return {
    animation: false,
    textStyle: { fontFamily: t.font, color: t.muted, fontSize: 11 },
  };
}

function valueAxis(t: Theme, metric: Metric) {
  return {
    type: 'value' as const,
    axisLabel: { color: t.muted, formatter: (v: number) => formatAxis(metric, v) },
    splitLine: { lineStyle: { color: t.grid } },
  };
}

function tooltip(t: Theme) {
  return {
    trigger: 'axis' as const,
    backgroundColor: t.surface,
    borderColor: t.grid,
    textStyle: { color: t.text, fontSize: 12 },
    confine: true,
  };
}

/** Rows of a tooltip: largest first, zero rows left out, a total when stacked. */
function tooltipTable(title: string, rows: { name: string; color: string; value: number }[], metric: Metric, total: boolean): string {
  const shown = rows.filter((r) => r.value > 0).sort((a, b) => b.value - a.value);
  const line = (name: string, color: string, value: number, bold = false) =>
    `<div class="tt-row${bold ? ' tt-total' : ''}"><span class="tt-dot" style="background:${color}"></span><span class="tt-name">${escapeHtml(name)}</span><span class="tt-val">${formatMetric(metric, value)}</span></div>`;
  const body = shown.slice(0, 12).map((r) => line(r.name, r.color, r.value)).join('');
  const more = shown.length > 12 ? `<div class="tt-more">+${shown.length - 12} more</div>` : '';
  const sum = total && shown.length > 1 ? line('total', 'transparent', shown.reduce((a, r) => a + r.value, 0), true) : '';
  return `<div class="tt"><div class="tt-title">${escapeHtml(title)}</div>${body}${more}${sum}</div>`;
}

export function formatTime(ms: number, utc: boolean, withDate: boolean): string {
  const opts: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: utc ? 'UTC' : undefined };
  if (withDate) Object.assign(opts, { month: 'short', day: 'numeric' });
  return new Intl.DateTimeFormat(undefined, opts).format(ms);
}

export function formatDay(ms: number): string {
  return new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(ms);
}

/** Traffic over time: stacked areas or lines, one per group. */
export function trafficOption(ts: TimeSeries, metric: 'bps' | 'pps', kind: 'area' | 'line', utc: boolean): ChartOption {
  const t = theme();
  const stacked = kind === 'area';
  const spanDays = ts.times.length > 1 ? (ts.times[ts.times.length - 1] - ts.times[0]) / 86_400_000 : 0;
  return {
    ...base(t),
    useUTC: utc,
    color: ts.series.map((s, i) => seriesColor(s, i)),
    grid: { left: 64, right: 16, top: 36, bottom: 28 },
    legend: { type: 'scroll', top: 0, left: 0, icon: 'roundRect', itemWidth: 10, itemHeight: 10, textStyle: { color: t.text, fontSize: 11 }, pageTextStyle: { color: t.muted } },
    tooltip: {
      ...tooltip(t),
      formatter: (params: unknown) => {
        const ps = params as { axisValue: number; seriesName: string; color: string; value: [number, number] }[];
        if (!ps.length) return '';
        return tooltipTable(formatTime(ps[0].axisValue, utc, true), ps.map((p) => ({ name: p.seriesName, color: p.color, value: p.value[1] })), metric, stacked);
      },
    },
    xAxis: {
      type: 'time',
      axisLabel: { color: t.muted, hideOverlap: true, formatter: (v: number) => formatTime(v, utc, spanDays >= 1) },
      axisLine: { lineStyle: { color: t.grid } },
      splitLine: { show: false },
    },
    yAxis: valueAxis(t, metric),
    series: ts.series.map((s: Series) => ({
      name: s.name,
      type: 'line',
      stack: stacked ? 'total' : undefined,
      areaStyle: stacked ? { opacity: 0.8 } : undefined,
      lineStyle: { width: stacked ? 0.8 : 1.6 },
      showSymbol: false,
      symbol: 'none',
      emphasis: { focus: 'series' },
      data: ts.times.map((time, i) => [time, s.values[i]]),
    })),
  };
}

/** Horizontal bars of a top-N answer ("other" left out: it would dwarf the rest). */
export function topBarsOption(rows: TableRow[], metric: Metric, value: (r: TableRow) => number, mono: boolean): ChartOption {
  const t = theme();
  const shown = rows.filter((r) => !r.other);
  return {
    ...base(t),
    grid: { left: 8, right: 72, top: 4, bottom: 4, outerBoundsMode: 'same' },
    tooltip: {
      ...tooltip(t),
      axisPointer: { type: 'shadow' },
      formatter: (params: unknown) => {
        const p = (params as { dataIndex: number }[])[0];
        const r = shown[p.dataIndex];
        return tooltipTable(r.label, [{ name: metric === 'bytes' ? 'volume' : 'average', color: t.accent, value: value(r) }], metric, false);
      },
    },
    xAxis: { type: 'value', show: false },
    yAxis: {
      type: 'category',
      inverse: true,
      data: shown.map((r) => r.label),
      axisTick: { show: false },
      axisLine: { show: false },
      axisLabel: { color: t.text, fontFamily: mono ? t.mono : t.font, fontSize: 11, inside: false, width: 150, overflow: 'truncate' },
    },
    series: [{
      type: 'bar',
      data: shown.map((r) => value(r)),
      barMaxWidth: 14,
      itemStyle: { color: t.accent, borderRadius: [0, 2, 2, 0] },
      label: { show: true, position: 'right', color: t.muted, fontSize: 11, formatter: (p: { value: number }) => formatMetric(metric, p.value) },
      cursor: 'pointer',
    }],
  };
}

/** Days stacked by group, the day totals as a line with spikes pinned, the threshold as a dashed rule. */
export function dailyOption(ts: TimeSeries, dayTotals: number[], spikes: number[], threshold: number, metric: Metric): ChartOption {
  const t = theme();
  const labels = ts.times.map(formatDay);
  const finite = Number.isFinite(threshold);
  return {
    ...base(t),
    color: ts.series.map((s, i) => seriesColor(s, i)),
    grid: { left: 64, right: 16, top: 36, bottom: 28 },
    legend: { type: 'scroll', top: 0, left: 0, icon: 'roundRect', itemWidth: 10, itemHeight: 10, textStyle: { color: t.text, fontSize: 11 }, data: ts.series.map((s) => s.name) },
    tooltip: {
      ...tooltip(t),
      axisPointer: { type: 'shadow' },
      formatter: (params: unknown) => {
        const ps = (params as { seriesName: string; color: string; value: number; dataIndex: number }[]).filter((p) => p.seriesName !== 'total');
        if (!ps.length) return '';
        const i = ps[0].dataIndex;
        const flag = spikes.includes(i) ? ' · spike' : '';
        return tooltipTable(`${labels[i]} (UTC)${flag}`, ps.map((p) => ({ name: p.seriesName, color: p.color, value: p.value })), metric, true);
      },
    },
    xAxis: { type: 'category', data: labels, axisLabel: { color: t.muted, hideOverlap: true }, axisLine: { lineStyle: { color: t.grid } }, axisTick: { alignWithLabel: true } },
    yAxis: valueAxis(t, metric),
    series: [
      ...ts.series.map((s) => ({ name: s.name, type: 'bar', stack: 'day', barCategoryGap: '25%', emphasis: { focus: 'series' }, data: s.values })),
      {
        name: 'total',
        type: 'line',
        data: dayTotals,
        symbol: 'none',
        lineStyle: { opacity: 0 },
        tooltip: { show: false },
        silent: true,
        markPoint: {
          symbol: 'pin',
          symbolSize: 34,
          itemStyle: { color: t.danger },
          label: { color: '#fff', fontSize: 10, formatter: '!' },
          data: spikes.map((i) => ({ coord: [i, dayTotals[i]], name: labels[i] })),
        },
        markLine: finite ? {
          silent: true,
          symbol: 'none',
          lineStyle: { color: t.danger, type: 'dashed', width: 1 },
          label: { color: t.danger, fontSize: 10, position: 'insideEndTop', formatter: `spike threshold ${formatMetric(metric, threshold)}` },
          data: [{ yAxis: threshold }],
        } : undefined,
      },
    ],
  };
}

/** Months stacked by group; months the range covers only in part are faded and starred. */
export function monthlyOption(m: MonthSeries, metric: Metric): ChartOption {
  const t = theme();
  const labels = m.months.map((mo, i) => {
    const [y, n] = mo.split('-').map(Number);
    const name = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, n - 1, 1));
    return m.partial[i] ? `${name}*` : name;
  });
  return {
    ...base(t),
    color: m.series.map((s, i) => seriesColor(s, i)),
    grid: { left: 64, right: 16, top: 36, bottom: 28 },
    legend: { type: 'scroll', top: 0, left: 0, icon: 'roundRect', itemWidth: 10, itemHeight: 10, textStyle: { color: t.text, fontSize: 11 } },
    tooltip: {
      ...tooltip(t),
      axisPointer: { type: 'shadow' },
      formatter: (params: unknown) => {
        const ps = params as { seriesName: string; color: string; value: number | { value: number }; dataIndex: number }[];
        if (!ps.length) return '';
        const i = ps[0].dataIndex;
        const title = `${labels[i].replace('*', '')}${m.partial[i] ? ' (partly in range)' : ''}`;
        return tooltipTable(title, ps.map((p) => ({ name: p.seriesName, color: p.color, value: typeof p.value === 'number' ? p.value : p.value.value })), metric, true);
      },
    },
    xAxis: { type: 'category', data: labels, axisLabel: { color: t.muted }, axisLine: { lineStyle: { color: t.grid } }, axisTick: { show: false } },
    yAxis: valueAxis(t, metric),
    series: m.series.map((s) => ({
      name: s.name,
      type: 'bar',
      stack: 'month',
      barMaxWidth: 56,
      emphasis: { focus: 'series' },
      data: s.values.map((v, i) => ({ value: v, itemStyle: m.partial[i] ? { opacity: 0.6 } : undefined })),
    })),
  };
}
