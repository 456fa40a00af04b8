// The JS API, in Node: every exported function on a correct case checked against the PyTorch
// fixtures, and each kind of bad input checked for its error message.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { initSync, attention, forward, backward, Model, engineInfo, kernelSelfTest, lastPanic, debugPanic } from '../../www/pkg/lm_playground.js';
import { wasmBytes, fixture, fixtureBytes, T, M, close } from './helpers.mjs';
import { targetFeatures, sections } from './wasm_sections.mjs';

initSync({ module: wasmBytes });
const TOL = 1e-4;
const ops = fixture('torch_ops.json').cases;
const byName = (n) => ops.find((c) => c.name === n);

describe('the module', () => {
  test('is built with SIMD and its kernel matches the naive product', () => {
    assert.ok(targetFeatures(wasmBytes).includes('+simd128'), 'target_features lists +simd128');
    // f32x4.mul is 0xFD 0xE6 0x01 in the code section (id 10).
    const code = sections(wasmBytes).find((s) => s.id === 10);
    const body = wasmBytes.subarray(code.start, code.end);
    let found = false;
    for (let i = 0; i + 2 < body.length && !found; i++) found = body[i] === 0xfd && body[i + 1] === 0xe6 && body[i + 2] === 0x01;
    assert.ok(found, 'the code contains f32x4.mul');
    assert.equal(engineInfo().matmul, 'simd128');
    const st = kernelSelfTest();
    assert.equal(st.path, 'simd128');
    assert.equal(st.cases, 40);
    assert.ok(st.maxError < 1e-5, `kernel error ${st.maxError}`);
    assert.ok(st.expMaxRelError < 3e-7, `vectorised exp error ${st.expMaxRelError}`);
    assert.ok(st.expEdgesOk, 'exp(−∞) = 0, exp(NaN) = NaN, exp(100) = ∞');
    assert.ok(st.geluTanhMaxError < 1e-6, `tanh-form GELU error ${st.geluTanhMaxError}`);
    // C sits between guard values (and, at a row stride above n, with guards after each row):
    // a store outside C by the simd128 micro-kernel must be seen here, not only if it crashes.
    assert.equal(st.guardsOk, true, 'no kernel wrote outside C');
  });
});

describe('attention', () => {
  test('the seed example 你/是/谁 gives weights 4/9, 1/9, 4/9', () => {
    // D = 4 so scale = 1/2; q(谁)·k = [2 ln4, 0, 2 ln4] → scores [ln4, 0, ln4] → exp 4:1:4.
    const l4 = Math.log(4);
    const q = { shape: [1, 4], data: new Float32Array([2 * l4, 0, 0, 0]) };
    const k = { shape: [3, 4], data: new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0]) };
    const v = { shape: [3, 3], data: new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]) };
    const r = attention(q, k, v, {});
    const w = Array.from(r.weights.data);
    [4 / 9, 1 / 9, 4 / 9].forEach((x, i) => assert.ok(Math.abs(w[i] - x) < 1e-6, `weight ${i}: ${w[i]}`));
    assert.ok(r.weights.data instanceof Float32Array);
    assert.deepEqual(r.output.shape, [1, 3]);
    assert.ok(Math.abs(r.scores.data[0] - l4) < 1e-6);
  });

  test('matches PyTorch with causal and padding masks', () => {
    for (const name of ['attention', 'attention_causal', 'attention_cross_padded']) {
      const c = byName(name);
      const opts = c.mask ? { attnMask: M(c.mask) } : {};
      const r = attention(T(c.inputs.q), T(c.inputs.k), T(c.inputs.v), opts);
      close(r.output, c.outputs.y, TOL, `${name} output`);
      close(r.weights, c.outputs.weights, TOL, `${name} weights`);
      close(r.scores, c.outputs.scores, TOL, `${name} scores`);
    }
    // causal: true is the same as the causal mask
    const c = byName('attention_causal');
    const r = attention(T(c.inputs.q), T(c.inputs.k), T(c.inputs.v), { causal: true });
    close(r.weights, c.outputs.weights, TOL, 'causal flag');
  });

  test('bad input throws an Error naming the argument and shapes', () => {
    const q = { shape: [2, 4], data: new Float32Array(8) };
    const k = { shape: [3, 5], data: new Float32Array(15) };
    assert.throws(() => attention(q, k, k, {}), /\[3, 5\]/);
    assert.throws(() => attention(q, q, { shape: [2, 4], data: new Float32Array(7) }, {}), /v has shape \[2, 4\] \(8 values\) but its data holds 7/);
    assert.throws(() => attention(q, { shape: [2, 4], data: new Float32Array([1, NaN, 0, 0, 0, 0, 0, 0]) }, q, {}), /k has a non-finite value/);
    assert.throws(() => attention(q, undefined, q, {}), /missing argument k/);
    assert.throws(() => attention(q, q, q, { causal: 'yes' }), /causal must be true or false/);
    assert.throws(() => attention({ shape: [1e12, 4], data: [] }, q, q, {}), /whole number|more than/);
    assert.throws(() => attention(q, k.shape && { shape: [3, 4], data: new Float32Array(12) }, { shape: [3, 4], data: new Float32Array(12) }, { causal: true }), /causal needs as many queries as keys/);
    assert.throws(() => attention(q, q, q, 'fast'), Error);
  });

  test('attnBias: −∞ is a mask, a constant row changes nothing, and it matches PyTorch with the masks', () => {
    const c = byName('attention_bias');
    const [q, k, v] = ['q', 'k', 'v'].map((n) => T(c.inputs[n]));
    const blocked = [1, 4, 5, 9, 14];
    const mask = { shape: [3, 5], data: new Uint8Array(15).map((_, i) => (blocked.includes(i) ? 1 : 0)) };
    const bias = { shape: [3, 5], data: new Float32Array(15).map((_, i) => (blocked.includes(i) ? -Infinity : 0)) };
    const a = attention(q, k, v, { attnMask: mask });
    const b = attention(q, k, v, { attnBias: bias });
    assert.deepEqual(Array.from(b.weights.data), Array.from(a.weights.data));
    assert.deepEqual(Array.from(b.output.data), Array.from(a.output.data));
    const plain = attention(q, k, v, {});
    const rows = attention(q, k, v, { attnBias: { shape: [3, 5], data: new Float32Array(15).map((_, i) => [3, -7, 0.5][Math.floor(i / 5)]) } });
    close(rows.weights, { shape: [3, 5], data: Array.from(plain.weights.data) }, 1e-6, 'a constant row bias');
    assert.deepEqual(Array.from(rows.scores.data), Array.from(plain.scores.data), 'scores are before the bias');
    for (const name of ['attention_bias', 'attention_bias_causal', 'attention_bias_padded']) {
      const f = byName(name);
      const r = attention(T(f.inputs.q), T(f.inputs.k), T(f.inputs.v), { attnBias: T(f.inputs.attn_bias), ...attnOpts(f) });
      close(r.output, f.outputs.y, TOL, `${name} output`);
      close(r.weights, f.outputs.weights, TOL, `${name} weights`);
    }
  });
});

describe('gelu', () => {
  test("approximate: 'tanh' is torch.nn.GELU(approximate='tanh'); 'none' is the default", () => {
    const c = byName('gelu_tanh');
    const x = T(c.inputs.x);
    const tanh = forward('gelu', { x, approximate: 'tanh' });
    close(tanh.y, c.outputs.y, TOL, 'gelu tanh');
    const exact = forward('gelu', { x });
    assert.deepEqual(Array.from(forward('gelu', { x, approximate: 'none' }).y.data), Array.from(exact.y.data));
    assert.ok(exact.y.data.some((e, i) => e !== tanh.y.data[i]), 'the two forms differ');
    close(backward('gelu', { x, approximate: 'tanh', dy: T(c.upstream) }).x, c.grads.x, TOL, 'gelu tanh dx');
    // at 0, large x and large −x: 0, x and 0
    const edge = forward('gelu', { x: { shape: [1, 3], data: new Float32Array([0, 30, -30]) }, approximate: 'tanh' });
    assert.deepEqual(Array.from(edge.y.data).map((v) => v + 0), [0, 30, 0]);
  });
});

