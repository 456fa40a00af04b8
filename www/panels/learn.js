// The learning panel (the seed article's modules 1 and 4): corpus statistics, then a real
// decoder-only transformer trained in a Web Worker, with its loss curve, its predictions and
// the blame (gradients) of its weights. The worker does every computation
// (training/worker.js, driven through training/client.js); this file asks, listens, and draws
// at most once per animation frame.

import { engine } from '../engine.js';
import { Bars, LossCurve, barRow, chartsIdle, defer, readable } from '../chart.js';
import { el, fillSelect, field, focusScrollers } from '../dom.js';
import { choices } from '../state.js';
import { Stepper } from '../stepper.js';
import { warmGlyphs } from '../glyphs.js';
import { chartBoxes, overflows } from '../fit.js';
import { TrainingClient } from '../training/client.js';
import { SHARDS, WorkersChoice, workersText } from '../training/workers.js';
import { FROM_WORKER } from '../training/messages.js';
import { save, fileName } from '../export.js';
import { NumberField } from '../numfield.js';

const STEPS = 6;

/** Model sizes offered (d_model, heads, layers, FFN width, context, sequence length), by the link's `size`. */
export const SIZES = {
  tiny: { dModel: 32, nHeads: 2, nLayers: 1, dFf: 64, maxLen: 16, seqLen: 16 },
  small: { dModel: 64, nHeads: 4, nLayers: 2, dFf: 128, maxLen: 24, seqLen: 24 },
  // The shipped `stack-*` models' sizes (src/recipes.rs TextRecipe): with the panel's default
  // options, `#panel=learn&corpus=zh&size=deep&train=1000` retrains stack-zh step for step.
  deep: { dModel: 32, nHeads: 4, nLayers: 4, dFf: 128, maxLen: 16, seqLen: 16 },
};
/**
 * The spec of the recipe stack-<lang> before training (its weights from `seed`): the `deep`
 * size on the language's built-in corpus with this panel's default options — the model the
 * layer and vectors panels show untrained, and train in the page.
 */
export function deepSpec(lang, seed = 1) {
  return { corpus: engine.builtinCorpus(lang), tokenizer: 'word', maxVocab: 2000, ...SIZES.deep, activation: 'gelu', normFirst: true, seed };
}
const PROMPTS = { zh: '今天天气真好，适合去', en: 'the weather is nice today , a good day for', code: 'for i in range(10)', custom: '' };
const STATS_TOKEN = { zh: { word: '去', char: '天' }, en: { word: 'a', char: 'a' }, code: { word: ')', char: ')' }, custom: { word: '', char: '' } };
const CUSTOM_KEY = 'lm-playground.corpus';
const MAX_CORPUS = 200000;
const HELDOUT_EVERY = 25;
const OPTIMIZERS = { sgd: 'SGD', adam: 'Adam' };
const DEFAULT_WATCH = 'layers.0.linear1.weight';

export default class LearnPanel {
  constructor(app, root) {
    this.app = app;
    this.root = root;
    this.steps = STEPS;
    this.losses = [];
    this.heldout = [];
    this.info = null;
    this.dirty = false;
    // Drawing jobs that run in tasks of their own (see paint()).
    this.jobs = {
      pred: { paint: () => this.paintPredictions() },
      norms: { paint: () => this.paintNorms() },
      update: { paint: () => this.paintUpdate() },
      layout: { paint: () => this.showNorms() },
    };
    this.specKey = '';
    this.trainer = new TrainingClient((m) => this.onMessage(m));
    this.build();
    // Run each drawing function once at load on a scratch canvas, so that their first use
    // while training (first call into that wasm code, first text of those fonts) is not paid
    // inside a training frame.
    const scratch = document.createElement('canvas');
    scratch.width = 64;
    scratch.height = 48;
    engine.drawLossCurve(scratch, Float32Array.of(2, 1.5, 1), Float32Array.of(1.2), { dpr: 1, heldoutEvery: 2, hover: 1 });
    engine.drawBars(scratch, ['a'], Float32Array.of(0.5), { dpr: 1 });
  }

  t(k, v) {
    return this.app.t(k, v);
  }

