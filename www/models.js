// The trained models the page ships (www/models/<kind>-<lang>.safetensors, written by
// `cargo xtask pretrain`), fetched the first time a panel needs one and kept: one instance per
// file, shared by the panels. Each file is self-describing (its config and vocabulary are in
// its metadata), so `<Class>.fromSafetensors(bytes)` is all it takes — or, for the decoder-only
// model trained on running text (`stack`, the learning panel's `deep` size), `Model.fromFile(bytes)`.
//
//   const m = shippedModel('seq2seq', 'zh', onLoaded);   // the model, or null while it loads
//   if (m?.error) app.errorText(m.error)                 // it could not be loaded: why, in the page's language

import { engine } from './engine.js';
import { asset } from './assets.js';
import { codedError, errorInfo } from './errors.js';
import { deepSpec } from './panels/learn.js';

/** How each kind of file becomes a model: the engine's class and its static constructor. */
const CLASSES = {
  seq2seq: ['Seq2Seq', 'fromSafetensors'],
  masked: ['MaskedLM', 'fromSafetensors'],
  causal: ['CausalLM', 'fromSafetensors'],
  stack: ['Model', 'fromFile'],
};

const cache = new Map(); // "kind-lang" → instance | {error} | Promise

/**
 * The bytes of the shipped file `models/<name>.safetensors`; a failed download throws an error
 * with code file.fetch (errors.js) naming the file and the HTTP status or the network's reason.
 */
export async function fetchModelFile(name) {
  const file = `models/${name}.safetensors`;
  let res;
  try {
    res = await fetch(asset(file));
  } catch (e) {
    throw codedError('file.fetch', { file, status: e.message }, `${file}: ${e.message}`);
  }
  if (!res.ok) {
    const status = `${res.status} ${res.statusText}`.trim();
    throw codedError('file.fetch', { file, status }, `${file}: ${status}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * The shipped model `kind` ('seq2seq' | 'masked' | 'causal' | 'stack') of `lang`, or null while it loads
 * (then `onLoaded()` is called once it is there, or failed: `{error}`, errors.js's errorInfo of
 * why, which app.errorText says in the page's language).
 */
export function shippedModel(kind, lang, onLoaded) {
  const key = `${kind}-${lang}`;
  const m = cache.get(key);
  if (m && !(m instanceof Promise)) return m;
  if (!m) {
    cache.set(key, (async () => {
      try {
        const bytes = await fetchModelFile(key);
        const [cls, from] = CLASSES[kind];
        cache.set(key, engine[cls][from](bytes));
      } catch (e) {
        cache.set(key, { error: errorInfo(e) });
      }
    })().then(() => onLoaded?.()));
  } else {
    m.then(() => onLoaded?.());
  }
  return null;
}

/** Resolves once every model asked for so far has loaded (or failed). */
export async function modelsLoaded() {
  for (const m of [...cache.values()]) if (m instanceof Promise) await m;
}

let untrained = null; // {key, model}: the last untrained stack model asked for

/**
 * The shipped stack model of `lang` before training — the recipe's `deep` model with weights
 * from `seed` — kept while the same one is asked for again (the previous one is freed).
 */
export function untrainedStack(lang, seed = 1) {
  const key = `${lang}-${seed}`;
  if (untrained?.key !== key) {
    untrained?.model.free();
    untrained = null; // (if building the next one throws, no freed model is handed out)
    untrained = { key, model: new engine.Model(deepSpec(lang, seed)) };
  }
  return untrained.model;
}