/** The API arguments for a fixture case (its float bias `attn_bias` is `attnBias`). */
function argsFor(c) {
  const a = {};
  for (const [k, v] of Object.entries(c.inputs)) a[k === 'attn_bias' ? 'attnBias' : k] = T(v);
  for (const [k, v] of Object.entries(c.params)) a[k] = T(v);
  return a;
}
/** The boolean masks and flags of an attention fixture case, as the API names them. */
const attnOpts = (c) => ({
  ...(c.config.causal ? { causal: true } : {}),
  ...(c.mask ? { attnMask: M(c.mask) } : {}),
  ...(c.attn_mask ? { attnMask: M(c.attn_mask) } : {}),
  ...(c.key_padding_mask ? { keyPaddingMask: M(c.key_padding_mask) } : {}),
});

const layerOpts = (c) => ({ heads: c.config.n_heads ?? c.config.heads, activation: c.config.activation, normFirst: c.config.norm_first });

describe('forward and backward match PyTorch for every op', () => {
  const run = {
    linear: (c) => ['linear', argsFor(c), 'y', 'dy'],
    embedding: (c) => ['embedding', { ...argsFor(c), ids: { shape: [c.ids.length], data: Float32Array.from(c.ids) } }, 'y', 'dy'],
    layer_norm: (c) => ['layer_norm', argsFor(c), 'y', 'dy'],
    relu: (c) => ['relu', argsFor(c), 'y', 'dy'],
    gelu: (c) => ['gelu', { ...argsFor(c), ...(c.config.approximate ? { approximate: c.config.approximate } : {}) }, 'y', 'dy'],
    softmax: (c) => ['softmax', argsFor(c), 'y', 'dy'],
    attention: (c) => ['attention', { ...argsFor(c), ...attnOpts(c) }, 'output', 'dout'],
    mha_self: (c) => { const { x, ...rest } = argsFor(c); return ['mha', { ...rest, query: x, heads: 2, ...attnOpts(c) }, 'output', 'dout', { x: 'query' }]; },
    mha_cross: (c) => ['mha', { ...argsFor(c), heads: 2, ...attnOpts(c) }, 'output', 'dout'],
    ffn: (c) => ['ffn', { ...argsFor(c), activation: c.config.activation }, 'y', 'dy'],
    encoder_layer: (c) => ['encoder_layer', { ...argsFor(c), ...layerOpts(c), attnMask: M(c.attn_mask), keyPaddingMask: M(c.key_padding_mask) }, 'y', 'dy'],
    decoder_layer: (c) => ['decoder_layer', { ...argsFor(c), ...layerOpts(c), causal: true, memoryKeyPaddingMask: M(c.memory_key_padding_mask) }, 'y', 'dy'],
  };
  for (const c of ops) {
    if (c.kind === 'cross_entropy') continue;
    test(c.name, () => {
      const [op, args, outName, upName, rename = {}] = run[c.kind](c);
      const f = forward(op, args);
      close(f[outName], c.outputs.y, TOL, `${c.name} forward`);
      const g = backward(op, { ...args, [upName]: T(c.upstream) });
      for (const [name, want] of Object.entries(c.grads)) {
        const key = rename[name] ?? (name === 'attn_bias' ? 'attnBias' : name);
        assert.ok(g[key], `${c.name}: backward returns ${key}`);
        close(g[key], want, TOL, `${c.name} d${key}`);
      }
    });
  }

  test('cross_entropy', () => {
    const c = byName('cross_entropy');
    const args = { logits: T(c.inputs.logits), targets: { shape: [c.targets.length], data: Float32Array.from(c.targets) } };
    const f = forward('cross_entropy', args);
    assert.ok(Math.abs(f.loss - c.outputs.loss.data[0]) < TOL * Math.max(1, c.outputs.loss.data[0]));
    close(backward('cross_entropy', args).logits, c.grads.logits, TOL, 'dlogits');
  });

  test('forward returns what the page draws', () => {
    const c = byName('encoder_layer_post_relu');
    const f = forward('encoder_layer', { ...argsFor(c), ...layerOpts(c), attnMask: M(c.attn_mask) });
    assert.deepEqual(f.attention.weights.shape, [2, 2, 4, 4]);
    assert.deepEqual(f.attention.q.shape, [2, 2, 4, 4]);
    for (let r = 0; r < 2 * 2 * 4; r++) {
      const row = f.attention.weights.data.subarray(r * 4, r * 4 + 4);
      assert.ok(Math.abs(row.reduce((a, b) => a + b) - 1) < 1e-5, 'each row of weights sums to 1');
    }
    const d = byName('decoder_layer_pre_gelu');
    const fd = forward('decoder_layer', { ...argsFor(d), ...layerOpts(d) });
    assert.deepEqual(fd.crossAttention.weights.shape, [2, 2, 3, 5], 'cross-attention: target rows × source columns');
  });

  test('bad input to forward/backward names the argument', () => {
    const c = byName('linear');
    assert.throws(() => forward('lineer', {}), /unknown op "lineer"; the ops are linear/);
    assert.throws(() => forward('linear', { ...argsFor(c), weight: { shape: [3, 5], data: new Float32Array(15) } }), /linear: x has shape \[5, 4\], expected \[5, 5\]/);
    assert.throws(() => backward('linear', argsFor(c)), /missing argument dy/);
    const e = byName('encoder_layer_post_relu');
    assert.throws(() => forward('encoder_layer', { ...argsFor(e), heads: 3 }), /not divisible by n_heads 3/);
    assert.throws(() => forward('encoder_layer', { ...argsFor(e), 'norm2.bias': undefined, heads: 2 }), /missing argument norm2.bias/);
    assert.throws(() => forward('encoder_layer', { ...argsFor(e), heads: 2, activation: 'tanh' }), /activation is "tanh"; it must be one of relu, gelu/);
    assert.throws(() => forward('cross_entropy', { logits: T(byName('cross_entropy').inputs.logits), targets: { shape: [6], data: new Float32Array([0, 1, 2, 3, 4, 99]) } }), /target 99/);
    assert.throws(() => forward('embedding', { weight: { shape: [2, 2], data: new Float32Array(4) }, ids: { shape: [1], data: new Float32Array([5]) } }), /ids\[0\] is 5; it must be a whole number from 0 to 1/);
    assert.throws(() => forward('layer_norm', { ...argsFor(byName('layer_norm')), eps: NaN }), /eps is NaN/);
    // Shapes whose product would not fit in memory are refused before anything is allocated.
    const tall = { shape: [60000, 1], data: new Float32Array(60000) };
    assert.throws(() => forward('linear', { x: tall, weight: tall }), /the output would hold 3600000000 values/);
  });
});

const corpus = '今天天气真好，适合去散步。今天天气真好，适合去公园。明天下雨，在家看书。'.repeat(20);

