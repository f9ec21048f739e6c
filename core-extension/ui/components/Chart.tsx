'use client';
// One ECharts canvas. ECharts is loaded on its own, beside the page (it is most
// of the JavaScript): the page hydrates and asks for its data meanwhile. A
// chart marks `srnf:chart-drawn:<name>` in the performance timeline the first
// time it has drawn data (the benchmark and the browser test read it) and
// counts its renders in data-renders.
import { useEffect, useRef } from 'react';
import type { ChartOption, ECharts } from './echarts.js';

const library = typeof window === 'undefined' ? null : import('./echarts.js');

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
  const optionRef = useRef(option);
  optionRef.current = option;

  useEffect(() => {
    const node = el.current!;
    let disposed = false;
    let ro: ResizeObserver | undefined;
    void library!.then(({ echarts }) => {
      if (disposed) return;
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
      c.setOption(optionRef.current, { notMerge: true });
      ro = new ResizeObserver(() => c.resize());
      ro.observe(node);
    });
    return () => { disposed = true; ro?.disconnect(); chart.current?.dispose(); chart.current = null; };
  }, [name]);

  useEffect(() => {
    const node = el.current!;
    node.dataset.optionId = String(Number(node.dataset.optionId ?? 0) + 1);
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);

  return <div ref={el} className="chart" style={{ height }} role="img" aria-label={label} data-chart={name} data-total={total} />;
}
