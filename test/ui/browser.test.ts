// The web UI in Debian's Chromium against the real core-extension, with flows
// that went through the whole pipeline: packet captures -> softflowd (NetFlow
// v9) -> checker -> NATS -> both writers -> ClickHouse and Iceberg -> the API.
// Expected values come from the captures themselves (traffic.ts), and are
// compared with both the API's answers and what the page shows.
// Screenshots of every view go to test-output/screenshots/ (see README there).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { FlowResponse } from '../../core-extension/ui/lib/api-types.js';
import { launchChromium, type Browser } from './chromium.js';
import { ROOT, startStack, waitForBytes, type Stack } from './stack.js';
import { CONVERSATIONS, HISTORY, SPIKE_DAYS_AGO, scaled, spread, totalBytes, totalsBySource, type Conversation } from './traffic.js';

const SHOTS = join(ROOT, 'test-output', 'screenshots');
const DAY = 86_400_000;

let stack: Stack;
let browser: Browser;
/**
 * The real-time view's data: short flows over the 30 minutes before the run, so
 * they stay inside its default last hour for half an hour of testing.
 */
const now = spread(CONVERSATIONS, 32);
/** Everything sent, by day: the history and today's traffic. */
const sent: { startMs: number; convs: Conversation[] }[] = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack();
  const today = Math.floor(Date.now() / DAY) * DAY;
  for (const h of HISTORY) sent.push({ startMs: today - h.daysAgo * DAY + 12 * 3_600_000, convs: scaled(CONVERSATIONS, h.factor) });
  const nowStart = Date.now() - 31 * 60_000;
  sent.push({ startMs: nowStart, convs: now });
  // Oldest first: each softflowd run is an exporter restart, and the checker rejects packets from before a restart.
  for (const s of sent) await stack.send(s.convs, s.startMs, s === sent.at(-1) ? 30 * 60_000 : 8 * 60_000);
  const all = sent.reduce((sum, s) => sum + totalBytes(s.convs), 0);
  await waitForBytes(stack, [
    { path: '/api/netflow/realtime', params: `start=${nowStart}&end=${Date.now()}`, bytes: totalBytes(now) },
    { path: '/api/netflow/historical', params: 'time_range=last_30d', bytes: all },
  ]);
  browser = await launchChromium();
}, { timeout: 240_000 });

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const pageErrors: string[] = [];

async function newPage(): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}

test.afterEach(() => {
  assert.deepEqual(pageErrors.splice(0), [], 'no script errors in the page');
});

async function login(page: Page, next = '/'): Promise<void> {
  await page.goto(`${stack.baseUrl}/login/?next=${encodeURIComponent(next)}`);
  await page.fill('input[name=username]', stack.user.username);
  await page.fill('input[name=password]', stack.user.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
}

/** Waits until the chart has drawn more data sets than `before` (0 = its first). */
async function chartDrawn(page: Page, name: string, before = 0): Promise<number> {
  const sel = `[data-chart="${name}"]`;
  // Page-side code as text: the root tsconfig has no DOM types, and the test should not bring them in for everyone.
  await page.waitForFunction(`Number(document.querySelector(${JSON.stringify(sel)})?.getAttribute('data-renders') ?? 0) > ${before}`, undefined, { timeout: 30_000 });
  return Number(await page.getAttribute(sel, 'data-renders'));
}

/** Waits until no request is in flight and no panel shows an older answer. */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(`document.querySelector('main')?.getAttribute('aria-busy') === 'false' && !document.querySelector('.is-stale')`, undefined, { timeout: 30_000 });
}

async function chartTotal(page: Page, name: string): Promise<number> {
  return Number(await page.getAttribute(`[data-chart="${name}"]`, 'data-total'));
}

/** A table's cells as their exact values (data-value), row by row. */
async function tableValues(page: Page, id: string): Promise<string[][]> {
  return page.$$eval(`#${id} tbody tr`, (rows) => rows.map((r) => [...r.querySelectorAll('td[data-value]')].map((td) => td.getAttribute('data-value') ?? '')));
}

/** The /api/netflow requests the page makes, with their answers. */
function recordApi(page: Page): { url: URL; body: FlowResponse }[] {
  const seen: { url: URL; body: FlowResponse }[] = [];
  page.on('response', async (res) => {
    const url = new URL(res.url());
    if (!url.pathname.startsWith('/api/netflow') || !res.ok()) return;
    // A response still arriving as the test closes its page (a prefetch) has no
    // body left to read, and no assertion waits for it; any other failure stands.
    const body = await res.json().catch((err: Error) => {
      if (page.isClosed() || /has been closed/.test(err.message)) return undefined;
      throw err;
    });
    if (body !== undefined) seen.push({ url, body: body as FlowResponse });
  });
  return seen;
}

