// `cargo xtask bench`, the page's part: what a learner feels in headless Chromium, measured,
// never asserted (it varies with the machine). Prints a table and merges into bench.json.
//
// - input: the time the page spends on each keystroke in the attention panel's text box at the
//   biggest settings (d_model 512, 8 heads, 24 tokens): Event Timing's processing time of
//   every `input` event (the handler and the render it schedules, up to the next paint).
// - first heatmap: navigation start to the first heatmap drawn: the performance mark
//   `first-heatmap` the page sets (www/chart.js) on the default link (the attention panel, with
//   the shipped weights it loads), median of 3 fresh contexts. Goal: ≤ 1.0 s.
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

const results = {
  input: [
    await keystrokes(`#lang=en&d=512&h=8&text=${encodeURIComponent(LONG)}`, 'd 512, 8 heads, 24 tokens'),
    await keystrokes('#lang=en', 'defaults (d 16, 2 heads, 4 tokens)'),
  ],
  first_heatmap_ms: await firstHeatmap(),
};
await browser.close();
console.log('\nthe page (headless Chromium): time spent on one keystroke in the attention panel');
console.log('  (Event Timing: key to next paint, for the 20 keys typed; goal: none over 50 ms)');
console.log('  settings                            input events ≥ 16 ms   median   max (ms)');
for (const r of results.input) console.log(`  ${r.label.padEnd(36)} ${String(r.events_over_16ms).padStart(10)} ${r.median_ms.toFixed(0).padStart(12)} ${r.max_ms.toFixed(0).padStart(8)}`);
console.log(`  navigation to the first heatmap drawn (mark first-heatmap): ${results.first_heatmap_ms.toFixed(0)} ms (median of 3, fresh context each; goal ≤ 1000 ms)`);
const out = process.env.OUT_JSON;
const all = out && existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
all.page = results;
if (out) writeFileSync(out, JSON.stringify(all, null, 2));
