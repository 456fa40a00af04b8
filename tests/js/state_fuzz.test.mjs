// A seeded link fuzzer for www/state.js. Thousands of random and mutated hashes (random
// unicode with lone surrogates, emoji cut at every byte, huge numbers, -0, NaN, the names of
// Object.prototype, repeated keys, broken percent-encoding) must all:
//
//   1. parse without throwing, into exactly the schema's keys (nothing else becomes state),
//   2. give every value within the schema (type, range, choices, length in code points),
//   3. serialise without throwing, to a link that parses back to the same state with no
//      notice, and that serialises to itself again (parse → serialise → parse is a fixed point).
//
// FUZZ_SEEDS=n and FUZZ_HASHES=n (per seed) run more; a failure names its seed and its hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHash, serialize, PROPS, HIDABLE, PRESETS } from '../../www/state.js';
import { translate } from '../../www/strings.js';

const SEEDS = Number(process.env.FUZZ_SEEDS ?? 8);
const PER_SEED = Number(process.env.FUZZ_HASHES ?? 2500);
const SCHEMA_KEYS = PROPS.map((p) => p.key).sort();
/** The texts a panel always has (never null, never blank): its sentence. */
const ALWAYS_TEXT = ['text', 'src'];
const PROTO_NAMES = [...Object.getOwnPropertyNames(Object.prototype), 'prototype'];
const PROTO_BEFORE = Object.getOwnPropertyNames(Object.prototype).sort();

/** mulberry32: a small seeded generator, so a failing hash can be replayed from its seed. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)], chance: (p) => next() < p };
}

// ---------------------------------------------------------------------------------------------
// Pieces of hashes

const EMOJI = ['😀', '中', 'é', '👩‍👩‍👧', '🇨🇳', '\u{10FFFF}'];
/** The percent-encoded UTF-8 of `ch`, cut after `bytes` bytes. */
const cutUtf8 = (ch, bytes) => encodeURIComponent(ch).match(/%[0-9A-F]{2}/g).slice(0, bytes).join('');

const NUMBERS = ['-0', '0', '+0', '-0.0', '-0e5', '0.0', '1e308', '1e309', '-1e309', '9007199254740993', '1e-400', '5e-324',
  'NaN', 'nan', 'Infinity', '-Infinity', '0x10', '0b101', '0o7', ' 3 ', '3.5', '.5', '5.', '1e3', '', ' ', '2147483647',
  '2147483648', '-2147483649', '1e21', '-1', '00000000000000000000000001', '1_000', '٣', '３'];
const BROKEN = ['%', '%%', '%2', '%E0%A4%A', '%ZZ', '%C0%80', '%ED%A0%80', '%ED%B0%80', '%F4%90%80%80', '%FF', '%E4%BD', '%F0%9F%98', '%%41', '%u4E2D'];
const BOOLS = ['1', '0', 'true', 'false', 'TRUE', 'yes', '2', ''];

/** A random string of `n` code units, from alphabets chosen to break things. */
function randomText(r, n) {
  const alphabets = [
    () => String.fromCharCode(0x20 + r.int(95)), // ASCII, with & = + % #
    () => String.fromCharCode(0x4e00 + r.int(0x5000)), // CJK
    () => String.fromCharCode(0xd800 + r.int(0x800)), // a lone surrogate
    () => String.fromCodePoint(0x1f300 + r.int(0x300)), // an emoji (a surrogate pair)
    () => String.fromCharCode(r.int(0x20)), // control characters
    () => r.pick(['&', '=', '+', '%', '#', '?', '/', ' ', '\u00a0', '\ufeff', '\ufffd', '\u200d']),
  ];
  let s = '';
  while (s.length < n) s += r.pick(alphabets)();
  return s;
}