function sum(rows: FlowResponse['results'], field: string): number {
  return rows.reduce((s, r) => s + Number(r[field]), 0);
}

test('a bad login is refused, and says nothing about which part was wrong', async () => {
  const page = await newPage();
  await page.goto(`${stack.baseUrl}/login/`);
  await page.fill('input[name=username]', stack.user.username);
  await page.fill('input[name=password]', 'not the password');
  const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/login')), page.click('button[type=submit]')]);
  assert.equal(res.status(), 401);
  // The form's own alert: Next.js also renders an (empty) role=alert route announcer, which may come first.
  assert.equal((await page.locator('form [role=alert]').textContent())?.trim(), 'Wrong username or password.');
  assert.ok(new URL(page.url()).pathname.startsWith('/login'));
  assert.equal((await browser.context.cookies(stack.baseUrl)).filter((c) => c.name === 'srnf_session').length, 0);
  await page.screenshot({ path: join(SHOTS, 'login-refused.png') });
  await page.close();
});

test('without a session the views send the user to the login page, and back after it', async () => {
  const page = await newPage();
  await page.goto(`${stack.baseUrl}/historical/?range=last_7d`);
  await page.waitForURL((u) => u.pathname === '/login/');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/historical/?range=last_7d');
  await page.screenshot({ path: join(SHOTS, 'login.png') });
  await page.fill('input[name=username]', stack.user.username);
  await page.fill('input[name=password]', stack.user.password);
  await Promise.all([page.waitForURL((u) => u.pathname === '/historical/'), page.click('button[type=submit]')]);
  assert.equal(new URL(page.url()).search, '?range=last_7d');
  await page.close();
});

test('real-time: the top talker shown is the API\'s answer and the capture\'s biggest source', async () => {
  const page = await newPage();
  const api = recordApi(page);
  await login(page);
  await chartDrawn(page, 'traffic');
  await chartDrawn(page, 'sources');
  await page.waitForSelector('#talkers tbody tr');

  // The page's own answer for the talkers table, and the same question asked by a second client.
  const shownRows = await tableValues(page, 'talkers');
  const talkersReq = api.find((a) => a.url.searchParams.get('group_by') === 'src_ip')!;
  assert.ok(talkersReq, 'the page asked for top source IPs');
  const again = await stack.api('/api/netflow', talkersReq.url.searchParams);
  const top = again.results[0];
  assert.equal(shownRows[0][0], top.src_ip);
  assert.equal(Number(shownRows[0][1]), Number(top.bytes));

  // Independently: the capture's biggest source, with its bytes and packets counted from the packets.
  const truth = [...totalsBySource(now)].sort((a, b) => b[1].bytes - a[1].bytes);
  assert.equal(shownRows[0][0], truth[0][0]);
  assert.deepEqual(shownRows.map((r) => [r[0], Number(r[1]), Number(r[2])]), truth.map(([ip, t]) => [ip, t.bytes, t.packets]));

  // The chart draws the series the API gave, every bucket of it.
  const seriesReq = api.find((a) => a.url.searchParams.get('group_by')?.startsWith('time'))!;
  assert.ok(Math.abs((await chartTotal(page, 'traffic')) - sum(seriesReq.body.results, 'bps')) < 1e-6);
  // The hot tier answered, and the page says so.
  assert.equal(seriesReq.body.meta.backend, 'clickhouse');
  assert.match((await page.textContent('.status')) ?? '', /answered by ClickHouse \(hot tier\)/);
  assert.match((await page.textContent('.status')) ?? '', /Updated \d\d:\d\d:\d\d/);
  await page.screenshot({ path: join(SHOTS, 'realtime.png'), fullPage: true });
  await page.close();
});

