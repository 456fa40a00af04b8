// `cargo xtask bench`, the page's part: what a learner feels in headless Chromium, measured,
// never asserted (it varies with the machine). Prints a table and merges into bench.json.
//
// - input: the time the page spends on each keystroke in the attention panel's text box at the
//   biggest settings (d_model 512, 8 heads, 24 tokens): Event Timing's processing time of
//   every `input` event (the handler and the render it schedules, up to the next paint).
// - first heatmap: navigation start to the first heatmap drawn: the performance mark
//   `first-heatmap` the page sets (www/chart.js) on the default link (the attention panel, with
//   the shipped weights it loads), median of 3 fresh contexts. Goal: ≤ 1.0 s.
// - training on workers (www/training/shards.js): steps per second in the page for every model
//   size the learning panel trains (tiny, small, deep = the shipped stack models) and for the
//   encoder–decoder's retraining (the shipped seq2seq recipe), on 1 and 2 workers (the Workers
//   choice stored before the page opens), over 3 s of training after warm-up; and what sharing
//   costs the coordinator per step (copying and posting the weights, waiting for the helpers'
//   parts beyond its own, adding them). Goal: 2 workers ≥ 1.6× the steps of 1. And on Auto
//   (the default: the machine's cores, at most 4, used only while the helpers make steps
//   shorter, shards.js AutoHelpers), measured once its first trial has chosen, with what it
//   chose (and what it held at the end of the 3 s).
// - time from opening `#panel=learn&train=400` to step 400, on 1 worker and on Auto.
import { chromium } from 'playwright-core';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const BASE = process.env.BASE_URL;
const browser = await chromium.launch({
  executablePath: process.env.CHROME,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
const LONG = 'the cat sat on the mat because it was tired and the dog ran to the park where children were playing happily';

async function keystrokes(hash, label) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 2 });
  await page.goto(BASE + hash);
  await page.waitForSelector('body[data-ready="1"]');
  await page.evaluate(() => {
    window.__events = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) if (e.name === 'input' || e.name === 'keydown' || e.name === 'keyup') window.__events.push({ name: e.name, duration: e.duration, processing: e.processingEnd - e.processingStart });
    }).observe({ type: 'event', durationThreshold: 16, buffered: true });
  });
  await page.focus('#att-text');
  await page.keyboard.press('End');
  for (const ch of ' and then they slept') {
    await page.keyboard.type(ch);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  }
  await page.waitForTimeout(300);
  const ev = await page.evaluate(() => window.__events);
  await page.close();
  // duration: from the key to the next paint (what the learner waits for), in 8 ms steps
  const input = ev.filter((e) => e.name === 'input').map((e) => e.duration).sort((a, b) => a - b);
  const q = (p) => input.length ? input[Math.min(input.length - 1, Math.floor(p * input.length))] : 0;
  return { label, keys: 20, events_over_16ms: input.length, median_ms: q(0.5), max_ms: input.length ? input[input.length - 1] : 0 };
}

async function firstHeatmap() {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(BASE + '#lang=en');
    await page.waitForFunction(() => performance.getEntriesByName('first-heatmap').length > 0, null, { timeout: 20000 });
    times.push(await page.evaluate(() => performance.getEntriesByName('first-heatmap')[0].startTime));
    await context.close();
  }
  return times.sort((a, b) => a - b)[1];
}

const WORKERS_KEY = 'lm-playground.workers';

/** A fresh page on `hash` with the Workers choice `workers` stored (null: Auto). */
async function openWith(hash, workers) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (workers !== null) await context.addInitScript(([k, v]) => localStorage.setItem(k, v), [WORKERS_KEY, String(workers)]);
  const page = await context.newPage();
  await page.goto(BASE + hash);
  await page.waitForSelector('body[data-ready="1"]');
  return { page, context };
}

const PANELS = {
  learn: { play: '#learn-play', status: '#learn-status' },
  seq2seq: { play: '#s2s-play', status: '#s2s-train-status' },
};

/** In the page: the training state of panel `panel` (its status selector `sel`). */
function trainingState([panel, sel]) {
  const p = window.lmApp.panels[panel];
  const t = panel === 'learn' ? p : p.training;
  return { t: performance.now(), step: Number(document.querySelector(sel).dataset.step), workers: t.workers, stats: t.shardStats };
}

