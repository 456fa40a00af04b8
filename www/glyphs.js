// Font fallback, off the main thread.
//
// The first time a thread draws a character that the page's font lacks (Chinese on a machine
// whose fonts have none, say), the renderer asks the browser process which font has it: a
// synchronous query that took 5–60 ms per character in our traces on a cold, busy machine
// (FontCache::FallbackFontForCharacter, in the learning panel's animation frames). The answer
// is cached for the whole renderer process, per locale. So a worker draws each new character
// once, with the page's locale, and a canvas with text is drawn on the main thread only once
// all of its characters have been through the worker:
//
//   if (glyphsReady(labels)) drawBars(labels, …);
//   else warmGlyphs(labels, { urgent: true }).then(redraw);
//
// Characters below U+0080 are in every page font and are never waited for.

import { startWorker } from './assets.js';

const CHUNK = 32; // characters per worker request, so urgent ones do not wait long behind others

let worker;
let nextId = 0;
const replies = new Map(); // request id → resolve
const done = new Map(); // locale → Set of characters the worker has drawn
const pending = new Map(); // `${locale} ${character}` → {promise, urgent}

const locale = () => globalThis.document?.documentElement.lang || 'en';

function ask(text, lang, urgent) {
  if (worker === undefined) {
    try {
      worker = startWorker('glyph-worker.js');
      worker.onmessage = (e) => {
        replies.get(e.data.id)?.();
        replies.delete(e.data.id);
      };
      // A worker that cannot run: the page draws without its help from now on.
      worker.onerror = () => {
        worker = null;
        for (const resolve of replies.values()) resolve();
        replies.clear();
      };
    } catch {
      worker = null;
    }
  }
  if (!worker) return Promise.resolve();
  const id = nextId++;
  worker.postMessage({ id, text, lang, urgent });
  return new Promise((resolve) => replies.set(id, resolve));
}

/** The characters of `texts` that still need the worker in locale `lang`. */
function missing(texts, lang) {
  const have = done.get(lang);
  const out = new Set();
  for (const t of texts) {
    for (const ch of String(t)) if (ch.codePointAt(0) >= 0x80 && !have?.has(ch)) out.add(ch);
  }
  return out;
}

/** True when every character of `texts` can be drawn without a font query on this thread. */
export function glyphsReady(texts) {
  return missing(texts, locale()).size === 0;
}

/**
 * Has the worker draw the characters of `texts` that it has not drawn yet (in the page's
 * current locale); resolves when it has. `urgent` puts them before earlier, non-urgent ones.
 */
export function warmGlyphs(texts, { urgent = false } = {}) {
  const lang = locale();
  const waits = [];
  const fresh = [];
  for (const ch of missing(texts, lang)) {
    const p = pending.get(`${lang} ${ch}`);
    if (p && (p.urgent || !urgent)) waits.push(p.promise);
    else fresh.push(ch);
  }
  for (let i = 0; i < fresh.length; i += CHUNK) {
    const chunk = fresh.slice(i, i + CHUNK);
    const promise = ask(chunk.join(''), lang, urgent).then(() => {
      if (!done.has(lang)) done.set(lang, new Set());
      for (const ch of chunk) {
        done.get(lang).add(ch);
        pending.delete(`${lang} ${ch}`);
      }
    });
    for (const ch of chunk) pending.set(`${lang} ${ch}`, { promise, urgent });
    waits.push(promise);
  }
  return Promise.all(waits);
}
