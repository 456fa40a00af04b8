// The page's door to the wasm engine: loads it once, and turns an engine crash (a wasm trap,
// which would be a bug) into one clear message instead of a stream of confusing errors.
//
//   import { loadEngine, engine } from './engine.js';
//   await loadEngine();
//   const { weights } = engine.attention(q, k, v, { causal: true });

import init, * as raw from './pkg/lm_playground.js';
import { wasmSource } from './assets.js';
import { codedError } from './errors.js';

let crashed = null; // the crash: an Error with code engine.crashed (said in the page's language)

/** Wraps every exported function (and each class's methods) so a trap marks the engine as crashed. */
function guard(fn, self) {
  return (...args) => {
    if (crashed) throw crashed;
    try {
      return fn.apply(self, args);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        let detail = e.message;
        try { detail = raw.lastPanic() ?? detail; } catch { /* the module is gone */ }
        crashed = codedError('engine.crashed', { detail }, `The engine stopped after an internal error (${detail}). Reload the page to continue; your settings are kept in the link.`);
        throw crashed;
      }
      throw e;
    }
  };
}

/** A class (Model, Seq2Seq, MaskedLM, CausalLM) with guarded methods; its static constructors' results wrapped too. */
function guardClass(Class) {
  return new Proxy(Class, {
    construct(target, args) {
      const m = guard((...a) => new target(...a))(...args);
      return wrapInstance(m);
    },
    get(target, prop) {
      const v = target[prop];
      if (typeof v !== 'function') return v;
      const g = guard(v, target);
      return (...a) => {
        const r = g(...a);
        return r instanceof target ? wrapInstance(r) : r;
      };
    },
  });
}

/** Is `v` one of the module's classes (wasm-bindgen gives each a `free` method)? */
const isClass = (v) => typeof v === 'function' && typeof v.prototype?.free === 'function';

function wrapInstance(m) {
  return new Proxy(m, {
    get(target, prop) {
      const v = target[prop];
      return typeof v === 'function' ? guard(v, target) : v;
    },
  });
}

/** The guarded API: attention, forward, backward, Model, engineInfo, kernelSelfTest, … */
export const engine = {};

function fill() {
  for (const [name, v] of Object.entries(raw)) {
    if (name === 'default' || name === 'initSync') continue;
    engine[name] = isClass(v) ? guardClass(v) : typeof v === 'function' ? guard(v) : v;
  }
}

/** Loads the module in a browser (pkg/lm_playground_bg.wasm, see assets.js). */
export async function loadEngine(source) {
  await init({ module_or_path: source ?? wasmSource() });
  fill();
  return engine;
}

/** Loads the module synchronously from its bytes (Node, workers). */
export function loadEngineSync(bytes) {
  raw.initSync({ module: bytes });
  fill();
  return engine;
}

/** The crash message (English), or null while the engine is healthy. */
export function engineCrashed() {
  return crashed?.message ?? null;
}

/** The crash as an Error with its code and detail (strings.js errorText says it), or null. */
export function engineCrash() {
  return crashed;
}
