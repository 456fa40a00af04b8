// The backpropagation panel in headless Chromium: the wrong-answer state made in the page and
// made again here from the shipped file with model.blame; p − y read back from its table; the
// flow of the blame drawn; the update's printed numbers satisfy new = old − η × grad; steps put
// the right answer first again and the link replays them; the step-size curve's marked minimum
// is where the engine's loss is lowest; an unknown target gives the engine's message; every
// step fits an embedded 960×540 frame in both languages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle, SHOTS } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/**
 * In the page, independently of the panel: the shipped stack model of `lang`, taught `wrong`
 * by plain-SGD steps of η = 0.01 until it is first, then `steps` steps of η = `lr` towards
 * `target`; its blame and step-size curve for the example.
 */
const apiState = (page, { lang, prompt, target, wrong, lr, steps }) => page.evaluate(async ({ lang, prompt, target, wrong, lr, steps }) => {
  const { engine } = await import('./engine.js');
  const { STEP_LRS } = await import('./panels/backprop.js');
  const bytes = new Uint8Array(await (await fetch(`models/stack-${lang}.safetensors`)).arrayBuffer());
  const m = engine.Model.fromFile(bytes);
  let n = 0;
  while (m.blame(prompt, wrong, { top: 1 }).top[0].token !== wrong && n < 100) { m.blame(prompt, wrong, { lr: 0.01, apply: true }); n++; }
  const wrongTop = m.blame(prompt, target, { top: 3, lr: 0 }).top.map((x) => x.token);
  for (let i = 0; i < steps; i++) m.blame(prompt, target, { lr, apply: true });
  const b = m.blame(prompt, target, { lr, top: 10 });
  const size = m.stepSize(prompt, target, { lrs: STEP_LRS });
  const vocab = m.vocab();
  const out = { n, wrongTop, dlogits: Object.fromEntries(b.top.map((x) => [x.token, b.dlogits[x.id]])), probs: Object.fromEntries(b.top.map((x) => [x.token, b.probs[x.id]])),
    targetG: b.dlogits[b.target.id], stages: b.stages.map((s) => [s.name, s.norm]), top: b.top[0].token, losses: Array.from(size.losses), heldout: Array.from(size.heldout), h0: size.heldoutLoss, best: size.best.index, V: vocab.length };
  m.free();
  return out;
}, { lang, prompt, target, wrong, lr, steps });

const ZH = { lang: 'zh', prompt: '今天天气真好，适合去', target: '散步', wrong: '打游戏', lr: 0.001 };
const EN = { lang: 'en', prompt: 'the weather is nice today , a good day for a', target: 'walk', wrong: 'swim', lr: 0.001 };

const dlTable = (page) => page.$$eval('#bp-dlogits tr[data-id]', (rows) => rows.map((r) => {
  const c = [...r.children].map((x) => x.textContent);
  return { token: c[0], p: Number(c[1]), y: Number(c[2]), g: Number(c[3]), value: Number(r.querySelector('.bp-g').dataset.value) };
}));

