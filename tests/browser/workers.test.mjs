// Training on several workers in the page (www/training/shards.js): a link's loss curve is
// bit-identical on 1, 2 and 4 workers, for the learning panel and the encoder–decoder's
// retraining; the helpers really compute (the worker count the page reports); the settings'
// Workers choice is kept on this device and applied live; and where the helpers cannot start
// the page trains alone, to the same numbers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const KEY = 'lm-playground.workers';
const bits = (xs) => Array.from(new Uint32Array(Float32Array.from(xs).buffer));

/** Opens `hash` with the Workers choice `n` stored (null: none), optionally with shard-worker.js unreachable. */
async function openWith(hash, n, { noHelpers = false } = {}) {
  return open(browser, hash, {
    setup: async (context) => {
      if (n !== null) await context.addInitScript(([k, v]) => localStorage.setItem(k, v), [KEY, String(n)]);
      if (noHelpers) await context.route('**/shard-worker.js', (r) => r.fulfill({ status: 404, body: 'gone' }));
    },
  });
}

const LEARN = '#panel=learn&lang=en&corpus=en&size=small&batch=16&tseed=3&train=120&step=3';

async function learnRun(n, opts) {
  const { page, errors, context } = await openWith(LEARN, n, opts);
  await page.waitForFunction(() => Number(document.querySelector('#learn-status').dataset.step) >= 120 && document.querySelector('#learn-play').getAttribute('aria-pressed') === 'false', null, { timeout: 120000 });
  const r = await page.evaluate(() => ({ losses: window.lmApp.panels.learn.losses.slice(), workers: window.lmApp.panels.learn.workers, status: document.querySelector('#learn-status').textContent }));
  assert.deepEqual(errors, []);
  await context.close();
  return r;
}

test('the learning panel: the same loss bits on 1, 2 and 4 workers, and the helpers compute', async () => {
  const one = await learnRun(1);
  assert.equal(one.losses.length, 120);
  assert.equal(one.workers, 1);
  assert.match(one.status, /steps\/s on 1 worker$/);
  for (const n of [2, 4]) {
    const r = await learnRun(n);
    assert.equal(r.workers, n, `the last steps ran on ${n} workers: ${r.status}`);
    assert.match(r.status, new RegExp(`on ${n} workers`));
    assert.deepEqual(bits(r.losses), bits(one.losses), `${n} workers`);
  }
  // helpers that cannot start: the coordinator trains alone, to the same numbers
  const alone = await learnRun(4, { noHelpers: true });
  assert.equal(alone.workers, 1);
  assert.deepEqual(bits(alone.losses), bits(one.losses));
});

test('the encoder–decoder retrains to the same bits on 1 and 2 workers', async () => {
  const run = async (n) => {
    const { page, errors, context } = await openWith('#panel=seq2seq&lang=zh&step=4&rtrain=30', n);
    await page.waitForFunction(() => Number(document.querySelector('#s2s-train-status')?.dataset.step) >= 30 && document.querySelector('#s2s-play').getAttribute('aria-pressed') === 'false', null, { timeout: 120000 });
    const r = await page.evaluate(() => ({ losses: window.lmApp.panels.seq2seq.training.losses.slice(), workers: window.lmApp.panels.seq2seq.training.workers }));
    assert.deepEqual(errors, []);
    await context.close();
    return r;
  };
  const a = await run(1);
  const b = await run(2);
  assert.equal(a.losses.length, 30);
  assert.equal(b.workers, 2);
  assert.deepEqual(bits(b.losses), bits(a.losses));
});

test('the Workers choice: Auto by default, kept on this device, applied while training', async () => {
  const { page, errors, context } = await openWith('#panel=learn&lang=zh&step=3', null);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.equal(await page.inputValue('#learn-workers'), 'auto');
  const auto = await page.$eval('#learn-workers option[value="auto"]', (o) => o.textContent);
  assert.equal(auto, `自动（${Math.min(4, cores)}）`);
  // the choice says what Auto does, in the page's language
  assert.match(await page.$eval('#learn-workers', (s) => s.title), /“自动”.*更快.*完全相同/);
  await page.selectOption('#learn-workers', '2');
  assert.equal(await page.evaluate((k) => localStorage.getItem(k), KEY), '2');
  await page.click('#learn-play');
  await page.waitForFunction(() => window.lmApp.panels.learn.workers === 2 && Number(document.querySelector('#learn-status').dataset.step) >= 30, null, { timeout: 60000 });
  await page.selectOption('#learn-workers', '1');
  await page.waitForFunction(() => window.lmApp.panels.learn.workers === 1, null, { timeout: 60000 });
  await page.click('#learn-play');
  await page.selectOption('#learn-workers', 'auto');
  assert.equal(await page.evaluate((k) => localStorage.getItem(k), KEY), null);
  assert.deepEqual(errors, []);
  await context.close();
});
