// The charts as SVG documents (drawHeatmapSvg, drawLossCurveSvg, drawBarsSvg,
// drawAttentionLinesSvg), in Node: no canvas and no document needed; a heatmap has one <rect>
// per cell, labels are escaped, the size is the CSS size asked for, bad input is an Error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as lm from '../../www/pkg/lm_playground.js';
import { wasmBytes } from './helpers.mjs';
import { readable } from '../../www/chart.js';

lm.initSync({ module: wasmBytes });

const T = (shape, f) => ({ shape, data: Float32Array.from({ length: shape[0] * shape[1] }, (_, i) => f(i)) });
/** The elements in `<g class="name">`. */
const group = (svg, name) => {
  const m = svg.match(new RegExp(`<g class="${name}">\\n([\\s\\S]*?)</g>`));
  assert.ok(m, `a <g class="${name}">`);
  return m[1];
};
const count = (s, tag) => (s.match(new RegExp(`<${tag}[ />]`, 'g')) ?? []).length;
/** The text of every <text>, unescaped. */
const texts = (svg) => [...svg.matchAll(/<text[^>]*>\n?([\s\S]*?)\n?<\/text>/g)].map((m) => m[1]
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&'));

test('a heatmap: one rect per cell in row order, its labels, a white background, the CSS size', () => {
  for (const [R, C] of [[1, 1], [3, 5], [24, 64]]) {
    const m = T([R, C], (i) => Math.sin(i));
    const rows = Array.from({ length: R }, (_, i) => `r${i}`), cols = Array.from({ length: C }, (_, i) => `c${i}`);
    const svg = lm.drawHeatmapSvg(m, rows, cols, { width: 640, height: 400, palette: 'diverging' });
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="640" height="400" viewBox="0 0 1280 800"/);
    assert.match(svg.split('\n')[1], /^<rect x="0" y="0" width="1280" height="800" [^>]*fill="#FFFFFF"/);
    assert.equal(count(group(svg, 'cells'), 'rect'), R * C, `${R}×${C}`);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    if (R * C < 100) for (const l of [...rows, ...cols]) assert.ok(texts(svg).includes(l), `label ${l}`);
  }
});

test('cells in row order with the colours of their values; a masked cell is grey with a diagonal', () => {
  const m = T([2, 2], (i) => [0, 1, 1, 0][i]);
  const mask = { shape: [2, 2], data: new Uint8Array([0, 0, 0, 1]) };
  const svg = lm.drawHeatmapSvg(m, ['a', 'b'], ['x', 'y'], { width: 300, height: 200, mask });
  const fills = [...group(svg, 'cells').matchAll(/<rect [^>]*fill="(#\w+)"/g)].map((x) => x[1]);
  assert.equal(fills.length, 4);
  assert.equal(fills[0], '#440154', 'the lowest value is viridis\'s first colour');
  assert.equal(fills[1], '#FDE725', 'the highest its last');
  assert.equal(fills[1], fills[2]);
  assert.equal(fills[3], '#E8E8E8', 'blocked');
  assert.equal(count(group(svg, 'cells'), 'polyline'), 1);
});

test('labels and titles are escaped: <, &, quotes and Chinese come back as written', () => {
  const labels = ['a<b', 'x & y', '"q"', "it's", '你好'];
  const svg = lm.drawHeatmapSvg(T([5, 1], (i) => i), labels, ['<k>'], { width: 400, height: 400, title: '</svg><script>' });
  assert.ok(!svg.includes('<script>') && !svg.includes('a<b'), 'nothing unescaped');
  const t = texts(svg);
  for (const l of [...labels, '<k>', '</svg><script>']) assert.ok(t.includes(l), `text ${l}`);
  // every text names a font list ending with sans-serif (CJK faces in it)
  for (const m of svg.matchAll(/<text [^>]*font-family="([^"]*)"/g)) {
    assert.match(m[1], /Noto Sans CJK SC.*sans-serif$/);
  }
});

test('the loss curve, bars and attention lines as SVG', () => {
  const loss = lm.drawLossCurveSvg(Float32Array.of(3, 2, 1.5, 1), Float32Array.of(2.5, 1.2), { width: 400, height: 220, heldoutEvery: 2, trainLabel: 'train', heldoutLabel: '留出' });
  assert.match(loss, /width="400" height="220"/);
  assert.ok(count(loss, 'polyline') >= 2, 'the two curves');
  assert.ok(texts(loss).includes('留出'));
  const bars = lm.drawBarsSvg(['a', '天', 'c'], Float32Array.of(0.5, 0.3, 0.2), { width: 300, height: 80 });
  assert.equal(count(group(bars, 'bars'), 'rect'), 3);
  assert.ok(texts(bars).includes('50.0%'));
  const lines = lm.drawAttentionLinesSvg(['he', 'x'], ['Tom', 'cold', 'x'], T([2, 3], () => 1 / 3), { width: 300, height: 120, row: 0 });
  assert.equal(count(lines, 'polyline'), 6, 'a line per pair');
  assert.ok(texts(lines).includes('0.33'));
});

