// The error contract of the JS API, one regression test per cause the fuzzer found: bad input
// throws an Error naming the problem (never a wasm trap, never a hang), lastPanic() stays null,
// work and lengths are checked before anything is allocated or copied, and an exception in the
// middle of a call leaves the model usable.
//
// Each case runs in a fresh worker with a fresh module (runIsolated in fuzz.mjs), so a trap in
// one case cannot break the next and a hang is stopped. The case functions are serialised with
// toString: they may only use their argument `h` (the module as h.lm, the helpers of fuzz.mjs,
// h.assert, h.expectError(f, re) — an Error that is not a RuntimeError, within 2 s, with
// lastPanic() still null —, h.time(f) and h.mem()).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { runIsolated, loadModule } from './fuzz.mjs';

const module = loadModule();
const MiB = 1 << 20;

/** Runs `fn` isolated and fails the test with what went wrong (assertion, trap, hang, panic). */
async function contract(fn, { timeoutMs = 10000 } = {}) {
  const r = await runIsolated(fn, { module, timeoutMs });
  if (!r.ok) {
    const panic = r.lastPanic ? `\n  lastPanic(): ${r.lastPanic.split('\n').slice(0, 2).join(' ')}` : '';
    assert.fail(`${r.error.name}: ${r.error.message}${panic}`);
  }
  assert.equal(r.lastPanic, null, `lastPanic() is ${r.lastPanic}`);
  return r.value;
}

describe('1. strings must be strings (no coercion)', () => {
  test('forward(5, {})', () => contract((h) => { h.expectError(() => h.lm.forward(5, {}), /string/i); }));
  test('m.trace(42)', () => contract((h) => {
    const m = h.makeModel();
    h.expectError(() => m.trace(42), /string/i);
    h.assert.equal(m.train(1).length, 1);
    m.free();
  }));
  test('m.param(true)', () => contract((h) => {
    const m = h.makeModel();
    h.expectError(() => m.param(true), /string/i);
    h.assert.equal(m.train(1).length, 1);
    m.free();
  }));
  test('corpusStats(123, {})', () => contract((h) => { h.expectError(() => h.lm.corpusStats(123, {}), /string/i); }));
});

describe('2. numbers must be numbers: no valueOf, so no use after free', () => {
  // (the Model of makeModel('small'), and the fresh Seq2Seq, MaskedLM and CausalLM)
  for (const slot of ['small', 's2s', 'mlm', 'clm']) {
    test(`m.train({valueOf() { m.free(); return 1; }}) throws and the model is not freed (${slot})`, () => contract(`(h) => {
      const m = h.makeModel('${slot}');
      let called = false;
      h.expectError(() => m.train({ valueOf() { called = true; m.free(); return 1; } }), /number/i);
      h.assert.equal(called, false, 'valueOf was called');
      h.assert.equal(m.train(1).length, 1);
      h.assert.equal(m.step, 1);
      m.free();
    }`));
  }
});

describe('3. work size is checked before anything is allocated', () => {
  test('attention of 65536 × 65536 scores from three [65536, 1] inputs', () => contract((h) => {
    const before = h.mem();
    h.expectError(() => h.lm.attention(h.Z([65536, 1]), h.Z([65536, 1]), h.Z([65536, 1]), {}));
    h.assert.ok(h.mem() - before < 64 * 2 ** 20, `wasm memory grew by ${(h.mem() - before) / 2 ** 20} MiB`);
    h.assert.equal(h.lm.attention(h.Z([2, 1]), h.Z([2, 1]), h.Z([2, 1]), {}).weights.shape.join(), '2,2');
  }));
  test("forward('embedding') of 2^19 ids into a width of 4096", () => contract((h) => {
    h.expectError(() => h.lm.forward('embedding', { weight: h.Z([1, 4096]), ids: h.Z([1 << 19]) }));
  }));
  test("forward('decoder_layer') with 65536 target positions and d_model 1", () => contract((h) => {
    const p = { x: h.Z([1, 65536, 1]), memory: h.Z([1, 1, 1]), heads: 1 };
    for (const a of ['self_attn', 'multihead_attn']) {
      Object.assign(p, { [`${a}.in_proj_weight`]: h.Z([3, 1]), [`${a}.in_proj_bias`]: h.Z([3]), [`${a}.out_proj.weight`]: h.Z([1, 1]), [`${a}.out_proj.bias`]: h.Z([1]) });
    }
    Object.assign(p, { 'linear1.weight': h.Z([1, 1]), 'linear1.bias': h.Z([1]), 'linear2.weight': h.Z([1, 1]), 'linear2.bias': h.Z([1]) });
    for (const n of ['norm1', 'norm2', 'norm3']) Object.assign(p, { [`${n}.weight`]: h.Z([1]), [`${n}.bias`]: h.Z([1]) });
    h.expectError(() => h.lm.forward('decoder_layer', p));
    // the same layer on 2 positions works
    h.assert.equal(h.lm.forward('decoder_layer', { ...p, x: h.Z([1, 2, 1]) }).y.shape.join(), '1,2,1');
  }));
  test('trainStep of a [32768, 2] batch on a 65536-token vocabulary, and the model still works', () => contract((h) => {
    const m = new h.lm.Model({ vocabSize: 65536, dModel: 1, nHeads: 1, nLayers: 0, maxLen: 2, dFf: 1 });
    h.expectError(() => m.trainStep({ ids: h.Z([32768, 2]), targets: h.Z([32768, 2]) }));
    h.assert.ok(Number.isFinite(m.trainStep({ ids: h.Z([1, 2]), targets: h.Z([1, 2]) })));
    m.free();
  }));
  test('an argument is read once: small when checked, big when used', () => contract((h) => {
    let reads = 0;
    const args = { weight: h.Z([60000, 1]) };
    Object.defineProperty(args, 'x', { enumerable: true, get: () => (reads++ === 0 ? h.Z([1, 1]) : h.Z([60000, 1])) });
    const [r] = h.time(() => h.lm.forward('linear', args));
    h.assert.ok(!(r instanceof WebAssembly.RuntimeError), `trap: ${r?.message}`);
    h.assert.ok(reads <= 1, `x was read ${reads} times`);
    if (!(r instanceof Error)) h.assert.deepEqual(Array.from(r.y.shape), [1, 60000]);
    h.assert.equal(h.lm.lastPanic() ?? null, null);
  }));
});

