// The layer panel in headless Chromium: the rest of the block (residual, LayerNorm, FFN, second
// residual) read back from the text tables and checked against the JS API's
// forward('encoder_layer') on the same weights; the diagram's links land on their steps; the
// pre/post-norm switch; the stack's grid; temperature and top-k; links and zh/en (every
// embedded step at 480×270, 960×540 and 1280×720 in both languages: projector.test.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle, ink, weightsTable, SHOTS } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/**
 * In the page: the panel's model (untrained, from `seed`) traced on `text`, and layer `l` run
 * again through forward('encoder_layer') with that layer's weights and the traced input.
 */
const apiLayer = (page, text, l, seed, lang) => page.evaluate(async ({ text, l, seed, lang }) => {
  const { engine } = await import('./engine.js');
  const { deepSpec } = await import('./panels/learn.js');
  const m = new engine.Model(deepSpec(lang, seed));
  const tr = m.traceLayers(text, {});
  const cfg = m.config();
  const x = tr.layers[l].input;
  const args = { x: { shape: [1, ...x.shape], data: x.data }, heads: cfg.n_heads, activation: 'gelu', normFirst: true, causal: true };
  for (const name of ['self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias', 'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias']) {
    args[name] = m.param(`layers.${l}.${name}`);
  }
  const f = engine.forward('encoder_layer', args);
  const T = x.shape[0], C = x.shape[1];
  const rowOf = (t, r) => Array.from(t.data.subarray(r * C, (r + 1) * C));
  const out = { T, y: rowOf(f.y, T - 1), x: rowOf(x, T - 1), tokens: tr.tokens };
  m.free();
  return out;
}, { text, l, seed, lang });

const close = (a, b, tol, what) => a.forEach((v, j) => assert.ok(Math.abs(v - b[j]) <= tol, `${what}[${j}]: ${v} vs ${b[j]}`));

test('each step of the block agrees with forward("encoder_layer") for the same weights', async () => {
  const text = 'the weather is nice today , a good day for a';
  const { page, errors, context } = await open(browser, `#panel=layer&lang=en&lweights=random&lseed=3&blayer=1&step=1`);
  const api = await apiLayer(page, text, 1, 3, 'en');
  // 1 · r₁ = x + a: the rows add up, and x is the layer's input
  const res1 = await weightsTable(page, '#lay-res1 table');
  close(res1[0], api.x, 1e-4, 'x');
  res1[2].forEach((v, j) => assert.ok(Math.abs(v - (res1[0][j] + res1[1][j])) < 2e-4, `r₁ = x + a at ${j}`));
  // 2 · LayerNorm: the formula's μ and σ² are the table's input row's, the output γ·x̂ + β
  const ln = await weightsTable(page, '#lay-ln table');
  const C = ln[0].length;
  const mu = ln[0].reduce((a, b) => a + b) / C, v2 = ln[0].reduce((a, b) => a + (b - mu) ** 2, 0) / C;
  const formula = await page.textContent('#lay-ln-formula');
  assert.match(formula, new RegExp(`μ = ${mu.toFixed(3).replace('-', '-?')}`), formula);
  assert.ok(formula.includes(`σ² = ${v2.toFixed(3)}`), `${formula} vs σ² ${v2}`);
  ln[1].forEach((xh, j) => assert.ok(Math.abs(xh - (ln[0][j] - mu) / Math.sqrt(v2 + 1e-5)) < 2e-3, `x̂ at ${j}`));
  ln[4].forEach((y, j) => assert.ok(Math.abs(y - (ln[2][j] * ln[1][j] + ln[3][j])) < 2e-3, `γ·x̂ + β at ${j}`));
  // 4 · the layer's output (pre-norm: r₁ + f) is forward('encoder_layer')'s
  const res2 = await weightsTable(page, '#lay-res2 table');
  close(res2[2], api.y, 1e-4, 'y');
  res2[2].forEach((v, j) => assert.ok(Math.abs(v - (res2[0][j] + res2[1][j])) < 2e-4, `y = r₁ + f at ${j}`));
  // 3 · the FFN draws its three figures; the curve has every value of the token on it
  await page.evaluate(() => window.lmApp.setState({ step: 3 }));
  await settle(page);
  assert.ok(await ink(page, '#lay-up canvas') > 2000 && await ink(page, '#lay-down canvas') > 2000);
  assert.equal(await page.$$eval('#lay-act circle', (l) => l.length), 128);
  const neg = await page.$$eval('#lay-act circle.cut', (l) => l.length);
  assert.ok((await page.textContent('#lay-act-say')).includes(`${neg} were negative`));
  assert.deepEqual(errors, []);
  await context.close();
});

