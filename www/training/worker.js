// The training loop, off the main thread. The page sends commands (training/messages.js); the
// worker trains in slices of ~12 ms (loop.js, so it hears "pause" quickly) and posts what the
// page draws. While it plays, it posts the new losses at most every POST_MS and the predictions,
// gradient norms and the watched update at most every DETAIL_MS: each message costs the page's
// main thread time, and the page shows no more than that. The posts are paced: the next waits
// until the page has drawn the last (DRAWN), so a page slower than training (its core busy) is
// never sent more than it can draw; training goes on meanwhile. It also draws the loss curve,
// on an OffscreenCanvas the page hands over, so that a frame of the page's main thread stays
// short while it trains.
// With helper workers (shards.js) each step's shards are shared out; the numbers are the same.
// Steps and the page's commands take turns (`exclusive`): a step waiting for its helpers'
// parts is never interleaved with a command that changes or replaces the model.

import init, { Model, lastPanic } from '../pkg/lm_playground.js';
import { wasmSource } from '../assets.js';
import { WorkerCurve } from './curve.js';
import { TO_WORKER, FROM_WORKER } from './messages.js';
import { Loop, post, turns } from './loop.js';
import { errorInfo } from '../errors.js';
import { ShardPool } from './shards.js';

const ready = init({ module_or_path: wasmSource() });
const HELDOUT_EVERY = 25;
const POST_MS = 40;
const DETAIL_MS = 250;

let model = null;
let spec = null;
let prompt = '';
let fresh = []; // losses not yet posted
let detailAt = -Infinity; // when the details were last posted
const curve = new WorkerCurve(post); // every loss and held-out loss, and the page's canvas to draw them on
const pool = new ShardPool();
const exclusive = turns();
const loop = new Loop({
  train: trainOne,
  exclusive,
  step: () => model.step,
  report: snapshot,
  lastPanic,
  postMs: POST_MS,
  paced: true,
});
loop.total = Infinity; // (plays until paused, or until a link's target)

/** One training step (on every worker there is), its loss remembered. */
async function trainOne() {
  remember(await pool.step(model));
  if (model.step % HELDOUT_EVERY === 0) curve.heldout.push(model.evalLoss());
}

function remember(loss) {
  fresh.push(loss);
  curve.push(loss);
}

/**
 * Posts the progress: the losses since the last post, and (with `details`, or when it is time)
 * the predictions, gradient norms and watched update. A message without details keeps the
 * page's last ones.
 */
function snapshot(details = true) {
  const now = performance.now();
  const losses = fresh;
  fresh = [];
  const msg = { step: model.step, losses, heldout: curve.heldout.slice(), stepsPerSec: loop.perSec, workers: pool.workers, shardStats: { ...pool.stats }, playing: loop.playing, target: loop.target };
  if (details || now - detailAt >= DETAIL_MS) {
    detailAt = now;
    try { msg.predictions = model.predictNext(prompt, 8); } catch (e) { msg.predictions = { error: errorInfo(e) }; }
    msg.gradNorms = model.gradNorms();
    msg.update = model.lastUpdate();
  }
  post(FROM_WORKER.PROGRESS, msg);
  curve.draw();
}

/** Follows weight `w.index` of `w.name`, or lm_head's first weight if a link named one that does not exist. */
function watch(w) {
  try { model.watch(w.name, w.index); } catch { model.watch('lm_head.weight', 0); }
}

function build() {
  model?.free();
  model = new Model(spec.model);
  pool.rebuild({ kind: 'model', spec: spec.model });
  if (spec.watch) watch(spec.watch);
  fresh = [];
  curve.reset();
  const shapes = model.paramShapes();
  post(FROM_WORKER.READY, { vocab: model.vocab(), params: shapes, config: model.config() });
}

self.onmessage = async (e) => {
  await ready;
  // (the helpers change at once, not in turn: a step may be waiting for one that is gone)
  if (pool.handle(e.data)) return;
  exclusive(() => command(e.data));
};

async function command(m) {
  try {
    if (curve.handle(m)) return;
    if (loop.handle(m, !!model)) return;
    switch (m.type) {
      case TO_WORKER.INIT:
        spec = m.spec;
        prompt = m.prompt ?? '';
        loop.stop();
        loop.target = m.target ?? null;
        build();
        loop.post();
        if (loop.target) loop.start();
        break;
      case TO_WORKER.STEP:
        if (!model) break;
        loop.stop();
        await trainOne();
        loop.post();
        break;
      case TO_WORKER.LR:
        model?.setLearningRate(m.lr);
        break;
      case TO_WORKER.PROMPT:
        prompt = m.text;
        if (model) loop.post();
        break;
      case TO_WORKER.WATCH:
        if (!model) break;
        watch(m);
        loop.post();
        break;
      case TO_WORKER.WEIGHTS: {
        const bytes = model ? model.saveWeights() : null;
        self.postMessage({ type: FROM_WORKER.WEIGHTS, id: m.id, step: model?.step ?? 0, bytes }, bytes ? [bytes.buffer] : []);
        break;
      }
    }
  } catch (err) {
    loop.fail(err);
  }
}
