// The messages between the learning panel (training/client.js) and the training worker
// (training/worker.js), by name. Each is `{type, …fields}`.

/** Page → worker. */
export const TO_WORKER = Object.freeze({
  /** `{spec: {model, watch: {name, index}}, prompt, target}`: build a fresh model; train to `target` if given. */
  INIT: 'init',
  /** Train until paused. */
  PLAY: 'play',
  /** Stop training; posts the progress. */
  PAUSE: 'pause',
  /** Train one step; posts the progress. */
  STEP: 'step',
  /** `{lr}`: the learning rate, live. */
  LR: 'lr',
  /** `{text}`: the prompt the predictions continue. */
  PROMPT: 'prompt',
  /** `{name, index}`: the weight whose update is written out. */
  WATCH: 'watch',
  /** The page has drawn the last progress: the next may be posted (a paced loop waits for this, at most 100 ms; training goes on meanwhile). */
  DRAWN: 'drawn',
  /**
   * `{canvas?, width, height, dpr, opts}`: draw the loss curve in the worker, on the
   * OffscreenCanvas sent once (transferred) as `canvas`, at `width` × `height` CSS pixels with
   * `drawLossCurve`'s options `opts` (labels, hover…); again after every progress.
   */
  CURVE: 'curve',
  /** `{id}`: count the curve's drawn pixels (posts PIXELS). */
  PIXELS: 'pixels',
  /** `{id}`: the model's weights as safetensors (posts WEIGHTS). */
  WEIGHTS: 'weights',
  /** `{ports, auto}`: train with the helpers behind these MessagePorts (shards.js), instead of any before; `auto`: only while they make steps shorter. */
  HELPERS: 'helpers',
  /** `{index}`: helper `index` (of the last HELPERS) failed; its shards are computed by the worker. */
  HELPER_LOST: 'helper-lost',
});

/** Worker → page. */
export const FROM_WORKER = Object.freeze({
  /** `{vocab, params: [{name, shape}], config}`: the model is built. */
  READY: 'ready',
  /**
   * `{step, losses (new since the last), heldout (all), stepsPerSec, workers (that computed
   * the last step), shardStats (shards.js ShardPool.stats), playing, target}`, and,
   * at most every 250 ms while training, `{predictions, gradNorms, update}`.
   */
  PROGRESS: 'progress',
  /** `{message, code?, params?, diverged?, crashed?}` (errors.js errorInfo): training stopped. */
  ERROR: 'error',
  /** `{layout, steps}`: the worker drew the curve (drawLossCurve's layout, for the page's tooltip). */
  CURVE: 'curve',
  /** `{id, ink, hash}`: the curve's non-white pixels and a digest of them. */
  PIXELS: 'pixels',
  /** `{id, step, bytes}`: the weights asked for (safetensors bytes, null before a model is built). */
  WEIGHTS: 'weights',
});
