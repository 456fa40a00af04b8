// engine.space: the vector space of an embedding matrix, by hand (king − man + woman = queen,
// a line's one principal axis, cosines written out) and its argument contract.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as lm from '../../www/pkg/lm_playground.js';
import { wasmBytes } from './helpers.mjs';

lm.initSync({ module: wasmBytes });

// rows: man, woman, king, queen, apple
const E = { shape: [5, 4], data: Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1]) };

test('analogy, neighbours, cosine and axis by hand', () => {
  const q = lm.space('analogy', { e: E, a: 2, b: 0, c: 1, k: 2 });
  assert.equal(q[0].row, 3, 'king − man + woman = queen');
  assert.ok(Math.abs(q[0].cos - 1) < 1e-6);
  const n = lm.space('nearest', { e: E, row: 2, k: 4 });
  assert.deepEqual(n.map((x) => x.row), [0, 3, 1, 4], 'king: man (1/√2), queen (½), then woman and apple (0)');
  assert.ok(Math.abs(n[0].cos - Math.SQRT1_2) < 1e-6 && Math.abs(n[1].cos - 0.5) < 1e-6);
  // exclude: man may not be a neighbour
  const ex = lm.space('nearest', { e: E, row: 2, k: 1, exclude: { shape: [5], data: Uint8Array.from([1, 0, 0, 0, 0]) } });
  assert.equal(ex[0].row, 3);
  const c = lm.space('cosine', { e: E, a: 2, b: 3 });
  assert.equal(c.dot, 1);
  assert.ok(Math.abs(c.normA - Math.SQRT2) < 1e-12 && Math.abs(c.cos - c.dot / (c.normA * c.normB)) < 1e-7);
  assert.deepEqual(Array.from(lm.space('axis', { e: E, a: 0, b: 2 })), [0, 0, 1, 1, 0]);
  const g = lm.space('categories', { e: E, groups: { shape: [5], data: Float32Array.from([0, 1, 0, 1, -1]) } });
  assert.ok(Math.abs(g.within - Math.SQRT1_2) < 1e-6 && Math.abs(g.across - 0.125) < 1e-6, JSON.stringify(g));
});

test('the map of points on a line: one axis, all the variance, a fixed sign', () => {
  const line = { shape: [5, 3], data: Float32Array.from([0, 0, 0, 1, 2, 0, 2, 4, 0, 3, 6, 0, 4, 8, 0]) };
  const m = lm.space('map', { e: line, axes: 2 });
  assert.deepEqual(m.coords.shape, [5, 2]);
  assert.ok(Math.abs(m.explained[0] - 1) < 1e-6);
  assert.ok(m.axes.data[1] > 0, 'the largest entry of an axis is positive');
  assert.ok(Math.abs(m.coords.data[0] + 2 * Math.sqrt(5)) < 1e-5);
});

test('bad questions are errors that name them', () => {
  const bad = (op, args, re) => assert.throws(() => lm.space(op, args), re);
  bad('neighbors', { e: E }, /no question named "neighbors"/);
  bad('nearest', { e: E, row: 2, K: 3 }, /K/);
  bad('nearest', { e: E, row: 9 }, /row = 9 is outside the 5 rows/);
  bad('nearest', { e: E }, /row/);
  bad('map', { e: E, axes: 4 }, /axes/);
  bad('map', { e: { shape: [2, 2], data: Float32Array.from([1, NaN, 0, 1]) } }, /NaN|finite/);
  bad('categories', { e: E, groups: { shape: [5], data: Float32Array.from([0, 1, 0.5, 1, -1]) } }, /whole number/);
  bad('nearest', { e: E, row: 1, exclude: { shape: [4], data: new Uint8Array(4) } }, /exclude has 4 entries/);
  bad('axis', { e: E, a: 0, b: 0 }, /same vector/);
  bad('analogy', { e: E, a: 0, b: 1 }, /c/);
});

test('the word groups of the built-in corpora', () => {
  const zh = lm.wordCategories('zh');
  assert.ok(zh.some(([w, c]) => w === '猫' && c === 'animal'));
  assert.ok(lm.wordCategories('en').some(([w, c]) => w === 'cold' && c === 'temperature'));
  assert.throws(() => lm.wordCategories('code'), /no word categories for the corpus "code"/);
  assert.throws(() => lm.wordCategories(7), /lang/);
});
