// Data-parallel training steps, in the training worker that owns the model (the coordinator).
// A step's batch is cut into the model's fixed number of shards (`model.shards`, the engine's
// src/shards.rs); the coordinator computes the first ones, helper workers (shard-worker.js,
// each holding a replica built from the same spec) the rest, and the engine adds the parts in
// shard order. Who computed a part changes none of its bits, so a run trains to the same
// numbers on 1, 2 or 4 workers. Helpers talk to the coordinator over MessagePorts the page
// wires (client.js); none needs SharedArrayBuffer.
//
//   coordinator                                   helper i
//   batch = model.beginStep()   ── {weights, batch, from, to} ──▶  setWeightsFlat, stepPart(batch, k)…
//   model.computePart(k) for its shards
//   model.addPart(k, loss, grad)  ◀── {parts} (grads transferred) ──
//   model.finishStep()
//
// With the page's choice on Auto, the helpers are used only while they make steps shorter
// (AutoHelpers: it times both ways in turn).
// A helper that fails (it could not start, its replica could not be built, the page says it
// was lost) is dropped, and its shards are computed by the coordinator: the numbers stay the
// same, only slower.

import { TO_WORKER } from './messages.js';

/** Messages on a helper's port. */
export const SHARD_MSG = Object.freeze({
  /** coordinator → helper: `{gen, kind: 'model'|'seq2seq', spec}`: build a replica (for generation `gen`). */
  BUILD: 'build',
  /** helper → coordinator: `{gen}`: the replica of generation `gen` is built. */
  READY: 'ready',
  /** coordinator → helper: `{id, weights, batch, from, to}`: parts from..to−1 of a step. */
  PART: 'part',
  /** helper → coordinator: `{id, parts: [{shard, loss, grad}]}`. */
  PARTS: 'parts',
  /** helper → coordinator: `{id?, message}`: it cannot go on. */
  FAILED: 'failed',
});

/** Shards [from, to) worker `w` of `workers` computes: contiguous blocks, the coordinator (w = 0) first. */
export function assignment(shards, workers, w) {
  return [Math.floor((w * shards) / workers), Math.floor(((w + 1) * shards) / workers)];
}

/** The sum of `xs` without its largest value (one slow step does not decide a trial). */
const trimmedSum = (xs) => xs.reduce((a, b) => a + b, 0) - Math.max(...xs);

/**
 * Auto's choice, step by step, between training with the helpers and alone. Either way the
 * numbers are the same; only a step's time differs, and where cores are few or a step is short
 * the messages can cost more than the helpers save (on the 2-core development machine the
 * encoder–decoder's 3.6 ms step is about as fast on 1 worker as on 2). So Auto tries both in
 * turn — `trial` steps with every usable helper, then `trial` alone — keeps the one whose steps
 * took less time in all (the slowest step of each left out, and a tie going to alone), and tries
 * again after `holdMs` of steps, since the machine's load changes. The first `warmMs` of steps
 * with new helpers (or a new model) are not counted: a helper's engine runs slower until the
 * browser has compiled its hot functions fully, and would lose a trial it then wins. The first
 * step after each switch is not counted either. When the number of usable helpers changes (one
 * became ready, or was lost), the trial starts over. A count chosen in the page (not Auto)
 * always uses every helper.
 */
export class AutoHelpers {
  constructor({ warmMs = 500, trial = 12, holdMs = 10000 } = {}) {
    Object.assign(this, { warmMs, trial, holdMs });
    this.helpers = null; // the usable helpers the trial (or the choice held) was made with
    this.reset();
  }

  /** Starts over with a trial; `fresh`: new helpers or a new model (warm them up first). */
  reset(fresh = true) {
    this.phase = 'shared'; // 'shared' | 'alone': trying it; 'hold': keeping `choice`
    this.warmLeft = fresh ? this.warmMs : 0;
    this.skip = 1;
    this.times = { shared: [], alone: [] };
    this.choice = true; // (while holding) use the helpers?
    this.heldMs = 0;
  }

  /** Should the next step use the helpers? */
  useHelpers() {
    return this.phase === 'hold' ? this.choice : this.phase === 'shared';
  }