test('real-time: clicking a talker filters on it: new request, new chart, URL updated', async () => {
  const page = await newPage();
  const api = recordApi(page);
  await login(page);
  const first = await chartDrawn(page, 'traffic');
  const totalBefore = await chartTotal(page, 'traffic');
  const target = '10.20.0.12';
  const [req] = await Promise.all([
    page.waitForRequest((r) => new URL(r.url()).searchParams.get('filter') === `src_ip=${target}` && new URL(r.url()).searchParams.get('group_by')?.startsWith('time') === true),
    page.click(`#talkers button:text-is("${target}")`),
  ]);
  await chartDrawn(page, 'traffic', first);
  await settled(page);
  assert.equal(new URL(page.url()).searchParams.get('src_ip'), target);
  assert.match((await page.textContent('.chips')) ?? '', /Source IP\s*10\.20\.0\.12/);

  // The redrawn chart is the filtered answer, which is this source's traffic alone.
  const filtered = await stack.api('/api/netflow', new URL(req.url()).searchParams);
  const totalAfter = await chartTotal(page, 'traffic');
  assert.ok(Math.abs(totalAfter - sum(filtered.results, 'bps')) < 1e-6);
  assert.ok(totalAfter < totalBefore);
  assert.equal(sum(filtered.results, 'bytes'), totalsBySource(now).get(target)!.bytes);
  assert.deepEqual((await tableValues(page, 'talkers')).map((r) => r[0]), [target]);
  assert.ok(api.some((a) => a.url.searchParams.get('filter') === `src_ip=${target}` && a.url.searchParams.get('group_by') === 'dst_port'));
  await page.screenshot({ path: join(SHOTS, 'realtime-filtered.png'), fullPage: true });

  // Back undoes the filter.
  const renders = Number(await page.getAttribute('[data-chart="traffic"]', 'data-renders'));
  await page.goBack();
  await chartDrawn(page, 'traffic', renders);
  assert.equal(await chartTotal(page, 'traffic'), totalBefore);
  await page.close();
});

test('real-time: the filter bar works from the keyboard alone', async () => {
  const page = await newPage();
  await login(page);
  const first = await chartDrawn(page, 'traffic');
  // Tab from the top of the page to the filter field chooser, then choose, type and submit with keys only.
  let focused = '';
  for (let i = 0; i < 40 && focused !== 'Filter field'; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate<string>(`document.activeElement?.getAttribute('aria-label') ?? ''`);
  }
  assert.equal(focused, 'Filter field', 'the filter chooser is reachable with Tab');
  // ip, src_ip, dst_ip, port, src_port, dst_port, protocol: six steps down.
  for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate<string>('document.activeElement.value'), 'protocol');
  await page.keyboard.press('Tab');
  await page.keyboard.type('udp');
  await Promise.all([
    page.waitForRequest((r) => new URL(r.url()).searchParams.get('filter') === 'protocol=17'),
    page.keyboard.press('Enter'),
  ]);
  await chartDrawn(page, 'traffic', first);
  await settled(page);
  assert.equal(new URL(page.url()).searchParams.get('protocol'), 'udp');
  const udpSources = new Set(now.filter((c) => c.protocol === 17).map((c) => c.src));
  assert.deepEqual(new Set((await tableValues(page, 'talkers')).map((r) => r[0])), udpSources);
  await page.close();
});