test('zh: the wrong answer first, p − y, the flow, the update, the steps that fix it, the step size', async () => {
  const { page, errors, context } = await open(browser, '#panel=backprop&lang=zh');
  // 1 · the wrong-answer state: 打游戏 first, made as the page says
  const api = await apiState(page, { ...ZH, steps: 0 });
  assert.equal(api.wrongTop[0], '打游戏');
  const first = await page.$eval('#bp-bars-list li', (li) => li.dataset.token);
  assert.equal(first, '打游戏');
  const say = await page.textContent('#bp-wrong-say');
  assert.ok(say.includes(`${api.n} 步`) && say.includes('η = 0.01'), say);
  // 2 · the loss: L = −log P(散步)
  const loss = await page.textContent('#bp-loss');
  const m = loss.match(/−log ([\d.]+) = ([\d.]+)/);
  assert.ok(m, loss);
  // (p and L are printed to 4 decimals: rounding p moves −log p by up to 0.00005 / p, which is
  // 0.0025 for a p of 0.02, and L itself by 0.00005)
  assert.ok(Math.abs(-Math.log(Number(m[1])) - Number(m[2])) <= 0.5e-4 / (Number(m[1]) - 0.5e-4) + 0.5e-4, loss);
  // 3 · p − y: the table's values are the API's, and p − y of its own columns to the digits
  const rows = await dlTable(page);
  assert.ok(rows.length >= 10);
  for (const r of rows) {
    assert.ok(Math.abs(r.p - r.y - r.g) <= 1.1e-4, `${r.token}: ${r.p} − ${r.y} vs ${r.g}`);
    const want = r.token === '散步' ? api.targetG : api.dlogits[r.token];
    assert.ok(want !== undefined, r.token);
    assert.ok(Math.abs(r.value - want) < 1e-6, `${r.token}: ${r.value} vs ${want}`);
  }
  assert.equal(rows.find((r) => r.token === '散步').y, 1);
  assert.ok(rows.find((r) => r.token === '打游戏').g > 0);
  // 4 · the flow: one band per stage from the logits to the embeddings, widths ∝ norm
  const bands = await page.$$eval('#bp-flow rect.bp-band', (rs) => rs.map((r) => [r.dataset.stage, Number(r.dataset.norm), Number(r.getAttribute('width'))]));
  assert.deepEqual(bands.map((b) => b[0]), api.stages.map((s) => s[0]));
  bands.forEach((b, i) => assert.ok(Math.abs(b[1] - api.stages[i][1]) < 1e-5 * (1 + b[1]), b[0]));
  const k = bands[0][2] / bands[0][1];
  for (const b of bands) assert.ok(Math.abs(b[2] - k * b[1]) < 0.02 + 1e-3 * b[2], `${b[0]} width ${b[2]} vs ${k * b[1]}`);
  assert.ok((await page.textContent('#bp-inputs-say')).includes('“'));
  // 5 · the update: new = old − η × grad to the printed digits
  const upd = await page.textContent('#bp-update');
  const u = upd.match(/= (-?[\d.]+) − ([\d.]+) × \((-?[\d.]+)\) = (-?[\d.]+)$/);
  assert.ok(u, upd);
  const [old, lr, grad, neu] = u.slice(1).map(Number);
  assert.equal(lr, 0.001);
  assert.ok(Math.abs(neu - (old - lr * grad)) <= 1.5e-6, `${neu} vs ${old} − ${lr}×${grad}`);
  // 7 · the step size: the marked minimum of the held-out loss is the engine's lowest (the
  // example's own has a long flat bottom here, and is not marked)
  const argmin = (xs) => xs.reduce((bi, v, i, a) => (v < a[bi] ? i : bi), 0);
  assert.equal(await page.$eval('#bp-size-safe', (c) => Number(c.dataset.index)), argmin(api.heldout));
  assert.equal(await page.$('#bp-size-best'), null);
  // … and the held-out loss after the same steps is drawn beside it, with what the sentence says
  // of it read off those numbers: where it climbs above where it started, and how high.
  const STEP_LRS = await page.evaluate(async () => (await import('./panels/backprop.js')).STEP_LRS);
  assert.equal(await page.$eval('#bp-size-heldout', (l) => l.getAttribute('points').trim().split(' ').length), STEP_LRS.length);
  const last = api.heldout.length - 1;
  let bad = last;
  while (bad > 0 && api.heldout[bad - 1] > api.h0 + 0.01) bad--;
  assert.ok(api.heldout[last] > 10 * api.h0, `a huge step wrecks the held-out loss (${api.h0} → ${api.heldout[last]})`);
  const sizeSay = await page.textContent("#bp-size-say");
  assert.ok(sizeSay.includes(`η ≈ ${Number(STEP_LRS[bad].toPrecision(2))} 起`), `${sizeSay} names η ${STEP_LRS[bad]}`);
  assert.ok(sizeSay.includes(Math.round(api.heldout[last]).toLocaleString("en-US")), `${sizeSay} says the held-out loss at the end`);
  assert.ok(await page.$('.bp-heldout-off'), 'the held-out loss off the chart is marked');
  await page.evaluate(() => window.lmApp.setState({ step: 3 }));
  await settle(page);
  await page.screenshot({ path: `${SHOTS}backprop-zh-flow.png`, fullPage: true });
  // 6 · steps until 散步 is first; the link counts them and replays them
  let n = 0;
  while ((await page.$eval('#bp-steps-say', (p) => p.dataset.first)) !== '散步' && n < 30) {
    await page.click('#bp-step');
    await settle(page);
    n++;
  }
  assert.ok(n > 0 && n < 30, `steps: ${n}`);
  assert.ok(page.url().includes(`bsteps=${n}`), page.url());
  const after = await apiState(page, { ...ZH, steps: n });
  assert.equal(after.top, '散步');
  assert.ok((await page.textContent('#bp-steps-say')).includes('散步'));
  const curve = await page.$$eval('#bp-history circle', (c) => c.length);
  assert.equal(curve, n + 1);
  const link = page.url().slice(page.url().indexOf('#'));
  const again = await open(browser, link);
  assert.equal(await again.page.$eval('#bp-steps-say', (p) => p.dataset.first), '散步');
  await again.context.close();
  assert.deepEqual(errors, []);
  await context.close();
});

