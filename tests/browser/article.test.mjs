// The seed article's own numbers in the attention panel: the article preset (你/是/谁 with
// hand-set vectors, weights 0.1, 0.7, 0.2 computed by the engine) and the heads8 preset
// (8 heads × 64 = 512), in both languages, on the page and embedded at 960×540.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle, ink, weightsTable, SHOTS, BASE } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const close = (got, want, what) => got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-4, `${what}: ${got} ≈ ${want}`));
const noScroll = async (page) => {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling (${overflow}px)`);
};

for (const lang of ['zh', 'en']) {
  test(`article preset (${lang}): the engine's weights are 0.10 / 0.70 / 0.20, the sum is written out, and the page says what was set by hand`, async () => {
    const { page, errors, context } = await open(browser, `#preset=article&lang=${lang}&step=4`);
    assert.deepEqual(errors, []);
    assert.equal(await page.inputValue('#att-preset'), 'article');
    const w = await weightsTable(page);
    assert.equal(w.length, 3);
    close(w[0], [0.1, 0.7, 0.2], 'the weights of 你 (step 5 table)');
    // The hand-set vectors, with their numbers, in the vectors step's table.
    await page.click('#chart-vectors details.alt > summary');
    const x = await weightsTable(page, '#chart-vectors table');
    close(x[0], [2, 1, 0, 0], 'x(你)');
    close(x[1], [2.5 + Math.log(7), 0, 1, 0], 'x(是)');
    close(x[2], [2.5 + Math.log(2), 0, 0, 1], 'x(谁)');
    assert.equal(await page.textContent('#formula'), '0.10 × V₁(你) + 0.70 × V₂(是) + 0.20 × V₃(谁)');
    assert.equal(await page.textContent('#formula-numbers'), '= 0.10 × [2.00, 1.00, 0.00, 0.00] + 0.70 × [4.45, 0.00, 1.00, 0.00] + 0.20 × [3.19, 0.00, 0.00, 1.00] = [3.95, 0.10, 0.70, 0.20]');
    const handSet = lang === 'zh' ? /手工设定/ : /set by hand/i;
    assert.match(await page.textContent('#article-note'), handSet);
    assert.match(await page.textContent('#att-intro'), handSet);
    assert.match(await page.textContent('#att-controls-note'), lang === 'zh' ? /不起作用/ : /do not apply/);
    assert.match(await page.textContent('#chart-vectors figcaption'), handSet);
    assert.match(await page.textContent('#concat-shapes'), lang === 'zh' ? /^1 个头 × 4 = 4/ : /^1 head × 4 = 4/);
    // d, h and seed show the example's own values and say they were set by hand.
    assert.match(await page.$eval('#att-d', (s) => s.selectedOptions[0].textContent), lang === 'zh' ? /^4（手工设定）$/ : /^4 \(set by hand\)$/);
    assert.equal(await page.inputValue('#att-h'), '1');
    assert.equal(await page.inputValue('#att-seed'), '');
    await context.close();
    // Embedded at 960×540: the weighted sum, and the vectors, as a teacher would project them.
    for (const step of [5, 1]) {
      const e = await open(browser, `#preset=article&lang=${lang}&step=${step}&embed=1`, { width: 960, height: 540 });
      assert.deepEqual(e.errors, []);
      assert.ok(await e.page.isVisible('#article-note'), 'the note is on the slide');
      if (step === 5) {
        assert.ok(await e.page.isVisible('#formula-numbers'));
        assert.ok(await ink(e.page, '#chart-result canvas') > 2000);
      } else {
        assert.ok(await ink(e.page, '#chart-vectors canvas') > 5000);
      }
      await noScroll(e.page);
      await e.page.screenshot({ path: SHOTS + `article-step${step + 1}-960x540-${lang}.png` });
      await e.context.close();
    }
  });

  test(`heads8 preset (${lang}): d_model 512, 8 heads of 64, eight head maps, and the shapes say 512`, async () => {
    const { page, errors, context } = await open(browser, `#preset=heads8&lang=${lang}`);
    assert.deepEqual(errors, []);
    assert.equal(await page.inputValue('#att-preset'), 'heads8');
    assert.equal(await page.inputValue('#att-d'), '512');
    assert.equal(await page.inputValue('#att-h'), '8');
    assert.equal(await page.$$eval('#heads-grid figure', (f) => f.length), 8);
    for (let h = 0; h < 8; h++) assert.ok(await ink(page, `#chart-head-${h} canvas`) > 1000, `head ${h + 1} is drawn`);
    assert.match(await page.textContent('#concat-shapes'), lang === 'zh' ? /^8 个头 × 64 = 512 = d_model。拼接 \[\d+, 512\]/ : /^8 heads × 64 = 512 = d_model\. {2}concat \[\d+, 512\]/);
    assert.match(page.url(), new RegExp(`#v=1&lang=${lang}&preset=heads8$`), 'the sizes are the preset’s: not repeated in the link');
    await context.close();
    for (const step of [6, 7]) {
      const e = await open(browser, `#preset=heads8&lang=${lang}&step=${step}&embed=1`, { width: 960, height: 540 });
      assert.deepEqual(e.errors, []);
      if (step === 6) {
        assert.equal(await e.page.$$eval('#heads-grid figure', (f) => f.filter((x) => x.getBoundingClientRect().height > 0).length), 8, 'eight maps on the slide');
        for (let h = 0; h < 8; h++) assert.ok(await ink(e.page, `#chart-head-${h} canvas`) > 1000);
      } else {
        assert.ok(await e.page.isVisible('#concat-shapes'));
        assert.ok(await ink(e.page, '#chart-concat canvas') > 20000);
        assert.ok(await ink(e.page, '#chart-output canvas') > 20000);
      }
      await noScroll(e.page);
      await e.page.screenshot({ path: SHOTS + `heads8-step${step + 1}-960x540-${lang}.png` });
      await e.context.close();
    }
  });
}