describe('4. a mask or bias of the wrong shape, or a bad word, is an error, not a panic', () => {
  test("forward('mha', {causal: true, attnMask: [3, 3]}) on 2 positions", () => contract((h) => {
    const args = {
      query: h.Z([1, 2, 4]), heads: 2, in_proj_weight: h.Z([12, 4]), in_proj_bias: h.Z([12]),
      'out_proj.weight': h.Z([4, 4]), 'out_proj.bias': h.Z([4]), causal: true,
      attnMask: { shape: [3, 3], data: new Uint8Array(9) },
    };
    const e = h.expectError(() => h.lm.forward('mha', args), /attnMask|mask/);
    h.assert.match(e.message, /\[3, 3\]|shape/);
  }));
  test("attentionDemo(text, {article}) of 'yes' or 1, or with a size", () => contract((h) => {
    h.expectError(() => h.lm.attentionDemo('你是谁', { article: 'yes' }), /attentionDemo: article must be true or false, got the string "yes"/);
    h.expectError(() => h.lm.attentionDemo('你是谁', { article: 1 }), /attentionDemo: article must be true or false, got the number 1/);
    h.expectError(() => h.lm.attentionDemo('你是谁', { article: true, heads: 1 }), /heads may not be given with article: true/);
    h.assert.equal(h.lm.attentionDemo('你是谁', { article: true }).tokens.length, 3);
  }));
  test("forward('gelu', {approximate}) of 'foo' or 5", () => contract((h) => {
    const x = h.Z([2, 3]);
    h.expectError(() => h.lm.forward('gelu', { x, approximate: 'foo' }), /approximate is "foo"; it must be one of none, tanh/);
    h.expectError(() => h.lm.forward('gelu', { x, approximate: 5 }), /approximate must be a string, got the number 5/);
    h.expectError(() => h.lm.backward('gelu', { x, dy: x, approximate: 'TANH' }), /approximate is "TANH"/);
    h.assert.deepEqual(h.lm.forward('gelu', { x, approximate: 'tanh' }).y.shape, [2, 3]);
  }));
  test('attention(…, {attnBias}) of the wrong shape, rank, or with NaN or +Infinity', () => contract((h) => {
    const q = h.R([2, 4]), k = h.R([3, 4]);
    const bias = (shape, data) => ({ shape, data: Float32Array.from(data) });
    h.expectError(() => h.lm.attention(q, k, k, { attnBias: bias([3, 2], [0, 0, 0, 0, 0, 0]) }), /attnBias has shape \[3, 2\], expected \[2, 3\]/);
    h.expectError(() => h.lm.attention(q, k, k, { attnBias: bias([1, 2, 3], [0, 0, 0, 0, 0, 0]) }), /attnBias has shape \[1, 2, 3\] but must have 2 dimensions/);
    h.expectError(() => h.lm.attention(q, k, k, { attnBias: bias([2, 3], [0, 0, 0, 0, NaN, 0]) }), /attnBias has NaN at flat index 4/);
    h.expectError(() => h.lm.attention(q, k, k, { attnBias: bias([2, 3], [Infinity, 0, 0, 0, 0, 0]) }), /attnBias has Infinity at flat index 0/);
    h.expectError(() => h.lm.attention(q, k, k, { attnBias: { shape: [2, 3], data: new Uint8Array(6) }, causal: true }), /causal needs as many queries as keys/);
    // −Infinity is allowed: blocked; a row blocked everywhere gives zeros, not NaN
    const r = h.lm.attention(q, k, k, { attnBias: bias([2, 3], [-Infinity, 0, 0, -Infinity, -Infinity, -Infinity]) });
    h.assert.deepEqual(Array.from(r.weights.data.subarray(3)), [0, 0, 0]);
    h.assert.equal(r.weights.data[0], 0);
  }));
  test("forward('mha', {attnBias}) of [B, Tq, Tk] where [Tq, Tk] or [B·H, Tq, Tk] is needed", () => contract((h) => {
    const args = {
      query: h.R([1, 2, 4]), heads: 2, in_proj_weight: h.R([12, 4]), in_proj_bias: h.Z([12]),
      'out_proj.weight': h.R([4, 4]), 'out_proj.bias': h.Z([4]),
    };
    h.expectError(() => h.lm.forward('mha', { ...args, attnBias: h.Z([1, 2, 2]) }), /attnBias has shape \[1, 2, 2\], expected \[2, 2\] \(queries × keys\) or \[2, 2, 2\]/);
    h.expectError(() => h.lm.forward('mha', { ...args, attnBias: h.Z([1, 1, 2, 2]) }), /must have 2 or 3 dimensions/);
    h.assert.deepEqual(h.lm.forward('mha', { ...args, attnBias: h.Z([2, 2, 2]) }).output.shape, [1, 2, 4]);
    const g = h.lm.backward('mha', { ...args, attnBias: h.Z([2, 2]), dout: h.R([1, 2, 4]) });
    h.assert.deepEqual(g.attnBias.shape, [2, 2]);
  }));
});