test('historical: answered by the cold tier, spikes marked by the stated rule', async () => {
  const page = await newPage();
  const api = recordApi(page);
  await login(page, '/historical/');
  await chartDrawn(page, 'daily');
  await chartDrawn(page, 'monthly');
  const daily = api.find((a) => a.url.searchParams.get('interval') === '1d')!;
  assert.match(daily.body.meta.backend, /^iceberg/, `backend ${daily.body.meta.backend}`);
  const status = await page.getAttribute('.status [data-backend]', 'data-backend');
  assert.match(status ?? '', /iceberg/);
  assert.match((await page.textContent('.status')) ?? '', /answered by Iceberg/);

  // Every byte sent, day by day, is on the chart.
  const all = sent.reduce((s, x) => s + totalBytes(x.convs), 0);
  assert.equal(await chartTotal(page, 'daily'), all);

  // The rule is shown with its numbers; the six-fold day is listed, ordinary days are not.
  const rule = (await page.textContent('.rule')) ?? '';
  assert.match(rule, /^Spike: a day above median \+ 3 × MAD × 1\.4826 = /);
  const spikeDay = new Date(Math.floor(Date.now() / DAY) * DAY - SPIKE_DAYS_AGO * DAY);
  const listed = await page.$$eval('#spikes tbody tr td:first-child', (tds) => tds.map((td) => td.textContent ?? ''));
  const dayLabel = (d: Date) => new Intl.DateTimeFormat('en-US', { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(d);
  assert.ok(listed.includes(dayLabel(spikeDay)), `spike list ${JSON.stringify(listed)} has ${dayLabel(spikeDay)}`);
  for (const h of HISTORY.filter((x) => x.factor <= 1.3 && x.daysAgo > 1)) {
    assert.ok(!listed.includes(dayLabel(new Date(Math.floor(Date.now() / DAY) * DAY - h.daysAgo * DAY))), `day ${h.daysAgo} ago is not a spike`);
  }
  await page.screenshot({ path: join(SHOTS, 'historical.png'), fullPage: true });
  await page.close();
});

test('historical: the CSV downloaded is the table shown', async () => {
  const page = await newPage();
  await login(page, '/historical/?limit=10');
  await chartDrawn(page, 'daily');
  await page.waitForSelector('#results tbody tr');
  const shown = await tableValues(page, 'results');
  const headers = await page.$$eval('#results thead th', (ths) => ths.map((th) => th.textContent ?? ''));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:text-is("Download CSV")')]);
  const file = await download.path();
  const text = readFileSync(file!, 'utf8');
  const lines = text.split('\r\n');
  assert.equal(lines.pop(), '', 'the file ends with a line break');
  assert.deepEqual(lines[0].split(','), headers.filter((h) => h !== '#').map((h) => (h === 'Share' ? 'Share %' : h)));
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')), shown);

  // And the table is what was sent: bytes per source over all days, from the captures.
  const truth = new Map<string, number>();
  for (const s of sent) for (const [ip, t] of totalsBySource(s.convs)) truth.set(ip, (truth.get(ip) ?? 0) + t.bytes);
  assert.deepEqual(new Map(lines.slice(1).map((l) => l.split(',')).map((c) => [c[0], Number(c[1])])), truth);
  writeFileSync(join(SHOTS, 'historical-table.csv'), text);
  await page.close();
});

test('a filter that matches nothing shows the empty state, and clearing it brings the data back', async () => {
  const page = await newPage();
  await login(page, '/?dst_ip=192.0.2.99');
  await page.waitForSelector('.state-empty');
  assert.equal((await page.textContent('.state-empty .state-title'))?.trim(), 'No flows in this range: is an exporter sending to port 2055?');
  await page.screenshot({ path: join(SHOTS, 'empty.png') });
  await page.click('.state-empty button:text-is("Clear the filters")');
  await chartDrawn(page, 'traffic');
  assert.equal(new URL(page.url()).search, '');
  await page.close();
});

test('a query the API refuses shows its reason, naming the parameter', async () => {
  const page = await newPage();
  // Longer than the API allows (ten years): a 400 naming "start".
  await login(page, '/?start=1990-01-01T00:00:00Z&end=2025-01-01T00:00:00Z');
  await page.waitForSelector('.state-error');
  assert.match((await page.textContent('.state-error .state-title')) ?? '', /^The query was refused \(start\): range longer than ten years/);
  await page.screenshot({ path: join(SHOTS, 'error.png') });
  await page.close();
});

test('a session that ends sends the user to the login page with a message', async () => {
  const page = await newPage();
  await login(page);
  await chartDrawn(page, 'traffic');
  // The server forgets the session (as when it expires); the next refresh meets a 401.
  await page.evaluate(() => fetch('/api/logout', { method: 'POST' }));
  await Promise.all([page.waitForURL((u) => u.pathname === '/login/'), page.click('button:text-is("Refresh")')]);
  assert.equal(new URL(page.url()).searchParams.get('reason'), 'expired');
  assert.equal((await page.textContent('.notice'))?.trim(), 'Your session expired. Sign in again to continue.');
  await page.screenshot({ path: join(SHOTS, 'session-expired.png') });
  await page.close();
});

test('sign out ends the session', async () => {
  const page = await newPage();
  await login(page);
  await chartDrawn(page, 'traffic');
  await Promise.all([page.waitForURL((u) => u.pathname === '/login/'), page.click('button:text-is("Sign out")')]);
  assert.equal((await page.textContent('.notice'))?.trim(), 'You are signed out.');
  const res = await page.evaluate(() => fetch('/api/netflow?time_range=last_15m').then((r) => r.status));
  assert.equal(res, 401);
  await page.close();
});

test('screenshots: narrow screen and dark theme', async () => {
  const narrow = await launchChromium({ width: 390, height: 844 });
  const dark = await launchChromium({ colorScheme: 'dark' });
  try {
    for (const [b, suffix] of [[narrow, 'narrow'], [dark, 'dark']] as const) {
      const page = await b.context.newPage();
      await page.goto(`${stack.baseUrl}/login/`);
      await page.fill('input[name=username]', stack.user.username);
      await page.fill('input[name=password]', stack.user.password);
      await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);
      await chartDrawn(page, 'traffic');
      // Nothing may stick out sideways on a phone: the page scrolls vertically only.
      if (suffix === 'narrow') assert.ok(await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth'), 'no horizontal scroll');
      await page.screenshot({ path: join(SHOTS, `realtime-${suffix}.png`), fullPage: true });
      await page.goto(`${stack.baseUrl}/historical/`);
      await chartDrawn(page, 'daily');
      if (suffix === 'narrow') assert.ok(await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth'), 'no horizontal scroll');
      await page.screenshot({ path: join(SHOTS, `historical-${suffix}.png`), fullPage: true });
      await page.close();
    }
  } finally {
    await narrow.close();
    await dark.close();
  }
});