test('both preset links round-trip through Copy link', async () => {
  for (const preset of ['article', 'heads8']) {
    const { page, context } = await open(browser, `#preset=${preset}&lang=en&step=4`);
    await page.click('#copy-link');
    const url = await page.inputValue('#share-url');
    assert.ok(url.startsWith(BASE), url);
    assert.match(url, new RegExp(`preset=${preset}`));
    const w1 = await weightsTable(page);
    const other = await open(browser, url.slice(BASE.length));
    assert.deepEqual(other.errors, []);
    assert.equal(await other.page.inputValue('#att-preset'), preset);
    assert.deepEqual(await weightsTable(other.page), w1, `${preset}: the same weights`);
    assert.equal(other.page.url(), page.url(), `${preset}: the same link`);
    await other.context.close();
    await context.close();
  }
});

test('the presets are in the list; choosing one sets it, and changing d, h, seed or the text leaves it cleanly', async () => {
  const { page, errors, context } = await open(browser, '#lang=en');
  const options = await page.$$eval('#att-preset option', (o) => o.map((x) => x.value));
  assert.ok(options.includes('article') && options.includes('heads8'), options.join());
  // Into the article's example from a page with other sizes, and out by each control.
  const leaveBy = {
    d: async () => page.selectOption('#att-d', '32'),
    h: async () => page.selectOption('#att-h', '4'),
    seed: async () => { await page.fill('#att-seed', '7'); await page.dispatchEvent('#att-seed', 'change'); },
    text: async () => page.fill('#att-text', '你是谁呀'),
  };
  for (const [what, act] of Object.entries(leaveBy)) {
    await page.selectOption('#att-d', '64');
    await page.selectOption('#att-preset', 'article');
    await settle(page);
    close((await weightsTable(page))[0], [0.1, 0.7, 0.2], 'after choosing the article preset');
    assert.match(page.url(), /preset=article/);
    assert.doesNotMatch(page.url(), /[&#]d=/, 'd goes back to its default');
    await act();
    await settle(page);
    assert.equal(await page.isVisible('#article-note'), false, `${what}: the note is gone`);
    assert.equal(await page.isVisible('#att-controls-note'), false);
    const preset = await page.inputValue('#att-preset');
    assert.equal(preset, what === 'text' ? 'custom' : 'nishishui', `${what} leaves the article's example`);
    assert.equal(await page.isVisible('#formula-numbers'), false);
    const w = await weightsTable(page);
    assert.ok(Math.abs(w[0][1] - 0.7) > 1e-3, `${what}: random weights again`);
    if (what === 'd') assert.equal(await page.inputValue('#att-d'), '32');
    if (what === 'seed') assert.equal(await page.inputValue('#att-seed'), '7');
  }
  // heads8: a size change leaves it for 小明…; a seed change keeps it.
  await page.selectOption('#att-preset', 'heads8');
  await settle(page);
  assert.equal(await page.inputValue('#att-d'), '512');
  await page.fill('#att-seed', '9');
  await page.dispatchEvent('#att-seed', 'change');
  await settle(page);
  assert.equal(await page.inputValue('#att-preset'), 'heads8');
  await page.selectOption('#att-h', '4');
  await settle(page);
  assert.equal(await page.inputValue('#att-preset'), 'xiaoming');
  assert.match(page.url(), /preset=xiaoming&d=512&h=4&seed=9/);
  assert.deepEqual(errors, []);
  await context.close();
});
