// Projector-ready (issue #10): every embedded step fits its frame in both languages, the
// presenter keys work wherever the focus is, links open on their step, English opens on
// English, tooltips stay out of the way. Screenshots of every embedded step at 960×540 go to
// target/screenshots/ for review. No timing assertions: every wait is for a condition.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle, SHOTS } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const PANELS = [
  { panel: 'attention', steps: 8, ids: '' },
  { panel: 'layer', steps: 9, ids: 'lay-' },
  { panel: 'vectors', steps: 7, ids: 'vec-' },
  { panel: 'backprop', steps: 7, ids: 'bp-' },
  { panel: 'learn', steps: 6, ids: 'learn-' },
];
const SIZES = [[480, 270], [960, 540], [1280, 720]];

/**
 * How the current step sits in the frame: the document's scroll size, and the box of what the
 * step shows (its visible elements; a canvas counts as far as its box shows it).
 */
const frameFit = (page, sel) => page.evaluate((sel) => {
  const d = document.documentElement;
  const sec = document.querySelector(sel);
  const box = { top: Infinity, left: Infinity, bottom: -Infinity, right: -Infinity };
  for (const e of [sec, ...sec.querySelectorAll('*')]) {
    if (e.tagName === 'CANVAS' || e.closest('details.alt') || e.closest('.sr-only')) continue;
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(e).visibility === 'hidden') continue;
    box.top = Math.min(box.top, r.top);
    box.left = Math.min(box.left, r.left);
    box.bottom = Math.max(box.bottom, r.bottom);
    box.right = Math.max(box.right, r.right);
  }
  return { scrollW: d.scrollWidth, scrollH: d.scrollHeight, w: innerWidth, h: innerHeight, box };
}, sel);

/** Waits until the step's layout is the same over two frames (charts drawn, glyphs in). */
async function stable(page, sel) {
  let last = '';
  for (;;) {
    await settle(page);
    const now = JSON.stringify(await frameFit(page, sel));
    if (now === last) return JSON.parse(now);
    last = now;
  }
}

for (const [w, h] of SIZES) {
  for (const lang of ['zh', 'en']) {
    test(`every embedded step fits ${w}×${h} in ${lang}, stepping with PageDown`, async () => {
      for (const { panel, steps, ids } of PANELS) {
        const { page, errors, context } = await open(browser, `#panel=${panel}&lang=${lang}&embed=1`, { width: w, height: h, lang: lang === 'zh' ? 'zh-CN' : 'en-US' });
        for (let i = 0; i < steps; i++) {
          if (i > 0) {
            await page.keyboard.press('PageDown');
            await page.waitForFunction((i) => window.lmApp.state.step === i, i);
          }
          const sel = `#${ids}sec-${i}`;
          await page.waitForSelector(`${sel}.current`, { state: 'visible' });
          const f = await stable(page, sel);
          const where = `${panel} step ${i + 1} at ${w}×${h} (${lang}): ${JSON.stringify(f)}`;
          assert.ok(f.scrollW <= f.w && f.scrollH <= f.h, `no scrolling: ${where}`);
          assert.ok(f.box.top >= 0 && f.box.left >= 0 && f.box.bottom <= f.h + 0.5 && f.box.right <= f.w + 0.5, `the step is inside the frame: ${where}`);
          if (w >= 960) {
            // Projected, the figures' type reads: every SVG label the step shows renders at
            // ≥ 11 CSS px (its font size × the drawing's scale).
            const small = await page.evaluate((sel) => [...document.querySelectorAll(`${sel} svg text`)]
              .filter((t) => !t.closest('.sr-only, details.alt') && t.getBoundingClientRect().width > 0)
              .map((t) => [t.textContent, +(parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a).toFixed(1)])
              .filter(([, px]) => px < 11), sel);
            assert.deepEqual(small, [], `text under 11 px: ${where}`);
          }
          if (w === 960) await page.screenshot({ path: `${SHOTS}embed-${panel}-${i + 1}-${lang}-960x540.png` });
        }
        assert.deepEqual(errors, []);
        await context.close();
      }
    });
  }
}

