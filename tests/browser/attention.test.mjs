// The attention panel in headless Chromium: load, interact, read values back, count pixels,
// and save screenshots to target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle, ink, weightsTable, SHOTS, BASE } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const tokens = (page) => page.$$eval('#tokens .tok-text', (b) => b.map((x) => x.textContent));

test('loads cleanly, draws the weights, and every row sums to 1', async () => {
  const { page, errors, offsite, context } = await open(browser, '#lang=en&preset=tianqi');
  assert.deepEqual(errors, [], 'no console errors');
  assert.deepEqual(await tokens(page), ['今天', '天气', '真', '好'], 'the preset is segmented as in the article');
  assert.ok(await ink(page, '#chart-weights canvas') > 5000, 'the weights heatmap has drawn pixels');
  assert.ok(await ink(page, '#chart-vectors canvas') > 5000, 'the vectors are drawn');
  const w = await weightsTable(page);
  assert.equal(w.length, 4);
  for (const row of w) assert.ok(Math.abs(row.reduce((a, b) => a + b) - 1) < 1e-5, `row sums to 1: ${row}`);
  await page.screenshot({ path: SHOTS + 'attention-desktop.png', fullPage: true });
  assert.deepEqual(offsite, [], 'no request leaves the origin');
  await context.close();
});

test('typing a sentence changes the tokens; the text is kept in the link', async () => {
  const { page, context } = await open(browser, '#lang=en');
  await page.fill('#att-text', 'the cat sat on the mat');
  await settle(page);
  assert.deepEqual(await tokens(page), ['the', 'cat', 'sat', 'on', 'the', 'mat']);
  assert.match(page.url(), /text=the%20cat%20sat%20on%20the%20mat/);
  assert.equal((await weightsTable(page)).length, 6);
  // Empty text: an error message, the input keeps what was typed, nothing crashes.
  await page.fill('#att-text', '   ');
  await settle(page);
  assert.ok(await page.isVisible('#panel-attention .error'));
  assert.equal(await page.inputValue('#att-text'), '   ');
  await page.fill('#att-text', '你是谁');
  await settle(page);
  assert.deepEqual(await tokens(page), ['你', '是', '谁']);
  await context.close();
});

test('the causal mask zeroes the upper triangle', async () => {
  const { page, context } = await open(browser, '#lang=en&preset=xiaoming');
  const before = await weightsTable(page);
  assert.ok(before[0][1] > 0, 'without the mask the first token looks right');
  await page.check('#att-causal');
  await settle(page);
  const w = await weightsTable(page);
  for (let i = 0; i < w.length; i++) {
    for (let j = i + 1; j < w.length; j++) assert.equal(w[i][j], 0, `weight[${i}][${j}]`);
    assert.ok(Math.abs(w[i].reduce((a, b) => a + b) - 1) < 1e-5);
  }
  assert.equal(w[0][0], 1, 'the first token can only look at itself');
  assert.match(page.url(), /causal=1/);
  await context.close();
});

test('copy link → a new page shows the same tokens and the same weights', async () => {
  const { page, context } = await open(browser, '#lang=en');
  await page.fill('#att-text', '小明今天感冒了');
  await page.selectOption('#att-d', '32');
  await page.selectOption('#att-h', '4');
  await page.fill('#att-seed', '12345');
  await page.dispatchEvent('#att-seed', 'change');
  await page.check('#att-causal');
  await page.click('#tokens button[data-index="2"]');
  await settle(page);
  await page.click('#copy-link');
  const url = await page.inputValue('#share-url');
  assert.ok(url.startsWith(BASE), url);
  const w1 = await weightsTable(page);
  const t1 = await tokens(page);
  const other = await open(browser, url.slice(BASE.length));
  assert.deepEqual(await tokens(other.page), t1);
  assert.deepEqual(await weightsTable(other.page), w1, 'same random weights from the seed');
  assert.equal(await other.page.getAttribute('#tokens button[data-index="2"]', 'aria-pressed'), 'true', 'same selected token');
  assert.deepEqual(other.errors, []);
  await other.context.close();
  await context.close();
});

