// The workers' training loop (www/training/loop.js): slices, targets and the paced posts of the
// learning panel's worker (the next progress post waits for the page's DRAWN, training does not).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Loop, soon } from '../../www/training/loop.js';
import { TO_WORKER } from '../../www/training/messages.js';

/** A loop over a counter whose steps take ~`ms` each; `posts` records the step at each post. */
function counter({ ms = 1, ...options } = {}) {
  let step = 0;
  const posts = [];
  const loop = new Loop({
    train: () => {
      const t = performance.now();
      while (performance.now() - t < ms); // (a step's work)
      step++;
    },
    step: () => step,
    report: () => posts.push(step),
    onError: (e) => { throw e; },
    postMs: 5,
    ...options,
  });
  return { loop, posts, step: () => step };
}

// (soon()'s port does not keep Node alive: a timer does, while the tests run)
let alive;
before(() => { alive = setInterval(() => {}, 1000); });
after(() => clearInterval(alive));

// (Waiting goes through soon() too: in Node a chain of port messages starves the timers.)
const tick = () => new Promise((r) => soon(r));
const sleep = async (ms) => {
  const t = performance.now();
  while (performance.now() - t < ms) await tick();
};
const until = async (fn, ms = 5000) => {
  const t = performance.now();
  while (!fn()) {
    if (performance.now() - t > ms) throw new Error('timed out');
    await tick();
  }
};

test('a loop trains to its target, then posts once more and stops', async () => {
  const c = counter();
  c.loop.total = 1000;
  c.loop.target = 40;
  c.loop.start();
  await until(() => !c.loop.playing);
  assert.equal(c.step(), 40);
  assert.equal(c.posts.at(-1), 40, 'the last post tells the final step');
  await sleep(30);
  assert.equal(c.step(), 40, 'nothing trains after the target');
});

test('paced: no post while the last is not drawn, yet training goes on; DRAWN lets the next one out', async () => {
  const c = counter({ paced: true, pageWaitMs: 10000 });
  c.loop.total = Infinity;
  c.loop.start();
  await until(() => c.posts.length === 1);
  const at = c.step();
  await sleep(80); // many slices, many postMs
  assert.equal(c.posts.length, 1, 'one post in flight: the page has not drawn it');
  assert.ok(c.step() > at + 10, `training went on while the page drew (${at} → ${c.step()})`);
  assert.equal(c.loop.handle({ type: TO_WORKER.DRAWN }, true), true);
  await until(() => c.posts.length === 2);
  assert.ok(c.posts[1] > at, 'the next post carries the steps trained meanwhile');
  c.loop.handle({ type: TO_WORKER.PAUSE }, true);
  assert.equal(c.loop.playing, false);
  assert.equal(c.posts.length, 3, 'pause posts at once, drawn or not');
});

test('paced: a page that never says DRAWN still gets a post every pageWaitMs', async () => {
  const c = counter({ paced: true, pageWaitMs: 30 });
  c.loop.total = Infinity;
  c.loop.start();
  await sleep(200);
  c.loop.stop();
  // 200 ms at one post per ≥ 30 ms: at most 7 (and at least 2, on a busy machine)
  assert.ok(c.posts.length >= 2 && c.posts.length <= 8, `${c.posts.length} posts`);
});

test('not paced: posts every postMs without DRAWN', async () => {
  const c = counter();
  c.loop.total = Infinity;
  c.loop.start();
  await sleep(200);
  c.loop.stop();
  assert.ok(c.posts.length >= 8, `${c.posts.length} posts in 200 ms at postMs 5`);
});