describe('Model', () => {
  test('trains, predicts, traces, saves and loads', () => {
    const m = new Model({ corpus, seed: 1, dModel: 32, nHeads: 4, nLayers: 2, maxLen: 16, seqLen: 12, batchSize: 8, optimizer: { kind: 'adam', lr: 0.01 } });
    const losses = m.train(60);
    assert.ok(losses instanceof Float32Array && losses.length === 60);
    assert.ok(losses.slice(-5).reduce((a, b) => a + b) / 5 < 0.5 * losses[0], `loss ${losses[0]} → ${losses.at(-1)}`);
    assert.equal(m.step, 60);
    assert.ok(Number.isFinite(m.evalLoss()));
    const next = m.predictNext('今天天气真好，适合去', 3);
    assert.equal(next.length, 3);
    assert.ok(next[0].prob >= next[1].prob && next[1].prob >= next[2].prob);
    assert.ok(['散步', '公园'].includes(next[0].token), `top token ${next[0].token}`);
    const tr = m.trace('今天天气真好');
    assert.deepEqual(tr.tokens, ['今天', '天气', '真', '好']);
    assert.equal(tr.layers.length, 2);
    assert.deepEqual(tr.layers[0].attention.weights.shape, [1, 4, 4, 4]);
    const w = tr.layers[0].attention.weights.data;
    assert.equal(w[1], 0, 'the causal mask blocks the future');
    assert.deepEqual(tr.embeddings.shape, [4, 32]);
    const norms = m.gradNorms();
    assert.ok(norms['lm_head.weight'] > 0 && 'layers.1.norm2.bias' in norms);
    // save → load into a fresh model → same predictions
    const bytes = m.saveWeights();
    const m2 = Model.fromSafetensors({ corpus, seed: 99, dModel: 32, nHeads: 4, nLayers: 2, maxLen: 16 }, bytes);
    assert.deepEqual(m2.predictNext('今天天气真好，适合去', 3), next);
    m.free(); m2.free();
  });

  test("activation 'gelu_tanh' is GELU's tanh form, kept in the config and in the saved file", () => {
    const spec = { corpus, seed: 3, dModel: 16, nHeads: 2, nLayers: 1, maxLen: 8, seqLen: 6, batchSize: 4 };
    const t = new Model({ ...spec, activation: 'gelu_tanh' });
    const g = new Model({ ...spec, activation: 'gelu' });
    assert.equal(t.config().activation, 'gelu_tanh');
    const [lt, lg] = [t.train(3), g.train(3)];
    assert.ok(lt.every(Number.isFinite));
    assert.notDeepEqual(lt, lg, 'same weights, another activation: another loss');
    const back = Model.fromSafetensors({ ...spec, activation: 'gelu_tanh' }, t.saveWeights());
    assert.equal(back.config().activation, 'gelu_tanh');
    for (const m of [t, g, back]) m.free();
  });

  test('the same seed gives the same loss curve', () => {
    const spec = { corpus, seed: 5, dModel: 16, nHeads: 2, nLayers: 1, maxLen: 8, batchSize: 4 };
    const a = new Model(spec).train(10), b = new Model(spec).train(10), c = new Model({ ...spec, seed: 6 }).train(10);
    assert.deepEqual(Array.from(a), Array.from(b));
    assert.notDeepEqual(Array.from(a), Array.from(c));
  });

  test('loads the safetensors PyTorch wrote and computes its loss', () => {
    const o = fixture('torch_optim.json').cases.find((c) => c.name === 'adam');
    const spec = { vocabSize: 9, dModel: 8, nHeads: 2, nLayers: 2, dFf: 12, maxLen: 6, activation: 'gelu', normFirst: true, optimizer: { kind: 'adam', lr: 0.01, weightDecay: 0.01 } };
    const m = Model.fromSafetensors(spec, fixtureBytes('decoder_only.safetensors'));
    const loss = m.trainStep({ ids: T(o.ids), targets: T(o.targets) });
    assert.ok(Math.abs(loss - o.losses[0]) < 1e-4, `${loss} vs ${o.losses[0]}`);
    const loss2 = m.trainStep({ ids: T(o.ids), targets: T(o.targets) });
    assert.ok(Math.abs(loss2 - o.losses[1]) < 1e-4, `${loss2} vs ${o.losses[1]}`);
    close(m.param('ln_f.weight'), { shape: [8], data: [] }.shape && m.param('ln_f.weight'), 0, 'param reads back');
  });

  test('bad specs and inputs throw clear errors', () => {
    assert.throws(() => new Model({ corpus, optimizer: { kind: 'adam', lr: NaN } }), /lr is NaN/);
    assert.throws(() => new Model({ corpus, optimizer: { kind: 'rmsprop' } }), /optimizer: kind is "rmsprop"; it must be one of sgd, adam, adamw/);
    assert.throws(() => new Model({ corpus, dModel: 1e9 }), /dModel is 1000000000; it must be a whole number from 1 to 16384/);
    assert.throws(() => new Model({ corpus, dModel: 30, nHeads: 4 }), /not divisible/);
    assert.throws(() => new Model({ corpus, activation: 'tanh' }), /activation is "tanh"; it must be one of relu, gelu, gelu_tanh/);
    assert.throws(() => new Model({ corpus: '   ' }), /no tokens/);
    assert.throws(() => new Model({ corpus: 'x'.repeat(1_000_001) }), /limit is 1000000/);
    const m = new Model({ corpus, dModel: 16, nHeads: 2, nLayers: 1, maxLen: 8 });
    const V = m.config().vocab_size;
    assert.throws(() => m.trainStep({ ids: { shape: [1, 2], data: new Float32Array([0, V]) }, targets: { shape: [1, 2], data: new Float32Array([0, 1]) } }), new RegExp(`ids\\[0\\]\\[1\\] = ${V} is not a token id`));
    assert.throws(() => m.trainStep({ ids: { shape: [2], data: new Float32Array([0, 1]) }, targets: { shape: [2], data: new Float32Array([0, 1]) } }), /ids has shape \[2\] but must have 2 dimensions/);
    assert.throws(() => m.loadWeights(new Uint8Array([1, 2, 3])), /safetensors/);
    assert.throws(() => m.loadWeights(new Model({ corpus, dModel: 8, nHeads: 2, nLayers: 1, maxLen: 8 }).saveWeights()), /in the file but the model expects/);
    assert.throws(() => m.predictNext('   '), /no tokens/);
    assert.throws(() => m.setLearningRate(NaN), /setLearningRate: lr is NaN; it must be a finite number/);
    assert.throws(() => m.train(1e6), /call it in slices/);
    assert.throws(() => m.param('nope'), /no parameter named "nope"/);
    assert.throws(() => new Model({ vocabSize: 10 }).train(1), /no training text/);
    assert.throws(() => new Model({ vocabSize: 10, maxLen: 4096, seqLen: 4096, batchSize: 4096 }), /MB of activations/);
    // after all those errors the model still works
    assert.ok(m.train(2).every(Number.isFinite));
  });
});

describe('panics', () => {
  test('are reported with their message', () => {
    assert.equal(lastPanic(), undefined);
    assert.throws(() => debugPanic(), WebAssembly.RuntimeError);
    assert.match(lastPanic(), /debugPanic was called/);
  });
});

import { attentionDemo, corpusStats, builtinCorpus, benchMatmul, benchAttention, benchGemm, benchMicroKernel, microKernelFlops } from '../../www/pkg/lm_playground.js';