/** The font size (CSS px) of each <text> whose content is one of `which`. */
const sizesOf = (svg, which) => [...svg.matchAll(/<text ([^>]*)>\n?([\s\S]*?)\n?<\/text>/g)]
  .filter((m) => which.includes(m[2]))
  .map((m) => Number(m[1].match(/font-size="([\d.]+)/)[1]) / 2); // (drawn at ×2: see svg.rs)

test('bars write values as a reader does and take the page\'s type scale', () => {
  // gradient norms and cosines, as the learning and vectors panels draw them (the sentence
  // beside says 0.455, not 4.552e-1)
  const labels = ['lm_head.weight', '鸟', 'tiny', 'count', 'huge'];
  const values = Float32Array.of(0.4552, 0.073754, 0.0000123, 12, 123456.7);
  const want = ['0.455', '0.0738', '1.23e-5', '12', '1.23e5'];
  const opts = { percent: false, max: 123456.7, width: 400, height: 160 };
  const plain = lm.drawBarsSvg(labels, values, opts);
  for (const w of want) assert.ok(texts(plain).includes(w), `${w} in ${texts(plain)}`);
  assert.ok(!texts(plain).some((t) => /\de-1$/.test(t)), 'no 4.552e-1');
  // the page's lists and the bars' names (chart.js) write them the same way
  assert.deepEqual(Array.from(values, readable), want);
  // the type follows fontScale, as the heatmaps' and the loss curve's
  const big = lm.drawBarsSvg(labels, values, { ...opts, fontScale: 1.5 });
  const [s1, s15] = [sizesOf(plain, labels), sizesOf(big, labels)];
  assert.equal(s1.length, labels.length);
  for (let i = 0; i < labels.length; i++) assert.ok(Math.abs(s15[i] / s1[i] - 1.5) < 0.02, `${labels[i]}: ${s1[i]} → ${s15[i]} px`);
  assert.ok(Math.min(...sizesOf(big, want)) >= 0.9 * 13 * 1.5 - 0.1, 'values at 0.9 of the labels\' size');
  // probabilities stay percentages
  assert.ok(texts(lm.drawBarsSvg(['a'], Float32Array.of(0.4552), { width: 300, height: 40 })).includes('45.5%'));
});

test('a one-row heatmap\'s legend stays on the figure and its ticks read apart', () => {
  for (const height of [40, 50, 60, 90, 200]) {
    const svg = lm.drawHeatmapSvg(T([1, 4], (i) => [1, 0.2, 0.1, 0][i]), ['a'], ['w', 'x', 'y', 'z'], { width: 300, height, palette: 'viridis', min: 0, max: 1 });
    // (legend ticks: the texts anchored at their start; SVG units are 2 per CSS px)
    const ticks = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)" dy="0.5ex" text-anchor="start"[^>]*font-size="([\d.]+)"/g)].map((m) => ({ y: +m[1], f: +m[2] }));
    assert.ok(ticks.length >= (height >= 50 ? 2 : 1), `height ${height}: ${ticks.length} legend ticks`);
    for (const t of ticks) assert.ok(t.y - t.f / 2 >= 0 && t.y + t.f / 2 <= 2 * height, `height ${height}: a tick at ${t.y} is on the figure`);
    const ys = ticks.map((t) => t.y).sort((a, b) => a - b);
    for (let i = 1; i < ys.length; i++) assert.ok(ys[i] - ys[i - 1] >= 1.05 * ticks[0].f, `height ${height}: ticks at ${ys} read apart`);
  }
});

test('bad input is an Error naming what is wrong', () => {
  const m = T([2, 2], () => 0);
  const bad = [
    [() => lm.drawHeatmapSvg(m, ['a', 'b'], ['x', 'y'], {}), /width/],
    [() => lm.drawHeatmapSvg(m, ['a', 'b'], ['x', 'y'], { width: 8, height: 100 }), /width/],
    [() => lm.drawHeatmapSvg(m, ['a', 'b'], ['x', 'y'], { width: 100, height: 1e9 }), /height/],
    [() => lm.drawHeatmapSvg(m, ['a', 'b'], ['x', 'y'], { width: 100, height: 100, dpr: 2 }), /unknown argument "dpr"/],
    [() => lm.drawHeatmapSvg({ shape: [2, 2], data: new Float32Array(3) }, ['a', 'b'], ['x', 'y'], { width: 100, height: 100 }), /matrix/],
    [() => lm.drawHeatmapSvg(m, ['a', 'b'], ['x', 'y'], { width: 100, height: 100, mask: { shape: [1, 2], data: new Uint8Array(2) } }), /mask/],
    [() => lm.drawHeatmapSvg(m, 'ab', ['x', 'y'], { width: 100, height: 100 }), /rowLabels/],
    [() => lm.drawBarsSvg(['a'], Float32Array.of(1, 2), { width: 100, height: 100 }), /labels/],
    [() => lm.drawLossCurveSvg('1 2', Float32Array.of(), { width: 100, height: 100 }), /train/],
    [() => lm.drawAttentionLinesSvg(['a'], ['b'], m, { width: 100, height: 100 }), /weights/],
  ];
  for (const [call, re] of bad) assert.throws(call, (e) => e instanceof Error && re.test(e.message), String(call));
});
