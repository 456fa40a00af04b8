// What the page loads, in headless Chromium: each panel, opened fresh, fetches the shipped
// weights (www/models/*.safetensors) it draws and no others — the learning panel none at all —
// and another panel's weights come only once that panel is opened. The first heatmap drawn
// sets the performance mark `first-heatmap` that `cargo xtask bench` reports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, settle, BASE } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The files each panel draws from, by panel id (every panel is listed). */
const WEIGHTS = {
  vectors: ['stack'],
  attention: ['stack'],
  layer: ['stack'],
  seq2seq: ['seq2seq'],
  families: ['causal', 'masked', 'seq2seq'],
  learn: [],
  backprop: ['stack'],
};

/** Opens `hash` in a fresh context, recording the model files requested ("stack-en", …). */
async function openCounting(hash) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const files = [], errors = [];
  page.on('request', (r) => {
    const m = r.url().match(/\/models\/([^/?#]+)\.safetensors/);
    if (m) files.push(m[1]);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(BASE + hash);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  await settle(page);
  return { page, context, files, errors };
}

test('each panel opened fresh loads the weights it draws and no others', async () => {
  for (const [lang, ids] of [['en', Object.keys(WEIGHTS)], ['zh', ['learn', 'families']]]) {
    for (const id of ids) {
      const { page, context, files, errors } = await openCounting(`#panel=${id}&lang=${lang}`);
      if (lang === 'en' && id === 'vectors') {
        const panels = await page.evaluate(() => Object.keys(window.lmApp.panels));
        assert.deepEqual([...panels].sort(), Object.keys(WEIGHTS).sort(), 'every panel is listed here');
      }
      assert.deepEqual([...files].sort(), WEIGHTS[id].map((k) => `${k}-${lang}`), `#panel=${id}&lang=${lang}`);
      assert.deepEqual(errors, []);
      await context.close();
    }
  }
});

test('another panel’s weights load when it is opened, not before', async () => {
  const { page, context, files, errors } = await openCounting('#panel=learn&lang=en');
  assert.deepEqual(files, [], 'the learning panel draws no shipped model');
  await page.evaluate(() => window.lmApp.setState({ panel: 'seq2seq' }));
  await settle(page);
  assert.deepEqual(files, ['seq2seq-en']);
  await page.evaluate(() => window.lmApp.setState({ panel: 'families' }));
  await settle(page);
  assert.deepEqual([...files].sort(), ['causal-en', 'masked-en', 'seq2seq-en'], 'the seq2seq model is fetched once');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the first heatmap drawn sets the performance mark first-heatmap', async () => {
  const { page, context } = await openCounting('#lang=en');
  const marks = await page.evaluate(() => performance.getEntriesByName('first-heatmap').map((e) => e.startTime));
  assert.equal(marks.length, 1, 'set once');
  assert.ok(marks[0] > 0, `${marks[0]} ms after navigation`);
  assert.ok(await page.evaluate(() => !!window.lmApp.panels.attention.weights.layout), 'the weights heatmap is drawn');
  await context.close();
});
