// Backpropagation you can follow (model.blame, model.stepSize): the JS results checked against
// each other and against the model's other calls — p − y sums to 0 and is the table of p minus
// the one-hot target, L = −log p[target], new = old − η·grad, the step-size curve at η = 0 is
// the loss and at η the loss after blame's step, the live model changes only with apply — and
// every kind of bad input named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as lm from '../../www/pkg/lm_playground.js';
import { wasmBytes } from './helpers.mjs';

lm.initSync({ module: wasmBytes });

const ZH = ['今天天气真好，适合去', '散步'];
const EN = ['the weather is nice today , a good day for a', 'walk'];

/** The learning panel's size `deep` on the Chinese corpus (the stack-zh recipe), after `steps` steps. */
function early(steps) {
  const m = new lm.Model({
    corpus: lm.builtinCorpus('zh'), dModel: 32, nHeads: 4, nLayers: 4, dFf: 128, maxLen: 16, seqLen: 16,
    batchSize: 16, seed: 1, optimizer: { kind: 'adam', lr: 0.01 }, clip: 1, heldout: 0.1,
    activation: 'gelu', normFirst: true, maxVocab: 2000,
  });
  m.train(steps);
  return m;
}

const near = (got, want, tol, what) => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs ${want}`);

test('blame: p, L = −log p[target], p − y, the stages, the tensors and the input tokens agree', () => {
  const m = early(20);
  const b = m.blame(...ZH, {});
  const V = m.vocab().length;
  assert.deepEqual(b.tokens, ['今天', '天气', '真', '好', '，', '适合', '去']);
  assert.equal(b.target.token, '散步');
  assert.equal(b.target.id, m.vocab().indexOf('散步'));
  assert.equal(b.probs.length, V);
  assert.equal(b.dlogits.length, V);
  near(b.loss, -Math.log(b.probs[b.target.id]), 1e-5, 'L');
  let sum = 0;
  for (let i = 0; i < V; i++) {
    near(b.dlogits[i], b.probs[i] - (i === b.target.id ? 1 : 0), 1e-6, `dlogits[${i}]`);
    sum += b.dlogits[i];
  }
  near(sum, 0, 1e-5, 'Σ (p − y)');
  // The probabilities are the model's own.
  const p = m.nextProbs(ZH[0]);
  for (let i = 0; i < V; i++) near(b.probs[i], p[i], 1e-6, `p[${i}]`);
  assert.deepEqual(b.top.map((t) => t.token), m.predictNext(ZH[0], 5).map((t) => t.token));
  // From the loss down to the embeddings: 3 + 2 per layer.
  assert.deepEqual(b.stages.map((s) => s.name), ['logits', 'ln_f.output',
    ...[3, 2, 1, 0].flatMap((l) => [`layers.${l}.output`, `layers.${l}.mid`]), 'embeddings']);
  near(b.stages[0].norm, Math.hypot(...b.dlogits), 1e-5, '‖p − y‖');
  for (const s of b.stages) {
    assert.equal(s.perToken.length, b.tokens.length);
    near(s.norm, Math.hypot(...s.perToken), 1e-9 * (1 + s.norm), s.name);
  }
  const emb = b.stages.at(-1).perToken;
  b.inputs.forEach((x, t) => { assert.equal(x.norm, emb[t]); assert.equal(x.token, b.tokens[t]); });
  assert.ok(b.inputs.every((x) => x.norm <= b.inputs[b.mostBlamed].norm));
  assert.deepEqual(b.params.map((q) => q.name), m.paramShapes().map((q) => q.name));
  assert.ok(b.params.every((q) => q.norm >= 0 && Number.isFinite(q.norm)));
  m.free();
});

test('blame: one SGD step, new = old − η·grad, and the model changes only with apply', () => {
  const m = early(20);
  const before = m.nextProbs(ZH[0]);
  const b = m.blame(...ZH, { lr: 0.05, top: 3 });
  const s = b.step;
  const u = s.update;
  near(u.new, u.old - u.lr * u.grad, 1e-6, 'new = old − η·grad');
  assert.equal(u.lr, 0.05);
  // The default weight: the largest |gradient| (no tensor's norm is below it).
  assert.ok(b.params.some((q) => q.name === u.name && q.norm >= Math.abs(u.grad)));
  assert.ok(s.loss.after < s.loss.before, `loss ${s.loss.before} → ${s.loss.after}`);
  assert.ok(s.target.after > s.target.before);
  assert.equal(s.loss.before, b.loss);
  assert.equal(s.previousTop.token, b.top[0].token);
  assert.equal(s.previousTop.before, b.top[0].prob);
  assert.equal(s.top.length, 3);
  assert.equal(s.applied, false);
  assert.deepEqual(m.nextProbs(ZH[0]), before, 'not applied: the model is unchanged');
  // A chosen weight, then the step kept.
  const c = m.blame(...ZH, { lr: 0.05, weight: 'layers.0.linear1.weight', index: 7 });
  assert.equal(c.step.update.name, 'layers.0.linear1.weight');
  assert.equal(c.step.update.index, 7);
  near(c.step.update.new, c.step.update.old - 0.05 * c.step.update.grad, 1e-6, 'chosen');
  const w = m.blame(...ZH, { weight: 'ln_f.bias' }).step.update;
  assert.equal(w.name, 'ln_f.bias');
  const a = m.blame(...ZH, { lr: 0.05, apply: true });
  assert.equal(a.step.applied, true);
  const after = m.nextProbs(ZH[0]);
  near(after[a.target.id], a.step.target.after, 1e-6, 'applied');
  near(m.param(a.step.update.name).data[a.step.update.index], a.step.update.new, 1e-7, 'weight kept');
  // Repeating the step keeps lowering this example's loss.
  const again = m.blame(...ZH, { lr: 0.05 });
  near(again.loss, a.step.loss.after, 1e-5, 'loss after the applied step');
  m.free();
});

test('stepSize: the curve at η = 0 is the loss, at η the loss after blame\'s step, and its minimum', () => {
  const m = early(10);
  const lrs = [0, 0.01, 0.1, 0.5, 1, 3, 10, 30];
  const c = m.stepSize(...ZH, { lrs });
  assert.deepEqual(Array.from(c.lrs), lrs);
  assert.equal(c.losses.length, lrs.length);
  const L = m.blame(...ZH, {}).loss;
  assert.equal(c.losses[0], L);
  assert.equal(c.loss, L);
  for (const [i, lr] of lrs.entries()) near(c.losses[i], m.blame(...ZH, { lr }).step.loss.after, 1e-6, `η ${lr}`);
  assert.equal(c.best.loss, Math.min(...c.losses));
  assert.equal(c.best.lr, lrs[c.best.index]);
  assert.ok(c.losses[1] < c.losses[0], 'a small step lowers it');
  // The held-out curve: evalLoss of the model after the same step (η = 0: the model's own).
  assert.equal(c.heldout.length, lrs.length);
  assert.equal(c.heldoutLoss, m.evalLoss());
  assert.equal(c.heldout[0], m.evalLoss());
  for (const lr of [0.1, 3]) {
    const i = lrs.indexOf(lr);
    const stepped = early(10);
    stepped.blame(...ZH, { lr, apply: true });
    near(c.heldout[i], stepped.evalLoss(), 1e-5, `held-out after η ${lr}`);
    stepped.free();
  }
  assert.ok(c.heldout[lrs.length - 1] > c.heldout[0], 'a huge step fitted to one example raises the held-out loss');
  // A Float64Array and a Float32Array work as well.
  assert.deepEqual(Array.from(m.stepSize(...ZH, { lrs: Float64Array.of(0, 0.1) }).losses), [c.losses[0], c.losses[2]]);
  assert.equal(m.stepSize(...ZH, { lrs: Float32Array.of(0) }).losses[0], L);
  m.free();
});

test('the English twin on the shipped stack-en model: walk, with a tiny blame', () => {
  const bytes = new Uint8Array(readFileSync(new URL('../../www/models/stack-en.safetensors', import.meta.url)));
  const m = lm.Model.fromFile(bytes);
  const b = m.blame(...EN, {});
  assert.equal(b.top[0].token, 'walk');
  assert.ok(b.loss < 0.05, `${b.loss}`);
  m.free();
});

test('blame and stepSize name their bad input', () => {
  const m = early(0);
  const throws = (fn, re) => assert.throws(fn, (e) => e instanceof Error && re.test(e.message), String(re));
  throws(() => m.blame('今天天气真好，适合去', '散步吧', {}), /^blame: the target "散步吧" is not one token of the vocabulary/);
  throws(() => m.blame('今天天气真好，适合去', 'xyzzy', {}), /"xyzzy" \(unknown\)/);
  throws(() => m.blame('', '散步', {}), /^blame: the prompt is empty/);
  throws(() => m.blame('今天', '', {}), /^blame: the target is empty/);
  throws(() => m.blame('今天', 3, {}), /blame: target/);
  throws(() => m.blame(...ZH, { lr: NaN }), /^blame: lr is NaN/);
  throws(() => m.blame(...ZH, { lr: -1 }), /^blame: lr is -1; a learning rate must be a finite number ≥ 0/);
  throws(() => m.blame(...ZH, { eta: 0.1 }), /unknown argument "eta"; accepted: top, lr, weight, index, apply/);
  throws(() => m.blame(...ZH, { index: 3 }), /index needs weight/);
  throws(() => m.blame(...ZH, { weight: 'nope' }), /nope/);
  throws(() => m.blame(...ZH, { weight: 'ln_f.bias', index: 1e6 }), /out of range/);
  throws(() => m.stepSize(...ZH, { lrs: [0.1, NaN] }), /^stepSize: lrs\[1\] is NaN/);
  throws(() => m.stepSize(...ZH, { lrs: [-0.5] }), /^stepSize: lrs\[0\] is -0.5/);
  throws(() => m.stepSize(...ZH, { lrs: new Array(257).fill(0.1) }), /^stepSize: lrs has 257 values; give 1 to 256/);
  throws(() => m.stepSize(...ZH, { lrs: [] }), /lrs has 0 values/);
  throws(() => m.stepSize(...ZH, { lrs: 0.1 }), /lrs must be/);
  throws(() => m.stepSize(...ZH, { lrs: ['a'] }), /lrs\[0\] is/);
  throws(() => m.stepSize(...ZH, {}), /missing argument lrs/);
  throws(() => m.stepSize(...ZH, { lrs: [0], lr: 1 }), /unknown argument "lr"; accepted: lrs/);
  throws(() => m.stepSize('', '散步', { lrs: [0] }), /^stepSize: the prompt is empty/);
  // Still usable after its errors.
  assert.ok(Number.isFinite(m.blame(...ZH).loss));
  m.free();
});

test('the step-size sentence\'s facts are read off the curves (backprop.facts.js)', async () => {
  const { stepSizeFacts, etaText } = await import('../../www/panels/backprop.facts.js');
  const lrs = [0.001, 0.01, 0.1, 1, 10, 100];
  const size = (losses, heldout, h0 = heldout[0]) => ({ lrs, losses, heldout, heldoutLoss: h0, loss: losses[0], best: { index: losses.indexOf(Math.min(...losses)), loss: Math.min(...losses) } });
  // a flat bottom from 0.01 with one spike, held-out best at 0.1, then wrecked from 1 on
  let f = stepSizeFacts(size([2, 0.005, 0, 0, 9, 0], [1, 0.99, 0.9, 3, 50, 900]));
  assert.deepEqual(f, { fit: 1, jump: 4, held: true, safe: 2, bad: 3 });
  // a clear minimum (no flat bottom): the lowest point is said, the overshoot beyond it; the
  // held-out loss that dips back below its start is not "wrecked" from its first rise
  f = stepSizeFacts(size([2, 1, 0.2, 1.5, 3, 8], [1, 0.95, 1.2, 0.99, 2, 4]));
  assert.deepEqual(f, { fit: null, jump: 5, held: true, safe: 1, bad: 4 });
  // no held-out text
  f = stepSizeFacts(size([2, 1, 0.5, 0.4, 0.3, 0.2], [NaN, NaN, NaN, NaN, NaN, NaN], NaN));
  assert.equal(f.held, false);
  assert.equal(f.bad, null);
  assert.equal(f.fit, null, 'the lowest point at the end is no flat bottom');
  // a diverged step (NaN) counts as above
  f = stepSizeFacts(size([2, 0, 0, 0, 0, NaN], [1, 0.9, 1, 1, 1, NaN]));
  assert.equal(f.jump, 5);
  assert.equal(f.bad, 5);
  assert.deepEqual([1e-4, 0.0013335, 100, 17.78].map(etaText), ['0.0001', '0.0013', '100', '18']);
  // on the engine's own curves: the shipped stack-zh model's, where a huge step wrecks the rest
  const m = lm.Model.fromFile(new Uint8Array(readFileSync(new URL('../../www/models/stack-zh.safetensors', import.meta.url))));
  const STEP_LRS = Array.from({ length: 49 }, (_, i) => 10 ** (-4 + (6 * i) / 48)); // (backprop.js's)
  // (as the panel does: 打游戏 taught first, by plain-SGD steps of 0.01, until it leads)
  for (let n = 0; m.blame(ZH[0], '打游戏', { top: 1 }).top[0].token !== '打游戏' && n < 100; n++) m.blame(ZH[0], '打游戏', { lr: 0.01, apply: true });
  const c = m.stepSize(...ZH, { lrs: STEP_LRS });
  f = stepSizeFacts(c);
  assert.ok(f.fit !== null && c.losses[f.fit] < 0.02, 'this example alone: a flat bottom near 0');
  assert.ok(f.bad !== null && c.heldout[48] > 10 * c.heldoutLoss, 'held-out loss wrecked by a big step');
  for (let i = f.bad; i < 49; i++) assert.ok(c.heldout[i] > c.heldoutLoss, `above its start from ${f.bad}`);
  m.free();
});
