// "Download this lesson": one self-contained .html file that opens from file:// with no server
// and no network — every panel, training in workers included — on the state of the link it was
// made from.
//
// What the file holds (made here, in the page, from the page's own files):
//   <style>            style.css
//   <script type=importmap>   every page module as "lm:<path>" → a data: URL of its source,
//                      with its relative imports rewritten to "lm:<path>" (import maps resolve
//                      those for every module of the document)
//   <script id=lm-lesson type=application/json>   {hash, home, body, workers, binaries}:
//                      each worker as one data: URL whose imports are data: URLs themselves
//                      (a worker has no import map; module workers from blob: URLs are refused
//                      in a file:// page, from data: URLs they run), gzipped in base64 like the
//                      module and the shipped weights
//   <script type=module>   BOOT: unpacks the binaries into blob: URLs, compiles the module
//                      once (workers are sent it: assets.js), sets globalThis.LM_OFFLINE,
//                      puts the link state in the address bar and imports lm:app.js.
// A Content-Security-Policy allows exactly those scripts (by hash), data: modules and
// workers, blob: reads, and nothing on the network.

import { offline } from './assets.js';
import { PANEL_IDS } from './panels/index.js';

/** Worker scripts (paths in www/); a test checks every startWorker/TrainingClient path is here. */
export const WORKERS = ['training/worker.js', 'training/seq2seq-worker.js', 'training/shard-worker.js', 'training/vectors-worker.js', 'glyph-worker.js'];

/** The shipped weights (www/models/): kind-lang for each kind models.js and the panels load. */
export const MODELS = ['seq2seq', 'masked', 'causal', 'stack'].flatMap((k) => ['zh', 'en'].map((l) => `models/${k}-${l}.safetensors`));

const WASM = 'pkg/lm_playground_bg.wasm';

/** The start-up script of a lesson file (see the header). Kept short: it is hashed into the CSP. */
const BOOT = `
const data = JSON.parse(document.getElementById('lm-lesson').textContent);
async function gunzip(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
const urls = {};
for (const p of data.modules) urls[p] = 'lm:' + p;
await Promise.all(Object.entries(data.workers).map(async ([p, gz]) => { urls[p] = new TextDecoder().decode(await gunzip(gz)); }));
let wasm = null;
await Promise.all(Object.entries(data.binaries).map(async ([p, b]) => {
  const bytes = await gunzip(b.gz);
  if (p.endsWith('.wasm')) wasm = await WebAssembly.compile(bytes);
  urls[p] = URL.createObjectURL(new Blob([bytes], { type: b.type }));
}));
globalThis.LM_OFFLINE = { urls, wasm, home: data.home, data };
if (!location.hash && data.hash) history.replaceState(null, '', data.hash);
await import('lm:app.js');
`;

/** The relative module specifiers of `src`: static imports, re-exports, and import() of a literal. */
const IMPORT_RE = /(\bfrom\s*|\bimport\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\2/g;

/** `spec` (./x.js, ../y.js) imported by the module at `from` (a path in www/), as a path in www/. */
export function resolvePath(from, spec) {
  const parts = from.split('/').slice(0, -1);
  for (const p of spec.split('/')) {
    if (p === '..') parts.pop();
    else if (p !== '.') parts.push(p);
  }
  return parts.join('/');
}

/** `src` with each relative import replaced by `map(pathInWww)`. */
export function rewriteImports(src, from, map) {
  return src.replace(IMPORT_RE, (_, kw, q, spec) => `${kw}${q}${map(resolvePath(from, spec))}${q}`);
}

/** The paths `src` (at `from`) imports (not counting those in comments). */
function importsOf(src, from) {
  const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...code.matchAll(IMPORT_RE)].map((m) => resolvePath(from, m[3]));
}

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

const utf8 = (text) => new TextEncoder().encode(text);
const jsUrl = (src) => `data:text/javascript;base64,${base64(utf8(src))}`;

async function gzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function sha256(text) {
  const d = await crypto.subtle.digest('SHA-256', utf8(text));
  return `'sha256-${base64(new Uint8Array(d))}'`;
}

