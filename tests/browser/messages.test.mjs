// The engine's messages in the page's language: what a person can get wrong through the
// controls (a text of spaces, a sentence without [MASK], a target the model does not know, an
// empty prompt), a model file that does not download or does not read, and the engine's crash,
// are said in Chinese on a zh page and in English on an en page — and again in the other
// language when the language is switched while the message shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const CJK = /[\u4e00-\u9fff]/;

/** The text of the first visible `selector`, once there is one. */
async function shown(page, selector) {
  await page.waitForSelector(`${selector}:not([hidden])`, { state: 'visible' });
  return (await page.textContent(selector)).trim();
}

/** `text` is said in Chinese, not in the engine's English (`english`: words of that message). */
function chinese(text, english, what) {
  assert.ok(CJK.test(text), `${what}: ${text}`);
  assert.ok(!english.test(text), `${what}: not the English message: ${text}`);
}

const CASES = [
  // [panel, input, what is typed, where the message shows, the English message's words]
  ['attention', '#att-text', '   ', '#panel-attention .error', /has no tokens/],
  ['families&step=1', '#fam-mtext', '小明今天感冒了', '#panel-families .error', /has no \[MASK\]/],
  ['backprop', '#bp-target', 'xyzzyq', '#bp-error', /is not one token/],
  ['seq2seq', '#s2s-src', '   ', '#panel-seq2seq .error', /source has 0 tokens/],
];

test('what the controls get wrong is said in Chinese on a zh page, in English on an en page, and again after a switch', async () => {
  for (const [panel, input, typed, where, english] of CASES) {
    const zh = await open(browser, `#panel=${panel}&lang=zh`);
    await zh.page.fill(input, typed);
    await settle(zh.page);
    const said = await shown(zh.page, where);
    chinese(said, english, `${panel} zh`);
    if (input === '#bp-target') assert.ok(said.includes('xyzzyq'), said);
    // switched to English, the same message in English
    await zh.page.click('#lang-toggle');
    await settle(zh.page);
    const en = await shown(zh.page, where);
    assert.ok(!CJK.test(en.replace(/“[^”]*”/g, '')), `${panel} after the switch: ${en}`);
    assert.notEqual(en, said);
    assert.deepEqual(zh.errors, []);
    await zh.context.close();
  }
  // an en page from the start
  const en = await open(browser, '#panel=backprop&lang=en');
  await en.page.fill('#bp-target', 'xyzzyq');
  await settle(en.page);
  assert.match(await shown(en.page, '#bp-error'), /^“xyzzyq” is not one token of the vocabulary/);
  await en.context.close();
});

test('the learning panel: the worker\'s message about an empty prompt, in the page\'s language', async () => {
  const { page, errors, context } = await open(browser, '#panel=learn&lang=zh&step=4');
  await page.fill('#learn-prompt', '   ');
  await page.waitForFunction(() => /[\u4e00-\u9fff]/.test(document.querySelector('#learn-pred-list li')?.textContent ?? '') && document.querySelectorAll('#learn-pred-list li[data-token]').length === 0, null, { timeout: 30000 });
  chinese(await page.textContent('#learn-pred-list'), /no tokens/, 'predictions of an empty prompt');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the learning panel: a run that diverges (Adam, η = 1, one window a batch) is said in the page\'s language', async () => {
  const { page, errors, context } = await open(browser, '#panel=learn&lang=zh&step=3&lr=1&batch=1');
  await page.click('#learn-play');
  await page.waitForSelector('#learn-error:not([hidden])', { timeout: 60000 });
  const said = await shown(page, '#learn-error');
  chinese(said, /training diverged/, 'diverged');
  assert.match(said, /重置/);
  await page.click('#lang-toggle');
  await settle(page);
  assert.match(await page.textContent('#learn-error'), /^Training diverged: .*Reset/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a model file that does not download, or does not read, is said in the page\'s language', async () => {
  for (const [lang, status, body, want] of [['zh', 404, '', /无法下载 models\/stack-zh\.safetensors（404/], ['en', 404, '', /Could not download models\/stack-en\.safetensors \(404/], ['zh', 200, 'not a model', /模型文件无法读取：/]]) {
    const context = await browser.newContext();
    await context.route(/models\/stack-(zh|en)\.safetensors$/, (r) => r.fulfill({ status, body, contentType: 'application/octet-stream' }));
    const page = await context.newPage();
    await page.goto(`${process.env.BASE_URL ?? 'http://127.0.0.1:8000/'}#panel=backprop&lang=${lang}`);
    await page.waitForSelector('body[data-ready="1"]');
    await settle(page);
    const said = status === 404 ? await shown(page, '#bp-status') : await shown(page, '#bp-error');
    assert.match(said, want, said);
    if (lang === 'zh') assert.ok(CJK.test(said));
    await context.close();
  }
});

test('the engine\'s crash is said in the page\'s language', async () => {
  for (const [lang, want] of [['zh', /^计算引擎遇到内部错误后停止了（[^]*debugPanic was called[^]*）。请重新加载页面/], ['en', /^The engine stopped after an internal error \([^]*debugPanic was called[^]*\)\. Reload the page/]]) {
    const { page, context } = await open(browser, `#panel=attention&lang=${lang}`);
    await page.evaluate(async () => {
      const { engine } = await import('./engine.js');
      try { engine.debugPanic(); } catch { /* the crash */ }
      window.lmApp.setState({ step: 1 });
    });
    await page.waitForSelector('#main .error[role="alert"]');
    assert.match(await page.textContent('#main .error'), want);
    await context.close();
  }
});
