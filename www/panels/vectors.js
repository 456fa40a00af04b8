// The vectors panel (the seed article's module 2): every token of the shipped 4-layer model is
// a vector (its row of tok_emb.weight); the whole vocabulary as a map (PCA, engine.space), the
// same map while the model trains from its untrained weights, nearest neighbours and cosines
// written out, directions through two words, analogies, what happens to opposites, and the
// vectors exported for the Embedding Projector. Every number comes from the engine.

import { engine } from '../engine.js';
import { Bars, Heatmap } from '../chart.js';
import { el, fillSelect, field } from '../dom.js';
import { Stepper } from '../stepper.js';
import { chartBoxes, centreHeatmap, overflows } from '../fit.js';
import { shippedModel, untrainedStack } from '../models.js';
import { choices } from '../state.js';
import { deepSpec } from './learn.js';
import { MapView, numberLine, CATEGORY_COLOURS, NO_CATEGORY } from '../figures.js';
import { TrainingClient } from '../training/client.js';
import { FROM_WORKER } from '../training/messages.js';

const STEPS = 7;
/** Each language's defaults: the word, the word compared, the axis (and analogy) words. */
export const VECTOR_WORDS = {
  zh: { vword: '猫', vword2: '狗', va: '热', vb: '冷', vc: '高兴', pairs: [['高兴', '难过'], ['热', '冷']] },
  en: { vword: 'cat', vword2: 'dog', va: 'hot', vb: 'cold', vc: 'happy', pairs: [['happy', 'sad'], ['hot', 'cold']] },
};
const SPECIAL = /^<.*>$/;
const fmt = (v, d = 2) => v.toFixed(d);

export default class VectorsPanel {
  constructor(app, root) {
    this.app = app;
    this.root = root;
    this.steps = STEPS;
    this.live = { key: '', e: null, step: 0, loss: null, playing: false, total: 0 };
    this.trainer = new TrainingClient((m) => this.onMessage(m), 'training/vectors-worker.js', { sharded: false });
    this.build();
  }

  t(k, v) {
    return this.app.t(k, v);
  }

