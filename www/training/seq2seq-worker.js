// Retraining the encoder–decoder in the page, off the main thread: the shipped model's recipe
// (engine.recipe(name): its corpus, sizes, optimiser and schedule), from its untrained start
// (Seq2Seq.fromRecipe), trained in slices of ~12 ms. It posts the new losses at most every
// POST_MS and, at most every DETAIL_MS, what the model now writes for the page's sentence with
// its attention weights, so the page can show the cross-attention pattern forming as the loss
// falls. It draws the loss curve itself (curve.js). Messages: training/messages.js (INIT's
// spec is `{recipe}`, PROMPT's text the source sentence).

import init, { Seq2Seq, recipe, lastPanic } from '../pkg/lm_playground.js';
import { TO_WORKER, FROM_WORKER } from './messages.js';
import { WorkerCurve } from './curve.js';

const ready = init({ module_or_path: new URL('../pkg/lm_playground_bg.wasm', import.meta.url) });
const SLICE_MS = 12;
const POST_MS = 40;
const DETAIL_MS = 250;

let model = null;
let name = '';
let total = 0; // the recipe's number of steps
let source = '';
let playing = false;
let target = null;
let generation = 0;
let fresh = [];
let posted = { at: -Infinity, detailAt: -Infinity };
const curve = new WorkerCurve(post);

function post(type, data = {}) {
  self.postMessage({ type, ...data });
}

function fail(e) {
  playing = false;
  const detail = e instanceof WebAssembly.RuntimeError ? (() => { try { return lastPanic() ?? e.message; } catch { return e.message; } })() : null;
  post(FROM_WORKER.ERROR, detail ? { message: `The engine stopped after an internal error (${detail}). Reload the page.`, crashed: true } : { message: e.message });
}

/** What the model writes now for the page's sentence (null if it cannot read it). */
function written() {
  if (!source) return null;
  try {
    const g = model.generate(source, {});
    return { sourceTokens: g.sourceTokens, steps: g.steps.map((s) => ({ token: s.token, cross: s.cross })) };
  } catch (e) {
    return { error: e.message };
  }
}

function snapshot(details = true) {
  const now = performance.now();
  posted.at = now;
  const msg = { step: model.step, losses: fresh, playing, target, total };
  fresh = [];
  if (details || now - posted.detailAt >= DETAIL_MS) {
    posted.detailAt = now;
    msg.generation = written();
  }
  post(FROM_WORKER.PROGRESS, msg);
  curve.draw();
}

function slice(gen) {
  if (gen !== generation || !playing) return;
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < SLICE_MS && playing) {
      if (model.step >= (target ?? total)) { playing = false; break; }
      const loss = model.trainStep();
      fresh.push(loss);
      curve.push(loss);
    }
  } catch (e) {
    fail(e);
    snapshot();
    return;
  }
  if (!playing) snapshot();
  else {
    if (performance.now() - posted.at >= POST_MS) snapshot(false);
    setTimeout(() => slice(gen), 0);
  }
}

function start() {
  playing = true;
  generation++;
  setTimeout(() => slice(generation), 0);
}

self.onmessage = async (e) => {
  await ready;
  const m = e.data;
  try {
    if (curve.handle(m)) return;
    switch (m.type) {
      case TO_WORKER.INIT: {
        name = m.spec.recipe;
        source = m.prompt ?? '';
        target = m.target ?? null;
        playing = false;
        generation++;
        model?.free();
        model = Seq2Seq.fromRecipe(name, {});
        total = recipe(name).steps;
        fresh = [];
        curve.reset();
        post(FROM_WORKER.READY, { recipe: name, total });
        snapshot();
        if (target) start();
        break;
      }
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
      case TO_WORKER.PROMPT:
        source = m.text;
        if (model) snapshot();
        break;
      case TO_WORKER.DRAWN:
        break; // (this worker does not wait for the page: it posts little)
    }
  } catch (err) {
    fail(err);
  }
};
