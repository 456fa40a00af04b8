// The whole view state: one object, one schema, round-tripping to the URL hash.
//
//   #v=1&panel=attention&preset=tianqi&tok=2&h=4&seed=7&causal=1&lang=zh&step=4
//
// One table (PROPS) drives both parsing and serialising (TensorFlow Playground's state.ts,
// with its gaps fixed): a schema version, defaults omitted, values encodeURIComponent-ed,
// every value validated and clamped with a notice, unknown keys ignored with a notice, and
// `<control>_hide=1` flags for classroom links.

import { PANEL_IDS } from './panels/index.js';

export const SCHEMA_VERSION = 1;

/**
 * The presets: worked examples that open with one link. `article`: the seed article's own
 * numbers (engine.attentionDemo's `article` option: hand-set vectors, d_model 4, one head), so
 * d, h and seed do not apply; `d`, `h`: the sizes the preset opens with. Changing what a preset
 * fixes leaves it for `base`, the plain preset with the same text.
 */
export const PRESETS = {
  nishishui: { text: '你是谁', lang: 'zh' },
  article: { text: '你是谁', lang: 'zh', article: true, base: 'nishishui' },
  tianqi: { text: '今天天气真好', lang: 'zh' },
  xiaoming: { text: '小明今天感冒了，他应该多喝水', lang: 'zh' },
  heads8: { text: '小明今天感冒了，他应该多喝水', lang: 'zh', d: 512, h: 8, base: 'xiaoming' },
  cat: { text: 'The cat sat on the mat', lang: 'en' },
  weather: { text: 'the weather is nice today', lang: 'en' },
  bank: { text: 'She sat by the river bank', lang: 'en' },
};

export const MAX_TEXT = 200;

/**
 * The encoder–decoder panel's examples: a source sentence, the model (language) that reads it,
 * the answer token the panel opens on (`focus`) and the source token (`on`) whose head it opens
 * on, if a head of that layer looks most at it (the seed article's: writing 喝, looking at 感冒).
 * `heldout`: a combination of who and what that the model never saw in training.
 */
export const S2S_PRESETS = {
  xiaoming: { text: '小明今天感冒了', model: 'zh', focus: '喝', on: '感冒' },
  xiaohong: { text: '小红今天感冒了', model: 'zh', focus: '她', on: '小红', heldout: true },
  baba: { text: '爸爸今天饿了', model: 'zh', focus: '吃', on: '饿', heldout: true },
  tom: { text: 'Tom has a cold today', model: 'en', focus: 'drink', on: 'cold' },
  lily: { text: 'Lily has a cold today', model: 'en', focus: 'she', on: 'Lily', heldout: true },
  dad: { text: 'Dad is hungry today', model: 'en', focus: 'eat', on: 'hungry', heldout: true },
};

/** Longest source sentence of the encoder–decoder panel, in characters. */
export const MAX_SOURCE = 40;

const int = (key, def, min, max) => ({ key, type: 'int', def, min, max });
const choice = (key, def, choices) => ({ key, type: 'choice', def, choices });
const numChoice = (key, def, choices) => ({ key, type: 'numChoice', def, choices });
const bool = (key, def) => ({ key, type: 'bool', def });
const str = (key, def, max) => ({ key, type: 'string', def, max });
const num = (key, def, min, max) => ({ key, type: 'number', def, min, max });

