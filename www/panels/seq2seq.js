// The encoder–decoder panel (the seed article's decoder example): a trained encoder–decoder
// (www/models/seq2seq-<lang>.safetensors, written by `cargo xtask pretrain`) reads a sentence
// and writes an answer token by token. For the token being written it shows what the
// decoder's queries looked at: the cross-attention over the source (lines and a heatmap, every
// head as a small multiple) and the masked self-attention over what it has written. All
// numbers come from engine.Seq2Seq's generate(); this file lays them out and says in words
// what they show, computed from the same numbers.

import { engine } from '../engine.js';
import { Heatmap, Lines, LossCurve } from '../chart.js';
import { TrainingClient } from '../training/client.js';
import { WorkersChoice, workersText } from '../training/workers.js';
import { FROM_WORKER } from '../training/messages.js';
import { el, fillSelect, field } from '../dom.js';
import { S2S_PRESETS, MAX_SOURCE, choices } from '../state.js';
import { Stepper } from '../stepper.js';
import { chartBoxes, centreHeatmap, overflows } from '../fit.js';
import { shippedModel } from '../models.js';
import { Stale } from '../stale.js';

const STEPS = 5;
/** The step that retrains the model in a worker. */
const RETRAIN_STEP = 4;

/** `[layer][head]` rows of every step, as one [T, X] matrix (row i: step i's row, padded with 0). */
function stack(steps, key, layer, head, width) {
  const T = steps.length;
  const data = new Float32Array(T * width);
  steps.forEach((s, i) => data.set(s[key][layer][head].subarray(0, width), i * width));
  return { shape: [T, width], data };
}

/** Index of the largest value of `a`. */
const argmax = (a) => a.reduce((b, v, i) => (v > a[b] ? i : b), 0);

/**
 * The answer token the panel opens on: the example's own (喝), else the step whose best head of
 * the last layer looks hardest at one source token.
 */
export function defaultStep(gen, focus) {
  const i = gen.steps.findIndex((s) => s.token === focus);
  if (i >= 0) return i;
  const L = gen.steps[0]?.cross.length ?? 0;
  let best = 0, bestW = -1;
  gen.steps.forEach((s, t) => {
    for (const row of s.cross[L - 1] ?? []) {
      const w = Math.max(...row);
      if (w > bestW) [best, bestW] = [t, w];
    }
  });
  return best;
}

/**
 * The head the panel opens on, at step `t` of `layer`: among the heads that look most at the
 * source token `on` (the example's), the one with the largest weight on it; else the head with
 * the largest single weight.
 */
export function defaultHead(gen, t, layer, on) {
  const rows = gen.steps[t]?.cross[layer] ?? [];
  const j = gen.sourceTokens.indexOf(on);
  let best = 0, bestW = -1;
  rows.forEach((row, h) => {
    const top = argmax(row);
    const w = j >= 0 ? (top === j ? row[j] : -1) : row[top];
    if (w > bestW) [best, bestW] = [h, w];
  });
  if (bestW >= 0) return best;
  return rows.reduce((b, row, h) => (Math.max(...row) > Math.max(...rows[b]) ? h : b), 0);
}

export default class Seq2SeqPanel {
  constructor(app, root) {
    this.app = app;
    this.root = root;
    this.steps = STEPS;
    this.build();
  }

  t(key, vars) {
    return this.app.t(key, vars);
  }

