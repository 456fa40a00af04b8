// The trained models the page ships (www/models/<kind>-<lang>.safetensors, written by
// `cargo xtask pretrain`), fetched the first time a panel needs one and kept: one instance per
// file, shared by the panels. Each file is self-describing (its config and vocabulary are in
// its metadata), so `<Class>.fromSafetensors(bytes)` is all it takes — or, for the decoder-only
// model trained on running text (`stack`, the learning panel's `deep` size), `Model.fromFile(bytes)`.
//
//   const m = shippedModel('seq2seq', 'zh', onLoaded);   // the model, or null while it loads
//   if (m?.error) …                                      // it could not be loaded: m.error says why

import { engine } from './engine.js';
import { asset } from './assets.js';
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
 * The shipped model `kind` ('seq2seq' | 'masked' | 'causal' | 'stack') of `lang`, or null while it loads
 * (then `onLoaded()` is called once it is there, or failed: `{error}` with a message).
 */
export function shippedModel(kind, lang, onLoaded) {
  const key = `${kind}-${lang}`;
  const m = cache.get(key);
  if (m && !(m instanceof Promise)) return m;
  if (!m) {
    cache.set(key, (async () => {
      try {
        const bytes = await modelBytes(key);
        const [cls, from] = CLASSES[kind];
        cache.set(key, engine[cls][from](bytes));
      } catch (e) {
        cache.set(key, { error: e.message });
      }
    })().then(() => onLoaded?.()));
  } else {
    m.then(() => onLoaded?.());
  }
  return null;
}

/** The bytes of the shipped file `models/<key>.safetensors` (key: "stack-zh", …); throws naming it. */
export async function modelBytes(key) {
  const path = `models/${key}.safetensors`;
  const res = await fetch(asset(path));
  if (!res.ok) throw new Error(`${path}: ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
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