  /** The corpus text in use, and what the user typed for a custom one (kept as typed). */
  corpusText() {
    const s = this.app.state;
    if (s.corpus !== 'custom') return engine.builtinCorpus(s.corpus);
    const typed = s.ctext ?? this.customText ?? '';
    return typed.slice(0, MAX_CORPUS);
  }

  prompt() {
    const s = this.app.state;
    return s.prompt ?? PROMPTS[s.corpus];
  }

  statsToken() {
    const s = this.app.state;
    return s.stok ?? STATS_TOKEN[s.corpus][s.tmode];
  }

  build() {
    const a = this.app;
    this.root.replaceChildren();
    const intro = el('section', { class: 'intro article' }, el('h2', { 'data-i18n': 'learn.title' }), el('p', { 'data-i18n': 'learn.intro' }));
    this.stepper = new Stepper(a, { count: this.steps, keys: 'learn', ids: 'learn-' });
    const sec = (i) => this.stepper.section(i);
    // 0 · data
    const s0 = sec(0);
    this.corpusSel = el('select', { id: 'learn-corpus' });
    this.custom = el('textarea', { id: 'learn-custom', rows: '6', 'data-i18n-aria': 'learn.corpus.paste' });
    this.customNote = el('p', { class: 'muted', id: 'learn-custom-note' });
    this.corpusInfo = el('p', { class: 'muted', id: 'learn-corpus-info' });
    this.preview = el('pre', { class: 'preview', id: 'learn-preview', tabindex: '0' });
    s0.append(el('div', { class: 'controls' }, field('corpus', 'learn-corpus', 'learn.corpus', this.corpusSel)),
      el('div', { class: 'custom-box' }, el('label', { for: 'learn-custom', 'data-i18n': 'learn.corpus.paste' }), this.custom, this.customNote),
      this.corpusInfo, this.preview);
    // 1 · statistics
    const s1 = sec(1);
    this.tmodeSel = el('select', { id: 'learn-tmode' });
    this.stok = el('input', { id: 'learn-stok', type: 'text', list: 'learn-stok-list', maxlength: '40', autocomplete: 'off' });
    this.stokList = el('datalist', { id: 'learn-stok-list' });
    this.statsSummary = el('p', { class: 'muted', id: 'learn-stats-summary' });
    this.statsBoxes = ['counts', 'next', 'cooc'].map((k) => {
      const h = el('h4', { class: 'bars-title' });
      const c = el('canvas', { id: `learn-${k}` });
      const list = el('ol', { class: 'bars-list sr-only', id: `learn-${k}-list` });
      const box = el('figure', { class: 'bars-box' }, h, el('div', { class: 'canvas-wrap' }, c), list);
      return { k, h, c, list, box, bars: new Bars(c) };
    });
    s1.append(el('div', { class: 'controls' }, field('tmode', 'learn-tmode', 'learn.tmode', this.tmodeSel), field('tmode', 'learn-stok', 'learn.stats.token', this.stok), this.stokList),
      this.statsSummary, el('div', { class: 'trio' }, ...this.statsBoxes.map((b) => b.box)));
    // 2 · model and loss
    const s2 = sec(2);
    this.sizeSel = el('select', { id: 'learn-size' });
    this.optSel = el('select', { id: 'learn-opt' });
    // The learning rate changes the running model live (render → syncLive), without
    // restarting the run; the seed starts it again. Both take the link's range (state.js).
    this.lrField = new NumberField(a, 'learn-lr', 'lr', (v) => a.setState({ lr: v }, { render: 'light' }));
    this.lr = this.lrField.input;
    this.batchSel = el('select', { id: 'learn-batch' });
    this.seedField = new NumberField(a, 'learn-seed', 'tseed', (v) => a.setState({ tseed: v, train: 0 }));
    this.seed = this.seedField.input;
    this.modelInfo = el('p', { class: 'formula', id: 'learn-model-info' });
    s2.append(el('div', { class: 'controls' },
      field('size', 'learn-size', 'learn.size', this.sizeSel), field('opt', 'learn-opt', 'learn.opt', this.optSel),
      field('lr', 'learn-lr', 'learn.lr', this.lr, this.lrField.message), field('batch', 'learn-batch', 'learn.batch', this.batchSel),
      field('tseed', 'learn-seed', 'learn.seed', this.seed, this.seedField.message)), this.modelInfo);
    // 3 · training
    const s3 = sec(3);
    this.playBtn = el('button', { type: 'button', id: 'learn-play', class: 'primary', 'data-i18n': 'learn.play' });
    this.stepBtn = el('button', { type: 'button', id: 'learn-step', 'data-i18n': 'learn.step' });
    this.resetBtn = el('button', { type: 'button', id: 'learn-reset', 'data-i18n': 'learn.reset' });
    this.status = el('p', { class: 'status', id: 'learn-status', role: 'status' });
    this.progress = el('progress', { id: 'learn-progress', max: '1', value: '0', hidden: '' });
    this.progressLabel = el('span', { class: 'muted', id: 'learn-progress-label' });
    this.errorBox = el('p', { class: 'error', id: 'learn-error', role: 'alert', hidden: '' });
    this.workersChoice = new WorkersChoice('learn-workers', this.trainer);
    s3.append(el('div', { class: 'row ui-play' }, this.playBtn, this.stepBtn, this.resetBtn, this.workersChoice.field), el('div', { class: 'row' }, this.progress, this.progressLabel), this.status, this.errorBox);
    this.curve = new LossCurve(s3, { id: 'learn-curve' });
    // The model's weights as it is now, as safetensors (what Model.fromSafetensors and PyTorch read).
    this.weightsBtn = el('button', { type: 'button', id: 'learn-weights', class: 'export-button', 'data-i18n': 'export.safetensors' });
    this.weightsBtn.addEventListener('click', () => this.saveWeights());
    this.weightsAsked = new Map();
    s3.append(el('div', { class: 'row' }, this.weightsBtn));
    // 4 · prediction
    const s4 = sec(4);
    this.promptIn = el('input', { id: 'learn-prompt', type: 'text', maxlength: '200', autocomplete: 'off' });
    this.predCanvas = el('canvas', { id: 'learn-pred' });
    this.predList = el('ol', { class: 'bars-list', id: 'learn-pred-list' });
    this.predBars = new Bars(this.predCanvas);
    s4.append(el('div', { class: 'controls' }, field('prompt', 'learn-prompt', 'learn.prompt', this.promptIn)), el('div', { class: 'canvas-wrap' }, this.predCanvas), el('details', { class: 'alt' }, el('summary', { 'data-i18n': 'table.show' }), this.predList));
    // 5 · blame
    const s5 = sec(5);
    this.normsTitle = el('h4', { class: 'bars-title', 'data-i18n': 'learn.blame.norms' });
    this.normsCanvas = el('canvas', { id: 'learn-norms' });
    this.normsList = el('ol', { class: 'bars-list sr-only', id: 'learn-norms-list' });
    this.normsBars = new Bars(this.normsCanvas);
    // Before the first step there is no gradient: a line of text, not an empty canvas.
    this.normsWrap = el('div', { class: 'canvas-wrap', hidden: '' }, this.normsCanvas);
    this.normsEmpty = el('p', { class: 'muted', id: 'learn-norms-empty', 'data-i18n': 'learn.blame.empty' });
    this.watchSel = el('select', { id: 'learn-watch' });
    this.watchIdx = el('input', { id: 'learn-watch-index', type: 'number', min: '0', step: '1', value: '0' });
    this.updateText = el('p', { class: 'formula', id: 'learn-update' });
    s5.append(this.normsTitle, this.normsEmpty, this.normsWrap, this.normsList,
      el('div', { class: 'controls ui-watch' }, field('watch', 'learn-watch', 'learn.blame.watch', this.watchSel), field('watch', 'learn-watch-index', 'learn.blame.index', this.watchIdx)), this.updateText);
    this.root.append(intro, this.stepper.nav, this.stepper.text, el('div', { class: 'sections' }, ...this.stepper.sections));
    this.bindEvents();
  }

