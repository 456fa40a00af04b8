// The figures hold up at the biggest settings: every cell of a d_model 512 matrix is drawn, no two
// labels overlap with 24 tokens, the weighted-sum step shows what it talks about, a softmax
// map of many tokens is scaled to its largest weight (and says so), and in the 960×540 embed
// every column of the heatmaps is labelled, the one the sentence names too, and the bars'
// values read as the sentence writes them, in the room's type size.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle, ink, weightsTable, SHOTS } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const LONG = 'the cat sat on the mat because it was tired and the dog ran to the park where children were playing happily';

/** Share of the device pixels inside a heatmap's cells that are not white. */
const cellInk = (page, panel, chart) => page.evaluate(([p, c]) => {
  const h = window.lmApp.panels[p][c];
  const L = h.layout;
  const canvas = h.canvas;
  const dpr = canvas.width / canvas.clientWidth;
  const [x0, y0] = [Math.ceil(L.x0 * dpr), Math.ceil(L.y0 * dpr)];
  const [w, hh] = [Math.floor(L.cellW * L.cols * dpr) - 1, Math.floor(L.cellH * L.rows * dpr) - 1];
  const d = canvas.getContext('2d').getImageData(x0, y0, w, hh).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) n++;
  return n / (w * hh);
}, [panel, chart]);

