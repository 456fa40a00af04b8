// Shared set-up for the browser tests: headless Chromium through playwright-core.
// cargo xtask test serves www/ and passes BASE_URL and CHROME.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:8000/';
export const SHOTS = fileURLToPath(new URL('../../target/screenshots/', import.meta.url));
mkdirSync(SHOTS, { recursive: true });

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROME ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/**
 * A new page that records console errors, page errors and any request leaving the origin
 * (`setup(context)` runs before it opens: init scripts, routes).
 * `errors` and `offsite` are arrays the test can assert on.
 */
export async function open(browser, hash = '', { width = 1280, height = 900, lang = 'en-US', setup = null } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale: lang, deviceScaleFactor: 2 });
  await setup?.(context);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(BASE).origin }).catch(() => {});
  const page = await context.newPage();
  const errors = [], offsite = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith(new URL(BASE).origin) && !r.url().startsWith('data:')) offsite.push(r.url()); });
  await page.goto(BASE + hash);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  await settle(page);
  return { page, context, errors, offsite };
}

/** Waits for the page to be idle: a render waiting for typing to pause, two animation frames
 * (one redraw), then the charts drawn a moment later. */
export const settle = (page) => page.evaluate(async () => {
  await window.lmApp?.idle?.();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  await window.lmApp?.idle?.();
});

/** Non-white pixels of a canvas. */
export const ink = (page, selector) => page.$eval(selector, (c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) n++;
  return n;
});

/** The weights heatmap's text alternative as numbers: rows × cols (masked cells included as 0). */
export const weightsTable = (page, selector = '#chart-weights table') => page.$eval(selector, (t) =>
  [...t.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.dataset.value))));