describe('5–6. drawing never hangs (in Node on a stub canvas)', () => {
  test('drawHeatmap with min 1e17 and max 1e17 + 16 returns quickly', () => contract((h) => {
    const [r, ms] = h.time(() => h.lm.drawHeatmap(h.fakeCanvas(), h.Z([1, 1]), ['a'], ['b'], { min: 1e17, max: 1e17 + 16 }));
    h.assert.ok(!(r instanceof Error), `threw ${r?.constructor?.name}: ${r?.message}`);
    h.assert.ok(ms < 2000, `took ${ms} ms`);
  }));
  test('drawLossCurve of a loss of 3.4e38 returns quickly', () => contract((h) => {
    const [r, ms] = h.time(() => h.lm.drawLossCurve(h.fakeCanvas(), new Float32Array([3.4e38]), new Float32Array(0), {}));
    h.assert.ok(!(r instanceof Error), `threw ${r?.constructor?.name}: ${r?.message}`);
    h.assert.ok(ms < 2000, `took ${ms} ms`);
  }));
  test('drawing on something that is not a canvas is an Error', () => contract((h) => {
    const m = h.Z([1, 1]);
    for (const c of [{}, null, 5, { getContext() { return null; } }, { getContext() { return {}; } }]) {
      h.expectError(() => h.lm.drawHeatmap(c, m, ['a'], ['b'], {}));
      h.expectError(() => h.lm.drawLossCurve(c, new Float32Array([1]), new Float32Array(0), {}));
      h.expectError(() => h.lm.drawBars(c, ['a'], new Float32Array([0.5]), {}));
    }
  }));
});

describe('7. lengths are checked before data is copied', () => {
  test('attention with a 2 GiB Float32Array behind a [1, 1] shape', () => contract((h) => {
    let big;
    try { big = new Float32Array(2 ** 29); } catch { big = new Float32Array(2 ** 28); }
    const q = h.Z([1, 1]);
    const before = h.mem();
    h.expectError(() => h.lm.attention({ shape: [1, 1], data: big }, q, q, {}), /data|values|length|holds/);
    h.assert.ok(h.mem() - before < 64 * 2 ** 20, `wasm memory grew by ${(h.mem() - before) / 2 ** 20} MiB for a refused ${big.byteLength / 2 ** 20} MiB array`);
  }, { timeoutMs: 60000 }));
  test('m.loadWeights of 2 GiB of zeros (or the most Node can allocate)', () => contract((h) => {
    let bytes;
    for (const n of [2 ** 31, 2 ** 30, 2 ** 29]) { try { bytes = new Uint8Array(n); break; } catch { /* smaller */ } }
    const m = h.makeModel();
    const before = h.mem();
    h.expectError(() => m.loadWeights(bytes));
    h.assert.ok(h.mem() - before < 64 * 2 ** 20, `wasm memory grew by ${(h.mem() - before) / 2 ** 20} MiB for a refused ${bytes.length / 2 ** 20} MiB file`);
    h.assert.equal(m.train(1).length, 1);
    m.free();
  }, { timeoutMs: 60000 }));
  test('a 256 MiB array behind a small shape is refused without growing memory to 257 MiB', () => contract((h) => {
    const q = h.Z([1, 1]);
    h.expectError(() => h.lm.attention({ shape: [1, 1], data: new Float32Array(2 ** 26) }, q, q, {}));
    h.expectError(() => h.lm.forward('relu', { x: { shape: [2, 2], data: new Float32Array(2 ** 26) } }));
    h.assert.ok(h.mem() < 257 * 2 ** 20, `wasm memory is ${h.mem() / 2 ** 20} MiB`);
  }, { timeoutMs: 60000 }));
  test('a consistent 256 MiB tensor is refused without growing memory to 257 MiB', () => contract((h) => {
    h.expectError(() => h.lm.forward('relu', { x: { shape: [8192, 8192], data: new Float32Array(2 ** 26) } }));
    h.assert.ok(h.mem() < 257 * 2 ** 20, `wasm memory is ${h.mem() / 2 ** 20} MiB`);
  }, { timeoutMs: 60000 }));
});