  bindEvents() {
    const a = this.app;
    this.corpusSel.addEventListener('change', () => a.setState({ corpus: this.corpusSel.value, stok: null, prompt: null, train: 0 }));
    this.custom.addEventListener('input', () => {
      this.customText = this.custom.value;
      try { localStorage.setItem(CUSTOM_KEY, this.customText); } catch { /* private mode */ }
      // Recount and rebuild the model once typing pauses, not on every keystroke.
      clearTimeout(this.customTimer);
      this.customTimer = setTimeout(() => {
        // Short texts travel in the link; long ones stay in this browser.
        a.setState({ ctext: this.customText.length <= 2000 ? this.customText : null, train: 0 });
      }, 300);
    });
    this.tmodeSel.addEventListener('change', () => a.setState({ tmode: this.tmodeSel.value, stok: null, train: 0 }));
    this.stok.addEventListener('input', () => a.setState({ stok: this.stok.value }));
    this.sizeSel.addEventListener('change', () => a.setState({ size: this.sizeSel.value, train: 0 }));
    this.optSel.addEventListener('change', () => a.setState({ opt: this.optSel.value, train: 0 }));
    this.batchSel.addEventListener('change', () => a.setState({ batch: +this.batchSel.value, train: 0 }));
    // The prompt and the watched weight change the running model live (render → syncLive),
    // as the learning rate does (build).
    this.playBtn.addEventListener('click', () => {
      if (this.playing) this.trainer.pause();
      else if (!this.failed) { this.playing = true; this.trainer.play(); this.renderButtons(); }
    });
    this.stepBtn.addEventListener('click', () => !this.failed && this.trainer.step());
    this.resetBtn.addEventListener('click', () => { a.state.train = 0; a.writeUrl(false); this.restart(0); });
    this.promptIn.addEventListener('input', () => a.setState({ prompt: this.promptIn.value }, { render: 'light' }));
    const sendWatch = () => {
      const idx = Math.max(0, Math.floor(Number(this.watchIdx.value) || 0));
      const shape = this.info?.params.find((p) => p.name === this.watchSel.value)?.shape ?? [1];
      const max = shape.reduce((x, y) => x * y, 1) - 1;
      const i = Math.min(idx, max);
      this.watchIdx.value = String(i);
      a.setState({ watch: `${this.watchSel.value}:${i}` }, { render: 'light' });
    };
    this.watchSel.addEventListener('change', sendWatch);
    this.watchIdx.addEventListener('change', sendWatch);
  }

