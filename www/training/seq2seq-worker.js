// Retraining the encoder–decoder in the page, off the main thread: the shipped model's recipe
// (engine.recipe(name): its corpus, sizes, optimiser and schedule), from its untrained start
// (Seq2Seq.fromRecipe), trained in slices of ~12 ms (loop.js). It posts the new losses at most every
// POST_MS and, at most every DETAIL_MS, what the model now writes for the page's sentence with
// its attention weights, so the page can show the cross-attention pattern forming as the loss
// falls. With helper workers (shards.js) each step's shards are shared out, to the same numbers. It draws the loss curve itself (curve.js). Messages: training/messages.js (INIT's
// spec is `{recipe}`, PROMPT's text the source sentence).

import init, { Seq2Seq, recipe, lastPanic } from '../pkg/lm_playground.js';
import { wasmSource } from '../assets.js';
import { TO_WORKER, FROM_WORKER } from './messages.js';
import { WorkerCurve } from './curve.js';
import { Loop, post, turns } from './loop.js';
import { ShardPool } from './shards.js';
import { errorInfo } from '../errors.js';

const ready = init({ module_or_path: wasmSource() });
const POST_MS = 40;
const DETAIL_MS = 250;

let model = null;
let name = '';
let source = '';
let fresh = [];
let detailAt = -Infinity;
const curve = new WorkerCurve(post);
const pool = new ShardPool();
const exclusive = turns();
const loop = new Loop({
  train: async () => {
    const loss = await pool.step(model);
    fresh.push(loss);
    curve.push(loss);
  },
  exclusive,
  step: () => model.step,
  report: snapshot,
  lastPanic,
  postMs: POST_MS,
});


/** What the model writes now for the page's sentence (null if it cannot read it). */
function written() {
  if (!source) return null;
  try {
    const g = model.generate(source, {});
    return { sourceTokens: g.sourceTokens, steps: g.steps.map((s) => ({ token: s.token, cross: s.cross })) };
  } catch (e) {
    return { error: errorInfo(e) };
  }
}

/** Posts the new losses and (with `details`, or when it is time) what the model writes now. */
function snapshot(details = true) {
  const now = performance.now();
  const msg = { step: model.step, losses: fresh, workers: pool.workers, shardStats: { ...pool.stats }, playing: loop.playing, target: loop.target, total: loop.total };
  fresh = [];
  if (details || now - detailAt >= DETAIL_MS) {
    detailAt = now;
    msg.generation = written();
  }
  post(FROM_WORKER.PROGRESS, msg);
  curve.draw();
}

self.onmessage = async (e) => {
  await ready;
  // (the helpers change at once, not in turn: a step may be waiting for one that is gone)
  if (pool.handle(e.data)) return;
  exclusive(() => command(e.data));
};

function command(m) {
  try {
    if (curve.handle(m)) return;
    if (loop.handle(m, !!model)) return;
    switch (m.type) {
      case TO_WORKER.INIT: {
        name = m.spec.recipe;
        source = m.prompt ?? '';
        loop.stop();
        loop.target = m.target ?? null;
        model?.free();
        model = Seq2Seq.fromRecipe(name, {});
        pool.rebuild({ kind: 'seq2seq', spec: { recipe: name } });
        loop.total = recipe(name).steps;
        fresh = [];
        curve.reset();
        post(FROM_WORKER.READY, { recipe: name, total: loop.total });
        loop.post();
        if (loop.target) loop.start();
        break;
      }
      case TO_WORKER.PROMPT:
        source = m.text;
        if (model) loop.post();
        break;
    }
  } catch (err) {
    loop.fail(err);
  }
}