describe('8. a JS exception inside a call leaves the model usable', () => {
  /** Calls f; it may throw, but not trap; then the model trains and frees. */
  const usableAfter = (body) => contract(`(h) => {
    const m = h.makeModel();
    const good = h.goodBatch();
    const [r] = h.time(() => (${body})(h, m, good));
    h.assert.ok(!(r instanceof WebAssembly.RuntimeError), 'trap: ' + (r && r.message));
    h.assert.equal(h.lm.lastPanic() ?? null, null);
    h.assert.equal(m.train(1).length, 1, 'm.train(1) after the exception');
    h.assert.ok(Number.isFinite(m.trainStep(h.goodBatch())), 'm.trainStep after the exception');
    m.free();
  }`);
  test('a detached Float32Array', () => contract((h) => {
    const m = h.makeModel();
    h.expectError(() => m.trainStep({ ids: { shape: [2, 6], data: h.detached(12) }, targets: h.goodBatch().targets }));
    h.assert.equal(m.train(1).length, 1);
    m.free();
  }));
  test('a shape whose iterator throws', () => usableAfter('(h, m, good) => m.trainStep({ ids: { shape: h.throwingIter([2, 6]), data: new Float32Array(12) }, targets: good.targets })'));
  test('targets whose shape iterator throws, after ids were read', () => usableAfter('(h, m, good) => m.trainStep({ ids: good.ids, targets: { shape: h.throwingIter([2, 6]), data: new Float32Array(12) } })'));
  test('data (a plain array) whose iterator throws', () => usableAfter('(h, m, good) => m.trainStep({ ids: { shape: [2, 6], data: h.throwingIter(new Array(12).fill(0)) }, targets: good.targets })'));
  test('a getter that throws', () => usableAfter("(h, m, good) => m.trainStep({ get ids() { throw new Error('boom'); }, targets: good.targets })"));
  // wasm-bindgen's free() detaches the JS handle before Rust sees it, so a free() from inside
  // one of the model's own calls cannot be refused: the model is dropped when that call
  // returns (README, "The contract"). What the contract promises: no trap, no leak, and a
  // clear Error from every later call on the freed handle.
  test('a getter that calls m.free(): freed when the call returns, no trap, no leak', () => contract((h) => {
    const before = h.mem();
    for (let i = 0; i < 20; i++) {
      const m = h.makeModel();
      const good = h.goodBatch();
      const [r] = h.time(() => m.trainStep({ get ids() { m.free(); return good.ids; }, targets: good.targets }));
      h.assert.ok(!(r instanceof WebAssembly.RuntimeError), 'trap: ' + (r && r.message));
      h.assert.ok(r instanceof Error, 'the free() inside the getter is reported as an Error');
      h.expectError(() => m.train(1));
      h.expectError(() => m.free());
    }
    h.assert.equal(h.lm.lastPanic() ?? null, null);
    h.assert.ok(h.mem() - before < 16 * 2 ** 20, `wasm memory grew by ${(h.mem() - before) / 2 ** 20} MiB`);
    const other = h.makeModel();
    h.assert.equal(other.train(1).length, 1, 'another model still trains');
    other.free();
  }));
  test('a getter that calls another method of the same model', () => usableAfter('(h, m, good) => m.trainStep({ get ids() { m.train(1); return good.ids; }, targets: good.targets })'));
  test('a getter that calls m.loadWeights(m.saveWeights())', () => usableAfter('(h, m, good) => m.trainStep({ get ids() { m.loadWeights(m.saveWeights()); return good.ids; }, targets: good.targets })'));
  test('300 such errors in a row, then the model still trains', () => contract((h) => {
    const m = h.makeModel();
    const good = h.goodBatch();
    const before = h.mem();
    for (let i = 0; i < 300; i++) {
      const bad = [
        { ids: { shape: h.throwingIter([2, 6]), data: new Float32Array(12) }, targets: good.targets },
        { ids: good.ids, targets: { shape: [2, 6], data: h.detached(12) } },
        { ids: good.ids, get targets() { throw new Error('boom'); } },
      ][i % 3];
      // (a binding that indexes arrays instead of iterating them may accept the first kind)
      const [r] = h.time(() => m.trainStep(bad));
      h.assert.ok(!(r instanceof WebAssembly.RuntimeError), `call ${i}: trap: ${r?.message}`);
    }
    h.assert.equal(h.lm.lastPanic() ?? null, null);
    h.assert.equal(m.train(1).length, 1);
    h.assert.ok(h.mem() - before < 16 * 2 ** 20, `wasm memory grew by ${(h.mem() - before) / 2 ** 20} MiB`);
    m.free();
  }));
  test('no leak: 300 forward calls that throw after copying 1 MiB', () => contract((h) => {
    const x = h.Z([512, 512]);
    const weight = h.Z([4, 512]);
    h.lm.forward('linear', { x, weight, bias: h.Z([4]) });
    const before = h.mem();
    for (let i = 0; i < 300; i++) {
      // x (1 MiB) and weight are read before bias, whose shape iterator or data getter throws
      const bias = i % 2 ? { shape: h.throwingIter([4]), data: new Float32Array(4) } : { shape: [4], get data() { throw new Error('boom'); } };
      const [r] = h.time(() => h.lm.forward('linear', { x, weight, bias }));
      h.assert.ok(!(r instanceof WebAssembly.RuntimeError), `call ${i}: trap ${r?.message}`);
    }
    h.assert.ok(h.mem() - before < 64 * 2 ** 20, `wasm memory grew by ${(h.mem() - before) / 2 ** 20} MiB over 300 failed calls`);
    h.assert.equal(h.lm.forward('linear', { x, weight, bias: h.Z([4]) }).y.shape.join(), '512,4');
  }));
});

describe('9. one call is bounded in time', () => {
  test('trainStep of a [2^20, 1] batch throws quickly', () => contract((h) => {
    const m = h.makeModel();
    h.expectError(() => m.trainStep({ ids: h.Z([1 << 20, 1]), targets: h.Z([1 << 20, 1]) }));
    h.assert.equal(m.train(1).length, 1);
    m.free();
  }));
  test('m.train(100000) throws quickly or returns within 2 s', () => contract((h) => {
    const m = h.makeModel();
    const [r, ms] = h.time(() => m.train(100000));
    h.assert.ok(!(r instanceof WebAssembly.RuntimeError), `trap: ${r?.message}`);
    h.assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
    h.assert.equal(m.train(1).length, 1);
    m.free();
  }));
  test('m.train(2 ** 32 + 3) is an error, not 3 steps', () => contract((h) => {
    const m = h.makeModel();
    h.expectError(() => m.train(2 ** 32 + 3));
    h.assert.equal(m.step, 0);
    for (const n of [-1, 0.5, NaN, Infinity, '3', 3n, undefined]) h.expectError(() => m.train(n));
    h.assert.equal(m.step, 0);
    m.free();
  }));
});

