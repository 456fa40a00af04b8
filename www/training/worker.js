// The training loop, off the main thread. The page sends commands (training/messages.js); the
// worker trains in slices of ~12 ms (so it hears "pause" quickly) and posts what the page draws.
// While it plays, it posts the new losses at most every POST_MS and the predictions, gradient
// norms and the watched update at most every DETAIL_MS: each message costs the page's main
// thread time, and the page shows no more than that. After each post it waits for the page to
// draw it (DRAWN), so that on a machine whose other cores are busy the page's frame does not
// share a core with training. It also draws the loss curve, on an OffscreenCanvas the page
// hands over, so that a frame of the page's main thread stays short while it trains.
// With helper workers (shards.js) each step's shards are shared out; the numbers are the same.
// Steps and the page's commands take turns (`exclusive`): a step waiting for its helpers'
// parts is never interleaved with a command that changes or replaces the model.

import init, { Model, lastPanic } from '../pkg/lm_playground.js';
import { wasmSource } from '../assets.js';
import { WorkerCurve } from './curve.js';
import { TO_WORKER, FROM_WORKER } from './messages.js';
import { post, failure, turns, soon } from './loop.js';
import { errorInfo } from '../errors.js';
import { ShardPool } from './shards.js';

const ready = init({ module_or_path: wasmSource() });
const HELDOUT_EVERY = 25;
const SLICE_MS = 12;
const POST_MS = 40;
const DETAIL_MS = 250;
const PAGE_WAIT_MS = 100; // train on without DRAWN after this long

let model = null;
let spec = null;
let playing = false;
let target = null; // stop at this step (a link's train=N)
let prompt = '';
let generation = 0; // stale loops stop when this changes
let fresh = []; // losses not yet posted
let rate = { t: 0, steps: 0, perSec: 0 };
let posted = { at: -Infinity, detailAt: -Infinity }; // when progress (with details) was last posted
let waiting = { gen: -1, timer: 0 }; // the loop of generation `gen` waits for DRAWN
const curve = new WorkerCurve(post); // every loss and held-out loss, and the page's canvas to draw them on
const pool = new ShardPool();
const exclusive = turns();

/** One training step (on every worker there is), its loss remembered. */
async function trainOne() {
  remember(await pool.step(model));
  if (model.step % HELDOUT_EVERY === 0) curve.heldout.push(model.evalLoss());
}

function remember(loss) {
  fresh.push(loss);
  curve.push(loss);
}

function fail(e) {
  playing = false;
  post(FROM_WORKER.ERROR, failure(e, lastPanic));
}

/**
 * Posts the progress: the losses since the last post, and (with `details`, or when it is time)
 * the predictions, gradient norms and watched update. A message without details keeps the
 * page's last ones.
 */
function snapshot(details = true) {
  const now = performance.now();
  posted.at = now;
  const losses = fresh;
  fresh = [];
  const msg = { step: model.step, losses, heldout: curve.heldout.slice(), stepsPerSec: rate.perSec, workers: pool.workers, shardStats: { ...pool.stats }, playing, target };
  if (details || now - posted.detailAt >= DETAIL_MS) {
    posted.detailAt = now;
    try { msg.predictions = model.predictNext(prompt, 8); } catch (e) { msg.predictions = { error: errorInfo(e) }; }
    msg.gradNorms = model.gradNorms();
    msg.update = model.lastUpdate();
  }
  post(FROM_WORKER.PROGRESS, msg);
  curve.draw();
}

async function slice(gen) {
  const current = () => gen === generation && playing;
  if (!current()) return;
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < SLICE_MS && current()) {
      if (target !== null && model.step >= target) { playing = false; break; }
      await exclusive(() => current() && trainOne());
    }
  } catch (e) {
    fail(e);
    snapshot();
    return;
  }
  if (gen !== generation) return;
  const now = performance.now();
  if (now - rate.t > 500) {
    rate.perSec = ((model.step - rate.steps) * 1000) / (now - rate.t);
    rate.t = now;
    rate.steps = model.step;
  }
  // Stopped (a link's target reached): everything, now. Else only when it is time, and then
  // the loop goes on once the page has drawn it.
  if (!playing) snapshot();
  else if (now - posted.at >= POST_MS) {
    snapshot(false);
    waitForPage(gen);
    return;
  }
  if (playing) soon(() => slice(gen));
}

function waitForPage(gen) {
  clearTimeout(waiting.timer);
  waiting = { gen, timer: setTimeout(() => resume(gen), PAGE_WAIT_MS) };
}

/** Goes on with the loop of generation `gen` if it is the one waiting. */
function resume(gen) {
  if (waiting.gen !== gen) return;
  clearTimeout(waiting.timer);
  waiting = { gen: -1, timer: 0 };
  slice(gen);
}

function start() {
  playing = true;
  generation++;
  rate = { t: performance.now(), steps: model.step, perSec: rate.perSec };
  const gen = generation;
  soon(() => slice(gen));
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
    switch (m.type) {
      case TO_WORKER.INIT:
        spec = m.spec;
        prompt = m.prompt ?? '';
        target = m.target ?? null;
        playing = false;
        generation++;
        build();
        snapshot();
        if (target) start();
        break;
      case TO_WORKER.PLAY:
        if (!model) break;
        target = null;
        start();
        break;
      case TO_WORKER.PAUSE:
        if (!model) break;
        playing = false;
        generation++;
        snapshot();
        break;
      case TO_WORKER.STEP:
        if (!model) break;
        playing = false;
        generation++;
        await trainOne();
        snapshot();
        break;
      case TO_WORKER.DRAWN:
        resume(generation);
        break;
      case TO_WORKER.LR:
        model?.setLearningRate(m.lr);
        break;
      case TO_WORKER.PROMPT:
        prompt = m.text;
        if (model) snapshot();
        break;
      case TO_WORKER.WATCH:
        if (!model) break;
        watch(m);
        snapshot();
        break;
      case TO_WORKER.WEIGHTS: {
        const bytes = model ? model.saveWeights() : null;
        self.postMessage({ type: FROM_WORKER.WEIGHTS, id: m.id, step: model?.step ?? 0, bytes }, bytes ? [bytes.buffer] : []);
        break;
      }
    }
  } catch (err) {
    fail(err);
  }
}