/** Steps per second training `hash` on `workers`, and the coordinator's sharing costs per step. */
async function trainRate(label, panel, hash, workers) {
  const P = PANELS[panel];
  const { page, context } = await openWith(hash, workers);
  const read = () => page.evaluate(trainingState, [panel, P.status]);
  await page.click(P.play);
  // warm: past the first steps, every helper computing (Auto: its first trial over)
  await page.waitForFunction(([panel, sel, n]) => {
    const p = window.lmApp.panels[panel];
    const t = panel === 'learn' ? p : p.training;
    const step = Number(document.querySelector(sel).dataset.step);
    return step >= 30 && (n === null ? ['shared', 'alone'].includes(t.shardStats?.auto) : t.workers === n);
  }, [panel, P.status, workers], { timeout: 60000 });
  const a = await read();
  await page.waitForTimeout(3000);
  const b = await read();
  await context.close();
  const steps = b.step - a.step;
  const per = (k) => (b.stats && a.stats && b.stats.steps > a.stats.steps ? (b.stats[k] - a.stats[k]) / (b.stats.steps - a.stats.steps) : 0);
  const chose = workers === null ? { auto_chose: a.stats.auto, auto_at_end: b.stats.auto } : {};
  return { label, workers: workers ?? 'auto', ...chose, steps_per_sec: (steps * 1000) / (b.t - a.t), own_ms: per('ownMs'), send_ms: per('sendMs'), wait_ms: per('waitMs'), add_ms: per('addMs'), finish_ms: per('finishMs') };
}

/** Navigation start to the page's status saying step 400 of `#panel=learn&train=400`. */
async function toStep400(workers) {
  const { page, context } = await openWith('#panel=learn&lang=zh&train=400', workers);
  await page.waitForFunction(() => Number(document.querySelector('#learn-status').dataset.step) >= 400, null, { timeout: 120000, polling: 10 });
  const ms = await page.evaluate(() => performance.now());
  await context.close();
  return ms;
}

// (BENCH_TRAINING=regex: only the training rows whose label matches, and nothing else)
const ONLY = process.env.BENCH_TRAINING ? new RegExp(process.env.BENCH_TRAINING) : null;
const training = [];
for (const [label, panel, hash] of [
  ['learn tiny', 'learn', '#panel=learn&lang=zh&size=tiny&step=3'],
  ['learn small', 'learn', '#panel=learn&lang=zh&size=small&step=3'],
  ['learn deep (stack-zh)', 'learn', '#panel=learn&lang=zh&size=deep&step=3'],
  ['encoder–decoder (seq2seq-zh)', 'seq2seq', '#panel=seq2seq&lang=zh&step=4'],
].filter(([label]) => !ONLY || ONLY.test(label))) {
  for (const w of [1, 2, null]) training.push(await trainRate(label, panel, hash, w));
}
if (ONLY) {
  for (const r of training) console.log(JSON.stringify(r));
  await browser.close();
  process.exit(0);
}

const results = {
  input: [
    await keystrokes(`#lang=en&d=512&h=8&text=${encodeURIComponent(LONG)}`, 'd 512, 8 heads, 24 tokens'),
    await keystrokes('#lang=en', 'defaults (d 16, 2 heads, 4 tokens)'),
  ],
  first_heatmap_ms: await firstHeatmap(),
  training,
  to_step_400_ms: { one_worker: await toStep400(1), auto: await toStep400(null) },
};
await browser.close();
console.log('\nthe page (headless Chromium): time spent on one keystroke in the attention panel');
console.log('  (Event Timing: key to next paint, for the 20 keys typed; goal: none over 50 ms)');
console.log('  settings                            input events ≥ 16 ms   median   max (ms)');
for (const r of results.input) console.log(`  ${r.label.padEnd(36)} ${String(r.events_over_16ms).padStart(10)} ${r.median_ms.toFixed(0).padStart(12)} ${r.max_ms.toFixed(0).padStart(8)}`);
console.log(`  navigation to the first heatmap drawn (mark first-heatmap): ${results.first_heatmap_ms.toFixed(0)} ms (median of 3, fresh context each; goal ≤ 1000 ms)`);
console.log('\ntraining in the page (headless Chromium, Web Workers), 3 s after warm-up; goal: 2 workers ≥ 1.6× the steps of 1');
console.log('  model                            workers   steps/s   ratio   per step (ms): own parts   send   wait   add  finish');
for (const r of training) {
  const one = training.find((x) => x.label === r.label && x.workers === 1);
  const chose = r.workers === 'auto' ? `  (Auto chose ${r.auto_chose === 'shared' ? 'the helpers' : 'alone'}; at the end: ${r.auto_at_end})` : '';
  console.log(`  ${r.label.padEnd(32)} ${String(r.workers).padStart(7)} ${r.steps_per_sec.toFixed(0).padStart(9)} ${(r.steps_per_sec / one.steps_per_sec).toFixed(2).padStart(7)}× ${r.own_ms.toFixed(2).padStart(20)} ${r.send_ms.toFixed(2).padStart(6)} ${r.wait_ms.toFixed(2).padStart(6)} ${r.add_ms.toFixed(2).padStart(5)} ${r.finish_ms.toFixed(2).padStart(7)}${chose}`);
}
console.log(`  #panel=learn&train=400, navigation to step 400: ${results.to_step_400_ms.one_worker.toFixed(0)} ms on 1 worker, ${results.to_step_400_ms.auto.toFixed(0)} ms on Auto`);
const out = process.env.OUT_JSON;
const all = out && existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
all.page = results;
if (out) writeFileSync(out, JSON.stringify(all, null, 2));