  /** What Auto does now: 'trying', or the choice it holds, 'shared' or 'alone'. */
  get state() {
    return this.phase !== 'hold' ? 'trying' : this.choice ? 'shared' : 'alone';
  }

  /**
   * A step just taken took `ms` (`shared`: with the helpers), while `helpers` helpers were
   * usable. (A step whose helper failed, computed partly again here, is not given.)
   */
  record(shared, ms, helpers = 1) {
    if (this.helpers !== helpers) {
      const before = this.helpers;
      this.helpers = helpers;
      if (before !== null) {
        // a helper became ready (warm it up) or was lost: a new trial; this step not counted
        this.reset(helpers > before);
        return;
      }
    }
    if (this.phase === 'hold') {
      this.heldMs += ms;
      if (this.heldMs >= this.holdMs) this.reset(false);
      return;
    }
    if (shared !== (this.phase === 'shared')) return;
    if (this.warmLeft > 0) {
      this.warmLeft -= ms;
      return;
    }
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    const times = this.times[this.phase];
    times.push(ms);
    if (times.length < this.trial) return;
    if (this.phase === 'shared') {
      this.phase = 'alone';
      this.skip = 1;
      return;
    }
    this.choice = trimmedSum(this.times.shared) < trimmedSum(this.times.alone);
    this.phase = 'hold';
  }
}

export class ShardPool {
  /** `now()`: the clock Auto times steps by (ms); `auto`: AutoHelpers' options. */
  constructor({ now = () => performance.now(), auto = {} } = {}) {
    this.now = now;
    this.autoOptions = auto;
    this.auto = null; // an AutoHelpers while the page's choice is Auto
    this.helpers = []; // {port, gen (of its built replica), lost, waiting: Map id → resolve}
    this.gen = 0;
    this.nextId = 0;
    this.workers = 1; // how many computed the last step
    // What the steps cost this worker, in total (ms): drawing the batch, copying and posting
    // the weights (send); computing its own parts (own); waiting for the helpers' parts once
    // its own are done (wait); adding them (add); the optimiser step (finish). And `auto`:
    // what Auto does after the last step (AutoHelpers.state), null when not on Auto.
    this.stats = { steps: 0, ownMs: 0, sendMs: 0, waitMs: 0, addMs: 0, finishMs: 0, auto: null };
  }

  /**
   * Trains with the helpers behind `ports` (the page's) instead of any before; they build the
   * current replica if there is one. `auto`: the page's choice is Auto, so the helpers are used
   * only while they make steps shorter (AutoHelpers).
   */
  connect(ports, { auto = false } = {}) {
    for (const h of this.helpers) this.drop(h);
    this.helpers = [];
    this.auto = auto ? new AutoHelpers(this.autoOptions) : null;
    for (const port of ports) {
      const h = { port, gen: -1, lost: false, waiting: new Map() };
      port.onmessage = (e) => this.heard(h, e.data);
      this.helpers.push(h);
      if (this.replica) this.build(h);
    }
  }

  /** Helper `i` (in the order connected) is gone: the page saw its worker fail. */
  lose(i) {
    const h = this.helpers[i];
    if (h) this.drop(h);
  }

  /** The page's TO_WORKER.HELPERS and HELPER_LOST (messages.js): true when `m` was one of them. */
  handle(m) {
    if (m.type === TO_WORKER.HELPERS) this.connect(m.ports ?? [], { auto: m.auto === true });
    else if (m.type === TO_WORKER.HELPER_LOST) this.lose(m.index);
    else return false;
    return true;
  }

  /** Every helper builds a replica of `replica` ({kind, spec}); until it says so, it is not used. */
  rebuild(replica) {
    this.replica = replica;
    this.gen++;
    this.auto?.reset();
    for (const h of this.helpers) if (!h.lost) this.build(h);
  }

  build(h) {
    h.port.postMessage({ type: SHARD_MSG.BUILD, gen: this.gen, ...this.replica });
  }