test('at d_model 512 every matrix cell is drawn (no blank strips)', async () => {
  const { page, errors, context } = await open(browser, '#lang=en&d=512&h=8&step=7');
  for (const chart of ['vectors', 'concat', 'output']) {
    const share = await cellInk(page, 'attention', chart);
    assert.ok(share > 0.9, `${chart}: ${(share * 100).toFixed(1)} % of the cell area is inked`);
  }
  await page.screenshot({ path: SHOTS + 'attention-d512.png', fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('with 24 tokens no two labels overlap, and the weights are scaled to the largest one', async () => {
  const { page, context } = await open(browser, `#lang=en&text=${encodeURIComponent(LONG)}&step=4`);
  for (const chart of ['scores', 'weights']) {
    const boxes = await page.evaluate((c) => window.lmApp.panels.attention[c].layout.labels, chart);
    assert.ok(boxes.length >= 24 + 2, `${chart}: every row label and some column labels (${boxes.length})`);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        assert.ok(apart, `${chart}: labels ${a.axis}${a.index} and ${b.axis}${b.index} overlap`);
      }
    }
  }
  const w = (await weightsTable(page)).flat();
  const largest = Math.max(...w);
  const caption = await page.textContent('#chart-weights figcaption');
  assert.match(caption, new RegExp(`largest weight, ${largest.toFixed(2)}`), caption);
  assert.ok(largest < 0.9, 'an untrained layer spreads its weights');
  await context.close();
});

test('the weighted-sum step: its own token buttons, the weights row and V beside the formula', async () => {
  const { page, context } = await open(browser, '#lang=en&preset=cat&step=5');
  assert.equal(await page.$$eval('#sum-tokens .token', (b) => b.length), 6);
  await page.click('#sum-tokens .token:nth-child(3)');
  await settle(page);
  assert.match(await page.textContent('#sum-caption'), /“sat”/);
  assert.equal(await page.getAttribute('#sum-tokens .token:nth-child(3)', 'aria-pressed'), 'true');
  // the row of weights drawn is the formula's: same numbers, same order
  await page.$eval('#chart-sum-weights details.alt', (d) => { d.open = true; });
  await settle(page);
  const row = await page.$$eval('#chart-sum-weights tbody td', (t) => t.map((x) => Number(x.dataset.value)));
  const formula = (await page.textContent('#formula')).match(/\d\.\d\d(?= ×)/g).map(Number);
  assert.deepEqual(row.map((x) => x.toFixed(2)).map(Number), formula);
  assert.ok(await ink(page, '#chart-sum-v canvas') > 5000, 'V is drawn');
  // switching the causal mask on follows the last token, which sees every earlier one
  await page.goto(page.url().replace(/#.*/, '#lang=en&preset=cat&step=5'));
  await page.waitForSelector('body[data-ready="1"]');
  await page.evaluate(() => window.lmApp.setState({ tok: 0 }));
  await settle(page);
  await page.check('#att-causal');
  await settle(page);
  assert.match(await page.textContent('#sum-caption'), /“mat”/);
  assert.equal((await page.textContent('#formula')).split(' + ').length, 6);
  await context.close();
});

test('a render that changes nothing redraws nothing; an embedded slide draws only its step', async () => {
  const { page, context } = await open(browser, '#lang=en&step=4');
  // A mark on the canvas survives a full render with the same state: the chart was not redrawn.
  const mark = () => page.$eval('#chart-weights canvas', (c) => { const g = c.getContext('2d'); g.fillStyle = '#ff00ff'; g.fillRect(0, 0, 3, 3); });
  const marked = () => page.$eval('#chart-weights canvas', (c) => c.getContext('2d').getImageData(1, 1, 1, 1).data.join());
  await mark();
  await page.evaluate(() => window.lmApp.setState({}));
  await settle(page);
  assert.equal(await marked(), '255,0,255,255', 'an unchanged chart is not redrawn');
  await page.evaluate(() => window.lmApp.setState({ seed: 7 }));
  await settle(page);
  assert.notEqual(await marked(), '255,0,255,255', 'a changed chart is redrawn');
  await context.close();
  // Embedded: the charts of other steps wait until their step is shown.
  const e = await open(browser, '#lang=en&step=0&embed=1', { width: 960, height: 540 });
  const drawn = () => e.page.evaluate(() => !!window.lmApp.panels.attention.weights.layout);
  assert.equal(await drawn(), false, 'a hidden step is not drawn');
  await e.page.keyboard.press('ArrowRight');
  for (let i = 0; i < 3; i++) await e.page.keyboard.press('ArrowRight');
  await settle(e.page);
  assert.equal(await drawn(), true, 'drawn once its step is shown');
  assert.ok(await ink(e.page, '#chart-weights canvas') > 5000);
  await e.context.close();
});

/** Whether two label boxes overlap. */
const overlaps = (a, b) => !(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y);

test('embedded at 960×540, every heatmap column is labelled (the one the sentence names too), in the SVG as on the canvas', async () => {
  // the figures whose column labels went every other one because "<bos>" was wider than a cell;
  // the last number: labels that may go. (The English masks have 11 words in cells of 20 px:
  // "should" and "water" two columns apart do not fit side by side at the floor's type size,
  // even on two lines, so one label goes: 10 of 11, where 4 were drawn before.)
  const cases = [
    ['#panel=families&lang=zh&embed=1&step=2', 'families', ['cAtt'], '感冒', 0],
    ['#panel=families&lang=en&embed=1&step=2', 'families', ['cAtt'], 'drink', 0],
    ['#panel=families&lang=zh&embed=1&step=0', 'families', 'masks', null, 0],
    ['#panel=families&lang=en&embed=1&step=0', 'families', 'masks', null, 1],
    ['#panel=seq2seq&lang=en&embed=1&step=1', 'seq2seq', ['cross'], 'cold', 0],
    ['#panel=seq2seq&lang=zh&embed=1&step=3', 'seq2seq', ['self'], null, 0],
  ];
  for (const [hash, panel, charts, named, spare] of cases) {
    const { page, errors, context } = await open(browser, hash, { width: 960, height: 540 });
    const figs = await page.evaluate(([p, cs]) => {
      const P = window.lmApp.panels[p];
      const list = cs === 'masks' ? P.maskCharts.map((m) => m.chart) : cs.map((c) => P[c]);
      return list.map((h) => ({ cols: h.spec.cols, labels: h.layout.labels, font: h.layout.font, svg: h.exportSvg(), fs: window.lmApp.fontScale }));
    }, [panel, charts]);
    assert.ok(figs.length >= 1, hash);
    for (const f of figs) {
      const drawn = f.labels.filter((b) => b.axis === 'col').map((b) => b.index);
      const missing = f.cols.filter((_, i) => !drawn.includes(i));
      assert.ok(missing.length <= spare, `${hash}: every column labelled (${f.cols.join(' ')}), not ${missing.join(' ')}`);
      const texts = [...f.svg.matchAll(/<text[^>]*>\n?([\s\S]*?)\n?<\/text>/g)].map((m) => m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
      for (const c of f.cols) assert.ok(missing.includes(c) || texts.includes(c), `${hash}: the SVG has the label ${c}`);
      if (named) assert.ok(drawn.includes(f.cols.indexOf(named)), `${hash}: ${named}, the sentence's word, is labelled`);
      assert.ok(f.font >= 13 * f.fs - 1e-6, `${hash}: labels of ${f.font} px, not below the floor`);
      for (let i = 0; i < f.labels.length; i++) {
        for (let j = i + 1; j < f.labels.length; j++) assert.ok(!overlaps(f.labels[i], f.labels[j]), `${hash}: ${JSON.stringify([f.labels[i], f.labels[j]])}`);
      }
    }
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test('with 24 long words not every column label fits: the selected token\'s row and its largest weight keep theirs', async () => {
  const text = Array.from({ length: 6 }, () => 'wonderful children everybody tomorrow').join(' ');
  const { page, context } = await open(browser, `#lang=en&text=${encodeURIComponent(text)}&embed=1&step=4`, { width: 960, height: 540 });
  await page.evaluate(() => window.lmApp.setState({ tok: 17 }));
  await settle(page);
  const r = await page.evaluate(() => {
    const h = window.lmApp.panels.attention.weights;
    const [, C] = h.spec.matrix.shape;
    const row = Array.from(h.spec.matrix.data.slice(h.spec.highlightRow * C, (h.spec.highlightRow + 1) * C));
    const masked = h.spec.mask ? Array.from(h.spec.mask.data.slice(h.spec.highlightRow * C, (h.spec.highlightRow + 1) * C)) : row.map(() => 0);
    const best = row.reduce((b, v, i) => (!masked[i] && v > row[b] ? i : b), 0);
    return { C, hr: h.spec.highlightRow, best, labels: h.layout.labels };
  });
  const cols = r.labels.filter((b) => b.axis === 'col').map((b) => b.index);
  assert.ok(cols.length < r.C, `${cols.length} of ${r.C} columns labelled`);
  assert.ok(cols.includes(r.best), `the largest weight's column ${r.best} is labelled: ${cols}`);
  assert.ok(r.labels.some((b) => b.axis === 'row' && b.index === r.hr), `the selected row ${r.hr} is labelled`);
  for (let i = 0; i < r.labels.length; i++) {
    for (let j = i + 1; j < r.labels.length; j++) assert.ok(!overlaps(r.labels[i], r.labels[j]));
  }
  await context.close();
});

test('embedded at 960×540, the bars write the cosine as the sentence does, in the room\'s type size', async () => {
  for (const lang of ['zh', 'en']) {
    const { page, errors, context } = await open(browser, `#panel=vectors&lang=${lang}&embed=1&step=3`, { width: 960, height: 540 });
    const { svg, fs, say, values } = await page.evaluate(() => {
      const P = window.lmApp.panels.vectors;
      return { svg: P.bars.exportSvg(), fs: window.lmApp.fontScale, say: P.nearSay.textContent, values: Array.from(P.bars.args.values) };
    });
    assert.ok(fs > 1.1, `the embed's type scale (${fs})`);
    const texts = [...svg.matchAll(/<text ([^>]*)>\n?([\s\S]*?)\n?<\/text>/g)].map((m) => ({ size: Number(m[1].match(/font-size="([\d.]+)/)[1]) / 2, text: m[2] }));
    const shown = values.map((v) => v.toFixed(3));
    for (const v of shown) assert.ok(texts.some((t) => t.text === v), `${lang}: ${v} written (${texts.map((t) => t.text)})`);
    assert.ok(!texts.some((t) => /e-/.test(t.text)), `${lang}: no scientific notation`);
    assert.ok(say.includes(shown[0]), `${lang}: the sentence "${say}" names ${shown[0]}`);
    // labels at 13 px × the room's scale, values at 0.9 of it
    assert.ok(Math.min(...texts.map((t) => t.size)) >= 0.9 * 13 * fs - 0.1, `${lang}: sizes ${texts.map((t) => t.size)}`);
    assert.deepEqual(errors, []);
    await context.close();
  }
});
