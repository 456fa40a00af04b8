// The page: one app object holding the view state, one update path. Each control changes the
// state through app.setState, which writes the link (history.replaceState) and schedules one
// redraw per animation frame.

import { loadEngine, engineCrash } from './engine.js';
import { translate, errorText, browserLang } from './strings.js';
import { parseHash, serialize, HIDABLE } from './state.js';
import { PANEL_IDS, loadPanels } from './panels/index.js';
import { el, focusScrollers } from './dom.js';
import { chartsIdle } from './chart.js';
import { modelsLoaded } from './models.js';
import { pageAddress } from './assets.js';

/** How long typing must pause before the panels redraw (ms). */
const TYPING_MS = 120;

const app = {
  state: null,
  hidden: new Set(),
  linkNotices: [],
  transient: new Map(),
  panels: {},
  embed: false,
  /** How much larger than on a desk the charts' type is (embedded: grows with the frame). */
  fontScale: 1,
  frame: 0,
  typingTimer: 0,
  pendingLight: true,

  t(key, vars) {
    return translate(this.state.lang, key, vars);
  },

  /** An error in the page's language (strings.js errorText): what a panel shows of it. */
  errorText(e) {
    return errorText(this.state.lang, e);
  },

  /**
   * Changes the state, writes the link, and redraws on the next frame — or, with
   * `render: 'typing'`, once typing pauses (TYPING_MS after the last key), so that a keystroke
   * costs only writing the link.
   */
  setState(patch, { push = false, render = 'full' } = {}) {
    Object.assign(this.state, patch);
    this.writeUrl(push);
    clearTimeout(this.typingTimer);
    this.typingTimer = 0;
    if (render === 'typing') {
      this.typingTimer = setTimeout(() => {
        this.typingTimer = 0;
        this.schedule(false);
      }, TYPING_MS);
      return;
    }
    this.schedule(render === 'light');
  },

  /** Resolves once nothing is pending: no render waiting for typing to pause or for a frame,
   * no chart waiting to be drawn (the browser tests wait on it). */
  async idle() {
    // (a panel's `pending`: a promise while it loads what it shows; and the shipped models)
    for (const p of Object.values(this.panels)) await p.pending;
    await modelsLoaded();
    while (this.typingTimer || this.frame) await new Promise((r) => setTimeout(r, 10));
    await this.chartsIdle();
  },

  moveStep(delta) {
    const p = this.panels[this.state.panel];
    if (!p) return;
    const step = Math.max(0, Math.min(p.steps - 1, this.state.step + delta));
    if (step !== this.state.step) this.setState({ step }, { render: this.embed ? 'full' : 'light' });
  },

  setTransientNotice(id, notice) {
    const had = this.transient.has(id);
    if (notice) this.transient.set(id, notice);
    else this.transient.delete(id);
    if (had !== !!notice) this.renderNotices();
  },

  writeUrl(push) {
    const hash = serialize(this.state, this.hidden);
    if (hash === location.hash) return;
    const url = location.pathname + location.search + hash;
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
    this.updateShareLinks();
  },

  schedule(light) {
    this.pendingLight = this.pendingLight && light;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const l = this.pendingLight;
      this.pendingLight = true;
      this.render(l);
    });
  },

  render(light = false) {
    if (engineCrash()) return showFatal(this.errorText(engineCrash()));
    const s = this.state;
    document.documentElement.lang = s.lang === 'zh' ? 'zh-CN' : 'en';
    document.title = this.t('app.title');
    // The switch is named by what it shows, the other language's name, in that language (so a
    // screen reader says it as written); "Language" is its description.
    const toggle = document.getElementById('lang-toggle');
    toggle.lang = s.lang === 'zh' ? 'en' : 'zh-CN';
    toggle.title = this.t('lang.label');
    for (const [name, panel] of Object.entries(this.panels)) panel.root.hidden = name !== s.panel;
    // The tabs are the page's navigation (each opens a link of its own): the current one is
    // marked as the page shown.
    document.querySelectorAll('.tab').forEach((b) => (b.dataset.panel === s.panel ? b.setAttribute('aria-current', 'page') : b.removeAttribute('aria-current')));
    // Embedded, the root font grows with the frame (style.css); the charts' type follows it.
    this.fontScale = this.embed ? Math.min(2, Math.max(1, parseFloat(getComputedStyle(document.documentElement).fontSize) / 13)) : 1;
    // The texts and hidden controls are in place before the panel draws (embedded, it sizes
    // its charts from the room they leave), and again after, for what the panel just built.
    const chrome = () => {
      translateDom();
      for (const name of HIDABLE) document.querySelectorAll(`.ui-${name}`).forEach((e) => (e.hidden = this.hidden.has(name)));
    };
    chrome();
    this.renderNotices();
    const panel = this.panels[s.panel];
    if (panel) {
      try {
        panel.render(light);
      } catch (e) {
        if (engineCrash()) return showFatal(this.errorText(engineCrash()));
        throw e;
      }
      // Embedded, a long formula or step text scrolls in its box (style.css): by keyboard too.
      if (this.embed) focusScrollers(panel.root.querySelectorAll('.formula, .step-text'));
    }
    chrome();
  },

  renderNotices() {
    const box = document.getElementById('notices');
    const all = [...this.linkNotices, ...this.transient.values()];
    box.replaceChildren(...all.map((n, i) => {
      const b = el('button', { type: 'button', text: this.t('notice.dismiss') });
      const item = el('div', { class: 'notice' }, el('strong', { text: this.t('notice.title') }), el('span', { class: 'notice-text', text: this.t(n.key, n.vars) }), b);
      b.addEventListener('click', () => {
        if (i < this.linkNotices.length) this.linkNotices.splice(i, 1);
        item.remove();
        // Embedded, the step gets the notice's room back: its charts are sized again.
        if (this.embed) this.schedule(false);
      });
      return item;
    }));
  },

  shareUrl(extra = {}, hidden = this.hidden) {
    const s = { ...this.state, ...extra };
    return pageAddress() + serialize(s, hidden);
  },

  updateShareLinks() {
    const out = document.getElementById('share-url');
    if (out && !document.getElementById('share-out').hidden) out.value = this.shareUrl();
    updateClassroom();
  },
};