  build() {
    const a = this.app;
    const t1 = (k, v) => this.t(k, v);
    const intro = el('section', { class: 'intro article' }, el('h2', { 'data-i18n': 'vec.title' }), el('p', { 'data-i18n': 'vec.intro' }));
    const input = (id, key) => {
      const i = el('input', { id, type: 'text', maxlength: '20', autocomplete: 'off', spellcheck: 'false', list: 'vec-words' });
      i.addEventListener('change', () => a.setState({ [key]: i.value.trim() }));
      return i;
    };
    this.words = el('datalist', { id: 'vec-words' });
    this.word = input('vec-word', 'vword');
    this.word2 = input('vec-word2', 'vword2');
    this.wa = input('vec-a', 'va');
    this.wb = input('vec-b', 'vb');
    this.wc = input('vec-c', 'vc');
    this.weightsSel = el('select', { id: 'vec-weights' });
    this.axesSel = el('select', { id: 'vec-axes' });
    this.groupsBox = el('input', { id: 'vec-groups', type: 'checkbox' });
    this.groupsBox.addEventListener('change', () => a.setState({ vgroups: this.groupsBox.checked }));
    const controls = el('div', { class: 'controls', role: 'group', 'data-i18n-aria': 'ctl.settings' },
      field('vword', 'vec-word', 'vec.ctl.word', this.word),
      field('vweights', 'vec-weights', 'vec.ctl.weights', this.weightsSel),
      field('vaxes', 'vec-axes', 'vec.ctl.axes', this.axesSel),
      el('div', { class: 'field check ui-vgroups' }, this.groupsBox, el('label', { for: 'vec-groups', 'data-i18n': 'vec.ctl.groups' })), this.words);
    this.controlsBox = el('details', { class: 'controls-box', open: '' }, el('summary', { 'data-i18n': 'ctl.settings' }), controls);
    if (a.embed) this.controlsBox.open = false;
    this.stepper = new Stepper(a, { count: STEPS, keys: 'vec', ids: 'vec-' });
    this.status = el('p', { class: 'muted', id: 'vec-status', role: 'status' });
    this.error = el('p', { class: 'error', role: 'alert', hidden: '' });
    const sec = (i) => this.stepper.section(i);
    // 0 · a word as a vector
    const s0 = sec(0);
    this.vecSay = el('p', { class: 'formula', id: 'vec-numbers' });
    s0.append(this.vecSay);
    this.vec = new Heatmap(s0, { id: 'vec-vector', t: t1, tableAlways: true });
    // 1 · the map
    const s1 = sec(1);
    this.mapSay = el('p', { class: 'say', id: 'vec-map-say' });
    s1.append(this.mapSay);
    this.map = new MapView(s1, { id: 'vec-map', onPick: (row) => a.setState({ vword: this.vocab[row] }), tip: (p) => this.t('vec.map.tip', { w: p.label, x: fmt(p.x), y: fmt(p.y), cat: p.cat }) });
    this.legend = el('p', { class: 'legend', id: 'vec-legend' });
    s1.append(this.legend);
    s1.classList.add('wide');
    // 2 · live: the map while the recipe trains from its untrained weights
    const s2 = sec(2);
    this.play = el('button', { type: 'button', id: 'vec-play' });
    this.reset = el('button', { type: 'button', id: 'vec-reset', 'data-i18n': 'vec.live.reset' });
    this.liveSay = el('p', { class: 'say', id: 'vec-live-say', role: 'status' });
    s2.append(el('div', { class: 'row' }, this.play, this.reset), this.liveSay);
    this.liveMap = new MapView(s2, { id: 'vec-live-map', onPick: (row) => a.setState({ vword: this.vocab[row] }), tip: (p) => this.t('vec.map.tip', { w: p.label, x: fmt(p.x), y: fmt(p.y), cat: p.cat }) });
    s2.classList.add('wide');
    this.play.addEventListener('click', () => this.toggleLive());
    this.reset.addEventListener('click', () => { this.trainer.pause(); a.setState({ vtrain: 0 }); this.startLive(0, true); });
    // 3 · near and far
    const s3 = sec(3);
    this.nearSay = el('p', { class: 'say', id: 'vec-near-say' });
    this.barsCanvas = el('canvas', { id: 'vec-near-bars' });
    this.bars = new Bars(this.barsCanvas);
    this.nearList = el('ol', { class: 'bars-list', id: 'vec-near-list' });
    this.cosSay = el('p', { class: 'formula', id: 'vec-cos' });
    s3.append(field('vword2', 'vec-word2', 'vec.ctl.word2', this.word2), this.nearSay, el('div', { class: 'bars-box' }, el('div', { class: 'canvas-wrap' }, this.barsCanvas)), this.nearList, this.cosSay);
    // 4 · directions and analogies
    const s4 = sec(4);
    this.axisFig = el('figure', { class: 'chart line', id: 'vec-axis' });
    this.anaSay = el('p', { class: 'say', id: 'vec-analogy' });
    s4.append(el('div', { class: 'controls row' }, field('va', 'vec-a', 'vec.ctl.a', this.wa), field('vb', 'vec-b', 'vec.ctl.b', this.wb), field('vc', 'vec-c', 'vec.ctl.c', this.wc)), this.axisFig, this.anaSay);
    s4.classList.add('wide');
    // 5 · opposites
    const s5 = sec(5);
    this.oppTable = el('table', { class: 'numbers', id: 'vec-opposites' });
    this.oppSay = el('p', { class: 'say', id: 'vec-opp-say' });
    s5.append(this.oppTable, this.oppSay);
    // 6 · export for the Embedding Projector
    const s6 = sec(6);
    this.dlVectors = el('a', { id: 'vec-dl-vectors', class: 'button', download: 'vectors.tsv', 'data-i18n': 'vec.export.vectors' });
    this.dlMeta = el('a', { id: 'vec-dl-meta', class: 'button', download: 'metadata.tsv', 'data-i18n': 'vec.export.meta' });
    s6.append(el('div', { class: 'row' }, this.dlVectors, this.dlMeta), el('p', { class: 'muted', 'data-i18n': 'vec.export.how' }));
    const body = el('div', { class: 'sections' }, ...this.stepper.sections);
    this.root.append(intro, this.controlsBox, this.stepper.nav, this.stepper.text, this.status, this.error, body);
    this.weightsSel.addEventListener('change', () => a.setState({ vweights: this.weightsSel.value }));
    this.axesSel.addEventListener('change', () => a.setState({ vaxes: this.axesSel.value }));
  }

  /** The shipped model (or, `vweights=random`, the same recipe before training). */
  model() {
    const s = this.app.state;
    if (s.vweights === 'random') return untrainedStack(s.lang);
    return shippedModel('stack', s.lang, () => this.app.schedule(false));
  }

  /** The row of word `w` in the vocabulary, or an error naming it. */
  row(w) {
    const i = this.vocab.indexOf(w);
    if (i < 0) throw new Error(this.t('vec.unknown', { w }));
    return i;
  }

