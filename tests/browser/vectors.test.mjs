// The vectors panel in headless Chromium: a word's vector, the map with every label, hover,
// links that reopen the same map, the map changing while the recipe trains, neighbours and the
// cosine written out against the JS API, the TSV export, unknown words named, zh and en.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle, weightsTable, SHOTS } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The map's points: {row, label, cx, cy} in the order drawn. */
const points = (page, id = '#vec-map') => page.$$eval(`${id} g.pt`, (l) => l.map((g) => ({ row: +g.dataset.row, label: g.querySelector('text').textContent, cx: +g.querySelector('circle').getAttribute('cx'), cy: +g.querySelector('circle').getAttribute('cy') })));

test('a word is a vector: the trained and untrained rows of tok_emb.weight', async () => {
  const { page, errors, context } = await open(browser, '#panel=vectors&lang=zh&step=0');
  const rows = await weightsTable(page, '#vec-vector table');
  assert.equal(rows.length, 2);
  assert.equal(rows[0].length, 32);
  const api = await page.evaluate(async () => {
    const { engine } = await import('./engine.js');
    const bytes = new Uint8Array(await (await fetch('models/stack-zh.safetensors')).arrayBuffer());
    const m = engine.Model.fromFile(bytes);
    const r = m.vocab().indexOf('猫');
    const e = m.param('tok_emb.weight');
    const out = Array.from(e.data.subarray(r * 32, (r + 1) * 32));
    m.free();
    return out;
  });
  api.forEach((v, j) => assert.ok(Math.abs(v - rows[0][j]) < 1e-5, `entry ${j}`));
  assert.notDeepEqual(rows[0], rows[1], 'training moved it');
  assert.match(await page.textContent('#vec-numbers'), /^“猫” = \[-?\d\.\d\d, /);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the map: every word labelled, hover names it, a link reopens the same map', async () => {
  const { page, errors, context } = await open(browser, '#panel=vectors&lang=en&step=1&vaxes=13&vgroups=0');
  const pts = await points(page);
  const vocab = await page.evaluate(async () => {
    const { engine } = await import('./engine.js');
    const m = engine.Model.fromFile(new Uint8Array(await (await fetch('models/stack-en.safetensors')).arrayBuffer()));
    const v = m.vocab();
    m.free();
    return v.filter((w) => !/^<.*>$/.test(w));
  });
  assert.deepEqual(pts.map((p) => p.label).sort(), [...vocab].sort(), 'one labelled point per token');
  // By default the map is of the grouped words (the corpus's categories) alone.
  const grouped = await open(browser, '#panel=vectors&lang=en&step=1');
  const groups = await grouped.page.evaluate(async () => (await import('./engine.js')).engine.wordCategories('en').map(([w]) => w));
  assert.deepEqual((await points(grouped.page)).map((p) => p.label).sort(), [...groups].sort());
  // Labels do not cover each other: the boxes of the labels drawn in full never overlap, the
  // followed word's label is one of them, and most labels are (the rest are drawn faint).
  for (const [lang, g] of [['en', grouped.page], ['zh', (await open(browser, '#panel=vectors&lang=zh&step=1&embed=1', { width: 960, height: 540 })).page]]) {
    const boxes = await g.$$eval('#vec-map g.pt', (gs) => gs.map((e) => {
      const b = e.querySelector('text').getBoundingClientRect();
      return { word: e.querySelector('text').textContent, full: !e.classList.contains('crowded'), selected: e.classList.contains('selected'), b: [b.left, b.top, b.right, b.bottom] };
    }));
    const full = boxes.filter((x) => x.full);
    for (let i = 0; i < full.length; i++) {
      for (let j = i + 1; j < full.length; j++) {
        const [a, b] = [full[i].b, full[j].b];
        const ox = Math.min(a[2], b[2]) - Math.max(a[0], b[0]), oy = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
        assert.ok(ox <= 1 || oy <= 1, `${lang}: "${full[i].word}" and "${full[j].word}" overlap`);
      }
    }
    assert.ok(boxes.some((x) => x.selected && x.full), `${lang}: the followed word is labelled in full`);
    assert.ok(full.length >= 0.75 * boxes.length, `${lang}: ${full.length} of ${boxes.length} labels in full`);
  }
  await grouped.context.close();
  const cat = pts.find((p) => p.label === 'cat');
  // Pointed at where cat's dot shows: another word's dot may lie over its centre (in this map of
  // every word it can: with an earlier training of the shipped weights one did), where a
  // pointer would name that word.
  const at = await page.$eval(`#vec-map g.pt[data-row="${cat.row}"] circle`, (c) => {
    c.scrollIntoView({ block: 'center' });
    const b = c.getBoundingClientRect();
    for (let i = 1; i < 8; i++) {
      for (let j = 1; j < 8; j++) {
        const [x, y] = [b.left + (b.width * i) / 8, b.top + (b.height * j) / 8];
        if (Math.hypot(x - b.left - b.width / 2, y - b.top - b.height / 2) < b.width / 2 && c.parentElement.contains(document.elementFromPoint(x, y))) return { x, y };
      }
    }
    return null;
  });
  assert.ok(at, 'some of the dot of cat is visible');
  await page.mouse.move(at.x, at.y);
  const tip = await page.textContent('#vec-map .map-tip');
  assert.match(tip, /^cat \(animals\): \(-?[\d.]+, -?[\d.]+\)$/);
  assert.match(await page.textContent('#vec-map figcaption'), /PC1 .* PC3/);
  const again = await open(browser, page.url().slice(page.url().indexOf('#')));
  assert.deepEqual(await points(again.page), pts, 'the same map from the same link');
  await again.context.close();
  await page.screenshot({ path: SHOTS + 'vectors-map-en.png', fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('the map changes while the recipe trains, and the step is in the link', async () => {
  const { page, errors, context } = await open(browser, '#panel=vectors&lang=zh&step=2&vtrain=40');
  assert.match(await page.textContent('#vec-live-say'), /第 40 步/);
  const at40 = await points(page, '#vec-live-map');
  assert.match(page.url(), /vtrain=40/);
  // The same link replays the same training: the same map at step 40.
  const again = await open(browser, page.url().slice(page.url().indexOf('#')));
  assert.deepEqual(await points(again.page, '#vec-live-map'), at40);
  await again.context.close();
  const start = await open(browser, '#panel=vectors&lang=zh&step=2&vtrain=1');
  const at1 = await points(start.page, '#vec-live-map');
  await start.context.close();
  assert.equal(at1.length, at40.length);
  const moved = at1.filter((p, i) => Math.hypot(p.cx - at40[i].cx, p.cy - at40[i].cy) > 1e-3).length;
  assert.ok(moved > at1.length / 2, `${moved} of ${at1.length} words moved between steps 1 and 40`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('neighbours and the cosine written out agree with engine.space; a word not in the vocabulary is named', async () => {
  const { page, errors, context } = await open(browser, '#panel=vectors&lang=en&step=3&vword=cat&vword2=dog');
  const cos = await page.textContent('#vec-cos');
  const m = /= (-?[\d.]+) \/ \((-?[\d.]+) × (-?[\d.]+)\) = (-?[\d.]+)$/.exec(cos);
  assert.ok(m, cos);
  assert.ok(Math.abs(Number(m[1]) / (Number(m[2]) * Number(m[3])) - Number(m[4])) < 2e-3, cos);
  const list = await page.$$eval('#vec-near-list li', (l) => l.map((x) => x.textContent));
  assert.equal(list.length, 8);
  await page.fill('#vec-word', 'unicorn');
  await page.press('#vec-word', 'Enter');
  await settle(page);
  assert.match(await page.textContent('#panel-vectors .error'), /“unicorn” is not in the model’s vocabulary/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the TSV export: one row per token, vectors and words in the same order', async () => {
  const { page, errors, context } = await open(browser, '#panel=vectors&lang=zh&step=6');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#vec-dl-vectors')]);
  const vectors = (await (await import('node:fs/promises')).readFile(await dl.path(), 'utf8')).trimEnd().split('\n');
  const [dl2] = await Promise.all([page.waitForEvent('download'), page.click('#vec-dl-meta')]);
  const meta = (await (await import('node:fs/promises')).readFile(await dl2.path(), 'utf8')).trimEnd().split('\n');
  const V = await page.evaluate(async () => {
    const { engine } = await import('./engine.js');
    const m = engine.Model.fromFile(new Uint8Array(await (await fetch('models/stack-zh.safetensors')).arrayBuffer()));
    const n = m.vocab().length;
    m.free();
    return n;
  });
  assert.equal(vectors.length, V);
  assert.equal(meta.length, V + 1, 'a header, then one row per token');
  assert.ok(vectors.every((l) => l.split('\t').length === 32));
  assert.ok(meta.some((l) => l === '猫\tanimal'), 'the words with their groups');
  assert.deepEqual(errors, []);
  await context.close();
});
