// www/state.js: the view state round-trips through the URL hash, and bad links are repaired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHash, serialize, defaults, PRESETS } from '../../www/state.js';

test('defaults are omitted and everything else round-trips', () => {
  const d = defaults('zh');
  assert.equal(serialize(d), '#v=1&lang=zh');
  const s = { ...d, preset: 'custom', text: '你好 & 再见 = #1?', d: 64, h: 8, seed: 99, causal: true, step: 4, tok: 2, head: 5, embed: true };
  const hash = serialize(s, new Set(['seed', 'text']));
  assert.match(hash, /text=%E4%BD%A0%E5%A5%BD%20%26%20%E5%86%8D%E8%A7%81%20%3D%20%231%3F/);
  const back = parseHash(hash, 'en');
  assert.deepEqual(back.state, s);
  assert.deepEqual([...back.hidden].sort(), ['seed', 'text']);
  assert.deepEqual(back.notices, []);
});

test('a preset link carries no text, and the preset text is restored', () => {
  const s = { ...defaults('en'), preset: 'nishishui', text: PRESETS.nishishui.text };
  assert.equal(serialize(s), '#v=1&lang=en&preset=nishishui');
  assert.equal(parseHash('#preset=nishishui').state.text, '你是谁');
});

test('the article and heads8 presets: their links are short and round-trip; heads8 brings its sizes', () => {
  const a = parseHash('#preset=article&lang=en');
  assert.equal(a.state.preset, 'article');
  assert.equal(a.state.text, '你是谁');
  assert.deepEqual(a.notices, []);
  assert.equal(serialize(a.state), '#v=1&lang=en&preset=article');
  const h = parseHash('#preset=heads8&lang=zh');
  assert.equal(h.state.preset, 'heads8');
  assert.equal(h.state.d, 512);
  assert.equal(h.state.h, 8);
  assert.equal(serialize(h.state), '#v=1&lang=zh&preset=heads8');
  assert.deepEqual(parseHash(serialize(h.state)).state, h.state);
  // Other sizes in the link: the plain preset with the same text, with those sizes.
  const other = parseHash('#preset=heads8&h=4&lang=zh').state;
  assert.deepEqual([other.preset, other.d, other.h, other.text], ['xiaoming', 512, 4, PRESETS.heads8.text]);
  assert.equal(serialize(other), '#v=1&lang=zh&preset=xiaoming&d=512&h=4');
});

test('bad links are repaired with notices, never thrown', () => {
  const { state, notices } = parseHash('#v=1&d=1000000000&h=3&seed=-5&causal=maybe&zzz=1&step=abc&text=' + 'x'.repeat(500) + '&%E0%A4%A=1&lr=NaN', 'en');
  assert.equal(state.d, 512);
  assert.equal(state.h, 4);
  assert.equal(state.seed, 0);
  assert.equal(state.causal, false);
  assert.equal(state.step, 0);
  assert.equal(state.text.length, 200);
  assert.equal(state.lr, 0.01);
  const keys = notices.map((n) => n.key);
  for (const k of ['notice.clamped', 'notice.invalid', 'notice.unknown', 'notice.textLong']) assert.ok(keys.includes(k), k);
  assert.equal(parseHash('#garbage%%%&&&==').state.panel, 'attention');
  assert.equal(parseHash('#v=9').notices[0].key, 'notice.version');
  assert.equal(parseHash('#text=%20%20', 'zh').state.text, PRESETS.tianqi.text);
  assert.equal(parseHash('#text=%20%20', 'en').state.text, PRESETS.cat.text);
});

test('each language opens on its own example and corpus, whatever the browser says', () => {
  for (const browser of ['zh', 'en']) {
    const en = parseHash('#lang=en', browser).state;
    assert.equal(en.preset, 'cat');
    assert.equal(en.text, PRESETS.cat.text);
    assert.equal(en.corpus, 'en');
    const zh = parseHash('#lang=zh', browser).state;
    assert.equal(zh.preset, 'tianqi');
    assert.equal(zh.text, PRESETS.tianqi.text);
    assert.equal(zh.corpus, 'zh');
  }
  // No language in the link: the browser's.
  assert.equal(parseHash('', 'en').state.corpus, 'en');
  assert.equal(parseHash('', 'zh').state.preset, 'tianqi');
  // The last valid lang wins, for the defaults as for the language.
  assert.equal(parseHash('#lang=zh&lang=xx&lang=en', 'zh').state.preset, 'cat');
  // A Chinese example kept while switching to English stays in the link, and reads back.
  const s = { ...defaults('zh'), lang: 'en' };
  const hash = serialize(s);
  assert.match(hash, /preset=tianqi/);
  assert.match(hash, /corpus=zh/);
  assert.deepEqual(parseHash(hash, 'zh').state, s);
});