  /**
   * Embedded: the corpus preview shows the lines of `text` that fit its box whole, the last
   * one "…" when there are more, so nothing is cut at the foot of the slide and nothing
   * scrolls inside it (it is out of the tab order when it does not scroll).
   */
  fitPreview(text) {
    const p = this.preview;
    if (!p.clientHeight) return; // not the step shown: fitted when it is
    const lines = text.split('\n').slice(0, 60);
    const more = text.split('\n').length > lines.length;
    const show = (n) => (p.textContent = lines.slice(0, n).join('\n') + (n < lines.length || more ? '\n…' : ''));
    let n = lines.length;
    show(n);
    while (n > 1 && p.scrollHeight > p.clientHeight + 1) show(--n);
    focusScrollers([p]);
  }

  /** The watched weight from the state: {name, index}. */
  watched() {
    const w = this.app.state.watch?.match(/^(.+):(\d+)$/);
    return w ? { name: w[1], index: +w[2] } : { name: DEFAULT_WATCH, index: 0 };
  }

  /**
   * What defines a run: the spec without the learning rate, which changes live. When this
   * changes, the run starts again.
   */
  runKey() {
    const spec = this.spec();
    return JSON.stringify({ ...spec, optimizer: { ...spec.optimizer, lr: undefined } });
  }

  /** Sends the settings that change live (learning rate, prompt, watched weight) when they differ from what the worker has. */
  syncLive() {
    if (!this.trainer.started || !this.live) return;
    const s = this.app.state;
    if (s.lr !== this.live.lr) {
      this.live.lr = s.lr;
      this.trainer.setLearningRate(s.lr);
    }
    const prompt = this.prompt();
    if (prompt !== this.live.prompt) {
      this.live.prompt = prompt;
      this.trainer.setPrompt(prompt);
    }
    const w = this.watched();
    if (w.name !== this.live.watch.name || w.index !== this.live.watch.index) {
      this.live.watch = w;
      this.trainer.watch(w.name, w.index);
    }
  }

