// What the training workers share: posting to the page, the error message of a failure, and
// the loop that trains in slices of ~12 ms so the worker hears "pause" quickly, stops at a
// target step, and posts its progress at most every `postMs` (and, paced, only once the page has
// drawn the last post).

import { TO_WORKER, FROM_WORKER } from './messages.js';
import { codedError, errorInfo } from '../errors.js';

/**
 * A turn-taker: `exclusive(fn)` runs `fn` once everything given before it has finished (its
 * result, a promise). Training steps that wait for helper workers (shards.js) and the page's
 * commands that change the model go through one, so that they never interleave.
 */
export function turns() {
  let busy = Promise.resolve();
  return (fn) => {
    const p = busy.then(fn);
    busy = p.catch(() => {});
    return p;
  };
}

let soonPort = null;
const soonQueue = [];

/**
 * Runs `fn` in a task of its own, as soon as the worker is free: what `setTimeout(fn, 0)` was
 * meant to do, without its clamp. A browser delays a timer set from a timer's callback by at
 * least 4 ms once such calls nest 5 deep, so a loop that trains in slices chained by
 * `setTimeout(…, 0)` idled 4 ms after every 12 ms slice (a quarter of its time). A message to
 * itself is never clamped, and still lets the worker hear the page's messages in between.
 */
export function soon(fn) {
  if (!soonPort) {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => soonQueue.shift()?.();
    ch.port1.unref?.(); // (Node: a pending `soon` does not keep the process alive)
    soonPort = ch.port2;
  }
  soonQueue.push(fn);
  soonPort.postMessage(null);
}

/** Posts `{type, …data}` to the page. */
export function post(type, data = {}) {
  self.postMessage({ type, ...data });
}

/**
 * The ERROR message's fields for `e` (errors.js errorInfo: its message, and its code and
 * params for the page to say it): a wasm trap names the engine's panic (`lastPanic()`) and
 * says the page must be reloaded (`crashed`); `diverged` when training diverged.
 */
export function failure(e, lastPanic) {
  if (e instanceof WebAssembly.RuntimeError) {
    let detail = e.message;
    try { detail = lastPanic() ?? detail; } catch { /* gone */ }
    return { ...errorInfo(codedError('engine.crashed', { detail }, `The engine stopped after an internal error (${detail}). Reload the page.`)), crashed: true };
  }
  return { ...errorInfo(e), diverged: e?.code === 'train.diverged' || /diverged/.test(e?.message) };
}

/**
 * Trains in slices: `train()` takes one step (it may return a promise), each in its turn of
 * `exclusive` (see turns(); by default at once), `step()` tells the model's step count, `report(details)`
 * posts the progress (`details`: all of it; false: only what changes at every post), `onError(e)`
 * handles a failed step (the loop has stopped; by default `fail(e)` and a last post, the
 * engine's panic named by `lastPanic`). `playing`, `target` (stop there; null: at
 * `total`) and `total` are the loop's state, which the progress reports; `perSec` the steps per
 * second while it plays (measured over ~0.5 s).
 *
 * `paced`: while playing, a progress post waits until the page has drawn the last one
 * (`drawn()`, the page's DRAWN; at most `pageWaitMs`), so that a page slower than the worker
 * is never sent more than it can draw. Training goes on meanwhile: the losses wait for the
 * next post.
 */
export class Loop {
  constructor({ train, step, report, onError, lastPanic, postMs, sliceMs = 12, exclusive = (fn) => fn(), paced = false, pageWaitMs = 100 }) {
    onError ??= (e) => {
      this.fail(e);
      this.post();
    };
    Object.assign(this, { train, step, report, onError, lastPanic, postMs, sliceMs, exclusive, paced, pageWaitMs });
    this.playing = false;
    this.target = null;
    this.total = 0;
    this.generation = 0; // a stale slice stops when this changes
    this.postedAt = -Infinity;
    this.undrawn = false; // (paced) a post the page has not said it drew
    this.perSec = 0;
    this.rate = { t: 0, steps: 0 };
  }

  /** Posts the progress now. */
  post(details = true) {
    this.postedAt = performance.now();
    this.undrawn = this.paced && this.playing;
    this.report(details);
  }

  /** Stops and tells the page why (its ERROR message; see `failure`). */
  fail(e) {
    this.playing = false;
    post(FROM_WORKER.ERROR, failure(e, this.lastPanic));
  }

  /** The page has drawn the last post (its DRAWN). */
  drawn() {
    this.undrawn = false;
  }

  /** Stops training (a slice under way returns). */
  stop() {
    this.playing = false;
    this.generation++;
  }

  /** Trains until `target` (or `total`), or until stopped. */
  start() {
    this.playing = true;
    const gen = ++this.generation;
    this.rate = { t: performance.now(), steps: this.step() };
    soon(() => this.slice(gen));
  }

  /**
   * The page's PLAY (train on, to the end) and PAUSE (stop and post): true when `m` was one of
   * them (with no model yet, ignored). DRAWN too (see `paced`).
   */
  handle(m, hasModel) {
    if (m.type === TO_WORKER.DRAWN) {
      this.drawn();
      return true;
    }
    if (m.type !== TO_WORKER.PLAY && m.type !== TO_WORKER.PAUSE) return false;
    if (!hasModel) return true;
    if (m.type === TO_WORKER.PLAY) {
      this.target = null;
      this.start();
    } else {
      this.stop();
      this.post();
    }
    return true;
  }

  async slice(gen) {
    const current = () => gen === this.generation && this.playing;
    if (!current()) return;
    const t0 = performance.now();
    try {
      while (performance.now() - t0 < this.sliceMs && current()) {
        if (this.step() >= (this.target ?? this.total)) {
          this.playing = false;
          break;
        }
        await this.exclusive(() => current() && this.train());
      }
    } catch (e) {
      this.playing = false;
      this.onError(e);
      return;
    }
    if (gen !== this.generation) return;
    const now = performance.now();
    if (now - this.rate.t > 500) {
      this.perSec = ((this.step() - this.rate.steps) * 1000) / (now - this.rate.t);
      this.rate = { t: now, steps: this.step() };
    }
    if (!this.playing) this.post();
    else {
      const since = now - this.postedAt;
      if (since >= this.postMs && (!this.undrawn || since >= this.pageWaitMs)) this.post(false);
      soon(() => this.slice(gen));
    }
  }
}
