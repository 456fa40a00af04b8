// The page's words: every Chinese string says 词元 for "token" (the term the zh page uses
// throughout, never the English word), and no English string holds Chinese characters
// (an English page shows English examples), except the few listed below with their reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STRINGS } from '../../www/strings.js';
import { PANEL_IDS } from '../../www/panels/index.js';

/** Every strings table: the page's own and each panel's (panels/<id>.js STRINGS). */
async function tables() {
  const all = [['strings.js', STRINGS]];
  for (const id of PANEL_IDS) {
    const m = await import(`../../www/panels/${id}.js`);
    if (m.STRINGS) all.push([`panels/${id}.js`, m.STRINGS]);
  }
  return all;
}

/** The ASCII word "token(s)" outside a code-like identifier (<token>, token_ids) or a
 * placeholder ({tokens}, filled with a number). */
const ENGLISH_TOKEN = /(?<![\w<{])tokens?(?![\w>}])/i;

/** English strings allowed to hold Chinese characters, and why. */
const CJK_ALLOWED = {
  'lang.switch': 'the switch to Chinese is named in Chinese, as the reader who wants it reads it',
  // The Chinese examples an English page still offers (the attention panel's presets and the
  // encoder–decoder's Chinese model): the sentence itself is the example, translated beside it.
  'preset.nishishui': 'a Chinese example sentence, with its translation',
  'preset.tianqi': 'a Chinese example sentence, with its translation',
  'preset.xiaoming': 'a Chinese example sentence, with its translation',
  'preset.heads8': 'names the Chinese sentence the preset opens with',
  's2s.preset.xiaoming': 'an input of the Chinese encoder–decoder model',
  's2s.preset.xiaohong': 'an input of the Chinese encoder–decoder model',
  's2s.preset.baba': 'an input of the Chinese encoder–decoder model',
  // The seed article's own example is Chinese (你是谁, its numbers 0.1, 0.7, 0.2).
  'preset.article': 'the article’s Chinese example',
  'att.intro.article': 'the article’s Chinese example',
  'att.article.note': 'the article’s Chinese example',
};
const CJK = /[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]/;

test('no Chinese string says "token": the zh page says 词元', async () => {
  const bad = [];
  for (const [file, t] of await tables()) {
    for (const [key, s] of Object.entries(t.zh ?? {})) if (ENGLISH_TOKEN.test(s)) bad.push(`${file} ${key}: ${s}`);
  }
  assert.deepEqual(bad, []);
});

test('no English string holds Chinese characters (except the listed ones)', async () => {
  const bad = [];
  for (const [file, t] of await tables()) {
    for (const [key, s] of Object.entries(t.en ?? {})) if (CJK.test(s) && !(key in CJK_ALLOWED)) bad.push(`${file} ${key}: ${s}`);
  }
  assert.deepEqual(bad, []);
});

test('the checks see the words they look for', () => {
  assert.ok(ENGLISH_TOKEN.test('每一步写一个 token'));
  assert.ok(ENGLISH_TOKEN.test('Tokens'));
  assert.ok(!ENGLISH_TOKEN.test('<token>') && !ENGLISH_TOKEN.test('token_ids') && !ENGLISH_TOKEN.test('共 {tokens} 个词元'));
  assert.ok(CJK.test('今天天气真[MASK] → 好') && CJK.test('，') && !CJK.test('the cat — “sat” → 50 %'));
});