test('a long sentence at the biggest settings still fits every attention step at 960×540', async () => {
  const texts = {
    zh: '小明今天感冒了，他应该多喝水，早点休息，明天再去学校上课，然后和朋友一起散步',
    en: 'Tom has a cold today so he should drink more water and go to bed early and rest well tonight',
  };
  for (const lang of ['zh', 'en']) {
    const hash = `#panel=attention&lang=${lang}&embed=1&d=512&h=8&causal=1&tok=19&text=${encodeURIComponent(texts[lang])}`;
    const { page, errors, context } = await open(browser, hash, { width: 960, height: 540 });
    for (let i = 0; i < 8; i++) {
      await page.evaluate((s) => window.lmApp.setState({ step: s }), i);
      const f = await stable(page, `#sec-${i}`);
      const where = `step ${i + 1} (${lang}): ${JSON.stringify(f)}`;
      assert.ok(f.scrollH <= f.h && f.box.bottom <= f.h + 0.5, `inside the frame: ${where}`);
    }
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test('the embedded charts use the frame: the heads grow with it, type grows with it', async () => {
  const cells = {};
  for (const [w, h] of SIZES) {
    const { page, context } = await open(browser, `#lang=en&embed=1&step=6`, { width: w, height: h });
    const heads = await page.evaluate(() => window.lmApp.panels.attention.headCharts.map((c) => ({ cell: c.layout.cellW, caption: c.caption.textContent, font: c.layout.font })));
    assert.equal(heads.length, 2);
    heads.forEach((x, i) => assert.equal(x.caption, `Head ${i + 1}`, 'each small multiple has its title'));
    cells[w] = heads[0];
    // The weights at step 5: centred in the frame, not against its left edge.
    await page.keyboard.press('PageUp');
    await page.keyboard.press('PageUp');
    await page.waitForFunction(() => window.lmApp.state.step === 4);
    await settle(page);
    const [l, r, fw] = await page.$eval('#chart-weights canvas', (c) => {
      const L = window.lmApp.panels.attention.weights.layout;
      const b = c.getBoundingClientRect(), f = c.closest('figure').getBoundingClientRect();
      return [b.left + L.x0 - f.left, f.right - (b.left + L.legendX + L.legendW), f.width];
    });
    assert.ok(Math.abs(l - r) < 0.25 * fw, `centred at ${w}×${h}: ${l} px left of the cells, ${r} px right of the legend`);
    await context.close();
  }
  assert.ok(cells[960].cell > cells[480].cell && cells[1280].cell > cells[960].cell, `cells grow with the frame: ${JSON.stringify(cells)}`);
  assert.ok(cells[960].cell >= 40, `large cells at 960×540: ${cells[960].cell}`);
  assert.ok(cells[1280].font > cells[480].font, `labels grow with the frame: ${JSON.stringify(cells)}`);
});

test('PageDown, arrows and space step after a heatmap was clicked', async () => {
  const { page, context } = await open(browser, '#lang=en&step=4');
  await page.$eval('#chart-weights canvas', (c) => c.scrollIntoView({ block: 'center' }));
  await page.click('#chart-weights canvas');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'CANVAS', 'the click focused the canvas');
  const stepIs = (n) => page.waitForFunction((n) => window.lmApp.state.step === n && location.hash.includes(`step=${n}`), n);
  await page.keyboard.press('PageDown');
  await stepIs(5);
  await page.keyboard.press('PageUp');
  await stepIs(4);
  await page.keyboard.press('ArrowRight');
  await stepIs(5);
  await page.keyboard.press('ArrowLeft');
  await stepIs(4);
  await page.keyboard.press(' ');
  await stepIs(5);
  // Typing in a field is typing: the step stays.
  await page.focus('#att-text');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('PageDown');
  await settle(page);
  assert.equal(await page.evaluate(() => window.lmApp.state.step), 5);
  await context.close();
});

test('space on a focused token button selects the token, not the next step', async () => {
  const { page, context } = await open(browser, '#lang=en');
  await page.focus('#tokens button[data-index="2"]');
  await page.keyboard.press(' ');
  await page.waitForFunction(() => document.querySelector('#tokens button[data-index="2"]')?.getAttribute('aria-pressed') === 'true');
  assert.equal(await page.evaluate(() => window.lmApp.state.step), 0, 'still on the first step');
  assert.match(page.url(), /tok=2/);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.index), '2', 'the token keeps the focus');
  // Its small number is its position, as the step's text says.
  assert.equal(await page.textContent('#tokens button[data-index="2"] .tok-id'), '3');
  assert.match(await page.textContent('#step-text'), /position in the sentence/);
  await context.close();
});

test('#lang=en opens English text, example, corpus and prompt; zh opens Chinese ones', async () => {
  const toks = (page) => page.$$eval('#tokens .tok-text', (b) => b.map((x) => x.textContent));
  const en = await open(browser, '#lang=en', { lang: 'zh-CN' });
  assert.deepEqual(await toks(en.page), ['The', 'cat', 'sat', 'on', 'the', 'mat']);
  assert.match(await en.page.textContent('#step-text'), /The model never sees letters/);
  await en.page.click('#tab-learn');
  await settle(en.page);
  assert.equal(await en.page.inputValue('#learn-corpus'), 'en');
  assert.match(await en.page.inputValue('#learn-prompt'), /^the weather is nice today/);
  await en.context.close();
  // An English browser without lang in the link: the same.
  const auto = await open(browser, '', { lang: 'en-US' });
  assert.deepEqual(await toks(auto.page), ['The', 'cat', 'sat', 'on', 'the', 'mat']);
  await auto.context.close();
  const zh = await open(browser, '#panel=learn&lang=zh', { lang: 'en-US' });
  assert.equal(await zh.page.inputValue('#learn-corpus'), 'zh');
  assert.equal(await zh.page.inputValue('#learn-prompt'), '今天天气真好，适合去');
  await zh.context.close();
});

