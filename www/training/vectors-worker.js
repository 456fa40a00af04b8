// Training the shipped 4-layer model's recipe in the page, off the main thread, for the vectors
// panel: the model starts from its untrained weights (the learning panel's `deep` size on the
// language's corpus, seed 1: the recipe stack-<lang> at step 0) and trains in slices of ~12 ms
// (loop.js); at most every MAP_MS it posts the token embeddings (tok_emb.weight) so the page
// can map them (engine.space('map')) and draw the cloud of words pulling into groups.
// Messages: training/messages.js (INIT's spec is `{model: the Model spec, steps}`; `target`:
// train to that step and stop).

import init, { Model, lastPanic } from '../pkg/lm_playground.js';
import { wasmSource } from '../assets.js';
import { TO_WORKER, FROM_WORKER } from './messages.js';
import { Loop, post, failure } from './loop.js';

const ready = init({ module_or_path: wasmSource() });
const MAP_MS = 120;

let model = null;
const loop = new Loop({
  train: () => model.train(1),
  step: () => model.step,
  report: snapshot,
  onError: (e) => post(FROM_WORKER.ERROR, failure(e, lastPanic)),
  postMs: MAP_MS,
});

/** The step, the last loss, and the embeddings now. */
function snapshot() {
  const e = model.param('tok_emb.weight');
  const losses = model.losses();
  post(FROM_WORKER.PROGRESS, { step: model.step, loss: losses.length ? losses[losses.length - 1] : null, e, playing: loop.playing, target: loop.target, total: loop.total });
}

self.onmessage = async (ev) => {
  await ready;
  const m = ev.data;
  try {
    if (loop.handle(m, !!model)) return;
    switch (m.type) {
      case TO_WORKER.INIT:
        loop.stop();
        model?.free();
        model = new Model(m.spec.model);
        loop.total = m.spec.steps;
        loop.target = m.target ?? null;
        post(FROM_WORKER.READY, { vocab: model.vocab(), total: loop.total });
        loop.post();
        if (loop.target) loop.start();
        break;
    }
  } catch (err) {
    loop.playing = false;
    post(FROM_WORKER.ERROR, failure(err, lastPanic));
  }
};