/** Every property, in link order. `def: null` means "computed" (see defaults()). */
export const PROPS = [
  choice('panel', 'attention', PANEL_IDS), // tabs in the article's order; the page opens on attention
  choice('lang', null, ['zh', 'en']),
  choice('preset', 'tianqi', [...Object.keys(PRESETS), 'custom']),
  str('text', null, MAX_TEXT),
  int('tok', 0, 0, 23),
  int('head', 0, 0, 7),
  numChoice('d', 16, [8, 16, 32, 64, 128, 256, 512]),
  numChoice('h', 2, [1, 2, 4, 8]),
  int('seed', 1, 0, 2147483647),
  bool('causal', false),
  // the attention panel's weights: the shipped model's layer `alayer` (trained), seeded random,
  // or trained when the model knows every token of the text (auto)
  choice('aw', 'auto', ['auto', 'trained', 'random']),
  int('alayer', 0, 0, 7),
  bool('nums', true),
  int('step', 0, 0, 99),
  bool('embed', false),
  // the encoder–decoder panel: its example, source sentence and model, the answer token
  // followed (−1: the example's), the layer and head shown (−1: the last layer; the head that
  // looks most at one source token)
  choice('spreset', null, [...Object.keys(S2S_PRESETS), 'custom']),
  str('src', null, MAX_SOURCE),
  choice('smodel', null, ['zh', 'en']),
  int('wtok', -1, -1, 15),
  int('layer', -1, -1, 3),
  int('xhead', -1, -1, 7),
  int('rtrain', 0, 0, 5000), // steps of the in-page retraining to replay
  // the three families panel (its models' language is smodel): the masked text, the prompt
  str('mtext', null, 80),
  str('cprompt', null, 80),
  // the layer panel: its sentence, the token followed (−1: the last), trained or untrained
  // weights (and their seed), the layer shown, the other norm placement, the next token's
  // temperature, top-k and the seed of its draw
  str('ltext', null, 80),
  int('ltok', -1, -1, 15),
  choice('lweights', 'trained', ['trained', 'random']),
  int('lseed', 1, 0, 2147483647),
  int('blayer', 0, 0, 7),
  bool('lswap', false),
  num('temp', 1, 0.05, 10),
  numChoice('topk', 0, [0, 1, 3, 5, 10, 20, 50]),
  int('sseed', 1, 0, 2147483647),
  // the vectors panel: the word followed and the one compared, the axis (and analogy) words,
  // trained or untrained vectors, the map's axes, the live training's step
  str('vword', null, 20),
  str('vword2', null, 20),
  str('va', null, 20),
  str('vb', null, 20),
  str('vc', null, 20),
  choice('vweights', 'trained', ['trained', 'random']),
  choice('vaxes', '12', ['12', '13', '23']),
  bool('vgroups', true),
  int('vtrain', 0, 0, 5000),
  // the learning panel
  choice('corpus', 'zh', ['zh', 'en', 'code', 'custom']),
  choice('tmode', 'word', ['word', 'char']),
  choice('size', 'tiny', ['tiny', 'small', 'deep']),
  choice('opt', 'adam', ['sgd', 'adam']),
  num('lr', 0.01, 0.00001, 1),
  numChoice('batch', 16, [1, 2, 4, 8, 16, 32, 64]),
  int('tseed', 1, 0, 2147483647),
  int('train', 0, 0, 5000),
  str('prompt', null, MAX_TEXT),
  str('stok', null, 40),
  str('ctext', null, 2000),
  str('watch', null, 80),
  // the backpropagation panel: its prompt, right answer and the wrong answer taught first
  // (empty: the language's example), the SGD learning rate, the steps taken towards the answer
  str('bprompt', null, 80),
  str('btarget', null, 20),
  str('bwrong', null, 20),
  numChoice('blr', 0.001, [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1]),
  int('bsteps', 0, 0, 200),
  str('bweight', null, 80), // the tensor whose largest-gradient entry is written out (null: the model's largest)
];
/** The properties by key, in an object without a prototype: `constructor`, `__proto__` and
 * the other names of Object.prototype are not properties. */
export const PROPS_BY_KEY = Object.assign(Object.create(null), Object.fromEntries(PROPS.map((p) => [p.key, p])));

/** The allowed values of the choice `key` (what its <select> offers), in order. */
export function choices(key) {
  return PROPS_BY_KEY[key].choices;
}

/** Controls that a classroom link can hide (`<name>_hide=1`); each has class ui-<name>. */
export const HIDABLE = ['text', 'preset', 'd', 'h', 'seed', 'causal', 'nums', 'head', 'steps', 'lang', 'share', 'corpus', 'tmode', 'size', 'opt', 'lr', 'batch', 'tseed', 'play', 'prompt', 'watch', 'aw', 'alayer', 'vword', 'vweights', 'vaxes', 'ltext', 'lweights', 'lseed', 'blayer', 'lswap', 'temp', 'topk', 'sample', 'bprompt', 'btarget', 'bwrong', 'blr', 'bstep', 'bweight'];

/**
 * `s` with every lone surrogate (half of an emoji, e.g. from cutting a string) replaced by
 * U+FFFD, so that encodeURIComponent cannot throw on it.
 */
