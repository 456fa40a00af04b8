// The page strict and accessible, everywhere: every panel and every step, in both languages,
// on the page and embedded, with the interactions that build new DOM (the tables opened, a
// chart pointed at and stepped through by keyboard, a few training steps, an error shown).
//
// - Content-Security-Policy (index.html's <meta>): a listener added before any of the page's
//   scripts records every `securitypolicyviolation`, and the console's CSP errors are caught
//   too; none may occur. (A worker made from one of the page's files is not under the
//   document's policy, which a <meta> cannot give it: its rules are its response's headers.)
// - axe-core: no serious or critical violation in any of those states; moderate and minor
//   ones are printed once each, as information.
//
// axe is evaluated into the page through the DevTools protocol (page.evaluate), which the
// page's policy does not govern; an inline <script> tag would be refused, rightly. The CSP
// record is read before axe runs in each state, so nothing axe does is counted as the page's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, BASE, settle } from './helpers.mjs';

const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** A page opened at `hash` with the violation listener in place before its scripts. */
async function strictPage(hash, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`));
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || /Content.Security.Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  await page.goto(BASE + hash);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  await settle(page);
  return { page, context, problems };
}

/** What the page broke since the last call: CSP violations and console errors, with `where`. */
async function cspSince(page, problems, where) {
  const v = await page.evaluate(() => window.__csp.splice(0));
  return [...v, ...problems.splice(0)].map((x) => `${where}: ${x}`);
}

const info = new Map(); // rule → {impact, help, where} (printed once at the end)

/**
 * axe on the document but the hidden panels, or on the parts `include` selects: the serious
 * and critical violations, as lines naming `where`.
 */
async function axe(page, where, include = null) {
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(AXE);
  const found = await page.evaluate((include) => {
    const context = include ? { include: include.map((s) => [s]) } : { exclude: [...document.querySelectorAll('.panel[hidden]')].map((p) => [`#${p.id}`]) };
    return window.axe.run(context, { resultTypes: ['violations'] }).then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })));
  }, include);
  const bad = [];
  for (const v of found) {
    if (v.impact === 'serious' || v.impact === 'critical') bad.push(`${where}: ${v.impact} ${v.id} (${v.help}): ${v.nodes.slice(0, 4).join(', ')}`);
    else if (!info.has(v.id)) info.set(v.id, `${v.impact} ${v.id} (${v.help}), first at ${where}: ${v.nodes.slice(0, 2).join(', ')}`);
  }
  return bad;
}

/** Opens every closed <details> of the shown panel (the tables behind the charts, the settings). */
const openDetails = (page) => page.evaluate(() => {
  const panel = document.querySelector('.panel:not([hidden])');
  let n = 0;
  for (const d of panel.querySelectorAll('details:not([open])')) if (d.offsetParent !== null) { d.open = true; n++; }
  return n;
});

/** Points at the first chart in view and steps a keyboard cursor over its cells (the tips). */
async function pointAndStep(page) {
  const box = await page.evaluate(() => {
    const c = [...document.querySelectorAll('.panel:not([hidden]) canvas[tabindex]')].find((x) => {
      const r = x.getBoundingClientRect();
      return r.width > 40 && r.height > 40 && r.top >= 0 && r.bottom <= innerHeight;
    });
    if (!c) return null;
    c.dataset.strictProbe = '1';
    const r = c.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  });
  if (!box) return;
  await page.mouse.move(box.x, box.y);
  await page.focus('[data-strict-probe="1"]');
  await page.keyboard.press('ArrowDown');
  await page.evaluate(() => { const c = document.querySelector('[data-strict-probe="1"]'); delete c.dataset.strictProbe; c.blur(); });
  await page.mouse.move(0, 0);
}

const waitData = (page, sel, key, n, timeout = 60000) => page.waitForFunction(([sel, key, n]) => Number(document.querySelector(sel)?.dataset[key] || 0) >= n, [sel, key, n], { timeout });

/** What each panel builds on demand, at the step where it shows (cheap: a few training steps). */
const ACTIONS = {
  attention: {
    0: async (page) => { await page.click('#tokens button[data-index="1"]'); },
  },
  vectors: {
    2: async (page) => {
      await page.click('#vec-play');
      await page.waitForFunction(() => /\d/.test(document.querySelector('#vec-live-say')?.textContent ?? '') && window.lmApp.panels.vectors.live.step >= 2, null, { timeout: 60000 });
      await page.click('#vec-play');
      await page.waitForFunction(() => !window.lmApp.panels.vectors.live.playing);
    },
  },
  learn: {
    3: async (page) => {
      await page.click('#learn-step');
      await waitData(page, '#learn-status', 'step', 1);
      await page.click('#learn-step');
      await waitData(page, '#learn-status', 'step', 2);
    },
  },
  seq2seq: {
    4: async (page) => {
      await page.click('#s2s-play');
      await waitData(page, '#s2s-train-status', 'step', 3);
      await page.click('#s2s-play');
      await page.waitForFunction(() => document.querySelector('#s2s-play').getAttribute('aria-pressed') === 'false');
    },
  },
};

/**
 * Every panel and step of the page opened at `hash`, by its tabs and step buttons: the CSP
 * record and axe in each state, after what the state builds on demand (`interact`). On the
 * page every step's section is drawn at once and a step only changes the stepper, the step's
 * text and which section is current: after the first step axe looks at those (and at what the
 * step's actions built, inside its section); embedded, a step shows only itself, and axe
 * looks at all of it.
 */
