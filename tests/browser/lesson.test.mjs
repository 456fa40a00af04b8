// "Download this lesson": the file the page makes opens from file:// with no server and no
// network (the context is offline), every panel draws, the three training workers train, the
// numbers are the served page's, and its Content-Security-Policy is never violated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { launch, open, settle, BASE, SHOTS } from './helpers.mjs';
import { PANEL_IDS } from '../../www/panels/index.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const LINK = '#panel=learn&lang=en&corpus=en&size=tiny&opt=adam&lr=0.01&batch=8&tseed=7&train=30&step=3';
const trained = (page, n) => page.waitForFunction((n) => Number(document.querySelector('#learn-status')?.dataset.step) >= n
  && document.querySelector('#learn-play').getAttribute('aria-pressed') === 'false', n, { timeout: 60000 });

test('the lesson file opens offline from file://, draws every panel, trains in its workers, replays the link', async () => {
  // On the host: the link trains 30 steps; then the lesson is made from that view.
  const { page, context } = await open(browser, LINK);
  await trained(page, 30);
  const hostLoss = await page.$eval('#learn-status', (e) => e.dataset.loss);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-lesson')]);
  assert.equal(download.suggestedFilename(), 'lm-playground-learn.html');
  const file = SHOTS + 'lesson.html';
  await download.saveAs(file);
  await page.waitForFunction(() => /MB/.test(document.getElementById('share-status').textContent));
  const said = await page.textContent('#share-status');
  const mb = (statSync(file).size / 1e6).toFixed(1);
  assert.ok(said.includes(`${mb} MB`), `the page says the file's size: ${said} (${mb} MB)`);
  await context.close();

  // Offline: no server, no network.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, offline: true, acceptDownloads: true });
  const lesson = await ctx.newPage();
  const requests = [], errors = [];
  lesson.on('request', (r) => requests.push(r.url()));
  lesson.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  lesson.on('pageerror', (e) => errors.push(String(e)));
  await lesson.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await lesson.goto('file://' + file);
  await lesson.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  assert.match(lesson.url(), /^file:.*#.*panel=learn/, 'opens on the view it was saved from');
  await trained(lesson, 30);
  assert.equal(await lesson.$eval('#learn-status', (e) => e.dataset.loss), hostLoss, 'the same loss at step 30 as on the host');
  // helper workers start from the file too (data: URLs) and compute shards
  await lesson.selectOption('#learn-workers', '2');
  await lesson.click('#learn-play');
  await lesson.waitForFunction(() => window.lmApp.panels.learn.workers === 2, null, { timeout: 60000 });
  await lesson.click('#learn-play');
  assert.ok((await lesson.evaluate(() => window.lmApp.shareUrl())).startsWith(BASE), 'links point at the page it came from');

  // Every panel draws (the learning panel's curve was drawn in its worker).
  for (const id of PANEL_IDS) {
    await lesson.click(`#tab-${id}`);
    await settle(lesson);
    await lesson.waitForFunction((id) => [...document.querySelectorAll(`#panel-${id} canvas, #panel-${id} svg`)].some((c) => c.getBoundingClientRect().width > 0), id, { timeout: 20000 });
    const drawn = await lesson.$$eval(`#panel-${id} canvas`, (cs) => cs.filter((c) => c.width > 0 && c.getBoundingClientRect().width > 0).length);
    const svgs = await lesson.$$eval(`#panel-${id} svg`, (s) => s.length);
    assert.ok(drawn + svgs > 0, `${id} draws`);
  }
  await lesson.screenshot({ path: SHOTS + 'lesson-backprop.png' });

  // The encoder–decoder's and the vectors' workers train too.
  await lesson.evaluate(() => { location.hash = '#panel=seq2seq&lang=zh&step=4&rtrain=20'; });
  await lesson.waitForFunction(() => Number(document.querySelector('#s2s-train-status')?.dataset.step) >= 20, null, { timeout: 60000 });
  await lesson.evaluate(() => { location.hash = '#panel=vectors&lang=zh&step=2&vtrain=10'; });
  await lesson.waitForFunction(() => /第 10 步/.test(document.querySelector('#vec-live-say')?.textContent ?? ''), null, { timeout: 60000 });
  assert.ok(await lesson.$$eval('#vec-live-map g.pt', (l) => l.length) > 10, 'the live map is drawn');

  // The glyph worker (a classic worker) starts from the file too.
  const glyphs = await lesson.evaluate(() => new Promise((resolve) => {
    const w = new Worker(window.LM_OFFLINE.urls['glyph-worker.js']);
    w.onmessage = () => resolve('ok');
    w.onerror = (e) => resolve(`error ${e.message}`);
    w.postMessage({ id: 1, text: '你好', lang: 'zh-CN' });
  }));
  assert.equal(glyphs, 'ok');

  // A lesson saves another lesson, on another view, with no host either.
  await lesson.evaluate(() => { location.hash = '#panel=layer&lang=zh&step=8'; });
  await settle(lesson);
  const ctx2 = await browser.newContext({ acceptDownloads: true, offline: true });
  const [again] = await Promise.all([lesson.waitForEvent('download'), lesson.click('#download-lesson')]);
  const file2 = SHOTS + 'lesson-again.html';
  await again.saveAs(file2);
  const second = await ctx2.newPage();
  const errors2 = [];
  second.on('pageerror', (e) => errors2.push(String(e)));
  await second.goto('file://' + file2);
  await second.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  assert.match(second.url(), /panel=layer/);
  assert.equal(await second.evaluate(() => window.lmApp.shareUrl().split('#')[0]), BASE, 'still pointing at the host');
  assert.deepEqual(errors2, []);
  await ctx2.close();

  const outside = requests.filter((u) => !/^(file|data|blob):/.test(u));
  assert.deepEqual(outside, [], 'no request leaves the file');
  assert.deepEqual(await lesson.evaluate(() => window.__csp), [], 'no Content-Security-Policy violation');
  assert.deepEqual(errors, []);
  await ctx.close();
});
