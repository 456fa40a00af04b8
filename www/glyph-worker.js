// Draws characters once in an OffscreenCanvas, off the main thread (see glyphs.js for why).
//
//   page → worker: {id, text, lang}   draw every character of `text` with locale `lang`
//   worker → page: {id}               done: the renderer now knows which font draws them
//
// Requests marked `urgent` (text the page wants to draw now) go before the rest.

const queue = [];
let busy = false;
let ctx = null;

function work() {
  const job = queue.shift();
  try {
    ctx ??= new OffscreenCanvas(64, 64).getContext('2d');
    // The font-fallback answer is cached per locale: look it up for the page's locale.
    ctx.lang = job.lang;
    ctx.font = '16px sans-serif';
    ctx.fillText(job.text, 0, 32);
  } catch {
    // No OffscreenCanvas here: the page draws without help, as it would without this worker.
  }
  self.postMessage({ id: job.id });
  if (queue.length) setTimeout(work, 0);
  else busy = false;
}

self.onmessage = (e) => {
  if (e.data.urgent) queue.unshift(e.data);
  else queue.push(e.data);
  if (!busy) {
    busy = true;
    setTimeout(work, 0);
  }
};
