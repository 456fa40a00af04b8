// Downloads (issue #15, figures and data): every kind of file a figure offers is downloaded in
// the page through its menu and read back: a heatmap's SVG has one cell per value and its
// labels, the PNGs are twice the figure's CSS size, the CSV and JSON hold the numbers the
// figure's table (or the panel) has, the loss history is the one the learning panel recorded,
// the SVG figures built in JS parse and have their parts, the embeddings are one TSV row per
// token, and the weights are a safetensors file whose header parses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, open, settle, weightsTable } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The download menu of figure `id` (by data-for, else the one inside `#id`). */
const menuOf = async (page, id) => ((await page.$(`details.export[data-for="${id}"]`)) ? `details.export[data-for="${id}"]` : `#${id} details.export`);

/** Downloads `kind` from figure `id`'s menu by clicking; returns {name, bytes}. */
async function download(page, id, kind) {
  const menu = await menuOf(page, id);
  await page.$eval(menu, (m) => m.scrollIntoView({ block: 'center' }));
  if (!(await page.$eval(menu, (m) => m.open))) await page.click(`${menu} > summary`);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`${menu} button[data-kind="${kind}"]`)]);
  return { name: dl.suggestedFilename(), bytes: await readFile(await dl.path()) };
}
const text = (f) => f.bytes.toString('utf8');

/** A PNG's width and height (its IHDR chunk). */
function pngSize(bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'a PNG signature');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

/** Parses CSV text (quoted fields, doubled quotes) into rows of strings. */
function parseCsv(s) {
  const rows = [];
  let row = [], f = '', q = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '"' && s[i + 1] === '"') { f += '"'; i++; } else if (c === '"') q = false; else f += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(f); f = ''; } else if (c === '\n') { row.push(f); rows.push(row); row = []; f = ''; } else f += c;
  }
  if (f || row.length) { row.push(f); rows.push(row); }
  return rows;
}

/** An SVG document parsed in the page: whether it parsed, and counts and texts of its parts. */
const inspectSvg = (page, svgText, cellsSel = 'g.cells > rect') => page.evaluate(([t, sel]) => {
  const d = new DOMParser().parseFromString(t, 'image/svg+xml');
  const root = d.documentElement;
  return {
    ok: root.nodeName === 'svg' && !d.querySelector('parsererror'),
    width: Number(root.getAttribute('width')),
    height: Number(root.getAttribute('height')),
    cells: d.querySelectorAll(sel).length,
    texts: [...d.querySelectorAll('text')].map((e) => e.textContent.trim()),
    tags: [...d.querySelectorAll('*')].reduce((a, e) => ({ ...a, [e.nodeName]: (a[e.nodeName] ?? 0) + 1 }), {}),
    background: (d.querySelector('rect')?.getAttribute('fill') ?? '').toLowerCase(),
  };
}, [svgText, cellsSel]);

/** The CSS size of a canvas. */
const cssSize = (page, sel) => page.$eval(sel, (c) => [parseFloat(c.style.width), parseFloat(c.style.height)]);