/** JSON safe inside a <script> element. */
const scriptJson = (v) => JSON.stringify(v).replace(/</g, '\\u003c');

/**
 * The parts a lesson is made of, from the host (fetched) — or, inside a lesson file, taken from
 * the file itself, so that a lesson can be saved again on another state.
 */
async function parts() {
  const lesson = offline();
  if (lesson) {
    return {
      css: document.querySelector('head style').textContent,
      importmap: document.querySelector('script[type=importmap]').textContent,
      data: lesson.data,
    };
  }
  const text = async (path) => {
    const res = await fetch(new URL(path, document.baseURI));
    if (!res.ok) throw new Error(`${path}: ${res.status} ${res.statusText}`);
    return res.text();
  };
  // Every module the page and its workers reach, by following relative imports.
  const sources = new Map();
  const visit = async (path) => {
    if (sources.has(path)) return;
    sources.set(path, null);
    const src = await text(path);
    sources.set(path, src);
    await Promise.all(importsOf(src, path).map(visit));
  };
  await Promise.all(['app.js', ...PANEL_IDS.map((id) => `panels/${id}.js`), ...WORKERS].map(visit));
  const pageModules = new Set();
  const mark = (p) => {
    if (pageModules.has(p)) return;
    pageModules.add(p);
    importsOf(sources.get(p), p).forEach(mark);
  };
  ['app.js', ...PANEL_IDS.map((id) => `panels/${id}.js`)].forEach(mark);
  const imports = {};
  for (const p of pageModules) imports[`lm:${p}`] = jsUrl(rewriteImports(sources.get(p), p, (d) => `lm:${d}`));
  // A worker's modules: data: URLs all the way down (depth 2 here, so the nesting stays small).
  const workerUrl = (p) => jsUrl(rewriteImports(sources.get(p), p, workerUrl));
  const workers = Object.fromEntries(await Promise.all(WORKERS.map(async (p) => [p, base64(await gzip(utf8(workerUrl(p))))])));
  const binaries = {};
  await Promise.all([WASM, ...MODELS].map(async (p) => {
    const res = await fetch(new URL(p, document.baseURI));
    if (!res.ok) throw new Error(`${p}: ${res.status} ${res.statusText}`);
    const type = p.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
    binaries[p] = { type, gz: base64(await gzip(new Uint8Array(await res.arrayBuffer()))) };
  }));
  const index = await text('index.html');
  const body = index.slice(index.indexOf('>', index.indexOf('<body')) + 1, index.lastIndexOf('</body>'));
  return {
    css: await text('style.css'),
    importmap: JSON.stringify({ imports }),
    data: { modules: [...pageModules], workers, binaries, body },
  };
}

/**
 * The lesson file's HTML for the page's current link `hash` (e.g. "#panel=learn&train=400"),
 * in language `lang`.
 */
export async function lessonHtml({ hash, lang, title }) {
  const { css, importmap, data } = await parts();
  const home = /^https?:$/.test(location.protocol) ? location.origin + location.pathname : offline()?.home ?? null;
  const json = scriptJson({ ...data, hash, home, made: new Date().toISOString() });
  const csp = [
    "default-src 'none'",
    `script-src ${await sha256(importmap)} ${await sha256(BOOT)} data: 'wasm-unsafe-eval'`,
    'worker-src data:',
    `style-src ${await sha256(css)}`,
    'img-src data: blob:',
    'connect-src blob: data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${title.replace(/[<&"]/g, (c) => `&#${c.charCodeAt(0)};`)}</title>
<link rel="icon" href="data:,">
<style>${css}</style>
<script type="importmap">${importmap}</script>
<script type="application/json" id="lm-lesson">${json}</script>
<script type="module">${BOOT}</script>
</head>
<body>${data.body}</body>
</html>
`;
}

/** Makes the lesson file and hands it to the browser as a download; returns its size in bytes. */
export async function downloadLesson({ hash, lang, title, filename }) {
  const html = await lessonHtml({ hash, lang, title });
  const blob = new Blob([html], { type: 'text/html' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  return blob.size;
}