  build() {
    const a = this.app;
    const intro = el('section', { class: 'intro article' },
      el('h2', { 'data-i18n': 's2s.title' }),
      el('p', { 'data-i18n': 's2s.intro' }));
    this.input = el('input', { id: 's2s-src', type: 'text', maxlength: String(MAX_SOURCE), autocomplete: 'off', spellcheck: 'false' });
    this.preset = el('select', { id: 's2s-preset' });
    this.modelSel = el('select', { id: 's2s-model' });
    this.layerSel = el('select', { id: 's2s-layer' });
    this.headSel = el('select', { id: 's2s-head' });
    const controls = el('div', { class: 'controls', role: 'group', 'data-i18n-aria': 'ctl.settings' },
      field('text', 's2s-src', 's2s.ctl.src', this.input),
      field('preset', 's2s-preset', 'ctl.preset', this.preset),
      field('model', 's2s-model', 's2s.ctl.model', this.modelSel),
      field('layer', 's2s-layer', 's2s.ctl.layer', this.layerSel),
      field('head', 's2s-head', 'ctl.head', this.headSel));
    this.stepper = new Stepper(a, { count: STEPS, keys: 's2s', ids: 's2s-' });
    this.status = el('p', { class: 'muted', id: 's2s-status', role: 'status' });
    this.error = el('p', { class: 'error', role: 'alert', hidden: '' });
    const sec = (i) => this.stepper.section(i);
    // 0 · the sentence in, the answer out
    const s0 = sec(0);
    this.srcTokens = el('div', { class: 'tokens', id: 's2s-src-tokens', role: 'group' });
    this.unknown = el('p', { class: 'trunc-note', id: 's2s-unknown', hidden: '' });
    this.outTokens = el('div', { class: 'tokens', id: 's2s-out-tokens', role: 'group' });
    this.heldout = el('p', { class: 'muted', id: 's2s-heldout', hidden: '' });
    s0.append(el('p', { class: 'label', 'data-i18n': 's2s.source' }), this.srcTokens, this.unknown,
      el('p', { class: 'label', 'data-i18n': 's2s.answer' }), this.outTokens, this.heldout);
    // 1 · cross-attention of the token being written: lines and a heatmap, said in words
    const s1 = sec(1);
    this.say = el('p', { class: 'say', id: 's2s-say' });
    this.qkv = el('p', { class: 'formula', id: 's2s-qkv' });
    s1.append(this.say, this.qkv);
    const pair = el('div', { class: 'trio' });
    s1.append(pair);
    const selectStep = (i) => a.setState({ wtok: i });
    this.lines = new Lines(pair, { id: 's2s-lines', onSelect: selectStep });
    const t1 = (k, v) => this.t(k, v);
    this.cross = new Heatmap(pair, { id: 's2s-cross', t: t1, onSelect: selectStep, tableAlways: true });
    // 2 · every head of every layer, small multiples
    const s2 = sec(2);
    this.grid = el('div', { class: 'grid-heads', id: 's2s-heads' });
    s2.append(this.grid);
    s2.classList.add('wide');
    // 3 · the decoder's masked self-attention
    const s3 = sec(3);
    this.selfSay = el('p', { class: 'say', id: 's2s-self-say' });
    s3.append(this.selfSay);
    this.self = new Heatmap(s3, { id: 's2s-self', t: t1, onSelect: selectStep, tableAlways: true });
    // 4 · retrain it here: the recipe from its untrained start, in a worker
    const s5 = sec(4);
    this.playBtn = el('button', { type: 'button', class: 'primary', id: 's2s-play', 'aria-pressed': 'false', 'data-i18n': 's2s.train.play' });
    this.resetBtn = el('button', { type: 'button', id: 's2s-reset', 'data-i18n': 's2s.train.reset' });
    this.trainStatus = el('p', { class: 'status', id: 's2s-train-status', role: 'status' });
    this.trainSay = el('p', { class: 'say', id: 's2s-train-say' });
    this.trainer = new TrainingClient((m) => this.onTrainMessage(m), 'training/seq2seq-worker.js');
    this.workersChoice = new WorkersChoice('s2s-workers', this.trainer);
    s5.append(el('div', { class: 'row' }, this.playBtn, this.resetBtn, this.workersChoice.field), this.trainStatus);
    const trainPair = el('div', { class: 'trio' });
    s5.append(trainPair);
    const curveBox = el('div', { class: 'curve-box' });
    trainPair.append(curveBox);
    this.curve = new LossCurve(curveBox, { id: 's2s-curve' });
    const nowBox = el('div');
    trainPair.append(nowBox);
    nowBox.append(this.trainSay);
    this.nowCross = new Heatmap(nowBox, { id: 's2s-now-cross', t: t1, tableAlways: true });
    s5.classList.add('wide');
    this.training = { step: 0, total: 0, playing: false, losses: [], generation: null, recipe: '' };
    this.playBtn.addEventListener('click', () => this.togglePlay());
    this.resetBtn.addEventListener('click', () => { a.setState({ rtrain: 0 }); this.startTraining(0); });
    const body = el('div', { class: 'sections' }, ...this.stepper.sections);
    this.controlsBox = el('details', { class: 'controls-box', open: '' }, el('summary', { 'data-i18n': 'ctl.settings' }), controls);
    if (a.embed) this.controlsBox.open = false;
    this.root.append(intro, this.controlsBox, this.stepper.nav, this.stepper.text, this.status, this.error, body);
    this.stale = new Stale(a, this.error, () => [body]);
    this.input.addEventListener('input', () => a.setState({ src: this.input.value, spreset: 'custom', wtok: -1, xhead: -1 }, { render: 'typing' }));
    this.preset.addEventListener('change', () => {
      const p = S2S_PRESETS[this.preset.value];
      if (p) a.setState({ spreset: this.preset.value, src: p.text, smodel: p.model, wtok: -1, xhead: -1 }, { push: true });
    });
    this.modelSel.addEventListener('change', () => a.setState({ smodel: this.modelSel.value, wtok: -1, xhead: -1 }));
    this.layerSel.addEventListener('change', () => a.setState({ layer: +this.layerSel.value }));
    this.headSel.addEventListener('change', () => a.setState({ xhead: +this.headSel.value }));
  }

