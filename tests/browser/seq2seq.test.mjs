// The encoder–decoder panel in headless Chromium: the shipped model answers the seed article's
// example, the sentence about the head agrees with the numbers drawn, links reopen the same
// view, embed and step-through, both languages, unknown words.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle, ink, weightsTable, SHOTS } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const answer = (page) => page.$$eval('#s2s-out-tokens .token', (l) => l.map((b) => b.textContent));
const pressed = (page) => page.$eval('#s2s-out-tokens .token[aria-pressed="true"]', (b) => b.textContent);

test('the article’s example: 他应该多喝水, opened on 喝 and a head of the last layer that looks most at 感冒', async () => {
  const { page, errors, context } = await open(browser, '#panel=seq2seq&lang=zh');
  assert.deepEqual(await answer(page), ['他', '应该', '多', '喝', '水', '<eos>']);
  assert.equal(await pressed(page), '喝');
  const say = await page.$eval('#s2s-say', (e) => ({ text: e.textContent, src: e.dataset.source, w: Number(e.dataset.weight) }));
  assert.equal(say.src, '感冒', say.text);
  assert.match(say.text, /第 2 层/, 'the last decoder layer');
  // The sentence is computed from the drawn numbers: the table of the cross-attention heatmap.
  const table = await weightsTable(page, '#s2s-cross table');
  const cols = await page.$$eval('#s2s-cross table thead th', (l) => l.map((x) => x.textContent).slice(1));
  const row = table[3];
  const top = row.indexOf(Math.max(...row));
  assert.equal(cols[top], '感冒', `row of 喝: ${row}`);
  assert.ok(Math.abs(row[top] - say.w) < 1e-3, `${row[top]} vs ${say.w}`);
  for (const r of table) assert.ok(Math.abs(r.reduce((a, b) => a + b) - 1) < 1e-3, `a row sums to 1: ${r}`);
  // The head named is the one selected, and its row agrees with the JS API for the same weights.
  const head = Number(await page.inputValue('#s2s-head'));
  const api = await page.evaluate(async (head) => {
    const { engine } = await import('./engine.js');
    const bytes = new Uint8Array(await (await fetch('models/seq2seq-zh.safetensors')).arrayBuffer());
    const m = engine.Seq2Seq.fromSafetensors(bytes);
    const g = m.generate('小明今天感冒了', {});
    const L = m.config().n_decoder_layers;
    const r = Array.from(g.steps[3].cross[L - 1][head]);
    m.free();
    return r;
  }, head);
  api.forEach((v, j) => assert.ok(Math.abs(v - row[j]) < 1e-4, `API ${api} vs table ${row}`));
  for (const id of ['#s2s-lines canvas', '#s2s-cross canvas', '#s2s-self canvas']) assert.ok(await ink(page, id) > 2000, id);
  assert.equal(await page.$$eval('#s2s-heads figure', (l) => l.length), 4, '2 layers × 2 heads as small multiples');
  await page.screenshot({ path: SHOTS + 's2s-zh.png', fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('choosing a token, a layer and a head goes into the link and comes back from it', async () => {
  const { page, errors, context } = await open(browser, '#panel=seq2seq&lang=zh&step=1');
  await page.click('#s2s-out-tokens .token[data-index="0"]');
  await settle(page);
  assert.equal(await pressed(page), '他');
  assert.match(page.url(), /wtok=0/);
  await page.selectOption('#s2s-layer', { value: '0' });
  await page.selectOption('#s2s-head', { value: '1' });
  await settle(page);
  const url = page.url();
  assert.match(url, /layer=0/);
  assert.match(url, /xhead=1/);
  const say = await page.textContent('#s2s-say');
  assert.match(say, /第 1 层第 2 个头：写“他”时/);
  const again = await open(browser, new URL(url).hash);
  assert.equal(await again.page.textContent('#s2s-say'), say, 'the same view from the link');
  assert.deepEqual(await weightsTable(again.page, '#s2s-cross table'), await weightsTable(page, '#s2s-cross table'));
  await again.context.close();
  // Small multiples select a layer and head.
  await page.click('#s2s-head-0-0 canvas');
  await settle(page);
  assert.match(page.url(), /layer=0/);
  assert.match(page.url(), /xhead=0/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('English, a held-out combination, and unknown words', async () => {
  const { page, errors, context } = await open(browser, '#panel=seq2seq&lang=en');
  assert.deepEqual(await answer(page), ['he', 'should', 'drink', 'more', 'water', '<eos>']);
  assert.equal(await pressed(page), 'drink');
  assert.equal(await page.$eval('#s2s-say', (e) => e.dataset.source), 'cold');
  await page.selectOption('#s2s-preset', 'lily');
  await settle(page);
  assert.equal((await answer(page))[0], 'she', 'she for Lily, a pair never trained on');
  assert.equal(await page.isVisible('#s2s-heldout'), true);
  await page.fill('#s2s-src', 'Zorblax has a cold today');
  await settle(page);
  assert.match(await page.textContent('#s2s-unknown'), /Zorblax/);
  assert.ok((await answer(page)).includes('drink'), 'the model still answers from the other tokens');
  assert.match(page.url(), /src=Zorblax/);
  await page.fill('#s2s-src', '');
  await settle(page);
  assert.equal(await page.isVisible('#panel-seq2seq .error'), true, 'an empty sentence is a message, not a crash');
  assert.deepEqual(errors, []);
  await context.close();
});

test('embedded at 960×540: every step fits the frame, in both languages', async () => {
  for (const lang of ['zh', 'en']) {
    const { page, errors, context } = await open(browser, `#panel=seq2seq&lang=${lang}&embed=1&step=0`, { width: 960, height: 540 });
    for (let step = 0; step < 5; step++) { // the fifth, retraining, draws its curve in a worker
      if (step) {
        await page.keyboard.press('ArrowRight');
        await settle(page);
      }
      const fits = await page.evaluate(() => document.documentElement.scrollHeight <= innerHeight + 1 && document.documentElement.scrollWidth <= innerWidth + 1);
      assert.ok(fits, `${lang} step ${step + 1} fits 960×540`);
      const canvases = await page.$$eval('.step-section.current canvas', (l) => l.filter((c) => c.getBoundingClientRect().height > 0).length);
      if (step > 0) assert.ok(canvases > 0, `${lang} step ${step + 1} draws`);
      await page.screenshot({ path: `${SHOTS}s2s-embed-${lang}-${step + 1}.png` });
    }
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test('retraining in the page: the recipe from scratch, the loss falls and the head comes to look at 感冒', async () => {
  const { page, errors, context } = await open(browser, '#panel=seq2seq&lang=zh&step=4&rtrain=400');
  const status = () => page.$eval('#s2s-train-status', (e) => Number(e.dataset.step));
  await page.waitForFunction(() => Number(document.querySelector('#s2s-train-status')?.dataset.step) >= 400 && document.querySelector('#s2s-play').getAttribute('aria-pressed') === 'false', null, { timeout: 90000 });
  await settle(page);
  assert.equal(await status(), 400, 'a link with rtrain=400 stops there');
  assert.match(page.url(), /rtrain=400/);
  const say = await page.$eval('#s2s-train-say', (e) => ({ text: e.textContent, src: e.dataset.source }));
  assert.match(say.text, /他应该多喝水/, say.text);
  // What the sentence says is what the table shows: the row of 喝.
  const table = await weightsTable(page, '#s2s-now-cross table');
  const cols = await page.$$eval('#s2s-now-cross table thead th', (l) => l.map((x) => x.textContent).slice(1));
  const row = table[3];
  assert.equal(cols[row.indexOf(Math.max(...row))], say.src);
  const losses = await page.evaluate(() => window.lmApp.panels.seq2seq.training.losses);
  assert.equal(losses.length, 400);
  assert.ok(losses.slice(-20).reduce((a, b) => a + b) / 20 < 0.2 * losses[0], `loss ${losses[0]} → ${losses.at(-1)}`);
  assert.ok((await page.evaluate(() => window.lmApp.panels.seq2seq.curve.pixels())).ink > 2000, 'the worker drew the curve');
  // Start over: back to step 0, an untrained model that writes nonsense.
  await page.click('#s2s-reset');
  await page.waitForFunction(() => document.querySelector('#s2s-train-status')?.dataset.step === '0');
  assert.doesNotMatch(page.url(), /rtrain=/);
  assert.deepEqual(errors, []);
  await context.close();
});