test('attention: the weights heatmap as SVG (a rect per cell, its labels), PNG 2×, CSV and JSON equal to its table', async () => {
  const { page, errors, context } = await open(browser, '#panel=attention&lang=en&text=The%20cat%20sat%20on%20the%20mat&step=4');
  await page.$eval('#chart-weights details.alt', (d) => { d.open = true; });
  await settle(page);
  const table = await weightsTable(page);
  const labels = await page.$$eval('#chart-weights table tbody th', (l) => l.map((e) => e.textContent));
  const R = table.length, C = table[0].length;
  assert.ok(R >= 3 && C === R, `${R}×${C}`);

  const svg = await download(page, 'chart-weights', 'svg');
  assert.equal(svg.name, 'attention-weights.svg');
  const s = await inspectSvg(page, text(svg));
  assert.ok(s.ok, 'the SVG parses');
  assert.equal(s.cells, R * C, 'one rect per cell');
  assert.equal(s.background, '#ffffff', 'a white background');
  for (const l of labels) assert.ok(s.texts.includes(l), `label ${l}`);
  const [w, h] = await cssSize(page, '#chart-weights canvas');
  assert.deepEqual([s.width, s.height], [Math.round(w), Math.round(h)], 'the SVG has the figure\'s CSS size');

  const png = await download(page, 'chart-weights', 'png');
  assert.equal(png.name, 'attention-weights.png');
  assert.deepEqual(pngSize(png.bytes), [2 * w, 2 * h], 'PNG at twice the CSS size');

  const csv = parseCsv(text(await download(page, 'chart-weights', 'csv')));
  assert.equal(csv.length, R + 1, 'a header and a line per row');
  assert.deepEqual(csv.slice(1).map((r) => r[0]), labels, 'row labels');
  assert.deepEqual(csv.slice(1).map((r) => r.slice(1).map(Number)), table, 'the values, to the last digit');

  const json = JSON.parse(text(await download(page, 'chart-weights', 'json')));
  assert.deepEqual(json.shape, [R, C]);
  assert.deepEqual(json.values, table);
  assert.deepEqual(json.rows, labels);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the menu: keyboard-operable, in both languages, hidden in an embedded slide', async () => {
  const { page, errors, context } = await open(browser, '#panel=attention&lang=zh&step=4');
  const menu = 'details.export[data-for="chart-weights"]';
  assert.equal(await page.textContent(`${menu} .export-label`), '下载');
  await page.$eval(`${menu} > summary`, (s) => { s.scrollIntoView({ block: 'center' }); s.focus(); });
  await page.keyboard.press('Enter');
  assert.equal(await page.$eval(menu, (m) => m.open), true, 'Enter opens it');
  assert.deepEqual(await page.$$eval(`${menu} button`, (l) => l.map((b) => b.textContent)), ['SVG（矢量图）', 'PNG（2 倍）', 'CSV（数据）', 'JSON（数据）']);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  assert.equal(dl.suggestedFilename(), 'attention-weights.png');
  await page.keyboard.press('Escape');
  assert.equal(await page.$eval(menu, (m) => m.open), false, 'Escape closes it');
  // a language switch relabels it
  await page.evaluate(() => window.lmApp.setState({ lang: 'en' }));
  await settle(page);
  assert.equal(await page.textContent(`${menu} .export-label`), 'Download');
  assert.equal(await page.textContent(`${menu} button[data-kind="svg"]`), 'SVG (vector)');
  assert.deepEqual(errors, []);
  await context.close();
  const embedded = await open(browser, '#panel=attention&lang=en&embed=1&step=4', { width: 960, height: 540 });
  const shown = await embedded.page.$$eval('details.export, .export-button', (l) => l.filter((e) => getComputedStyle(e).display !== 'none').length);
  assert.equal(shown, 0, 'no download menu in an embedded slide');
  await embedded.context.close();
});