/** A value as it might appear after `=` in a link: encoded, raw, or cut at a random byte. */
function randomValue(r, prop) {
  const kind = r.int(10);
  if (kind === 0) return r.pick(NUMBERS);
  if (kind === 1) return r.pick(BROKEN);
  if (kind === 2) return r.pick(PROTO_NAMES);
  if (kind === 3) return r.pick(BOOLS);
  if (kind === 4 && prop?.choices) return String(r.pick(prop.choices)) + (r.chance(0.2) ? r.pick(['', ' ', '0', '%00']) : '');
  if (kind === 5) return String((r.next() - 0.5) * 10 ** r.int(320));
  if (kind === 6) {
    // Long text with an emoji cut at any byte near the cap.
    const max = prop?.type === 'string' ? prop.max : 200;
    const ch = r.pick(EMOJI);
    return 'x'.repeat(Math.max(0, max - 3 + r.int(5))) + cutUtf8(ch, r.int(1 + encodeURIComponent(ch).length / 3));
  }
  const text = randomText(r, r.int(kind === 9 ? 2500 : 60));
  if (kind === 7) return text; // raw: lone surrogates and stray % reach decodeURIComponent
  // encoded, once the lone surrogates (which encodeURIComponent refuses) are replaced
  return encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, 'x'));
}

function randomKey(r) {
  const kind = r.int(8);
  if (kind < 4) return r.pick(PROPS).key;
  if (kind === 4) return r.pick(PROTO_NAMES);
  if (kind === 5) return `${r.pick([...HIDABLE, ...PROTO_NAMES, 'zzz'])}_hide`;
  if (kind === 6) return r.pick(['v', '', '=', 'TEXT', 'lang ', encodeURIComponent('文字'), r.pick(BROKEN)]);
  return randomText(r, 1 + r.int(8));
}

/** A hash of random parts, with repeated keys, missing `=`, doubled `&` and `=` inside values. */
function randomHash(r) {
  const parts = [];
  for (let n = r.int(12); n > 0; n--) {
    const key = randomKey(r);
    const prop = PROPS.find((p) => p.key === key);
    if (r.chance(0.05)) parts.push(key);
    else parts.push(`${key}=${randomValue(r, prop)}${r.chance(0.05) ? '=' + randomValue(r) : ''}`);
    if (r.chance(0.1)) parts.push(parts[r.int(parts.length)]); // a repeated key
    if (r.chance(0.05)) parts.push('');
  }
  return (r.chance(0.8) ? '#' : '') + parts.join('&');
}

/** A valid state with random values, including strings with emoji up to their cap. */
function randomState(r) {
  const s = {};
  for (const p of PROPS) {
    if (p.type === 'int') s[p.key] = p.min + r.int(Math.min(p.max - p.min + 1, 1000));
    else if (p.type === 'number') s[p.key] = r.chance(0.5) ? p.def : p.min + r.next() * (p.max - p.min);
    else if (p.type === 'choice' || p.type === 'numChoice') s[p.key] = r.pick(p.choices);
    else if (p.type === 'bool') s[p.key] = r.chance(0.5);
    else if (r.chance(0.3) && !ALWAYS_TEXT.includes(p.key)) s[p.key] = null;
    else s[p.key] = [...randomText(r, r.int(r.chance(0.2) ? p.max + 1 : 40)).replace(/[\uD800-\uDFFF]/g, '')].slice(0, p.max).join('');
  }
  for (const k of ALWAYS_TEXT) if (!s[k].trim()) s[k] = 'x';
  // A preset with its own sizes (heads8) has them: another size is its plain preset (the app
  // never holds heads8 with other sizes; the link would read back as the plain one).
  const sized = PRESETS[s.preset];
  if (sized?.d) Object.assign(s, { d: sized.d, h: sized.h });
  return s;
}

/** Mutates a valid link: cuts, insertions, a doubled part, a flipped percent digit. */
function mutate(r, hash) {
  let h = hash;
  for (let n = 1 + r.int(4); n > 0; n--) {
    const i = r.int(h.length + 1);
    const op = r.int(6);
    if (op === 0) h = h.slice(0, i); // truncated, e.g. in the middle of %F0%9F
    else if (op === 1) h = h.slice(0, i) + h.slice(i + 1 + r.int(6));
    else if (op === 2) h = h.slice(0, i) + r.pick([...BROKEN, ...NUMBERS, '&', '=', '&tok=-0', '&__proto__=1', '&constructor=x']) + h.slice(i);
    else if (op === 3) h = h.slice(0, i) + randomText(r, 1 + r.int(4)) + h.slice(i);
    else if (op === 4) { const parts = h.split('&'); parts.push(r.pick(parts)); h = parts.join('&'); }
    else h = h.replace(/%[0-9A-F]{2}/, () => '%' + r.pick('0123456789ABCDEFZ') + r.pick('0123456789ABCDEF'));
  }
  return h;
}