function translateDom() {
  // (`data-i18n-vars`: the string's variables, as JSON)
  document.querySelectorAll('[data-i18n]').forEach((e) => (e.textContent = app.t(e.dataset.i18n, e.dataset.i18nVars ? JSON.parse(e.dataset.i18nVars) : undefined)));
  document.querySelectorAll('[data-i18n-aria]').forEach((e) => e.setAttribute('aria-label', app.t(e.dataset.i18nAria)));
  document.querySelectorAll('[data-i18n-title]').forEach((e) => (e.title = app.t(e.dataset.i18nTitle)));
}

function showFatal(msg) {
  const main = document.getElementById('main');
  main.replaceChildren(el('p', { class: 'error', role: 'alert', text: msg }));
}

async function copy(text, okKey) {
  const out = document.getElementById('share-out');
  const input = document.getElementById('share-url');
  const status = document.getElementById('share-status');
  out.hidden = false;
  input.value = text;
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = app.t(okKey);
  } catch {
    input.select();
    status.textContent = app.t('share.copyFailed');
  }
}

/** "Download this lesson": the offline file (lesson.js) on the current view, with its progress said. */
async function saveLesson() {
  const button = document.getElementById('download-lesson');
  const status = document.getElementById('share-status');
  document.getElementById('share-out').hidden = false;
  document.getElementById('share-url').value = app.shareUrl();
  status.textContent = app.t('share.lessonMaking');
  button.disabled = true;
  try {
    const { downloadLesson } = await import('./lesson.js');
    const name = `lm-playground-${app.state.panel}.html`;
    const size = await downloadLesson({ hash: serialize(app.state, app.hidden), lang: app.state.lang, title: `${app.t('app.title')} — ${app.t(`nav.${app.state.panel}`)}`, filename: name });
    status.textContent = app.t('share.lessonDone', { name, size: (size / 1e6).toFixed(1) });
  } catch (e) {
    status.textContent = app.t('share.lessonFailed', { msg: e.message });
  } finally {
    button.disabled = false;
  }
}

function embedCode() {
  const url = app.shareUrl({ embed: true });
  const esc = url.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  return `<iframe src="${esc}" width="960" height="540" style="border:0;max-width:100%" title="LM Playground" loading="lazy"></iframe>`;
}

const classroomHidden = new Set();
let classroomEmbed = false;
function buildClassroom() {
  const box = document.getElementById('classroom-boxes');
  const names = { text: 'ctl.text', preset: 'ctl.preset', d: 'ctl.dModel', h: 'ctl.heads', seed: 'ctl.seed', causal: 'ctl.causal', nums: 'ctl.nums', head: 'ctl.head', steps: 'step.next', lang: 'lang.label', share: 'share.copy' };
  const boxes = Object.entries(names).map(([name, key]) => {
    const id = `hide-${name}`;
    const cb = el('input', { type: 'checkbox', id, 'data-hide': name });
    cb.addEventListener('change', () => {
      if (cb.checked) classroomHidden.add(name);
      else classroomHidden.delete(name);
      updateClassroom();
    });
    return el('span', {}, cb, el('label', { for: id, 'data-i18n': key }));
  });
  const e = el('input', { type: 'checkbox', id: 'hide-embed' });
  e.addEventListener('change', () => { classroomEmbed = e.checked; updateClassroom(); });
  boxes.push(el('span', {}, e, el('label', { for: 'hide-embed', text: 'embed=1' })));
  box.replaceChildren(...boxes);
  document.getElementById('classroom-copy').addEventListener('click', () => copy(document.getElementById('classroom-url').value, 'share.copied'));
}