  render(light = false) {
    const s = this.app.state;
    this.stepper.render(s.step);
    // (reached by the step buttons, a light render: the live step's worker starts all the same)
    if (light && s.step === 2 && this.vocab) this.startLive(s.vtrain);
    if (light) return;
    const d = VECTOR_WORDS[s.lang];
    const words = { vword: s.vword ?? d.vword, vword2: s.vword2 ?? d.vword2, va: s.va ?? d.va, vb: s.vb ?? d.vb, vc: s.vc ?? d.vc };
    for (const [k, inp] of [['vword', this.word], ['vword2', this.word2], ['va', this.wa], ['vb', this.wb], ['vc', this.wc]]) if (document.activeElement !== inp) inp.value = words[k];
    fillSelect(this.weightsSel, choices('vweights').map((w) => [w, this.t(`vec.weights.${w}`)]), s.vweights);
    fillSelect(this.axesSel, choices('vaxes').map((x) => [x, this.t(`vec.axes.${x}`)]), s.vaxes);
    this.groupsBox.checked = s.vgroups;
    let m;
    try {
      m = this.model();
    } catch (e) {
      return this.fail(this.app.errorText(e));
    }
    this.status.textContent = !m ? this.t('vec.loading') : m.error ? this.t('vec.loadFailed', { msg: this.app.errorText(m.error) }) : '';
    if (!m || m.error) return;
    this.vocab = m.vocab();
    this.e = m.param('tok_emb.weight');
    const cats = new Map(engine.wordCategories(s.lang));
    this.categories = [...new Set(cats.values())];
    this.catOf = (w) => cats.get(w) ?? null;
    this.words.replaceChildren(...this.vocab.filter((w) => !SPECIAL.test(w)).map((w) => el('option', { value: w })));
    this.error.hidden = true;
    const errors = [];
    const guard = (f) => { try { f(); } catch (e) { errors.push(this.app.errorText(e)); } };
    guard(() => this.drawVector(words.vword, s));
    guard(() => this.drawMap(this.map, this.mapOf(this.e, s), words.vword, s, this.t(s.vweights === 'random' ? 'vec.map.captionRandom' : 'vec.map.caption')));
    this.drawLegend();
    guard(() => this.drawLive(s, words.vword));
    guard(() => this.drawNear(words.vword, words.vword2));
    guard(() => this.drawAxis(words.va, words.vb, words.vc));
    guard(() => this.drawOpposites(s, d));
    this.drawExport();
    // (the live training's failure, said again in the page's language)
    if (this.live.error) errors.push(this.app.errorText(this.live.error));
    if (errors.length) this.fail([...new Set(errors)].join(' '));
  }

  fail(msg) {
    this.error.textContent = msg;
    this.error.hidden = false;
  }

  /**
   * The rows the map shows: the grouped words (`vgroups`, the default: their own PCA, where the
   * groups separate best), or every token but the special ones.
   */
  mapRows(s) {
    return this.vocab.map((w, i) => i).filter((i) => !SPECIAL.test(this.vocab[i]) && (!s.vgroups || this.catOf(this.vocab[i])));
  }

  /** The PCA map of those rows of `e` on the state's axes: {coords [n, k], explained, rows, pair}. */
  mapOf(e, s) {
    const pair = s.vaxes.split('').map((c) => +c - 1);
    const rows = this.mapRows(s);
    const C = e.shape[1];
    const sub = new Float32Array(rows.length * C);
    rows.forEach((r, i) => sub.set(e.data.subarray(r * C, (r + 1) * C), i * C));
    return { ...engine.space('map', { e: { shape: [rows.length, C], data: sub }, axes: Math.max(...pair) + 1 }), pair, rows };
  }

  points(map) {
    const [i, j] = map.pair;
    const k = map.coords.shape[1];
    const out = [];
    map.rows.forEach((row, n) => {
      const w = this.vocab[row];
      const cat = this.catOf(w);
      const ci = this.categories.indexOf(cat);
      out.push({ row, label: w, x: map.coords.data[n * k + i], y: map.coords.data[n * k + j], colour: ci >= 0 ? CATEGORY_COLOURS[ci % CATEGORY_COLOURS.length] : NO_CATEGORY, strong: ci >= 0, cat: cat ? this.t(`vec.cat.${cat}`) : this.t('vec.cat.none') });
    });
    return out;
  }

