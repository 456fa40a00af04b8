// Finds what the main thread's long tasks are made of while the learning panel trains: the
// scenario of tests/browser/learn.test.mjs's first test (fresh browser profile, open the panel,
// Train until step 300), under a Chromium trace. For each long task (≥ 50 ms) the page's
// PerformanceObserver saw, it prints its wall time against the main thread's CPU time in it
// (much less CPU than wall time: the thread was waiting, not working), and the trace events
// that took most of it: font-fallback queries, animation-frame callbacks (with the script
// location), layout, canvas uploads, garbage collection.
//
//   cargo xtask serve --no-build --port 8000 &
//   node tools/longtasks.mjs [runs=3] [hash]        (BASE_URL and CHROME as for the tests)
//
// Busy the other core too (`yes > /dev/null &`) to see what a loaded machine does.
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:8000/';
const RUNS = Number(process.argv[2] ?? 3);
const HASH = process.argv[3] ?? '#panel=learn&lang=en&step=3';
const CATEGORIES = ['devtools.timeline', 'toplevel', 'blink.user_timing', 'fonts', 'blink', 'v8'];
const SHOWN = {
  'FontCache::FallbackFontForCharacter': 'font fallback',
  FunctionCall: 'script',
  Layout: 'layout',
  Paint: 'paint',
  'Canvas2DResourceProvider::ProduceCanvasResource': 'canvas upload',
  MinorGC: 'GC',
  MajorGC: 'GC',
  HandlePostMessage: 'worker message',
};

const launch = () => chromium.launch({
  executablePath: process.env.CHROME ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});

/** One cold run: a fresh browser (so a fresh profile), traced. Returns the number of long tasks. */
async function run(n) {
  const browser = await launch();
  try {
    return await traced(browser, n);
  } finally {
    await browser.close();
  }
}

async function traced(browser, n) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', deviceScaleFactor: 2 });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const complete = new Promise((r) => cdp.on('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', { transferMode: 'ReportEvents', traceConfig: { includedCategories: CATEGORIES } });
  await page.goto(BASE + HASH);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  // The observer's times are relative to the page's time origin; a mark ties them to the trace.
  const markAt = await page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => window.__long.push(...l.getEntries().map((e) => ({ start: e.startTime, ms: e.duration })))).observe({ type: 'longtask' });
    return performance.mark('longtasks-origin').startTime;
  });
  await page.click('#learn-play');
  await page.waitForFunction(() => Number(document.querySelector('#learn-status')?.dataset.step || 0) >= 300, null, { timeout: 120000 });
  await page.click('#learn-play');
  await page.waitForTimeout(300);
  const long = await page.evaluate(() => window.__long);
  await cdp.send('Tracing.end');
  await complete;
  await context.close();

  const main = new Set(events.filter((e) => e.name === 'thread_name' && e.args.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const onMain = events.filter((e) => main.has(`${e.pid}:${e.tid}`) && e.ph === 'X');
  const t0 = events.find((e) => e.name === 'longtasks-origin').ts - markAt * 1000;
  // Every main-thread task while it trained: the longest by wall time and by CPU time.
  const tasks = onMain.filter((e) => e.name === 'ThreadControllerImpl::RunTask' && e.ts >= t0 + markAt * 1000);
  const maxOf = (k) => Math.max(0, ...tasks.map((e) => e[k] ?? 0)) / 1000;
  console.log(`run ${n}: ${long.length} long task(s)${long.length ? ': ' + long.map((l) => `${l.ms} ms`).join(', ') : ''}; ${tasks.length} tasks, longest ${maxOf('dur').toFixed(1)} ms wall, ${maxOf('tdur').toFixed(1)} ms CPU`);
  // The long tasks, and the task with the most CPU time if it took 20 ms or more.
  const busiest = tasks.reduce((a, e) => ((e.tdur ?? 0) > (a?.tdur ?? 0) ? e : a), null);
  const shown = long.map((l) => ({ ...l, from: t0 + l.start * 1000 - 2000, to: t0 + (l.start + l.ms) * 1000 + 2000 }));
  if (busiest && busiest.tdur >= 20000) shown.push({ ms: +(busiest.dur / 1000).toFixed(1), start: (busiest.ts - t0) / 1000, from: busiest.ts - 2000, to: busiest.ts + busiest.dur + 2000, busiest: true });
  for (const l of shown) {
    const { from, to } = l;
    const task = onMain.filter((e) => e.name === 'ThreadControllerImpl::RunTask' && e.ts >= from && e.ts <= to).sort((a, b) => b.dur - a.dur)[0];
    const inside = onMain.filter((e) => e.ts >= from && e.ts + e.dur <= to);
    const parts = new Map();
    for (const e of inside) {
      const what = SHOWN[e.name];
      if (!what) continue;
      const d = e.args?.data ?? {};
      const key = what === 'script' ? `script ${d.functionName || ''} ${String(d.url ?? '').split('/').pop()}:${d.lineNumber ?? ''}`.replace('  ', ' ') : what;
      const p = parts.get(key) ?? { ms: 0, n: 0 };
      p.ms += e.dur / 1000;
      p.n++;
      parts.set(key, p);
    }
    const top = [...parts].sort((a, b) => b[1].ms - a[1].ms).slice(0, 6).map(([k, p]) => `${k} ${p.ms.toFixed(1)} ms${p.n > 1 ? ` (${p.n}×)` : ''}`);
    console.log(`  ${l.busiest ? '(busiest) ' : ''}${l.ms} ms at ${l.start.toFixed(0)} ms: main-thread CPU ${task ? (task.tdur / 1000).toFixed(1) : '?'} ms of ${task ? (task.dur / 1000).toFixed(1) : '?'} ms; ${top.join(', ')}`);
  }
  return long.length;
}

let total = 0;
for (let i = 1; i <= RUNS; i++) total += await run(i);
console.log(`${total} long task(s) in ${RUNS} run(s)`);