function updateClassroom() {
  const input = document.getElementById('classroom-url');
  if (input) input.value = app.shareUrl(classroomEmbed ? { embed: true } : {}, new Set([...app.hidden, ...classroomHidden]));
}

/** One tab and one (empty) container per panel, in the registry's order (panels/index.js). */
function buildPanelSlots() {
  const tabs = document.getElementById('tabs');
  const main = document.getElementById('main');
  for (const id of PANEL_IDS) {
    tabs.append(el('button', { type: 'button', class: 'tab', id: `tab-${id}`, 'data-panel': id, 'data-i18n': `nav.${id}` }));
    main.append(el('div', { id: `panel-${id}`, class: 'panel', hidden: '' }));
  }
}

/** The keys that step through a presentation: arrows, and what a clicker sends (PageUp/PageDown). */
const STEP_KEYS = { ArrowRight: 1, PageDown: 1, ArrowLeft: -1, PageUp: -1 };

/** Whether keys pressed in `t` are typing: a text field, a text area, a list, editable text. */
function typingIn(t) {
  if (!(t instanceof Element)) return false;
  if (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT') return true;
  return t.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(t.type);
}

/** Whether space presses `t` (a button, link, summary or checkbox) rather than stepping. */
function pressesOnSpace(t) {
  if (!(t instanceof Element)) return false;
  return t.tagName === 'BUTTON' || t.tagName === 'SUMMARY' || (t.tagName === 'A' && t.hasAttribute('href')) || t.tagName === 'INPUT';
}

function setupChrome() {
  document.getElementById('lang-toggle').addEventListener('click', () => app.setState({ lang: app.state.lang === 'zh' ? 'en' : 'zh' }));
  document.querySelectorAll('.tab').forEach((b) => b.addEventListener('click', () => app.setState({ panel: b.dataset.panel, step: 0 }, { push: true })));
  document.getElementById('copy-link').addEventListener('click', () => copy(app.shareUrl(), 'share.copied'));
  document.getElementById('copy-embed').addEventListener('click', () => copy(embedCode(), 'share.embedCopied'));
  document.getElementById('download-lesson').addEventListener('click', saveLesson);
  buildClassroom();
  // The presenter keys move through the steps wherever the focus is (a clicked chart too),
  // except where the key is the user's: typing in a field, choosing in a list, or space on a
  // button, link or checkbox (which it presses: a token button selects its token).
  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented || typingIn(e.target)) return;
    let delta = STEP_KEYS[e.key];
    if (e.key === ' ') {
      if (pressesOnSpace(e.target)) return;
      delta = e.shiftKey ? -1 : 1;
    }
    if (!delta) return;
    app.moveStep(delta);
    e.preventDefault();
  });
  // A link pasted into the address bar, or back/forward, re-reads the state.
  window.addEventListener('hashchange', () => readLink());
  window.addEventListener('popstate', () => readLink());
  let resizeTimer = 0;
  window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => app.schedule(false), 120); });
}

/** Takes the view state from the link, and writes back the cleaned link, so what the address
 * bar shows is what the page shows. */
function applyLink() {
  const { state, hidden, notices } = parseHash(location.hash, browserLang());
  app.state = state;
  app.hidden = hidden;
  app.linkNotices = notices;
  app.embed = state.embed;
  document.body.classList.toggle('embed', app.embed);
  document.documentElement.classList.toggle('embed', app.embed);
  history.replaceState(null, '', location.pathname + location.search + serialize(state, hidden));
}

/** A link pasted into the address bar, or back/forward: read it again if it changed. */
function readLink() {
  if (serialize(app.state, app.hidden) === location.hash) return;
  applyLink();
  app.schedule(false);
}

async function main() {
  applyLink();
  buildPanelSlots();
  translateDom();
  setupChrome();
  let panels;
  try {
    [, panels] = await Promise.all([loadEngine(), loadPanels()]);
  } catch (e) {
    showFatal(app.t('engine.failed', { msg: e.message }));
    return;
  }
  document.getElementById('loading').hidden = true;
  for (const [id, Panel] of Object.entries(panels)) {
    app.panels[id] = new Panel(app, document.getElementById(`panel-${id}`));
  }
  app.render(false);
  document.body.dataset.ready = '1';
}

app.chartsIdle = chartsIdle; // charts far from view draw a moment later; this waits for them
window.lmApp = app; // for the browser tests and the curious
main();
