// How many workers train (the page's side of shards.js): the coordinator and count − 1 helpers.
// By default as many as the machine has cores (navigator.hardwareConcurrency), at most
// MAX_WORKERS (a step has 4 shards: more workers would wait); a choice in the training panels'
// settings overrides it on this device (it is not part of a link: it changes no number).

import { startWorker } from '../assets.js';
import { el, field, fillSelect } from '../dom.js';

/**
 * The shards each batch of the page's runs is cut into (src/shards.rs PAGE_SHARDS, which the
 * recipes the page retrains use too): part of what defines a run's numbers.
 */
export const SHARDS = 4;
/** Most workers a run uses: one per shard. */
export const MAX_WORKERS = SHARDS;
const KEY = 'lm-playground.workers';

/** The default: the machine's cores, from 1 to MAX_WORKERS. */
export function defaultWorkers() {
  const n = Number(globalThis.navigator?.hardwareConcurrency);
  return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_WORKERS) : 1;
}

let unstored = null; // the choice, where storage is blocked: kept for this page only

/** The chosen count ('auto' when none is stored). */
export function chosenWorkers() {
  let v = unstored;
  try { v = localStorage.getItem(KEY); } catch { /* storage blocked */ }
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS ? n : 'auto';
}

/** How many workers to train on now. */
export function workerCount() {
  const c = chosenWorkers();
  return c === 'auto' ? defaultWorkers() : c;
}

/** Stores the choice (`'auto'` or 1..MAX_WORKERS). */
export function chooseWorkers(v) {
  unstored = v === 'auto' ? null : String(v);
  try {
    if (v === 'auto') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, String(v));
  } catch { /* storage blocked: kept for this page only (unstored) */ }
}

/**
 * Starts `n` helper workers (shard-worker.js), each handed one end of a MessageChannel; the
 * other ends are returned for the coordinator. `lost(i)` is called if helper i fails to run.
 * Where workers cannot start, fewer (or none) are returned: training goes on without them.
 */
export function startHelpers(n, lost) {
  const helpers = [];
  const ports = [];
  for (let i = 0; i < n; i++) {
    try {
      const worker = startWorker('training/shard-worker.js', { type: 'module' });
      const ch = new MessageChannel();
      const index = i;
      worker.onerror = () => lost(index);
      worker.postMessage({ port: ch.port2 }, [ch.port2]);
      helpers.push(worker);
      ports.push(ch.port1);
    } catch {
      break;
    }
  }
  return { helpers, ports };
}

/** "1 worker", "3 workers" (`t`: the page's strings). */
export function workersText(t, n) {
  return n === 1 ? t('train.workers.one') : t('train.workers.n', { n });
}

/**
 * The "Workers" choice of a training panel's settings (`field`, put it in the panel's
 * controls; `render(t)` on every render, in the page's language): Auto (the machine's cores)
 * or 1 to MAX_WORKERS; a change restarts `client`'s helpers, training goes on.
 */
export class WorkersChoice {
  constructor(id, client) {
    this.sel = el('select', { id });
    this.field = field('workers', id, 'train.workers', this.sel);
    this.sel.addEventListener('change', () => {
      chooseWorkers(this.sel.value === 'auto' ? 'auto' : Number(this.sel.value));
      client.setWorkers(workerCount());
    });
  }

  render(t) {
    const items = [['auto', t('train.workers.auto', { n: defaultWorkers() })]];
    for (let n = 1; n <= MAX_WORKERS; n++) items.push([n, String(n)]);
    if (document.activeElement !== this.sel) fillSelect(this.sel, items, chosenWorkers());
    this.sel.title = t('train.workers.hint');
  }
}
