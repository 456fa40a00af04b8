// The shipped stack models (www/models/stack-*.safetensors, `cargo xtask pretrain`) and the
// learning panel's size `deep`: the Model the panel builds for `#panel=learn&corpus=zh&size=deep`
// is exactly the recipe's (same parameters, vocabulary and training options as the file's
// metadata), so after loading the shipped weights it scores the file's recorded loss, and
// `Model.fromFile` gives the same model from the file alone. Nothing here is a number written by
// hand: every expected value comes from the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as lm from '../../www/pkg/lm_playground.js';
import { wasmBytes } from './helpers.mjs';
import { loadEngineSync } from '../../www/engine.js';
import { parseHash } from '../../www/state.js';
import LearnPanel from '../../www/panels/learn.js';

lm.initSync({ module: wasmBytes });
loadEngineSync(wasmBytes);

const file = (name) => new Uint8Array(readFileSync(new URL(`../../www/models/${name}.safetensors`, import.meta.url)));

/** A safetensors file's `__metadata__` (8-byte little-endian header length, then JSON). */
function metadata(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))).__metadata__;
}

/** The spec the learning panel sends its worker for the link `hash` (LearnPanel.spec, unchanged). */
function panelSpec(hash, lang) {
  const { state } = parseHash(hash, lang);
  return LearnPanel.prototype.spec.call({ app: { state }, corpusText: () => lm.builtinCorpus(state.corpus) });
}

const relClose = (got, want, what) => assert.ok(Math.abs(got - want) <= 1e-5 * Math.abs(want), `${what}: ${got} vs ${want}`);

for (const lang of ['zh', 'en']) {
  test(`size deep on corpus ${lang} is the stack-${lang} recipe, and its file reproduces its loss`, () => {
    const bytes = file(`stack-${lang}`);
    const meta = metadata(bytes);
    const settings = JSON.parse(meta.recipe_settings);
    const spec = panelSpec(`#panel=learn&corpus=${lang}&size=deep`, lang);
    const m = new lm.Model(spec);
    const f = lm.Model.fromFile(bytes);
    // Same sizes, parameters and vocabulary as the file says.
    assert.deepEqual(m.config(), JSON.parse(meta.config));
    assert.deepEqual(m.config(), f.config());
    assert.deepEqual(m.paramShapes(), f.paramShapes());
    assert.deepEqual(m.vocab(), JSON.parse(meta.vocab));
    assert.deepEqual(f.vocab(), JSON.parse(meta.vocab));
    // Same training options as the recipe's.
    const o = settings.options;
    assert.equal(settings.corpus, lang);
    assert.deepEqual(
      { seed: spec.seed, kind: spec.optimizer.kind, lr: spec.optimizer.lr, batch: spec.batchSize, seqLen: spec.seqLen, clip: spec.clip, heldout: spec.heldout, tokenizer: spec.tokenizer, maxVocab: spec.maxVocab, shards: spec.shards },
      { seed: o.seed, kind: o.optimizer.kind, lr: o.optimizer.lr, batch: o.batch_size, seqLen: o.seq_len, clip: o.clip, heldout: o.heldout, tokenizer: settings.tokenizer, maxVocab: settings.max_vocab, shards: o.shards });
    assert.equal(f.seed, o.seed);
    // The file's model says which recipe made it; a model built from a spec has none.
    assert.deepEqual(f.recipe(), settings);
    assert.equal(m.recipe(), null);
    // The shipped weights in the panel's model score the recorded held-out loss.
    const recorded = Number(meta.final_loss);
    m.loadWeights(bytes);
    relClose(m.evalLoss(), recorded, 'panel model with the shipped weights');
    relClose(f.evalLoss(), recorded, 'Model.fromFile');
    // From the same weights, seed and options, both train alike (the same batches, the same losses).
    assert.deepEqual(Array.from(f.train(3)), Array.from(m.train(3)));
    m.free();
    f.free();
  });
}

test('shippedModel-style use of Model.fromFile: ask it, trace it, name its heads', () => {
  const f = lm.Model.fromFile(file('stack-zh'));
  assert.equal(f.step, 0);
  assert.equal(f.predictNext('今天天气真好，适合去', 1)[0].token, '散步');
  const t = f.trace('今天天气真好，适合去散步');
  const c = f.config();
  assert.equal(t.layers.length, c.n_layers);
  for (const layer of t.layers) {
    const w = layer.attention.weights;
    assert.deepEqual(w.shape, [1, c.n_heads, t.tokens.length, t.tokens.length]);
    const p = lm.headPatterns(w);
    assert.equal(p.length, c.n_heads);
    for (const x of p) if (x) {
      assert.ok(['previous', 'current', 'first'].includes(x.kind), x.kind);
      assert.ok(x.strength >= 0.5 && x.strength <= 1, String(x.strength));
    }
  }
  f.free();
});

test('headPatterns on hand-made heads', () => {
  // Head 0: every row after the first on the token before it (strength 1); head 1: the
  // identity (itself, 1); head 2: uniform over 3 keys (1/3 each: no pattern).
  const prev = [1, 0, 0, 1, 0, 0, 0, 1, 0];
  const eye = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const uni = Array(9).fill(1 / 3);
  const w = { shape: [3, 3, 3], data: Float32Array.from([...prev, ...eye, ...uni]) };
  assert.deepEqual(lm.headPatterns(w), [{ kind: 'previous', strength: 1 }, { kind: 'current', strength: 1 }, null]);
  assert.deepEqual(lm.headPatterns({ shape: [1, 3, 3, 3], data: w.data }, { causal: true }), lm.headPatterns(w));
  // Without the mask a head may look ahead: rows 0 and 1 on the next token, row 2 on itself.
  const next = { shape: [1, 3, 3], data: Float32Array.from([0, 1, 0, 0, 0, 1, 0, 0, 1]) };
  assert.deepEqual(lm.headPatterns(next, { causal: false }), [{ kind: 'next', strength: 1 }]);
  assert.throws(() => lm.headPatterns(w, { mask: true }), /unknown argument "mask"; accepted: causal/);
  assert.throws(() => lm.headPatterns({ shape: [3, 3], data: new Float32Array(9) }), /3 or 4 dimensions/);
  assert.throws(() => lm.headPatterns({ shape: [1, 2, 3], data: new Float32Array(6) }), /must be \[H, T, T\] or \[1, H, T, T\]/);
  assert.throws(() => lm.headPatterns({ shape: [2, 1, 2, 2], data: new Float32Array(8) }), /must be \[H, T, T\] or \[1, H, T, T\]/);
  assert.throws(() => lm.headPatterns({ shape: [1, 2, 2], data: Float32Array.of(1, 0, NaN, 0) }), /non-finite/);
});