test('learning: the loss history as CSV and JSON equals the recorded losses; the curve as SVG and PNG 2×; the weights as safetensors', async () => {
  const { page, errors, context } = await open(browser, '#panel=learn&lang=en&step=3&train=60');
  await page.waitForFunction(() => Number(document.querySelector('#learn-status')?.dataset.step || 0) >= 60 && document.querySelector('#learn-play').getAttribute('aria-pressed') === 'false', null, { timeout: 60000 });
  await settle(page);
  const { losses, heldout } = await page.evaluate(() => ({ losses: window.lmApp.panels.learn.losses.slice(), heldout: window.lmApp.panels.learn.heldout.slice() }));
  assert.equal(losses.length, 60);
  const f = await download(page, 'learn-curve', 'csv');
  assert.equal(f.name, 'learn-curve.csv');
  const csv = parseCsv(text(f));
  assert.deepEqual(csv[0], ['step', 'loss', 'heldout']);
  assert.deepEqual(csv.slice(1).map((r) => Number(r[0])), losses.map((_, i) => i + 1));
  assert.deepEqual(csv.slice(1).map((r) => Number(r[1])), losses, 'the recorded losses, to the last digit');
  const held = csv.slice(1).filter((r) => r[2] !== '');
  assert.deepEqual(held.map((r) => Number(r[2])), heldout, 'the held-out losses');
  assert.deepEqual(held.map((r) => Number(r[0])), heldout.map((_, k) => 25 * (k + 1)), 'at the steps they were measured');
  const json = JSON.parse(text(await download(page, 'learn-curve', 'json')));
  assert.deepEqual(json.losses, losses);

  const s = await inspectSvg(page, text(await download(page, 'learn-curve', 'svg')), 'polyline');
  assert.ok(s.ok && s.cells >= 2, 'the training and held-out curves');
  assert.ok(s.texts.includes('step') && s.texts.includes('training'), `axis and legend: ${s.texts}`);
  const [w, h] = await cssSize(page, '#learn-curve');
  assert.deepEqual(pngSize((await download(page, 'learn-curve', 'png')).bytes), [2 * w, 2 * h]);

  // the weights, through the worker
  await page.$eval('#learn-weights', (b) => b.scrollIntoView({ block: 'center' }));
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#learn-weights')]);
  assert.equal(dl.suggestedFilename(), 'learn-weights-step-60.safetensors');
  const bytes = await readFile(await dl.path());
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  assert.ok(names.includes('tok_emb.weight') && names.includes('lm_head.weight'), names.join(' '));
  const end = Math.max(...names.map((k) => header[k].data_offsets[1]));
  assert.equal(bytes.length, 8 + n + end, 'the tensors fill the file after the header');
  for (const k of names) {
    const t = header[k];
    assert.equal(t.dtype, 'F32');
    assert.equal(t.data_offsets[1] - t.data_offsets[0], 4 * t.shape.reduce((a, b) => a * b, 1), k);
  }
  // the bars (predictions): labels and values as the panel has them
  const bars = parseCsv(text(await download(page, 'learn-pred', 'csv')));
  const args = await page.evaluate(() => { const a = window.lmApp.panels.learn.predBars.args; return { labels: a.labels, values: Array.from(a.values) }; });
  assert.deepEqual(bars.slice(1).map((r) => r[0]), args.labels);
  assert.deepEqual(bars.slice(1).map((r) => Number(r[1])), args.values);
  const bs = await inspectSvg(page, text(await download(page, 'learn-pred', 'svg')), 'g.bars > rect');
  assert.equal(bs.cells, args.labels.length, 'a bar per label');
  assert.deepEqual(errors, []);
  await context.close();
});

