// The attention panel (the seed article's module 3): a sentence through one multi-head
// self-attention layer, step by step. All numbers come from engine.attentionDemo; this file
// only slices them per head and lays them out.

import { engine } from '../engine.js';
import { Heatmap } from '../chart.js';
import { el, fillSelect, field, check } from '../dom.js';
import { PRESETS, PROPS_BY_KEY, choices } from '../state.js';
import { Stepper } from '../stepper.js';
import { shippedModel } from '../models.js';
import { chartBoxes, centreHeatmap, gridColumns, overflows } from '../fit.js';
import { NumberField } from '../numfield.js';
import { Stale } from '../stale.js';

const STEPS = 8;

const SUB = '₀₁₂₃₄₅₆₇₈₉';
const sub = (n) => String(n).split('').map((d) => SUB[+d]).join('');

/**
 * What of `text` comes after its first tokens `shown` (the tokens are pieces of the text, in
 * order; whitespace between them is skipped), cut to `max` characters.
 */
function droppedText(text, shown, max = 60) {
  let at = 0;
  for (const w of shown) {
    const i = text.indexOf(w, at);
    if (i < 0) return '';
    at = i + w.length;
  }
  const rest = [...text.slice(at).trim()];
  return rest.length > max ? rest.slice(0, max).join('') + '…' : rest.join('');
}

/** Rows r of a [1, H, T, X] tensor for head h, as a [T, X] tensor. */
function headSlice(t, h) {
  const [, , T, X] = t.shape;
  return { shape: [T, X], data: t.data.subarray(h * T * X, (h + 1) * T * X) };
}

