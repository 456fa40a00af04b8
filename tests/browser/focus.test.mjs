// Keyboard focus on an embedded slide (960×540): every element Tab lands on, in every panel and
// step, in both languages, is drawn where it can be seen — not clipped to a pixel, not off the
// frame, not hidden under an ancestor that cuts it off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, settle } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The focused element's visible box: its rectangle cut by the frame and by every ancestor that clips. */
const focusedBox = (page) => page.evaluate(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  let r = e.getBoundingClientRect();
  let box = { l: r.left, t: r.top, r: r.right, b: r.bottom };
  const cut = (c) => { box = { l: Math.max(box.l, c.left), t: Math.max(box.t, c.top), r: Math.min(box.r, c.right), b: Math.min(box.b, c.bottom) }; };
  cut({ left: 0, top: 0, right: innerWidth, bottom: innerHeight });
  let hidden = false;
  for (let a = e; a && a !== document.documentElement; a = a.parentElement) {
    const cs = getComputedStyle(a);
    if (cs.visibility === 'hidden' || Number(cs.opacity) === 0) hidden = true;
    if (a !== e && (cs.overflow !== 'visible' || cs.clip !== 'auto')) cut(a.getBoundingClientRect());
    if (cs.clip !== 'auto' && cs.clip.startsWith('rect(0px, 0px, 0px, 0px)')) hidden = true;
    if (cs.clipPath !== 'none' && cs.clipPath.includes('inset(50%')) hidden = true;
  }
  const w = Math.max(0, box.r - box.l), h = Math.max(0, box.b - box.t);
  const name = `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''} “${(e.textContent || e.getAttribute('aria-label') || '').trim().slice(0, 30)}”`;
  return { name, w, h, hidden };
});

for (const lang of ['zh', 'en']) {
  test(`embedded (${lang}): every element Tab reaches, in every panel and step, has a visible box`, async () => {
    const { page, errors, context } = await open(browser, `#panel=attention&lang=${lang}&embed=1`, { width: 960, height: 540 });
    const panels = await page.evaluate(() => Object.entries(window.lmApp.panels).map(([id, p]) => [id, p.steps]));
    const bad = [];
    for (const [panel, steps] of panels) {
      for (let step = 0; step < steps; step++) {
        await page.evaluate(({ panel, step }) => { document.activeElement?.blur(); window.lmApp.setState({ panel, step }); }, { panel, step });
        await settle(page);
        const seen = new Set();
        for (let i = 0; i < 60; i++) {
          await page.keyboard.press('Tab');
          const f = await focusedBox(page);
          if (!f) break;
          if (seen.has(f.name)) break; // round the frame once
          seen.add(f.name);
          if (f.hidden || f.w < 4 || f.h < 4) bad.push(`${panel} step ${step + 1}, Tab ${i + 1}: ${f.name} (${f.w.toFixed(0)}×${f.h.toFixed(0)}${f.hidden ? ', hidden' : ''})`);
        }
        // Tab must not have changed the step (the slide stays put).
        assert.equal(await page.evaluate(() => window.lmApp.state.step), step);
      }
    }
    assert.deepEqual(bad, []);
    assert.deepEqual(errors, []);
    await context.close();
  });
}
