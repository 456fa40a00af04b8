// www/engine.js: a crash (wasm trap) becomes one clear message; ordinary errors pass through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadEngineSync, engineCrashed, engineCrash } from '../../www/engine.js';
import { errorText } from '../../www/strings.js';
import { wasmBytes } from './helpers.mjs';

test('engine.js passes errors through and turns a trap into "reload the page"', () => {
  const engine = loadEngineSync(wasmBytes);
  assert.equal(engine.engineInfo().matmul, 'simd128');
  assert.throws(() => engine.forward('nope', {}), /unknown op/);
  const m = new engine.Model({ corpus: 'a b c a b c a b', dModel: 8, nHeads: 2, nLayers: 1, maxLen: 8 });
  assert.equal(m.train(3).length, 3);
  assert.throws(() => m.predictNext(''), /no tokens/);
  // every class is guarded the same way, its static constructors too
  const pairs = '小明今天感冒了\t他应该多喝水\n小红饿了\t她应该吃点东西\n';
  const s = new engine.Seq2Seq({ pairs, dModel: 8, nHeads: 2, maxLen: 10 });
  assert.equal(s.train(2).length, 2);
  const back = engine.Seq2Seq.fromSafetensors(s.saveWeights(), { pairs });
  assert.deepEqual(back.generate('小明今天感冒了'), s.generate('小明今天感冒了'));
  assert.throws(() => back.generate(''), /source has 0 tokens/);
  assert.equal(engine.recipe('seq2seq-zh').steps, 1000);
  const c = new engine.CausalLM({ pairs, dModel: 8, nHeads: 2, maxLen: 16 });
  assert.equal(c.train(2).length, 2);
  assert.throws(() => c.generate('小明'.repeat(20)), /the prompt has 20 tokens/);
  const ml = engine.MaskedLM.fromRecipe('masked-zh');
  assert.equal(ml.fillMask('小明今天[MASK]了').masks.length, 1);
  assert.throws(() => ml.fillMask('小明'), /has no \[MASK\]/);
  assert.equal(engineCrashed(), null);
  assert.throws(() => engine.debugPanic(), /The engine stopped after an internal error \([^]*debugPanic was called[^]*\)\. Reload the page/);
  assert.match(engineCrashed(), /Reload the page/);
  // the crash has its code and detail: the page says it in its language
  assert.equal(engineCrash().code, 'engine.crashed');
  assert.match(engineCrash().params.detail, /debugPanic was called/);
  assert.match(errorText('zh', engineCrash()), /^计算引擎遇到内部错误后停止了（[^]*debugPanic was called[^]*）。请重新加载页面/);
  assert.throws(() => engine.attention(), /Reload the page/);
});