describe('10. benchmark helpers check their numbers', () => {
  test('benchAttention(-1, -1, 1)', () => contract((h) => { h.expectError(() => h.lm.benchAttention(-1, -1, 1)); }));
  test('benchMatmul(8, -1)', () => contract((h) => { h.expectError(() => h.lm.benchMatmul(8, -1)); }));
  test('benchMicroKernel(-1)', () => contract((h) => { h.expectError(() => h.lm.benchMicroKernel(-1)); }));
  test('benchGemm(13, 21, 40, false, false, 2 ** 32 + 1)', () => contract((h) => { h.expectError(() => h.lm.benchGemm(13, 21, 40, false, false, 2 ** 32 + 1)); }));
});

describe('unknown argument names are rejected, naming the argument', () => {
  // [label, the name that must appear, the call (source, run isolated)]
  const cases = [
    ['attention(q, k, v, {mask})', 'mask', '(h) => { const q = h.Z([2, 4]); return () => h.lm.attention(q, q, q, { mask: { shape: [2, 2], data: new Uint8Array(4) } }); }'],
    ['attention(q, k, v, {attn_bias})', 'attn_bias', '(h) => { const q = h.Z([2, 4]); return () => h.lm.attention(q, q, q, { attn_bias: h.Z([2, 2]) }); }'],
    ["forward('relu', {approximate})", 'approximate', "(h) => () => h.lm.forward('relu', { x: h.Z([2, 2]), approximate: 'tanh' })"],
    ["forward('mha', {nHeads})", 'nHeads', "(h) => () => h.lm.forward('mha', { ...h.omit(h.opArgs('mha_self_causal'), 'heads'), nHeads: 2 })"],
    ["forward('cross_entropy', {ignore_index})", 'ignore_index', "(h) => () => h.lm.forward('cross_entropy', { ...h.opArgs('cross_entropy'), ignore_index: 0 })"],
    ['new Model({d_model})', 'd_model', '(h) => () => new h.lm.Model({ d_model: 8 })'],
    ['new Model({lr}) (the rate belongs in optimizer)', 'lr', '(h) => () => new h.lm.Model({ ...h.SPECS.small, lr: 0.1 })'],
    ['new Model({optimizer: {learningRate}})', 'learningRate', "(h) => () => new h.lm.Model({ ...h.SPECS.small, optimizer: { kind: 'adam', learningRate: 0.1 } })"],
    ['Model.fromSafetensors({n_layers}, bytes)', 'n_layers', '(h) => () => h.lm.Model.fromSafetensors({ ...h.SPECS.fixture, n_layers: 2 }, h.fixtureBytes())'],
    ['m.trainStep({ids, targets, mask})', 'mask', '(h) => { const m = h.makeModel(); return () => m.trainStep({ ...h.goodBatch(), mask: h.Z([2, 6]) }); }'],
    ['attentionDemo(text, {d_model})', 'd_model', "(h) => () => h.lm.attentionDemo('今天天气', { d_model: 16 })"],
    ['corpusStats(text, {topK})', 'topK', "(h) => () => h.lm.corpusStats('a b a c', { topK: 3 })"],
    ['drawHeatmap(…, {color})', 'color', "(h) => () => h.lm.drawHeatmap(h.fakeCanvas(), h.Z([1, 1]), ['a'], ['b'], { color: 'red' })"],
    ['drawLossCurve(…, {xlabel})', 'xlabel', "(h) => () => h.lm.drawLossCurve(h.fakeCanvas(), new Float32Array([1]), new Float32Array(0), { xlabel: 'x' })"],
    ['drawBars(…, {highlighted})', 'highlighted', "(h) => () => h.lm.drawBars(h.fakeCanvas(), ['a'], new Float32Array([0.5]), { highlighted: 0 })"],
    ['drawHeatmapSvg(…, {dpr}) (an SVG has a size, not a pixel ratio)', 'dpr', "(h) => () => h.lm.drawHeatmapSvg(h.Z([1, 1]), ['a'], ['b'], { width: 100, height: 100, dpr: 2 })"],
    ['drawLossCurveSvg(…, {xlabel})', 'xlabel', "(h) => () => h.lm.drawLossCurveSvg(new Float32Array([1]), new Float32Array(0), { width: 100, height: 100, xlabel: 'x' })"],
    ['drawBarsSvg(…, {highlighted})', 'highlighted', "(h) => () => h.lm.drawBarsSvg(['a'], new Float32Array([0.5]), { width: 100, height: 100, highlighted: 0 })"],
    ['drawAttentionLinesSvg(…, {selected})', 'selected', "(h) => () => h.lm.drawAttentionLinesSvg(['a'], ['b'], h.Z([1, 1]), { width: 100, height: 100, selected: 0 })"],
    ['new Seq2Seq({d_model})', 'd_model', '(h) => () => new h.Seq2Seq({ ...h.S2S_SPEC, d_model: 8 })'],
    ["new Seq2Seq({tokenizer}) (Model's name; here sourceTokenizer and targetTokenizer)", 'tokenizer', "(h) => () => new h.Seq2Seq({ ...h.S2S_SPEC, tokenizer: 'char' })"],
    ['new Seq2Seq({optimizer: {learningRate}})', 'learningRate', "(h) => () => new h.Seq2Seq({ ...h.S2S_SPEC, optimizer: { kind: 'adam', learningRate: 0.1 } })"],
    ['Seq2Seq.fromSafetensors(bytes, {nLayers}) (the sizes come from the file)', 'nLayers', '(h) => () => h.Seq2Seq.fromSafetensors(h.zhBytes(), { nLayers: 2 })'],
    ["Seq2Seq.fromRecipe(name, {steps})", 'steps', "(h) => () => h.Seq2Seq.fromRecipe('seq2seq-zh', { steps: 10 })"],
    ["s.generate(source, {max_len})", 'max_len', "(h) => { const s = h.makeModel('zh'); return () => s.generate('小明今天感冒了', { max_len: 3 }); }"],
    ["s.trace(source, {prefix})", 'prefix', "(h) => { const s = h.makeModel('zh'); return () => s.trace('小明今天感冒了', { prefix: '他' }); }"],
    ['new MaskedLM({nEncoderLayers}) (the one stack has nLayers)', 'nEncoderLayers', '(h) => () => new h.MaskedLM({ ...h.LM_SPEC, nEncoderLayers: 1 })'],
    ["new MaskedLM({lossOn}) (CausalLM's)", 'lossOn', "(h) => () => new h.MaskedLM({ ...h.LM_SPEC, lossOn: 'answer' })"],
    ["new CausalLM({maskRate}) (MaskedLM's)", 'maskRate', '(h) => () => new h.CausalLM({ ...h.LM_SPEC, maskRate: 0.2 })'],
    ['MaskedLM.fromSafetensors(bytes, {maskRate}) (the masking comes from the file)', 'maskRate', '(h) => () => h.MaskedLM.fromSafetensors(h.maskedBytes(), { maskRate: 0.2 })'],
    ['CausalLM.fromRecipe(name, {steps})', 'steps', "(h) => () => h.CausalLM.fromRecipe('causal-zh', { steps: 10 })"],
    ['m.fillMask(text, {topK})', 'topK', "(h) => { const m = h.makeModel('mzh'); return () => m.fillMask('小明今天[MASK]了', { topK: 3 }); }"],
    ['c.generate(prompt, {max_len})', 'max_len', "(h) => { const c = h.makeModel('czh'); return () => c.generate('小明今天感冒了，', { max_len: 3 }); }"],
  ];
  // Every op, forward and backward: its fixture arguments plus `foo`.
  const opCases = ['linear', 'embedding', 'layer_norm', 'relu', 'gelu', 'gelu_tanh', 'softmax', 'attention', 'attention_bias_padded', 'mha_self_causal', 'mha_cross_padded', 'mha_self_causal_bias_per_head', 'ffn_relu', 'ffn_gelu_tanh', 'encoder_layer_post_relu', 'decoder_layer_pre_gelu', 'decoder_layer_pre_gelu_tanh', 'cross_entropy'];
  for (const c of opCases) {
    cases.push([`forward(${c} case, {foo})`, 'foo', `(h) => () => h.lm.forward(h.opOf('${c}'), { ...h.opArgs('${c}'), foo: 1 })`]);
    cases.push([`backward(${c} case, {foo})`, 'foo', `(h) => () => h.lm.backward(h.opOf('${c}'), { ...h.opArgs('${c}'), ...h.opUpstream('${c}'), foo: 1 })`]);
  }
  for (const [label, name, src] of cases) {
    test(label, () => contract(`(h) => {
      const call = (${src})(h);
      const e = h.expectError(call, /unknown argument/);
      h.assert.ok(e.message.includes(${JSON.stringify(name)}), 'the message should name ' + ${JSON.stringify(name)} + ': ' + e.message);
    }`));
  }
  test('…and the same calls without the unknown name work', () => contract((h) => {
    const q = h.Z([2, 4]);
    h.lm.attention(q, q, q, { attnMask: { shape: [2, 2], data: new Uint8Array(4) } });
    h.lm.forward('mha', h.opArgs('mha_self_causal'));
    h.lm.forward('cross_entropy', { ...h.opArgs('cross_entropy'), ignoreIndex: -100 });
    new h.lm.Model({ dModel: 8, nHeads: 2, nLayers: 1, maxLen: 4, vocabSize: 5 }).free();
    new h.lm.Model({ ...h.SPECS.small, optimizer: { kind: 'adam', lr: 0.1 } }).free();
    const m = h.makeModel();
    m.trainStep(h.goodBatch());
    m.free();
    const s = h.makeModel('zh');
    s.generate('小明今天感冒了', { maxLen: 3 });
    s.trace('小明今天感冒了', { target: '他' });
    h.Seq2Seq.fromRecipe('seq2seq-zh', { seed: 2 }).free();
    new h.Seq2Seq({ ...h.S2S_SPEC, sourceTokenizer: 'char', optimizer: { kind: 'adam', lr: 0.1 } }).free();
    s.free();
    new h.MaskedLM({ ...h.LM_SPEC, nLayers: 1, maskRate: 0.2 }).free();
    new h.CausalLM({ ...h.LM_SPEC, lossOn: 'answer' }).free();
    h.MaskedLM.fromSafetensors(h.maskedBytes(), { seed: 2 }).free();
    h.CausalLM.fromRecipe('causal-zh', { seed: 2 }).free();
    const ml = h.makeModel('mzh');
    ml.fillMask('小明今天[MASK]了', { top: 3 });
    const cl = h.makeModel('czh');
    cl.generate('小明今天感冒了，', { maxLen: 3 });
    ml.free(); cl.free();
  }));
});