describe('the page helpers', () => {
  test('attentionDemo: tokens, weights that sum to 1, a causal mask, same weights for the same seed', () => {
    const a = attentionDemo('今天天气真好', { dModel: 16, heads: 4, seed: 3, causal: true });
    assert.deepEqual(a.tokens, ['今天', '天气', '真', '好']);
    assert.deepEqual(a.heads.weights.shape, [1, 4, 4, 4]);
    assert.deepEqual(a.embeddings.shape, [4, 16]);
    const w = a.heads.weights.data;
    for (let r = 0; r < 16; r++) {
      const row = w.subarray(r * 4, r * 4 + 4);
      assert.ok(Math.abs(row.reduce((x, y) => x + y) - 1) < 1e-5);
      const i = r % 4;
      for (let j = i + 1; j < 4; j++) assert.equal(row[j], 0, 'masked');
    }
    const b = attentionDemo('天气', { dModel: 16, heads: 4, seed: 3 });
    assert.deepEqual(Array.from(b.inProjWeight.data), Array.from(a.inProjWeight.data), 'weights depend on the seed only');
    assert.throws(() => attentionDemo('x', { dModel: 16, heads: 3 }), /divisible/);
    assert.throws(() => attentionDemo('x', { dModel: 1024, heads: 2 }), /dModel is 1024; it must be a whole number from 1 to 512/);
    assert.throws(() => attentionDemo('   ', {}), /no tokens/);
  });

  test('attentionDemo({article: true}): the seed article’s 你/是/谁 from hand-set vectors gives 你 the weights 0.1, 0.7, 0.2', () => {
    const near = (got, want, tol) => want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= tol, `${Array.from(got)} ≈ ${want}`));
    const a = attentionDemo('你是谁', { article: true });
    assert.deepEqual(a.tokens, ['你', '是', '谁']);
    assert.deepEqual(a.embeddings.shape, [3, 4]);
    assert.deepEqual(a.heads.weights.shape, [1, 1, 3, 3]);
    near(a.embeddings.data, [2, 1, 0, 0, 2.5 + Math.log(7), 0, 1, 0, 2.5 + Math.log(2), 0, 0, 1], 1e-6);
    assert.deepEqual(Array.from(a.positions.data), new Array(12).fill(0), 'no positions');
    // identity projections: W_Q = W_K = W_V = I, so Q = K = V = x; W_o = I
    const eye = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    assert.deepEqual(Array.from(a.inProjWeight.data), [...eye, ...eye, ...eye]);
    assert.deepEqual(Array.from(a.outProjWeight.data), eye);
    near(a.heads.weights.data.subarray(0, 3), [0.1, 0.7, 0.2], 1e-6);
    // 0.1·x(你) + 0.7·x(是) + 0.2·x(谁)
    near(a.output.data.subarray(0, 4), [0.2 + 0.7 * (2.5 + Math.log(7)) + 0.2 * (2.5 + Math.log(2)), 0.1, 0.7, 0.2], 1e-5);
    // the causal mask still applies; only 你是谁 has hand-set vectors; sizes and seed do not apply
    assert.equal(attentionDemo('你 是 谁', { article: true, causal: true }).heads.weights.data[0], 1);
    assert.throws(() => attentionDemo('今天天气', { article: true }), /the article's example is 你是谁/);
    assert.throws(() => attentionDemo('你是谁', { article: true, dModel: 16 }), /attentionDemo: dModel may not be given with article: true/);
    assert.throws(() => attentionDemo('你是谁', { article: true, seed: 3 }), /seed may not be given/);
    // article: false is the usual random layer
    assert.deepEqual(attentionDemo('你是谁', { article: false, dModel: 8, heads: 2 }).embeddings.shape, [3, 8]);
  });

  test('corpusStats and builtinCorpus: after 天 comes 气', () => {
    const zh = builtinCorpus('zh');
    assert.ok(zh.split('\n').length > 300);
    const s = corpusStats(zh, { tokenizer: 'char', token: '天', top: 3 });
    assert.equal(s.next[0].token, '气');
    assert.ok(s.found && s.tokens > 1000 && s.counts.length === 3);
    const w = corpusStats(zh, { tokenizer: 'word', token: '去' });
    assert.equal(w.next[0].token, '散步');
    assert.equal(corpusStats('a b', { token: 'zzz' }).found, false);
    assert.throws(() => builtinCorpus('fr'), /no built-in corpus named "fr"/);
    assert.throws(() => corpusStats('   ', {}), /empty/);
    assert.throws(() => corpusStats('a', { tokenizer: 'bpe' }), /tokenizer is "bpe"; it must be one of word, char/);
  });

  test('the benchmark helpers compute the products they time', () => {
    // Their checksums are sums of every entry of C, recomputed here from the same inputs.
    const fa = (i, j) => Math.fround(((i * 7 + j * 3) % 11) * 0.1);
    const fb = (i, j) => Math.fround(((i * 5 + j) % 13) * 0.1);
    const sumOfProduct = (m, n, k, A, B) => {
      let s = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) s += A(i, p) * B(p, j);
      return s;
    };
    const near = (got, want, what) => assert.ok(Math.abs(got - want) <= 1e-4 * Math.abs(want), `${what}: ${got} vs ${want}`);
    near(benchMatmul(33, 2), 2 * sumOfProduct(33, 33, 33, fa, fb), 'benchMatmul');
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const A = ta ? (i, p) => fa(p, i) : fa;
      const B = tb ? (p, j) => fb(j, p) : fb;
      near(benchGemm(13, 21, 40, ta, tb, 3), 3 * sumOfProduct(13, 21, 40, A, B), `benchGemm ta=${ta} tb=${tb}`);
    }
    // The micro-kernel: an MR × NR = 4 × 8 tile over KC = flops / 64 steps, accumulated twice.
    const kc = microKernelFlops() / (2 * 4 * 8);
    assert.equal(kc, 256);
    const a = (i) => Math.fround((i % 7) * 1e-3), b = (i) => Math.fround((i % 5) * 1e-3);
    let tile = 0;
    for (let r = 0; r < 4; r++) for (let j = 0; j < 8; j++) for (let p = 0; p < kc; p++) tile += a(p * 4 + r) * b(p * 8 + j);
    near(benchMicroKernel(2), 2 * tile, 'benchMicroKernel');
    assert.ok(Number.isFinite(benchAttention(5, 8, 2)));
  });
});

import { Seq2Seq, recipe } from '../../www/pkg/lm_playground.js';
import { readFileSync } from 'node:fs';

const shipped = (lang) => new Uint8Array(readFileSync(new URL(`../../www/models/seq2seq-${lang}.safetensors`, import.meta.url)));
const rowSum = (r) => r.reduce((a, b) => a + b, 0);
const argmax = (r) => r.reduce((best, x, i) => (x > r[best] ? i : best), 0);
const PAIRS = '小明今天感冒了\t他应该多喝水\n小红饿了\t她应该吃点东西\n我今天累了\t我应该多休息\n爸爸头疼\t他应该吃药\n';
const small = { pairs: PAIRS, dModel: 16, nHeads: 2, dFf: 32, nEncoderLayers: 1, nDecoderLayers: 2, maxLen: 10, batchSize: 4, optimizer: { kind: 'adam', lr: 0.01 } };
const mean = (x) => x.reduce((a, b) => a + b, 0) / x.length;

/**
 * Trains a fresh `new Class(spec)` (a class trained on pairs) for `n` steps, one `trainStep`
 * and then `train(n − 1)`, and checks what each such class promises: every loss is recorded,
 * the loss falls (the mean of the last ten steps below 0.3 × the first ten's), the same seed
 * replays the losses, another seed does not, and the pairs as an array of [source, target] give
 * the same losses and vocabulary. Returns the trained model.
 */
function learnsAndReplays(Class, spec, n) {
  const a = new Class(spec);
  const first = a.trainStep();
  const losses = a.train(n - 1);
  assert.ok(losses instanceof Float32Array && losses.length === n - 1);
  assert.equal(a.step, n);
  assert.deepEqual(Array.from(a.losses()), [first, ...losses]);
  const [head, tail] = [mean(a.losses().slice(0, 10)), mean(losses.slice(-10))];
  assert.ok(tail < 0.3 * head, `loss ${head} → ${tail}`);
  const start = Array.from(a.losses().slice(0, 20));
  const again = (s) => {
    const m = new Class(s);
    const l = Array.from(m.train(20));
    const v = m.vocab();
    m.free();
    return [l, v];
  };
  const same = again(spec);
  assert.deepEqual(same[0], start, 'the same seed');
  assert.notDeepEqual(again({ ...spec, seed: 2 })[0], start, 'another seed');
  const list = again({ ...spec, pairs: spec.pairs.trim().split('\n').map((l) => l.split('\t')) });
  assert.deepEqual(list[0], start, 'the pairs as an array');
  assert.deepEqual(list[1], a.vocab());
  return a;
}

