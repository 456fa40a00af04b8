// A seeded fuzzer for the JS API of the wasm module (www/pkg/lm_playground.js).
//
// The contract it checks (README, "The JS API"): bad input throws an `Error` naming the
// problem — never a wasm trap (WebAssembly.RuntimeError), never a panic (`lastPanic()` stays
// null), never a hang — and after an error the function (and the same Model object) still
// works, and wasm memory stays bounded.
//
// How it works. Call number i of a run with seed S is a pure function of (S, i): a function of
// the API, one of its valid templates (built from the usage in api.test.mjs and the PyTorch
// fixtures), and 0–3 mutations of its arguments (wrong types, bad numbers, shapes that do not
// match the data, detached arrays, Proxies, throwing getters and iterators, getters whose value
// changes between reads, unknown argument names, use after free, re-entrant calls …). Each
// mutation says whether the contract requires the call to throw ("reject") or leaves it open
// ("any"). The calls run in a worker thread, so that a hang can be stopped and a trapped module
// replaced: after a trap, a panic, a hang or memory over the cap, a fresh worker (a fresh
// module) continues with call i + 1.
//
// For every call the worker checks (failure kinds in brackets): no RuntimeError [trap], a
// thrown value is an Error [non-error], lastPanic() null [panic], duration < 2 s [slow; over
// hangMs the worker is stopped: hang], a call the contract says must throw does throw
// [accepted], an unknown argument name is named in the message with "unknown argument"
// [message], a getter that changes between reads is read once [reread], after an error (or a
// re-entrant getter) a known-good call of the same function works, on the same Model object
// [unusable], a valid call works [valid-rejected], wasm memory stays under the cap [memory],
// and a call that throws did not grow the memory by more than 64 MiB first [grew] (lengths
// and work sizes are checked before anything is copied or allocated).
//
// Every failure comes with a reproducer: a line of JavaScript that uses the helpers exported
// here (Z, T, makeModel, fakeCanvas, …; see `loadForRepro`), and `replay({seed, index})`.
//
//   import { runFuzz, formatReport } from './fuzz.mjs';
//   const report = await runFuzz({ seed: 1, calls: 2000 });
//   console.log(formatReport(report));
//
// From the command line (what `cargo xtask fuzz` runs):
//   node tests/js/fuzz.mjs --calls 20000 --seed 7 [--cap-mb 512] [--limit-ms 2000] [--json]
//   node tests/js/fuzz.mjs --seed 7 --replay 1234 [--only 0]   (one call of a run, fresh module)
//   node tests/js/fuzz.mjs --eval 'attention(Z([65536, 1]), Z([65536, 1]), Z([65536, 1]), {})'

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The module under test (override with runFuzz({pkg}) or --pkg). */
export const DEFAULT_PKG = ROOT + 'www/pkg/lm_playground.js';
const MiB = 1 << 20;
/** Default cap on wasm memory (why 512 MiB: see runFuzz). */
export const DEFAULT_CAP_BYTES = 512 * MiB;
/** The contract's time bound for one call. */
export const CALL_LIMIT_MS = 2000;
/** A call that erred may not grow wasm memory by more than this. */
export const ERROR_GROWTH_BYTES = 64 * MiB;
const U32 = 2 ** 32 - 1;

// ---------------------------------------------------------------------------------------------
// A small deterministic PRNG (mulberry32) and a hash to derive one stream per call.

/** Mixes 32-bit integers into one (FNV-1a style, with a final avalanche). */
export function hash32(...xs) {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h >>> 0;
}

