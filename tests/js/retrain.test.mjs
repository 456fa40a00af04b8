// Retraining a shipped model in the page: the recipe from its untrained start, run by the wasm
// engine (as the encoder–decoder panel's worker does), reproduces the shipped weights' answers
// and attention — to rounding, since the recipe ran natively.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as lm from '../../www/pkg/lm_playground.js';
import { wasmBytes } from './helpers.mjs';

lm.initSync({ module: wasmBytes });

test('seq2seq-zh retrained in wasm answers and attends as the shipped file', () => {
  const r = lm.recipe('seq2seq-zh');
  const m = lm.Seq2Seq.fromRecipe('seq2seq-zh', {});
  for (let left = r.steps; left > 0; left -= m.maxStepsPerCall) m.train(Math.min(left, m.maxStepsPerCall));
  assert.equal(m.step, r.steps);
  const shipped = lm.Seq2Seq.fromSafetensors(readFileSync(new URL('../../www/models/seq2seq-zh.safetensors', import.meta.url)));
  for (const src of ['小明今天感冒了', '小红今天感冒了']) {
    const a = m.trace(src, {}), b = shipped.trace(src, {});
    let diff = 0;
    for (let i = 0; i < a.logits.data.length; i++) diff = Math.max(diff, Math.abs(a.logits.data[i] - b.logits.data[i]));
    assert.ok(diff < 1e-3, `${src}: logits differ by ${diff}`);
    const ga = m.generate(src, {}), gb = shipped.generate(src, {});
    assert.equal(ga.text, gb.text);
    ga.steps.forEach((s, k) => s.cross.forEach((l, i) => l.forEach((h, j) => h.forEach((w, x) => assert.ok(Math.abs(w - gb.steps[k].cross[i][j][x]) < 1e-3)))));
  }
  m.free();
  shipped.free();
});
