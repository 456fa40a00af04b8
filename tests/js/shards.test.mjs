// Data-parallel training (www/training/shards.js over the engine's src/shards.rs): the loss
// curve of a run is bit-identical whether its steps are computed by 1, 2, 3 or 4 workers —
// the coordinator and helpers serving replicas over real MessagePorts, as in the page (here
// in one thread; the page's are workers) — for the learning panel's model and for the
// encoder–decoder; a helper that fails leaves the numbers unchanged; and the sharded-step
// members refuse misuse with an Error naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as lm from '../../www/pkg/lm_playground.js';
import { wasmBytes } from './helpers.mjs';
import { ShardPool, serveReplica, assignment, SHARD_MSG } from '../../www/training/shards.js';
import { SHARDS, MAX_WORKERS } from '../../www/training/workers.js';

lm.initSync({ module: wasmBytes });

const SPEC = {
  corpus: lm.builtinCorpus('zh'), tokenizer: 'word', dModel: 32, nHeads: 2, nLayers: 1, dFf: 64, maxLen: 16, seqLen: 16,
  batchSize: 16, seed: 5, optimizer: { kind: 'adam', lr: 0.01 }, clip: 1, heldout: 0.1, activation: 'gelu', normFirst: true, maxVocab: 2000, shards: SHARDS,
};

/** A pool with `helpers` replicas served in this thread over MessageChannels; and its ports' far ends. */
async function pool(helpers, replica) {
  const p = new ShardPool();
  const far = [];
  const near = [];
  for (let i = 0; i < helpers; i++) {
    const ch = new MessageChannel();
    serveReplica(ch.port2, lm);
    far.push(ch.port2);
    near.push(ch.port1);
  }
  p.connect(near);
  p.rebuild(replica);
  // wait until every helper has built its replica
  for (let i = 0; i < 200 && p.usable().length < helpers; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(p.usable().length, helpers);
  return { p, far, close: () => [...near, ...far].forEach((x) => x.close()) };
}

const bits = (xs) => Array.from(new Uint32Array(Float32Array.from(xs).buffer));

test('the shards constant is the engine\'s and workers are capped by it', () => {
  const m = new lm.Model(SPEC);
  assert.equal(m.shards, SHARDS);
  assert.equal(MAX_WORKERS, SHARDS);
  m.free();
  // contiguous blocks, the coordinator first, every shard once
  for (let w = 1; w <= 4; w++) {
    const got = [];
    for (let i = 0; i < w; i++) { const [a, b] = assignment(4, w, i); for (let k = a; k < b; k++) got.push(k); }
    assert.deepEqual(got, [0, 1, 2, 3]);
  }
});

for (const [what, make, replica, steps] of [
  ['the learning panel\'s model', () => new lm.Model(SPEC), { kind: 'model', spec: SPEC }, 12],
  ['the encoder–decoder (seq2seq-zh recipe)', () => lm.Seq2Seq.fromRecipe('seq2seq-zh', {}), { kind: 'seq2seq', spec: { recipe: 'seq2seq-zh' } }, 4],
]) {
  test(`${what}: the same loss bits and weights on 1, 2, 3 and 4 workers`, async () => {
    const alone = make();
    assert.equal(alone.shards, 4);
    const want = [];
    for (let i = 0; i < steps; i++) want.push(alone instanceof lm.Model ? alone.train(1)[0] : alone.trainStep());
    const wantWeights = alone.weightsFlat();
    alone.free();
    for (const helpers of [1, 2, 3]) {
      const m = make();
      const { p, close } = await pool(helpers, replica);
      const got = [];
      for (let i = 0; i < steps; i++) got.push(await p.step(m));
      assert.equal(p.workers, helpers + 1);
      assert.deepEqual(bits(got), bits(want), `${helpers + 1} workers`);
      assert.deepEqual(bits(m.weightsFlat()), bits(wantWeights), `${helpers + 1} workers: weights`);
      m.free();
      close();
    }
  });
}

test('a plain run (one shard) and a sharded one give the same losses up to rounding', () => {
  const a = new lm.Model({ ...SPEC, shards: 1 });
  const b = new lm.Model(SPEC);
  const la = a.train(5);
  const lb = b.train(5);
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(la[i] - lb[i]) <= 1e-4 * la[i], `${la[i]} vs ${lb[i]}`);
  // (the losses may agree to the bit: the cross-entropy's sum is exact enough; the gradients,
  // summed over 4 × 4 rows instead of 16, do not, nor do the weights they make)
  assert.notDeepEqual(bits(a.weightsFlat()), bits(b.weightsFlat()), 'the shard count is part of the arithmetic');
  a.free();
  b.free();
});

test('a helper that fails or is lost: its shards are computed by the coordinator, to the same bits', async () => {
  const alone = new lm.Model(SPEC);
  const want = alone.train(4);
  alone.free();
  const m = new lm.Model(SPEC);
  const { p, far, close } = await pool(2, { kind: 'model', spec: SPEC });
  const got = [await p.step(m)];
  // helper 0 now answers every request with a failure
  far[0].onmessage = (e) => far[0].postMessage({ type: SHARD_MSG.FAILED, id: e.data.id, message: 'gone' });
  got.push(await p.step(m));
  assert.equal(p.usable().length, 1);
  // the page says helper 1 is lost too
  p.lose(1);
  assert.equal(p.usable().length, 0);
  got.push(await p.step(m), await p.step(m));
  assert.equal(p.workers, 1);
  assert.deepEqual(bits(got), bits(want));
  m.free();
  close();
});

test('the sharded-step members refuse misuse with an Error naming it', () => {
  const m = new lm.Model(SPEC);
  assert.throws(() => m.finishStep(), /finishStep: no step is under way/);
  const batch = m.beginStep();
  assert.equal(batch.length, SPEC.batchSize);
  assert.throws(() => m.computePart(1), /computePart: part of shard 1 given, but the step expects shard 0/);
  assert.throws(() => m.computePart(4), /shard 4 does not exist: a step has 4 shards/);
  assert.throws(() => m.computePart(-1), /computePart: shard/);
  assert.throws(() => m.addPart(0, 1, new Float32Array(3)), /addPart: the part of shard 0 has 3 gradient values; the model has \d+ parameters/);
  assert.throws(() => m.stepPart([1.5], 0), /stepPart: batch\[0\] is 1.5, not a row number/);
  assert.throws(() => m.stepPart([], 0), /stepPart: batch has 0 values/);
  assert.throws(() => m.stepPart([1e9, ...batch.slice(1)], 0), /runs past the training text/);
  assert.throws(() => m.stepPart([1], 0), /shard 0 of a batch of 1 rows cut into 4 is empty/);
  assert.throws(() => m.stepPart(batch, 'x'), /stepPart: shard/);
  assert.throws(() => m.setWeightsFlat(new Float32Array(2)), /setWeightsFlat: 2 weights given for a model of \d+ parameters/);
  assert.throws(() => new lm.Model({ ...SPEC, shards: 0 }), /shards/);
  assert.throws(() => new lm.MaskedLM({ pairs: '甲\t乙', shards: 2 }), /unknown argument "shards"/);
  assert.equal(m.step, 0, 'nothing was trained');
  m.free();
});