  /** The generation for the current state, computed once per (model, source). */
  generation(m, lang, src) {
    const key = `${lang}\n${src}`;
    if (this.gen?.key !== key) this.gen = { key, value: m.generate(src, {}) };
    return this.gen.value;
  }

  render(light = false) {
    const s = this.app.state;
    this.stepper.render(s.step);
    if (light) {
      if (this.view) this.syncTraining(); // (arriving at the retraining step starts its worker)
      return;
    }
    fillSelect(this.preset, choices('spreset').map((p) => [p, this.t(`s2s.preset.${p}`)]), s.spreset);
    fillSelect(this.modelSel, choices('smodel').map((l) => [l, this.t(`s2s.model.${l}`)]), s.smodel);
    if (document.activeElement !== this.input) this.input.value = s.src;
    const m = shippedModel('seq2seq', s.smodel, () => this.app.schedule(false));
    if (!m) {
      this.status.textContent = this.t('s2s.loading');
      return;
    }
    if (m.error) {
      this.status.textContent = '';
      this.showError(this.t('s2s.loadFailed', { msg: this.app.errorText(m.error) }));
      return;
    }
    let gen;
    try {
      gen = this.generation(m, s.smodel, s.src);
      this.stale.ok(s.src);
    } catch (e) {
      this.showError(this.app.errorText(e));
      return;
    }
    this.data = gen;
    const cfg = m.config();
    const L = cfg.n_decoder_layers, H = cfg.n_heads;
    this.status.textContent = this.t('s2s.status', { layers: L, heads: H, d: cfg.d_model });
    const T = gen.steps.length;
    const preset = S2S_PRESETS[s.spreset];
    const t = s.wtok >= 0 && s.wtok < T ? s.wtok : defaultStep(gen, preset?.focus);
    const layer = s.layer >= 0 && s.layer < L ? s.layer : L - 1;
    const head = s.xhead >= 0 && s.xhead < H ? s.xhead : defaultHead(gen, t, layer, preset?.text === s.src ? preset.on : undefined);
    fillSelect(this.layerSel, [[-1, this.t('s2s.layer.last')], ...Array.from({ length: L }, (_, i) => [i, String(i + 1)])], s.layer >= 0 ? layer : -1);
    fillSelect(this.headSel, Array.from({ length: H }, (_, i) => [i, String(i + 1)]), head);
    this.view = { gen, t, layer, head, L, H };
    this.renderTokens();
    this.syncTraining();
    const current = this.stepper.sections[Math.min(s.step, STEPS - 1)];
    this.boxes = this.app.embed ? chartBoxes(current) : null;
    this.draw(this.boxes);
    if (this.app.embed && overflows(current)) this.draw((this.boxes = chartBoxes(current)));
    if (this.app.embed) for (const c of [this.cross, this.self, ...(this.headCharts ?? [])]) if (current.contains(c.figure)) centreHeatmap(c);
  }

  showError(msg) {
    this.stale.fail(msg);
  }

  /** The source's tokens (unknown ones marked) and the answer's, each answer token a button. */
  renderTokens() {
    const { gen, t } = this.view;
    const unknown = new Set(gen.unknown ?? []);
    this.srcTokens.replaceChildren(...gen.sourceTokens.map((w) => el('span', { class: `token${unknown.has(w) ? ' unknown' : ''}`, title: unknown.has(w) ? '<unk>' : '' }, el('span', { class: 'tok-text', text: w }))));
    this.unknown.hidden = unknown.size === 0;
    this.unknown.textContent = unknown.size ? this.t('s2s.unknown', { words: [...unknown].join('、') }) : '';
    this.outTokens.replaceChildren(...gen.steps.map((st, i) => {
      const b = el('button', { type: 'button', class: 'token', 'aria-pressed': String(i === t), 'data-index': String(i) }, el('span', { class: 'tok-text', text: st.token }));
      b.addEventListener('click', (e) => { e.stopPropagation(); this.app.setState({ wtok: i }); });
      return b;
    }));
    const p = S2S_PRESETS[this.app.state.spreset];
    this.heldout.hidden = !p?.heldout;
    this.heldout.textContent = p?.heldout ? this.t('s2s.heldout') : '';
  }

