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
import { ShardPool, AutoHelpers, serveReplica, assignment, SHARD_MSG } from '../../www/training/shards.js';
import { SHARDS, MAX_WORKERS } from '../../www/training/workers.js';

lm.initSync({ module: wasmBytes });

const SPEC = {
  corpus: lm.builtinCorpus('zh'), tokenizer: 'word', dModel: 32, nHeads: 2, nLayers: 1, dFf: 64, maxLen: 16, seqLen: 16,
  batchSize: 16, seed: 5, optimizer: { kind: 'adam', lr: 0.01 }, clip: 1, heldout: 0.1, activation: 'gelu', normFirst: true, maxVocab: 2000, shards: SHARDS,
};

/** A pool with `helpers` replicas served in this thread over MessageChannels; and its ports' far ends. */
async function pool(helpers, replica, { auto = false, now, options } = {}) {
  const p = new ShardPool(now ? { now, auto: options } : {});
  const far = [];
  const near = [];
  for (let i = 0; i < helpers; i++) {
    const ch = new MessageChannel();
    serveReplica(ch.port2, lm);
    far.push(ch.port2);
    near.push(ch.port1);
  }
  p.connect(near, { auto });
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

test('Auto: tries the helpers, then alone, keeps the faster, and tries again later', () => {
  const a = new AutoHelpers({ warmMs: 20, trial: 3, holdMs: 100 });
  const run = (n, shared, alone) => {
    const used = [];
    for (let i = 0; i < n; i++) {
      const h = a.useHelpers();
      used.push(h);
      a.record(h, h ? shared : alone);
    }
    return used;
  };
  // warm-up (20 ms: 3 steps of 9), one step skipped and 3 timed with the helpers; one skipped
  // and 3 timed alone; then the faster (alone) is kept
  assert.deepEqual(run(15, 9, 4), [...Array(7).fill(true), ...Array(8).fill(false)]);
  assert.equal(a.phase, 'hold');
  assert.equal(a.useHelpers(), false);
  // a step of the other kind (a helper was lost) is not counted
  a.reset();
  a.record(false, 1);
  assert.equal(a.warmLeft, 20);
  for (let i = 0; i < 5; i++) a.record(true, 7); // 3 to warm up (21 ms), 1 skipped
  assert.deepEqual(a.times.shared, [7]);
  // the helpers faster: kept; a slow step does not decide (each trial's slowest is left out)
  a.reset(false);
  for (const ms of [50, 2, 2, 90]) a.record(true, ms);
  for (const ms of [5, 5, 5, 5]) a.record(false, ms);
  assert.equal(a.phase, 'hold');
  assert.equal(a.useHelpers(), true);
  // after holdMs of steps, a new trial, without the warm-up
  for (let i = 0; i < 49; i++) a.record(true, 2);
  assert.equal(a.phase, 'hold');
  a.record(true, 2);
  assert.equal(a.phase, 'shared');
  assert.equal(a.warmLeft, 0);
  assert.deepEqual(a.times, { shared: [], alone: [] });
});

test('Auto: a helper ready or lost starts the trial over; the choice compares whole trials', () => {
  const a = new AutoHelpers({ warmMs: 10, trial: 2, holdMs: 100 });
  for (const ms of [6, 6, 1, 5, 5]) a.record(true, ms, 2); // 2 to warm up, 1 skipped, 2 timed
  assert.equal(a.phase, 'alone');
  a.record(false, 3, 1); // a helper lost: a new trial, this step not counted, no warm-up
  assert.deepEqual([a.phase, a.warmLeft, a.times.shared.length], ['shared', 0, 0]);
  a.record(true, 3, 2); // one ready again: warmed up first
  assert.equal(a.warmLeft, 10);
  // totals decide, not medians: with the helpers [4, 4, 4] (8 without the slowest), alone
  // [1, 5, 5] (6): alone, though its median is higher
  const b = new AutoHelpers({ warmMs: 0, trial: 3 });
  for (const ms of [9, 4, 4, 4]) b.record(true, ms); // (the first, 9, skipped)
  for (const ms of [9, 1, 5, 5]) b.record(false, ms);
  assert.equal(b.state, 'alone');
  // a tie (a coarse clock) goes to alone
  const c = new AutoHelpers({ warmMs: 0, trial: 3 });
  for (const ms of [9, 2, 2, 2]) c.record(true, ms);
  for (const ms of [9, 2, 2, 2]) c.record(false, ms);
  assert.equal(c.state, 'alone');
  const d = new AutoHelpers({ warmMs: 0, trial: 3 });
  for (const ms of [9, 3, 3, 4]) d.record(true, ms);
  for (const ms of [9, 4, 3, 4]) d.record(false, ms);
  assert.equal(d.state, 'shared', '6 against 7: the helpers');
  assert.equal(new AutoHelpers().state, 'trying');
});

test('Auto in the pool: it trains alone where the helpers are slower, on them where faster, to the same bits', async () => {
  const steps = 40;
  const alone = new lm.Model(SPEC);
  const want = [];
  for (let i = 0; i < steps; i++) want.push(alone.train(1)[0]);
  alone.free();
  for (const [helpersFaster, expect] of [[false, 1], [true, 2]]) {
    // a clock that charges each step by who computed it: 5 ms on 2 workers, 9 alone, or the reverse
    let calls = 0;
    let t = 0;
    let pool_ = null;
    const now = () => {
      if (++calls % 2 === 0) t += (pool_.workers > 1) === helpersFaster ? 5 : 9;
      return t;
    };
    const m = new lm.Model(SPEC);
    const { p, close } = await pool(1, { kind: 'model', spec: SPEC }, { auto: true, now, options: { warmMs: 3, trial: 12 } });
    pool_ = p;
    const got = [];
    const used = [];
    for (let i = 0; i < steps; i++) {
      got.push(await p.step(m));
      used.push(p.workers);
    }
    // one step to warm up, one skipped, 12 timed; one skipped and 12 timed alone
    assert.deepEqual(used.slice(0, 14), Array(14).fill(2), 'first the helpers are tried');
    assert.deepEqual(used.slice(14, 27), Array(13).fill(1), 'then alone');
    assert.deepEqual(used.slice(27), Array(steps - 27).fill(expect), `then ${expect === 1 ? 'alone' : 'the helpers'}, the faster`);
    assert.deepEqual(bits(got), bits(want));
    assert.equal(p.stats.auto, expect === 1 ? 'alone' : 'shared');
    // a step whose helper is lost while it computes is not timed (it was computed partly again)
    if (helpersFaster) {
      const before = JSON.stringify([p.auto.phase, p.auto.heldMs, p.auto.times]);
      const pending = p.step(m);
      p.lose(0);
      await pending;
      assert.equal(JSON.stringify([p.auto.phase, p.auto.heldMs, p.auto.times]), before);
    }
    // a new model starts a new trial, warmed up
    p.rebuild({ kind: 'model', spec: SPEC });
    assert.equal(p.auto.phase, 'shared');
    assert.equal(p.auto.warmLeft, 3);
    m.free();
    close();
  }
});