  /** The model spec from the state (what the worker builds). */
  spec() {
    const s = this.app.state;
    return {
      corpus: this.corpusText(),
      tokenizer: s.tmode,
      ...SIZES[s.size],
      batchSize: s.batch,
      seed: s.tseed,
      optimizer: s.opt === 'sgd' ? { kind: 'sgd', lr: s.lr } : { kind: 'adam', lr: s.lr },
      clip: 1,
      heldout: 0.1,
      activation: 'gelu',
      normFirst: true,
      maxVocab: 2000,
      shards: SHARDS,
    };
  }

  /** (Re)starts the worker for the current settings, training to `target` if given. */
  restart(target) {
    const text = this.corpusText();
    this.errorBox.hidden = true;
    this.failed = false;
    this.losses = [];
    this.heldout = [];
    this.predictions = [];
    this.norms = {};
    this.update = null;
    this.playing = !!target;
    this.target = target || null;
    if (!text.trim()) {
      this.showError(() => this.t('learn.corpus.empty'));
      this.failed = true;
      this.renderButtons();
      return;
    }
    this.live = { lr: this.app.state.lr, prompt: this.prompt(), watch: this.watched() };
    this.trainer.init({ model: this.spec(), watch: this.live.watch }, this.live.prompt, target || null);
    // The worker draws the loss curve itself: no frame of this thread draws it while it trains.
    this.curve.attach(this.trainer);
    this.renderButtons();
  }

  /** Saves the model's weights (asked from the worker) as learn-weights-step-N.safetensors. */
  async saveWeights() {
    if (!this.trainer.started) return;
    const id = (this.weightsId = (this.weightsId ?? 0) + 1);
    const m = await new Promise((resolve) => {
      this.weightsAsked.set(id, resolve);
      this.trainer.weights(id);
    });
    if (m.bytes) save(fileName(this.root, `weights-step-${m.step}`, 'safetensors'), m.bytes, 'application/octet-stream');
  }

  onMessage(m) {
    if (m.type === FROM_WORKER.CURVE) return this.curve.drawn(m.layout);
    if (m.type === FROM_WORKER.PIXELS) return this.curve.counted(m);
    if (m.type === FROM_WORKER.WEIGHTS) {
      this.weightsAsked.get(m.id)?.(m);
      return this.weightsAsked.delete(m.id);
    }
    if (m.type === FROM_WORKER.READY) {
      this.info = m;
      this.fillWatch();
      this.showModelInfo();
      warmGlyphs(m.vocab); // the tokens the predictions will show, ahead of time
    } else if (m.type === FROM_WORKER.PROGRESS) {
      // While playing, the worker's next post waits until this is drawn; a hidden page draws
      // no frames.
      if (m.playing && document.hidden) this.trainer.drawn();
      else this.drawnDue = m.playing;
      for (const x of m.losses) this.losses.push(x);
      this.heldout = m.heldout;
      this.stepCount = m.step;
      this.rate = m.stepsPerSec;
      this.workers = m.workers;
      this.shardStats = m.shardStats;
      if ('predictions' in m) {
        // (sent at most every 250 ms while training)
        this.predictions = m.predictions;
        this.norms = m.gradNorms;
        this.update = m.update;
      }
      const wasPlaying = this.playing;
      this.playing = m.playing;
      this.target = m.playing ? m.target : null;
      if (wasPlaying && !m.playing) {
        // Paused or reached the link's target: the link now says how far we trained.
        this.app.state.train = Math.min(5000, m.step);
        this.app.writeUrl(false);
      }
    } else if (m.type === FROM_WORKER.ERROR) {
      this.failed = true;
      this.playing = false;
      // (a diverged run with its code is said whole by its string; one without, by its message)
      this.showError(() => (m.diverged ? `${m.code ? this.app.errorText(m) : this.t('learn.diverged', { msg: m.message })} ${this.t('learn.resetHint')}` : this.app.errorText(m)));
    }
    this.schedule();
  }

  /** Shows an error; `say()` gives its text, in the page's language (again at each full render). */
  showError(say) {
    this.errorSay = say;
    this.errorBox.textContent = say();
    this.errorBox.hidden = false;
  }