describe('Seq2Seq keeps the same contract', () => {
  test('strings must be strings, pairs must be pairs (no coercion)', () => contract((h) => {
    const s = h.makeModel('zh');
    h.expectError(() => s.generate(42), /generate: source must be a string, got the number 42/);
    h.expectError(() => s.generate({ toString() { return '小明'; } }), /source must be a string/);
    h.expectError(() => s.trace(true), /trace: source must be a string/);
    h.expectError(() => s.trace('小明', { target: 5 }), /target must be a string/);
    h.expectError(() => h.lm.recipe(null), /name must be a string/);
    h.assert.equal(s.generate('小明今天感冒了').text, '他应该多喝水');
    s.free();
  }));
});

describe('greedy decoding (Seq2Seq, CausalLM) asks for no more work than one call may do, and says how many tokens fit', () => {
  // [class, its spec, what it writes after, what the message names, how many tokens it may write]
  const cases = [
    ['Seq2Seq', 'S2S_SPEC', '小明今天感冒了', 'a source of 4', 4096],
    ['CausalLM', 'LM_SPEC', '小明今天感冒了，', 'a prompt of 6', 4091],
  ];
  for (const [cls, spec, text, after, most] of cases) {
    test(cls, () => contract(`(h) => {
      const s = new h.${cls}({ ...h.${spec}, maxLen: 4096 });
      const e = h.expectError(() => s.generate('${text}', { maxLen: 4096 }), /writing up to ${most} tokens after ${after} would take about \\d+ floating-point operations, more than the limit of 10000000000 for one call; ask for at most \\d+/);
      const fits = Number(e.message.match(/at most (\\d+)/)[1]);
      h.assert.ok(fits > 10 && fits < ${most}, fits + ' tokens fit');
      const [g, ms] = h.time(() => s.generate('${text}', { maxLen: fits }));
      h.assert.ok(!(g instanceof Error), 'generate(…, {maxLen: ' + fits + '}) threw ' + g?.message);
      h.assert.ok(ms < 2000, 'took ' + ms + ' ms');
      s.free();
    }`, { timeoutMs: 20000 }));
  }
});

