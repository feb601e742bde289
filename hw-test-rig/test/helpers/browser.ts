import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildKiosk } from '../../../kiosk-ui/build.ts';
import { world } from './harness.ts';

/** Flags from DEVELOPERS.md: the Debian Chromium, headless, in a fresh profile. */
export function launchChromium() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * A test world serving a freshly built kiosk, and the kiosk open in Chromium (Chinese first), both
 * torn down with the test; page errors are collected.
 */
export async function kioskWorld(
  t: { teardown(fn: () => Promise<void> | void): void },
  options: Parameters<typeof world>[0] = {},
) {
  const kioskDir = await buildKiosk(mkdtempSync(join(tmpdir(), 'kiosk-')));
  const w = await world({ kioskDir, ...options });
  const browser = await launchChromium();
  t.teardown(async () => {
    await browser.close();
    await w.stop();
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, locale: 'zh-CN' });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(w.rig.kioskUrl);
  return { w, page, pageErrors };
}