export function wellFormed(s) {
  if (!/[\uD800-\uDFFF]/.test(s)) return s;
  let out = '';
  for (const ch of s) out += ch.length === 1 && ch >= '\uD800' && ch <= '\uDFFF' ? '\uFFFD' : ch;
  return out;
}

/** The first `max` code points of `s`: a cut never splits a surrogate pair (an emoji). */
export function clip(s, max) {
  if (s.length <= max) return s; // at most `max` UTF-16 units, so at most `max` code points
  let n = 0, end = 0;
  for (const ch of s) {
    if (n === max) break;
    n++;
    end += ch.length;
  }
  return s.slice(0, end);
}

/** What opens in each language: its own example sentence and its own corpus (and so prompt). */
const LANG_DEFAULTS = {
  zh: { preset: 'tianqi', corpus: 'zh', spreset: 'xiaoming', smodel: 'zh' },
  en: { preset: 'cat', corpus: 'en', spreset: 'tom', smodel: 'en' },
};

/** The default state in `lang` (the link's language, else the browser's). */
export function defaults(lang = 'en') {
  const s = {};
  for (const p of PROPS) s[p.key] = p.def;
  s.lang = choices('lang').includes(lang) ? lang : 'en';
  Object.assign(s, LANG_DEFAULTS[s.lang]);
  s.text = PRESETS[s.preset].text;
  s.src = S2S_PRESETS[s.spreset].text;
  s.prompt = null;
  s.mtext = null;
  s.cprompt = null;
  s.stok = null;
  s.ctext = null;
  s.watch = null;
  return s;
}

/** Parses one value of `prop`; returns {value} or {value, notice}. */
function parseValue(prop, raw, def) {
  const shown = clip(raw, 40);
  const invalid = () => ({ value: def, notice: { key: 'notice.invalid', vars: { key: prop.key, value: shown, used: def } } });
  // `+ 0` turns -0 into 0, so `tok=-0` is the same state as `tok=0`.
  const number = () => (raw.trim() === '' ? NaN : Number(raw) + 0);
  switch (prop.type) {
    case 'int':
    case 'number': {
      const x = number();
      if (!Number.isFinite(x) || (prop.type === 'int' && !Number.isInteger(x))) return invalid();
      const c = Math.min(prop.max, Math.max(prop.min, x));
      return c === x ? { value: x } : { value: c, notice: { key: 'notice.clamped', vars: { key: prop.key, value: shown, used: c } } };
    }
    case 'numChoice': {
      const x = number();
      if (!Number.isFinite(x)) return invalid();
      if (prop.choices.includes(x)) return { value: x };
      // the allowed value nearest on a log scale (sizes double)
      const near = prop.choices.reduce((a, b) => (Math.abs(Math.log(Math.max(x, 1e-9) / b)) < Math.abs(Math.log(Math.max(x, 1e-9) / a)) ? b : a));
      return { value: near, notice: { key: 'notice.clamped', vars: { key: prop.key, value: shown, used: near } } };
    }
    case 'choice':
      return prop.choices.includes(raw) ? { value: raw } : invalid();
    case 'bool':
      if (raw === '1' || raw === 'true') return { value: true };
      if (raw === '0' || raw === 'false') return { value: false };
      return invalid();
    case 'string': {
      // Capped in code points, so the cut never leaves half an emoji behind.
      const value = clip(wellFormed(raw), prop.max);
      return value.length < raw.length ? { value, notice: { key: 'notice.textLong', vars: { n: prop.max } } } : { value };
    }
  }
  return invalid();
}

/**
 * Reads a location hash into {state, hidden, notices}. Never throws: anything malformed is
 * replaced by its default and reported as a notice (notices hold string keys and variables,
 * translated when shown).
 */
