// www/engine.js: a crash (wasm trap) becomes one clear message; ordinary errors pass through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadEngineSync, engineCrashed } from '../../www/engine.js';
import { wasmBytes } from './helpers.mjs';

test('engine.js passes errors through and turns a trap into "reload the page"', () => {
  const engine = loadEngineSync(wasmBytes);
  assert.equal(engine.engineInfo().matmul, 'simd128');
  assert.throws(() => engine.forward('nope', {}), /unknown op/);
  const m = new engine.Model({ corpus: 'a b c a b c a b', dModel: 8, nHeads: 2, nLayers: 1, maxLen: 8 });
  assert.equal(m.train(3).length, 3);
  assert.throws(() => m.predictNext(''), /no tokens/);
  assert.equal(engineCrashed(), null);
  assert.throws(() => engine.debugPanic(), /The engine stopped after an internal error \([^]*debugPanic was called[^]*\)\. Reload the page/);
  assert.match(engineCrashed(), /Reload the page/);
  assert.throws(() => engine.attention(), /Reload the page/);
});