describe('Seq2Seq', () => {
  test('the shipped Chinese model answers the article, and its weights are what the core computes', () => {
    const s = Seq2Seq.fromSafetensors(shipped('zh'));
    const cfg = s.config();
    assert.equal(cfg.n_decoder_layers, 2);
    assert.equal(s.pairCount, 0);
    const g = s.generate('小明今天感冒了');
    assert.equal(g.text, '他应该多喝水');
    assert.deepEqual(g.sourceTokens, ['小明', '今天', '感冒', '了']);
    assert.deepEqual(g.unknown, []);
    assert.deepEqual(g.steps.map((x) => x.token), ['他', '应该', '多', '喝', '水', '<eos>']);
    // what the decoder read: <bos>, then every token written but the last
    assert.deepEqual(g.targetTokens, ['<bos>', '他', '应该', '多', '喝', '水']);
    const S = g.sourceTokens.length;
    g.steps.forEach((st, k) => {
      assert.equal(st.cross.length, cfg.n_decoder_layers);
      assert.equal(st.self.length, cfg.n_decoder_layers);
      for (let l = 0; l < cfg.n_decoder_layers; l++) {
        assert.equal(st.cross[l].length, cfg.n_heads);
        for (let h = 0; h < cfg.n_heads; h++) {
          const [c, sa] = [st.cross[l][h], st.self[l][h]];
          assert.ok(c instanceof Float32Array && sa instanceof Float32Array);
          assert.equal(c.length, S, 'cross-attention is over the source tokens');
          assert.equal(sa.length, k + 1, 'self-attention is over <bos> and the tokens written so far');
          assert.ok(Math.abs(rowSum(c) - 1) < 1e-5 && Math.abs(rowSum(sa) - 1) < 1e-5);
        }
      }
      // The same weights from another path: one forward pass on the prefix written so far.
      const t = s.trace('小明今天感冒了', { target: g.steps.slice(0, k).map((x) => x.token).join('') });
      assert.deepEqual(t.targetTokens, g.targetTokens.slice(0, k + 1));
      for (let l = 0; l < cfg.n_decoder_layers; l++) {
        const w = t.decoder.layers[l].crossAttention.weights;
        assert.deepEqual(w.shape, [1, cfg.n_heads, k + 1, S]);
        for (let h = 0; h < cfg.n_heads; h++) {
          const row = w.data.subarray((h * (k + 1) + k) * S, (h * (k + 1) + k + 1) * S);
          assert.deepEqual(Array.from(row), Array.from(st.cross[l][h]), `step ${k}, layer ${l}, head ${h}`);
        }
      }
      assert.equal(t.next[0].token, st.token);
      assert.ok(Math.abs(t.next[0].prob - st.prob) < 1e-6);
    });
    // While writing 喝, a head of the last decoder layer looks most at 感冒 (and at 小明 for 他).
    const last = cfg.n_decoder_layers - 1;
    const looks = (token, at) => g.steps.find((x) => x.token === token).cross[last].some((row) => g.sourceTokens[argmax(row)] === at);
    assert.ok(looks('喝', '感冒'), 'a head looks most at 感冒 while writing 喝');
    assert.ok(looks('他', '小明'), 'a head looks most at 小明 while writing 他');
    // An unknown word is named, and the model still answers.
    const u = s.generate('小明今天发烧了');
    assert.deepEqual(u.unknown, ['发烧']);
    assert.ok(u.text.length > 0);
    assert.throws(() => s.trainStep(), /trainStep: seq2seq: the model has no training pairs/);
    s.free();
  });

  test('the shipped English model answers too; maxLen cuts the answer', () => {
    const s = Seq2Seq.fromSafetensors(shipped('en'));
    assert.equal(s.generate('Tom has a cold today').text, 'he should drink more water');
    const g = s.generate('Tom has a cold today', { maxLen: 2 });
    assert.deepEqual(g.steps.map((x) => x.token), ['he', 'should']);
    assert.deepEqual(g.targetTokens, ['<bos>', 'he']);
    s.free();
  });

  test('trace: every layer of the encoder and the decoder, the logits and the next tokens', () => {
    const s = Seq2Seq.fromSafetensors(shipped('zh'));
    const { d_model: C, n_heads: H, vocab_size: V } = s.config();
    const t = s.trace('小明今天感冒了', { target: '他应该多' });
    assert.deepEqual(t.sourceTokens, ['小明', '今天', '感冒', '了']);
    assert.deepEqual(t.targetTokens, ['<bos>', '他', '应该', '多']);
    assert.equal(t.targetIds[0], 2);
    assert.deepEqual(t.encoder.embeddings.shape, [4, C]);
    assert.equal(t.encoder.layers.length, 2);
    assert.deepEqual(t.encoder.layers[0].input, t.encoder.embeddings);
    assert.deepEqual(t.encoder.layers[1].input, t.encoder.layers[0].output);
    assert.deepEqual(t.encoder.layers[0].attention.weights.shape, [1, H, 4, 4]);
    assert.deepEqual(t.encoder.memory.shape, [4, C]);
    const d = t.decoder.layers[1];
    assert.deepEqual(Object.keys(d), ['input', 'selfAttention', 'afterSelfAttention', 'crossAttention', 'afterCrossAttention', 'output']);
    assert.deepEqual(d.selfAttention.weights.shape, [1, H, 4, 4]);
    assert.equal(d.selfAttention.weights.data[1], 0, 'the causal mask blocks the future');
    assert.deepEqual(d.crossAttention.weights.shape, [1, H, 4, 4]);
    assert.deepEqual(t.logits.shape, [4, V]);
    assert.equal(t.next[0].token, '喝');
    assert.ok(t.next[0].prob > 0.9 && t.next.length === 5);
    assert.deepEqual(s.trace('小明').targetTokens, ['<bos>'], 'the target defaults to empty');
    assert.throws(() => s.trace('小明', { target: '多'.repeat(16) }), /answer so far has 16 tokens; with <bos> it may have at most 15/);
    s.free();
  });

  test('a fresh model learns its pairs, and the same seed gives the same losses', () => {
    const a = learnsAndReplays(Seq2Seq, small, 80);
    assert.equal(a.generate('小明今天感冒了').text, '他应该多喝水');
    const v = a.vocab();
    assert.ok(v.source.includes('感冒') && !v.source.includes('喝'));
    assert.ok(v.target.includes('喝') && v.target.includes('<eos>') && !v.target.includes('多喝水'));
    assert.equal(v.pieces[2], '<bos>');
    a.free();
  });

  test("activation 'gelu_tanh' reaches the encoder-decoder and its saved file", () => {
    const t = new Seq2Seq({ ...small, activation: 'gelu_tanh' });
    assert.equal(t.config().activation, 'gelu_tanh');
    const r = new Seq2Seq({ ...small, activation: 'relu' });
    assert.notDeepEqual(Array.from(t.train(3)), Array.from(r.train(3)));
    const back = Seq2Seq.fromSafetensors(t.saveWeights(), { pairs: PAIRS });
    assert.equal(back.config().activation, 'gelu_tanh');
    assert.throws(() => new Seq2Seq({ ...small, activation: 'swish' }), /activation is "swish"; it must be one of relu, gelu, gelu_tanh/);
    for (const m of [t, r, back]) m.free();
  });

  test('saveWeights round-trips through fromSafetensors to identical generations', () => {
    const a = new Seq2Seq(small);
    a.train(30);
    const bytes = a.saveWeights();
    assert.ok(bytes instanceof Uint8Array);
    const b = Seq2Seq.fromSafetensors(bytes, { pairs: PAIRS, seed: 7 });
    assert.deepEqual(b.config(), a.config());
    assert.deepEqual(b.vocab(), a.vocab());
    for (const src of ['小明今天感冒了', '爸爸饿了', '我头疼']) assert.deepEqual(b.generate(src), a.generate(src));
    assert.deepEqual(b.trace('小红饿了', { target: '她' }), a.trace('小红饿了', { target: '她' }));
    assert.equal(b.pairCount, 4);
    assert.equal(b.seed, 7);
    assert.ok(Number.isFinite(b.trainStep()));
    a.free(); b.free();
  });

  test('a recipe: its corpus, and its untrained model, as `cargo xtask pretrain` starts it', () => {
    const r = recipe('seq2seq-zh');
    assert.equal(r.name, 'seq2seq-zh');
    assert.equal(r.corpusFile, 'src/corpora/seq2seq_zh.tsv');
    assert.equal(r.steps, 1000);
    assert.equal(r.seed, 1);
    assert.ok(r.pairs.split('\n').includes('小明今天感冒了\t他应该多喝水'));
    assert.ok(r.heldout.split('\n').length > 50);
    const fresh = Seq2Seq.fromRecipe('seq2seq-zh');
    const trained = Seq2Seq.fromSafetensors(shipped('zh'), { pairs: r.pairs });
    assert.deepEqual(fresh.config(), trained.config());
    assert.deepEqual(fresh.vocab(), trained.vocab(), 'the recipe builds the shipped vocabulary');
    assert.equal(fresh.pairCount, trained.pairCount);
    assert.equal(fresh.seed, 1);
    assert.equal(Seq2Seq.fromRecipe('seq2seq-zh', { seed: 3 }).seed, 3);
    const losses = fresh.train(Math.min(20, fresh.maxStepsPerCall));
    assert.ok(losses.at(-1) < losses[0]);
    assert.throws(() => recipe('seq2seq-fr'), /no recipe named "seq2seq-fr" \(there are seq2seq-zh, seq2seq-en, masked-zh, masked-en, causal-zh, causal-en\)/);
    assert.throws(() => Seq2Seq.fromRecipe('masked-zh', {}), /Seq2Seq.fromRecipe: the session is encoder-only, not encoder-decoder/);
    fresh.free(); trained.free();
  });

  test('bad input throws clear errors, and the model still works', () => {
    const s = new Seq2Seq(small);
    assert.throws(() => s.generate(''), /generate: seq2seq: the source has 0 tokens; it needs 1 to 10/);
    assert.throws(() => s.generate('小明'.repeat(11)), /the source has 11 tokens; it needs 1 to 10/);
    assert.throws(() => s.generate('小明', { maxLen: 0 }), /maxLen is 0; it must be a whole number from 1 to 4096/);
    assert.throws(() => s.generate('小明', { max_len: 3 }), /unknown argument "max_len"; accepted: maxLen/);
    assert.throws(() => s.train(1e6), /call it in slices/);
    assert.throws(() => new Seq2Seq({}), /new Seq2Seq: missing argument pairs \(TSV text/);
    assert.throws(() => new Seq2Seq({ pairs: 'no tab' }), /line 1: "no tab" is not source<TAB>target/);
    assert.throws(() => new Seq2Seq({ pairs: 5 }), /pairs must be TSV text \(source<TAB>target lines\) or an array of \[source, target\] strings, got the number 5/);
    assert.throws(() => new Seq2Seq({ pairs: [['a', 'b', 'c']] }), /pairs\[0\] must be an array \[source, target\] of two strings/);
    assert.throws(() => new Seq2Seq({ pairs: [['a', 5]] }), /pairs\[0\]\[1\] must be a string, got the number 5/);
    assert.throws(() => new Seq2Seq({ ...small, maxLen: 4 }), /the pair "小明今天感冒了" → "他应该多喝水" has 4 source and 5 target tokens/);
    assert.throws(() => new Seq2Seq({ ...small, dModel: 30, nHeads: 4 }), /not divisible/);
    assert.throws(() => new Seq2Seq({ ...small, nLayers: 2 }), /unknown argument "nLayers"; accepted: pairs, sourceTokenizer/);
    assert.throws(() => Seq2Seq.fromSafetensors(fixtureBytes('decoder_only.safetensors')), /__metadata__ has no "model"/);
    assert.throws(() => Seq2Seq.fromSafetensors(shipped('zh'), { dModel: 8 }), /unknown argument "dModel"; accepted: pairs, seed, batchSize, optimizer, clip/);
    assert.ok(s.train(2).every(Number.isFinite));
    s.free();
  });
});

import { MaskedLM, CausalLM } from '../../www/pkg/lm_playground.js';

const family = (name) => new Uint8Array(readFileSync(new URL(`../../www/models/${name}.safetensors`, import.meta.url)));
/** The T × T rows of one head's Float32Array, row-major. */
const rowsOf = (w, T) => Array.from({ length: T }, (_, i) => w.subarray(i * T, (i + 1) * T));
/** The same spec sizes for both one-sequence classes: one stack of 2 layers. */
const oneStack = { pairs: PAIRS, dModel: 16, nHeads: 2, dFf: 32, nLayers: 2, maxLen: 12, batchSize: 4, optimizer: { kind: 'adam', lr: 0.01 } };

/** Candidates as fillMask gives them: probabilities in (0, 1], most probable first, summing to at most 1. */
function checkCandidates(cands, k) {
  assert.equal(cands.length, k);
  for (const c of cands) assert.ok(c.prob > 0 && c.prob <= 1 && typeof c.token === 'string' && Number.isInteger(c.id), JSON.stringify(c));
  for (let i = 1; i < k; i++) assert.ok(cands[i - 1].prob >= cands[i].prob, 'sorted, most probable first');
  assert.ok(cands.reduce((s, c) => s + c.prob, 0) <= 1 + 1e-6);
}

describe('MaskedLM', () => {
  test('the shipped Chinese model fills 小明今天[MASK]了 from the right context, with every attention row', () => {
    const m = MaskedLM.fromSafetensors(family('masked-zh'));
    const { n_layers: L, n_heads: H } = m.config();
    assert.equal(m.pairCount, 0);
    const f = m.fillMask('小明今天[MASK]了，他应该多喝水');
    assert.deepEqual(f.tokens, ['小明', '今天', '[MASK]', '了', '，', '他', '应该', '多', '喝', '水']);
    assert.equal(f.ids[2], 3, '[MASK] is id 3');
    assert.deepEqual(f.unknown, []);
    assert.equal(f.masks.length, 1);
    assert.equal(f.masks[0].position, 2);
    checkCandidates(f.masks[0].candidates, 5);
    assert.equal(f.masks[0].candidates[0].token, '感冒');
    // The same left side with other advice on the right: another answer.
    const other = m.fillMask('小明今天[MASK]了，他应该吃药').masks[0].candidates[0].token;
    assert.notEqual(other, '感冒', 'the right context decides');
    assert.equal(m.fillMask('小明今天[MASK]，他应该吃药').masks[0].candidates[0].token, '头疼');
    // attention[layer][head]: T × T, row-major; every row sums to 1, and every token sees every token.
    const T = f.tokens.length;
    assert.equal(f.attention.length, L);
    for (const heads of f.attention) {
      assert.equal(heads.length, H);
      for (const w of heads) {
        assert.ok(w instanceof Float32Array && w.length === T * T);
        for (const row of rowsOf(w, T)) {
          assert.ok(Math.abs(rowSum(row) - 1) < 1e-5);
          assert.ok(row.every((x) => x > 0), 'no causal mask');
        }
      }
    }
    // Two masks, top 3; <mask> works too; an unknown word is named and the model still answers.
    const two = m.fillMask('小明今天[MASK]了，<mask>应该多喝水', { top: 3 });
    assert.deepEqual(two.masks.map((x) => x.position), [2, 5]);
    for (const x of two.masks) checkCandidates(x.candidates, 3);
    assert.equal(two.masks[1].candidates[0].token, '他');
    const u = m.fillMask('小明发烧了，[MASK]应该多喝水');
    assert.deepEqual(u.unknown, ['发烧']);
    assert.equal(u.masks[0].candidates.length, 5);
    assert.throws(() => m.fillMask('小明今天感冒了'), /fillMask: masked LM: the text "小明今天感冒了" has no \[MASK\]/);
    assert.throws(() => m.fillMask('小明'.repeat(16) + '[MASK]'), /the text has 17 tokens; the model reads 1 to 16/);
    assert.throws(() => m.fillMask('[MASK]', { top: 0 }), /top is 0; it must be a whole number from 1 to 1000/);
    assert.throws(() => m.fillMask('[MASK]', { topK: 3 }), /unknown argument "topK"; accepted: top/);
    assert.throws(() => m.trainStep(), /trainStep: masked LM: the model has no training pairs/);
    m.free();
  });

  test('the shipped English model fills its twin', () => {
    const m = MaskedLM.fromSafetensors(family('masked-en'));
    const top = (t) => m.fillMask(t).masks[0].candidates[0].token;
    assert.equal(top('Tom has a [MASK] today, he should drink more water'), 'cold');
    assert.equal(top('Tom has a [MASK] today, he should take medicine'), 'headache');
    assert.equal(m.vocab().separator, ',');
    m.free();
  });

  test('trace: the embeddings, every layer, the logits and the masks, as fillMask computed them', () => {
    const m = MaskedLM.fromSafetensors(family('masked-zh'));
    const { d_model: C, n_heads: H, vocab_size: V } = m.config();
    const text = '小明今天[MASK]了，他应该多喝水';
    const t = m.trace(text);
    const f = m.fillMask(text);
    assert.deepEqual(Object.keys(t), ['tokens', 'ids', 'unknown', 'embeddings', 'layers', 'logits', 'masks']);
    assert.deepEqual(t.tokens, f.tokens);
    assert.deepEqual(t.embeddings.shape, [10, C]);
    assert.equal(t.layers.length, 2);
    assert.deepEqual(Object.keys(t.layers[0]), ['input', 'attention', 'afterAttention', 'output']);
    assert.deepEqual(t.layers[0].input, t.embeddings);
    assert.deepEqual(t.layers[1].input, t.layers[0].output);
    for (let l = 0; l < 2; l++) {
      const w = t.layers[l].attention.weights;
      assert.deepEqual(w.shape, [1, H, 10, 10]);
      for (let h = 0; h < H; h++) assert.deepEqual(Array.from(w.data.subarray(h * 100, (h + 1) * 100)), Array.from(f.attention[l][h]));
    }
    assert.deepEqual(t.logits.shape, [10, V]);
    assert.deepEqual(t.masks, f.masks);
    assert.deepEqual(m.trace('小明今天感冒了').masks, [], 'a trace needs no mask');
    assert.throws(() => m.trace(''), /trace: masked LM: the text has 0 tokens; the model reads 1 to 16/);
    m.free();
  });

  test('a fresh model learns its pairs, and the same seed gives the same losses', () => {
    // (masking is random, so the loss is noisy: learnsAndReplays compares means of ten steps)
    const a = learnsAndReplays(MaskedLM, oneStack, 150);
    assert.equal(a.fillMask('小明今天[MASK]了，他应该多喝水').masks[0].candidates[0].token, '感冒');
    const r = new MaskedLM({ ...oneStack, maskRate: 0.5 });
    assert.notDeepEqual(Array.from(r.train(20)), Array.from(a.losses().slice(0, 20)), 'another masking rate');
    assert.equal(a.pairCount, 4);
    const v = a.vocab();
    assert.equal(v.separator, '，');
    assert.deepEqual(v.pieces.slice(0, 4), ['<pad>', '<unk>', '<bos>', '<mask>']);
    assert.ok(v.pieces.includes('感冒') && v.pieces.includes('喝') && !v.pieces.includes('<eos>'));
    assert.deepEqual(a.config(), { vocab_size: v.pieces.length, d_model: 16, n_heads: 2, d_ff: 32, activation: 'gelu', norm_first: false, layer_norm_eps: 1e-5, n_layers: 2, max_len: 12 });
    for (const m of [a, r]) m.free();
  });

  test('saveWeights round-trips through fromSafetensors to identical fills and traces', () => {
    const a = new MaskedLM({ ...oneStack, maskRate: 0.3 });
    a.train(30);
    const bytes = a.saveWeights();
    assert.ok(bytes instanceof Uint8Array);
    const b = MaskedLM.fromSafetensors(bytes, { pairs: PAIRS, seed: 7 });
    assert.deepEqual(b.config(), a.config());
    assert.deepEqual(b.vocab(), a.vocab());
    for (const t of ['小明今天[MASK]了，他应该多喝水', '[MASK]饿了，她应该吃点东西']) assert.deepEqual(b.fillMask(t), a.fillMask(t));
    assert.deepEqual(b.trace('我今天[MASK]了'), a.trace('我今天[MASK]了'));
    assert.equal(b.pairCount, 4);
    assert.equal(b.seed, 7);
    assert.ok(Number.isFinite(b.trainStep()));
    a.free(); b.free();
  });

  test('fromRecipe builds the shipped vocabulary and sizes, and refuses another family', () => {
    const r = recipe('masked-zh');
    assert.equal(r.steps, 2000);
    const fresh = MaskedLM.fromRecipe('masked-zh');
    const shipped = MaskedLM.fromSafetensors(family('masked-zh'), { pairs: r.pairs });
    assert.deepEqual(fresh.config(), shipped.config());
    assert.deepEqual(fresh.vocab(), shipped.vocab(), 'the recipe builds the shipped vocabulary');
    assert.equal(fresh.pairCount, shipped.pairCount);
    assert.equal(fresh.seed, 1);
    assert.equal(MaskedLM.fromRecipe('masked-en', { seed: 3 }).seed, 3);
    assert.ok(fresh.maxStepsPerCall >= 10);
    assert.throws(() => MaskedLM.fromRecipe('causal-zh'), /MaskedLM.fromRecipe: the session is decoder-only, not encoder-only/);
    assert.throws(() => MaskedLM.fromRecipe('masked-fr'), /no recipe named "masked-fr"/);
    fresh.free(); shipped.free();
  });

  test('bad input throws clear errors, and the model still works', () => {
    const m = new MaskedLM(oneStack);
    assert.throws(() => new MaskedLM({}), /new MaskedLM: missing argument pairs/);
    assert.throws(() => new MaskedLM({ ...oneStack, nEncoderLayers: 2 }), /unknown argument "nEncoderLayers"; accepted: pairs, tokenizer, separator, nLayers, maxLen, dModel, nHeads, dFf, activation, normFirst, seed, batchSize, optimizer, clip, maskRate/);
    assert.throws(() => new MaskedLM({ ...oneStack, maskRate: 1.5 }), /new MaskedLM: maskRate is 1.5; it must be a number from 0 to 1/);
    assert.throws(() => new MaskedLM({ ...oneStack, maxLen: 6 }), /the pair "小明今天感冒了" → "他应该多喝水" is 10 tokens joined; max_len is 6/);
    assert.throws(() => new MaskedLM({ ...oneStack, separator: '然后' }), /the separator "然后" is not one piece of the vocabulary/);
    assert.throws(() => new MaskedLM({ ...oneStack, tokenizer: 'bpe' }), /tokenizer is "bpe"; it must be one of word, char/);
    assert.throws(() => MaskedLM.fromSafetensors(family('causal-zh')), /MaskedLM.fromSafetensors: masked LM file: the model is "decoder-only", not "encoder-only"/);
    assert.throws(() => MaskedLM.fromSafetensors(family('masked-zh'), { maskRate: 0.2 }), /unknown argument "maskRate"; accepted: pairs, seed, batchSize, optimizer, clip/);
    assert.throws(() => m.train(1e6), /call it in slices/);
    assert.ok(m.train(2).every(Number.isFinite));
    m.free();
  });
});

describe('CausalLM', () => {
  test('the shipped Chinese model continues 小明今天感冒了， with 他应该多喝水, each token seeing only those before it', () => {
    const c = CausalLM.fromSafetensors(family('causal-zh'));
    const { n_layers: L, n_heads: H } = c.config();
    const g = c.generate('小明今天感冒了，');
    assert.equal(g.text, '他应该多喝水');
    assert.deepEqual(g.context, ['<bos>', '小明', '今天', '感冒', '了', '，']);
    assert.deepEqual(g.contextIds.slice(0, 1), [2]);
    assert.deepEqual(g.unknown, []);
    assert.deepEqual(g.steps.map((s) => s.token), ['他', '应该', '多', '喝', '水', '<eos>']);
    g.steps.forEach((st, k) => {
      assert.ok(st.prob > 0 && st.prob <= 1);
      assert.equal(st.attention.length, L);
      for (const heads of st.attention) {
        assert.equal(heads.length, H);
        for (const row of heads) {
          assert.ok(row instanceof Float32Array);
          assert.equal(row.length, g.context.length + k, 'over the context and the tokens written before it');
          assert.ok(Math.abs(rowSum(row) - 1) < 1e-5);
        }
      }
      // The same weights from another path: one forward pass on what was read so far.
      const t = c.trace('小明今天感冒了，' + g.steps.slice(0, k).map((s) => s.token).join(''));
      const T = g.context.length + k;
      assert.equal(t.tokens.length, T);
      assert.equal(t.next[0].token, st.token);
      assert.ok(Math.abs(t.next[0].prob - st.prob) < 1e-6);
      for (let l = 0; l < L; l++) {
        const w = t.layers[l].attention.weights;
        for (let h = 0; h < H; h++) {
          const last = w.data.subarray((h * T + T - 1) * T, (h * T + T) * T);
          assert.deepEqual(Array.from(last), Array.from(st.attention[l][h]), `step ${k}, layer ${l}, head ${h}`);
        }
      }
    });
    assert.deepEqual(c.generate('小明今天感冒了，', { maxLen: 2 }).steps.map((s) => s.token), ['他', '应该']);
    const u = c.generate('小明发烧了，');
    assert.deepEqual(u.unknown, ['发烧']);
    assert.ok(u.steps.length > 0);
    assert.ok(c.generate('').steps.length > 0, 'from <bos> alone it writes a situation');
    assert.throws(() => c.generate('小明'.repeat(15)), /generate: causal LM: the prompt has 15 tokens; with <bos> and room to write it needs at most 14/);
    assert.throws(() => c.generate('小明', { maxLen: 0 }), /maxLen is 0; it must be a whole number from 1 to 4096/);
    assert.throws(() => c.generate('小明', { max_len: 3 }), /unknown argument "max_len"; accepted: maxLen/);
    assert.throws(() => c.trainStep(), /trainStep: causal LM: the model has no training pairs/);
    c.free();
  });

  test('the shipped English model continues its twin', () => {
    const c = CausalLM.fromSafetensors(family('causal-en'));
    assert.equal(c.generate('Tom has a cold today,').text, 'he should drink more water');
    c.free();
  });

  test('trace: the embeddings, every causal layer, the logits and the next tokens', () => {
    const c = CausalLM.fromSafetensors(family('causal-zh'));
    const { d_model: C, n_heads: H, vocab_size: V } = c.config();
    const t = c.trace('小明今天感冒了，他应该多');
    assert.deepEqual(Object.keys(t), ['tokens', 'ids', 'unknown', 'embeddings', 'layers', 'logits', 'next']);
    assert.deepEqual(t.tokens, ['<bos>', '小明', '今天', '感冒', '了', '，', '他', '应该', '多']);
    assert.deepEqual(t.embeddings.shape, [9, C]);
    assert.deepEqual(t.layers[0].input, t.embeddings);
    assert.deepEqual(t.layers[1].input, t.layers[0].output);
    const w = t.layers[1].attention.weights;
    assert.deepEqual(w.shape, [1, H, 9, 9]);
    assert.equal(w.data[1], 0, 'the causal mask blocks the future');
    assert.deepEqual(t.logits.shape, [9, V]);
    assert.equal(t.next[0].token, '喝');
    assert.equal(t.next.length, 5);
    assert.deepEqual(c.trace('').tokens, ['<bos>']);
    assert.throws(() => c.trace('小明'.repeat(16)), /trace: causal LM: the text has 16 tokens; with <bos> it may have at most 15/);
    c.free();
  });

  test('a fresh model learns its pairs, the same seed gives the same losses, and its file round-trips', () => {
    const a = learnsAndReplays(CausalLM, oneStack, 100);
    assert.equal(a.generate('小明今天感冒了，').text, '他应该多喝水');
    const ans = new CausalLM({ ...oneStack, lossOn: 'answer' });
    assert.notDeepEqual(Array.from(ans.train(20)), Array.from(a.losses().slice(0, 20)), 'the loss on the answer only');
    const v = a.vocab();
    assert.equal(v.pieces[4], '<eos>');
    assert.equal(v.separator, '，');
    assert.equal(a.config().norm_first, true, 'pre-norm, as GPT-2');
    const back = CausalLM.fromSafetensors(a.saveWeights(), { pairs: PAIRS, seed: 5 });
    assert.deepEqual(back.config(), a.config());
    assert.deepEqual(back.vocab(), v);
    for (const p of ['小明今天感冒了，', '爸爸头疼，', '']) assert.deepEqual(back.generate(p), a.generate(p));
    assert.deepEqual(back.trace('小红饿了，她'), a.trace('小红饿了，她'));
    assert.equal(back.pairCount, 4);
    assert.equal(back.seed, 5);
    assert.ok(Number.isFinite(back.trainStep()));
    for (const m of [a, ans, back]) m.free();
  });

  test('English pairs are joined with ","; fromRecipe builds the shipped vocabulary; bad input is refused', () => {
    const e = new CausalLM({ pairs: 'Tom is cold\the should wear more\n', dModel: 8, nHeads: 2 });
    assert.equal(e.vocab().separator, ',');
    assert.ok(e.vocab().pieces.includes('Tom'));
    const fresh = CausalLM.fromRecipe('causal-zh');
    const shipped = CausalLM.fromSafetensors(family('causal-zh'), { pairs: recipe('causal-zh').pairs });
    assert.deepEqual(fresh.config(), shipped.config());
    assert.deepEqual(fresh.vocab(), shipped.vocab(), 'the recipe builds the shipped vocabulary');
    assert.equal(fresh.pairCount, shipped.pairCount);
    assert.ok(fresh.train(Math.min(10, fresh.maxStepsPerCall)).every(Number.isFinite));
    assert.throws(() => CausalLM.fromRecipe('masked-zh'), /CausalLM.fromRecipe: the session is encoder-only, not decoder-only/);
    assert.throws(() => new CausalLM({ ...oneStack, lossOn: 'target' }), /lossOn is "target"; it must be one of sequence, answer/);
    assert.throws(() => new CausalLM({ ...oneStack, maskRate: 0.1 }), /unknown argument "maskRate"; accepted: pairs, tokenizer, separator, nLayers, maxLen, dModel, nHeads, dFf, activation, normFirst, seed, batchSize, optimizer, clip, lossOn/);
    assert.throws(() => new CausalLM({ ...oneStack, maxLen: 10 }), /the pair "小明今天感冒了" → "他应该多喝水" is 11 tokens with <bos>; max_len is 10/);
    assert.throws(() => CausalLM.fromSafetensors(family('seq2seq-zh')), /causal LM file: the model is "encoder-decoder", not "decoder-only"/);
    assert.throws(() => e.train(1e6), /call it in slices/);
    assert.ok(e.train(2).every(Number.isFinite));
    for (const m of [e, fresh, shipped]) m.free();
  });
});