export function parseHash(hash, lang = 'en') {
  const raw = String(hash ?? '').replace(/^#/, '');
  const pairs = raw.split('&').filter(Boolean).map((part) => {
    const eq = part.indexOf('=');
    try {
      return [decodeURIComponent(eq < 0 ? part : part.slice(0, eq)), eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, '%20'))];
    } catch {
      return [null, part];
    }
  });
  // The defaults are the link's language's (its example, its corpus), whatever the browser's:
  // the last valid `lang` wins, as below.
  const linkLang = pairs.filter(([k, v]) => k === 'lang' && choices('lang').includes(v)).pop()?.[1];
  const state = defaults(linkLang ?? lang);
  const hidden = new Set();
  const notices = [];
  let textGiven = false;
  let srcGiven = false;
  for (const [key, val] of pairs) {
    if (key === null) {
      notices.push({ key: 'notice.unknown', vars: { key: clip(val, 40) } });
      continue;
    }
    if (key.endsWith('_hide')) {
      const name = key.slice(0, -5);
      if (HIDABLE.includes(name) && (val === '1' || val === 'true')) hidden.add(name);
      continue;
    }
    if (key === 'v') {
      const v = Number(val);
      if (Number.isFinite(v) && v > SCHEMA_VERSION) notices.push({ key: 'notice.version', vars: { value: clip(val, 10) } });
      continue;
    }
    // Only the schema's keys become state: PROPS_BY_KEY has no prototype, so `constructor`,
    // `toString` or `__proto__` are unknown keys like any other.
    const prop = PROPS_BY_KEY[key];
    if (!prop) {
      notices.push({ key: 'notice.unknown', vars: { key: clip(key, 40) } });
      continue;
    }
    const r = parseValue(prop, val, state[key]);
    state[key] = r.value;
    if (r.notice) notices.push(r.notice);
    if (key === 'text') textGiven = true;
    if (key === 'src') srcGiven = true;
  }
  // The encoder–decoder panel's source follows its example unless the link gives one; an
  // example also names its model.
  const sp = S2S_PRESETS[state.spreset];
  if (!srcGiven && sp) state.src = sp.text;
  if (!pairs.some(([k]) => k === 'smodel') && sp) state.smodel = sp.model;
  if (state.src.trim() === '') {
    state.src = (sp ?? S2S_PRESETS[LANG_DEFAULTS[state.lang].spreset]).text;
    notices.push({ key: 'notice.invalid', vars: { key: 'src', value: '', used: state.src } });
  }
  // A preset with its own sizes opens with them unless the link gives others, and then it is
  // its plain preset with those sizes.
  const sized = PRESETS[state.preset];
  if (sized?.d) {
    if (!pairs.some(([k]) => k === 'd')) state.d = sized.d;
    if (!pairs.some(([k]) => k === 'h')) state.h = sized.h;
    if (state.d !== sized.d || state.h !== sized.h) state.preset = sized.base;
  }
  const presetText = PRESETS[state.preset]?.text ?? PRESETS.tianqi.text;
  if (!textGiven) state.text = presetText;
  if (state.text.trim() === '') {
    state.text = presetText;
    notices.push({ key: 'notice.invalid', vars: { key: 'text', value: '', used: state.text } });
  }
  return { state, hidden, notices };
}

/**
 * The hash for `state` and `hidden`: schema version first, then only non-default values.
 * Never throws: strings are made well-formed (encodeURIComponent throws on a lone surrogate)
 * and capped as parseHash caps them, so parseHash(serialize(s)) reads back without a notice.
 */
export function serialize(state, hidden = new Set()) {
  const def = defaults(state.lang);
  const enc = (s) => encodeURIComponent(wellFormed(String(s)));
  const parts = [`v=${SCHEMA_VERSION}`];
  for (const p of PROPS) {
    const v = state[p.key];
    if (v === null || v === undefined) continue;
    if (p.key === 'lang') {
      parts.push(`lang=${enc(v)}`); // always: a link shows the sender's language
      continue;
    }
    if (p.key === 'text') {
      if (state.preset !== 'custom' && v === PRESETS[state.preset]?.text) continue;
    } else if (p.key === 'src') {
      if (state.spreset !== 'custom' && v === S2S_PRESETS[state.spreset]?.text) continue;
    } else if (p.key === 'smodel') {
      if (v === (S2S_PRESETS[state.spreset]?.model ?? def.smodel)) continue;
    } else if ((p.key === 'd' || p.key === 'h') && PRESETS[state.preset]?.[p.key]) {
      if (v === PRESETS[state.preset][p.key]) continue;
    } else if (v === def[p.key]) {
      continue;
    }
    const s = p.type === 'bool' ? (v ? '1' : '0') : p.type === 'string' ? clip(wellFormed(String(v)), p.max) : String(v);
    parts.push(`${p.key}=${enc(s)}`);
  }
  for (const h of [...hidden].sort()) parts.push(`${enc(h)}_hide=1`);
  return '#' + parts.join('&');
}