test('en: swim taught first, walk after steps; an unknown target names the problem', async () => {
  const { page, errors, context } = await open(browser, '#panel=backprop&lang=en&step=5');
  assert.equal(await page.$eval('#bp-bars-list li', (li) => li.dataset.token), 'swim');
  const say = await page.textContent('#bp-wrong-say');
  assert.ok(/taught the wrong answer “swim” by \d+ plain-SGD steps of η = 0\.01 on this one example/.test(say), say);
  await page.screenshot({ path: `${SHOTS}backprop-en-step5.png`, fullPage: true });
  // The learner picks the tensor: its entry with the largest gradient is written out.
  await page.selectOption('#bp-weight', { value: 'tok_emb.weight' });
  await settle(page);
  assert.match(page.url(), /bweight=tok_emb\.weight/);
  const d = await page.$eval('#bp-update', (p) => ({ ...p.dataset, text: p.textContent }));
  assert.match(d.text, /^tok_emb\.weight\[\d+\]/, d.text);
  assert.ok(Math.abs(Number(d.new) - (Number(d.old) - Number(d.lr) * Number(d.grad))) < 1e-6, JSON.stringify(d));
  // A name that is not a tensor of the model (a malformed link) falls back to the largest.
  const bad = await open(browser, '#panel=backprop&lang=en&step=4&bweight=nope');
  assert.ok(await bad.page.isHidden('#bp-error'));
  assert.ok((await bad.page.textContent('#bp-update')).length > 10);
  await bad.context.close();
  await page.fill('#bp-target', 'xyzzyq');
  await settle(page);
  const err = await page.textContent('#bp-error');
  assert.ok(await page.isVisible('#bp-error'));
  assert.match(err, /xyzzyq/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('every step fits an embedded frame (960×540, 1280×720), zh and en', async () => {
  for (const [w, h] of [[960, 540], [1280, 720]]) {
    for (const lang of ['zh', 'en']) {
      const { page, context } = await open(browser, `#panel=backprop&lang=${lang}&embed=1`, { width: w, height: h });
      for (let step = 0; step < 7; step++) {
        await page.evaluate((s) => window.lmApp.setState({ step: s }), step);
        await settle(page);
        // What the step shows (its visible elements, the screen-reader table aside) is inside the frame.
        const fit = await page.evaluate(() => {
          const d = document.documentElement, sec = document.querySelector('#panel-backprop .step-section.current');
          let bottom = 0, right = 0;
          for (const e of [sec, ...sec.querySelectorAll('*')]) {
            if (e.closest('.sr-only')) continue;
            const r = e.getBoundingClientRect();
            if (!r.width || !r.height) continue;
            bottom = Math.max(bottom, r.bottom);
            right = Math.max(right, r.right);
          }
          return { scrollW: d.scrollWidth, scrollH: d.scrollHeight, bottom, right, w: innerWidth, h: innerHeight };
        });
        const where = `${lang} ${w}×${h} step ${step}: ${JSON.stringify(fit)}`;
        assert.ok(fit.scrollW <= fit.w && fit.scrollH <= fit.h, where);
        assert.ok(fit.bottom <= fit.h + 1 && fit.right <= fit.w + 1, where);
        // … and its figures' text is large enough to read when projected: every SVG label's
        // rendered font size (font-size × the drawing's scale) is at least 11 px.
        const small = await page.evaluate(() => [...document.querySelectorAll('#panel-backprop .step-section.current svg text')]
          .filter((t) => !t.closest('.sr-only') && t.getBoundingClientRect().width > 0)
          .map((t) => [t.textContent, Number(getComputedStyle(t).fontSize.replace('px', '')) * t.getScreenCTM().a])
          .filter(([, px]) => px < 11));
        assert.deepEqual(small, [], `${where}: text under 11 px`);
        if (w === 960 && (step === 0 || step === 3 || step === 6)) await page.screenshot({ path: `${SHOTS}backprop-embed-${lang}-${step}.png` });
      }
      await context.close();
    }
  }
});