test('a step=N link opens with that step and the stepper in view; → brings the next one up', async () => {
  const { page, context } = await open(browser, '#lang=zh&step=4', { width: 1280, height: 720 });
  const inView = (sel, nav) => page.waitForFunction(([sel, nav]) => {
    const s = document.querySelector(sel).getBoundingClientRect();
    const n = document.querySelector(nav).getBoundingClientRect();
    return n.top >= 0 && n.bottom <= s.top + 1 && s.top < innerHeight * 0.5 && s.bottom > 0;
  }, [sel, nav]);
  await inView('#sec-4', '.stepper');
  assert.ok(await page.evaluate(() => scrollY) > 0, 'the page scrolled to the step');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await inView('#sec-6', '.stepper');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await inView('#sec-1', '.stepper');
  await context.close();
});

test('tooltips stay beside the cell and inside their chart; masked cells say why', async () => {
  const { page, context } = await open(browser, '#lang=en&causal=1&step=3');
  for (const [sel, r, c] of [['#chart-weights', 0, 1], ['#chart-weights', 5, 5], ['#chart-scores', 3, 0], ['#chart-q', 2, 7]]) {
    await page.$eval(`${sel} canvas`, (cv) => cv.scrollIntoView({ block: 'center' }));
    const pos = await page.$eval(`${sel} canvas`, (cv, [sel, r, c]) => {
      const id = sel.slice(7);
      const p = window.lmApp.panels.attention;
      const L = { scores: p.scores, weights: p.weights, q: p.q }[id].layout;
      const b = cv.getBoundingClientRect();
      return { x: b.left + L.x0 + (c + 0.5) * L.cellW, y: b.top + L.y0 + (r + 0.5) * L.cellH, cell: { left: b.left + L.x0 + c * L.cellW, top: b.top + L.y0 + r * L.cellH, w: L.cellW, h: L.cellH } };
    }, [sel, r, c]);
    await page.mouse.move(pos.x, pos.y);
    await page.waitForSelector(`${sel} .tip:not([hidden])`);
    const tip = await page.$eval(`${sel} .tip`, (t) => t.getBoundingClientRect().toJSON());
    const fig = await page.$eval(sel, (f) => f.getBoundingClientRect().toJSON());
    const k = pos.cell;
    const overlaps = tip.left < k.left + k.w && tip.right > k.left && tip.top < k.top + k.h && tip.bottom > k.top;
    assert.ok(!overlaps, `${sel} (${r}, ${c}): the tip ${JSON.stringify(tip)} covers the cell ${JSON.stringify(k)}`);
    assert.ok(tip.left >= fig.left - 0.5 && tip.right <= fig.right + 0.5, `${sel}: the tip stays inside its chart`);
    if (sel === '#chart-weights' && c > r) assert.match(await page.textContent(`${sel} .tip`), /masked: a token may not look ahead/);
    assert.equal(await page.$eval(`${sel} canvas`, (cv) => cv.style.cursor), 'pointer', 'a row that selects its token shows a pointer');
  }
  await context.close();
});

test('while typing, the text box stays put and says which tokens were left out', async () => {
  const { page, context } = await open(browser, '#lang=en');
  const top = () => page.$eval('#att-text', (e) => e.getBoundingClientRect().top);
  const before = await top();
  const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
  await page.fill('#att-text', words);
  await settle(page);
  assert.equal(await top(), before, 'the box did not move');
  assert.equal(await page.textContent('#att-text-dropped'), 'Only the first 24 tokens are used; left out: “w24 w25 w26 w27 w28 w29”');
  await context.close();
});

test('no wasted space: cards keep their own height, no blank blame canvas before training', async () => {
  const { page, context } = await open(browser, '#lang=en');
  const [h0, h1] = await page.$$eval('#sec-0, #sec-1', (s) => s.map((x) => x.offsetHeight));
  assert.ok(h0 < h1, `the tokens card (${h0}px) is not stretched to the vectors card (${h1}px)`);
  await context.close();
  const learn = await open(browser, '#panel=learn&lang=en&step=5');
  assert.ok(await learn.page.isVisible('#learn-norms-empty'), 'a line of text before training');
  assert.equal(await learn.page.isVisible('#learn-norms'), false, 'no empty canvas');
  await learn.page.click('#learn-step');
  await learn.page.waitForSelector('#learn-norms', { state: 'visible' });
  assert.equal(await learn.page.isVisible('#learn-norms-empty'), false);
  await learn.context.close();
});
