// Debian's Chromium driven by playwright-core: headless, no network of its
// own (no component updates, sync, QUIC, background fetches), a fresh profile
// per launch. Shared by the browser tests and bench/ui.ts.
import { chromium, type BrowserContext } from 'playwright-core';
import { tempDir } from '../helpers/process.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync',
];

export interface Browser { context: BrowserContext; close(): Promise<void> }

export async function launchChromium(opts: { width?: number; height?: number; colorScheme?: 'light' | 'dark'; timezoneId?: string } = {}): Promise<Browser> {
  const profile = tempDir('chromium');
  // A persistent context is how playwright takes a --user-data-dir: this one is new and removed afterwards.
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    colorScheme: opts.colorScheme ?? 'light',
    timezoneId: opts.timezoneId,
    acceptDownloads: true,
    locale: 'en-US',
  });
  return {
    context,
    async close() { await context.close(); profile.remove(); },
  };
}
