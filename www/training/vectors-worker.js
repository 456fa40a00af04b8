// Training the shipped 4-layer model's recipe in the page, off the main thread, for the vectors
// panel: the model starts from its untrained weights (the learning panel's `deep` size on the
// language's corpus, seed 1: the recipe stack-<lang> at step 0) and trains in slices of ~12 ms;
// at most every MAP_MS it posts the token embeddings (tok_emb.weight) so the page can map them
// (engine.space('map')) and draw the cloud of words pulling into groups. Messages: training/messages.js
// (INIT's spec is the Model spec; `target`: train to that step and stop).

import init, { Model, lastPanic } from '../pkg/lm_playground.js';
import { TO_WORKER, FROM_WORKER } from './messages.js';

const ready = init({ module_or_path: new URL('../pkg/lm_playground_bg.wasm', import.meta.url) });
const SLICE_MS = 12;
const MAP_MS = 120;

let model = null;
let playing = false;
let target = null;
let total = 0;
let generation = 0;
let postedAt = -Infinity;

function post(type, data = {}) {
  self.postMessage({ type, ...data });
}

function fail(e) {
  playing = false;
  const detail = e instanceof WebAssembly.RuntimeError ? (() => { try { return lastPanic() ?? e.message; } catch { return e.message; } })() : null;
  post(FROM_WORKER.ERROR, detail ? { message: `The engine stopped after an internal error (${detail}). Reload the page.`, crashed: true } : { message: e.message });
}

/** The step, the last loss, and the embeddings with their map now. */
function snapshot() {
  postedAt = performance.now();
  const e = model.param('tok_emb.weight');
  const losses = model.losses();
  post(FROM_WORKER.PROGRESS, { step: model.step, loss: losses.length ? losses[losses.length - 1] : null, e, playing, target, total });
}

function slice(gen) {
  if (gen !== generation || !playing) return;
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < SLICE_MS && playing) {
      if (model.step >= (target ?? total)) { playing = false; break; }
      model.train(1);
    }
  } catch (e) {
    fail(e);
    return;
  }
  if (!playing) snapshot();
  else {
    if (performance.now() - postedAt >= MAP_MS) snapshot();
    setTimeout(() => slice(gen), 0);
  }
}

function start() {
  playing = true;
  generation++;
  setTimeout(() => slice(generation), 0);
}

self.onmessage = async (ev) => {
  await ready;
  const m = ev.data;
  try {
    switch (m.type) {
      case TO_WORKER.INIT:
        playing = false;
        generation++;
        model?.free();
        model = new Model(m.spec.model);
        total = m.spec.steps;
        target = m.target ?? null;
        post(FROM_WORKER.READY, { vocab: model.vocab(), total });
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
      case TO_WORKER.DRAWN:
        break;
    }
  } catch (err) {
    fail(err);
  }
};