test('steps move with the keyboard and are part of the link', async () => {
  const { page, context } = await open(browser, '#lang=en&step=3');
  assert.equal(await page.getAttribute('#sec-3', 'class'), 'step-section current');
  await page.keyboard.press('ArrowRight');
  await settle(page);
  assert.match(page.url(), /step=4/);
  await page.keyboard.press(' ');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await settle(page);
  assert.match(page.url(), /step=3/);
  assert.match(await page.textContent('#step-of'), /Step 4 of 8/);
  // Hovering a weight shows its exact value.
  const box = await page.$eval('#chart-weights canvas', (c) => { c.scrollIntoView({ block: 'center' }); const r = c.getBoundingClientRect(); return { x: r.x, y: r.y }; });
  const layout = await page.evaluate(() => window.lmApp.panels.attention.weights.layout);
  await page.mouse.move(box.x + layout.x0 + layout.cellW * 1.5, box.y + layout.y0 + layout.cellH * 0.5);
  const tip = await page.textContent('#chart-weights .tip');
  const w = await weightsTable(page);
  assert.ok(tip.includes(w[0][1].toFixed(4)), `tooltip "${tip}" shows ${w[0][1]}`);
  // Keyboard users get the same: focus the canvas, arrows move a cursor.
  await page.focus('#chart-weights canvas');
  await page.keyboard.press('ArrowDown');
  assert.ok((await page.textContent('#chart-weights .tip')).includes(w[0][0].toFixed(4)));
  await context.close();
});

