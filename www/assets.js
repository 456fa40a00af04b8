// Where the page's files are: the one place that turns a path inside www/ ("models/stack-zh.safetensors",
// "training/worker.js") into a URL. Served from a host, that is the path next to this file, so the
// site works under any sub-path (https://user.github.io/lm-playground/). In an offline lesson file
// (lesson.js writes it) there is no host: its start-up script puts every file in memory
// (globalThis.LM_OFFLINE, see lesson.js) and the paths map to blob: and data: URLs instead.
//
//   new Worker(asset('training/worker.js'), { type: 'module' });
//   await init({ module_or_path: wasmSource() });     // in the page and in a worker
//
// No other module may use `import.meta.url`: in a lesson file it is a data: URL that nothing can
// be resolved against (tests/js/assets.test.mjs checks).

/** The lesson's files, when the page runs from an offline lesson file (else undefined). */
export function offline() {
  return globalThis.LM_OFFLINE;
}

/** True in a worker started from an offline lesson (its modules are data: URLs). */
const OFFLINE_WORKER = import.meta.url.startsWith('data:') && typeof document === 'undefined';

/** The URL of `path` (relative to www/, no leading slash). */
export function asset(path) {
  const lesson = offline();
  if (lesson) {
    const url = lesson.urls[path];
    if (!url) throw new Error(`this lesson file has no ${path}`);
    return url;
  }
  return new URL(path, import.meta.url).href;
}

/** The message a page sends a worker of an offline lesson: `{type, module}` (a WebAssembly.Module). */
export const WASM_MESSAGE = 'lesson-wasm';

let workerModule = null; // in an offline worker: the promise of the module the page sends

if (OFFLINE_WORKER) {
  workerModule = new Promise((resolve) => {
    self.addEventListener('message', function take(e) {
      if (e.data?.type !== WASM_MESSAGE) return;
      self.removeEventListener('message', take);
      resolve(e.data.module);
    });
  });
}

/**
 * What to give wasm-bindgen's `init({module_or_path})`: the module's URL from a host; in an
 * offline lesson the compiled module (a worker waits for the page's WASM_MESSAGE).
 */
export function wasmSource() {
  if (workerModule) return workerModule;
  return offline()?.wasm ?? asset('pkg/lm_playground_bg.wasm');
}

/**
 * Starts a worker from `path`. In an offline lesson it is sent the compiled module first (see
 * wasmSource), so it never fetches.
 */
export function startWorker(path, options) {
  const worker = new Worker(asset(path), options);
  const lesson = offline();
  if (lesson?.wasm) worker.postMessage({ type: WASM_MESSAGE, module: lesson.wasm });
  return worker;
}

/**
 * The address links and embed codes point at: this page's, or for an offline lesson file the
 * page it was downloaded from (when that was on a host).
 */
export function pageAddress() {
  const home = offline()?.home;
  if (home) return home;
  return location.protocol === 'file:' ? location.href.split('#')[0] : location.origin + location.pathname;
}
