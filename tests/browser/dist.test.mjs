// The published site: `cargo xtask dist`'s folder, served under a sub-path as GitHub Pages serves
// a project (cargo xtask test passes DIST_URL, e.g. http://127.0.0.1:PORT/lm-playground/).
// Every panel loads with no failed request and nothing asked for outside the sub-path; the
// weights a panel needs come from the sub-path; links and embed codes point at it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, settle } from './helpers.mjs';
import { PANEL_IDS } from '../../www/panels/index.js';

const DIST = process.env.DIST_URL;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('every panel of dist/ loads under a sub-path with no failed request', { skip: !DIST && 'DIST_URL is not set (cargo xtask test sets it)' }, async () => {
  assert.match(new URL(DIST).pathname, /^\/[^/]+\/$/, 'served under a sub-path');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const failed = [], outside = [], errors = [], models = new Set();
  const page = await context.newPage();
  page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.url()} ${r.status()}`); });
  page.on('request', (r) => {
    const u = r.url();
    if (/^(data|blob):/.test(u)) return;
    if (!u.startsWith(DIST)) outside.push(u);
    if (u.endsWith('.safetensors')) models.add(u.slice(DIST.length));
  });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  for (const id of PANEL_IDS) {
    await page.goto(`${DIST}#panel=${id}&lang=zh`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
    await settle(page);
    await page.evaluate(() => window.lmApp.idle?.());
    const visible = await page.$eval(`#panel-${id}`, (p) => !p.hidden && p.querySelectorAll('canvas, svg').length > 0);
    assert.ok(visible, `${id} is shown and draws`);
  }
  // The panels that show trained weights fetched them from the sub-path.
  assert.ok([...models].some((m) => m.startsWith('models/stack-')), [...models].join(' '));
  assert.ok([...models].some((m) => m.startsWith('models/seq2seq-')), [...models].join(' '));
  const link = await page.evaluate(() => window.lmApp.shareUrl());
  assert.ok(link.startsWith(DIST + '#'), `the shared link points at the published copy: ${link}`);
  assert.deepEqual(failed, []);
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await context.close();
});