  drawMap(view, map, word, s, caption) {
    const [i, j] = map.pair;
    const sel = this.vocab.indexOf(word);
    view.draw({ points: this.points(map), selected: sel, caption: `${caption} ${this.t('vec.map.axes', { i: i + 1, j: j + 1, pi: fmt(100 * map.explained[i], 0), pj: fmt(100 * map.explained[j], 0) })}` });
    if (view === this.map) this.mapSay.textContent = sel >= 0 ? this.t('vec.map.say', { w: word }) : this.t('vec.unknown', { w: word });
  }

  drawLegend() {
    this.legend.replaceChildren(...this.categories.map((c, i) => {
      // (the colour through the CSSOM: a style attribute is refused by the page's policy)
      const swatch = el('span', { class: 'swatch' });
      swatch.style.background = CATEGORY_COLOURS[i % CATEGORY_COLOURS.length];
      return el('span', { class: 'key' }, swatch, this.t(`vec.cat.${c}`));
    }));
  }

  drawVector(word, s) {
    const r = this.row(word);
    const C = this.e.shape[1];
    const rowOf = (e) => e.data.slice(r * C, (r + 1) * C);
    const trained = rowOf(this.e);
    const first = Array.from(trained.slice(0, 4), (v) => fmt(v)).join(', ');
    this.vecSay.textContent = this.t('vec.vector.say', { w: word, c: C, first });
    let other = null;
    if (this.app.state.vweights !== 'random') other = rowOf(untrainedStack(s.lang).param('tok_emb.weight'));
    const rows = other ? [this.t('vec.vector.trained'), this.t('vec.vector.untrained')] : [this.t('vec.vector.untrained')];
    const data = new Float32Array(rows.length * C);
    data.set(trained, 0);
    if (other) data.set(other, C);
    this.vec.draw({ matrix: { shape: [rows.length, C], data }, rows, cols: [], palette: 'diverging', square: false, caption: this.t('vec.vector.caption', { w: word, c: C }), tooltip: (r0, c0, v) => this.t('hover.vec', { row: rows[r0], col: c0, value: v }), fontScale: this.app.fontScale });
  }

  /** The special tokens, never a neighbour. */
  exclude() {
    return { shape: [this.vocab.length], data: Uint8Array.from(this.vocab, (w) => (SPECIAL.test(w) ? 1 : 0)) };
  }

  drawNear(word, word2) {
    const r = this.row(word);
    const near = engine.space('nearest', { e: this.e, row: r, k: 8, exclude: this.exclude() });
    const names = near.map((n) => this.vocab[n.row]);
    this.bars.draw(names, near.map((n) => Math.max(0, n.cos)), { percent: false, max: 1, fontScale: this.app.fontScale, alt: this.t('vec.near.alt', { w: word }) }, 8);
    this.nearList.replaceChildren(...near.map((n, i) => el('li', { text: `${names[i]} ${fmt(n.cos, 3)}` })));
    const catW = this.catOf(word);
    const same = catW ? near.slice(0, 3).filter((n) => this.catOf(this.vocab[n.row]) === catW).length : 0;
    this.nearSay.textContent = this.t('vec.near.say', { w: word, first: names[0], cos: fmt(near[0].cos, 3) }) + (catW ? (this.app.state.lang === 'zh' ? '' : ' ') + this.t('vec.near.cat', { n: same, cat: this.t(`vec.cat.${catW}`) }) : '');
    const r2 = this.row(word2);
    const c = engine.space('cosine', { e: this.e, a: r, b: r2 });
    this.cosSay.textContent = this.t('vec.cos', { a: word, b: word2, dot: fmt(c.dot, 3), na: fmt(c.normA, 3), nb: fmt(c.normB, 3), cos: fmt(c.cos, 3) });
  }

  drawAxis(a, b, c) {
    const [ra, rb, rc] = [this.row(a), this.row(b), this.row(c)];
    const t = engine.space('axis', { e: this.e, a: ra, b: rb });
    const items = [];
    this.vocab.forEach((w, i) => {
      const cat = this.catOf(w);
      if (!cat) return;
      const ci = this.categories.indexOf(cat);
      items.push({ t: t[i], label: w, colour: CATEGORY_COLOURS[ci % CATEGORY_COLOURS.length] });
    });
    this.axisFig.replaceChildren(...numberLine(items, { caption: this.t('vec.axis.caption', { a, b }), from: a, to: b }));
    const top = engine.space('analogy', { e: this.e, a: ra, b: rb, c: rc, k: 3, exclude: this.exclude() });
    this.anaSay.textContent = this.t('vec.analogy', { a, b, c, list: top.map((n) => `${this.vocab[n.row]} (${fmt(n.cos)})`).join(this.app.state.lang === 'zh' ? '、' : ', ') });
  }

