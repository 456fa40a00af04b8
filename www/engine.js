// The page's door to the wasm engine: loads it once, and turns an engine crash (a wasm trap,
// which would be a bug) into one clear message instead of a stream of confusing errors.
//
//   import { loadEngine, engine } from './engine.js';
//   await loadEngine();
//   const { weights } = engine.attention(q, k, v, { causal: true });

import init, * as raw from './pkg/lm_playground.js';

let crashed = null;

/** Wraps every exported function (and Model's methods) so a trap marks the engine as crashed. */
function guard(fn, self) {
  return (...args) => {
    if (crashed) throw new Error(crashed);
    try {
      return fn.apply(self, args);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        let detail = e.message;
        try { detail = raw.lastPanic() ?? detail; } catch { /* the module is gone */ }
        crashed = `The engine stopped after an internal error (${detail}). Reload the page to continue; your settings are kept in the link.`;
        throw new Error(crashed);
      }
      throw e;
    }
  };
}

/** Model with guarded methods. */
function guardModel(Model) {
  return new Proxy(Model, {
    construct(target, args) {
      const m = guard((...a) => new target(...a))(...args);
      return wrapInstance(m);
    },
    get(target, prop) {
      const v = target[prop];
      if (prop === 'fromSafetensors') return (...a) => wrapInstance(guard(v, target)(...a));
      return typeof v === 'function' ? guard(v, target) : v;
    },
  });
}

function wrapInstance(m) {
  return new Proxy(m, {
    get(target, prop) {
      const v = target[prop];
      return typeof v === 'function' ? guard(v, target) : v;
    },
  });
}

/** The exported classes. */
const CLASSES = ['Model', 'Seq2Seq', 'MaskedLM'];

/** The guarded API: attention, forward, backward, Model, engineInfo, kernelSelfTest, … */
export const engine = {};

function fill() {
  for (const [name, v] of Object.entries(raw)) {
    if (name === 'default' || name === 'initSync') continue;
    // (a class, Model or Seq2Seq: its constructor, static and instance methods guarded)
    engine[name] = CLASSES.includes(name) ? guardModel(v) : typeof v === 'function' ? guard(v) : v;
  }
}

/** Loads the module in a browser (fetches pkg/lm_playground_bg.wasm next to this file). */
export async function loadEngine(source) {
  await init({ module_or_path: source ?? new URL('./pkg/lm_playground_bg.wasm', import.meta.url) });
  fill();
  return engine;
}

/** Loads the module synchronously from its bytes (Node, workers). */
export function loadEngineSync(bytes) {
  raw.initSync({ module: bytes });
  fill();
  return engine;
}

/** The crash message, or null while the engine is healthy. */
export function engineCrashed() {
  return crashed;
}
