// The three families panel in headless Chromium: the masks of encoder-only, decoder-only and
// encoder–decoder; the encoder-only model fills 小明今天[MASK]了 from the advice on its right;
// the decoder-only model continues the situation; the encoder–decoder answers; links, embed,
// both languages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle, ink, weightsTable, SHOTS } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const top = (page) => page.$$eval('#fam-m-list li', (l) => l.map((x) => [x.dataset.token, Number(x.dataset.prob)]));

test('the three masks: everyone, only before, source in full and answer causal', async () => {
  const { page, errors, context } = await open(browser, '#panel=families&lang=zh');
  const enc = await weightsTable(page, '#fam-mask-enc table');
  const dec = await weightsTable(page, '#fam-mask-dec table');
  const encdec = await weightsTable(page, '#fam-mask-encdec table');
  const N = enc.length;
  assert.ok(N >= 8, `${N} tokens`);
  assert.ok(enc.every((r) => r.every((v) => v === 1)), 'encoder-only: every cell allowed');
  dec.forEach((r, i) => r.forEach((v, j) => assert.equal(v, j <= i ? 1 : 0, `decoder-only ${i},${j}`)));
  // the source rows of the encoder–decoder see the whole source and nothing after it
  assert.equal(encdec[0].filter((v) => v === 1).length, encdec[0].indexOf(0) < 0 ? N : encdec[0].indexOf(0));
  assert.ok(encdec[N - 1].every((v) => v === 1), 'the last answer token sees everything before it');
  for (const k of ['enc', 'dec', 'encdec']) assert.ok(await ink(page, `#fam-mask-${k} canvas`) > 1000, k);
  assert.deepEqual(errors, []);
  await context.close();
});

test('encoder-only fills [MASK] from the right side: 多喝水 → 感冒, 吃药 → something else', async () => {
  const { page, errors, context } = await open(browser, '#panel=families&lang=zh&step=1');
  const a = await top(page);
  assert.equal(a[0][0], '感冒', JSON.stringify(a));
  assert.ok(a[0][1] > 0.3 && a[0][1] <= 1);
  for (let i = 1; i < a.length; i++) assert.ok(a[i][1] <= a[i - 1][1], 'sorted');
  // The sentence's share of attention after the mask is computed from the drawn row.
  const say = await page.$eval('#fam-m-say', (e) => ({ top: e.dataset.top, right: Number(e.dataset.right) }));
  assert.equal(say.top, '感冒');
  const table = await weightsTable(page, '#fam-m-att table');
  const rows = await page.$$eval('#fam-m-att table tbody th', (l) => l.map((x) => x.textContent));
  const p = rows.indexOf('[MASK]');
  assert.ok(p >= 0, rows.join(' '));
  const after = table[p].slice(p + 1).reduce((x, y) => x + y, 0);
  assert.ok(Math.abs(after - say.right) < 1e-3, `${after} vs ${say.right}`);
  await page.getByRole('button', { name: '吃药' }).click();
  await settle(page);
  assert.match(page.url(), /mtext=/);
  const b = await top(page);
  assert.notEqual(b[0][0], '感冒', `with 吃药 on the right: ${JSON.stringify(b)}`);
  await page.fill('#fam-mtext', '小明今天感冒了');
  await settle(page);
  assert.equal(await page.isVisible('#panel-families .error'), true, 'no [MASK]: a message');
  // The choices of the ending: ✓ marks the one the sentence says; a sentence without the slot
  // (or an empty one) says none of them.
  const ticked = () => page.$$eval('#fam-variants button', (l) => l.filter((b) => b.textContent.startsWith('✓')).length);
  for (const text of ['小明今天感冒了', '']) {
    await page.fill('#fam-mtext', text);
    await settle(page);
    assert.equal(await ticked(), 0, `"${text}": no ending ticked`);
  }
  await page.fill('#fam-mtext', '小明今天[MASK]了，他应该吃药');
  await settle(page);
  assert.equal(await ticked(), 1, 'the sentence\'s own ending ticked');
  assert.deepEqual(errors, []);
  await context.close();
});

test('decoder-only continues 小明今天感冒了， with 他应该多喝水; encoder–decoder answers; English', async () => {
  const { page, errors, context } = await open(browser, '#panel=families&lang=zh&step=2');
  const out = await page.$$eval('#fam-c-out .token', (l) => l.map((x) => x.dataset.token).join(''));
  assert.match(out, /^他应该多喝水/);
  const say = await page.$eval('#fam-c-say', (e) => e.dataset.look);
  assert.ok(say.length > 0);
  assert.equal(await page.$$eval('#fam-e-out .token', (l) => l.map((x) => x.dataset.token).join('')), '他应该多喝水<eos>');
  assert.match(await page.getAttribute('#fam-e-link', 'href'), /panel=seq2seq/);
  const en = await open(browser, '#panel=families&lang=en&step=1');
  assert.equal((await top(en.page))[0][0], 'cold');
  assert.match(await en.page.$$eval('#fam-c-out .token', (l) => l.map((x) => x.dataset.token).join(' ')), /^he should drink more water/);
  assert.deepEqual(en.errors, []);
  await en.context.close();
  assert.deepEqual(errors, []);
  await context.close();
});

test('English text the models write has a space after a comma; Chinese text has none', async () => {
  const { page, errors, context } = await open(browser, '#panel=families&lang=en&step=2');
  await page.fill('#fam-cprompt', 'this morning my sister is ill');
  await settle(page);
  const say = await page.textContent('#fam-c-say');
  assert.match(say, /“, she should see a doctor”/, say);
  assert.doesNotMatch(say, /[,;!?][a-z]/i);
  const zh = await open(browser, '#panel=families&lang=zh&step=2');
  await zh.page.fill('#fam-cprompt', '小明今天感冒了');
  await settle(zh.page);
  assert.match(await zh.page.textContent('#fam-c-say'), /“，他应该多喝水”/);
  await zh.context.close();
  assert.deepEqual(errors, []);
  await context.close();
});

test('embedded at 960×540, each family is one link and one frame', async () => {
  for (const lang of ['zh', 'en']) {
    for (let step = 0; step < 4; step++) {
      const { page, errors, context } = await open(browser, `#panel=families&lang=${lang}&embed=1&step=${step}`, { width: 960, height: 540 });
      const fits = await page.evaluate(() => document.documentElement.scrollHeight <= innerHeight + 1 && document.documentElement.scrollWidth <= innerWidth + 1);
      await page.screenshot({ path: `${SHOTS}families-embed-${lang}-${step + 1}.png` });
      assert.ok(fits, `${lang} step ${step + 1} fits 960×540`);
      assert.deepEqual(errors, []);
      await context.close();
    }
  }
});