/** mulberry32: 32-bit state, period 2^32, good enough to pick test inputs. */
export class Rng {
  constructor(seed) { this.s = seed >>> 0; }
  next() {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n) { return Math.floor(this.next() * n); }
  pick(a) { return a[this.int(a.length)]; }
  chance(p) { return this.next() < p; }
  /** Picks from [[weight, value], …]. */
  weighted(items) {
    let total = 0;
    for (const [w] of items) total += w;
    let x = this.next() * total;
    for (const [w, v] of items) if ((x -= w) < 0) return v;
    return items[items.length - 1][1];
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers the reproducers use. `bindModule(lm)` must have been called (loadForRepro does it).

let LM = null;
let FIX = null;
/** Binds the helpers below to a loaded module namespace. */
export function bindModule(lm) { LM = lm; }

const prod = (s) => s.reduce((a, b) => a * b, 1);
/** A zero tensor of `shape`. */
export const Z = (shape) => ({ shape, data: new Float32Array(prod(shape)) });
/** A tensor whose data holds `n` zeros whatever the shape says. */
export const T = (shape, n) => ({ shape, data: new Float32Array(n) });
/** A mask (Uint8Array) of zeros (nothing blocked). */
export const Zm = (shape) => ({ shape, data: new Uint8Array(prod(shape)) });
/** A tensor with small varied values (sin), so softmax and layer norm see non-constant input. */
export const R = (shape) => ({ shape, data: Float32Array.from({ length: prod(shape) }, (_, i) => Math.sin(i + 1) * 0.5) });
/** A Float32Array (or other typed array) whose buffer has been transferred away (length 0). */
export function detached(n, Type = Float32Array) {
  const a = new Type(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}
/** `arr` with an iterator that throws (Array.from, spread and for…of fail; indexing works). */
export function throwingIter(arr) {
  Object.defineProperty(arr, Symbol.iterator, { value() { throw new Error('fuzz: iterator throws'); } });
  return arr;
}
/**
 * An object whose property `key` returns `first` on the first read and `later` afterwards.
 * `counter` (optional, an array) receives `{ what: key, count() }`.
 */
export function flip(obj, key, first, later, counter) {
  let reads = 0;
  Object.defineProperty(obj, key, { enumerable: true, configurable: true, get: () => (reads++ === 0 ? first : later) });
  counter?.push({ what: key, count: () => reads });
  return obj;
}
/** `obj` without `key`. */
export function omit(obj, key) {
  const o = { ...obj };
  delete o[key];
  return o;
}
/** `obj` with property `key` turned into a getter calling `get` (with `this` = obj). */
export function withGetter(obj, key, get) {
  Object.defineProperty(obj, key, { enumerable: true, configurable: true, get });
  return obj;
}
/** Detaches a typed array (transfers its buffer away); returns it. */
export function detach(a) {
  if (a?.buffer && !(a.buffer instanceof SharedArrayBuffer)) structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}
/** `arr` (an array) whose `length` claims to be `len`, through a Proxy. */
export const lyingLength = (arr, len) => new Proxy(arr, { get: (t, k) => (k === 'length' ? len : t[k]) });
/** A Uint8Array/Float32Array over a SharedArrayBuffer. */
export const shared = (n, Type = Float32Array) => new Type(new SharedArrayBuffer(n * Type.BYTES_PER_ELEMENT));

function fixtures() {
  if (!FIX) {
    const read = (n) => JSON.parse(readFileSync(ROOT + 'tests/fixtures/' + n, 'utf8'));
    const ops = read('torch_ops.json').cases;
    const adam = read('torch_optim.json').cases.find((c) => c.name === 'adam');
    const model = (n) => new Uint8Array(readFileSync(ROOT + `www/models/${n}.safetensors`));
    FIX = { ops, adam, bytes: new Uint8Array(readFileSync(ROOT + 'tests/fixtures/decoder_only.safetensors')), zh: model('seq2seq-zh'), masked: model('masked-zh'), causal: model('causal-zh'), stack: model('stack-zh') };
  }
  return FIX;
}
const F32 = (t) => ({ shape: [...t.shape], data: Float32Array.from(t.data) });
const U8 = (t) => ({ shape: [...t.shape], data: Uint8Array.from(t.data.map((b) => (b ? 1 : 0))) });

/**
 * The arguments of `forward` for a PyTorch fixture case, with the contract's option names
 * (masks as `attnMask`, `keyPaddingMask`, `memoryKeyPaddingMask`; the float bias `attn_bias` as
 * `attnBias`; `heads`, `activation`, `normFirst`, `causal`, `approximate`). For `backward`, add
 * `opUpstream(name)`.
 */
export function opArgs(name) {
  const c = fixtures().ops.find((x) => x.name === name);
  if (!c) throw new Error(`no fixture case ${name}`);
  const a = {};
  for (const [k, v] of Object.entries(c.inputs)) a[k === 'attn_bias' ? 'attnBias' : k] = F32(v);
  for (const [k, v] of Object.entries(c.params)) a[k] = F32(v);
  const layer = () => ({ heads: c.config.n_heads ?? c.config.heads, activation: c.config.activation, normFirst: c.config.norm_first });
  const causal = c.config.causal || c.name === 'attention_causal' ? { causal: true } : {};
  const kpm = c.key_padding_mask ? { keyPaddingMask: U8(c.key_padding_mask) } : {};
  switch (c.kind) {
    case 'embedding': return { ...a, ids: { shape: [c.ids.length], data: Float32Array.from(c.ids) } };
    case 'gelu': return c.config.approximate ? { ...a, approximate: c.config.approximate } : a;
    case 'attention': return { ...a, ...causal, ...kpm };
    case 'mha_self': { const { x, ...rest } = a; return { ...rest, query: x, heads: 2, ...causal, ...(c.attn_mask ? { attnMask: U8(c.attn_mask) } : {}) }; }
    case 'mha_cross': return { ...a, heads: 2, ...kpm };
    case 'ffn': return { ...a, activation: c.config.activation };
    case 'encoder_layer': return { ...a, ...layer(), attnMask: U8(c.attn_mask), keyPaddingMask: U8(c.key_padding_mask) };
    case 'decoder_layer': return { ...a, ...layer(), causal: true, memoryKeyPaddingMask: U8(c.memory_key_padding_mask) };
    case 'cross_entropy': return { logits: a.logits, targets: { shape: [c.targets.length], data: Float32Array.from(c.targets) } };
    default: return a;
  }
}
const OP_OF = { mha_self: 'mha', mha_cross: 'mha' };
/** The op name of a fixture case. */
export const opOf = (name) => { const k = fixtures().ops.find((x) => x.name === name).kind; return OP_OF[k] ?? k; };
/** The upstream gradient argument of `backward` for a fixture case: `{dy}`, `{dout}` or `{}`. */
export function opUpstream(name) {
  const c = fixtures().ops.find((x) => x.name === name);
  if (c.kind === 'cross_entropy') return {};
  return { [['attention', 'mha_self', 'mha_cross'].includes(c.kind) ? 'dout' : 'dy']: F32(c.upstream) };
}

const CORPUS = '今天天气真好，适合去散步。明天下雨，在家看书。'.repeat(4);
/** The model specs the fuzzer uses: a small one on a corpus, PyTorch's fixture, a wide one. */
export const SPECS = {
  small: { corpus: CORPUS, seed: 1, dModel: 8, nHeads: 2, nLayers: 1, maxLen: 8, seqLen: 6, batchSize: 2, optimizer: { kind: 'adam', lr: 0.01 } },
  fixture: { vocabSize: 9, dModel: 8, nHeads: 2, nLayers: 2, dFf: 12, maxLen: 6, activation: 'gelu', normFirst: true, optimizer: { kind: 'adam', lr: 0.01, weightDecay: 0.01 } },
  wide: { vocabSize: 65536, dModel: 1, nHeads: 1, nLayers: 0, maxLen: 2, dFf: 1 },
};
const specCopy = (k) => structuredClone(SPECS[k]);
/** The safetensors file PyTorch wrote for SPECS.fixture. */
export const fixtureBytes = () => fixtures().bytes.slice();
/** A few situation → advice pairs (TSV), as the shipped encoder–decoder was trained on. */
export const PAIRS = '小明今天感冒了\t他应该多喝水\n小红饿了\t她应该吃点东西\n我累了\t我应该多休息\n';
/** The Seq2Seq spec the fuzzer uses: a tiny model on PAIRS. */
export const S2S_SPEC = { pairs: PAIRS, seed: 1, dModel: 8, nHeads: 2, dFf: 16, nEncoderLayers: 1, nDecoderLayers: 1, maxLen: 10, batchSize: 3 };
/** The shipped Chinese encoder–decoder (www/models/seq2seq-zh.safetensors). */
export const zhBytes = () => fixtures().zh.slice();
/** The MaskedLM and CausalLM spec the fuzzer uses: a tiny one-stack model on PAIRS. */
export const LM_SPEC = { pairs: PAIRS, seed: 1, dModel: 8, nHeads: 2, dFf: 16, nLayers: 1, maxLen: 12, batchSize: 3 };
/** The shipped Chinese encoder-only and decoder-only models (www/models/{masked,causal}-zh.safetensors). */
export const maskedBytes = () => fixtures().masked.slice();
export const causalBytes = () => fixtures().causal.slice();
/** The shipped decoder-only model on running text (www/models/stack-zh.safetensors). */
export const stackBytes = () => fixtures().stack.slice();
/**
 * The slots of the classes trained on pairs: a fresh tiny model ('s2s', 'mlm', 'clm') and the
 * shipped Chinese one trainable on PAIRS ('zh', 'mzh', 'czh'), by class.
 */
const PAIR_SLOTS = {
  s2s: ['Seq2Seq', () => new LM.Seq2Seq(structuredClone(S2S_SPEC))],
  zh: ['Seq2Seq', () => LM.Seq2Seq.fromSafetensors(zhBytes(), { pairs: PAIRS })],
  mlm: ['MaskedLM', () => new LM.MaskedLM(structuredClone(LM_SPEC))],
  mzh: ['MaskedLM', () => LM.MaskedLM.fromSafetensors(maskedBytes(), { pairs: PAIRS })],
  clm: ['CausalLM', () => new LM.CausalLM(structuredClone(LM_SPEC))],
  czh: ['CausalLM', () => LM.CausalLM.fromSafetensors(causalBytes(), { pairs: PAIRS })],
};
/** The model classes. */
export const CLASSES = ['Model', 'Seq2Seq', 'MaskedLM', 'CausalLM'];
/** The class of the model in `slot`. */
export const classOf = (slot) => PAIR_SLOTS[slot]?.[0] ?? 'Model';
/**
 * A fresh model: 'small' (trains on a corpus), 'fixture' (PyTorch's weights) or 'wide'; a
 * Seq2Seq: 's2s' or 'zh'; a MaskedLM: 'mlm' or 'mzh'; a CausalLM: 'clm' or 'czh'.
 */
export function makeModel(kind = 'small') {
  if (kind === 'fixture') return LM.Model.fromSafetensors(specCopy('fixture'), fixtureBytes());
  if (PAIR_SLOTS[kind]) return PAIR_SLOTS[kind][1]();
  return new LM.Model(specCopy(kind));
}
const WEIGHTS = {};
/** The flat weights of a model made by makeModel(kind) (a valid setWeightsFlat argument). */
export function weightsOf(kind) {
  if (!WEIGHTS[kind]) {
    const m = makeModel(kind);
    WEIGHTS[kind] = m.weightsFlat();
    m.free();
  }
  return WEIGHTS[kind].slice();
}
/** A valid batch for a model made by makeModel(kind). */
export function goodBatch(kind = 'small') {
  if (kind === 'fixture') { const o = fixtures().adam; return { ids: F32(o.ids), targets: F32(o.targets) }; }
  return kind === 'wide' ? { ids: Z([1, 2]), targets: Z([1, 2]) } : { ids: Z([2, 6]), targets: Z([2, 6]) };
}

/**
 * Installs just enough of a DOM for plotters in Node: a 2d context class the module checks with
 * `instanceof CanvasRenderingContext2D` (every drawing call is a counted no-op), and `window` /
 * `document` / `HTMLElement` for plotters' text measurement. Does nothing in a browser.
 */
export function installDomStub() {
  if (globalThis.CanvasRenderingContext2D) return;
  class Element {
    constructor() { this.attributes = {}; this._text = ''; }
    setAttribute(k, v) { this.attributes[k] = String(v); }
    set textContent(t) { this._text = t == null ? '' : String(t); }
    get textContent() { return this._text; }
    append() {}
    appendChild(c) { return c; }
    remove() {}
  }
  class HTMLElement extends Element {
    get offsetWidth() { return Math.ceil(this._text.length * 7); }
    get offsetHeight() { return 14; }
  }
  class HTMLCanvasElement extends HTMLElement {
    constructor(width, height) { super(); this.width = width; this.height = height; this.ctx = new CanvasRenderingContext2D(); }
    getContext(kind) { return kind === '2d' ? this.ctx : null; }
  }
  class CanvasRenderingContext2D { constructor() { this.ops = 0; } }
  for (const name of ['arc', 'beginPath', 'closePath', 'fill', 'fillRect', 'fillText', 'lineTo', 'moveTo', 'restore',
    'rotate', 'save', 'stroke', 'strokeRect', 'translate', 'clearRect', 'setLineDash', 'rect', 'clip', 'putImageData']) {
    CanvasRenderingContext2D.prototype[name] = function () { this.ops++; };
  }
  CanvasRenderingContext2D.prototype.measureText = function (t) { this.ops++; return { width: String(t).length * 7 }; };
  class Window { static [Symbol.hasInstance](x) { return x === globalThis; } }
  class ImageData { constructor(data, width, height) { Object.assign(this, { data, width, height }); } }
  Object.assign(globalThis, {
    Element, HTMLElement, HTMLCanvasElement, CanvasRenderingContext2D, ImageData, Window, window: globalThis,
    document: { body: new HTMLElement(), createElement: () => new HTMLElement() },
  });
}
/** A canvas for Node (needs installDomStub): `ctx.ops` counts the drawing calls. */
export function fakeCanvas(width = 320, height = 200) {
  installDomStub();
  return new globalThis.HTMLCanvasElement(width, height);
}

/**
 * Loads the module for pasting reproducers into a script:
 *   const h = await loadForRepro(); const { lm, Z, makeModel } = h;
 *   h.lm.attention(Z([65536, 1]), Z([65536, 1]), Z([65536, 1]), {});
 */
export async function loadForRepro(pkg = DEFAULT_PKG) {
  const lm = await import(pathToFileURL(pkg).href);
  const wasm = lm.initSync({ module: readFileSync(pkg.replace(/\.js$/, '_bg.wasm')) });
  installDomStub();
  bindModule(lm);
  return { lm, wasm, ...HELPERS, Model: lm.Model };
}

// ---------------------------------------------------------------------------------------------
// Argument descriptions. A node describes one argument: `src` (for the reproducer) and
// `make(ctx)` (a fresh value; ctx.m is the model the call is made on). Typed nodes also say
// what they stand for, which decides the expectation of a mutation:
//   str, num, int (lo, hi), bool, tensor / mask (shape), obj (entries), canvas, bytes,
//   f32s (a Float32Array argument), strs (an array of strings), pairs (TSV text or a list of
//   [source, target]).
// `opt`: may be null/undefined. `pos`: positional (not inside an options object).

const numSrc = (v) => (Object.is(v, -0) ? '-0' : typeof v === 'bigint' ? `${v}n` : String(v));
const Q = (s) => JSON.stringify(s);
const node = (type, src, make, o = {}) => ({ type, src, make, ...o });
const str = (v, o = {}) => node('str', Q(v), () => v, o);
const num = (v, o = {}) => node('num', numSrc(v), () => v, o);
const int = (v, lo, hi, o = {}) => node('int', numSrc(v), () => v, { lo, hi, ...o });
const bool = (v, o = {}) => node('bool', String(v), () => v, o);
const tensorNode = (shape, src, make, o = {}) => node('tensor', src, make, { shape, ...o });
const zt = (shape, o = {}) => tensorNode(shape, `Z(${Q(shape)})`, () => Z(shape), o);
const rt = (shape, o = {}) => tensorNode(shape, `R(${Q(shape)})`, () => R(shape), o);
const maskNode = (shape, src, make, o = {}) => node('mask', src, make, { shape, opt: true, ...o });
const zm = (shape) => maskNode(shape, `Zm(${Q(shape)})`, () => Zm(shape));
const canvasNode = () => node('canvas', 'fakeCanvas()', () => fakeCanvas());
const f32s = (vals) => node('f32s', `Float32Array.of(${vals.join(', ')})`, () => Float32Array.from(vals));
const strs = (vals) => node('strs', Q(vals), () => [...vals]);
const raw = (src, make, o = {}) => node('raw', src, make, o);

/** An options/arguments object. `base`: its printed name when unchanged (e.g. opArgs('linear')). */
function obj(entries, o = {}) {
  // Inside an options object everything but a tensor is optional unless it says otherwise.
  for (const c of Object.values(entries)) if (c.opt === undefined && c.type !== 'tensor') c.opt = true;
  return { type: 'obj', entries: Object.entries(entries), changed: new Set(), removed: new Set(), opt: false, wrong: [], ...o };
}
const isIdent = (k) => /^[A-Za-z_$][\w$]*$/.test(k);
const keySrc = (k) => (isIdent(k) ? k : Q(k));

/** The reproducer text of a node (inside an object literal at `key` for getters). */
function srcOf(n) {
  if (n.type !== 'obj') return n.src;
  const show = ([k, c]) => `${keySrc(k)}: ${srcOf(c)}`;
  const plain = n.entries.filter(([, c]) => !c.getter);
  const changed = plain.filter(([k]) => n.changed.has(k));
  const getters = n.entries.filter(([, c]) => c.getter);
  let s;
  const spread = n.base?.startsWith('{ ...') ? n.base.slice(2, -2) : `...${n.base}`;
  if (n.base) s = changed.length ? `{ ${spread}, ${changed.map(show).join(', ')} }` : getters.length ? `{ ${spread} }` : n.base;
  else s = plain.length ? `{ ${plain.map(show).join(', ')} }` : '{}';
  for (const k of n.removed) s = `omit(${s}, ${Q(k)})`;
  for (const [k, c] of getters) s = c.wrapSrc(s, Q(k));
  return s;
}
function makeOf(n, ctx) {
  if (n.type !== 'obj') return n.make(ctx);
  const o = {};
  for (const [k, c] of n.entries) {
    if (c.getter) c.install(o, k, ctx);
    else o[k] = makeOf(c, ctx);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Templates: valid calls of every export.

function opTemplate(caseName, dir) {
  const args = opArgs(caseName);
  if (dir === 'backward') Object.assign(args, opUpstream(caseName));
  const entries = {};
  const base = dir === 'backward' ? `{ ...opArgs(${Q(caseName)}), ...opUpstream(${Q(caseName)}) }` : `opArgs(${Q(caseName)})`;
  for (const [k, v] of Object.entries(args)) {
    const ref = `opArgs(${Q(caseName)})[${Q(k)}]`;
    if (v && v.data instanceof Uint8Array) entries[k] = maskNode(v.shape, ref, () => ({ shape: [...v.shape], data: v.data.slice() }));
    else if (v && v.data) {
      const up = dir === 'backward' && (k === 'dy' || k === 'dout');
      const r = up ? `opUpstream(${Q(caseName)})[${Q(k)}]` : ref;
      entries[k] = tensorNode(v.shape, r, () => ({ shape: [...v.shape], data: v.data.slice() }), { opt: (k === 'bias' && caseName === 'linear') || k === 'attnBias' });
    } else if (typeof v === 'boolean') entries[k] = bool(v, { opt: true });
    else if (k === 'heads') entries[k] = int(v, 1, 4096, { opt: true });
    else entries[k] = str(v, { opt: true });
  }
  const op = opOf(caseName);
  return { args: [str(op), obj(entries, { base, wrong: opWrongNames(op, dir) })] };
}

/** Names an op does not take (plausible mistakes), for the unknown-argument mutation. */
function opWrongNames(op, dir) {
  const known = {
    linear: ['x', 'weight', 'bias'], embedding: ['weight', 'ids'], layer_norm: ['x', 'weight', 'bias', 'eps'],
    relu: ['x'], gelu: ['x', 'approximate'], softmax: ['x'], attention: ['q', 'k', 'v', 'causal', 'attnMask', 'keyPaddingMask', 'attnBias', 'scale', 'mask'],
    mha: ['query', 'key', 'value', 'heads', 'causal', 'attnMask', 'keyPaddingMask', 'attnBias'],
    ffn: ['x', 'activation', 'heads', 'normFirst', 'eps'],
    encoder_layer: ['x', 'heads', 'activation', 'normFirst', 'eps', 'causal', 'attnMask', 'keyPaddingMask'],
    decoder_layer: ['x', 'memory', 'heads', 'activation', 'normFirst', 'eps', 'causal', 'memoryKeyPaddingMask'],
    cross_entropy: ['logits', 'targets', 'ignoreIndex', 'dloss'],
  }[op];
  const cands = ['foo', 'nHeads', 'n_heads', 'ignore_index', 'd_model', 'attn_mask', 'key_padding_mask', 'attn_bias', 'heads', 'causal', 'eps', 'bias', 'activation', 'approximate', 'attnBias', 'Weight', 'norm_first'];
  if (dir === 'forward') cands.push('dloss');
  return cands.filter((c) => !known.includes(c));
}

const small = 'small';
/** Every export: how to call it ('fn' | 'new' | 'static' | 'model' | 'prop'), its templates. */
const API = {
  attention: {
    recv: 'fn', w: 6,
    templates: [
      () => ({ args: [...['q', 'k', 'v'].map((k) => fxTensor('attention', k)), obj({}, { opt: true, wrong: ATT_WRONG })] }),
      () => ({ args: [...['q', 'k', 'v'].map((k) => fxTensor('attention_causal', k)), obj({ causal: bool(true, { opt: true }) }, { opt: true, wrong: ATT_WRONG })] }),
      () => ({ args: [rt([3, 4]), rt([5, 4]), rt([5, 2]), obj({ attnMask: zm([3, 5]), keyPaddingMask: zm([5]), scale: num(0.5, { opt: true }) }, { opt: true, wrong: ATT_WRONG })] }),
      () => ({ args: [rt([3, 4]), rt([5, 4]), rt([5, 2]), obj({ attnBias: rt([3, 5], { opt: true }), causal: bool(false, { opt: true }), keyPaddingMask: zm([5]) }, { opt: true, wrong: ATT_WRONG })] }),
    ],
    stress: [
      // 65536 queries × 65536 keys: 16 GiB of scores from 768 KiB of input.
      () => ({ args: [zt([65536, 1]), zt([65536, 1]), zt([65536, 1]), obj({}, { opt: true })], expect: 'reject' }),
      () => ({ args: [zt([1, 1]), zt([1 << 22, 1]), zt([1 << 22, 1]), obj({}, { opt: true })], expect: 'any' }),
    ],
  },
  forward: { recv: 'fn', w: 14, templates: [], stress: [] },
  backward: { recv: 'fn', w: 8, templates: [], stress: [] },
  'new Model': {
    recv: 'new', w: 4,
    templates: [
      () => ({ args: [specNode('small')] }),
      () => ({ args: [specNode('fixture')] }),
      () => ({ args: [obj({ corpus: str('abc abd abe'), tokenizer: str('char', { opt: true }), dModel: int(4, 1, 16384, { opt: true }), nHeads: int(1, 1, 4096, { opt: true }), nLayers: int(1, 0, 48, { opt: true }), maxLen: int(4, 2, 4096, { opt: true }), activation: str('relu', { opt: true }), normFirst: bool(false, { opt: true }), clip: num(1, { opt: true }), heldout: num(0.2, { opt: true }), optimizer: obj({ kind: str('sgd', { opt: true }), lr: num(0.1, { opt: true }), momentum: num(0.9, { opt: true }), nesterov: bool(true, { opt: true }) }, { opt: true, wrong: ['learningRate', 'learning_rate', 'weight_decay', 'betas'] }) }, { opt: true, wrong: MODEL_WRONG })] }),
      () => ({ args: [obj({ corpus: str('abc abd abe'), tokenizer: str('char', { opt: true }), dModel: int(4, 1, 16384, { opt: true }), nHeads: int(2, 1, 4096, { opt: true }), nLayers: int(1, 0, 48, { opt: true }), maxLen: int(4, 2, 4096, { opt: true }), activation: str('gelu_tanh', { opt: true }) }, { opt: true, wrong: MODEL_WRONG })] }),
    ],
    stress: [
      () => ({ args: [specNode('wide')], expect: 'any' }),
      () => ({ args: [obj({ vocabSize: int(10, 1, 65536), maxLen: int(4096, 2, 4096), seqLen: int(4096, 1, 4096), batchSize: int(4096, 1, 4096) })], expect: 'reject' }),
      () => ({ args: [obj({ vocabSize: int(65536, 1, 65536), dModel: int(16384, 1, 16384), nHeads: int(1, 1, 4096), nLayers: int(48, 0, 48) })], expect: 'reject' }),
      () => ({ args: [obj({ corpus: raw(`'今天天气真好'.repeat(100000)`, () => '今天天气真好'.repeat(100000)), dModel: int(8, 1, 16384), nHeads: int(2, 1, 4096), nLayers: int(1, 0, 48), maxLen: int(8, 2, 4096) })], expect: 'any' }),
    ],
  },
  'Model.fromSafetensors': {
    recv: 'static', method: 'fromSafetensors', w: 2,
    templates: [() => ({ args: [specNode('fixture'), bytesNode('fixtureBytes()', () => fixtureBytes())] })],
  },
  'Model.fromFile': {
    recv: 'static', method: 'fromFile', w: 1,
    templates: [() => ({ args: [bytesNode('stackBytes()', () => stackBytes())] })],
  },
  trainStep: {
    recv: 'model', w: 6,
    templates: [
      () => ({ slot: small, args: [batchNode(small)] }),
      () => ({ slot: 'fixture', args: [batchNode('fixture')] }),
    ],
    stress: [
      () => ({ slot: small, args: [obj({ ids: zt([1 << 20, 1]), targets: zt([1 << 20, 1]) })], expect: 'reject' }),
      () => ({ slot: 'wide', args: [obj({ ids: zt([32768, 2]), targets: zt([32768, 2]) })], expect: 'reject' }),
    ],
  },
  train: {
    recv: 'model', w: 4,
    templates: [() => ({ slot: small, args: [int(1, 0, 100000, { pos: true })] })],
    stress: [() => ({ slot: small, args: [int(100000, 0, 100000, { pos: true })], expect: 'any' })],
  },
  evalLoss: { recv: 'model', w: 1, templates: [() => ({ slot: small, args: [] })] },
  predictNext: {
    recv: 'model', w: 3,
    templates: [() => ({ slot: small, args: [str('今天天气真好，适合去', { pos: true }), int(3, 0, U32, { pos: true, opt: true })] })],
    stress: [() => ({ slot: small, args: [raw(`'今天'.repeat(500000)`, () => '今天'.repeat(500000)), int(U32, 0, U32, { pos: true, opt: true })], expect: 'any' })],
  },
  modelRecipe: { recv: 'model', method: 'recipe', w: 1, templates: [() => ({ slot: small, args: [] })] },
  nextProbs: { recv: 'model', w: 2, templates: [() => ({ slot: small, args: [str('今天', { pos: true })] })] },
  traceLayers: {
    recv: 'model', w: 3,
    templates: [() => ({ slot: small, args: [str('今天天气真好', { pos: true }), obj({ layer: int(0, 0, 64, { opt: true }), normFirst: bool(false, { opt: true }) }, { opt: true, wrong: ['norm_first', 'layers', 'l', 'swap'] })] })],
    stress: [() => ({ slot: small, args: [raw(`'今天'.repeat(500000)`, () => '今天'.repeat(500000)), obj({})], expect: 'any' })],
  },
  trace: { recv: 'model', w: 3, templates: [() => ({ slot: small, args: [str('今天天气真好', { pos: true })] })] },
  blame: {
    recv: 'model', w: 3,
    templates: [
      () => ({ slot: small, args: [str('今天天气真好，适合去', { pos: true }), str('散步', { pos: true }), obj({ top: int(3, 1, 1000, { opt: true }), lr: num(0.1, { opt: true }), weight: str('lm_head.weight', { opt: true }), apply: bool(false, { opt: true }) }, { opt: true, wrong: ['eta', 'learningRate', 'k', 'topK', 'name', 'lrs'] })] }),
      () => ({ slot: small, args: [str('今天天气真好，适合去', { pos: true }), str('散步', { pos: true }), obj({ weight: str('layers.0.linear1.weight', { opt: false }), index: int(5, 0, 4000000, { opt: true }), lr: num(0.01, { opt: true }), apply: bool(true, { opt: true }) }, { wrong: ['Weight', 'idx', 'param'] })] }),
    ],
    stress: [() => ({ slot: small, args: [raw(`'今天'.repeat(500000)`, () => '今天'.repeat(500000)), raw(`'a '.repeat(400000)`, () => 'a '.repeat(400000)), obj({})], expect: 'reject' })],
  },
  stepSize: {
    recv: 'model', w: 2,
    templates: [() => ({ slot: small, args: [str('今天天气真好，适合去', { pos: true }), str('散步', { pos: true }), obj({ lrs: raw('Float32Array.of(0, 0.1, 1)', () => Float32Array.of(0, 0.1, 1), { type: 'f32s', opt: false }) }, { wrong: ['lr', 'etas', 'steps', 'rates'] })] })],
    stress: [
      () => ({ slot: small, args: [str('今天天气真好，适合去'), str('散步'), obj({ lrs: raw('new Array(1e6).fill(0.1)', () => new Array(1e6).fill(0.1), { type: 'f32s' }) })], expect: 'reject' }),
      () => ({ slot: small, args: [str('今天天气真好，适合去'), str('散步'), obj({ lrs: raw('new Float64Array(256).fill(1)', () => new Float64Array(256).fill(1), { type: 'f32s' }) })], expect: 'any' }),
    ],
  },
  saveWeights: { recv: 'model', w: 1, templates: [() => ({ slot: small, args: [] })] },
  loadWeights: {
    recv: 'model', w: 4,
    templates: [
      () => ({ slot: small, args: [bytesNode('m.saveWeights()', (ctx) => ctx.m.saveWeights())] }),
      () => ({ slot: 'fixture', args: [bytesNode('fixtureBytes()', () => fixtureBytes())] }),
    ],
  },
  step: { recv: 'prop', w: 1, templates: [() => ({ slot: small, args: [] })] },
  seed: { recv: 'prop', w: 1, templates: [() => ({ slot: small, args: [] })] },
  losses: { recv: 'model', w: 1, templates: [() => ({ slot: small, args: [] })] },
  vocab: { recv: 'model', w: 1, templates: [() => ({ slot: small, args: [] })] },
  config: { recv: 'model', w: 1, templates: [() => ({ slot: small, args: [] })] },
  paramShapes: { recv: 'model', w: 1, templates: [() => ({ slot: small, args: [] })] },
  param: { recv: 'model', w: 2, templates: [() => ({ slot: small, args: [str('lm_head.weight', { pos: true })] })] },
  grad: { recv: 'model', w: 2, templates: [() => ({ slot: small, args: [str('lm_head.weight', { pos: true })], expect: 'any' })] },
  gradNorms: { recv: 'model', w: 1, templates: [() => ({ slot: small, args: [] })] },
  watch: { recv: 'model', w: 2, templates: [() => ({ slot: small, args: [str('layers.0.linear1.weight', { pos: true }), int(3, 0, U32, { pos: true })] })] },
  lastUpdate: { recv: 'model', w: 1, templates: [() => ({ slot: small, args: [] })] },
  setLearningRate: { recv: 'model', w: 2, templates: [() => ({ slot: small, args: [num(0.01, { pos: true })] })] },
  free: { recv: 'free', w: 2, templates: [() => ({ slot: small, args: [] })] },
  useAfterFree: { recv: 'freed', w: 3, templates: [() => ({ slot: small, args: [] })] },
  corpusStats: {
    recv: 'fn', w: 3,
    templates: [() => ({ args: [str(CORPUS, { pos: true }), obj({ tokenizer: str('char', { opt: true }), token: str('天', { opt: true }), top: int(3, 1, 1000, { opt: true }), window: int(3, 1, 50, { opt: true }) }, { opt: true, wrong: ['topK', 'k', 'mode', 'Tokenizer', 'windowSize'] })] })],
    stress: [() => ({ args: [raw(`'今天 天气 '.repeat(150000)`, () => '今天 天气 '.repeat(150000)), obj({ top: int(1000, 1, 1000), window: int(50, 1, 50) })], expect: 'any' })],
  },
  builtinCorpus: { recv: 'fn', w: 1, templates: [() => ({ args: [str('en', { pos: true })] })] },
  nextToken: {
    recv: 'fn', w: 3,
    templates: [() => ({ args: [raw('R([12]).data', () => R([12]).data), obj({ temperature: num(0.7, { opt: true }), topK: int(3, 0, 1 << 20, { opt: true }), seed: int(5, 0, U32, { opt: true }) }, { opt: true, wrong: ['top_k', 'k', 'temp', 'tau', 'Seed'] })] })],
    stress: [() => ({ args: [raw('R([1 << 16]).data', () => R([1 << 16]).data), obj({ topK: int(1 << 20, 0, 1 << 20) })], expect: 'any' })],
  },
  space: {
    recv: 'fn', w: 4,
    templates: [
      () => ({ args: [str('map', { pos: true }), obj({ e: rt([6, 4]), axes: int(2, 1, 3, { opt: true }) }, { wrong: ['k', 'E', 'dims'] })] }),
      () => ({ args: [str('nearest', { pos: true }), obj({ e: rt([6, 4]), row: int(2, 0, U32), k: int(3, 1, 1000, { opt: true }), exclude: zm([6]) }, { wrong: ['K', 'among', 'index'] })] }),
      () => ({ args: [str('cosine', { pos: true }), obj({ e: rt([6, 4]), a: int(1, 0, U32), b: int(4, 0, U32) }, { wrong: ['c', 'row'] })] }),
      () => ({ args: [str('axis', { pos: true }), obj({ e: rt([6, 4]), a: int(0, 0, U32), b: int(5, 0, U32) }, { wrong: ['from', 'to'] })] }),
      () => ({ args: [str('analogy', { pos: true }), obj({ e: rt([6, 4]), a: int(0, 0, U32), b: int(1, 0, U32), c: int(2, 0, U32), k: int(2, 1, 1000, { opt: true }) }, { wrong: ['d', 'row'] })] }),
    ],
    stress: [() => ({ args: [str('map'), obj({ e: rt([4096, 512]), axes: int(3, 1, 3) })], expect: 'any' })],
  },
  wordCategories: { recv: 'fn', w: 1, templates: [() => ({ args: [str('zh', { pos: true })] }), () => ({ args: [str('en', { pos: true })] })] },
  headPatterns: {
    recv: 'fn', w: 2,
    templates: [
      () => ({ args: [rt([2, 3, 3]), obj({ causal: bool(false, { opt: true }) }, { opt: true, wrong: ['mask', 'threshold', 'Causal', 'weights'] })] }),
      () => ({ args: [rt([1, 2, 4, 4])] }),
    ],
  },
  attentionDemo: {
    recv: 'fn', w: 3,
    templates: [() => ({ args: [str('今天天气真好', { pos: true }), obj({ dModel: int(16, 1, 512, { opt: true }), heads: int(4, 1, 8, { opt: true }), seed: int(3, 0, U32, { opt: true }), causal: bool(true, { opt: true }) }, { opt: true, wrong: ['d_model', 'nHeads', 'n_heads', 'd', 'h'] })] })],
    stress: [() => ({ args: [raw(`'今天'.repeat(100000)`, () => '今天'.repeat(100000)), obj({ dModel: int(512, 1, 512), heads: int(8, 1, 8) })], expect: 'any' })],
  },
  drawHeatmap: {
    recv: 'fn', w: 4,
    templates: [
      () => ({ args: [canvasNode(), rt([2, 3]), strs(['a', 'b']), strs(['x', 'y', 'z']), obj({ dpr: num(1, { opt: true }), palette: str('viridis', { opt: true }), numbers: bool(true, { opt: true }), digits: int(2, 0, 6, { opt: true }), title: str('t', { opt: true }), legend: bool(true, { opt: true }), square: bool(true, { opt: true }), min: num(0, { opt: true }), max: num(1, { opt: true }), highlightRow: num(0, { opt: true }), highlightCol: num(1, { opt: true }), mask: zm([2, 3]) }, { opt: true, wrong: HEAT_WRONG })] }),
      () => ({ args: [canvasNode(), rt([3, 3]), strs(['a', 'b', 'c']), strs([]), obj({ palette: str('diverging', { opt: true }) }, { opt: true, wrong: HEAT_WRONG })] }),
    ],
    stress: [
      () => ({ args: [canvasNode(), zt([1, 1]), strs(['a']), strs(['b']), obj({ min: num(1e17), max: raw('1e17 + 16', () => 1e17 + 16) })], expect: 'any' }),
      () => ({ args: [canvasNode(), zt([256, 256]), strs([]), strs([]), obj({ numbers: bool(true) })], expect: 'any' }),
    ],
  },
  drawLossCurve: {
    recv: 'fn', w: 3,
    templates: [() => ({ args: [canvasNode(), f32s([2, 1.5, 1]), f32s([1.2]), obj({ dpr: num(1, { opt: true }), heldoutEvery: int(2, 1, 1e6, { opt: true }), hover: num(1, { opt: true }), xLabel: str('step', { opt: true }), yLabel: str('loss', { opt: true }) }, { opt: true, wrong: ['xlabel', 'ylabel', 'every', 'highlight'] })] })],
    stress: [
      () => ({ args: [canvasNode(), f32s([3.4e38]), f32s([]), obj({})], expect: 'any' }),
      () => ({ args: [canvasNode(), raw('new Float32Array(1 << 20).fill(2)', () => new Float32Array(1 << 20).fill(2)), f32s([]), obj({})], expect: 'any' }),
    ],
  },
  drawBars: {
    recv: 'fn', w: 3,
    templates: [() => ({ args: [canvasNode(), strs(['a', 'b']), f32s([0.5, 0.25]), obj({ dpr: num(1, { opt: true }), highlight: num(0, { opt: true }), percent: bool(true, { opt: true }), max: num(1, { opt: true }) }, { opt: true, wrong: ['highlighted', 'labels', 'percentage', 'min'] })] })],
    stress: [() => ({ args: [canvasNode(), strs(['a']), f32s([3.4e38]), obj({ percent: bool(false), max: num(1e-30) })], expect: 'any' })],
  },
  drawAttentionLines: {
    recv: 'fn', w: 3,
    templates: [() => ({ args: [canvasNode(), strs(['he', 'drinks']), strs(['Tom', 'cold', 'x']), rt([2, 3]), obj({ dpr: num(1, { opt: true }), row: num(1, { opt: true }), numbers: bool(true, { opt: true }), fontScale: num(1.5, { opt: true }), leftTitle: str('Q', { opt: true }), rightTitle: str('K', { opt: true }) }, { opt: true, wrong: ['highlightRow', 'selected', 'title', 'labels'] })] })],
    stress: [() => ({ args: [canvasNode(), strs(['a']), strs(['b']), raw('{shape: [1, 1], data: new Float32Array([3.4e38])}', () => ({ shape: [1, 1], data: new Float32Array([3.4e38]) })), obj({ row: num(0) })], expect: 'any' })],
  },
  // The same figures as SVG documents: a size in CSS pixels instead of a canvas and its dpr.
  drawHeatmapSvg: {
    recv: 'fn', w: 3,
    templates: [
      () => ({ args: [rt([2, 3]), strs(['a<b', '&"']), strs(['x', 'y', 'z']), obj({ width: int(240, 16, 8192), height: int(120, 16, 8192), palette: str('viridis', { opt: true }), numbers: bool(true, { opt: true }), digits: int(2, 0, 6, { opt: true }), title: str('t', { opt: true }), legend: bool(true, { opt: true }), square: bool(true, { opt: true }), highlightRow: num(0, { opt: true }), colGroup: int(1, 0, 1 << 20, { opt: true }), mask: zm([2, 3]) }, { wrong: [...HEAT_WRONG, 'dpr', 'size'] })] }),
    ],
    stress: [() => ({ args: [zt([256, 256]), strs([]), strs([]), obj({ width: int(8192, 16, 8192), height: int(8192, 16, 8192), numbers: bool(true) })], expect: 'any' })],
  },
  drawLossCurveSvg: {
    recv: 'fn', w: 2,
    templates: [() => ({ args: [f32s([2, 1.5, 1]), f32s([1.2]), obj({ width: int(320, 16, 8192), height: int(160, 16, 8192), heldoutEvery: int(2, 1, 1e6, { opt: true }), hover: num(1, { opt: true }), xLabel: str('步', { opt: true }), trainLabel: str('train', { opt: true }), refLine: num(2.5, { opt: true }) }, { wrong: ['xlabel', 'every', 'dpr'] })] })],
    stress: [() => ({ args: [f32s([3.4e38]), f32s([]), obj({ width: int(16, 16, 8192), height: int(16, 16, 8192) })], expect: 'any' })],
  },
  drawBarsSvg: {
    recv: 'fn', w: 2,
    templates: [() => ({ args: [strs(['a', '天']), f32s([0.5, 0.25]), obj({ width: int(300, 16, 8192), height: int(60, 16, 8192), highlight: num(0, { opt: true }), percent: bool(true, { opt: true }), max: num(1, { opt: true }) }, { wrong: ['highlighted', 'dpr'] })] })],
  },
  drawAttentionLinesSvg: {
    recv: 'fn', w: 2,
    templates: [() => ({ args: [strs(['he', 'drinks']), strs(['Tom', 'cold', 'x']), rt([2, 3]), obj({ width: int(300, 16, 8192), height: int(120, 16, 8192), row: num(1, { opt: true }), numbers: bool(true, { opt: true }), leftTitle: str('Q', { opt: true }) }, { wrong: ['selected', 'dpr'] })] })],
  },
  benchMatmul: {
    recv: 'fn', w: 2, templates: [() => ({ args: [int(8, 0, U32, { pos: true }), int(1, 0, U32, { pos: true })] })],
    stress: [() => ({ args: [int(2048, 0, U32, { pos: true }), int(1, 0, U32, { pos: true })], expect: 'any' })],
  },
  benchGemm: {
    recv: 'fn', w: 2,
    templates: [() => ({ args: [int(13, 0, U32, { pos: true }), int(21, 0, U32, { pos: true }), int(40, 0, U32, { pos: true }), bool(false, { pos: true }), bool(true, { pos: true }), int(1, 0, U32, { pos: true })] })],
  },
  benchAttention: {
    recv: 'fn', w: 2, templates: [() => ({ args: [int(5, 0, U32, { pos: true }), int(8, 0, U32, { pos: true }), int(1, 0, U32, { pos: true })] })],
    stress: [() => ({ args: [int(4096, 0, U32, { pos: true }), int(1024, 0, U32, { pos: true }), int(1, 0, U32, { pos: true })], expect: 'any' })],
  },
  benchMicroKernel: { recv: 'fn', w: 2, templates: [() => ({ args: [int(2, 0, U32, { pos: true })] })] },
  microKernelFlops: { recv: 'fn', w: 0.5, templates: [() => ({ args: [] })] },
  kernelSelfTest: { recv: 'fn', w: 0.3, templates: [() => ({ args: [] })] },
  engineInfo: { recv: 'fn', w: 0.5, templates: [() => ({ args: [] })] },
  lastPanic: { recv: 'fn', w: 0.5, templates: [() => ({ args: [] })] },
  errorCodes: { recv: 'fn', w: 0.3, templates: [() => ({ args: [] })] },
  maxStepsPerCall: { recv: 'prop', w: 0.5, templates: [() => ({ slot: small, args: [] })] },
  ...shardMembers('', 'Model', small),
  // The encoder–decoder: class Seq2Seq, its static constructors, and recipe().
  'new Seq2Seq': {
    recv: 'new', cls: 'Seq2Seq', w: 3,
    templates: [
      () => ({ args: [specNodeOf(S2S_SPEC, 'S2S_SPEC', S2S_WRONG)] }),
      () => ({ args: [obj({ pairs: raw(Q(PAIR_LIST), () => structuredClone(PAIR_LIST), { type: 'strs', opt: false }), sourceTokenizer: str('char', { opt: true }), targetTokenizer: str('char', { opt: true }), dModel: int(4, 1, 16384, { opt: true }), nHeads: int(2, 1, 4096, { opt: true }), dFf: int(8, 1, 65536, { opt: true }), nEncoderLayers: int(1, 0, 48, { opt: true }), nDecoderLayers: int(2, 0, 48, { opt: true }), maxLen: int(12, 2, 4096, { opt: true }), activation: str('gelu', { opt: true }), normFirst: bool(true, { opt: true }), clip: num(0.5, { opt: true }), optimizer: obj({ kind: str('sgd', { opt: true }), lr: num(0.1, { opt: true }), momentum: num(0.9, { opt: true }) }, { opt: true, wrong: OPT_WRONG }) }, { wrong: S2S_WRONG })] }),
    ],
    stress: pairStress(10),
  },
  'Seq2Seq.fromSafetensors': fromFile('Seq2Seq', 'zhBytes()', zhBytes),
  'Seq2Seq.fromRecipe': fromRecipe('Seq2Seq', 'seq2seq-en'),
  recipe: { recv: 'fn', w: 1, templates: [() => ({ args: [str('seq2seq-zh', { pos: true })] }), () => ({ args: [str('masked-en', { pos: true })] })] },
  ...pairMembers('s2s', 'Seq2Seq', 'zh'),
  ...shardMembers('s2s.', 'Seq2Seq', 's2s'),
  generate: {
    recv: 'model', cls: 'Seq2Seq', w: 4,
    templates: [
      () => ({ slot: 'zh', args: [str('小明今天感冒了', { pos: true }), obj({ maxLen: int(8, 1, 4096, { opt: true }) }, { opt: true, wrong: ['max_len', 'maxLength', 'steps', 'length', 'target'] })] }),
      () => ({ slot: 's2s', args: [str('小红饿了', { pos: true }), obj({ maxLen: int(4, 1, 4096, { opt: true }) }, { opt: true, wrong: ['max_len', 'maxTokens'] })] }),
    ],
    stress: [() => ({ slot: 'zh', args: [raw("'小明'.repeat(200000)", () => '小明'.repeat(200000), { type: 'str' }), obj({ maxLen: int(4096, 1, 4096) })], expect: 'reject' })],
  },
  's2s.trace': {
    recv: 'model', cls: 'Seq2Seq', method: 'trace', w: 3,
    templates: [
      () => ({ slot: 'zh', args: [str('小明今天感冒了', { pos: true }), obj({ target: str('他应该多', { opt: true }) }, { opt: true, wrong: ['prefix', 'targets', 'answer', 'maxLen'] })] }),
      () => ({ slot: 's2s', args: [str('小红饿了', { pos: true }), obj({ target: str('她', { opt: true }) }, { opt: true, wrong: ['prefix'] })] }),
    ],
  },
  // The encoder-only model: class MaskedLM.
  'new MaskedLM': {
    recv: 'new', cls: 'MaskedLM', w: 2,
    templates: [
      () => ({ args: [specNodeOf(LM_SPEC, 'LM_SPEC', MLM_WRONG)] }),
      () => ({ args: [obj({ ...oneStackEntries(), maskRate: num(0.3, { opt: true }) }, { wrong: MLM_WRONG })] }),
    ],
    stress: pairStress(12),
  },
  'MaskedLM.fromSafetensors': fromFile('MaskedLM', 'maskedBytes()', maskedBytes),
  'MaskedLM.fromRecipe': fromRecipe('MaskedLM', 'masked-en'),
  ...pairMembers('mlm', 'MaskedLM', 'mzh'),
  fillMask: {
    recv: 'model', cls: 'MaskedLM', w: 3,
    templates: [
      () => ({ slot: 'mzh', args: [str('小明今天[MASK]了，他应该多喝水', { pos: true }), obj({ top: int(3, 1, 1000, { opt: true }) }, { opt: true, wrong: ['topK', 'k', 'maxLen', 'candidates'] })] }),
      () => ({ slot: 'mlm', args: [str('小红[MASK]了，<mask>应该吃点东西', { pos: true }), obj({ top: int(1, 1, 1000, { opt: true }) }, { opt: true, wrong: ['top_k'] })] }),
    ],
    stress: [() => ({ slot: 'mzh', args: [raw("'小明'.repeat(200000) + '[MASK]'", () => '小明'.repeat(200000) + '[MASK]', { type: 'str' }), obj({ top: int(1000, 1, 1000) })], expect: 'reject' })],
  },
  'mlm.trace': {
    recv: 'model', cls: 'MaskedLM', method: 'trace', w: 2,
    templates: [() => ({ slot: 'mzh', args: [str('小明今天[MASK]了，他应该多喝水', { pos: true })] }), () => ({ slot: 'mlm', args: [str('我累了', { pos: true })] })],
    stress: [() => ({ slot: 'mzh', args: [raw("'今天'.repeat(300000)", () => '今天'.repeat(300000), { type: 'str' })], expect: 'reject' })],
  },
  // The decoder-only model: class CausalLM.
  'new CausalLM': {
    recv: 'new', cls: 'CausalLM', w: 2,
    templates: [
      () => ({ args: [specNodeOf(LM_SPEC, 'LM_SPEC', CLM_WRONG)] }),
      () => ({ args: [obj({ ...oneStackEntries(), lossOn: str('answer', { opt: true }) }, { wrong: CLM_WRONG })] }),
    ],
    stress: pairStress(12),
  },
  'CausalLM.fromSafetensors': fromFile('CausalLM', 'causalBytes()', causalBytes),
  'CausalLM.fromRecipe': fromRecipe('CausalLM', 'causal-en'),
  ...pairMembers('clm', 'CausalLM', 'czh'),
  'clm.generate': {
    recv: 'model', cls: 'CausalLM', method: 'generate', w: 3,
    templates: [
      () => ({ slot: 'czh', args: [str('小明今天感冒了，', { pos: true }), obj({ maxLen: int(6, 1, 4096, { opt: true }) }, { opt: true, wrong: ['max_len', 'maxLength', 'steps', 'top'] })] }),
      () => ({ slot: 'clm', args: [str('', { pos: true }), obj({ maxLen: int(3, 1, 4096, { opt: true }) }, { opt: true, wrong: ['maxTokens'] })] }),
    ],
    stress: [() => ({ slot: 'czh', args: [raw("'小明'.repeat(200000)", () => '小明'.repeat(200000), { type: 'str' }), obj({ maxLen: int(4096, 1, 4096) })], expect: 'reject' })],
  },
  'clm.trace': {
    recv: 'model', cls: 'CausalLM', method: 'trace', w: 2,
    templates: [() => ({ slot: 'czh', args: [str('小明今天感冒了，他应该多', { pos: true })] }), () => ({ slot: 'clm', args: [str('', { pos: true })] })],
    stress: [() => ({ slot: 'czh', args: [raw("'a '.repeat(400000)", () => 'a '.repeat(400000), { type: 'str' })], expect: 'reject' })],
  },
};
const ATT_WRONG = ['mask', 'attn_mask', 'key_padding_mask', 'attn_bias', 'bias', 'isCausal', 'dropout'];
const MODEL_WRONG = ['d_model', 'lr', 'n_heads', 'nHead', 'layers', 'learningRate', 'vocab_size', 'max_len', 'epochs'];
const S2S_WRONG = ['d_model', 'nLayers', 'lr', 'corpus', 'tokenizer', 'n_heads', 'vocabSize', 'max_len', 'source_tokenizer', 'pair'];
const MLM_WRONG = ['d_model', 'nEncoderLayers', 'lr', 'corpus', 'sourceTokenizer', 'n_heads', 'vocabSize', 'max_len', 'mask_rate', 'masking', 'lossOn'];
const CLM_WRONG = ['d_model', 'nDecoderLayers', 'lr', 'corpus', 'targetTokenizer', 'n_heads', 'vocabSize', 'max_len', 'loss_on', 'maskRate'];

/**
 * The members every class trained on pairs shares, called the same way: `trainStep`, `train`,
 * `saveWeights`, `losses`, `vocab`, `config`, the getters, `free`, and use after free; on the
 * fresh model of slot `prefix` (or the shipped one in `shipped`).
 */
function pairMembers(prefix, cls, shipped) {
  const member = (method, recv, w, slot = prefix, more = {}) => ({ recv, cls, method, w, templates: [() => ({ slot, args: [] })], ...more });
  return {
    [`${prefix}.trainStep`]: { ...member('trainStep', 'model', 2), templates: [() => ({ slot: prefix, args: [] }), () => ({ slot: shipped, args: [] })] },
    [`${prefix}.train`]: {
      recv: 'model', cls, method: 'train', w: 2,
      templates: [() => ({ slot: prefix, args: [int(2, 0, 100000, { pos: true })] })],
      stress: [() => ({ slot: prefix, args: [int(100000, 0, 100000, { pos: true })], expect: 'reject' })],
    },
    [`${prefix}.saveWeights`]: member('saveWeights', 'model', 1),
    [`${prefix}.losses`]: member('losses', 'model', 0.5),
    [`${prefix}.vocab`]: member('vocab', 'model', 0.5, shipped),
    [`${prefix}.config`]: member('config', 'model', 0.5, shipped),
    [`${prefix}.step`]: member('step', 'prop', 0.5),
    [`${prefix}.seed`]: member('seed', 'prop', 0.5),
    [`${prefix}.pairCount`]: member('pairCount', 'prop', 0.5, shipped),
    [`${prefix}.maxStepsPerCall`]: member('maxStepsPerCall', 'prop', 0.5),
    [`${prefix}.free`]: member('free', 'free', 1),
    [`${prefix}.useAfterFree`]: { recv: 'freed', cls, w: 2, templates: [() => ({ slot: prefix, args: [] })] },
  };
}
/**
 * The sharded-step members (src/wasm/shards.rs) of `cls` on the model of `slot`: `shards`,
 * `beginStep`, `stepPart`, `computePart`, `addPart`, `finishStep`, `weightsFlat`,
 * `setWeightsFlat` (keys `${prefix}name`).
 */
function shardMembers(prefix, cls, slot) {
  // Whether addPart, computePart or finishStep may be called depends on the step under way, so
  // their valid calls may throw (a clear Error); the check that the model is still usable after
  // a bad call runs a whole step through the protocol instead (`good`).
  const whole = (m) => {
    m.beginStep();
    for (let k = 0; k < m.shards; k++) m.computePart(k);
    m.finishStep();
  };
  const stateful = ['computePart', 'addPart', 'finishStep'];
  const m = (method, recv, w, args = () => []) => {
    const s = stateful.includes(method);
    return { recv, cls, method, w, templates: [() => ({ slot, args: args(), ...(s ? { expect: 'any' } : {}) })], ...(s ? { good: whole } : {}) };
  };
  const shard = () => int(0, 0, 63, { pos: true });
  return {
    [`${prefix}shards`]: m('shards', 'prop', 0.3),
    [`${prefix}beginStep`]: m('beginStep', 'model', 1),
    [`${prefix}stepPart`]: m('stepPart', 'model', 1, () => [raw('[0, 0]', () => [0, 0], { pos: true }), shard()]),
    [`${prefix}computePart`]: m('computePart', 'model', 1, () => [shard()]),
    [`${prefix}addPart`]: m('addPart', 'model', 1, () => [shard(), num(0.5, { pos: true }), f32s([0.25, -0.5])]),
    [`${prefix}finishStep`]: m('finishStep', 'model', 1),
    [`${prefix}weightsFlat`]: m('weightsFlat', 'model', 0.5),
    [`${prefix}setWeightsFlat`]: m('setWeightsFlat', 'model', 0.5, () => [raw(`weightsOf(${Q(slot)})`, () => weightsOf(slot), { pos: true })]),
  };
}
/** `Class.fromSafetensors(bytes, {pairs, seed, batchSize, clip, optimizer})` of a pair class. */
function fromFile(cls, src, bytes) {
  return {
    recv: 'static', cls, method: 'fromSafetensors', w: 2,
    templates: [() => ({ args: [bytesNode(src, () => bytes()), obj({ pairs: raw('PAIRS', () => PAIRS, { type: 'pairs', opt: true }), seed: int(3, 0, 2 ** 53 - 1, { opt: true }), batchSize: int(4, 1, 4096, { opt: true }), clip: num(1, { opt: true }), optimizer: obj({ kind: str('adam', { opt: true }), lr: num(0.01, { opt: true }) }, { opt: true, wrong: OPT_WRONG }) }, { opt: true, wrong: ['dModel', 'nLayers', 'corpus', 'pair', 'vocab', 'maxLen', 'maskRate'] })] })],
  };
}
/** `Class.fromRecipe(name, {seed})` of a pair class, on a recipe of its family. */
function fromRecipe(cls, name) {
  return {
    recv: 'static', cls, method: 'fromRecipe', w: 1,
    templates: [() => ({ args: [str(name, { pos: true }), obj({ seed: int(2, 0, 2 ** 53 - 1, { opt: true }) }, { opt: true, wrong: ['steps', 'Seed', 'pairs', 'dModel'] })] })],
  };
}
/** The spec entries MaskedLM and CausalLM share, other than LM_SPEC's: pairs as a list, in characters. */
function oneStackEntries() {
  return {
    pairs: raw(Q(PAIR_LIST), () => structuredClone(PAIR_LIST), { type: 'strs', opt: false }), tokenizer: str('char', { opt: true }), separator: str('，', { opt: true }),
    dModel: int(4, 1, 16384, { opt: true }), nHeads: int(2, 1, 4096, { opt: true }), dFf: int(8, 1, 65536, { opt: true }), nLayers: int(2, 0, 48, { opt: true }), maxLen: int(16, 2, 4096, { opt: true }),
    activation: str('gelu_tanh', { opt: true }), normFirst: bool(true, { opt: true }), clip: num(0.5, { opt: true }), seed: int(5, 0, 2 ** 53 - 1, { opt: true }),
    optimizer: obj({ kind: str('sgd', { opt: true }), lr: num(0.1, { opt: true }), momentum: num(0.9, { opt: true }) }, { opt: true, wrong: OPT_WRONG }),
  };
}
/** Specs of a pair class asking for too much (a batch of long pairs), or many pairs (of at most `maxLen` tokens). */
function pairStress(maxLen) {
  return [
    // 2 pairs of 2000 + 2000 tokens, 4096 a batch: far too much for one step.
    () => ({ args: [obj({ pairs: raw("('今天 '.repeat(2000) + '\\t' + '好 '.repeat(2000) + '\\n').repeat(2)", () => ('今天 '.repeat(2000) + '\t' + '好 '.repeat(2000) + '\n').repeat(2), { type: 'str' }), maxLen: int(4096, 2, 4096), batchSize: int(4096, 1, 4096), dModel: int(64, 1, 16384), nHeads: int(1, 1, 4096) })], expect: 'reject' }),
    () => ({ args: [obj({ pairs: raw('PAIRS.repeat(5000)', () => PAIRS.repeat(5000), { type: 'str' }), dModel: int(8, 1, 16384), nHeads: int(2, 1, 4096), maxLen: int(maxLen, 2, 4096) })], expect: 'any' }),
  ];
}
const OPT_WRONG = ['learningRate', 'learning_rate', 'weight_decay', 'betas'];
const PAIR_LIST = [['小明今天感冒了', '他应该多喝水'], ['小红饿了', '她应该吃点东西']];
const HEAT_WRONG = ['color', 'colormap', 'rows', 'labels', 'highlight'];

/**
 * What the fuzzer calls, named as the module exports them: functions by name, a class's
 * constructor as `Class.constructor`, its methods, getters and static functions as
 * `Class.name` (fuzz.test.mjs checks that every export is in this list).
 */
export function coveredNames() {
  const names = new Set();
  for (const [k, a] of Object.entries(API)) {
    const cls = a.cls ?? 'Model';
    if (a.recv === 'fn') names.add(k);
    else if (a.recv === 'new') names.add(`${cls}.constructor`);
    else if (a.recv !== 'freed') names.add(`${cls}.${a.method ?? k}`);
  }
  return names;
}

function fxTensor(caseName, key) {
  const t = opArgs(caseName)[key];
  return tensorNode(t.shape, `opArgs(${Q(caseName)}).${key}`, () => opArgs(caseName)[key]);
}
function specNode(kind) {
  return specNodeOf(SPECS[kind], `SPECS.${kind}`, MODEL_WRONG);
}
/** The option nodes of a spec object `s` printed as `base` (its text fields are raw strings). */
function specNodeOf(s, base, wrong) {
  const entries = {};
  for (const [k, v] of Object.entries(s)) {
    const ref = `${base}.${k}`;
    if (k === 'optimizer') {
      const oe = {};
      for (const [ok, ov] of Object.entries(v)) oe[ok] = typeof ov === 'string' ? str(ov, { opt: true }) : num(ov, { opt: true });
      entries[k] = obj(oe, { opt: true, base: ref, wrong: ['learningRate', 'learning_rate', 'weight_decay', 'betas'] });
    } else if (typeof v === 'string') entries[k] = k === 'pairs' ? raw(ref, () => v, { type: 'pairs', opt: false }) : k === 'corpus' ? raw(ref, () => v, { type: 'str', opt: true }) : str(v, { opt: true });
    else if (typeof v === 'boolean') entries[k] = bool(v, { opt: true });
    else entries[k] = int(v, ...(SPEC_RANGES[k] ?? [0, U32]), { opt: true });
  }
  return obj(entries, { opt: true, base, wrong });
}
const SPEC_RANGES = {
  vocabSize: [1, 65536], dModel: [1, 16384], nHeads: [1, 4096], nLayers: [0, 48], dFf: [1, 65536], maxLen: [2, 4096],
  nEncoderLayers: [0, 48], nDecoderLayers: [0, 48],
  batchSize: [1, 4096], seqLen: [1, 4096], maxVocab: [5, 65536], seed: [0, 2 ** 53 - 1],
};
function batchNode(kind) {
  const b = goodBatch(kind);
  const t = (k) => tensorNode(b[k].shape, `goodBatch(${Q(kind)}).${k}`, () => goodBatch(kind)[k]);
  return obj({ ids: t('ids'), targets: t('targets') }, { base: `goodBatch(${Q(kind)})`, wrong: ['mask', 'input_ids', 'labels', 'inputs'] });
}
function bytesNode(src, make) { return node('bytes', src, make); }

let opTemplatesBuilt = false;
function buildOpTemplates() {
  if (opTemplatesBuilt) return;
  opTemplatesBuilt = true;
  for (const c of fixtures().ops) {
    API.forward.templates.push(() => opTemplate(c.name, 'forward'));
    API.backward.templates.push(() => opTemplate(c.name, 'backward'));
  }
  // Small inputs asking for huge intermediates (and a mask of the wrong shape): must throw.
  const d1 = (x, memory) => {
    const p = { x, memory };
    for (const a of ['self_attn', 'multihead_attn']) {
      p[`${a}.in_proj_weight`] = zt([3, 1]); p[`${a}.in_proj_bias`] = zt([3]);
      p[`${a}.out_proj.weight`] = zt([1, 1]); p[`${a}.out_proj.bias`] = zt([1]);
    }
    for (const [k, s] of [['linear1.weight', [1, 1]], ['linear1.bias', [1]], ['linear2.weight', [1, 1]], ['linear2.bias', [1]]]) p[k] = zt(s);
    for (const n of ['norm1', 'norm2', 'norm3']) { p[`${n}.weight`] = zt([1]); p[`${n}.bias`] = zt([1]); }
    return p;
  };
  const encoderD1 = (x) => { const p = d1(x, null); delete p.memory; delete p['norm3.weight']; delete p['norm3.bias']; for (const k of Object.keys(p)) if (k.startsWith('multihead_attn')) delete p[k]; return p; };
  API.forward.stress.push(
    () => ({ args: [str('embedding'), obj({ weight: zt([1, 4096]), ids: zt([1 << 19]) })], expect: 'reject' }),
    () => ({ args: [str('decoder_layer'), obj({ ...d1(zt([1, 65536, 1]), zt([1, 1, 1])), heads: int(1, 1, 4096) })], expect: 'reject' }),
    () => ({ args: [str('encoder_layer'), obj({ ...encoderD1(zt([1, 65536, 1])), heads: int(1, 1, 4096) })], expect: 'reject' }),
    () => ({ args: [str('linear'), obj({ x: zt([60000, 1]), weight: zt([60000, 1]) })], expect: 'reject' }),
    () => ({ args: [str('mha'), obj({ query: zt([1, 2, 4]), heads: int(2, 1, 4096), in_proj_weight: zt([12, 4]), in_proj_bias: zt([12]), 'out_proj.weight': zt([4, 4]), 'out_proj.bias': zt([4]), causal: bool(true), attnMask: zm([3, 3]) })], expect: 'reject' }),
    () => ({ args: [str('softmax'), obj({ x: zt([1, 1 << 20]) })], expect: 'any' }),
  );
  API.backward.stress.push(
    () => ({ args: [str('attention'), obj({ q: zt([65536, 1]), k: zt([65536, 1]), v: zt([65536, 1]), dout: zt([65536, 1]) })], expect: 'reject' }),
  );
}

// ---------------------------------------------------------------------------------------------
// Mutations. Each takes the node at a site and returns { node, expect, label } or null.

const boom = (what) => `throw new Error('fuzz: ${what}')`;
/** Wrong values for any argument; `tag` decides the expectation by the node's type. */
const WRONG = [
  ['undefined', () => undefined, 'nullish'], ['null', () => null, 'nullish'],
  ['true', () => true, 'boolean'], ['false', () => false, 'boolean'],
  ['0', () => 0, 'number'], ['1.5', () => 1.5, 'number'], ['-1', () => -1, 'number'], ['NaN', () => NaN, 'number'],
  ['2 ** 32 + 3', () => 2 ** 32 + 3, 'number'],
  ["'abc'", () => 'abc', 'string'], ["''", () => '', 'string'], ["'4'", () => '4', 'string'],
  ["Symbol('fuzz')", () => Symbol('fuzz'), 'symbol'], ['4n', () => 4n, 'bigint'],
  ['{}', () => ({}), 'object'], ['[]', () => [], 'array'], ['[4]', () => [4], 'array'],
  ['{ valueOf() { return 4; } }', () => ({ valueOf() { return 4; } }), 'object'],
  ["{ toString() { return 'linear'; } }", () => ({ toString() { return 'linear'; } }), 'object'],
  ['() => 4', () => () => 4, 'function'], ['new Date(0)', () => new Date(0), 'object'],
  ['Object.create(null)', () => Object.create(null), 'object'], ['new Float32Array(4)', () => new Float32Array(4), 'typed'],
  [`new Proxy({}, { get() { ${boom('proxy get')}; } })`, () => new Proxy({}, { get() { throw new Error('fuzz: proxy get'); } }), 'object'],
  ['new Number(4)', () => new Number(4), 'object'], ["new String('en')", () => new String('en'), 'object'],
  ["{ length: 2 ** 31, charCodeAt() { return 97; }, slice() { return ''; } }", () => ({ length: 2 ** 31, charCodeAt() { return 97; }, slice() { return ''; } }), 'object'],
];

function wrongExpect(n, tag) {
  if (tag === 'nullish') return n.opt || (n.type === 'bool' && n.pos) ? 'any' : 'reject';
  switch (n.type) {
    case 'str': return tag === 'string' ? 'any' : 'reject';
    case 'pairs': return tag === 'string' || tag === 'array' ? 'any' : 'reject'; // (TSV text, or a list of pairs: [] is none)
    case 'num': return tag === 'number' ? 'any' : 'reject';
    case 'int': return 'reject'; // (numbers are handled by intExpect below)
    case 'bool': return n.pos || tag === 'boolean' ? 'any' : 'reject';
    case 'tensor': case 'mask': case 'canvas': case 'bytes': return 'reject';
    case 'obj': return ['object', 'array', 'typed', 'function'].includes(tag) ? 'any' : 'reject';
    case 'f32s': case 'strs': return ['object', 'array', 'typed', 'function'].includes(tag) ? 'any' : 'reject';
    default: return 'any';
  }
}
const intExpect = (n, v) => (Number.isInteger(v) && v >= n.lo && v <= n.hi ? 'any' : 'reject');

const NUMS = [['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['-0', -0], ['0', 0], ['-1', -1], ['1e-300', 1e-300],
  ['5e-324', 5e-324], ['1e308', 1e308], ['-1e308', -1e308], ['1e17', 1e17], ['2 ** 31', 2 ** 31], ['2 ** 32 + 3', 2 ** 32 + 3],
  ['2 ** 53 + 2', 2 ** 53 + 2], ['0.5', 0.5], ['3.4e38', 3.4e38], ['-3.4e38', -3.4e38], ['1e9', 1e9]];
const INTS = [['-1', -1], ['0', 0], ['1', 1], ['0.5', 0.5], ['2.000001', 2.000001], ['2 ** 31 - 1', 2 ** 31 - 1], ['2 ** 31', 2 ** 31],
  ['2 ** 32 - 1', 2 ** 32 - 1], ['2 ** 32', 2 ** 32], ['2 ** 32 + 3', 2 ** 32 + 3], ['2 ** 53', 2 ** 53], ['2 ** 53 + 2', 2 ** 53 + 2],
  ['1e9', 1e9], ['65536', 65536], ['1e300', 1e300], ['NaN', NaN], ['Infinity', Infinity], ['-0', -0], ['-(2 ** 31)', -(2 ** 31)]];
const STRS = [["''", ''], ["' '", ' '], ["'\\uD800'", '\uD800'], ["'a\\u0000b'", 'a\u0000b'], ["'🙂'.repeat(64)", '🙂'.repeat(64)],
  ["'\\n'", '\n'], ["'LINEAR'", 'LINEAR'], ["'linear '", 'linear ']];
const LONG_STRS = [["'x'.repeat(1000001)", () => 'x'.repeat(1000001)], ["'今天'.repeat(300000)", () => '今天'.repeat(300000)], ["'a '.repeat(400000)", () => 'a '.repeat(400000)]];

/** The value of a mutated tensor: `{shape: <shape>, data: <data>}` from two {src, make}. */
const tlit = (shape, data, type = 'tensor-mut') => node(type, `{ shape: ${shape.src}, data: ${data.src} }`, (ctx) => ({ shape: shape.make(ctx), data: data.make(ctx) }));
const lit = (src, v) => ({ src, make: (c) => (typeof v === "function" ? v(c) : v) });
const shapeLit = (dims) => lit(`[${dims.map((d) => (typeof d === 'string' ? d : numSrc(d))).join(', ')}]`, () => dims.map((d) => (typeof d === 'string' ? DIM_VALUES[d]() : d)));
const DIM_VALUES = {
  '-1': () => -1, '0.5': () => 0.5, NaN: () => NaN, Infinity: () => Infinity, "'2'": () => '2', null: () => null, true: () => true,
  '2n': () => 2n, '{ valueOf() { return 2; } }': () => ({ valueOf() { return 2; } }), '[2]': () => [2], undefined: () => undefined,
  '2 ** 32 + 1': () => 2 ** 32 + 1, '2 ** 32': () => 2 ** 32, '2 ** 53': () => 2 ** 53, '65536': () => 65536, '1e12': () => 1e12,
};
const HUGE_SHAPES = [['65536', '65536'], ['1e12', '1e12'], ['2 ** 32 + 1', 1], [1, '2 ** 32'], ['2 ** 53', 1], ['65536', '65536', '65536']];

function tensorMutations(n, rng, ctx) {
  const E = n.type === 'mask' ? 'Uint8Array' : 'Float32Array';
  const Ctor = n.type === 'mask' ? Uint8Array : Float32Array;
  const s = n.shape;
  const len = prod(s);
  const dataOf = lit(`${n.src}.data`, null);
  dataOf.make = (c) => n.make(c).data;
  const shapeOf = lit(Q(s), () => [...s]);
  const arr = (k) => lit(`new ${E}(${k})`, () => new Ctor(k));
  const k = rng.int(Math.max(1, s.length));
  const withDim = (v) => shapeLit(s.map((d, i) => (i === k ? v : d)));
  const R_ = 'reject', A = 'any';
  const list = [
    ['len+1', () => [tlit(shapeOf, arr(len + 1)), R_]],
    ['len-1', () => len > 0 && [tlit(shapeOf, arr(len - 1)), R_]],
    ['emptyData', () => len > 0 && [tlit(shapeOf, arr(0)), R_]],
    ['hugeShape', () => [tlit(shapeLit(rng.pick(HUGE_SHAPES)), dataOf), R_]],
    ['wrapDim', () => s.length > 0 && [tlit(shapeLit(s.map((d, i) => (i === k ? (d === 1 ? '2 ** 32 + 1' : d === 0 ? '2 ** 32' : d) : d))), dataOf), s[k] <= 1 ? R_ : A]],
    ['badDim', () => s.length > 0 && [tlit(withDim(rng.pick(['-1', '0.5', 'NaN', 'Infinity', "'2'", 'null', 'true', '2n', '{ valueOf() { return 2; } }', '[2]', 'undefined'])), dataOf), R_]],
    ['rank+1', () => [tlit(lit(Q([1, ...s]), () => [1, ...s]), dataOf), A]],
    ['rank-1', () => s.length >= 2 && [tlit(lit(Q([s[0] * s[1], ...s.slice(2)]), () => [s[0] * s[1], ...s.slice(2)]), dataOf), A]],
    ['scalarShape', () => [tlit(lit('[]', () => []), arr(1)), A]],
    ['zeroDim', () => s.length > 0 && [tlit(shapeLit(s.map((d, i) => (i === k ? 0 : d))), arr(0)), A]],
    ['shapeTyped', () => [tlit(lit(`Uint32Array.from(${Q(s)})`, () => Uint32Array.from(s)), dataOf), A]],
    ['shapeArrayLike', () => [tlit(lit(`{ length: ${s.length}, ...${Q(s)} }`, () => ({ length: s.length, ...s })), dataOf), A]],
    ['shapeString', () => [tlit(lit(Q(s.join(',')), () => s.join(',')), dataOf), R_]],
    ['noShape', () => [node('tensor-mut', `{ data: ${dataOf.src} }`, (c) => ({ data: dataOf.make(c) })), R_]],
    ['noData', () => [node('tensor-mut', `{ shape: ${Q(s)} }`, () => ({ shape: [...s] })), R_]],
    ['dataPlain', () => [tlit(shapeOf, lit(`Array.from(${dataOf.src})`, (c) => Array.from(dataOf.make(c)))), A]],
    ['dataTyped', () => { const T_ = rng.pick(['Float64Array', 'Int32Array', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Uint32Array', 'Uint8ClampedArray', 'Float32Array']); return [tlit(shapeOf, lit(`${T_}.from(${dataOf.src})`, (c) => globalThis[T_].from(dataOf.make(c)))), A]; }],
    ['dataBigInt', () => [tlit(shapeOf, lit(`new BigInt64Array(${len})`, () => new BigInt64Array(len))), A]],
    ['dataWrongType', () => { const [src, v] = rng.pick([["'1,2'", '1,2'], ['5', 5], ['{}', {}], ['null', null], ['true', true], [`{ length: ${len} }`, { length: len }]]); return [tlit(shapeOf, lit(src, v)), len > 0 ? R_ : A]; }],
    ['dataNaN', () => len > 0 && [tlit(shapeOf, lit(`Object.assign(${dataOf.src}, { ${k % len}: NaN })`, (c) => Object.assign(dataOf.make(c), { [k % len]: NaN }))), A]],
    ['dataExtreme', () => { const v = rng.pick([3.4e38, -3.4e38, Infinity, 1e-45]); return len > 0 && [tlit(shapeOf, lit(`${dataOf.src}.fill(${numSrc(v)})`, (c) => dataOf.make(c).fill(v))), A]; }],
    ['dataStrElem', () => len > 0 && [tlit(shapeOf, lit(`Object.assign(Array.from(${dataOf.src}), { 0: '1' })`, (c) => Object.assign(Array.from(dataOf.make(c)), { 0: '1' }))), R_]],
    ['dataHoles', () => [tlit(shapeOf, lit(`new Array(${len})`, () => new Array(len))), A]],
    ['detached', () => [tlit(shapeOf, lit(`detached(${len}, ${E})`, () => detached(len, Ctor))), len > 0 ? R_ : A]],
    ['throwIterData', () => [tlit(shapeOf, lit(`throwingIter(Array.from(${dataOf.src}))`, (c) => throwingIter(Array.from(dataOf.make(c))))), A]],
    ['throwIterShape', () => [tlit(lit(`throwingIter(${Q(s)})`, () => throwingIter([...s])), dataOf), A]],
    ['shapeLengthLies', () => [tlit(lit(`lyingLength(${Q(s)}, 2 ** 32 - 1)`, () => lyingLength([...s], 2 ** 32 - 1)), dataOf), A]],
    ['manyDims', () => [tlit(lit('new Array(1 << 20).fill(1)', () => new Array(1 << 20).fill(1)), arr(1)), A]],
    ['throwGetterShape', () => [node('tensor-mut', `{ get shape() { ${boom('shape getter')}; }, data: ${dataOf.src} }`, (c) => ({ get shape() { throw new Error('fuzz: shape getter'); }, data: dataOf.make(c) })), R_]],
    ['throwGetterData', () => [node('tensor-mut', `{ shape: ${Q(s)}, get data() { ${boom('data getter')}; } }`, () => ({ shape: [...s], get data() { throw new Error('fuzz: data getter'); } })), R_]],
    ['flipShape', () => [node('tensor-mut', `flip({ data: ${dataOf.src} }, 'shape', ${Q(s)}, [65536, 65536])`, (c) => flip({ data: dataOf.make(c) }, 'shape', [...s], [65536, 65536], c.flips)), A]],
    ['flipData', () => [node('tensor-mut', `flip({ shape: ${Q(s)} }, 'data', ${dataOf.src}, new ${E}(1 << 22))`, (c) => flip({ shape: [...s] }, 'data', dataOf.make(c), new Ctor(1 << 22), c.flips)), A]],
    ['bigData', () => [tlit(shapeOf, arr(len + (1 << 22))), R_]],
    ['sharedData', () => [tlit(shapeOf, lit(`shared(${len}, ${E})`, () => shared(len, Ctor))), A]],
    ['offsetData', () => [tlit(shapeOf, lit(`new ${E}(${len + 3}).subarray(3)`, () => new Ctor(len + 3).subarray(3))), A]],
    ['proxy', () => [node('tensor-mut', `new Proxy(${n.src}, {})`, (c) => new Proxy(n.make(c), {})), A]],
    ['proxyThrows', () => [node('tensor-mut', `new Proxy(${n.src}, { get() { ${boom('proxy get')}; } })`, (c) => new Proxy(n.make(c), { get() { throw new Error('fuzz: proxy get'); } })), R_]],
    ['extraField', () => [node('tensor-mut', `{ ...${n.src}, dtype: 'float16' }`, (c) => ({ ...n.make(c), dtype: 'float16' })), A]],
    ['frozen', () => [node('tensor-mut', `Object.freeze(${n.src})`, (c) => Object.freeze(n.make(c))), A]],
    ['nullProto', () => [node('tensor-mut', `Object.assign(Object.create(null), ${n.src})`, (c) => Object.assign(Object.create(null), n.make(c))), A]],
    ['inherited', () => [node('tensor-mut', `Object.create(${n.src})`, (c) => Object.create(n.make(c))), A]],
    ['reenterData', () => [node('tensor-mut', `{ shape: ${Q(s)}, get data() { ${reenterSrc(ctx)}; return ${dataOf.src}; } }`, (c) => ({ shape: [...s], get data() { reenter(c); return dataOf.make(c); } })), A]],
  ];
  if (ctx.model) list.push(['freeInData', () => [node('tensor-mut', `{ shape: ${Q(s)}, get data() { m.free(); return ${dataOf.src}; } }`, (c) => ({ shape: [...s], get data() { c.m.free(); return dataOf.make(c); } })), A]]);
  // A 256 MiB array behind a small shape, rarely (it costs time to allocate).
  if (rng.chance(0.004)) return { node: tlit(shapeOf, arr(1 << 26)), expect: R_, label: 'hugeData' };
  const [label, f] = rng.pick(list);
  const r = f();
  if (!r) return null;
  return { node: r[0], expect: r[1], label };
}

const reenterSrc = (ctx) => (ctx.model ? 'm.train(1)' : "forward('relu', { x: Z([2, 2]) })");
function reenter(c) {
  if (c.m) c.m.train(1);
  else LM.forward('relu', { x: Z([2, 2]) });
}

function objMutations(n, rng, ctx) {
  const keys = n.entries.map(([k]) => k);
  const pickKey = () => rng.pick(keys);
  const wrap = (label, srcF, makeF, expect = 'any') => ({ node: node('obj-mut', srcF(srcOf(n)), (c) => makeF(makeOf(n, c), c)), expect, label });
  const list = [
    ['unknown', () => {
      const name = rng.pick([...n.wrong, ...n.wrong, 'foo', 'constructor', 'toString', '', 'causal ']);
      if (keys.includes(name)) return null;
      const val = rng.pick([[`1`, 1], ['true', true], ["'x'", 'x'], ['Z([1])', () => Z([1])]]);
      return { node: withEntry(n, name, raw(val[0], typeof val[1] === 'function' ? val[1] : () => val[1])), expect: 'reject', label: 'unknown', unknownName: name };
    }],
    ['unknownUndefined', () => { const name = rng.pick([...n.wrong, 'foo']); return keys.includes(name) ? null : { node: withEntry(n, name, raw('undefined', () => undefined)), expect: 'any', label: 'unknownUndefined' }; }],
    ['delete', () => keys.length && (() => { const key = pickKey(); const c = n.entries.find(([k]) => k === key)[1]; return { node: without(n, key), expect: c.opt ? 'any' : 'reject', label: 'delete' }; })()],
    ['nullProto', () => wrap('nullProto', (s) => `Object.assign(Object.create(null), ${s})`, (o) => Object.assign(Object.create(null), o))],
    ['frozen', () => wrap('frozen', (s) => `Object.freeze(${s})`, (o) => Object.freeze(o))],
    ['proxy', () => wrap('proxy', (s) => `new Proxy(${s}, {})`, (o) => new Proxy(o, {}))],
    ['inherited', () => wrap('inherited', (s) => `Object.create(${s})`, (o) => Object.create(o))],
    ['proxyOwnKeysThrow', () => wrap('proxyOwnKeysThrow', (s) => `new Proxy(${s}, { ownKeys() { ${boom('ownKeys')}; } })`, (o) => new Proxy(o, { ownKeys() { throw new Error('fuzz: ownKeys'); } }))],
    ['proxyGetThrow', () => wrap('proxyGetThrow', (s) => `new Proxy(${s}, { get() { ${boom('get')}; } })`, (o) => new Proxy(o, { get() { throw new Error('fuzz: get'); } }))],
    ['proxyGetCounts', () => wrap('proxyGetCounts', (s) => `new Proxy(${s}, { get(t, k) { return t[k]; }, has() { return true; } })`, (o) => new Proxy(o, { get(t, k) { return t[k]; }, has() { return true; } }))],
    ['symbolKey', () => wrap('symbolKey', (s) => `Object.assign(${s}, { [Symbol('fuzz')]: 1 })`, (o) => Object.assign(o, { [Symbol('fuzz')]: 1 }))],
    ['asArray', () => wrap('asArray', (s) => `Object.values(${s})`, (o) => Object.values(o))],
    ['throwGetter', () => keys.length && getterEntry(n, pickKey(), 'throwGetter', (o, k) => `withGetter(${o}, ${k}, () => { ${boom('getter')}; })`, () => { throw new Error('fuzz: getter'); })],
    ['flipEntry', () => keys.length && (() => {
      const key = pickKey();
      const c = n.entries.find(([k]) => k === key)[1];
      const big = c.type === 'tensor' || c.type === 'mask' ? bigVariant(c) : rng.pick([['2 ** 32 + 3', () => 2 ** 32 + 3], ["'abc'", () => 'abc'], ['-1', () => -1]]);
      return getterEntry(n, key, 'flipEntry', (o, k) => `flip(${o}, ${k}, ${srcOf(c)}, ${big[0]})`, (c2, state) => ((state.reads = (state.reads ?? 0) + 1) === 1 ? makeOf(c, c2) : big[1](c2)));
    })()],
    ['reenterGetter', () => keys.length && (() => {
      const key = pickKey();
      const c = n.entries.find(([k]) => k === key)[1];
      return getterEntry(n, key, 'reenterGetter', (o, k) => `withGetter(${o}, ${k}, () => { ${reenterSrc(ctx)}; return ${srcOf(c)}; })`, (c2) => { reenter(c2); return makeOf(c, c2); });
    })()],
    ['detachOther', () => {
      const ts = n.entries.filter(([, c]) => c.type === 'tensor' || c.type === 'mask').map(([k]) => k);
      if (ts.length < 2) return null;
      const [a, b] = [ts[0], ts[ts.length - 1]];
      const cb = n.entries.find(([k]) => k === b)[1];
      return getterEntry(n, b, 'detachOther', (o, k) => `withGetter(${o}, ${k}, function () { detach(this[${Q(a)}].data); return ${srcOf(cb)}; })`, (c2, state, self) => { detach(self[a]?.data); return makeOf(cb, c2); });
    }],
  ];
  if (ctx.model) {
    list.push(['freeInGetter', () => keys.length && (() => {
      const key = pickKey();
      const c = n.entries.find(([k]) => k === key)[1];
      return getterEntry(n, key, 'freeInGetter', (o, k) => `withGetter(${o}, ${k}, () => { m.free(); return ${srcOf(c)}; })`, (c2) => { c2.m.free(); return makeOf(c, c2); });
    })()]);
    list.push(['methodInGetter', () => keys.length && (() => {
      const key = pickKey();
      const c = n.entries.find(([k]) => k === key)[1];
      const [src, f] = rng.pick(METHODS_IN_GETTER[ctx.cls]);
      return getterEntry(n, key, 'methodInGetter', (o, k) => `withGetter(${o}, ${k}, () => { ${src}; return ${srcOf(c)}; })`, (c2) => { f(c2.m); return makeOf(c, c2); });
    })()]);
  }
  const [label, f] = rng.pick(list);
  const r = f();
  return r ? { label, ...r } : null;
}

/** Calls of another method of the same model, made from inside a getter, by class. */
const METHODS_IN_GETTER = {
  Model: [['m.loadWeights(m.saveWeights())', (m) => m.loadWeights(m.saveWeights())], ['m.setLearningRate(0.5)', (m) => m.setLearningRate(0.5)], ["m.trace('今天')", (m) => m.trace('今天')], ['m.trainStep(goodBatch())', (m) => m.trainStep(goodBatch())]],
  Seq2Seq: [['m.saveWeights()', (m) => m.saveWeights()], ["m.generate('小明今天感冒了')", (m) => m.generate('小明今天感冒了')], ["m.trace('小明', { target: '他' })", (m) => m.trace('小明', { target: '他' })], ['m.trainStep()', (m) => m.trainStep()]],
  MaskedLM: [['m.saveWeights()', (m) => m.saveWeights()], ["m.fillMask('小明今天[MASK]了')", (m) => m.fillMask('小明今天[MASK]了')], ["m.trace('小明')", (m) => m.trace('小明')], ['m.trainStep()', (m) => m.trainStep()]],
  CausalLM: [['m.saveWeights()', (m) => m.saveWeights()], ["m.generate('小明今天感冒了，')", (m) => m.generate('小明今天感冒了，')], ["m.trace('小明')", (m) => m.trace('小明')], ['m.trainStep()', (m) => m.trainStep()]],
};

function bigVariant(c) {
  // Same rank, first dimension scaled up (data consistent): small when checked, big when used.
  const s = [...c.shape];
  const E = c.type === 'mask' ? 'Zm' : 'Z';
  const scale = Math.max(1, Math.floor((1 << 20) / Math.max(1, prod(s))));
  if (s.length === 0) s.push(1);
  s[0] = Math.max(1, s[0]) * Math.min(scale, 65536);
  return [`${E}(${Q(s)})`, () => (E === 'Z' ? Z(s) : Zm(s))];
}
function withEntry(n, key, child) {
  const entries = n.entries.filter(([k]) => k !== key).concat([[key, child]]);
  return { ...n, entries, changed: new Set([...n.changed, key]), removed: new Set([...n.removed].filter((k) => k !== key)) };
}
function without(n, key) {
  return { ...n, entries: n.entries.filter(([k]) => k !== key), changed: new Set([...n.changed].filter((k) => k !== key)), removed: new Set([...n.removed, key]) };
}
function getterEntry(n, key, label, wrapSrc, get) {
  const child = {
    getter: true, label, wrapSrc,
    install(o, k, c) {
      const state = {};
      if (label === 'flipEntry') c.flips.push({ what: k, count: () => state.reads ?? 0 });
      Object.defineProperty(o, k, { enumerable: true, configurable: true, get() { return get(c, state, this); } });
    },
  };
  return { node: withEntry(n, key, child), expect: 'any' };
}

function canvasMutations(n, rng) {
  const list = [
    ['{}', () => ({}), 'reject'],
    ['{ width: 300, height: 150, getContext() { return null; } }', () => ({ width: 300, height: 150, getContext() { return null; } }), 'reject'],
    [`{ width: 300, height: 150, getContext() { ${boom('getContext')}; } }`, () => ({ width: 300, height: 150, getContext() { throw new Error('fuzz: getContext'); } }), 'reject'],
    ['{ width: 300, height: 150, getContext() { return {}; } }', () => ({ width: 300, height: 150, getContext() { return {}; } }), 'reject'],
    ['fakeCanvas(2 ** 31, 2 ** 31)', () => fakeCanvas(2 ** 31, 2 ** 31), 'any'],
    ['fakeCanvas(-5, NaN)', () => fakeCanvas(-5, NaN), 'any'],
    ['fakeCanvas(2 ** 32 + 5, 1e9)', () => fakeCanvas(2 ** 32 + 5, 1e9), 'any'],
    ['fakeCanvas(0, 0)', () => fakeCanvas(0, 0), 'any'],
    [`Object.assign(fakeCanvas(), { get width() { ${boom('width')}; } })`, () => { const c = fakeCanvas(); Object.defineProperty(c, 'width', { get() { throw new Error('fuzz: width'); } }); return c; }, 'any'],
    [`(c => (c.ctx.fillRect = () => { ${boom('fillRect')}; }, c))(fakeCanvas())`, () => { const c = fakeCanvas(); c.ctx.fillRect = () => { throw new Error('fuzz: fillRect'); }; return c; }, 'any'],
    [`(c => (c.ctx.fillText = () => { ${boom('fillText')}; }, c))(fakeCanvas())`, () => { const c = fakeCanvas(); c.ctx.fillText = () => { throw new Error('fuzz: fillText'); }; return c; }, 'any'],
  ];
  const [src, make, expect] = rng.pick(list);
  return { node: raw(src, make), expect, label: 'canvas' };
}

/** Kinds of damage `corrupt` does to a safetensors file, and whether a loader must refuse it. */
const CORRUPTIONS = {
  truncate: 'reject', empty: 'reject', headerLenHuge: 'reject', headerLenPastEnd: 'reject', garbageHeader: 'reject',
  offsetsOut: 'reject', offsetsReversed: 'reject', shapeHuge: 'reject', shapeWrap: 'reject', shapeNegative: 'reject',
  dtypeF16: 'reject', dtypeI64: 'reject', detached: 'reject', plainArray: 'any', arrayBuffer: 'any', shared: 'any',
  padded16MiB: 'any', uint16: 'any', float32: 'any',
};
/** A damaged or differently typed copy of the safetensors bytes `bytes` (see CORRUPTIONS). */
export function corrupt(kind, bytes) {
  const header = (x) => {
    const len = Number(new DataView(x.buffer, x.byteOffset).getBigUint64(0, true));
    return { json: JSON.parse(new TextDecoder().decode(x.subarray(8, 8 + len))), body: x.subarray(8 + len) };
  };
  const rebuild = (json, body) => {
    const h = new TextEncoder().encode(JSON.stringify(json));
    const out = new Uint8Array(8 + h.length + body.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    out.set(body, 8 + h.length);
    return out;
  };
  const edit = (f) => { const { json, body } = header(bytes); f(json[Object.keys(json).find((k) => k !== '__metadata__')]); return rebuild(json, body); };
  const copy = () => bytes.slice();
  switch (kind) {
    case 'truncate': return bytes.slice(0, bytes.length >> 1);
    case 'empty': return new Uint8Array(0);
    case 'headerLenHuge': { const y = copy(); new DataView(y.buffer).setBigUint64(0, 2n ** 63n, true); return y; }
    case 'headerLenPastEnd': { const y = copy(); new DataView(y.buffer).setBigUint64(0, BigInt(y.length), true); return y; }
    case 'garbageHeader': { const y = copy(); y.fill(0x7b, 8, 40); return y; }
    case 'offsetsOut': return edit((t) => { t.data_offsets = [0, 2 ** 40]; });
    case 'offsetsReversed': return edit((t) => { t.data_offsets = [t.data_offsets[1], t.data_offsets[0]]; });
    case 'shapeHuge': return edit((t) => { t.shape = [2 ** 32, 2 ** 32]; });
    case 'shapeWrap': return edit((t) => { t.shape = [2 ** 32 + t.shape[0], ...t.shape.slice(1)]; });
    case 'shapeNegative': return edit((t) => { t.shape = [-1]; });
    case 'dtypeF16': return edit((t) => { t.dtype = 'F16'; });
    case 'dtypeI64': return edit((t) => { t.dtype = 'I64'; });
    case 'detached': return detached(bytes.length, Uint8Array);
    case 'plainArray': return Array.from(bytes);
    case 'arrayBuffer': return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    case 'shared': { const y = shared(bytes.length, Uint8Array); y.set(bytes); return y; }
    case 'padded16MiB': { const y = new Uint8Array(bytes.length + (1 << 24)); y.set(bytes); return y; }
    case 'uint16': return Uint16Array.from(bytes);
    case 'float32': return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~3)));
    default: throw new Error(`corrupt: no kind ${kind}`);
  }
}

function bytesMutations(n, rng) {
  // A 256 MiB file of zeros, rarely (its header length is 0: not a safetensors file).
  if (rng.chance(0.03)) return { node: raw('new Uint8Array(1 << 28)', () => new Uint8Array(1 << 28)), expect: 'reject', label: 'bytes:zeros256MiB' };
  const kind = rng.pick(Object.keys(CORRUPTIONS));
  return { node: raw(`corrupt(${Q(kind)}, ${n.src})`, (c) => corrupt(kind, n.make(c))), expect: CORRUPTIONS[kind], label: `bytes:${kind}` };
}

function arrayMutations(n, rng) {
  const isStr = n.type === 'strs';
  const list = isStr ? [
    ['[1, 2]', () => [1, 2], 'reject'], ["[Symbol('s')]", () => [Symbol('s')], 'reject'], ["[{ toString() { return 'a'; } }]", () => [{ toString() { return 'a'; } }], 'reject'],
    ["['a', null]", () => ['a', null], 'reject'], ["['x'.repeat(100000)]", () => ['x'.repeat(100000)], 'any'], ["new Array(100000).fill('x')", () => new Array(100000).fill('x'), 'any'],
    ['new Array(1 << 20)', () => new Array(1 << 20), 'reject'], ['{ length: 2 ** 31 }', () => ({ length: 2 ** 31 }), 'reject'], ["['\\uD800']", () => ['\uD800'], 'any'],
    ["'ab'", () => 'ab', 'reject'], ["throwingIter(['a', 'b'])", () => throwingIter(['a', 'b']), 'any'], ["lyingLength(['a'], 2 ** 32 - 1)", () => lyingLength(['a'], 2 ** 32 - 1), 'any'],
    [`new Proxy(['a', 'b'], { get(t, k) { if (k === '1') ${boom('element')}; return t[k]; } })`, () => new Proxy(['a', 'b'], { get(t, k) { if (k === '1') throw new Error('fuzz: element'); return t[k]; } }), 'any'],
  ] : [
    ['[1, 2]', () => [1, 2], 'any'], ["['1', '2']", () => ['1', '2'], 'reject'], ['new Float32Array(1 << 20)', () => new Float32Array(1 << 20), 'any'],
    ['Float32Array.of(3.4e38, -3.4e38, NaN, Infinity)', () => Float32Array.of(3.4e38, -3.4e38, NaN, Infinity), 'any'], ['detached(4)', () => detached(4), 'any'],
    ['{ length: 2 ** 31 }', () => ({ length: 2 ** 31 }), 'reject'], ['Float64Array.of(1e300, 2)', () => Float64Array.of(1e300, 2), 'any'], ['new Array(1 << 20)', () => new Array(1 << 20), 'any'],
    ['shared(4)', () => shared(4), 'any'], ['throwingIter([1, 2])', () => throwingIter([1, 2]), 'any'], ['lyingLength([1], 2 ** 32 - 1)', () => lyingLength([1], 2 ** 32 - 1), 'any'],
    ["'12'", () => '12', 'reject'],
  ];
  const [src, make, expect] = rng.pick(list);
  return { node: raw(src, make), expect, label: isStr ? 'strs' : 'f32s' };
}

/** One mutation of the node at a site; null when the picked mutation does not apply. */
function mutateNode(n, rng, ctx) {
  // Replace by a wrong value (any type) about a third of the time, otherwise a type-specific one.
  if (rng.chance(n.type === 'obj' || n.type === 'tensor' || n.type === 'mask' ? 0.15 : 0.35)) {
    const [src, make, tag] = rng.pick(WRONG);
    let expect = wrongExpect(n, tag);
    if (n.type === 'int' && tag === 'number') expect = intExpect(n, make());
    return { node: raw(src, make), expect, label: `wrong:${tag}` };
  }
  switch (n.type) {
    case 'str': {
      if (rng.chance(0.2)) { const [src, make] = rng.pick(LONG_STRS); return { node: raw(src, make, { type: 'str' }), expect: 'any', label: 'longString' }; }
      const [src, v] = rng.pick(STRS);
      return { node: raw(src, () => v), expect: 'any', label: 'string' };
    }
    case 'num': { const [src, v] = rng.pick(NUMS); return { node: raw(src, () => v), expect: 'any', label: 'number' }; }
    case 'int': {
      const extra = [[numSrc(n.lo - 1), n.lo - 1], [numSrc(n.hi), n.hi], [numSrc(n.hi + 1), n.hi + 1]];
      const [src, v] = rng.pick([...INTS, ...extra]);
      return { node: raw(src, () => v), expect: intExpect(n, v), label: 'int' };
    }
    case 'bool': {
      const [src, v] = rng.pick([['0', 0], ['1', 1], ["'true'", 'true'], ["'false'", 'false'], ['new Boolean(false)', new Boolean(false)]]);
      return { node: raw(src, () => v), expect: n.pos ? 'any' : 'reject', label: 'bool' };
    }
    case 'tensor': case 'mask': return tensorMutations(n, rng, ctx);
    case 'obj': return objMutations(n, rng, ctx);
    case 'canvas': return canvasMutations(n, rng);
    case 'bytes': return bytesMutations(n, rng);
    case 'f32s': case 'strs': return arrayMutations(n, rng);
    default: return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Calls: generation (pure in (seed, index)), rendering, execution.

/** Every site of a template's arguments: [argIndex] and [argIndex, key, …] inside objects. */
function sites(args) {
  const out = [];
  const walk = (n, path) => {
    out.push(path);
    if (n.type === 'obj') for (const [k, c] of n.entries) if (!c.getter) walk(c, [...path, k]);
  };
  args.forEach((a, i) => walk(a, [i]));
  return out;
}
function at(args, path) {
  let n = args[path[0]];
  for (const k of path.slice(1)) {
    if (!n || n.type !== 'obj') return null;
    n = n.entries.find(([kk]) => kk === k)?.[1];
  }
  return n ?? null;
}
function replaceAt(args, path, f) {
  const rec = (n, rest) => {
    if (rest.length === 0) return f(n);
    if (!n || n.type !== 'obj') return null;
    const [k, ...more] = rest;
    const c = n.entries.find(([kk]) => kk === k)?.[1];
    if (!c || c.getter) return null;
    const nc = rec(c, more);
    return nc && withEntry(n, k, nc);
  };
  const out = [...args];
  const r = rec(args[path[0]], path.slice(1));
  if (!r) return null;
  out[path[0]] = r;
  return out;
}

const FN_NAMES = () => Object.keys(API);
/**
 * The call number `index` of a run with `seed`: { fn, recv, slot, args, mutations, expect,
 * repro }. `only` (indices into the mutation list) replays a subset of its mutations.
 */
export function generate(seed, index, { only } = {}) {
  fixtures();
  buildOpTemplates();
  const rng = new Rng(hash32(seed, index, 0x5eed));
  const fn = rng.weighted(FN_NAMES().map((k) => [API[k].w, k]));
  const api = API[fn];
  const stress = api.stress?.length && rng.chance(0.06);
  const tplFn = stress ? rng.pick(api.stress) : rng.pick(api.templates);
  const tpl = tplFn();
  let args = tpl.args;
  const recv = api.recv;
  const ctx = { model: ['model', 'prop', 'free', 'freed'].includes(recv), cls: api.cls ?? 'Model' };
  let expect = tpl.expect ?? (stress ? 'any' : 'ok');
  if (recv === 'freed') expect = fn === 'free' ? 'any' : 'reject';
  // Mutations: mostly one, sometimes none (a valid call must work) or two or three.
  const nMut = recv === 'free' || recv === 'freed' || recv === 'prop' ? 0 : stress ? (rng.chance(0.8) ? 0 : 1) : rng.weighted([[0.1, 0], [0.7, 1], [0.15, 2], [0.05, 3]]);
  const all = sites(args);
  const records = [];
  const callSite = ['call'];
  const candidates = args.length ? [...all, callSite] : [callSite];
  const used = new Set();
  // Distinct sites, none inside another (a mutation of an object would hide one of its field).
  const related = (a, b) => a !== callSite && b !== callSite && a[0] === b[0] && (a.length <= b.length ? a : b).every((k, i) => k === (a.length <= b.length ? b : a)[i]);
  for (let m = 0; m < nMut; m++) {
    const free = candidates.filter((p) => ![...used].some((u) => u === p || related(u, p)));
    if (!free.length) break;
    const path = rng.pick(free);
    used.add(path);
    records.push({ path, seed: hash32(seed, index, m + 1) });
  }
  const applied = [];
  // The call-level mutation (dropping or adding arguments) first, so that no other mutation is
  // counted on an argument it then drops.
  const order = records.map((r, i) => i).sort((a, b) => (records[b].path === callSite) - (records[a].path === callSite));
  order.forEach((i) => {
    const r = records[i];
    if (only && !only.includes(i)) return;
    const mr = new Rng(r.seed);
    if (r.path === callSite) {
      const kind = mr.pick(['dropLast', 'extra', 'none']);
      if (kind === 'extra') { args = [...args, raw('{ extra: 1 }', () => ({ extra: 1 }))]; applied.push({ label: 'extraArg', expect: 'any' }); }
      else if (args.length) {
        const dropped = kind === 'none' ? args : args.slice(-1);
        // (an options object may always be left out: every option has a default, and a
        // spec-less `new Model()` is a model with the default sizes)
        const required = dropped.some((a) => !a.opt && a.type !== 'obj');
        args = kind === 'none' ? [] : args.slice(0, -1);
        applied.push({ label: kind === 'none' ? 'noArgs' : 'dropLastArg', expect: required ? 'reject' : 'any' });
      }
      return;
    }
    const target = at(args, r.path);
    if (!target) return;
    const mut = mutateNode(target, mr, ctx);
    if (!mut) return;
    // The slot keeps its nature: an optional argument stays optional whatever its new value.
    mut.node = { ...mut.node, opt: target.opt, pos: target.pos };
    const next = replaceAt(args, r.path, () => mut.node);
    if (!next) return;
    args = next;
    applied.push({ label: mut.label, expect: mut.expect, path: r.path.slice(1).join('.'), unknownName: mut.unknownName });
  });
  // (a template that must be refused may no longer be once an argument was dropped or
  // replaced — `new Model({})` is a valid model —, so a mutated call must be refused only when
  // one of its mutations says so)
  if (applied.length) expect = applied.some((a) => a.expect === 'reject') ? 'reject' : 'any';
  const spec = { seed, index, fn, recv, cls: api.cls ?? 'Model', method: api.method ?? fn, slot: tpl.slot, args, mutations: applied, nRecords: records.length, expect, stress: !!stress, tplIndex: stress ? -1 : api.templates.indexOf(tplFn) };
  if (recv === 'freed') {
    spec.freedMethod = rng.pick(FREED_METHODS[spec.cls])[0];
    spec.expect = spec.freedMethod === 'free()' ? 'any' : 'reject';
  }
  spec.repro = renderCall(spec);
  return spec;
}

/** The reproducer: one line of JavaScript over the helpers of this file. */
export function renderCall(spec) {
  const a = spec.args.map(srcOf).join(', ');
  const mk = `const m = makeModel(${Q(spec.slot ?? 'small')}); `;
  switch (spec.recv) {
    case 'fn': return `${spec.fn}(${a})`;
    case 'new': return `new ${spec.cls}(${a})`;
    case 'static': return `${spec.cls}.${spec.method}(${a})`;
    case 'model': return `${mk}m.${spec.method}(${a})`;
    case 'prop': return `${mk}m.${spec.method}`;
    case 'free': return `${mk}m.free()`;
    case 'freed': return `${mk}m.free(); m.${spec.freedMethod ?? 'train(1)'}`;
    default: return '?';
  }
}

const isTrap = (e) => e instanceof WebAssembly.RuntimeError;
const errName = (e) => (e === undefined ? 'none' : e instanceof Error ? (isTrap(e) ? 'RuntimeError' : e.constructor?.name ?? 'Error') : `non-Error ${typeof e}`);
const short = (s, n = 300) => { s = String(s); return s.length > n ? s.slice(0, n) + '…' : s; };
const errText = (e) => { try { return short(e instanceof Error ? `${errName(e)}: ${e.message}` : `${typeof e}: ${String(e)}`); } catch { return 'unprintable'; } };

/** The state of a worker: the module, its memory, the models the calls use. */
class Ctx {
  constructor(lm, wasm, opts) {
    this.lm = lm; this.wasm = wasm; this.opts = opts;
    this.models = {}; this.freed = Object.fromEntries(CLASSES.map((k) => [k, []]));
  }
  model(slot) {
    if (!this.models[slot]) this.models[slot] = makeModel(slot);
    return this.models[slot];
  }
  drop(slot) {
    const m = this.models[slot];
    this.models[slot] = null;
    try { m?.free(); } catch { /* the model is broken; the failure was reported */ }
  }
  memory() { return this.wasm.memory.buffer.byteLength; }
  panic() { try { return this.lm.lastPanic() ?? null; } catch (e) { return `lastPanic() itself failed: ${errText(e)}`; } }
}

/** Calls made on a freed model, by class (for the pair classes, every method and getter); each must throw an Error. */
export const FREED_METHODS = {
  Model: [['train(1)', (m) => m.train(1)], ['trainStep(goodBatch())', (m) => m.trainStep(goodBatch())], ["predictNext('今天')", (m) => m.predictNext('今天')],
    ['saveWeights()', (m) => m.saveWeights()], ['step', (m) => m.step], ["param('lm_head.weight')", (m) => m.param('lm_head.weight')], ['config()', (m) => m.config()],
    ['loadWeights(fixtureBytes())', (m) => m.loadWeights(fixtureBytes())], ['free()', (m) => m.free()], ['setLearningRate(0.1)', (m) => m.setLearningRate(0.1)]],
  Seq2Seq: [['train(1)', (m) => m.train(1)], ['trainStep()', (m) => m.trainStep()], ["generate('小明今天感冒了')", (m) => m.generate('小明今天感冒了')],
    ["trace('小明', { target: '他' })", (m) => m.trace('小明', { target: '他' })], ['saveWeights()', (m) => m.saveWeights()], ['step', (m) => m.step], ['seed', (m) => m.seed], ['losses()', (m) => m.losses()],
    ['pairCount', (m) => m.pairCount], ['maxStepsPerCall', (m) => m.maxStepsPerCall], ['vocab()', (m) => m.vocab()], ['config()', (m) => m.config()], ['free()', (m) => m.free()]],
  MaskedLM: [['train(1)', (m) => m.train(1)], ['trainStep()', (m) => m.trainStep()], ["fillMask('小明今天[MASK]了')", (m) => m.fillMask('小明今天[MASK]了')],
    ["trace('小明')", (m) => m.trace('小明')], ['saveWeights()', (m) => m.saveWeights()], ['step', (m) => m.step], ['seed', (m) => m.seed], ['losses()', (m) => m.losses()],
    ['pairCount', (m) => m.pairCount], ['maxStepsPerCall', (m) => m.maxStepsPerCall], ['vocab()', (m) => m.vocab()], ['config()', (m) => m.config()], ['free()', (m) => m.free()]],
  CausalLM: [['train(1)', (m) => m.train(1)], ['trainStep()', (m) => m.trainStep()], ["generate('小明今天感冒了，')", (m) => m.generate('小明今天感冒了，')],
    ["trace('小明')", (m) => m.trace('小明')], ['saveWeights()', (m) => m.saveWeights()], ['step', (m) => m.step], ['seed', (m) => m.seed], ['losses()', (m) => m.losses()],
    ['pairCount', (m) => m.pairCount], ['maxStepsPerCall', (m) => m.maxStepsPerCall], ['vocab()', (m) => m.vocab()], ['config()', (m) => m.config()], ['free()', (m) => m.free()]],
};

/** Runs one call and its checks; returns { outcome, err, ms, failures, fatal }. */
function execute(spec, ctx) {
  const lm = ctx.lm;
  const failures = [];
  const fail = (kind, detail) => failures.push({ kind, detail: short(detail, 500) });
  let m = null;
  const c = { m: null, flips: [] };
  let invoke;
  try {
    if (spec.recv === 'model' || spec.recv === 'prop' || spec.recv === 'free') m = ctx.model(spec.slot);
    if (spec.recv === 'freed') {
      const freed = ctx.freed[spec.cls];
      m = freed.length ? freed[freed.length - 1] : (() => { const x = makeModel(spec.slot ?? 'small'); x.free(); return x; })();
      const f = FREED_METHODS[spec.cls].find(([name]) => name === spec.freedMethod)[1];
      invoke = () => f(m);
    }
    c.m = m;
    const values = spec.args.map((a) => makeOf(a, c));
    if (!invoke) {
      invoke = {
        fn: () => lm[spec.fn](...values),
        new: () => new lm[spec.cls](...values),
        static: () => lm[spec.cls][spec.method](...values),
        model: () => m[spec.method](...values),
        prop: () => m[spec.method],
        free: () => m.free(),
      }[spec.recv];
    }
  } catch (e) {
    // The harness could not set the call up (e.g. the pooled model could not be made): that is
    // itself a failure of the previous call's state, report it.
    fail(isTrap(e) ? 'trap' : 'setup', `setting up the call: ${errText(e)}`);
    return { outcome: 'setup', ms: 0, failures, fatal: isTrap(e) };
  }
  const mem0 = ctx.memory();
  const t0 = performance.now();
  let result, err, threw = false;
  try { result = invoke(); } catch (e) { err = e; threw = true; }
  const ms = performance.now() - t0;
  const mem1 = ctx.memory();
  let fatal = false;
  const panic = ctx.panic();
  if (threw && isTrap(err)) { fail('trap', errText(err)); fatal = true; }
  else if (threw && !(err instanceof Error)) fail('non-error', `threw ${errText(err)}`);
  if (panic) { fail('panic', panic); fatal = true; }
  if (ms > ctx.opts.limitMs) fail('slow', `took ${ms.toFixed(0)} ms (limit ${ctx.opts.limitMs} ms)${threw ? `, then threw ${errText(err)}` : ''}`);
  if (mem1 > ctx.opts.capBytes) { fail('memory', `wasm memory ${(mem1 / MiB).toFixed(0)} MiB > cap ${(ctx.opts.capBytes / MiB).toFixed(0)} MiB`); fatal = true; }
  if (threw && mem1 - mem0 > ERROR_GROWTH_BYTES) fail('grew', `the call threw (${errText(err)}) but wasm memory grew by ${((mem1 - mem0) / MiB).toFixed(0)} MiB first`);
  if (!fatal) {
    if (spec.expect === 'reject' && !threw) fail('accepted', `returned ${short(describe(result), 120)} but the contract says it must throw (${spec.mutations.filter((x) => x.expect === 'reject').map((x) => x.label).join(', ') || 'stress case'})`);
    if (spec.expect === 'ok' && threw) fail('valid-rejected', `a valid call threw ${errText(err)}`);
    const unk = !spec.stress && spec.mutations.length === 1 && spec.mutations[0].label === 'unknown' ? spec.mutations[0].unknownName : null;
    // Each argument is read once: a getter that is small when checked and big when used must
    // not get through.
    for (const f of c.flips) if (f.count() > 1) fail('reread', `${f.what} was read ${f.count()} times; an argument must be read once`);
    if (threw && unk !== null && err instanceof Error && !(err.message.includes('unknown argument') && err.message.includes(unk))) {
      fail('message', `unknown argument ${Q(unk)}: the message should say "unknown argument" and name it, got ${errText(err)}`);
    }
  }
  // A model the call made is freed at once (and free must work).
  if (!threw && CLASSES.some((k) => result instanceof lm[k])) {
    try { result.free(); } catch (e) { fail(isTrap(e) ? 'trap' : 'free-failed', `free() of the new model: ${errText(e)}`); fatal ||= isTrap(e); }
  }
  if (spec.recv === 'free' && !threw) {
    const freed = ctx.freed[classOf(spec.slot)];
    freed.push(m); ctx.models[spec.slot] = null;
    if (freed.length > 4) freed.shift();
  }
  // After an error (or any call that ran user code re-entering the model), a known-good call of
  // the same function still works, on the same model.
  const reentrant = spec.mutations.some((x) => /free|reenter|method/i.test(x.label));
  if (!fatal && (threw || reentrant) && spec.recv !== 'free' && spec.recv !== 'freed') {
    const check = goodCheck(spec, ctx, m);
    if (check && !check.benign) fail(check.trap ? 'trap' : 'unusable', `after this call, ${check.what} failed: ${check.err}`);
    if (check) { fatal ||= check.trap; if (m) ctx.drop(spec.slot); }
    const p2 = !fatal && ctx.panic();
    if (p2) { fail('panic', p2); fatal = true; }
  }
  // Keep the pool healthy: a model whose rate or weights a mutated call may have changed is
  // replaced (training it further could legitimately diverge).
  if (!fatal && m && ctx.models[spec.slot] === m && spec.recv === 'model' && spec.mutations.length && ['setLearningRate', 'loadWeights', 'watch'].includes(spec.fn)) ctx.drop(spec.slot);
  return { outcome: threw ? 'threw' : 'returned', errName: threw ? errName(err) : null, errMsg: threw ? errText(err) : null, ms, mem: mem1, failures, fatal };
}

function describe(v) {
  try {
    if (v === undefined) return 'undefined';
    if (typeof v === 'object' && v !== null) return v.constructor?.name === 'Object' ? `{${Object.keys(v).slice(0, 6).join(', ')}}` : `${v.constructor?.name ?? 'object'}${v.length !== undefined ? `(${v.length})` : ''}`;
    return short(String(v), 80);
  } catch { return 'a value'; }
}

/**
 * A valid call of the same function (on model `m` when it is a method, then m.train(1) or a
 * trainStep). Returns null when all work, or { what, err, trap, benign }: `benign` when the
 * model only diverged (a legitimate state after, say, setLearningRate(1e308)), which is not a
 * failure of the binding.
 */
function goodCheck(spec, ctx, m) {
  const lm = ctx.lm;
  const api = API[spec.fn];
  const steps = [];
  const c = { m, flips: [] };
  const tpl = api.templates[spec.tplIndex] ?? api.templates.find((t) => (t().slot ?? null) === (spec.slot ?? null));
  const args = () => tpl().args.map((a) => makeOf(a, c));
  const name = `${spec.recv === 'fn' ? '' : spec.recv === 'new' ? 'new ' : spec.recv === 'static' ? `${spec.cls}.` : 'm.'}${spec.recv === 'new' ? spec.cls : spec.method}(<valid>)`;
  if (spec.recv === 'fn') steps.push([name, () => lm[spec.fn](...args())]);
  else if (spec.recv === 'new') steps.push([name, () => new lm[spec.cls](...args()).free()]);
  else if (spec.recv === 'static') steps.push([name, () => lm[spec.cls][spec.method](...args()).free()]);
  else if (m) {
    if (api.good) steps.push([`a whole step (${spec.method})`, () => api.good(m)]);
    else if (spec.recv === 'model' && tpl) steps.push([name, () => m[spec.method](...args())]);
    if (spec.slot === 'small' || classOf(spec.slot) !== 'Model') steps.push(['m.train(1)', () => { if (m.train(1).length !== 1) throw new Error('train(1) did not return one loss'); }]);
    else steps.push([`m.trainStep(goodBatch(${Q(spec.slot)}))`, () => m.trainStep(goodBatch(spec.slot))]);
  }
  for (const [what, f] of steps) {
    try { f(); } catch (e) {
      // A free() from inside one of the model's own calls frees it when that call returns
      // (wasm-bindgen detaches the handle first; README, "The contract"): later calls on the
      // handle must then throw an Error, which is what they do.
      const freedInCall = spec.mutations.some((x) => /^free/.test(x.label)) && /null pointer passed to rust/.test(e?.message ?? '');
      return { what, err: errText(e), trap: isTrap(e), benign: !isTrap(e) && e instanceof Error && (freedInCall || /non-finite|NaN|diverge/i.test(e.message)) };
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The worker: runs calls [start, end) (or given specs) and reports each one.

async function workerMain() {
  const { pkg, module, mode } = workerData;
  // The panic hook prints to the console; the fuzzer reads lastPanic() instead.
  console.error = () => {};
  console.warn = () => {};
  installDomStub();
  const lm = await import(pathToFileURL(pkg).href);
  const wasm = lm.initSync({ module });
  bindModule(lm);
  const post = (m) => parentPort.postMessage(m);
  if (mode === 'isolate') return isolateMain(lm, wasm, post);
  const ctx = new Ctx(lm, wasm, workerData);
  const jobs = workerData.jobs ?? null;
  const n = jobs ? jobs.length : workerData.end - workerData.start;
  for (let pos = 0; pos < n; pos++) {
    const job = jobs ? jobs[pos] : { index: workerData.start + pos };
    let spec;
    try { spec = generate(workerData.seed, job.index, { only: job.only }); } catch (e) {
      post({ type: 'begin', pos, i: job.index, fn: '?', repro: '?' });
      post({ type: 'result', pos, i: job.index, fn: '?', outcome: 'setup', ms: 0, failures: [{ kind: 'harness', detail: `generate: ${errText(e)}` }], fatal: false });
      continue;
    }
    const labels = [...(spec.stress ? ['stress'] : []), ...spec.mutations.map((x) => x.label)];
    post({ type: 'begin', pos, i: job.index, fn: spec.fn, repro: spec.repro, mutations: labels });
    const r = execute(spec, ctx);
    post({ type: 'result', pos, i: job.index, fn: spec.fn, repro: spec.repro, mutations: labels, expect: spec.expect, ...r });
    if (r.fatal) { post({ type: 'fatal', pos }); return; }
  }
  post({ type: 'done' });
}

// ---------------------------------------------------------------------------------------------
// The orchestrator (main thread).

function startWorker(data, resourceLimits) {
  return new Worker(new URL(import.meta.url), { workerData: { lmFuzzWorker: true, ...data }, resourceLimits, stdout: false, stderr: false });
}

/**
 * Runs calls [from, to) of `seed` in workers, restarting after fatal failures and hangs.
 * Returns the per-call results. `jobs` instead gives explicit {index, only} calls.
 */
async function runCalls({ seed, from = 0, to = 0, jobs = null, module, pkg, capBytes, limitMs, hangMs, onResult, maxFailures = Infinity }) {
  const results = [];
  let restarts = 0;
  let failing = 0;
  let next = 0; // position in `jobs`, or offset from `from`
  const total = jobs ? jobs.length : to - from;
  const record = (r) => { results.push(r); onResult?.(r); if (r.failures.length) failing++; };
  while (next < total && failing < maxFailures) {
    const base = next;
    const slice = jobs ? { jobs: jobs.slice(base) } : { start: from + base, end: to };
    const w = startWorker({ seed, pkg, module, capBytes, limitMs, ...slice }, { maxOldGenerationSizeMb: 3072 });
    const end = await new Promise((resolve, reject) => {
      let current = null;
      let finished = false;
      const finish = (how) => { if (!finished) { finished = true; clearInterval(timer); w.terminate(); resolve(how); } };
      const timer = setInterval(() => {
        if (current && performance.now() - current.t0 > hangMs) {
          record({ pos: current.pos, i: current.i, fn: current.fn, repro: current.repro, mutations: current.mutations, outcome: 'hang', ms: performance.now() - current.t0, failures: [{ kind: 'hang', detail: `no answer after ${hangMs} ms; the worker was stopped` }], fatal: true });
          finish({ stopAt: current.pos });
        }
      }, 100);
      w.on('message', (msg) => {
        if (msg.pos !== undefined) msg.pos += base;
        if (msg.type === 'begin') current = { pos: msg.pos, i: msg.i, fn: msg.fn, repro: msg.repro, mutations: msg.mutations, t0: performance.now() };
        else if (msg.type === 'result') {
          current = null;
          if (msg.i === -1) { finished = true; clearInterval(timer); w.terminate(); reject(new Error(`the fuzz worker could not start: ${msg.failures[0]?.detail}`)); return; }
          record(msg);
        } else if (msg.type === 'fatal') finish({ stopAt: msg.pos });
        else if (msg.type === 'done') finish({ done: true });
      });
      w.on('error', (e) => {
        const at = current ?? { pos: base, i: jobs ? jobs[base].index : from + base, fn: '?', repro: '?' };
        record({ pos: at.pos, i: at.i, fn: at.fn, repro: at.repro, mutations: at.mutations, outcome: 'crash', ms: 0, failures: [{ kind: 'crash', detail: `the worker died: ${errText(e)}` }], fatal: true });
        finish({ stopAt: at.pos });
      });
      w.on('exit', () => finish({ stopAt: current?.pos ?? (results.length ? results[results.length - 1].pos : base) }));
    });
    if (end.done) break;
    restarts++;
    next = Math.max(base + 1, end.stopAt + 1);
  }
  return { results, restarts };
}

/** The compiled module of `pkg` (compile once, share with every worker). */
export function loadModule(pkg = DEFAULT_PKG) {
  return new WebAssembly.Module(readFileSync(pkg.replace(/\.js$/, '_bg.wasm')));
}

/**
 * Runs `calls` calls of `seed` and returns a report: { seed, calls, ms, restarts, outcomes,
 * errorsByName, callsByFn, failureCounts, failures: [{kind, fn, index, count, repro, detail,
 * mutations, minimal?}], maxMemory }.
 *
 * `capBytes` (default 512 MiB): wasm memory may never exceed it. The binding accepts tensors of
 * at most 64 Mi elements (256 MiB) and the valid calls here need a few MiB, so memory beyond
 * 512 MiB means a copy made before a length check, work that was not bounded, or a leak.
 * `limitMs` (default 2000): the contract's bound for one call. `hangMs` (default 6000): when a
 * call is declared hung and its worker stopped. `maxFailures`: stop after that many failing
 * calls. `onResult(r)`: called with every call's result ({i, fn, repro, outcome, ms, failures}).
 */
export async function runFuzz({ seed = 1, calls = 1000, start = 0, pkg = DEFAULT_PKG, capBytes = DEFAULT_CAP_BYTES, limitMs = CALL_LIMIT_MS, hangMs = 6000, maxFailures = Infinity, shrink = true, onProgress, onResult } = {}) {
  const t0 = performance.now();
  const module = loadModule(pkg);
  let seen = 0;
  const { results, restarts } = await runCalls({
    seed, from: start, to: start + calls, module, pkg, capBytes, limitMs, hangMs, maxFailures,
    onResult: (r) => { seen++; onResult?.(r); if (onProgress && seen % 500 === 0) onProgress(seen, calls); },
  });
  const report = summarize(seed, results, restarts, performance.now() - t0, { capBytes, limitMs });
  if (shrink) await shrinkFailures(report, results, { seed, module, pkg, capBytes, limitMs, hangMs });
  return report;
}

function summarize(seed, results, restarts, ms, opts) {
  const outcomes = {}, errorsByName = {}, callsByFn = {}, failureCounts = {};
  const groups = new Map();
  let maxMemory = 0;
  for (const r of results) {
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    callsByFn[r.fn] = (callsByFn[r.fn] ?? 0) + 1;
    if (r.errName) errorsByName[r.errName] = (errorsByName[r.errName] ?? 0) + 1;
    if (r.mem > maxMemory) maxMemory = r.mem;
    for (const f of r.failures) {
      failureCounts[f.kind] = (failureCounts[f.kind] ?? 0) + 1;
      const key = `${f.kind}|${r.fn}|${(r.mutations ?? []).join('+')}`;
      const g = groups.get(key);
      if (g) g.count++;
      else groups.set(key, { kind: f.kind, fn: r.fn, index: r.i, count: 1, repro: r.repro, detail: f.detail, mutations: r.mutations ?? [], errMsg: r.errMsg });
    }
  }
  const order = ['trap', 'panic', 'hang', 'crash', 'memory', 'grew', 'slow', 'unusable', 'non-error', 'reread', 'accepted', 'message', 'valid-rejected', 'free-failed', 'setup', 'harness'];
  const failures = [...groups.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || b.count - a.count);
  return { seed, calls: results.length, ms, restarts, outcomes, errorsByName, callsByFn, failureCounts, failureTotal: results.filter((r) => r.failures.length).length, failures, maxMemory, ...opts };
}

/** For failures that needed several mutations, finds one that alone fails the same way. */
async function shrinkFailures(report, results, o) {
  const todo = report.failures.filter((f) => f.mutations.filter((x) => x !== 'stress').length > 1).slice(0, 25);
  if (!todo.length) return;
  const jobs = [];
  for (const f of todo) {
    const spec = generate(o.seed, f.index);
    for (let k = 0; k < spec.nRecords; k++) jobs.push({ index: f.index, only: [k], f });
  }
  const { results: rs } = await runCalls({ seed: o.seed, jobs: jobs.map(({ index, only }) => ({ index, only })), module: o.module, pkg: o.pkg, capBytes: o.capBytes, limitMs: o.limitMs, hangMs: o.hangMs, maxFailures: Infinity });
  for (const r of rs) {
    const j = jobs[r.pos];
    if (j && !j.f.minimal && r.failures.some((x) => x.kind === j.f.kind)) j.f.minimal = r.repro;
  }
}

/** Replays one call (optionally a subset of its mutations) in a fresh module. */
export async function replay({ seed, index, only, pkg = DEFAULT_PKG, capBytes = DEFAULT_CAP_BYTES, limitMs = CALL_LIMIT_MS, hangMs = 6000 }) {
  const { results } = await runCalls({ seed, jobs: [{ index, only }], module: loadModule(pkg), pkg, capBytes, limitMs, hangMs, maxFailures: Infinity });
  return results[0];
}

/** The report as text. */
export function formatReport(r, { maxGroups = 40 } = {}) {
  const L = [];
  const kv = (o) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  L.push(`LM Playground API fuzz: seed ${r.seed}, ${r.calls} calls in ${(r.ms / 1000).toFixed(1)} s, ${r.restarts} module restart(s)`);
  L.push(`outcomes: ${kv(r.outcomes)}`);
  L.push(`thrown: ${kv(r.errorsByName)}`);
  L.push(`max wasm memory seen: ${(r.maxMemory / MiB).toFixed(1)} MiB (cap ${(r.capBytes / MiB).toFixed(0)} MiB); time limit per call ${r.limitMs} ms`);
  L.push(`calls with failures: ${r.failureTotal}; failures by kind: ${kv(r.failureCounts)}`);
  if (r.failures.length) {
    L.push(`distinct failures (kind | function | mutations; count; first call; reproducer):`);
    for (const f of r.failures.slice(0, maxGroups)) {
      L.push(`  [${f.kind}] ${f.fn} | ${f.mutations.join(' + ') || 'no mutation'} ×${f.count} (call #${f.index})`);
      L.push(`      ${f.detail}`);
      L.push(`      repro: ${short(f.minimal ?? f.repro, 600)}`);
      if (f.minimal) L.push(`      (minimal: one of its mutations alone fails the same way)`);
    }
    if (r.failures.length > maxGroups) L.push(`  … ${r.failures.length - maxGroups} more groups`);
    L.push(`replay one call in a fresh module: node tests/js/fuzz.mjs --seed ${r.seed} --replay N, or --eval '<repro>'`);
  }
  return L.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Isolated runs for the contract tests: a function's source runs in a fresh worker with the
// module loaded; a hang is stopped after `timeoutMs`.

/**
 * Runs `fn` (a self-contained function `(h) => …`, serialised with toString: it may not use
 * variables from its file) in a fresh worker. `h` holds the module (`h.lm`), its exports
 * (`h.wasm`), the helpers of this file, `h.assert`, and:
 *   h.expectError(f, re?, {maxMs}) — f() throws an Error that is not a RuntimeError, matching
 *     `re`, within maxMs (default 2000), and lastPanic() stays null; returns the error;
 *   h.mem() — wasm memory in bytes;  h.time(f) — [result or error, ms].
 * Resolves to { ok, value, error: {name, message, stack}, ms, lastPanic, memory } or
 * { ok: false, hang: true } after timeoutMs.
 */
export async function runIsolated(fn, { timeoutMs = 15000, pkg = DEFAULT_PKG, module } = {}) {
  module ??= loadModule(pkg);
  const w = startWorker({ mode: 'isolate', pkg, module, src: fn.toString() }, { maxOldGenerationSizeMb: 4096 });
  return new Promise((resolve) => {
    const t = setTimeout(() => { w.terminate(); resolve({ ok: false, hang: true, error: { name: 'Hang', message: `did not finish within ${timeoutMs} ms (stopped)` } }); }, timeoutMs);
    w.on('message', (m) => { clearTimeout(t); w.terminate(); resolve(m); });
    w.on('error', (e) => { clearTimeout(t); resolve({ ok: false, error: { name: 'WorkerCrash', message: errText(e) } }); });
  });
}

async function isolateMain(lm, wasm, post) {
  const assert = (await import('node:assert/strict')).default;
  const h = {
    lm, wasm, assert, ...HELPERS, Model: lm.Model, Seq2Seq: lm.Seq2Seq, MaskedLM: lm.MaskedLM, CausalLM: lm.CausalLM,
    mem: () => wasm.memory.buffer.byteLength,
    time(f) { const t0 = performance.now(); let r; try { r = f(); } catch (e) { r = e; } return [r, performance.now() - t0]; },
    expectError(f, re, { maxMs = CALL_LIMIT_MS } = {}) {
      const t0 = performance.now();
      let err, threw = false, ret;
      try { ret = f(); } catch (e) { err = e; threw = true; }
      const ms = performance.now() - t0;
      const p = lm.lastPanic();
      assert.ok(threw, `expected an Error, but the call returned ${describe(ret)}`);
      assert.ok(!(err instanceof WebAssembly.RuntimeError), `expected an Error, got a wasm trap: ${errText(err)}${p ? ` (panic: ${short(p, 200)})` : ''}`);
      assert.ok(err instanceof Error, `expected an Error, got ${errText(err)}`);
      assert.ok(p == null, `lastPanic() is ${short(p, 300)}`);
      if (re) assert.match(err.message, re, `the message should match ${re}`);
      assert.ok(ms < maxMs, `the call took ${ms.toFixed(0)} ms (limit ${maxMs})`);
      return err;
    },
  };
  // h.run(code): evaluates a reproducer line with every export and helper in scope.
  const scope = Object.assign(Object.create(null), lm, HELPERS, { h });
  const sloppy = new Function('scope', 'code', 'with (scope) { return eval(code); }');
  h.run = (code) => sloppy(scope, code);
  const t0 = performance.now();
  let out;
  try {
    const f = new Function('h', `return (${workerData.src})(h);`);
    const value = await f(h);
    out = { ok: true, value: safeClone(value) };
  } catch (e) {
    out = { ok: false, error: { name: errName(e), message: String(e?.message ?? e), stack: String(e?.stack ?? '') } };
  }
  let p = null;
  try { p = lm.lastPanic() ?? null; } catch (e) { p = `lastPanic() failed: ${errText(e)}`; }
  post({ ...out, ms: performance.now() - t0, lastPanic: p, memory: wasm.memory.buffer.byteLength });
}
function safeClone(v) { try { return structuredClone(v); } catch { return String(v); } }

const HELPERS = { Z, T, Zm, R, detached, detach, withGetter, corrupt, throwingIter, flip, omit, lyingLength, shared, opArgs, opUpstream, opOf, SPECS, makeModel, goodBatch, fixtureBytes, fakeCanvas, installDomStub, PAIRS, S2S_SPEC, zhBytes, LM_SPEC, maskedBytes, causalBytes, stackBytes, FREED_METHODS };

// ---------------------------------------------------------------------------------------------
// Entry points: the worker, and the command line.

if (!isMainThread && workerData?.lmFuzzWorker) {
  workerMain().catch((e) => parentPort.postMessage({ type: 'result', i: -1, fn: '?', outcome: 'setup', ms: 0, failures: [{ kind: 'harness', detail: errText(e) + ' ' + (e?.stack ?? '') }], fatal: true }));
} else if (isMainThread && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && !process.env.NODE_TEST_CONTEXT) {
  const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : d; };
  const opts = {
    seed: Number(arg('--seed', 1)), calls: Number(arg('--calls', 2000)), start: Number(arg('--start', 0)), pkg: arg('--pkg', DEFAULT_PKG),
    capBytes: Number(arg('--cap-mb', 512)) * MiB, limitMs: Number(arg('--limit-ms', CALL_LIMIT_MS)), hangMs: Number(arg('--hang-ms', 6000)),
  };
  if (process.argv.includes('--eval')) {
    // Runs one reproducer line from a report in a fresh module and says what happened.
    const code = arg('--eval');
    const r = await runIsolated(`(h) => { const [v, ms] = h.time(() => h.run(${JSON.stringify(code)})); return { threw: v instanceof Error, what: v instanceof Error ? (v instanceof WebAssembly.RuntimeError ? 'RuntimeError' : v.constructor.name) + ': ' + v.message : String(v && v.constructor ? v.constructor.name : v), ms }; }`, { pkg: opts.pkg, timeoutMs: opts.hangMs });
    console.log(JSON.stringify(r, null, 2));
    process.exit(r.ok && !r.value?.what?.startsWith('RuntimeError') && r.lastPanic == null ? 0 : 1);
  }
  if (process.argv.includes('--replay')) {
    const only = arg('--only', null);
    const r = await replay({ ...opts, index: Number(arg('--replay')), only: only === null ? undefined : only.split(',').map(Number) });
    console.log(JSON.stringify(r, null, 2));
    process.exit(r?.failures?.length ? 1 : 0);
  }
  const report = await runFuzz({ ...opts, onProgress: (n, t) => process.stderr.write(`fuzz: ${n}/${t} calls\n`) });
  console.log(process.argv.includes('--json') ? JSON.stringify(report, null, 2) : formatReport(report, { maxGroups: Number(arg('--groups', 60)) }));
  process.exit(report.failureTotal ? 1 : 0);
}