// ---------------------------------------------------------------------------------------------
// The properties every parsed link must have

const codePoints = (s) => [...s].length;
const wellFormed = (s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

function checkState(state, hidden, notices, where) {
  assert.equal(Object.getPrototypeOf(state), Object.prototype, `${where}: a plain object`);
  assert.deepEqual(Reflect.ownKeys(state).map(String).sort(), SCHEMA_KEYS, `${where}: only the schema's keys`);
  for (const p of PROPS) {
    const v = state[p.key];
    const what = `${where}: ${p.key} = ${JSON.stringify(v)}`;
    switch (p.type) {
      case 'int':
        assert.ok(Number.isInteger(v) && v >= p.min && v <= p.max && !Object.is(v, -0), what);
        break;
      case 'number':
        assert.ok(Number.isFinite(v) && v >= p.min && v <= p.max && !Object.is(v, -0), what);
        break;
      case 'choice':
      case 'numChoice':
        assert.ok(p.choices.includes(v) && !Object.is(v, -0), what);
        break;
      case 'bool':
        assert.equal(typeof v, 'boolean', what);
        break;
      case 'string':
        if (v === null && !ALWAYS_TEXT.includes(p.key)) break;
        assert.equal(typeof v, 'string', what);
        assert.ok(wellFormed(v), `${what}: no lone surrogate`);
        assert.ok(codePoints(v) <= p.max, `${what}: at most ${p.max} code points`);
        break;
      default:
        assert.fail(`${where}: unknown type ${p.type}`);
    }
  }
  for (const k of ALWAYS_TEXT) assert.ok(state[k].trim() !== '', `${where}: ${k} is never blank`);
  for (const h of hidden) assert.ok(HIDABLE.includes(h), `${where}: hidden ${h}`);
  for (const n of notices) assert.notEqual(translate(state.lang, n.key, n.vars), n.key, `${where}: notice ${n.key} has a string`);
}

/** Parses `hash` and checks it all; returns the number of hashes looked at (1). */
function check(hash, where) {
  const at = `${where} ${JSON.stringify(hash).slice(0, 300)}`;
  let p1;
  assert.doesNotThrow(() => { p1 = parseHash(hash, where.length % 2 ? 'zh' : 'en'); }, `${at}: parseHash threw`);
  checkState(p1.state, p1.hidden, p1.notices, at);
  let h1;
  assert.doesNotThrow(() => { h1 = serialize(p1.state, p1.hidden); }, `${at}: serialize threw`);
  const p2 = parseHash(h1, 'en');
  assert.deepEqual(p2.notices, [], `${at}: the serialised link ${h1} reads back without a notice`);
  assert.deepEqual(p2.state, p1.state, `${at}: parse → serialise → parse keeps the state (${h1})`);
  assert.deepEqual([...p2.hidden].sort(), [...p1.hidden].sort(), `${at}: and the hidden controls`);
  assert.equal(serialize(p2.state, p2.hidden), h1, `${at}: the link is a fixed point`);
  return 1;
}

const pollutionFree = () => {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), PROTO_BEFORE, 'Object.prototype is untouched');
  assert.equal({}.constructor, Object);
  assert.equal({}.polluted, undefined);
};

// ---------------------------------------------------------------------------------------------