/**
 * The classes trained on pairs, for the contract cases they share: the slots of a fresh model
 * and of the shipped one (fuzz.mjs, makeModel), a recipe of their family, the layer counts of a
 * one-layer model, and a call of their own, `s[own](text, {[num]: …})`.
 */
const PAIR_CLASSES = [
  { cls: 'Seq2Seq', fresh: 's2s', shipped: 'zh', recipe: 'seq2seq-zh', layers: 'nEncoderLayers: 1, nDecoderLayers: 1', own: 'generate', text: '小红饿了', num: 'maxLen' },
  { cls: 'MaskedLM', fresh: 'mlm', shipped: 'mzh', recipe: 'masked-zh', layers: 'nLayers: 1', own: 'fillMask', text: '小红[MASK]了', num: 'top' },
  { cls: 'CausalLM', fresh: 'clm', shipped: 'czh', recipe: 'causal-zh', layers: 'nLayers: 1', own: 'generate', text: '小红饿了，', num: 'maxLen' },
];

for (const { cls, fresh, shipped, recipe, layers, own, text, num } of PAIR_CLASSES) {
  const T = JSON.stringify(text);
  describe(`${cls}: the contract of the classes trained on pairs`, () => {
    test('strings must be strings, pairs must be pairs, numbers must be numbers (no coercion)', () => contract(`(h) => {
      const s = h.makeModel('${shipped}');
      h.expectError(() => s.${own}(42), /${own}: \\w+ must be a string, got the number 42/);
      h.expectError(() => s.${own}({ toString() { return ${T}; } }), /must be a string/);
      h.expectError(() => s.trace(true), /trace: \\w+ must be a string/);
      h.expectError(() => s.${own}(${T}, { ${num}: '3' }), /${num} must be a whole number/);
      h.expectError(() => new h.${cls}({ pairs: [[1, 2]] }), /pairs\\[0\\]\\[0\\] must be a string/);
      h.expectError(() => new h.${cls}({ pairs: new String('a\\tb') }), /pairs must be TSV text/);
      h.expectError(() => h.${cls}.fromRecipe(5), /name must be a string/);
      h.expectError(() => h.${cls}.fromSafetensors('bytes'), /bytes must be a Uint8Array/);
      h.assert.equal(s.train(1).length, 1);
      s.${own}(${T});
      s.free();
    }`));
    test('a batch of long pairs too large for one step is refused before the model is built', () => contract(`(h) => {
      const before = h.mem();
      const pairs = ('今天 '.repeat(2000) + '\\t' + '好 '.repeat(2000) + '\\n').repeat(2);
      h.expectError(() => new h.${cls}({ pairs, maxLen: 4096, batchSize: 4096, dModel: 64, nHeads: 1 }), /MB of activations|floating-point operations/);
      h.assert.ok(h.mem() - before < 64 * 2 ** 20, 'wasm memory grew by ' + (h.mem() - before) / 2 ** 20 + ' MiB');
      // the same pairs one at a time are within the limits
      new h.${cls}({ pairs, maxLen: 4096, batchSize: 1, dModel: 8, nHeads: 1, dFf: 8, ${layers} }).free();
    }`));
    test('train(maxStepsPerCall) returns within 2 s; more, or 2 ** 32 + 3, is an error', () => contract(`(h) => {
      const s = h.${cls}.fromRecipe('${recipe}');
      const max = s.maxStepsPerCall;
      h.assert.ok(max >= 10, 'maxStepsPerCall ' + max);
      const [r, ms] = h.time(() => s.train(max));
      h.assert.ok(r instanceof Float32Array && r.length === max, 'train(' + max + ') gave ' + (r?.message ?? r));
      h.assert.ok(ms < 2000, 'train(' + max + ') took ' + ms.toFixed(0) + ' ms');
      h.expectError(() => s.train(max + 1), /call it in slices/);
      h.expectError(() => s.train(2 ** 32 + 3));
      for (const n of [-1, 0.5, NaN, Infinity, '3', 3n, undefined]) h.expectError(() => s.train(n));
      h.assert.equal(s.step, max);
      s.free();
    }`, { timeoutMs: 20000 }));
    test('a 256 MiB file, or a text of 400 000 characters, is refused without growing memory', () => contract(`(h) => {
      const before = h.mem();
      h.expectError(() => h.${cls}.fromSafetensors(new Uint8Array(2 ** 28)), /more than the limit of 67108864/);
      h.assert.ok(h.mem() - before < 16 * 2 ** 20, 'wasm memory grew by ' + (h.mem() - before) / 2 ** 20 + ' MiB');
      const s = h.makeModel('${shipped}');
      const long = '小明'.repeat(200000) + '[MASK]';
      const m0 = h.mem();
      h.expectError(() => s.${own}(long), /has 20000[13] tokens/);
      h.expectError(() => s.trace(long), /has 20000[13] tokens/);
      h.assert.ok(h.mem() - m0 < 64 * 2 ** 20, 'wasm memory grew by ' + (h.mem() - m0) / 2 ** 20 + ' MiB');
      h.assert.equal(s.train(1).length, 1);
      s.free();
    }`, { timeoutMs: 30000 }));
    test('a JS exception inside a call leaves the model usable', () => contract(`(h) => {
      const s = h.makeModel('${fresh}');
      h.expectError(() => s.${own}(${T}, { get ${num}() { throw new Error('boom'); } }), /reading ${num} threw: boom/);
      h.expectError(() => s.${own}(${T}, new Proxy({}, { ownKeys() { throw new Error('keys'); } })), /keys/);
      h.expectError(() => new h.${cls}({ pairs: new Proxy([['a', 'b']], { get(t, k) { if (k === '0') throw new Error('element'); return t[k]; } }) }), /element/);
      // a detached file (length 0) is read as empty, not copied from: an Error of ours, not a
      // TypeError thrown through the engine
      const d = h.expectError(() => h.${cls}.fromSafetensors(h.detached(8, Uint8Array)), /safetensors|bytes|header/i);
      h.assert.equal(d.constructor, Error, d.message);
      // a getter that trains the same model: the call converts its arguments first, so both work
      s.${own}(${T}, { get ${num}() { s.train(1); return 2; } });
      h.assert.equal(s.step, 1);
      for (let i = 0; i < 300; i++) {
        const [r] = h.time(() => s.${own}(${T}, i % 2 ? { get ${num}() { throw new Error('boom'); } } : { ${num}: -1 }));
        h.assert.ok(r instanceof Error && !(r instanceof WebAssembly.RuntimeError), 'call ' + i + ': ' + r?.message);
      }
      h.assert.equal(s.train(1).length, 1);
      s.${own}(${T});
      s.free();
    }`));
    test('a getter that calls s.free(): freed when the call returns, no trap, no leak', () => contract(`(h) => {
      const before = h.mem();
      for (let i = 0; i < 20; i++) {
        const s = h.makeModel('${fresh}');
        const [r] = h.time(() => s.${own}(${T}, { get ${num}() { s.free(); return 3; } }));
        h.assert.ok(!(r instanceof WebAssembly.RuntimeError), 'trap: ' + (r && r.message));
        h.expectError(() => s.train(1));
        h.expectError(() => s.free());
      }
      h.assert.ok(h.mem() - before < 16 * 2 ** 20, 'wasm memory grew by ' + (h.mem() - before) / 2 ** 20 + ' MiB');
      h.assert.equal(h.makeModel('${fresh}').train(1).length, 1, 'another model still trains');
    }`));
    test('free(), then every method and getter is an Error', () => contract(`(h) => {
      const calls = h.FREED_METHODS['${cls}'];
      h.assert.ok(calls.length >= 13);
      for (const [what, call] of calls) {
        const s = h.makeModel('${fresh}');
        s.free();
        try { h.expectError(() => call(s)); } catch (e) { throw new Error(what + ' after free(): ' + e.message); }
      }
    }`));
  });
}

describe('Model.fromFile refuses a file that does not describe itself, naming what is missing', () => {
  test('weights without metadata, another family\'s file, not bytes: an Error, never a trap', () => contract((h) => {
    const m = h.makeModel();
    h.expectError(() => h.lm.Model.fromFile(m.saveWeights()), /Model\.fromFile: model file: __metadata__ has no "model"/);
    h.expectError(() => h.lm.Model.fromFile(h.causalBytes()), /Model\.fromFile: model file: __metadata__ "recipe_settings" is not valid/);
    h.expectError(() => h.lm.Model.fromFile(h.stackBytes().slice(0, 100)), /Model\.fromFile/);
    h.expectError(() => h.lm.Model.fromFile('stack-zh'), /Model\.fromFile: bytes/);
    h.expectError(() => h.lm.Model.fromFile(), /Model\.fromFile: bytes/);
    h.assert.equal(m.train(1).length, 1);
    const f = h.lm.Model.fromFile(h.stackBytes());
    h.assert.equal(f.train(1).length, 1);
    f.free();
    m.free();
  }));
});
