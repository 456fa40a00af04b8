// While what was typed cannot be computed, the panel says why in the page's language and the
// results still on screen are those of the last valid input, greyed out and named as such
// (www/stale.js) — in every panel with a sentence to type.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const CASES = [
  // [link, input, what the input held, a part of the results that must be greyed out, a valid input to type after]
  ['#panel=seq2seq&lang=zh&step=1', '#s2s-src', '小明今天感冒了', '#s2s-lines', '小红今天感冒了'],
  ['#panel=attention&lang=zh&step=4', '#att-text', '今天天气真好', '#chart-weights', '你是谁'],
  ['#panel=layer&lang=zh&step=2', '#lay-text', '今天天气真好，适合去', '#lay-ln', '今天天气真好'],
  ['#panel=families&lang=zh&step=1', '#fam-mtext', '小明今天[MASK]了，他应该多喝水', '#fam-m-say', '小明今天[MASK]了，他应该吃药'],
  ['#panel=families&lang=en&step=2', '#fam-cprompt', 'Tom has a cold today,', '#fam-c-att', 'Tom is hungry today,'],
];

for (const [hash, input, was, part, next] of CASES) {
  test(`${hash}: emptied, the reason is said and the last results are greyed out and named; valid again, they are fresh`, async () => {
    const { page, errors, context } = await open(browser, hash);
    const zh = hash.includes('lang=zh');
    assert.equal(await page.inputValue(input), was);
    const view = () => page.evaluate((part) => {
      const panel = document.querySelector('.panel:not([hidden])');
      const errs = [...panel.querySelectorAll('.error')].filter((e) => !e.hidden && e.getClientRects().length);
      const p = document.querySelector(part);
      const staleBox = p.closest('.stale');
      return { errors: errs.map((e) => e.textContent), stale: !!staleBox, staleFor: staleBox?.dataset.staleFor ?? null, inert: !!p.closest('[inert]'), opacity: staleBox ? Number(getComputedStyle(staleBox).opacity) : 1, anyStale: panel.querySelectorAll('.stale').length };
    }, part);
    let v = await view();
    assert.deepEqual(v.errors, []);
    assert.equal(v.anyStale, 0);
    await page.fill(input, '');
    await settle(page);
    v = await view();
    assert.equal(v.errors.length, 1, `one message: ${v.errors}`);
    assert.match(v.errors[0], zh ? /[\u4e00-\u9fff]/ : /^[^\u4e00-\u9fff]*$/, 'in the page\'s language');
    assert.ok(v.errors[0].includes(`“${was}”`), `the message names the input the greyed results are for: ${v.errors[0]}`);
    assert.ok(v.stale, `${part} is marked stale`);
    assert.equal(v.staleFor, was);
    assert.ok(v.opacity < 0.6, 'and looks it');
    assert.ok(v.inert, 'and is inert (no tab stop, not read out as the current answer)');
    assert.equal(await page.inputValue(input), '', 'what was typed (nothing) stays in the box');
    // Valid again: the results are fresh.
    await page.fill(input, next);
    await settle(page);
    v = await view();
    assert.deepEqual(v.errors, []);
    assert.equal(v.anyStale, 0);
    assert.equal(v.inert, false);
    assert.deepEqual(errors, []);
    await context.close();
  });
}
