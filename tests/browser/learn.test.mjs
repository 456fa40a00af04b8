// The learning panel in headless Chromium: training in a worker, the loss falling, pausing,
// predictions, reproducible links, bad links, a responsive main thread.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle, ink, SHOTS, BASE } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const step = (page) => page.$eval('#learn-status', (e) => Number(e.dataset.step || 0));
const waitStep = (page, n, timeout = 60000) => page.waitForFunction((n) => Number(document.querySelector('#learn-status')?.dataset.step || 0) >= n, n, { timeout });
// The loss curve is drawn by the training worker on an OffscreenCanvas: its pixels are read there.
const curvePixels = (page) => page.evaluate(() => window.lmApp.panels.learn.curve.pixels());

test('training makes the loss fall, the curve moves, and pause stops the counter', async () => {
  const { page, errors, context } = await open(browser, '#panel=learn&lang=en&step=3');
  // Watch the main thread for long tasks while training.
  await page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => window.__long.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
  });
  await page.click('#learn-play');
  await waitStep(page, 30);
  const h1 = (await curvePixels(page)).hash;
  // One message from the worker may carry 30 steps or more (it posts every 40 ms): wait for a
  // later step than the one drawn in h1, not merely for step 60.
  await waitStep(page, Math.max(60, (await step(page)) + 1));
  const h2 = (await curvePixels(page)).hash;
  assert.notEqual(h1, h2, 'the curve is redrawn as it trains');
  await waitStep(page, 300);
  await page.click('#learn-play'); // pause
  await page.waitForFunction(() => document.querySelector('#learn-play').getAttribute('aria-pressed') === 'false');
  const s1 = await step(page);
  await page.waitForTimeout(600);
  assert.equal(await step(page), s1, 'the step counter stays put while paused');
  const losses = await page.evaluate(() => window.lmApp.panels.learn.losses.slice(0, 300));
  const late = losses.slice(290, 300).reduce((a, b) => a + b) / 10;
  assert.ok(late <= 0.7 * losses[0], `loss ${losses[0]} → ${late}`);
  assert.match(page.url(), new RegExp(`train=${s1}`), 'the link records how far it trained');
  assert.ok((await curvePixels(page)).ink > 3000);
  assert.equal(await page.$eval('#learn-curve', (c) => c.getBoundingClientRect().height > 80), true, 'the curve has its room on the page');
  const long = await page.evaluate(() => window.__long);
  assert.deepEqual(long.filter((d) => d >= 50), [], `main-thread long tasks: ${long}`);
  await page.screenshot({ path: SHOTS + 'learn-desktop.png', fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('a live learning-rate or watch change survives a full render (language, resize)', async () => {
  const { page, errors, context } = await open(browser, '#panel=learn&lang=en&step=3');
  const learn = () => page.evaluate(() => {
    const p = window.lmApp.panels.learn;
    return { step: Number(document.querySelector('#learn-status').dataset.step), losses: p.losses.slice(), update: p.update };
  });
  await page.click('#learn-play');
  await waitStep(page, 20);
  await page.click('#learn-play'); // pause
  await page.waitForFunction(() => document.querySelector('#learn-play').getAttribute('aria-pressed') === 'false');
  const before = await learn();
  assert.ok(before.step >= 20 && before.losses.length === before.step, JSON.stringify(before));
  // A live change of the learning rate, then full renders: the run must go on.
  await page.fill('#learn-lr', '0.005');
  await page.dispatchEvent('#learn-lr', 'change');
  await settle(page);
  assert.match(page.url(), /lr=0\.005/, 'the learning rate is in the link');
  await page.click('#lang-toggle');
  await settle(page);
  await page.setViewportSize({ width: 1000, height: 800 });
  await page.waitForTimeout(300); // the resize redraw waits 120 ms
  await settle(page);
  await page.waitForTimeout(200); // a restart would have posted step 0 by now
  let after = await learn();
  assert.equal(after.step, before.step, 'the step count is kept');
  // (A restart with train=N in the link would train back to the same step, from scratch with
  // the new rate: the losses tell the two apart.)
  assert.deepEqual(after.losses, before.losses, 'the losses are kept: the same run');
  // The next step uses the new rate: the worker heard it live.
  await page.click('#learn-step');
  await waitStep(page, before.step + 1);
  after = await learn();
  assert.deepEqual(after.losses.slice(0, -1), before.losses);
  assert.equal(after.losses.length, before.step + 1);
  assert.equal(after.update.lr, 0.005, 'the worker trains with the new learning rate');
  // Following another weight does not restart either.
  await page.selectOption('#learn-watch', 'lm_head.weight');
  await settle(page);
  await page.click('#lang-toggle');
  await settle(page);
  await page.click('#learn-step');
  await waitStep(page, before.step + 2);
  after = await learn();
  assert.deepEqual(after.losses.slice(0, -2), before.losses, 'still the same run');
  assert.equal(after.losses.length, before.step + 2);
  assert.equal(after.update.name, 'lm_head.weight');
  assert.match(page.url(), /watch=lm_head\.weight%3A0/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('predictions start near uniform and end with 散步 first', async () => {
  const fresh = await open(browser, '#panel=learn&lang=zh&step=4');
  await fresh.page.waitForSelector('#learn-pred-list li', { state: 'attached' });
  const p0 = await fresh.page.$$eval('#learn-pred-list li', (l) => l.map((x) => Number(x.dataset.prob)));
  assert.ok(p0[0] < 0.1, `untrained top probability ${p0[0]} is near uniform`);
  await fresh.context.close();
  const { page, context } = await open(browser, '#panel=learn&lang=zh&step=4&train=400');
  await page.waitForFunction(() => Number(document.querySelector('#learn-status').dataset.step) >= 400 && document.querySelector('#learn-play').getAttribute('aria-pressed') === 'false', null, { timeout: 90000 });
  assert.equal(await step(page), 400, 'a link with train=400 stops at step 400');
  const preds = await page.$$eval('#learn-pred-list li', (l) => l.map((x) => [x.dataset.token, Number(x.dataset.prob)]));
  assert.equal(preds[0][0], '散步', JSON.stringify(preds));
  const game = preds.find(([t]) => t === '打游戏');
  assert.ok(!game || preds[0][1] > 5 * game[1], 'well ahead of 打游戏');
  await page.screenshot({ path: SHOTS + 'learn-trained-zh.png', fullPage: true });
  await context.close();
});

test('the same link gives the same loss at step 100', async () => {
  const run = async () => {
    const { page, context } = await open(browser, '#panel=learn&lang=en&corpus=en&size=tiny&opt=adam&lr=0.01&batch=8&tseed=7&train=100&step=3');
    await page.waitForFunction(() => Number(document.querySelector('#learn-status').dataset.step) >= 100 && document.querySelector('#learn-play').getAttribute('aria-pressed') === 'false', null, { timeout: 60000 });
    const loss = await page.$eval('#learn-status', (e) => e.dataset.loss);
    await context.close();
    return loss;
  };
  const a = await run(), b = await run();
  assert.ok(a.length > 0);
  assert.equal(a, b);
});

test('statistics: after 天 comes 气 (characters), and a custom corpus is kept', async () => {
  const { page, context } = await open(browser, '#panel=learn&lang=zh&step=1&tmode=char&stok=%E5%A4%A9');
  const next = await page.$$eval('#learn-next-list li', (l) => l.map((x) => x.dataset.token));
  assert.equal(next[0], '气');
  await page.selectOption('#learn-corpus', 'custom');
  const long = 'a b c. '.repeat(30000); // 210 000 characters
  await page.fill('#learn-custom', long);
  await page.waitForFunction(() => /200,000/.test(document.querySelector('#learn-custom-note').textContent));
  assert.match(await page.textContent('#learn-custom-note'), /200,000/);
  assert.equal((await page.inputValue('#learn-custom')).length, long.length, 'nothing the user typed is lost');
  const counts = await page.$$eval('#learn-counts-list li', (l) => l.map((x) => x.dataset.token));
  assert.ok(counts.includes('a') && counts.includes('.'), counts.join(','));
  await context.close();
  // The text survives a reload (it is too long for the link, so it lives in this browser).
  const again = await open(browser, '#panel=learn&lang=zh&step=0&corpus=custom');
  await again.context.close();
});

test('a NaN learning rate in the link gives a notice, not a crash', async () => {
  const { page, errors, context } = await open(browser, '#panel=learn&lang=en&lr=NaN&batch=1000&size=huge');
  const notices = await page.$$eval('.notice-text', (n) => n.map((x) => x.textContent));
  assert.ok(notices.some((n) => n.includes('lr')), notices.join(' | '));
  assert.ok(notices.some((n) => n.includes('batch')));
  assert.equal(await page.inputValue('#learn-lr'), '0.01');
  await page.click('#learn-step');
  await waitStep(page, 1);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a learning rate or seed out of the link\'s range is kept as typed, marked, and said in the page\'s language; the model keeps its last valid value', async () => {
  const { page, errors, context } = await open(browser, '#panel=learn&lang=zh&step=2');
  const look = (id) => page.evaluate((id) => {
    const i = document.getElementById(id), m = document.getElementById(`${id}-error`);
    return { value: i.value, invalid: i.getAttribute('aria-invalid'), shown: !!m && !m.hidden && m.getBoundingClientRect().height > 0, say: m?.textContent ?? '', described: i.getAttribute('aria-describedby') };
  }, id);
  for (const typed of ['-1', '0', '5', '1e9', '', '0.0000001']) {
    await page.fill('#learn-lr', typed);
    await page.press('#learn-lr', 'Tab');
    await settle(page);
    const f = await look('learn-lr');
    assert.equal(f.value, typed, `what was typed (${typed}) stays in the field`);
    assert.equal(f.invalid, 'true', `${typed} is marked invalid`);
    assert.ok(f.shown, `${typed}: a message is shown`);
    assert.equal(f.described, 'learn-lr-error');
    assert.match(f.say, /0\.00001.*1.*0\.01/, `the message names the range and the value in use: ${f.say}`);
    assert.match(f.say, /[\u4e00-\u9fff]/, 'in Chinese on a zh page');
    assert.equal(await page.evaluate(() => window.lmApp.state.lr), 0.01, 'the model keeps its last valid value');
    assert.doesNotMatch(page.url(), /lr=/);
  }
  // A language switch says it again in English and keeps the typed text.
  await page.click('#lang-toggle');
  await settle(page);
  let f = await look('learn-lr');
  assert.equal(f.value, '0.0000001');
  assert.match(f.say, /^Type a number from 0\.00001 to 1; until then 0\.01 is used\.$/);
  // Corrected: the mark and the message go, the state and the link take the value.
  await page.fill('#learn-lr', '0.05');
  await page.press('#learn-lr', 'Tab');
  await settle(page);
  f = await look('learn-lr');
  assert.equal(f.invalid, null);
  assert.equal(f.shown, false);
  assert.equal(await page.evaluate(() => window.lmApp.state.lr), 0.05);
  assert.match(page.url(), /lr=0\.05/);
  // The seed: a whole number from 0 to 2147483647, as in the link.
  for (const typed of ['-3', '1.5', '', '3000000000']) {
    await page.fill('#learn-seed', typed);
    await page.press('#learn-seed', 'Tab');
    await settle(page);
    f = await look('learn-seed');
    assert.equal(f.value, typed);
    assert.equal(f.invalid, 'true', `seed ${typed} is marked invalid`);
    assert.match(f.say, /whole number from 0 to 2147483647; until then 1 is used/);
    assert.equal(await page.evaluate(() => window.lmApp.state.tseed), 1);
  }
  await page.fill('#learn-seed', '7');
  await page.press('#learn-seed', 'Tab');
  await settle(page);
  assert.equal((await look('learn-seed')).invalid, null);
  assert.equal(await page.evaluate(() => window.lmApp.state.tseed), 7);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the seed fields of the attention and layer panels check the link\'s range too', async () => {
  for (const [hash, id, key] of [['#panel=attention&lang=en', 'att-seed', 'seed'], ['#panel=layer&lang=en&lweights=random', 'lay-seed', 'lseed']]) {
    const { page, errors, context } = await open(browser, hash);
    await page.fill(`#${id}`, '-2');
    await page.press(`#${id}`, 'Tab');
    await settle(page);
    assert.equal(await page.inputValue(`#${id}`), '-2');
    assert.equal(await page.getAttribute(`#${id}`, 'aria-invalid'), 'true');
    assert.match(await page.textContent(`#${id}-error`), /whole number from 0 to 2147483647/);
    assert.equal(await page.evaluate((k) => window.lmApp.state[k], key), 1);
    await page.fill(`#${id}`, '5');
    await page.press(`#${id}`, 'Tab');
    await settle(page);
    assert.equal(await page.getAttribute(`#${id}`, 'aria-invalid'), null);
    assert.equal(await page.evaluate((k) => window.lmApp.state[k], key), 5);
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test('divergence stops training with a message and a reset', async () => {
  const { page, context } = await open(browser, '#panel=learn&lang=en&step=3');
  await page.evaluate(() => window.lmApp.panels.learn.onMessage({ type: 'error', diverged: true, message: 'training diverged: the loss is NaN' }));
  await settle(page);
  assert.match(await page.textContent('#learn-error'), /Training stopped: training diverged.*Reset/);
  assert.ok(await page.isDisabled('#learn-play'));
  await page.click('#learn-reset');
  await settle(page);
  assert.ok(await page.isHidden('#learn-error'));
  await page.click('#learn-step');
  await waitStep(page, 1);
  await context.close();
});

test('the bars still draw when the glyph worker cannot load', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.route('**/glyph-worker.js', (r) => r.abort());
  await page.goto(BASE + '#panel=learn&lang=zh&step=4');
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  await page.waitForSelector('#learn-pred-list li', { state: 'attached' });
  // The bars wait for the glyph worker; when it fails they must still draw, soon.
  for (let i = 0; i < 100 && await ink(page, '#learn-pred') <= 500; i++) await page.waitForTimeout(100);
  assert.ok(await ink(page, '#learn-pred') > 500, 'the prediction bars are drawn');
  assert.ok(await ink(page, '#learn-counts') > 500, 'the statistics bars too');
  await context.close();
});

test('embed mode and step-through work on the learning panel', async () => {
  const { page, errors, context } = await open(browser, '#panel=learn&lang=en&embed=1&step=3', { width: 960, height: 540 });
  assert.equal(await page.isVisible('header.site'), false);
  assert.ok(await page.isVisible('#learn-sec-3'));
  assert.equal(await page.isVisible('#learn-sec-1'), false);
  await page.keyboard.press('ArrowRight');
  await settle(page);
  assert.ok(await page.isVisible('#learn-sec-4'));
  assert.match(page.url(), /step=4/);
  await page.screenshot({ path: SHOTS + 'learn-embed-960x540.png' });
  assert.deepEqual(errors, []);
  await context.close();
});

test('embedded, the corpus preview fits the frame: whole lines, nothing cut at the foot, nothing scrolling', async () => {
  for (const [lang, width, height, hash] of [['zh', 960, 540, 'step=0'], ['en', 960, 540, 'step=0'], ['zh', 1280, 720, 'step=0'], ['zh', 960, 540, 'step=1']]) {
    const { page, errors, context } = await open(browser, `#panel=learn&lang=${lang}&embed=1&${hash}`, { width, height });
    if (hash === 'step=1') { // arriving at the step from the next one
      await page.keyboard.press('ArrowLeft');
      await settle(page);
    }
    const p = await page.$eval('#learn-preview', (e) => {
      const r = e.getBoundingClientRect();
      return { bottom: r.bottom, scroll: e.scrollHeight, client: e.clientHeight, lines: e.textContent.split('\n'), tab: e.tabIndex, inner: innerHeight };
    });
    const at = `${lang} ${width}×${height} ${hash}`;
    assert.ok(p.bottom <= p.inner, `${at}: the preview ends inside the frame (${p.bottom} > ${p.inner})`);
    assert.ok(p.scroll <= p.client + 1, `${at}: its text fits its box (${p.scroll} > ${p.client})`);
    assert.ok(p.lines.length >= 8, `${at}: it still shows the corpus (${p.lines.length} lines)`);
    assert.equal(p.lines.at(-1), '…', `${at}: the last line says there is more`);
    assert.equal(p.tab, -1, `${at}: a box that does not scroll is not a tab stop`);
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test('charts measure their text on the canvas: drawing one lays nothing out in the document', async () => {
  // plotters' default text measurement appends a <span> to the page and reads its size: a
  // forced layout of the page per label, on the main thread, and a crash in a worker.
  const { page, errors, context } = await open(browser, '#panel=learn&lang=zh&step=3');
  // (the worker's first report fills the lists: on a busy machine it may come after the page
  // is idle, and must not be counted)
  await page.waitForSelector('#learn-pred-list li', { state: 'attached' });
  await settle(page);
  const added = await page.evaluate(async () => {
    const { engine } = await import('./engine.js');
    const canvas = document.createElement('canvas');
    canvas.width = 600;
    canvas.height = 300;
    let n = 0;
    const seen = new MutationObserver((list) => { for (const r of list) n += r.addedNodes.length + r.removedNodes.length; });
    // (plotters' span goes straight into <body>: the panel's own updates deeper down, from a
    // worker message that may arrive meanwhile, are not counted)
    seen.observe(document.body, { childList: true });
    engine.drawLossCurve(canvas, Float32Array.of(4, 3, 2, 1.5), Float32Array.of(2.5), { dpr: 2, heldoutEvery: 2, xLabel: '步数', yLabel: '损失', trainLabel: '训练', heldoutLabel: '留出', refLine: 4.3, refLabel: 'ln 74' });
    engine.drawBars(canvas, ['散步', '打游戏'], Float32Array.of(0.6, 0.1), { dpr: 2 });
    await new Promise((r) => setTimeout(r, 0));
    seen.disconnect();
    return n;
  });
  assert.equal(added, 0, 'no element was added to the page to measure text');
  assert.deepEqual(errors, []);
  await context.close();
});