export default class AttentionPanel {
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
    this.root.replaceChildren();
    const intro = el('section', { class: 'intro article' },
      el('h2', { 'data-i18n': 'att.title' }),
      this.intro = el('p', { id: 'att-intro' }));
    // Controls
    this.input = el('input', { id: 'att-text', type: 'text', maxlength: '200', autocomplete: 'off', spellcheck: 'false' });
    this.preset = el('select', { id: 'att-preset' });
    this.dSel = el('select', { id: 'att-d' });
    this.hSel = el('select', { id: 'att-h' });
    // (in the article's example the seed does not apply: its field is empty)
    this.seedField = new NumberField(a, 'att-seed', 'seed', (v) => this.onSeed(v), { skip: (raw) => raw === '' && this.article() });
    this.seed = this.seedField.input;
    this.reseed = el('button', { type: 'button', id: 'att-reseed', 'data-i18n': 'ctl.reseed' });
    this.causal = el('input', { id: 'att-causal', type: 'checkbox' });
    this.nums = el('input', { id: 'att-nums', type: 'checkbox' });
    this.headSel = el('select', { id: 'att-head' });
    // Trained (the shipped 4-layer model, one of its layers) or seeded random weights.
    this.wSel = el('select', { id: 'att-weights' });
    this.layerSel = el('select', { id: 'att-layer' });
    // In the article's example d, h and seed do not apply: said beside them.
    this.handNote = el('p', { class: 'hand-note', id: 'att-controls-note', hidden: '' });
    // Which tokens a long text lost: said under the box (below it, so the box never moves
    // while typing) and under the tokens.
    this.dropNote = el('p', { class: 'trunc-note', id: 'att-text-dropped', hidden: '' });
    const textField = field('text', 'att-text', 'ctl.text', this.input);
    textField.append(this.dropNote);
    const controls = el('div', { class: 'controls', role: 'group', 'data-i18n-aria': 'ctl.settings' },
      textField,
      field('preset', 'att-preset', 'ctl.preset', this.preset),
      field('aw', 'att-weights', 'att.ctl.weights', this.wSel),
      field('alayer', 'att-layer', 'att.ctl.layer', this.layerSel),
      field('d', 'att-d', 'ctl.dModel', this.dSel),
      field('h', 'att-h', 'ctl.heads', this.hSel),
      el('div', { class: 'field ui-seed' }, el('label', { for: 'att-seed', 'data-i18n': 'ctl.seed' }), el('div', { class: 'row' }, this.seed, this.reseed), this.seedField.message),
      field('head', 'att-head', 'ctl.head', this.headSel),
      check('causal', 'att-causal', 'ctl.causal', this.causal),
      check('nums', 'att-nums', 'ctl.nums', this.nums),
      this.handNote);
    // Step navigation and one section per step
    this.stepper = new Stepper(a, { count: this.steps, keys: 'att', ids: '' });
    this.error = el('p', { class: 'error', role: 'alert', hidden: '' });
    // Which weights are shown, and (trained) what the selected head does, from its numbers.
    this.weightsNote = el('p', { class: 'say weights-note', id: 'att-weights-note' });
    this.patternSay = el('p', { class: 'say', id: 'att-pattern' });
    const sec = (i) => this.stepper.section(i);
    const s0 = sec(0);
    this.tokenCount = el('p', { class: 'muted', id: 'token-count' });
    this.tokens = el('div', { class: 'tokens', id: 'tokens', role: 'group' });
    // On a slide the sentence itself stands above its tokens (the text box is in Settings).
    this.sentence = el('p', { class: 'sentence', id: 'sentence' });
    this.tokenDrop = el('p', { class: 'trunc-note', id: 'tokens-dropped', hidden: '' });
    s0.append(this.sentence, this.tokens, this.tokenCount, this.tokenDrop);
    const s1 = sec(1);
    const t1 = (k, v) => this.t(k, v);
    const chart = (parent, id, onSelect, tableAlways) => new Heatmap(parent, { id, t: t1, onSelect, tableAlways });
    const selectRow = (r) => a.setState({ tok: r });
    this.vectors = chart(s1, 'chart-vectors', selectRow);
    const s2 = sec(2);
    const qkv = el('div', { class: 'trio' });
    s2.append(qkv);
    this.q = chart(qkv, 'chart-q', selectRow);
    this.k = chart(qkv, 'chart-k', selectRow);
    this.v = chart(qkv, 'chart-v', selectRow);
    const s3 = sec(3);
    this.scores = chart(s3, 'chart-scores', selectRow);
    const s4 = sec(4);
    this.weights = chart(s4, 'chart-weights', selectRow, true);
    this.maskNote = el('p', { class: 'muted', 'data-i18n': 'att.mask.legend' });
    s4.append(this.maskNote, this.patternSay);
    const s5 = sec(5);
    // The token to follow can be chosen right here, as the step's text says.
    this.sumTokens = el('div', { class: 'tokens small', id: 'sum-tokens', role: 'group' });
    this.sumCaption = el('p', { class: 'sum-caption', id: 'sum-caption' });
    this.formula = el('p', { class: 'formula', id: 'formula' });
    // The same sum with the vectors' numbers, in the article's example (d_k = 4).
    this.formulaNums = el('p', { class: 'formula', id: 'formula-numbers', hidden: '' });
    s5.append(this.sumTokens, this.sumCaption, this.formula, this.formulaNums);
    this.sumWeights = chart(s5, 'chart-sum-weights');
    this.sumV = chart(s5, 'chart-sum-v', selectRow);
    this.result = chart(s5, 'chart-result');
    const s6 = sec(6);
    this.grid = el('div', { class: 'grid-heads', id: 'heads-grid' });
    s6.append(this.grid);
    const s7 = sec(7);
    this.shapes = el('p', { class: 'formula', id: 'concat-shapes' });
    s7.append(this.shapes);
    this.concat = chart(s7, 'chart-concat', selectRow);
    this.output = chart(s7, 'chart-output', selectRow);
    // The heads and the concatenation take the page's whole width: they have the most cells.
    s6.classList.add('wide');
    s7.classList.add('wide');
    const body = el('div', { class: 'sections' }, ...this.stepper.sections);
    // In embed mode the controls fold away behind "Settings", so a small frame shows the chart.
    this.controlsBox = el('details', { class: 'controls-box', open: '' }, el('summary', { 'data-i18n': 'ctl.settings' }), controls);
    if (a.embed) this.controlsBox.open = false;
    this.root.append(intro, this.controlsBox, this.stepper.nav, this.stepper.text, this.weightsNote, this.error, body);
    this.stale = new Stale(a, this.error, () => [body]);
    // Control events: each mutates the state through the one update path.
    this.input.addEventListener('input', () => a.setState({ text: this.input.value, preset: 'custom' }, { render: 'typing' }));
    this.preset.addEventListener('change', () => {
      const p = this.preset.value;
      if (p === 'custom') return;
      const patch = { preset: p, text: PRESETS[p].text, tok: 0 };
      // A preset with its own sizes sets them; the article's example sets its own vectors, so
      // d, h and seed go back to their defaults (what leaving it starts from) and the mask off.
      if (PRESETS[p].d) Object.assign(patch, { d: PRESETS[p].d, h: PRESETS[p].h, head: 0 });
      if (PRESETS[p].article) Object.assign(patch, { d: PROPS_BY_KEY.d.def, h: PROPS_BY_KEY.h.def, seed: PROPS_BY_KEY.seed.def, head: 0, causal: false });
      a.setState(patch, { push: true });
    });
    // Changing a size leaves a preset that fixes the sizes (the article's, heads8) for its plain
    // preset with the same text; changing the seed leaves the article's example.
    const leave = (what) => {
      const p = PRESETS[this.app.state.preset];
      return p && (p.article || (what !== 'seed' && p.d)) ? { preset: p.base } : {};
    };
    this.dSel.addEventListener('change', () => {
      if (this.dSel.value !== 'article') a.setState({ d: +this.dSel.value, ...leave('d') });
    });
    this.hSel.addEventListener('change', () => a.setState({ h: +this.hSel.value, head: Math.min(this.app.state.head, +this.hSel.value - 1), ...leave('h') }));
    this.headSel.addEventListener('change', () => a.setState({ head: +this.headSel.value }));
    this.wSel.addEventListener('change', () => a.setState({ aw: this.wSel.value }));
    this.layerSel.addEventListener('change', () => a.setState({ alayer: +this.layerSel.value }));
    this.onSeed = (v) => a.setState({ seed: v, ...leave('seed') });
    this.reseed.addEventListener('click', () => a.setState({ seed: 1 + Math.floor(Math.random() * 999999), ...leave('seed') }));
    // With the causal mask the first token can only look at itself (a trivial "1.00 × V₁"):
    // switching the mask on moves the followed token to the last one, which sees them all.
    this.causal.addEventListener('change', () => a.setState(this.causal.checked && this.app.state.tok === 0
      ? { causal: true, tok: Math.max(0, (this.data?.tokens.length ?? 1) - 1) }
      : { causal: this.causal.checked }));
    this.nums.addEventListener('change', () => a.setState({ nums: this.nums.checked }));
  }

  /** Fills the option lists (in the current language). */
  fillOptions() {
    const s = this.app.state;
    const article = this.article();
    fillSelect(this.preset, choices('preset').map((p) => [p, this.t(`preset.${p}`)]), s.preset);
    fillSelect(this.wSel, choices('aw').map((w) => [w, this.t(`att.weights.${w}`)]), s.aw);
    const tr = this.trained;
    this.layerSel.closest('.field').hidden = !tr;
    for (const c of [this.dSel, this.hSel, this.seed, this.reseed, this.causal]) c.disabled = !!tr;
    if (tr) {
      // The trained model has its own sizes and was trained with the causal mask.
      fillSelect(this.layerSel, Array.from({ length: tr.L }, (_, l) => [l, String(l + 1)]), tr.l);
      fillSelect(this.dSel, [['trained', this.t('att.trained.size', { n: tr.C })]], 'trained');
      fillSelect(this.hSel, [['trained', this.t('att.trained.size', { n: tr.H })]], 'trained');
      fillSelect(this.headSel, Array.from({ length: tr.H }, (_, i) => [i, String(i + 1)]), Math.min(s.head, tr.H - 1));
      return;
    }
    // The article's example has d_model 4 and one head, set by hand: shown as such; choosing
    // another size leaves it.
    const byHand = (n) => this.t('att.article.byHand', { n });
    fillSelect(this.dSel, [...(article ? [['article', byHand(4)]] : []), ...choices('d').map((d) => [d, String(d)])], article ? 'article' : s.d);
    fillSelect(this.hSel, choices('h').map((h) => [h, h === 1 && article ? byHand(1) : String(h)]), article ? 1 : s.h);
    const H = article ? 1 : s.h;
    fillSelect(this.headSel, Array.from({ length: H }, (_, i) => [i, String(i + 1)]), Math.min(s.head, H - 1));
  }

  /**
   * What the panel shows: `{r}` computed here, `{loading}`, `{error}`, and a `note` on the
   * weights. Trained weights are layer `alayer` of the shipped 4-layer model of the page's
   * language (`aw=trained`, or `auto` when the model knows every token of the text); its
   * attention reads LayerNorm₁ of the layer's input (pre-norm), which step 1 shows.
   */
  source() {
    const s = this.app.state;
    const random = (note) => ({ note: this.article() ? '' : note ?? this.t('att.weights.randomNote', { seed: s.seed }) });
    // The article's example and a preset with its own sizes (heads8) are seeded, whatever `aw`.
    if (this.article() || PRESETS[s.preset]?.d || s.aw === 'random') return random();
    const m = shippedModel('stack', s.lang, () => this.app.schedule(false));
    if (!m) return { loading: true, note: this.t('att.trained.loading') };
    if (m.error) return s.aw === 'trained' ? { error: new Error(this.t('att.trained.failed', { msg: this.app.errorText(m.error) })) } : random();
    let tr;
    try {
      tr = m.traceLayers(s.text, {});
    } catch (e) {
      return s.aw === 'trained' ? { error: e } : random();
    }
    // Auto: trained only for a text the model knows and reads whole (its context is short).
    if (s.aw === 'auto' && tr.unknown.length) return random(this.t('att.weights.unknownNote', { list: tr.unknown.join(' '), seed: s.seed }));
    if (s.aw === 'auto' && tr.dropped) return random(this.t('att.weights.longNote', { n: tr.tokens.length, seed: s.seed }));
    const L = tr.layers.length, l = Math.min(s.alayer, L - 1), b = tr.layers[l];
    const [, H] = b.attention.weights.shape, C = b.input.shape[1];
    const r = {
      tokens: tr.tokens, truncated: false, trained: true, causal: true,
      embeddings: b.normFirst ? b.norm1.output : b.input, heads: b.attention, output: b.attnOut,
      patterns: engine.headPatterns(b.attention.weights),
    };
    const note = this.t('att.weights.trainedNote', { l: l + 1, L, c: C, h: H }) + (tr.unknown.length ? ' ' + this.t('att.weights.unknown', { list: tr.unknown.join(' ') }) : '') + (tr.dropped ? ' ' + this.t('att.weights.cut', { n: tr.tokens.length, k: tr.dropped }) : '');
    return { r, note, trained: { l, L, C, H } };
  }

  /** What the selected head of a trained layer does, from its weights (engine.headPatterns). */
  patternText(r, head) {
    if (!r.trained) return '';
    const l = this.trained.l + 1, p = r.patterns?.[head];
    return p
      ? this.t('att.pattern.say', { l, h: head + 1, what: this.t(`att.pattern.${p.kind}`, { s: p.strength.toFixed(2) }) })
      : this.t('att.pattern.none', { l, h: head + 1 });
  }

  /** True in the article's example (hand-set vectors: d, h and seed do not apply). */
  article() {
    return !!PRESETS[this.app.state.preset]?.article;
  }

  /** In the article's example the step's text says that its numbers were set by hand. */
  noteStep() {
    if (!this.article()) return;
    this.stepper.text.append(' ', el('span', { class: 'hand-note', id: 'article-note', text: this.t('att.article.note') }));
  }

  /** Redraws from the state. `light` only moves the step highlight. */
  render(light = false) {
    const s = this.app.state;
    this.stepper.render(s.step);
    this.noteStep();
    if (light) return;
    const article = this.article();
    const src = this.source();
    this.trained = src.trained ?? null;
    this.fillOptions();
    // Embedded (a slide), the note is one short line: which weights, nothing more.
    this.weightsNote.textContent = this.app.embed && src.note ? this.t(src.trained ? 'att.weights.trainedShort' : 'att.weights.randomShort', { l: (src.trained?.l ?? 0) + 1, L: src.trained?.L, seed: s.seed }) : src.note ?? '';
    this.weightsNote.hidden = !src.note;
    this.intro.textContent = this.t(article ? 'att.intro.article' : 'att.intro');
    this.handNote.textContent = article ? this.t('att.article.controls') : '';
    this.handNote.hidden = !article;
    if (document.activeElement !== this.input) this.input.value = s.text;
    this.seedField.show(article ? '' : s.seed);
    this.seed.placeholder = article ? '—' : '';
    this.causal.checked = s.causal || !!this.trained;
    this.nums.checked = s.nums;
    let r = src.r;
    if (src.loading) return;
    try {
      if (src.error) throw src.error;
      r ??= engine.attentionDemo(s.text, article ? { article: true, causal: s.causal } : { dModel: s.d, heads: s.h, seed: s.seed, causal: s.causal });
      this.stale.ok(s.text);
    } catch (e) {
      this.stale.fail(this.app.errorText(e));
      return;
    }
    this.data = r;
    // The article's example writes its weighted sum out with the numbers; embedded, that line
    // stands for the chart of the V rows (the frame has no room for both).
    this.formulaNums.hidden = !article;
    this.sumV.figure.hidden = article && this.app.embed;
    this.stepper.sections[5].classList.toggle('hand-set', article);
    // The sizes are the result's: the article's example has its own.
    const T = r.tokens.length, C = r.embeddings.shape[1], H = r.heads.weights.shape[1], D = C / H;
    const head = Math.min(s.head, H - 1);
    const tok = Math.min(s.tok, T - 1);
    const labels = r.tokens;
    const dropped = r.truncated ? this.t('att.tokens.dropped', { n: T, rest: droppedText(s.text, labels) }) : '';
    for (const note of [this.dropNote, this.tokenDrop]) {
      note.textContent = dropped;
      note.hidden = !dropped;
    }
    // 0 · tokens, each with its position in the sentence (as V₁, V₂ … in step 6); the same
    // buttons stand in step 6, where the followed token is chosen
    this.sentence.textContent = this.t('att.sentence', { text: s.text });
    const tokenButtons = () => labels.map((w, i) => {
      const b = el('button', { type: 'button', class: 'token', 'aria-pressed': String(i === tok), 'data-index': String(i), title: this.t('att.tokens.pos', { n: i + 1 }) }, el('span', { class: 'tok-text', text: w }), el('span', { class: 'tok-id', text: String(i + 1) }));
      b.addEventListener('click', (e) => { e.stopPropagation(); this.app.setState({ tok: i }); });
      return b;
    });
    // The buttons are rebuilt: the one that had the focus (space selected it) keeps it.
    const focusedIn = [this.tokens, this.sumTokens].find((g) => g.contains(document.activeElement));
    const focused = focusedIn ? Number(document.activeElement.dataset.index) : -1;
    this.tokens.replaceChildren(...tokenButtons());
    this.sumTokens.replaceChildren(...tokenButtons());
    focusedIn?.querySelector(`[data-index="${focused}"]`)?.focus({ preventScroll: true });
    this.tokenCount.textContent = this.t('att.tokens.count', { n: T });
    if (!this.headCharts || this.headCharts.length !== H) {
      this.grid.replaceChildren();
      this.headCharts = Array.from({ length: H }, (_, h) => new Heatmap(this.grid, { id: `chart-head-${h}`, t: (k, v) => this.t(k, v), onSelect: () => this.app.setState({ head: h }) }));
    }
    // Embedded, each chart of the current step gets the box the frame leaves it (fit.js); if
    // the step still overflows (its captions were empty before the first drawing), once more.
    const current = this.stepper.sections[Math.min(s.step, this.steps - 1)];
    const layoutHeads = () => this.layoutHeads(H, T);
    if (!this.app.embed) {
      layoutHeads();
      this.draw(r, null);
      return;
    }
    this.fitTokens(current);
    current.classList.remove('tight');
    this.draw(r, chartBoxes(current, layoutHeads));
    if (overflows(current)) this.draw(r, chartBoxes(current, layoutHeads));
    // Still too tall (the weighted sum of a long sentence): its V matrix gives way (the
    // formula names every row it adds, and the table under "show as table" has them).
    if (overflows(current) && current.contains(this.sumV.figure)) {
      current.classList.add('tight');
      this.draw(r, chartBoxes(current, layoutHeads));
    }
    for (const c of this.charts()) if (current.contains(c.figure)) centreHeatmap(c);
  }

  /**
   * Embedded, the token step shows its tokens as large as the frame allows: the largest type
   * (in rem, which grows with the frame) at which the step does not overflow. The weighted
   * sum's step picks its tokens from a row that takes at most a fifth of the frame, so that a
   * long sentence leaves its formula and charts their room.
   */
  fitTokens(current) {
    const sizes = [3, 2.5, 2.1, 1.8, 1.5, 1.25, 1.05, 0.9];
    const first = this.stepper.sections[0];
    if (current === first) {
      for (const size of sizes) {
        first.style.setProperty('--tok-size', `${size}rem`);
        if (!overflows(first)) return;
      }
    }
    const sum = this.sumTokens.closest('.step-section');
    if (current === sum && this.sumTokens.offsetParent) {
      for (const size of sizes.slice(3)) {
        sum.style.setProperty('--tok-size', `${size}rem`);
        if (this.sumTokens.offsetHeight <= window.innerHeight / 5) return;
      }
    }
  }

  /** Every heatmap of the panel. */
  charts() {
    return [this.vectors, this.q, this.k, this.v, this.scores, this.weights, this.sumWeights, this.sumV, this.result, ...(this.headCharts ?? []), this.concat, this.output];
  }

  /**
   * The heads grid's columns: as many as keep the small multiples' cells largest in the box
   * the grid has (embedded), or each map at least ~14 px a cell on the page.
   */
  layoutHeads(H, T) {
    const g = this.grid;
    const fs = this.app.fontScale;
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const cols = this.app.embed
      ? gridColumns(H, T, { w: g.clientWidth, h: g.clientHeight, extraW: 16 + 30 * fs, extraH: rem * 1.5 + 16 + 20 * fs })
      : gridColumns(H, T, { w: g.clientWidth, minW: Math.max(180, 80 + 14 * T) });
    g.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
  }

  /** Draws every chart; `boxes` (embedded) maps each chart's canvas box to the size it may take. */
  draw(r, boxes) {
    const s = this.app.state;
    // The sizes are the result's: the article's example has its own.
    const T = r.tokens.length, C = r.embeddings.shape[1], H = r.heads.weights.shape[1], D = C / H;
    const head = Math.min(s.head, H - 1);
    const tok = Math.min(s.tok, T - 1);
    const labels = r.tokens;
    const fs = this.app.fontScale;
    // Embedded: a chart of the current step fills its box; the others (hidden) keep a budget.
    const budget = Math.max(100, window.innerHeight - 110);
    const maxH = (chart) => (this.app.embed ? Math.max(60, Math.floor(boxes?.get(chart.canvas.parentElement)?.h || budget)) : undefined);
    const maxCell = this.app.embed ? 140 : 48;
    const vecTip = (r0, c0, v) => this.t('hover.vec', { row: labels[r0], col: c0, value: v });
    const cellTip = (r0, c0, v) => this.t('hover.cell', { row: labels[r0], col: labels[c0], value: v });
    // The article's example always shows its numbers: they are the point of it.
    const numsVec = (s.nums || this.article()) && C <= 16;
    // 1 · vectors
    const article = this.article();
    this.vectors.draw({ matrix: r.embeddings, rows: labels, cols: C <= 16 ? Array.from({ length: C }, (_, j) => String(j)) : [], palette: 'diverging', square: C <= 32, numbers: numsVec, caption: this.t(article ? 'att.vectors.article' : r.trained ? 'att.vectors.trained' : 'att.vectors.caption', { t: T, c: C, l: (this.trained?.l ?? 0) + 1 }), tooltip: vecTip, highlightRow: tok, maxHeight: maxH(this.vectors), maxCell, fontScale: fs });
    // 2 · Q, K, V of the selected head
    const hq = headSlice(r.heads.q, head), hk = headSlice(r.heads.k, head), hv = headSlice(r.heads.v, head);
    const dcols = D <= 16 ? Array.from({ length: D }, (_, j) => String(j)) : [];
    const numsD = (s.nums || this.article()) && D <= 8;
    // Q, K and V stand one under the other, each the card's full width: cells large enough
    // for their numbers (the step that carries the article's 你/是/谁 example).
    const qkvCell = this.app.embed ? maxCell : 40;
    this.q.draw({ matrix: hq, rows: labels, cols: dcols, palette: 'diverging', square: D <= 32, numbers: numsD, caption: this.t('att.q', { t: T, d: D }), tooltip: vecTip, highlightRow: tok, legend: false, maxHeight: maxH(this.q), maxCell: qkvCell, fontScale: fs });
    this.k.draw({ matrix: hk, rows: labels, cols: dcols, palette: 'diverging', square: D <= 32, numbers: numsD, caption: this.t('att.k', { t: T, d: D }), tooltip: vecTip, highlightRow: tok, legend: false, maxHeight: maxH(this.k), maxCell: qkvCell, fontScale: fs });
    this.v.draw({ matrix: hv, rows: labels, cols: dcols, palette: 'diverging', square: D <= 32, numbers: numsD, caption: this.t('att.v', { t: T, d: D }), tooltip: vecTip, highlightRow: tok, legend: false, maxHeight: maxH(this.v), maxCell: qkvCell, fontScale: fs });
    // 3 · scores, 4 · weights (with the mask drawn)
    const causal = s.causal || !!r.trained;
    const mask = causal ? { shape: [T, T], data: Uint8Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? 1 : 0)) } : undefined;
    const hs = headSlice(r.heads.scores, head), hw = headSlice(r.heads.weights, head);
    this.scores.draw({ matrix: hs, rows: labels, cols: labels, palette: 'diverging', mask, numbers: s.nums, caption: this.t('att.scores.caption', { h: head + 1, d: D, t: T }), tooltip: cellTip, highlightRow: tok, maxHeight: maxH(this.scores), maxCell, fontScale: fs });
    // With many tokens each weight is small (about 1/T): on a fixed 0–1 scale the map would be
    // uniformly dark, so the scale then ends at the largest weight, and the caption says so.
    const wmax = T > 8 ? Math.max(1e-6, ...hw.data) : 1;
    const wcap = this.t('att.weights.caption', { h: head + 1 }) + (wmax < 1 ? this.t('att.weights.scale', { max: wmax.toFixed(2) }) : '');
    this.weights.draw({ matrix: hw, rows: labels, cols: labels, palette: 'viridis', min: 0, max: wmax, mask, numbers: s.nums, caption: wcap, tooltip: cellTip, highlightRow: tok, maxHeight: maxH(this.weights), maxCell, fontScale: fs });
    this.maskNote.hidden = !causal;
    this.patternSay.textContent = this.patternText(r, head);
    this.patternSay.hidden = !r.trained;
    // 5 · the weighted sum for the selected token, with the real numbers
    // Under the causal mask the first token sees only itself: its sum is V₁ alone. Say so, and
    // point at a token with more to show.
    this.sumCaption.textContent = this.t('att.sum.caption', { tok: labels[tok], h: head + 1 }) + (causal && tok === 0 && T > 1 ? ' ' + this.t('att.sum.first', { last: labels[T - 1] }) : '');
    const terms = [];
    for (let j = 0; j < T; j++) {
      if (mask && mask.data[tok * T + j]) continue;
      terms.push(`${hw.data[tok * T + j].toFixed(2)} × V${sub(j + 1)}(${labels[j]})`);
    }
    this.formula.textContent = terms.join(' + ');
    // The article's example writes the sum out with the numbers: weight × V row, then the result.

    if (article) {
      const vec = (data) => `[${Array.from(data, (x) => x.toFixed(2)).join(', ')}]`;
      const numTerms = [];
      for (let j = 0; j < T; j++) {
        if (mask && mask.data[tok * T + j]) continue;
        numTerms.push(`${hw.data[tok * T + j].toFixed(2)} × ${vec(hv.data.subarray(j * D, j * D + D))}`);
      }
      const res = r.heads.concat.data.subarray(tok * C + head * D, tok * C + head * D + D);
      this.formulaNums.textContent = `= ${numTerms.join(' + ')} = ${vec(res)}`;
    }
    const wrow = { shape: [1, T], data: hw.data.slice(tok * T, tok * T + T) };
    const rowMask = mask ? { shape: [1, T], data: mask.data.slice(tok * T, tok * T + T) } : undefined;
    this.sumWeights.draw({ matrix: wrow, rows: [labels[tok]], cols: labels, palette: 'viridis', min: 0, max: 1, mask: rowMask, numbers: true, caption: this.t('att.sum.weights', { tok: labels[tok] }), tooltip: (r0, c0, v) => this.t('hover.cell', { row: labels[tok], col: labels[c0], value: v }), maxHeight: maxH(this.sumWeights), maxCell: this.app.embed ? maxCell : 64, fontScale: fs });
    this.sumV.draw({ matrix: hv, rows: labels.map((w, j) => `V${sub(j + 1)} ${w}`), cols: dcols, palette: 'diverging', square: D <= 32, numbers: numsD, caption: this.t('att.sum.v', { t: T, d: D }), tooltip: vecTip, legend: false, maxHeight: maxH(this.sumV), maxCell, fontScale: fs });
    const concat = { shape: [T, C], data: r.heads.concat.data };
    const outRow = { shape: [1, D], data: concat.data.slice(tok * C + head * D, tok * C + head * D + D) };
    this.result.draw({ matrix: outRow, rows: [labels[tok]], cols: dcols, palette: 'diverging', square: D <= 32, numbers: numsD, caption: this.t('att.sum.result', { d: D }), tooltip: vecTip, legend: false, maxHeight: maxH(this.result), maxCell, fontScale: fs });
    // 6 · every head's weights as small multiples
    this.headCharts.forEach((c, h) => {
      c.figure.classList.toggle('selected', h === head);
      c.draw({ matrix: headSlice(r.heads.weights, h), rows: labels, cols: labels, palette: 'viridis', min: 0, max: 1, mask, legend: false, caption: this.t('att.heads.caption', { h: h + 1 }) + (r.patterns?.[h] ? ` · ${this.t(`att.heads.${r.patterns[h].kind}`, { s: r.patterns[h].strength.toFixed(2) })}` : ''), tooltip: cellTip, highlightRow: tok, maxHeight: maxH(c), maxCell, fontScale: fs });
    });
    // 7 · concatenation and output projection, with the shapes written out
    this.shapes.textContent = this.t(H === 1 ? 'att.concat.shapes1' : 'att.concat.shapes', { h: H, d: D, c: C, t: T });
    this.concat.draw({ matrix: concat, rows: labels, cols: [], palette: 'diverging', square: C <= 32, colGroup: H > 1 ? D : 0, caption: this.t('att.concat.caption', { t: T, c: C }), tooltip: vecTip, highlightRow: tok, maxHeight: maxH(this.concat), maxCell, fontScale: fs });
    this.output.draw({ matrix: r.output, rows: labels, cols: [], palette: 'diverging', square: C <= 32, caption: this.t('att.out.caption', { t: T, c: C }), tooltip: vecTip, highlightRow: tok, maxHeight: maxH(this.output), maxCell, fontScale: fs });
  }
}
