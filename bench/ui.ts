// Time from navigation to the first chart drawn, for both views of the web UI,
// in Debian's Chromium against the core-extension over the standard dataset
// of the query benchmark (bench/dataset.ts: reused from .cache/bench when built).
//
//   npm run build && npm run build:ui && node dist/bench/ui.js [--hot-rows N] [--cold-rows N] [--runs N] [--data DIR] [--views realtime,historical]
//
// "Drawn" is the page's own performance mark, set when ECharts reports the
// first chart with data rendered (Chart.tsx); its time is measured from the
// navigation's start. The first run of each view (cold core; for the first
// view also an empty browser cache) is reported apart and not counted.
// The dataset ends at a fixed time, so the views are opened on custom ranges
// at its end: the last hour (real-time) and the last 30 days (historical).
// Targets: real-time < 1 s, historical < 2 s. Figures are indicative: they
// depend on the CPU and on what else runs beside.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../common/log.js';
import { hashPassword } from '../core-extension/api/auth.js';
import { loadCoreConfig } from '../core-extension/config.js';
import { CoreService } from '../core-extension/service.js';
import { launchChromium } from '../test/ui/chromium.js';
import { UI_DIR } from '../test/ui/stack.js';
import { buildDataset, DAY } from './dataset.js';

const USER = { username: 'bench', password: 'bench-ui-password-2055' };

interface View { id: string; name: string; path: string; chart: string; targetMs: number }

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { 'hot-rows': { type: 'string' }, 'cold-rows': { type: 'string' }, runs: { type: 'string' }, data: { type: 'string' }, views: { type: 'string' } } });
  const wanted = (values.views ?? 'realtime,historical').split(',');
  const hotRows = Number(values['hot-rows'] ?? 100_000_000);
  const coldRows = Number(values['cold-rows'] ?? 300_000_000);
  const runs = Number(values.runs ?? 10);
  const root = values.data ?? join(fileURLToPath(import.meta.url), '..', '..', '..', '.cache', 'bench');
  const say = (s: string) => console.error(`[bench-ui] ${s}`);
  say(`dataset: ${hotRows.toLocaleString()} hot rows (2 days), ${coldRows.toLocaleString()} cold rows (30 days) in ${root}`);
  const d = await buildDataset(root, hotRows, coldRows, say, 0);

  const cfg = loadCoreConfig(undefined, {
    netflow: { clickhouse_data_dir: d.hotDir, iceberg_path: d.coldDir, nats_url: '', query_timeout: 300_000 },
    http: { listen_addr: '127.0.0.1:0', ui_dir: UI_DIR }, grpc: { listen_addr: '127.0.0.1:0' },
    users: [{ username: USER.username, password_hash: await hashPassword(USER.password) }],
  } as never);
  const core = new CoreService(cfg, createLogger('bench-ui-core', 'warn'));
  await core.start();
  const base = `http://127.0.0.1:${core.httpPort}`;
  const views: View[] = [
    { id: 'realtime', name: 'real-time (last hour of the data)', path: `/?start=${d.endMs - 3_600_000}&end=${d.endMs}`, chart: 'traffic', targetMs: 1000 },
    { id: 'historical', name: 'historical (30 days)', path: `/historical/?start=${d.endMs - 30 * DAY}&end=${d.endMs}`, chart: 'daily', targetMs: 2000 },
  ].filter((v) => wanted.includes(v.id));
  const browser = await launchChromium();
  try {
    const login = await browser.context.newPage();
    await login.goto(`${base}/login/`);
    await login.fill('input[name=username]', USER.username);
    await login.fill('input[name=password]', USER.password);
    await Promise.all([login.waitForURL((u) => u.pathname === '/'), login.click('button[type=submit]')]);
    await login.close();

    const results: Record<string, unknown>[] = [];
    for (const v of views) {
      const times: number[] = [];
      const apiMs: number[] = [];
      const drawMs: number[] = [];
      let first = NaN;
      for (let i = 0; i <= runs; i++) {
        const page = await browser.context.newPage();
        let slowest = 0;
        page.on('response', async (res) => {
          if (!new URL(res.url()).pathname.startsWith('/api/netflow') || !res.ok()) return;
          const body = (await res.json().catch(() => null)) as { meta?: { elapsed_ms?: number } } | null;
          slowest = Math.max(slowest, body?.meta?.elapsed_ms ?? 0);
        });
        await page.goto(`${base}${v.path}`, { waitUntil: 'commit' });
        const mark = `srnf:chart-drawn:${v.chart}`;
        // Page-side code as text: the root tsconfig has no DOM types.
        try {
          await page.waitForFunction(`performance.getEntriesByName(${JSON.stringify(mark)}).length > 0`, undefined, { timeout: 600_000, polling: 20 });
        } catch (err) {
          throw new Error(`${v.name}, run ${i}: no chart drawn at ${page.url()}: ${(await page.textContent('main').catch(() => '')) ?? ''} (${(err as Error).message})`);
        }
        const ms = await page.evaluate<number>(`performance.getEntriesByName(${JSON.stringify(mark)})[0].startTime`);
        // When the last API answer had arrived, on the same clock: what is left is the page's own work.
        const apiDone = await page.evaluate<number>(`Math.max(0, ...performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/netflow')).map((e) => e.responseEnd))`);
        await page.close();
        // Run 0 warms the core (first queries open files) and the browser cache; it is reported, not counted.
        if (i > 0) { times.push(ms); apiMs.push(slowest); drawMs.push(ms - apiDone); } else first = ms;
        say(`${v.name}: run ${i}${i === 0 ? ' (warm-up)' : ''} ${ms.toFixed(0)} ms to first chart; answers in at ${apiDone.toFixed(0)} ms (slowest query ${slowest.toFixed(0)} ms in the core)`);
      }
      const row = { view: v.name, chart: v.chart, runs, first_ms: round(first), p50_ms: round(pct(times, 50)), p95_ms: round(pct(times, 95)), api_p50_ms: round(pct(apiMs, 50)), draw_after_answers_p50_ms: round(pct(drawMs, 50)), target_ms: v.targetMs, meets_target: pct(times, 95) < v.targetMs };
      results.push(row);
      say(`${v.name.padEnd(36)} p50 ${row.p50_ms} ms  p95 ${row.p95_ms} ms  (slowest query p50 ${row.api_p50_ms} ms, drawing after the last answer p50 ${row.draw_after_answers_p50_ms} ms; target < ${v.targetMs} ms: ${row.meets_target ? 'met' : 'MISSED'})`);
    }
    console.log(JSON.stringify({ hot_rows: hotRows, cold_rows: coldRows, runs, results }, null, 2));
  } finally {
    await browser.close();
    await core.stop();
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

const round = (x: number) => Math.round(x * 10) / 10;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err) => { console.error(`bench-ui: ${(err as Error).message}`); process.exitCode = 1; });
}
