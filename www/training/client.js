// The page's side of the training worker: one method per message (training/messages.js), and
// every message from the worker handed to `onMessage`. The worker starts on the first `init`.
// (The learning panel's worker.js by default; the encoder–decoder panel's seq2seq-worker.js.)

import { TO_WORKER, FROM_WORKER } from './messages.js';
import { startWorker } from '../assets.js';
import { codedError, errorInfo } from '../errors.js';
import { workerCount, chosenWorkers, startHelpers } from './workers.js';

export class TrainingClient {
  /**
   * `onMessage(m)` receives the worker's messages, and an error message if the worker fails to
   * run; `script` is the worker's path in www/; `sharded`: the worker trains on helpers too
   * (shards.js), as many as workers.js says.
   */
  constructor(onMessage, script = 'training/worker.js', { sharded = true } = {}) {
    this.onMessage = onMessage;
    this.script = script;
    this.sharded = sharded;
    this.worker = null;
    this.helpers = [];
  }

  post(type, data = {}, transfer = []) {
    this.worker?.postMessage({ type, ...data }, transfer);
  }

  /** Builds a fresh model from `spec` ({model, watch}) and trains it to `target` if given. */
  init(spec, prompt, target) {
    if (!this.worker) {
      this.worker = startWorker(this.script, { type: 'module' });
      this.worker.onmessage = (e) => this.onMessage(e.data);
      this.worker.onerror = (e) => {
        const detail = e.message || 'worker error';
        this.onMessage({ type: FROM_WORKER.ERROR, ...errorInfo(codedError('worker.failed', { detail }, detail)) });
      };
      if (this.sharded) this.setWorkers(workerCount());
    }
    this.post(TO_WORKER.INIT, { spec, prompt, target });
  }

  /**
   * Trains on `n` workers from now on: the coordinator and n − 1 helpers (shards.js), started
   * anew; while the page's choice is Auto, the coordinator uses them only when they make steps
   * shorter. The numbers do not change, only the speed.
   */
  setWorkers(n) {
    if (!this.worker || !this.sharded) return;
    for (const h of this.helpers) h.terminate();
    const { helpers, ports } = startHelpers(Math.max(0, n - 1), (index) => this.post(TO_WORKER.HELPER_LOST, { index }));
    this.helpers = helpers;
    this.post(TO_WORKER.HELPERS, { ports, auto: chosenWorkers() === 'auto' }, ports);
  }

  play() { this.post(TO_WORKER.PLAY); }

  pause() { this.post(TO_WORKER.PAUSE); }

  step() { this.post(TO_WORKER.STEP); }

  setLearningRate(lr) { this.post(TO_WORKER.LR, { lr }); }

  setPrompt(text) { this.post(TO_WORKER.PROMPT, { text }); }

  watch(name, index) { this.post(TO_WORKER.WATCH, { name, index }); }

  drawn() { this.post(TO_WORKER.DRAWN); }

  /** The loss curve's canvas (once, transferred) and how to draw it; see TO_WORKER.CURVE. */
  curve(data, transfer) { this.post(TO_WORKER.CURVE, data, transfer); }

  /** Asks for the curve's pixel count (answered by a PIXELS message with the same `id`). */
  pixels(id) { this.post(TO_WORKER.PIXELS, { id }); }

  /** Asks for the model's weights (answered by a WEIGHTS message with the same `id`). */
  weights(id) { this.post(TO_WORKER.WEIGHTS, { id }); }

  /** True once `init` has started the worker. */
  get started() {
    return this.worker !== null;
  }
}