  /** Stops using helper `h` (its port closed): any parts it owes come back empty. */
  drop(h) {
    h.lost = true;
    h.port.onmessage = null;
    h.port.close();
    for (const resolve of h.waiting.values()) resolve(null);
    h.waiting.clear();
  }

  heard(h, m) {
    if (m.type === SHARD_MSG.READY) h.gen = m.gen;
    else if (m.type === SHARD_MSG.PARTS) {
      h.waiting.get(m.id)?.(m.parts);
      h.waiting.delete(m.id);
    } else if (m.type === SHARD_MSG.FAILED) this.drop(h);
  }

  /** The helpers that can compute parts of the current model now. */
  usable() {
    return this.helpers.filter((h) => !h.lost && h.gen === this.gen);
  }

  /**
   * One training step of `model` (a Model or Seq2Seq with the sharded-step members), on every
   * usable helper and this worker (alone, if none); its loss.
   */
  async step(model) {
    const shards = model.shards;
    const usable = this.usable().slice(0, shards - 1);
    const helpers = usable.length && this.auto && !this.auto.useHelpers() ? [] : usable;
    const workers = helpers.length + 1;
    const st = this.stats;
    const began = this.now();
    let t = performance.now();
    const lap = (k) => {
      const now = performance.now();
      st[k] += now - t;
      t = now;
    };
    const batch = model.beginStep();
    const asked = [];
    if (helpers.length) {
      const weights = model.weightsFlat();
      helpers.forEach((h, i) => {
        const [from, to] = assignment(shards, workers, i + 1);
        const id = this.nextId++;
        const w = i === helpers.length - 1 ? weights : weights.slice();
        asked.push({ from, to, parts: new Promise((resolve) => h.waiting.set(id, resolve)) });
        h.port.postMessage({ type: SHARD_MSG.PART, id, weights: w, batch, from, to }, [w.buffer]);
      });
    }
    lap('sendMs');
    const [from, to] = assignment(shards, workers, 0);
    for (let k = from; k < to; k++) model.computePart(k);
    lap('ownMs');
    let fellBack = false;
    for (const a of asked) {
      const parts = await a.parts;
      lap('waitMs');
      for (let k = a.from; k < a.to; k++) {
        const p = parts?.[k - a.from];
        if (p && p.shard === k) model.addPart(k, p.loss, p.grad);
        else {
          model.computePart(k); // the helper failed: this worker computes its shards
          fellBack = true;
        }
      }
      lap('addMs');
    }
    this.workers = workers;
    const loss = model.finishStep();
    lap('finishMs');
    st.steps++;
    if (this.auto && usable.length && !fellBack) this.auto.record(workers > 1, this.now() - began, usable.length);
    st.auto = this.auto && usable.length ? this.auto.state : null;
    return loss;
  }
}

/**
 * Serves the coordinator on `port` as a helper (shard-worker.js does this in its worker): builds
 * the replica it is told to with the engine's classes `{Model, Seq2Seq}`, and answers each PART
 * with the parts computed on the weights sent. Any failure is reported (FAILED), never thrown.
 */
export function serveReplica(port, { Model, Seq2Seq }) {
  let replica = null;
  port.onmessage = (e) => {
    const m = e.data;
    try {
      if (m.type === SHARD_MSG.BUILD) {
        replica?.free();
        replica = null;
        replica = m.kind === 'seq2seq' ? Seq2Seq.fromRecipe(m.spec.recipe, {}) : new Model(m.spec);
        port.postMessage({ type: SHARD_MSG.READY, gen: m.gen });
      } else if (m.type === SHARD_MSG.PART) {
        replica.setWeightsFlat(m.weights);
        const parts = [];
        for (let k = m.from; k < m.to; k++) {
          const p = replica.stepPart(m.batch, k);
          parts.push({ shard: k, loss: p.loss, grad: p.grad });
        }
        port.postMessage({ type: SHARD_MSG.PARTS, id: m.id, parts }, parts.map((p) => p.grad.buffer));
      }
    } catch (err) {
      port.postMessage({ type: SHARD_MSG.FAILED, id: m.id, message: String(err?.message ?? err) });
    }
  };
}