  draw(boxes) {
    const { gen, t, layer, head, L, H } = this.view;
    const fs = this.app.fontScale;
    const src = gen.sourceTokens;
    const out = gen.steps.map((s) => s.token);
    const S = src.length, T = out.length;
    const maxH = (chart) => (boxes ? Math.max(60, Math.floor(boxes.get(chart.canvas.parentElement)?.h || 300)) : undefined);
    const maxCell = this.app.embed ? 120 : 44;
    const step = gen.steps[t];
    // 1 · what this head looks at while writing this token, in words, from the drawn row
    const row = step.cross[layer][head];
    const j = argmax(row);
    this.say.textContent = this.t('s2s.say', { layer: layer + 1, head: head + 1, tok: step.token, src: src[j], w: row[j].toFixed(2) });
    this.say.dataset.source = src[j];
    this.say.dataset.weight = row[j].toFixed(4);
    this.qkv.textContent = this.t('s2s.qkv', { tok: step.token, s: S });
    const cross = stack(gen.steps, 'cross', layer, head, S);
    const crossTip = (r, c, v) => this.t('s2s.hover.cross', { out: out[r], src: src[c], value: v });
    this.lines.draw({
      left: out, right: src, weights: cross, row: t, fontScale: fs,
      height: maxH(this.lines) ?? Math.max(180, 34 * Math.max(S, T) + 40),
      leftTitle: this.t('s2s.lines.left'), rightTitle: this.t('s2s.lines.right'),
      caption: this.t('s2s.lines.caption', { layer: layer + 1, head: head + 1 }),
      tip: (i, jj, w) => this.t('s2s.hover.cross', { out: out[i], src: src[jj], value: w.toFixed(4) }),
    });
    this.cross.draw({ matrix: cross, rows: out, cols: src, palette: 'viridis', min: 0, max: 1, numbers: true, caption: this.t('s2s.cross.caption', { layer: layer + 1, head: head + 1, t: T, s: S }), tooltip: crossTip, highlightRow: t, maxHeight: maxH(this.cross), maxCell, fontScale: fs });
    // 2 · small multiples: every layer × head's cross-attention
    const n = L * H;
    if (!this.headCharts || this.headCharts.length !== n) {
      this.grid.replaceChildren();
      // A click anywhere on a small map shows that layer and head.
      this.headCharts = Array.from({ length: n }, (_, k) => {
        const c = new Heatmap(this.grid, { id: `s2s-head-${Math.floor(k / H)}-${k % H}`, t: (kk, v) => this.t(kk, v) });
        c.figure.addEventListener('click', () => this.app.setState({ layer: Math.floor(k / H), xhead: k % H }));
        return c;
      });
    }
    this.grid.style.gridTemplateColumns = `repeat(${H}, minmax(0, 1fr))`;
    this.headCharts.forEach((c, k) => {
      const l = Math.floor(k / H), h = k % H;
      c.figure.classList.toggle('selected', l === layer && h === head);
      c.draw({ matrix: stack(gen.steps, 'cross', l, h, S), rows: out, cols: src, palette: 'viridis', min: 0, max: 1, legend: false, caption: this.t('s2s.heads.caption', { layer: l + 1, head: h + 1 }), tooltip: crossTip, highlightRow: t, maxHeight: maxH(c), maxCell, fontScale: fs });
    });
    // 3 · masked self-attention: row i is the query of the token written at step i, over the
    // decoder's inputs so far (<bos> and the tokens written before it)
    const inputs = ['<bos>', ...out.slice(0, T - 1)];
    const self = stack(gen.steps, 'self', layer, head, T);
    const mask = { shape: [T, T], data: Uint8Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? 1 : 0)) };
    const srow = step.self[layer][head];
    const sj = argmax(srow);
    this.selfSay.textContent = this.t('s2s.self.say', { layer: layer + 1, head: head + 1, tok: step.token, n: t + 1, prev: inputs[sj], w: srow[sj].toFixed(2) });
    this.self.draw({ matrix: self, rows: out.map((w) => `→ ${w}`), cols: inputs, palette: 'viridis', min: 0, max: 1, mask, numbers: true, caption: this.t('s2s.self.caption', { layer: layer + 1, head: head + 1 }), tooltip: (r, c, v) => this.t('s2s.hover.self', { out: out[r], inp: inputs[c], value: v }), highlightRow: t, maxHeight: maxH(this.self), maxCell, fontScale: fs });
    // 4 · the model being retrained here
    this.drawTraining(boxes);
  }

  /** Starts the worker on this model's recipe (or again, when the model or the link's step changes). */
  syncTraining() {
    const s = this.app.state;
    const recipe = `seq2seq-${s.smodel}`;
    // The worker (and its copy of the engine) starts only when the retraining step is shown,
    // a link asks to replay one, or Train is pressed (togglePlay): not with the panel.
    if (!this.training.recipe && s.step !== RETRAIN_STEP && !s.rtrain) return;
    if (this.training.recipe !== recipe) this.startTraining(s.rtrain);
    else if (this.training.source !== s.src) {
      this.training.source = s.src;
      this.trainer.setPrompt(s.src);
    }
  }

  startTraining(target) {
    const s = this.app.state;
    const recipe = `seq2seq-${s.smodel}`;
    this.training = { step: 0, total: 0, playing: !!target, losses: [], generation: null, recipe, source: s.src };
    this.trainer.init({ recipe }, s.src, target || null);
    this.curve.attach(this.trainer);
    // Until the worker's model has written something and it is drawn, the step is not
    // settled (app.idle() waits on `pending`).
    this.pending = new Promise((resolve) => {
      this.started = () => {
        this.started = null;
        this.pending = null;
        resolve();
      };
    });
    this.renderTrainButtons();
  }

  togglePlay() {
    if (!this.training.recipe) this.startTraining(0);
    if (this.training.playing) this.trainer.pause();
    else this.trainer.play();
    this.training.playing = !this.training.playing;
    this.renderTrainButtons();
  }

  renderTrainButtons() {
    const tr = this.training;
    this.playBtn.setAttribute('aria-pressed', String(tr.playing));
    this.playBtn.textContent = this.t(tr.playing ? 's2s.train.pause' : tr.step ? 's2s.train.more' : 's2s.train.play');
    this.playBtn.disabled = !tr.playing && tr.total > 0 && tr.step >= tr.total;
  }

  onTrainMessage(m) {
    const tr = this.training;
    if (m.type === FROM_WORKER.CURVE) return this.curve.drawn(m.layout);
    if (m.type === FROM_WORKER.PIXELS) return this.curve.counted(m);
    if (m.type === FROM_WORKER.READY) tr.total = m.total;
    else if (m.type === FROM_WORKER.ERROR) {
      tr.playing = false;
      tr.error = m; // (said in the page's language, again at each render: drawTraining)
      this.trainStatus.textContent = this.app.errorText(m);
      this.started?.(); // (nothing more will come to wait for)
    } else if (m.type === FROM_WORKER.PROGRESS) {
      for (const x of m.losses) tr.losses.push(x);
      tr.step = m.step;
      tr.workers = m.workers;
      tr.shardStats = m.shardStats;
      if (m.generation) tr.generation = m.generation;
      const was = tr.playing;
      tr.playing = m.playing;
      if (was && !m.playing) {
        this.app.state.rtrain = Math.min(5000, m.step);
        this.app.writeUrl(false);
      }
    }
    this.renderTrainButtons();
    if (!this.trainFrame) {
      this.trainFrame = requestAnimationFrame(() => {
        this.trainFrame = 0;
        if (this.root.hidden || !this.view) return;
        // Embedded, in the boxes the last full render measured; measured again if the new
        // texts made the step overflow its frame.
        this.drawTraining(this.boxes);
        const current = this.stepper.sections[Math.min(this.app.state.step, STEPS - 1)];
        if (this.app.embed && overflows(current)) this.drawTraining((this.boxes = chartBoxes(current)));
        if (this.training.generation) this.started?.();
      });
    }
  }

  /** The retraining's loss curve and what its model's head looks at now, for the followed token. */
  drawTraining(boxes) {
    // What it writes, cut after 8 tokens (an untrained model rambles to the length limit).
    const written = (out) => {
      const words = out.filter((x) => x !== '<eos>');
      return words.slice(0, 8).join(this.app.state.smodel === 'en' ? ' ' : '') + (words.length > 8 ? '…' : '');
    };
    const tr = this.training;
    const { layer, head } = this.view;
    const fs = this.app.fontScale;
    const last = tr.losses.length ? tr.losses[tr.losses.length - 1] : NaN;
    this.trainStatus.textContent = tr.error ? this.app.errorText(tr.error) : this.t('s2s.train.status', { step: tr.step, total: tr.total || '…', loss: Number.isFinite(last) ? last.toFixed(4) : '—', workers: workersText((k, v) => this.t(k, v), tr.workers ?? 1) });
    this.workersChoice.render((k, v) => this.t(k, v));
    this.trainStatus.dataset.step = String(tr.step);
    // (no curve before the worker that draws it: a canvas drawn here could not be handed over)
    if (!tr.recipe) return;
    this.curve.draw({
      losses: tr.losses, heldout: [], heldoutEvery: 1_000_000,
      height: boxes ? Math.max(80, Math.floor(boxes.get(this.curve.canvas.parentElement)?.h || 220)) : 220,
      fontScale: fs, xLabel: this.t('learn.curve.x'), yLabel: this.t('learn.curve.y'), trainLabel: this.t('learn.curve.train'),
      alt: this.t('learn.curve.alt', { n: tr.losses.length, loss: Number.isFinite(last) ? last.toFixed(4) : '—' }),
      tip: (step, loss) => this.t('learn.curve.hover', { step, loss: loss.toFixed(4) }),
    });
    const g = tr.generation;
    if (!g || g.error || !g.steps.length) {
      this.trainSay.textContent = this.app.errorText(g?.error);
      return;
    }
    const src = g.sourceTokens, out = g.steps.map((x) => x.token);
    const want = this.view.gen.steps[this.view.t]?.token;
    const t = Math.max(0, out.indexOf(want));
    const cross = stack(g.steps, 'cross', layer, head, src.length);
    const row = g.steps[t].cross[layer][head];
    const j = argmax(row);
    this.trainSay.textContent = this.t('s2s.train.say', { step: tr.step, text: written(out), layer: layer + 1, head: head + 1, tok: out[t], src: src[j], w: row[j].toFixed(2) });
    this.trainSay.dataset.source = src[j];
    this.nowCross.draw({ matrix: cross, rows: out, cols: src, palette: 'viridis', min: 0, max: 1, numbers: true, caption: this.t('s2s.cross.caption', { layer: layer + 1, head: head + 1, t: out.length, s: src.length }), tooltip: (r, c, v) => this.t('s2s.hover.cross', { out: out[r], src: src[c], value: v }), highlightRow: t, maxHeight: boxes ? Math.max(60, Math.floor(boxes.get(this.nowCross.canvas.parentElement)?.h || 200)) : undefined, maxCell: this.app.embed ? 90 : 36, fontScale: fs });
  }

}