test('layer: the activation curve (built in JS) as SVG and PNG 2×, its numbers as CSV; a heatmap and the bars', async () => {
  const { page, errors, context } = await open(browser, '#panel=layer&lang=en&step=3');
  const f = await download(page, 'lay-act', 'svg');
  assert.equal(f.name, 'layer-act.svg');
  const s = await inspectSvg(page, text(f), 'circle');
  assert.ok(s.ok, 'the SVG parses');
  const csv = parseCsv(text(await download(page, 'lay-act', 'csv')));
  const tokenRows = csv.filter((r) => r[0] === 'token');
  assert.equal(s.cells, tokenRows.length, 'a dot per entry of the token');
  assert.ok(s.tags.polyline >= 1, 'the curve');
  assert.ok(!/class=/.test(text(f)), 'styles written out, no class left to a style sheet');
  assert.match(text(f), /stroke="rgb\(/, 'the curve\'s colour as an attribute');
  const box = await page.$eval('#lay-act svg', (e) => { const r = e.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; });
  assert.deepEqual([s.width, s.height], box);
  assert.deepEqual(pngSize((await download(page, 'lay-act', 'png')).bytes), [2 * box[0], 2 * box[1]]);
  // the output bars
  const bars = parseCsv(text(await download(page, 'lay-out-bars', 'csv')));
  const args = await page.evaluate(() => { const a = window.lmApp.panels.layer.bars.args; return { labels: a.labels, values: Array.from(a.values) }; });
  assert.deepEqual(bars.slice(1).map((r) => Number(r[1])), args.values);
  assert.deepEqual(errors, []);
  await context.close();
});

test('vectors: the map (SVG built in JS) with a point per word, its points as CSV; the embeddings as TSV', async () => {
  const { page, errors, context } = await open(browser, '#panel=vectors&lang=zh&step=1');
  const points = await page.$$eval('#vec-map g.pt', (l) => l.map((g) => g.querySelector('text').textContent));
  const f = await download(page, 'vec-map', 'svg');
  assert.equal(f.name, 'vectors-map.svg');
  const s = await inspectSvg(page, text(f), 'g > circle');
  assert.ok(s.ok);
  assert.equal(s.cells, points.length, 'a dot per point');
  for (const p of points.slice(0, 20)) assert.ok(s.texts.includes(p), p);
  const csv = parseCsv(text(await download(page, 'vec-map', 'csv')));
  assert.equal(csv.length, points.length + 1);
  assert.deepEqual(csv.slice(1).map((r) => r[1]), points);
  const [w, h] = [s.width, s.height];
  assert.deepEqual(pngSize((await download(page, 'vec-map', 'png')).bytes), [2 * w, 2 * h]);
  // the Embedding Projector's two files: as many vector rows as word rows
  await page.$eval('#vec-dl-vectors', (e) => e.scrollIntoView());
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#vec-dl-vectors')]);
  const [dl2] = await Promise.all([page.waitForEvent('download'), page.click('#vec-dl-meta')]);
  const rows = (await readFile(await dl.path(), 'utf8')).trimEnd().split('\n');
  const meta = (await readFile(await dl2.path(), 'utf8')).trimEnd().split('\n');
  assert.equal(rows.length, meta.length - 1);
  assert.ok(rows.every((r) => r.split('\t').length === rows[0].split('\t').length && r.split('\t').every((v) => Number.isFinite(Number(v)))));
  assert.deepEqual(errors, []);
  await context.close();
});

test('encoder–decoder: the attention lines as SVG, PNG 2×, the weights as CSV; the cross-attention heatmap\'s CSV equals its table', async () => {
  const { page, errors, context } = await open(browser, '#panel=seq2seq&lang=zh&step=1');
  const spec = await page.evaluate(() => { const s = window.lmApp.panels.seq2seq.lines.spec; return { left: s.left, right: s.right, w: Array.from(s.weights.data), shape: s.weights.shape }; });
  const f = await download(page, 's2s-lines', 'svg');
  assert.equal(f.name, 'seq2seq-lines.svg');
  const s = await inspectSvg(page, text(f), 'polyline');
  assert.ok(s.ok && s.cells >= spec.right.length, 'the selected row\'s lines at least');
  for (const tok of [...spec.left, ...spec.right]) assert.ok(s.texts.includes(tok), tok);
  const csv = parseCsv(text(await download(page, 's2s-lines', 'csv')));
  assert.deepEqual(csv[0].slice(1), spec.right);
  assert.deepEqual(csv.slice(1).flatMap((r) => r.slice(1).map(Number)), spec.w);
  const [w, h] = await cssSize(page, '#s2s-lines canvas');
  assert.deepEqual(pngSize((await download(page, 's2s-lines', 'png')).bytes), [2 * w, 2 * h]);
  const table = await weightsTable(page, '#s2s-cross table');
  const cross = parseCsv(text(await download(page, 's2s-cross', 'csv')));
  assert.deepEqual(cross.slice(1).map((r) => r.slice(1).map(Number)), table);
  assert.deepEqual(errors, []);
  await context.close();
});

test('families and backpropagation: a mask heatmap, bars, and the blame flow (SVG built in JS) with a band per stage', async () => {
  const fam = await open(browser, '#panel=families&lang=en');
  const table = await weightsTable(fam.page, '#fam-mask-dec table');
  const svg = await inspectSvg(fam.page, text(await download(fam.page, 'fam-mask-dec', 'svg')));
  assert.equal(svg.cells, table.length * table[0].length);
  const csv = parseCsv(text(await download(fam.page, 'fam-mask-dec', 'csv')));
  assert.deepEqual(csv.slice(1).map((r) => r.slice(1).map(Number)), table);
  assert.deepEqual(fam.errors, []);
  await fam.context.close();

  const { page, errors, context } = await open(browser, '#panel=backprop&lang=en&step=3');
  const f = await download(page, 'bp-flow', 'svg');
  assert.equal(f.name, 'backprop-flow.svg');
  const stages = parseCsv(text(await download(page, 'bp-flow', 'csv'))).slice(1);
  const bands = await page.$$eval('#bp-flow rect.bp-band', (l) => l.map((r) => Number(r.dataset.norm)));
  assert.deepEqual(stages.map((r) => Number(r[1])), bands, 'the norms the bands are drawn with');
  const s = await inspectSvg(page, text(f), 'rect[fill]:not([x^="-"])');
  assert.ok(s.ok);
  assert.equal(s.tags.rect, bands.length + 1, 'a band per stage and the background');
  const bars = parseCsv(text(await download(page, 'bp-bars', 'csv')));
  assert.ok(bars.length > 2 && bars.slice(1).every((r) => Number.isFinite(Number(r[1]))));
  assert.deepEqual(errors, []);
  await context.close();
});