async function sweep(hash, where, { interact = true, ...size } = {}) {
  const { page, context, problems } = await strictPage(hash, size);
  const csp = await cspSince(page, problems, `${where} on load`);
  const a11y = [];
  const panels = await page.evaluate(() => Object.entries(window.lmApp.panels).map(([id, p]) => [id, p.steps]));
  for (const [id, steps] of panels) {
    // (embedded, the header with the tabs is hidden: the link names the panel)
    if (await page.isVisible(`#tab-${id}`)) await page.click(`#tab-${id}`);
    else await page.evaluate((panel) => window.lmApp.setState({ panel, step: 0 }, { push: true }), id);
    await settle(page);
    for (let s = 0; s < steps; s++) {
      if (s > 0) {
        await page.click(`#panel-${id} .stepper button[id$="step-next"]`);
        await settle(page);
      }
      const here = `${where} ${id} step ${s}`;
      if (interact) {
        if (s === 0) await openDetails(page);
        await ACTIONS[id]?.[s]?.(page);
        await pointAndStep(page);
        await settle(page);
      }
      csp.push(...(await cspSince(page, problems, here)));
      const embed = await page.evaluate(() => window.lmApp.embed);
      const parts = s === 0 || embed ? null : ['.stepper', '.step-text', '.step-section.current'].map((x) => `#panel-${id} ${x}`);
      a11y.push(...(await axe(page, here, parts)));
      // (embedded, the opened settings cover the stepper: folded again)
      if (s === 0 && embed) await page.evaluate(() => document.querySelectorAll('.controls-box[open]').forEach((d) => { d.open = false; }));
    }
  }
  await context.close();
  return { csp, a11y, states: panels.reduce((n, [, k]) => n + k, 0) };
}

test('the policy is in force: an inline style and an inline script are refused and reported', async () => {
  const { page, context, problems } = await strictPage('#lang=en');
  const policy = await page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.content);
  for (const d of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'none'"]) {
    assert.ok(policy.includes(d), `${d} in ${policy}`);
  }
  assert.ok(!/unsafe-inline|'unsafe-eval'|\*/.test(policy), policy);
  assert.deepEqual(await cspSince(page, problems, 'load'), []);
  const r = await page.evaluate(() => {
    const p = document.createElement('p');
    p.setAttribute('style', 'color: rgb(255, 0, 0)');
    document.body.append(p);
    const colour = getComputedStyle(p).color;
    p.remove();
    const s = document.createElement('script');
    s.textContent = 'window.__inline = true';
    document.head.append(s);
    return { colour, ran: window.__inline === true };
  });
  assert.notEqual(r.colour, 'rgb(255, 0, 0)', 'the style attribute is not applied');
  assert.equal(r.ran, false, 'the inline script does not run');
  await page.waitForFunction(() => window.__csp.length >= 2);
  const seen = (await cspSince(page, problems, 'probe')).join('\n');
  assert.match(seen, /style-src-attr/);
  assert.match(seen, /script-src/);
  await context.close();
});

test('every panel and step, both languages, on the page: no CSP violation, no serious axe violation', async () => {
  const t0 = Date.now();
  const csp = [], a11y = [];
  let states = 0;
  for (const lang of ['zh', 'en']) {
    const r = await sweep(`#lang=${lang}`, `page ${lang}`);
    csp.push(...r.csp);
    a11y.push(...r.a11y);
    states += r.states;
  }
  // The header's own tools: the share box and the classroom link.
  const { page, context, problems } = await strictPage('#lang=zh');
  await page.click('#copy-link');
  await page.click('#classroom summary');
  await page.click('#hide-text');
  csp.push(...(await cspSince(page, problems, 'header')));
  a11y.push(...(await axe(page, 'header tools')));
  // An error in place of a chart (text without tokens), and a learning panel with no corpus.
  await page.fill('#att-text', '   ');
  await settle(page);
  await page.waitForSelector('#panel-attention .error:not([hidden])');
  a11y.push(...(await axe(page, 'attention error')));
  await page.evaluate(() => window.lmApp.setState({ panel: 'learn', corpus: 'custom', step: 0 }));
  await settle(page);
  csp.push(...(await cspSince(page, problems, 'errors')));
  a11y.push(...(await axe(page, 'learn, empty corpus')));
  await context.close();
  assert.ok(states >= 2 * 40, `${states} states`);
  console.log(`# strict: ${states} panel steps on the page in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  assert.deepEqual(csp, [], 'CSP violations');
  assert.deepEqual(a11y, [], 'serious or critical axe violations');
});

test('embedded (960×540), every panel and step, both languages: no CSP violation, no serious axe violation', async () => {
  const t0 = Date.now();
  const csp = [], a11y = [];
  for (const lang of ['zh', 'en']) {
    const r = await sweep(`#embed=1&lang=${lang}`, `embed ${lang}`, { width: 960, height: 540, interact: lang === 'zh' });
    csp.push(...r.csp);
    a11y.push(...r.a11y);
  }
  console.log(`# strict: embedded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  for (const line of info.values()) console.log(`# axe (info): ${line}`);
  assert.deepEqual(csp, [], 'CSP violations');
  assert.deepEqual(a11y, [], 'serious or critical axe violations');
});