export const STRINGS = {
  en: {
    'nav.seq2seq': 'Encoder–decoder',
    's2s.title': 'An encoder–decoder writes an answer',
    's2s.intro': 'A small encoder–decoder transformer, trained by this project on a few hundred situation → advice pairs, reads your sentence with its encoder and writes an answer with its decoder, one token at a time. While it writes each token its queries look back: at the tokens it has written (masked self-attention) and at the source sentence (cross-attention). The weights are real: trained by our own engine, shipped with the page.',
    's2s.ctl.src': 'Sentence to answer',
    's2s.ctl.model': 'Model',
    's2s.ctl.layer': 'Decoder layer',
    's2s.model.zh': 'Chinese (seq2seq-zh)',
    's2s.model.en': 'English (seq2seq-en)',
    's2s.layer.last': 'last',
    's2s.preset.xiaoming': '小明今天感冒了 (the article’s)',
    's2s.preset.xiaohong': '小红今天感冒了 (never seen in training)',
    's2s.preset.baba': '爸爸今天饿了 (never seen in training)',
    's2s.preset.tom': 'Tom has a cold today',
    's2s.preset.lily': 'Lily has a cold today (never seen in training)',
    's2s.preset.dad': 'Dad is hungry today (never seen in training)',
    's2s.preset.custom': 'Your own sentence',
    's2s.loading': 'Loading the trained model…',
    's2s.loadFailed': 'The trained model could not be loaded: {msg}',
    's2s.status': 'Trained encoder–decoder: {layers} decoder layers × {heads} heads, d_model {d}.',
    's2s.s0.title': '1 · Read, then write',
    's2s.s0.text': 'The encoder turns the source tokens into vectors, all at once. The decoder then writes the answer from <bos>, one token per step, each time picking the most likely next token (greedy decoding), until it writes <eos>. Pick an answer token to follow it through the next steps.',
    's2s.s1.title': '2 · Cross-attention',
    's2s.s1.text': 'Cross-attention is how the decoder reads the source: the query comes from the decoder (the token being written), the keys and values from the encoder (one per source token). Its weights say how much of each source token goes into the vector that predicts the next token.',
    's2s.s2.title': '3 · Every head',
    's2s.s2.text': 'Each decoder layer has several cross-attention heads, each with its own weights. Here is every head of every layer, as small maps: rows are the answer’s tokens, columns the source’s. Click one to show it in the other steps.',
    's2s.s3.title': '4 · Masked self-attention',
    's2s.s3.text': 'Before it reads the source, each decoder layer lets the token being written look at the decoder’s own inputs: <bos> and the tokens already written, never the ones to come (the mask, drawn as hatched cells). That is all a decoder can know of its own answer while writing it.',
    's2s.source': 'Source (the encoder reads it):',
    's2s.answer': 'Answer (the decoder writes it):',
    's2s.unknown': 'Not in the model’s vocabulary: {words}. They are read as <unk>; the model still answers, from the other tokens.',
    's2s.heldout': 'This combination of who and what never occurred in training: the model composes the answer from what it learned separately.',
    's2s.say': 'Layer {layer}, head {head}: while writing “{tok}”, it looks most at “{src}” (weight {w}).',
    's2s.qkv': 'Q: the decoder’s vector for “{tok}” (the token being written). K and V: the encoder’s {s} vectors, one per source token. weights = softmax(Q·Kᵀ/√d_k), output = weights · V.',
    's2s.lines.left': 'writing',
    's2s.lines.right': 'source',
    's2s.lines.caption': 'Cross-attention of layer {layer}, head {head}: line width = weight (pick a token on the left)',
    's2s.cross.caption': 'Cross-attention weights, layer {layer}, head {head}: {t} answer tokens × {s} source tokens',
    's2s.heads.caption': 'L{layer} H{head}',
    's2s.hover.cross': 'writing “{out}” → “{src}”: {value}',
    's2s.hover.self': 'writing “{out}” → input “{inp}”: {value}',
    's2s.self.say': 'Layer {layer}, head {head}: while writing “{tok}” (step {n}), it looks most at “{prev}” among the decoder’s inputs (weight {w}).',
    's2s.self.caption': 'Masked self-attention, layer {layer}, head {head}: rows = the token being written, columns = the decoder’s inputs',
    's2s.s4.title': '5 · Train it yourself',
    's2s.s4.text': 'The same recipe that made the shipped weights, from its untrained start, trained here in a worker: the same corpus, sizes, optimiser and seed. Watch the loss fall, and the cross-attention of the head shown above go from a blur to a pattern. At the recipe’s last step the model answers and attends as the shipped one (its numbers agree to about 10⁻⁵: this page’s arithmetic is WebAssembly’s, the recipe ran natively).',
    's2s.train.play': 'Train from scratch',
    's2s.train.more': 'Go on',
    's2s.train.pause': 'Pause',
    's2s.train.reset': 'Start over',
    's2s.train.status': 'Step {step} of {total} · loss {loss} · {workers}',
    's2s.train.say': 'At step {step} it writes “{text}”. Layer {layer}, head {head}, writing “{tok}”: it looks most at “{src}” (weight {w}).',
  },
  zh: {
    'nav.seq2seq': '编码器–解码器',
    's2s.title': '编码器–解码器写出回答',
    's2s.intro': '这是本项目自己训练的一个小型编码器–解码器 Transformer，训练数据是几百对“情况 → 建议”。编码器读入你的句子，解码器逐个词元写出回答。每写一个词元，它的查询都会回头看：看自己已经写出的词元（带掩码的自注意力），也看原句（交叉注意力）。这里的权重都是真实的：由我们自己的引擎训练，随页面一起提供。',
    's2s.ctl.src': '要回答的句子',
    's2s.ctl.model': '模型',
    's2s.ctl.layer': '解码器层',
    's2s.model.zh': '中文（seq2seq-zh）',
    's2s.model.en': '英文（seq2seq-en）',
    's2s.layer.last': '最后一层',
    's2s.preset.xiaoming': '小明今天感冒了（文章中的例子）',
    's2s.preset.xiaohong': '小红今天感冒了（训练中从未出现）',
    's2s.preset.baba': '爸爸今天饿了（训练中从未出现）',
    's2s.preset.tom': 'Tom has a cold today',
    's2s.preset.lily': 'Lily has a cold today（训练中从未出现）',
    's2s.preset.dad': 'Dad is hungry today（训练中从未出现）',
    's2s.preset.custom': '自己输入的句子',
    's2s.loading': '正在加载训练好的模型…',
    's2s.loadFailed': '无法加载训练好的模型：{msg}',
    's2s.status': '训练好的编码器–解码器：解码器 {layers} 层 × {heads} 个头，d_model 为 {d}。',
    's2s.s0.title': '1 · 先读，再写',
    's2s.s0.text': '编码器一次性把原句的所有词元变成向量。随后解码器从 <bos> 开始写回答，每一步写一个词元，每次都选概率最高的那个（贪心解码），直到写出 <eos>。点选回答中的某个词元，后面几步就跟随它。',
    's2s.s1.title': '2 · 交叉注意力',
    's2s.s1.text': '交叉注意力是解码器读取原句的方式：查询（Q）来自解码器，也就是正在写的词元；键（K）和值（V）来自编码器，每个原句词元各一个。权重表示每个原句词元在“预测下一个词元的向量”里占多少分量。',
    's2s.s2.title': '3 · 所有的头',
    's2s.s2.text': '解码器每一层都有若干个交叉注意力头，各有自己的权重。这里用小图列出每一层的每一个头：行是回答的词元，列是原句的词元。点击某个小图，其他步骤就显示它。',
    's2s.s3.title': '4 · 带掩码的自注意力',
    's2s.s3.text': '在读取原句之前，解码器的每一层先让正在写的词元看解码器自己的输入：<bos> 和已经写出的词元，绝不看后面还没写的（这就是掩码，画成斜线格）。写回答的时候，解码器对自己的回答只知道这么多。',
    's2s.source': '原句（由编码器读取）：',
    's2s.answer': '回答（由解码器写出）：',
    's2s.unknown': '这些词不在模型的词表里：{words}。它们被当作 <unk> 读入；模型仍会根据其余的词元作答。',
    's2s.heldout': '这种“谁 + 发生了什么”的组合在训练中从未出现：模型是把分别学到的东西组合起来作答的。',
    's2s.say': '第 {layer} 层第 {head} 个头：写“{tok}”时，它最关注“{src}”（权重 {w}）。',
    's2s.qkv': 'Q：解码器中“{tok}”（正在写的词元）的向量。K 和 V：编码器输出的 {s} 个向量，每个原句词元一个。权重 = softmax(Q·Kᵀ/√d_k)，输出 = 权重 · V。',
    's2s.lines.left': '正在写',
    's2s.lines.right': '原句',
    's2s.lines.caption': '第 {layer} 层第 {head} 个头的交叉注意力：线越粗，权重越大（点选左边的词元）',
    's2s.cross.caption': '交叉注意力权重，第 {layer} 层第 {head} 个头：{t} 个回答词元 × {s} 个原句词元',
    's2s.heads.caption': '第{layer}层 头{head}',
    's2s.hover.cross': '写“{out}”时 → “{src}”：{value}',
    's2s.hover.self': '写“{out}”时 → 输入“{inp}”：{value}',
    's2s.self.say': '第 {layer} 层第 {head} 个头：写“{tok}”（第 {n} 步）时，在解码器的输入中最关注“{prev}”（权重 {w}）。',
    's2s.self.caption': '带掩码的自注意力，第 {layer} 层第 {head} 个头：行 = 正在写的词元，列 = 解码器的输入',
    's2s.s4.title': '5 · 亲手训练',
    's2s.s4.text': '用生成随附权重的同一个配方，从未训练的初始状态开始，在这里的后台线程中训练：同样的语料、规模、优化器和随机种子。看损失下降，看上面所选那个头的交叉注意力从一片模糊变成清晰的模式。训练到配方的最后一步，模型的回答和注意力与随附的模型相同（数值相差约 10⁻⁵：本页用 WebAssembly 计算，配方是在本机原生运行的）。',
    's2s.train.play': '从头训练',
    's2s.train.more': '继续',
    's2s.train.pause': '暂停',
    's2s.train.reset': '重新开始',
    's2s.train.status': '第 {step} 步，共 {total} 步 · 损失 {loss} · {workers}',
    's2s.train.say': '第 {step} 步时它写出“{text}”。第 {layer} 层第 {head} 个头写“{tok}”时，最关注“{src}”（权重 {w}）。',
  },
};