  schedule() {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => {
      this.dirty = false;
      if (!this.root.hidden) this.draw();
      if (this.drawnDue) {
        // Once this frame is laid out and painted, and the jobs it left are drawn, the worker
        // may post again: the page is never sent more than it can draw.
        this.drawnDue = false;
        chartsIdle().then(() => setTimeout(() => this.trainer.drawn(), 0));
      }
    });
  }

  fillWatch() {
    if (!this.info) return;
    this.watchSel.replaceChildren(...this.info.params.map((p) => el('option', { value: p.name, text: `${p.name} [${p.shape.join(', ')}]` })));
    this.showWatch();
  }

  /** The built model's sizes, in the current language. */
  showModelInfo() {
    if (!this.info) return;
    const c = this.info.config;
    const p = this.info.params.reduce((n, q) => n + q.shape.reduce((x, y) => x * y, 1), 0);
    this.modelInfo.textContent = this.t('learn.model.summary', { v: c.vocab_size, c: c.d_model, h: c.n_heads, l: c.n_layers, p, ln: Math.log(c.vocab_size).toFixed(2) });
  }

  /** Shows the watched weight of the state in its two controls. */
  showWatch() {
    const w = this.watched();
    this.watchSel.value = this.info?.params.some((p) => p.name === w.name) ? w.name : DEFAULT_WATCH;
    if (document.activeElement !== this.watchIdx) this.watchIdx.value = String(w.index);
  }

  renderButtons() {
    this.playBtn.textContent = this.t(this.playing ? 'learn.pause' : 'learn.play');
    this.playBtn.setAttribute('aria-pressed', String(!!this.playing));
    this.playBtn.disabled = !!this.failed;
    this.stepBtn.disabled = !!this.failed || !!this.playing;
  }

  /**
   * Embedded: the box each chart of the current step may fill (fit.js), in `this.boxes`;
   * on the page, none (the charts keep their own heights).
   */
  fit() {
    this.boxes = this.app.embed ? chartBoxes(this.stepper.sections[Math.min(this.app.state.step, this.steps - 1)]) : null;
  }

  /** How many of `want` bars fit the box of `canvas` (all of them on the page). */
  rowsFor(canvas, want) {
    const h = this.boxes?.get(canvas.parentElement)?.h;
    return h ? Math.max(1, Math.min(want, Math.floor((h - 8) / barRow(this.app.fontScale)))) : want;
  }

  /** Called by the app on every state change. */
  render(light = false) {
    const s = this.app.state;
    this.stepper.render(s.step);
    this.syncLive();
    if (light) return this.schedule();
    // The layout may have changed: the charts measure their width again.
    for (const c of [this.curve, this.predBars, this.normsBars, ...this.statsBoxes.map((b) => b.bars)]) c.relayout();
    fillSelect(this.corpusSel, choices('corpus').map((c) => [c, this.t(`learn.corpus.${c}`)]), s.corpus);
    fillSelect(this.tmodeSel, choices('tmode').map((m) => [m, this.t(`learn.tmode.${m}`)]), s.tmode);
    fillSelect(this.sizeSel, choices('size').map((z) => [z, this.t(`learn.size.${z}`)]), s.size);
    fillSelect(this.optSel, choices('opt').map((o) => [o, OPTIMIZERS[o]]), s.opt);
    fillSelect(this.batchSel, choices('batch').map((b) => [b, String(b)]), s.batch);
    this.workersChoice.render((k, v) => this.t(k, v));
    this.lrField.show(s.lr);
    this.seedField.show(s.tseed);
    if (document.activeElement !== this.promptIn) this.promptIn.value = this.prompt();
    if (document.activeElement !== this.stok) this.stok.value = this.statsToken();
    // Custom corpus: what the user typed is kept (in the link if short, else in this browser).
    const custom = s.corpus === 'custom';
    this.custom.parentElement.hidden = !custom || this.app.hidden.has('corpus');
    if (custom) {
      if (this.customText === undefined) {
        let stored = null;
        try { stored = localStorage.getItem(CUSTOM_KEY); } catch { /* private mode */ }
        this.customText = s.ctext ?? stored ?? '';
      }
      if (document.activeElement !== this.custom) this.custom.value = this.customText;
      const n = this.customText.length;
      this.customNote.textContent = n > MAX_CORPUS ? this.t('learn.corpus.tooLong', { n }) : n > 2000 ? this.t('learn.corpus.kept') : '';
    }
    const text = this.corpusText();
    this.corpusInfo.textContent = this.t('learn.corpus.size', { lines: text.split('\n').filter((l) => l.trim()).length, chars: text.length });
    // (embedded, the preview fills the frame's height: as many whole lines as fit, then …)
    this.preview.textContent = text.split('\n').slice(0, this.app.embed ? 60 : 12).join('\n');
    if (this.app.embed) this.fitPreview(text);
    this.renderStats(text);
    if (!this.errorBox.hidden && this.errorSay) this.errorBox.textContent = this.errorSay();
    this.showWatch();
    this.showModelInfo();
    // Every text of the step is in place: measure the charts' room (embedded), then draw.
    this.renderButtons();
    this.fit();
    this.fitted = false;
    this.drawStats();
    if (this.info) warmGlyphs(this.info.vocab); // again if the language (the locale of the glyphs) changed
    // Restart the worker when the settings that define the run change (not the live ones).
    const key = this.runKey();
    if (key !== this.specKey) {
      this.specKey = key;
      this.restart(s.train);
    }
    this.renderButtons();
    this.schedule();
  }

  renderStats(text) {
    const s = this.app.state;
    const tok = this.statsToken();
    let st;
    try {
      st = engine.corpusStats(text, { tokenizer: s.tmode, token: tok, window: 3, top: 10 });
    } catch (e) {
      this.statsSummary.textContent = this.app.errorText(e);
      return;
    }
    this.statsSummary.textContent = this.t('learn.stats.summary', { tokens: st.tokens, distinct: st.distinct });
    this.stokList.replaceChildren(...st.counts.map((c) => el('option', { value: c.token })));
    const titles = { counts: this.t('learn.stats.counts'), next: this.t('learn.stats.next', { tok }), cooc: this.t('learn.stats.cooc', { tok }) };
    for (const b of this.statsBoxes) {
      const items = st[b.k];
      b.h.textContent = titles[b.k];
      if (b.k !== 'counts' && !st.found) b.h.textContent += ` — ${this.t('learn.stats.notFound', { tok })}`;
      b.items = items;
      b.alt = titles[b.k];
      b.list.replaceChildren(...items.map((x) => el('li', { 'data-token': x.token, 'data-count': String(x.count), text: `${x.token}: ${x.count}` })));
    }
  }

  /** Draws the statistics' bars (as many as fit, embedded). */
  drawStats() {
    for (const b of this.statsBoxes) {
      const items = b.items ?? [];
      const shown = items.slice(0, this.rowsFor(b.c, 10));
      b.bars.draw(shown.map((x) => x.token), shown.map((x) => x.count), { percent: false, max: Math.max(1, ...items.map((x) => x.count)), fontScale: this.app.fontScale, alt: b.alt }, shown.length);
    }
  }

  /** Draws the training state (at most once per frame). */
  draw() {
    // The blame's bars replace its placeholder once there are gradients (the step's layout
    // changes: embedded, its boxes are measured again).
    const hasNorms = Object.keys(this.norms ?? {}).length > 0;
    if (hasNorms === this.normsWrap.hidden) {
      if (this.playing) defer(this.jobs.layout);
      else this.showNorms();
    }
    this.paint();
    // Embedded, once per full render: if the step still overflows its frame (its texts were
    // empty when first measured), measure again and draw once more.
    if (this.app.embed && !this.fitted) {
      this.fitted = true;
      const current = this.stepper.sections[Math.min(this.app.state.step, this.steps - 1)];
      if (overflows(current)) {
        this.fit();
        this.drawnAt = {};
        this.drawStats();
        this.paint();
      }
    }
  }

  /** Shows the blame's bars in place of their placeholder (or back), and measures again. */
  showNorms() {
    const hasNorms = Object.keys(this.norms ?? {}).length > 0;
    if (hasNorms !== this.normsWrap.hidden) return;
    this.normsWrap.hidden = !hasNorms;
    this.normsEmpty.hidden = hasNorms;
    this.fit();
  }

  paint() {
    const n = this.losses.length;
    const last = n ? this.losses[n - 1] : NaN;
    const held = this.heldout.length ? this.heldout[this.heldout.length - 1] : NaN;
    this.status.textContent = this.t('learn.status', { step: this.stepCount ?? n, loss: Number.isFinite(last) ? last.toFixed(4) : '—', held: Number.isFinite(held) ? held.toFixed(4) : '—', rate: (this.rate ?? 0).toFixed(0), workers: workersText((k, v) => this.t(k, v), this.workers ?? 1) });
    this.status.dataset.step = String(this.stepCount ?? n);
    this.status.dataset.loss = Number.isFinite(last) ? last.toFixed(4) : '';
    const t = this.target;
    this.progress.hidden = !t;
    this.progressLabel.hidden = !t;
    if (t) {
      this.progress.max = t;
      this.progress.value = this.stepCount ?? 0;
      this.progressLabel.textContent = this.t('learn.progress', { target: t });
    }
    this.renderButtons();
    this.curve.draw({
      losses: this.losses,
      heldout: this.heldout,
      heldoutEvery: HELDOUT_EVERY,
      height: this.boxes ? Math.max(80, Math.floor(this.boxes.get(this.curve.canvas.parentElement)?.h || 260)) : 260,
      fontScale: this.app.fontScale,
      xLabel: this.t('learn.curve.x'),
      yLabel: this.t('learn.curve.y'),
      trainLabel: this.t('learn.curve.train'),
      heldoutLabel: this.t('learn.curve.heldout'),
      ...(this.info ? { refLine: Math.log(this.info.config.vocab_size), refLabel: this.t('learn.curve.ref', { v: this.info.config.vocab_size }) } : {}),
      alt: this.t('learn.curve.alt', { n, loss: Number.isFinite(last) ? last.toFixed(4) : '—' }),
      tip: (step, loss) => this.t('learn.curve.hover', { step, loss: loss.toFixed(4) }),
    });
    // The bars and the blame change less visibly than the curve. While training, each of them
    // is redrawn at most every 250 ms, each in a task of its own after this frame (see `defer`),
    // so that no task of the main thread grows long; paused, all of them are drawn now.
    const now = performance.now();
    this.drawnAt ??= {};
    for (const k of ['pred', 'norms', 'update']) {
      if (!this.playing) this.jobs[k].paint();
      else if (now - (this.drawnAt[k] ?? 0) >= 250) {
        this.drawnAt[k] = now;
        defer(this.jobs[k]);
      }
    }
  }

  paintPredictions() {
    const preds = Array.isArray(this.predictions) ? this.predictions : [];
    if (!Array.isArray(this.predictions) && this.predictions?.error) this.predList.replaceChildren(el('li', { text: this.app.errorText(this.predictions.error) }));
    else this.predList.replaceChildren(...preds.map((p) => el('li', { 'data-token': p.token, 'data-prob': String(p.prob), text: `${p.token}: ${(p.prob * 100).toFixed(2)}%` })));
    const rows = this.rowsFor(this.predCanvas, 8);
    this.predBars.draw(preds.slice(0, rows).map((p) => p.token), preds.slice(0, rows).map((p) => p.prob), { percent: true, max: 1, fontScale: this.app.fontScale, alt: this.t('learn.pred.alt') }, rows);
  }

  paintNorms() {
    const norms = Object.entries(this.norms ?? {}).sort((x, y) => y[1] - x[1]).slice(0, 12);
    const rows = this.rowsFor(this.normsCanvas, 12);
    const shown = norms.slice(0, rows);
    if (shown.length) this.normsBars.draw(shown.map(([k]) => k), shown.map(([, v]) => v), { percent: false, max: Math.max(1e-12, ...norms.map(([, v]) => v)), fontScale: this.app.fontScale, alt: this.t('learn.blame.norms') }, rows);
    this.normsList.replaceChildren(...norms.map(([k, v]) => el('li', { text: `${k}: ${readable(v)}` })));
  }

  paintUpdate() {
    const u = this.update;
    const f = (x) => (Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(6) : x.toExponential(4));
    if (!u) this.updateText.textContent = this.t('learn.blame.none');
    else if (u.m_hat === null || u.m_hat === undefined) this.updateText.textContent = this.t('learn.blame.sgd', { new: f(u.new), old: f(u.old), lr: u.lr, grad: f(u.grad) });
    else this.updateText.textContent = this.t('learn.blame.adam', { lr: u.lr, m: f(u.m_hat), v: f(u.v_hat), step: f(u.step), new: f(u.new), old: f(u.old), grad: f(u.grad) });
  }
}