  drawOpposites(s, d) {
    const groups = { shape: [this.vocab.length], data: Float32Array.from(this.vocab, (w) => this.categories.indexOf(this.catOf(w))) };
    const g = engine.space('categories', { e: this.e, groups });
    const rows = [];
    for (const [x, y] of d.pairs) {
      if (!this.vocab.includes(x) || !this.vocab.includes(y)) continue;
      rows.push([`${x} / ${y}`, engine.space('cosine', { e: this.e, a: this.row(x), b: this.row(y) }).cos]);
    }
    rows.push([this.t('vec.opp.within'), g.within], [this.t('vec.opp.across'), g.across]);
    this.oppTable.replaceChildren(el('tr', {}, el('th', { text: this.t('vec.opp.pair') }), el('th', { text: this.t('vec.opp.cos') })), ...rows.map(([k, v]) => el('tr', {}, el('th', { text: k }), el('td', { text: fmt(v, 3) }))));
    const pairs = rows.slice(0, rows.length - 2);
    const close = pairs.filter(([, v]) => v > g.across).length;
    this.oppSay.textContent = this.t(close === pairs.length && pairs.length ? 'vec.opp.close' : close ? 'vec.opp.mixed' : 'vec.opp.far', { within: fmt(g.within, 2), across: fmt(g.across, 2) });
  }

  drawExport() {
    const C = this.e.shape[1];
    const lines = [], meta = ['word\tcategory'];
    this.vocab.forEach((w, i) => {
      lines.push(Array.from(this.e.data.subarray(i * C, (i + 1) * C), (v) => String(v)).join('\t'));
      meta.push(`${w.replace(/[\t\n]/g, ' ')}\t${this.catOf(w) ?? ''}`);
    });
    for (const [a, text] of [[this.dlVectors, lines.join('\n') + '\n'], [this.dlMeta, meta.join('\n') + '\n']]) {
      if (a.href) URL.revokeObjectURL(a.href);
      a.href = URL.createObjectURL(new Blob([text], { type: 'text/tab-separated-values' }));
    }
  }

  // ---- live training ------------------------------------------------------------------------

  /** (Re)starts the worker on the recipe's untrained model, training to `target` if given. */
  startLive(target, force = false) {
    const s = this.app.state;
    const key = `${s.lang}`;
    if (!force && this.live.key === key) return;
    // The recipe's length, as the shipped file records it.
    const shipped = shippedModel('stack', s.lang);
    const steps = shipped?.recipe?.()?.steps ?? 1000;
    this.live = { key, e: null, step: 0, loss: null, playing: false, total: steps };
    // A link's step is replayed on open: the panel is pending (app.idle) until it is reached.
    if (target > 0) this.pending = new Promise((resolve) => { this.settle = resolve; });
    this.trainer.init({ model: deepSpec(s.lang), steps }, null, target || null);
  }

  toggleLive() {
    if (this.live.playing) return this.trainer.pause();
    // (a worker that was never started would not hear it)
    this.startLive(this.app.state.vtrain);
    this.trainer.play();
  }

  onMessage(m) {
    if (m.type === FROM_WORKER.ERROR) {
      this.live.error = m;
      return this.fail(this.app.errorText(m));
    }
    if (m.type !== FROM_WORKER.PROGRESS) return;
    Object.assign(this.live, { e: m.e, step: m.step, loss: m.loss, playing: m.playing, total: m.total });
    // Paused (or at a link's step): that step goes into the link.
    const done = !m.playing && (m.target === null || m.step >= m.target);
    if (done && m.step !== this.app.state.vtrain) this.app.setState({ vtrain: m.step }, { render: 'light' });
    this.paintLive();
    if (done) {
      this.settle?.();
      this.settle = null;
      this.pending = null;
    }
  }

  drawLive(s, word) {
    // The worker starts when the live step is shown or a link asks for a trained step.
    if (s.step === 2 || s.vtrain > 0) this.startLive(s.vtrain);
    this.liveWord = word;
    this.paintLive();
  }

  paintLive() {
    const L = this.live, s = this.app.state;
    this.play.textContent = this.t(L.playing ? 'vec.live.pause' : 'vec.live.play');
    this.liveSay.textContent = L.e ? this.t('vec.live.say', { step: L.step, total: L.total, loss: L.loss === null ? '—' : fmt(L.loss, 3) }) : this.t('vec.live.idle');
    if (!L.e || !this.vocab) return;
    this.drawMap(this.liveMap, this.mapOf(L.e, s), this.liveWord, s, this.t('vec.live.caption', { step: L.step }));
  }
}

// Its strings, in both languages.
export { STRINGS } from './vectors.strings.js';