test('embed mode shows only the panel and fits small and large frames', async () => {
  for (const [w, h] of [[480, 270], [1280, 720]]) {
    const { page, errors, context } = await open(browser, '#lang=en&embed=1&step=4', { width: w, height: h });
    assert.equal(await page.isVisible('header.site'), false, 'no header');
    assert.equal(await page.isVisible('.article'), false, 'no article text');
    assert.ok(await page.isVisible('#sec-4'));
    assert.equal(await page.isVisible('#sec-1'), false, 'only the current step');
    assert.ok(await ink(page, '#chart-weights canvas') > 2000);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no horizontal scrolling at ${w}×${h}`);
    await page.screenshot({ path: SHOTS + `embed-${w}x${h}.png` });
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test('lang=en and lang=zh show the matching strings', async () => {
  const en = await open(browser, '#lang=en');
  assert.equal(await en.page.textContent('#tab-attention'), 'Attention');
  assert.equal(await en.page.getAttribute('html', 'lang'), 'en');
  const zh = await open(browser, '#lang=zh');
  assert.equal(await zh.page.textContent('#tab-attention'), '注意力');
  assert.equal(await zh.page.getAttribute('html', 'lang'), 'zh-CN');
  assert.match(await zh.page.textContent('#step-text'), /词元/);
  // Switching in the page updates the strings and the link.
  await zh.page.click('#lang-toggle');
  await settle(zh.page);
  assert.equal(await zh.page.textContent('#tab-attention'), 'Attention');
  assert.match(zh.page.url(), /lang=en/);
  // With no lang in the link, a Chinese browser gets Chinese.
  const auto = await open(browser, '', { lang: 'zh-CN' });
  assert.equal(await auto.page.textContent('#tab-attention'), '注意力');
  for (const p of [en, zh, auto]) await p.context.close();
});

test('an invalid link opens a working page with a notice', async () => {
  const { page, errors, context } = await open(browser, '#v=1&lang=en&d=1000000000&h=77&seed=banana&zzz=1&step=-4&%E0%A4%A&text=' + 'a%20'.repeat(300));
  const notices = await page.$$eval('.notice-text', (n) => n.map((x) => x.textContent));
  assert.ok(notices.some((n) => n.includes('d = 1000000000') && n.includes('512')), notices.join(' | '));
  assert.ok(notices.some((n) => n.includes('zzz')));
  // The tokens left out are said under the text box and under the tokens, not above the form.
  assert.ok(!notices.some((n) => n.includes('24 tokens')), notices.join(' | '));
  for (const id of ['#att-text-dropped', '#tokens-dropped']) {
    assert.match(await page.textContent(id), /Only the first 24 tokens are used; left out: “a a a/);
  }
  assert.equal(await page.inputValue('#att-d'), '512');
  assert.ok(await ink(page, '#chart-weights canvas') > 5000, 'and it still draws');
  assert.deepEqual(errors, []);
  await context.close();
  const garbage = await open(browser, '#%%%&&&==&lang=en');
  assert.deepEqual(await tokens(garbage.page), ['The', 'cat', 'sat', 'on', 'the', 'mat']);
  await garbage.context.close();
});

test('a classroom link hides the chosen controls', async () => {
  const { page, context } = await open(browser, '#lang=en');
  await page.click('#classroom summary');
  await page.check('#hide-seed');
  await page.check('#hide-d');
  const url = await page.inputValue('#classroom-url');
  assert.match(url, /d_hide=1/);
  assert.match(url, /seed_hide=1/);
  const other = await open(browser, url.slice(BASE.length));
  assert.equal(await other.page.isVisible('#att-seed'), false);
  assert.equal(await other.page.isVisible('#att-d'), false);
  assert.ok(await other.page.isVisible('#att-h'));
  await other.context.close();
  await context.close();
});

test('readable at 375 px wide', async () => {
  const { page, errors, context } = await open(browser, '#lang=zh&preset=nishishui', { width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling (overflow ${overflow}px)`);
  assert.ok(await ink(page, '#chart-weights canvas') > 2000);
  await page.screenshot({ path: SHOTS + 'attention-375.png', fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('trained weights: the sentence on the selected head is measured on the weights drawn', async () => {
  const { page, errors, context } = await open(browser, '#lang=zh&preset=tianqi&step=4');
  assert.equal(await page.inputValue('#att-weights'), 'auto');
  assert.match(await page.textContent('#att-weights-note'), /训练过的权重/);
  assert.match(await page.$eval('#att-d', (s) => s.selectedOptions[0].textContent), /^32/);
  assert.ok(await page.isChecked('#att-causal'), 'trained with the causal mask');
  // For every head of every layer: a named pattern is the mean of the weights the table shows.
  let named = 0;
  for (let l = 0; l < 4; l++) {
    for (let h = 0; h < 4; h++) {
      await page.evaluate(({ l, h }) => window.lmApp.setState({ alayer: l, head: h }), { l, h });
      await settle(page);
      const w = await weightsTable(page);
      const say = await page.textContent('#att-pattern');
      const m = /(看前一个词|看它自己|看第一个词)（平均 ([\d.]+)）/.exec(say);
      const rows = w.slice(1);
      const mean = (f) => rows.reduce((a, r, i) => a + f(r, i + 1), 0) / rows.length;
      const means = { 看前一个词: mean((r, i) => r[i - 1]), 看它自己: mean((r, i) => r[i]), 看第一个词: mean((r) => r[0]) };
      if (m) {
        named++;
        assert.ok(Math.abs(means[m[1]] - Number(m[2])) < 0.006, `${say} vs ${JSON.stringify(means)}`);
      } else {
        // (clear: ≥ 1/2 and ≥ a quarter above what an even head puts there, heads.rs)
        const T = w.length, chance = [...Array(T - 1).keys()].reduce((a, i) => a + 1 / (i + 2), 0) / (T - 1);
        const floor = Math.max(0.5, chance + 0.25);
        assert.ok(Object.values(means).every((v) => v < floor + 1e-6), `no pattern named, none ≥ ${floor}: ${JSON.stringify(means)}`);
      }
    }
  }
  assert.ok(named >= 1, 'the trained model has at least one clear head on this sentence');
  // Random weights on the same sentence: said so, and the sizes are the panel's again.
  await page.selectOption('#att-weights', { value: 'random' });
  await settle(page);
  assert.match(await page.textContent('#att-weights-note'), /随机权重/);
  assert.equal(await page.inputValue('#att-d'), '16');
  assert.equal(await page.textContent('#att-pattern'), '');
  // English: the preset the model knows opens trained; the cat is read with random weights.
  const en = await open(browser, '#lang=en&preset=weather');
  assert.match(await en.page.textContent('#att-weights-note'), /^Trained weights/);
  await en.context.close();
  const cat = await open(browser, '#lang=en&preset=cat');
  assert.match(await cat.page.textContent('#att-weights-note'), /does not know/);
  await cat.context.close();
  assert.deepEqual(errors, []);
  await context.close();
});
