'use client';
// One ECharts canvas. It marks `srnf:chart-drawn:<name>` in the performance
// timeline the first time it has drawn data (the benchmark and the browser test
// read it) and counts its renders in data-renders.
import { useEffect, useRef } from 'react';
import { echarts, type ChartOption, type ECharts } from './echarts.js';

export interface ChartClick { seriesName?: string; name?: string; dataIndex: number; value?: unknown }

export function Chart({ name, option, height, label, onClick, total }: {
  name: string;
  option: ChartOption;
  height: number;
  /** sum of the values drawn, exposed as data-total (the browser test compares it with the API) */
  total?: number;
  /** what the chart shows, in words, for screen readers */
  label: string;
  onClick?: (e: ChartClick) => void;
}) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<ECharts | null>(null);
  const clickRef = useRef(onClick);
  clickRef.current = onClick;

  useEffect(() => {
    const node = el.current!;
    const c = echarts.init(node, null, { renderer: 'canvas' });
    chart.current = c;
    let renders = 0;
    c.on('finished', () => {
      const drawn = (c.getOption() as { series?: unknown[] }).series?.length ?? 0;
      if (drawn === 0 || node.dataset.drawnFor === node.dataset.optionId) return;
      node.dataset.drawnFor = node.dataset.optionId;
      node.dataset.renders = String(++renders);
      if (renders === 1) performance.mark(`srnf:chart-drawn:${name}`);
    });
    c.on('click', (e) => clickRef.current?.(e as unknown as ChartClick));
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(node);
    return () => { ro.disconnect(); c.dispose(); chart.current = null; };
  }, [name]);

  useEffect(() => {
    const node = el.current!;
    node.dataset.optionId = String(Number(node.dataset.optionId ?? 0) + 1);
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);

  return <div ref={el} className="chart" style={{ height }} role="img" aria-label={label} data-chart={name} data-total={total} />;
}