test('an emoji cut at every byte, at every offset around each string cap', (t) => {
  let n = 0;
  for (const p of PROPS.filter((q) => q.type === 'string')) {
    for (const ch of EMOJI) {
      const bytes = encodeURIComponent(ch).length / 3;
      for (let before = p.max - 4; before <= p.max + 1; before++) {
        for (let b = 0; b <= bytes; b++) {
          const value = 'x'.repeat(before) + cutUtf8(ch, b) + (b === bytes ? '' : 'y');
          n += check(`#${p.key}=${value}`, `cut ${p.key}`);
          n += check(`#${p.key}=${value}&${p.key}=${value}&lang=zh`, `cut ${p.key} twice`);
        }
        // the same as raw (already decoded) text: a surrogate pair and its halves
        for (const piece of [ch, ch.slice(0, 1), ch.slice(-1)]) n += check(`#${p.key}=${'x'.repeat(before)}${piece}`, `raw ${p.key}`);
      }
    }
  }
  // The case from the issue: 199 × x then 😀 used to leave a lone surrogate and make serialize throw.
  const { state } = parseHash('#text=' + 'x'.repeat(199) + '%F0%9F%98%80');
  assert.equal(state.text, 'x'.repeat(199) + '😀', 'the cap counts code points: the emoji is the 200th');
  const over = parseHash('#text=' + 'x'.repeat(200) + '%F0%9F%98%80');
  assert.equal(over.state.text, 'x'.repeat(200));
  assert.equal(over.notices[0].key, 'notice.textLong');
  pollutionFree();
  t.diagnostic(`emoji cuts: ${n} hashes`);
});

test('the names of Object.prototype never become state', (t) => {
  let n = 0;
  for (const name of PROTO_NAMES) {
    for (const value of ['1', 'x', '{}', '%7B%22polluted%22%3A1%7D', 'constructor', '']) {
      n += check(`#${name}=${value}`, 'proto key');
      n += check(`#${name}[polluted]=${value}&${name}.polluted=1&${name}_hide=1`, 'proto path');
      for (const p of PROPS) n += check(`#${p.key}=${name}&${name}=${value}`, 'proto value');
    }
    const { state, notices } = parseHash(`#${name}=1`);
    assert.ok(!Object.hasOwn(state, name), `${name} is not an own property`);
    assert.equal(notices[0]?.key, 'notice.unknown', `${name} is reported as unknown`);
  }
  pollutionFree();
  t.diagnostic(`prototype names: ${n} hashes`);
});

test('-0, NaN and huge numbers', (t) => {
  let n = 0;
  for (const p of PROPS) for (const x of NUMBERS) n += check(`#${p.key}=${encodeURIComponent(x)}`, `number ${p.key}`);
  assert.ok(Object.is(parseHash('#tok=-0').state.tok, 0), 'tok=-0 becomes 0');
  assert.ok(Object.is(parseHash('#tok=-0.0&head=-0').state.head, 0));
  assert.equal(serialize(parseHash('#tok=-0').state), '#v=1&lang=en');
  t.diagnostic(`numbers: ${n} hashes`);
});

test('serialize never throws, even on a state holding lone surrogates', (t) => {
  let n = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = rng(seed * 7919);
    for (let i = 0; i < 200; i++) {
      const s = randomState(r);
      for (const p of PROPS.filter((q) => q.type === 'string')) if (r.chance(0.3)) s[p.key] = randomText(r, r.int(p.max * 2));
      let h;
      assert.doesNotThrow(() => { h = serialize(s, new Set(HIDABLE.filter(() => r.chance(0.1)))); }, `seed ${seed}`);
      n += check(h, `seed ${seed} state ${i}`);
    }
  }
  t.diagnostic(`states with lone surrogates and overlong strings: ${n} links`);
});

test(`random and mutated hashes (${SEEDS} seeds × ${PER_SEED})`, (t) => {
  let n = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = rng(seed);
    for (let i = 0; i < PER_SEED; i++) {
      const kind = r.int(3);
      let hash;
      if (kind === 0) hash = randomHash(r);
      else {
        const s = randomState(r);
        const valid = serialize(s, new Set(HIDABLE.filter(() => r.chance(0.1))));
        if (kind === 1) {
          // an untouched valid link reads back exactly
          const back = parseHash(valid, 'en');
          assert.deepEqual(back.notices, [], `seed ${seed} #${i}: ${valid}`);
          assert.deepEqual(back.state, s, `seed ${seed} #${i}: ${valid}`);
          hash = valid;
        } else {
          hash = mutate(r, valid);
        }
      }
      n += check(hash, `seed ${seed} #${i}`);
    }
  }
  pollutionFree();
  t.diagnostic(`random and mutated: ${n} hashes from ${SEEDS} seeds`);
});