test('the other norm placement: post-norm output of the same layer agrees with forward("encoder_layer")', async () => {
  const { page, errors, context } = await open(browser, '#panel=layer&lang=en&lweights=random&step=5&blayer=0');
  const cmp = await weightsTable(page, '#lay-norm-cmp table');
  const api = await page.evaluate(async () => {
    const { engine } = await import('./engine.js');
    const { deepSpec } = await import('./panels/learn.js');
    const m = new engine.Model(deepSpec('en', 1));
    const x = m.traceLayers('the weather is nice today , a good day for a', {}).layers[0].input;
    const args = { x: { shape: [1, ...x.shape], data: x.data }, heads: 4, activation: 'gelu', normFirst: false, causal: true };
    for (const n of ['self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias', 'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias']) args[n] = m.param(`layers.0.${n}`);
    const y = engine.forward('encoder_layer', args).y;
    const [, T, C] = y.shape;
    m.free();
    return Array.from(y.data.subarray((T - 1) * C, T * C));
  });
  close(cmp[1], api, 1e-4, 'post-norm y');
  cmp[2].forEach((d, j) => assert.ok(Math.abs(d - (cmp[1][j] - cmp[0][j])) < 2e-4, 'difference'));
  // The switch traces the layer post-norm in every step (and says so).
  await page.check('#lay-swap');
  await settle(page);
  assert.match(page.url(), /lswap=1/);
  assert.match(await page.textContent('#lay-weights-note'), /post-norm/);
  assert.equal(await page.$$eval('#lay-diagram .box-norm', (l) => l.length), 2);
  assert.match(await page.textContent('#lay-res2-formula'), /LayerNorm/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the diagram’s boxes are links to their steps', async () => {
  const { page, errors, context } = await open(browser, '#panel=layer&lang=en&lweights=random');
  const boxes = await page.$$eval('#lay-diagram a.box', (l) => l.map((a) => [a.textContent, a.getAttribute('href')]));
  assert.ok(boxes.length >= 8, JSON.stringify(boxes));
  await page.click('#lay-diagram a.box-ffn');
  await page.waitForFunction(() => window.lmApp.state.step === 3);
  await settle(page);
  assert.ok(await page.$eval('#lay-sec-3', (s) => s.classList.contains('current')));
  await page.click('#lay-step-prev');
  await settle(page);
  assert.equal(await page.evaluate(() => window.lmApp.state.step), 2);
  // The attention box opens the attention panel.
  await page.evaluate(() => window.lmApp.setState({ step: 0 }));
  await settle(page);
  await page.click('#lay-diagram a.box-attn');
  await page.waitForFunction(() => window.lmApp.state.panel === 'attention');
  assert.deepEqual(errors, []);
  await context.close();
});

test('temperature and top-k change the probabilities; the draw is the same for the same link', async () => {
  const { page, errors, context } = await open(browser, '#panel=layer&lang=en&lweights=random&step=8');
  const probs = () => page.$$eval('#lay-out-list li', (l) => l.map((x) => Number(/ ([\d.]+)%/.exec(x.textContent)[1])));
  const p1 = await probs();
  // (the slider's value is log10 τ)
  await page.$eval('#lay-temp', (e) => { e.value = String(Math.log10(0.5)); e.dispatchEvent(new Event('input', { bubbles: true })); });
  await settle(page);
  const p05 = await probs();
  assert.ok(p05[0] > p1[0], `a lower temperature sharpens: ${p1[0]} → ${p05[0]}`);
  assert.match(page.url(), /temp=0\.5/);
  await page.selectOption('#lay-topk', { value: '3' });
  await settle(page);
  const p3 = await probs();
  assert.equal(p3.length, 3);
  assert.ok(Math.abs(p3.reduce((a, b) => a + b) - 100) < 0.2, `top-3 sums to 100%: ${p3}`);
  const say = await page.textContent('#lay-out-say');
  const url = page.url();
  const again = await open(browser, url.slice(url.indexOf('#')));
  assert.equal(await again.page.textContent('#lay-out-say'), say, 'a link replays the same draw');
  await again.context.close();
  assert.ok(await ink(page, '#lay-out-bars') > 1000);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the temperature slider spans the link\'s range, and the drawn token is always among the bars, marked', async () => {
  const { page, errors, context } = await open(browser, '#panel=layer&lang=zh&embed=1&step=8&temp=10&topk=50', { width: 960, height: 540 });
  const slider = () => page.$eval('#lay-temp', (e) => ({ value: +e.value, min: +e.min, max: +e.max, text: e.getAttribute('aria-valuetext'), out: document.querySelector('#lay-temp-out').textContent }));
  let s = await slider();
  assert.equal(s.value, s.max, 'τ = 10, the link\'s largest, puts the thumb at the end');
  assert.equal(s.out, '10.00');
  assert.equal(s.text, 'τ = 10.00');
  // The ends of the slider give the link's ends, and τ = 1 lies between them.
  for (const [v, want] of [[s.max, 10], [s.min, 0.05]]) {
    await page.$eval('#lay-temp', (e, v) => { e.value = String(v); e.dispatchEvent(new Event('input', { bubbles: true })); }, v);
    await settle(page);
    assert.equal(await page.evaluate(() => window.lmApp.state.temp), want);
  }
  await page.goto(page.url().replace(/temp=[^&]*/, 'temp=1'));
  await settle(page);
  s = await slider();
  assert.ok(s.value > s.min && s.value < s.max && Math.abs(s.value) < 1e-9, `τ = 1 at log10 τ = 0: ${s.value}`);
  // The drawn token, even far down the list, is in the bars and their list, marked with its rank.
  for (const sseed of [1, 2, 3, 4, 5, 6]) {
    await page.goto(page.url().replace(/&sseed=\d+|$/, '').replace(/temp=[^&]*/, 'temp=10') + `&sseed=${sseed}`);
    await settle(page);
    const { say, items, label } = await page.evaluate(() => ({
      say: document.querySelector('#lay-out-say').textContent,
      items: [...document.querySelectorAll('#lay-out-list li')].map((l) => ({ text: l.textContent, drawn: l.dataset.drawn === '1' })),
      label: document.querySelector('#lay-out-bars').getAttribute('aria-label') ?? document.querySelector('#lay-out-bars').textContent,
    }));
    const drawn = /抽到“(.+?)”/.exec(say)[1];
    const marked = items.filter((x) => x.drawn);
    assert.equal(marked.length, 1, `one drawn bar (sseed ${sseed}): ${JSON.stringify(items)}`);
    assert.ok(marked[0].text.startsWith(`✓ ${drawn}`), `the drawn “${drawn}” is marked: ${marked[0].text}`);
    assert.ok(label.includes(`✓ ${drawn}`), 'the bars\' text alternative names it too');
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('the stack grid shows every layer’s heads; a click opens that layer and head', async () => {
  const { page, errors, context } = await open(browser, '#panel=layer&lang=zh&lweights=random&step=6');
  assert.equal(await page.$$eval('#lay-grid figure', (l) => l.length), 16, '4 layers × 4 heads');
  for (const id of ['#lay-head-0-0', '#lay-head-3-3']) assert.ok(await ink(page, `${id} canvas`) > 300, id);
  await page.$eval('#lay-head-2-1 details.alt', (d) => { d.open = true; });
  const w = await weightsTable(page, '#lay-head-2-1 table');
  assert.equal(w.length, 7, 'the table of a head (filled when opened)');
  w.forEach((r, i) => r.forEach((v, j) => j > i && assert.equal(v, 0, 'causal')));
  // Untrained, a click opens that layer here (the attention panel draws the shipped model).
  await page.click('#lay-head-2-1 canvas');
  await settle(page);
  const s = await page.evaluate(() => window.lmApp.state);
  assert.deepEqual([s.panel, s.blayer, s.head], ['layer', 2, 1]);
  assert.deepEqual(errors, []);
  await context.close();
});

test('trained weights: the shipped model writes 散步 after 今天天气真好，适合去, and the stack grid opens that layer and head in the attention panel', async () => {
  const { page, errors, context } = await open(browser, '#panel=layer&lang=zh&step=8');
  const first = await page.$eval('#lay-out-list li', (l) => l.textContent);
  assert.match(first, /^(✓ )?散步 /, first); // (✓: the token drawn)
  assert.match(await page.textContent('#lay-weights-note'), /训练过的权重/);
  // The recipe that trained it, and the learning panel's link that trains the same model here.
  assert.match(await page.textContent('#lay-recipe'), /stack-zh.*1000/);
  const retrain = await page.getAttribute('#lay-retrain', 'href');
  for (const kv of ['panel=learn', 'size=deep', 'train=1000']) assert.ok(retrain.includes(kv), `${kv} in ${retrain}`);
  // The grid's captions name a head's pattern only where its weights show one.
  await page.evaluate(() => window.lmApp.setState({ step: 6 }));
  await settle(page);
  const captions = await page.$$eval('#lay-grid figcaption', (l) => l.map((x) => x.textContent));
  assert.equal(captions.length, 16);
  const named = captions.findIndex((c) => /看前一个词|看自己|看第一个词/.test(c));
  assert.ok(named >= 0, captions.join(' | '));
  const [l, h] = [Math.floor(named / 4), named % 4];
  await page.$eval(`#lay-head-${l}-${h} details.alt`, (d) => { d.open = true; });
  const grid = await weightsTable(page, `#lay-head-${l}-${h} table`);
  assert.equal(grid.length, 7);
  await page.click(`#lay-head-${l}-${h} canvas`);
  await page.waitForFunction(() => window.lmApp.state.panel === 'attention');
  await settle(page);
  const s = await page.evaluate(() => window.lmApp.state);
  assert.deepEqual([s.aw, s.alayer, s.head, s.step], ['trained', l, h, 4]);
  assert.deepEqual(await weightsTable(page), grid, 'the same head’s weights');
  assert.deepEqual(errors, []);
  await context.close();
});
