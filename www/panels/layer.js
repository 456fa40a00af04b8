// The layer panel (the seed article's module 3, after attention): the rest of one transformer
// layer — residual, LayerNorm, feed-forward network, the second residual and LayerNorm, pre-
// versus post-norm — then the whole stack: every layer's heads, one token followed through
// the layers, and the next token at the top with temperature and top-k. Every number comes
// from the engine (model.traceLayers, nextToken, forward); this file lays them out.
//
// The model is the shipped 4-layer decoder-only one (`cargo xtask pretrain`, recipe
// stack-<lang>), or the same model before training (its weights drawn from a seed), so the
// difference training makes can be seen on the same sentence.

import { engine } from '../engine.js';
import { Bars, Heatmap, barRow } from '../chart.js';
import { el, fillSelect, field } from '../dom.js';
import { Stepper } from '../stepper.js';
import { chartBoxes, centreHeatmap, overflows } from '../fit.js';
import { NumberField } from '../numfield.js';
import { Stale } from '../stale.js';
import { shippedModel, untrainedStack } from '../models.js';
import { serialize, choices, PROPS_BY_KEY } from '../state.js';
import { layerDiagram, activationCurve } from '../figures.js';

const STEPS = 9;
/** The temperature at the slider's position `v` (log10 τ), to two decimals, in the link's range. */
export function tempOf(v) {
  const { min, max } = PROPS_BY_KEY.temp;
  return Math.min(max, Math.max(min, Math.round(100 * 10 ** v) / 100));
}
/** Each language's sentence: the article's "today the weather is nice, good for going to …". */
export const LAYER_TEXTS = { zh: '今天天气真好，适合去', en: 'the weather is nice today , a good day for a' };
const SUB = '₀₁₂₃₄₅₆₇₈₉';
const sub = (n) => String(n).split('').map((d) => SUB[+d]).join('');
const fmt = (v) => (Math.abs(v) < 0.005 ? '0.00' : v.toFixed(2));
const signed = (v) => (v < 0 ? `(${fmt(v)})` : fmt(v));

/** Row `t` of a [T, X] tensor as a [1, X] tensor. */
const row = (m, t) => ({ shape: [1, m.shape[1]], data: m.data.subarray(t * m.shape[1], (t + 1) * m.shape[1]) });
/** Rows stacked: [[1, X] …] → [n, X]. */
function stack(rows) {
  const X = rows[0].shape[1];
  const data = new Float32Array(rows.length * X);
  rows.forEach((r, i) => data.set(r.data, i * X));
  return { shape: [rows.length, X], data };
}
/** Head h of a [1, H, T, T] tensor as [T, T]. */
function head(t, h) {
  const [, , T, X] = t.shape;
  return { shape: [T, X], data: t.data.subarray(h * T * X, (h + 1) * T * X) };
}

export default class LayerPanel {
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
    const t1 = (k, v) => this.t(k, v);
    const intro = el('section', { class: 'intro article' }, el('h2', { 'data-i18n': 'lay.title' }), el('p', { 'data-i18n': 'lay.intro' }));
    this.input = el('input', { id: 'lay-text', type: 'text', maxlength: '80', autocomplete: 'off', spellcheck: 'false' });
    this.weightsSel = el('select', { id: 'lay-weights' });
    this.layerSel = el('select', { id: 'lay-layer' });
    this.seedField = new NumberField(a, 'lay-seed', 'lseed', (v) => a.setState({ lseed: v }));
    this.seed = this.seedField.input;
    const controls = el('div', { class: 'controls', role: 'group', 'data-i18n-aria': 'ctl.settings' },
      field('ltext', 'lay-text', 'ctl.text', this.input),
      field('lweights', 'lay-weights', 'lay.ctl.weights', this.weightsSel),
      field('lseed', 'lay-seed', 'ctl.seed', this.seed, this.seedField.message),
      field('blayer', 'lay-layer', 'lay.ctl.layer', this.layerSel));
    this.controlsBox = el('details', { class: 'controls-box', open: '' }, el('summary', { 'data-i18n': 'ctl.settings' }), controls);
    if (a.embed) this.controlsBox.open = false;
    this.stepper = new Stepper(a, { count: STEPS, keys: 'lay', ids: 'lay-' });
    this.status = el('p', { class: 'muted', id: 'lay-status', role: 'status' });
    this.error = el('p', { class: 'error', role: 'alert', hidden: '' });
    const sec = (i) => this.stepper.section(i);
    const chart = (parent, id, opts = {}) => new Heatmap(parent, { id, t: t1, ...opts });
    const selectTok = (r) => a.setState({ ltok: r });
    // 0 · the layer as a diagram whose boxes are links to their steps; the tokens
    const s0 = sec(0);
    this.weightsNote = el('p', { class: 'say', id: 'lay-weights-note' });
    this.tokens = el('div', { class: 'tokens', id: 'lay-tokens', role: 'group' });
    this.diagram = el('div', { class: 'layer-diagram', id: 'lay-diagram' });
    // Which recipe trained the shipped model, and the learning panel's link that retrains it.
    this.recipeSay = el('p', { class: 'muted', id: 'lay-recipe' });
    this.retrain = el('a', { id: 'lay-retrain' });
    s0.append(this.weightsNote, this.tokens, this.diagram, el('p', { class: 'recipe-line' }, this.recipeSay, ' ', this.retrain));
    // 1 · first residual
    const s1 = sec(1);
    this.res1Formula = el('p', { class: 'formula', id: 'lay-res1-formula' });
    s1.append(this.res1Formula);
    this.res1 = chart(s1, 'lay-res1', { tableAlways: true });
    // 2 · LayerNorm of r₁
    const s2 = sec(2);
    this.lnFormula = el('p', { class: 'formula', id: 'lay-ln-formula' });
    s2.append(this.lnFormula);
    this.ln = chart(s2, 'lay-ln', { tableAlways: true });
    // 3 · FFN: up, activation, down
    const s3 = sec(3);
    this.ffnShapes = el('p', { class: 'formula', id: 'lay-ffn-shapes' });
    const ffnRow = el('div', { class: 'trio ffn-row' });
    s3.append(this.ffnShapes, ffnRow);
    this.up = chart(ffnRow, 'lay-up', { onSelect: selectTok });
    this.curve = el('figure', { class: 'chart curve', id: 'lay-act' });
    ffnRow.append(this.curve);
    this.down = chart(ffnRow, 'lay-down', { onSelect: selectTok });
    this.curveSay = el('p', { class: 'say', id: 'lay-act-say' });
    s3.append(this.curveSay);
    s3.classList.add('wide');
    // 4 · second residual and the layer's output
    const s4 = sec(4);
    this.res2Formula = el('p', { class: 'formula', id: 'lay-res2-formula' });
    s4.append(this.res2Formula);
    this.res2 = chart(s4, 'lay-res2', { tableAlways: true });
    // 5 · pre-norm versus post-norm
    const s5 = sec(5);
    this.swap = el('input', { id: 'lay-swap', type: 'checkbox' });
    this.normSay = el('p', { class: 'say', id: 'lay-norm-say' });
    this.normDiagrams = el('div', { class: 'pair', id: 'lay-norm-diagrams' });
    s5.append(el('div', { class: 'field check ui-lswap' }, this.swap, el('label', { for: 'lay-swap', 'data-i18n': 'lay.ctl.swap' })), this.normDiagrams, this.normSay);
    this.normCmp = chart(s5, 'lay-norm-cmp', { tableAlways: true });
    // 6 · the stack: every layer's heads
    const s6 = sec(6);
    this.grid = el('div', { class: 'grid-heads stack-grid', id: 'lay-grid' });
    // A click on a head opens it elsewhere: the section's own click (select this step) must not follow.
    this.grid.addEventListener('click', (e) => e.stopPropagation());
    s6.append(this.grid);
    s6.classList.add('wide');
    // 7 · one token through the layers
    const s7 = sec(7);
    this.pathSay = el('p', { class: 'say', id: 'lay-path-say' });
    this.pathTable = el('table', { class: 'numbers', id: 'lay-path-table' });
    s7.append(this.pathSay, this.pathTable);
    this.path = chart(s7, 'lay-path');
    // 8 · the output: logits → softmax(z/τ) over the top k → the next token
    const s8 = sec(8);
    // τ over the link's whole range (state.js: 0.05 to 10) on a log scale, so that τ = 1 sits
    // near the middle and 0.1–2, where most of the change happens, is not squeezed into a
    // corner: the slider's value is log10 τ, its ends rounded to its steps (tempOf gives back
    // the link's ends).
    const tp = PROPS_BY_KEY.temp, end = (x) => String(Math.round(100 * Math.log10(x)) / 100);
    this.temp = el('input', { id: 'lay-temp', type: 'range', min: end(tp.min), max: end(tp.max), step: '0.01' });
    this.tempOut = el('output', { for: 'lay-temp', id: 'lay-temp-out' });
    this.topk = el('select', { id: 'lay-topk' });
    this.redraw = el('button', { type: 'button', id: 'lay-sample', 'data-i18n': 'lay.ctl.sample' });
    const outControls = el('div', { class: 'controls row' },
      el('div', { class: 'field ui-temp' }, el('label', { for: 'lay-temp', 'data-i18n': 'lay.ctl.temp' }), el('div', { class: 'row' }, this.temp, this.tempOut)),
      field('topk', 'lay-topk', 'lay.ctl.topk', this.topk),
      el('div', { class: 'field ui-sample' }, el('span', { text: ' ' }), this.redraw));
    this.outSay = el('p', { class: 'say', id: 'lay-out-say' });
    this.barsCanvas = el('canvas', { id: 'lay-out-bars' });
    this.bars = new Bars(this.barsCanvas);
    this.outList = el('ol', { class: 'bars-list', id: 'lay-out-list' });
    s8.append(outControls, this.outSay, el('div', { class: 'bars-box' }, el('div', { class: 'canvas-wrap' }, this.barsCanvas)), this.outList);
    const body = el('div', { class: 'sections' }, ...this.stepper.sections);
    this.root.append(intro, this.controlsBox, this.stepper.nav, this.stepper.text, this.status, this.error, body);
    this.stale = new Stale(a, this.error, () => [body]);
    // Every control changes the state through the one update path.
    this.input.addEventListener('input', () => a.setState({ ltext: this.input.value, ltok: -1 }, { render: 'typing' }));
    this.weightsSel.addEventListener('change', () => a.setState({ lweights: this.weightsSel.value }));
    this.layerSel.addEventListener('change', () => a.setState({ blayer: +this.layerSel.value }));
    this.swap.addEventListener('change', () => a.setState({ lswap: this.swap.checked }));
    this.temp.addEventListener('input', () => a.setState({ temp: tempOf(+this.temp.value) }));
    this.topk.addEventListener('change', () => a.setState({ topk: +this.topk.value }));
    this.redraw.addEventListener('click', () => a.setState({ sseed: (a.state.sseed + 1) % 2147483648 }));
  }

  /** The model the state asks for: the shipped one, or the same before training. */
  model() {
    const s = this.app.state;
    const lang = s.lang;
    if (s.lweights === 'random') return untrainedStack(lang, s.lseed);
    return shippedModel('stack', lang, () => this.app.schedule(false));
  }

  render(light = false) {
    const s = this.app.state;
    this.stepper.render(s.step);
    if (light) return;
    const text = s.ltext ?? LAYER_TEXTS[s.lang];
    if (document.activeElement !== this.input) this.input.value = text;
    fillSelect(this.weightsSel, choices('lweights').map((w) => [w, this.t(`lay.weights.${w}`)]), s.lweights);
    this.seedField.show(s.lseed);
    this.seed.disabled = s.lweights !== 'random';
    this.swap.checked = s.lswap;
    this.temp.value = String(Math.log10(s.temp));
    this.temp.setAttribute('aria-valuetext', `τ = ${s.temp.toFixed(2)}`);
    this.tempOut.textContent = s.temp.toFixed(2);
    fillSelect(this.topk, choices('topk').map((k) => [k, k === 0 ? this.t('lay.topk.all') : String(k)]), s.topk);
    let m;
    try {
      m = this.model();
    } catch (e) {
      return this.fail(this.app.errorText(e));
    }
    this.status.textContent = !m ? this.t('lay.loading') : m.error ? this.t('lay.loadFailed', { msg: this.app.errorText(m.error) }) : '';
    if (!m || m.error) return;
    const cfg = m.config();
    const L = cfg.n_layers;
    const layer = Math.min(s.blayer, L - 1);
    fillSelect(this.layerSel, Array.from({ length: L }, (_, l) => [l, String(l + 1)]), layer);
    // `own`: the model as trained; `alt`: the shown layer with its norms moved (the layers
    // above read its output). The switch in the pre/post-norm step makes `alt` the one shown.
    let own, alt;
    try {
      own = m.traceLayers(text, {});
      alt = m.traceLayers(text, { layer, normFirst: !cfg.norm_first });
    } catch (e) {
      return this.fail(this.app.errorText(e));
    }
    this.stale.ok(text);
    this.data = { r: s.lswap ? alt : own, own, alt, cfg, layer, text };
    const current = this.stepper.sections[Math.min(s.step, STEPS - 1)];
    if (!this.app.embed) return this.draw(null);
    const prepare = () => this.layoutGrid(cfg.n_heads);
    this.draw(chartBoxes(current, prepare));
    if (overflows(current)) this.draw(chartBoxes(current, prepare));
    for (const c of this.charts()) if (current.contains(c.figure)) centreHeatmap(c);
  }

  fail(msg) {
    this.stale.fail(msg);
  }

  charts() {
    return [this.res1, this.ln, this.up, this.down, this.res2, this.normCmp, this.path, ...(this.headCharts ?? [])];
  }

  /** Draws every step from this.data; `boxes` (embedded) maps a chart's box to its size. */
  draw(boxes) {
    const s = this.app.state;
    const { r, own, alt, cfg, layer, text } = this.data;
    const T = r.tokens.length, C = cfg.d_model, F = cfg.d_ff, L = cfg.n_layers, H = cfg.n_heads;
    const tok = s.ltok < 0 ? T - 1 : Math.min(s.ltok, T - 1);
    const b = r.layers[layer];
    const fs = this.app.fontScale;
    const budget = Math.max(100, window.innerHeight - 110);
    const maxH = (c) => (this.app.embed ? Math.max(window.innerHeight <= 420 ? 24 : 60, Math.floor(boxes?.get(c.canvas.parentElement)?.h || budget)) : undefined);
    const maxCell = this.app.embed ? 140 : 40;
    const w = r.tokens[tok];
    const tp = { tok: w, l: layer + 1, n: tok + 1, t: T, c: C, f: F };
    const vecTip = (labels) => (r0, c0, v) => this.t('hover.vec', { row: labels[r0], col: c0, value: v });
    const rowsChart = (c, labels, mats, caption) => c.draw({ matrix: stack(mats), rows: labels, cols: [], palette: 'diverging', square: false, numbers: false, caption, tooltip: vecTip(labels), maxHeight: maxH(c), maxCell, fontScale: fs });
    // 0 · weights, tokens, diagram
    const trained = s.lweights !== 'random';
    this.weightsNote.textContent = trained
      ? this.t('lay.weights.trainedNote', { l: L, h: H, c: C }) + (r.unknown.length ? ' ' + this.t('lay.unknown', { list: r.unknown.join(' ') }) : '')
      : this.t('lay.weights.randomNote', { seed: s.lseed });
    if (r.dropped) this.weightsNote.textContent += ' ' + this.t('att.weights.cut', { n: T, k: r.dropped });
    if (s.lswap) this.weightsNote.textContent += ' ' + this.t('lay.swapped', { l: layer + 1, alt: this.t(b.normFirst ? 'lay.normName.pre' : 'lay.normName.post') });
    this.tokens.replaceChildren(...r.tokens.map((p, i) => {
      const btn = el('button', { type: 'button', class: 'token', 'aria-pressed': String(i === tok), 'data-index': String(i) }, el('span', { class: 'tok-text', text: p }), el('span', { class: 'tok-id', text: String(i + 1) }));
      btn.addEventListener('click', (e) => { e.stopPropagation(); this.app.setState({ ltok: i }); });
      return btn;
    }));
    this.drawRecipe(s);
    const link = (step) => serialize({ ...s, step }, this.app.hidden);
    const attLink = serialize({ ...s, panel: 'attention', step: 4 }, this.app.hidden);
    this.diagram.replaceChildren(layerDiagram(b.normFirst, { t: (k, v) => this.t(k, v), link, attLink, c: C, f: F, l: L }));
    // 1 · r₁ = x + a
    const x = row(b.input, tok), att = row(b.attnOut, tok), r1 = row(b.residual1, tok);
    const terms = (n, f) => Array.from({ length: Math.min(3, n) }, (_, j) => f(j)).join('; ') + (n > 3 ? '; …' : '');
    this.res1Formula.textContent = this.t('lay.res1.formula', tp) + ' ' + terms(C, (j) => `${fmt(x.data[j])} + ${signed(att.data[j])} = ${fmt(r1.data[j])}`);
    rowsChart(this.res1, [this.t('lay.row.x'), this.t('lay.row.attn'), this.t('lay.row.r1')], [x, att, r1], this.t('lay.res1.caption', tp));
    // 2 · the LayerNorm that reads r₁ (post-norm: LN₁ → the FFN; pre-norm: LN₂ → the FFN)
    const n = b.normFirst ? b.norm2 : b.norm1;
    const mu = n.mean.data[tok], v2 = n.var.data[tok];
    const z = row(n.input, tok), xh = row(n.normalized, tok), y = row(n.output, tok);
    const g = { shape: [1, C], data: n.gamma.data }, be = { shape: [1, C], data: n.beta.data };
    this.lnFormula.textContent = this.t('lay.ln.formula', { ...tp, name: n.name, mu: mu.toFixed(3), var: v2.toFixed(3), eps: n.eps, z0: fmt(z.data[0]), x0: fmt(xh.data[0]), g0: fmt(g.data[0]), b0: signed(be.data[0]), y0: fmt(y.data[0]) });
    rowsChart(this.ln, [this.t('lay.row.z'), this.t('lay.row.xhat'), 'γ', 'β', this.t('lay.row.y')], [z, xh, g, be, y], this.t('lay.ln.caption', { ...tp, name: n.name }));
    // 3 · FFN
    this.ffnShapes.textContent = this.t('lay.ffn.shapes', tp);
    this.up.draw({ matrix: b.up, rows: r.tokens, cols: [], palette: 'diverging', square: false, caption: this.t('lay.up.caption', tp), tooltip: vecTip(r.tokens), highlightRow: tok, maxHeight: maxH(this.up), maxCell, fontScale: fs });
    const u = row(b.up, tok).data, gu = row(b.act, tok).data;
    this.drawCurve(b.activation, u, gu, w);
    this.down.draw({ matrix: b.down, rows: r.tokens, cols: [], palette: 'diverging', square: false, caption: this.t('lay.down.caption', tp), tooltip: vecTip(r.tokens), highlightRow: tok, maxHeight: maxH(this.down), maxCell, fontScale: fs });
    // 4 · second residual (and, post-norm, LN₂): the layer's output
    const hIn = row(b.ffnInput, tok), f = row(b.down, tok), r2 = row(b.residual2, tok), out = row(b.output, tok);
    const base = b.normFirst ? row(b.residual1, tok) : hIn;
    this.res2Formula.textContent = this.t(b.normFirst ? 'lay.res2.pre' : 'lay.res2.post', tp) + ' ' + terms(C, (j) => `${fmt(base.data[j])} + ${signed(f.data[j])} = ${fmt(r2.data[j])}`);
    const res2Rows = b.normFirst ? [this.t('lay.row.r1'), this.t('lay.row.ffn'), this.t('lay.row.out')] : [this.t('lay.row.h'), this.t('lay.row.ffn'), this.t('lay.row.r2'), this.t('lay.row.out')];
    rowsChart(this.res2, res2Rows, b.normFirst ? [base, f, out] : [base, f, r2, out], this.t('lay.res2.caption', tp));
    // 5 · the other placement on the same input
    this.drawNorms(own, alt, layer, tok, tp, rowsChart);
    // 6 · every layer's heads
    this.drawGrid(r, L, H, tok, maxH, fs);
    // 7 · the token through the layers
    this.drawPath(r, tok, tp, rowsChart);
    // 8 · the next token
    this.drawOutput(r, s, text, boxes);
  }

  /**
   * The recipe the shipped model records (Model.recipe) and the learning panel's link that
   * trains the same model with the same settings and seed in this page.
   */
  drawRecipe(s) {
    const rec = s.lweights === 'random' ? null : this.model()?.recipe?.();
    this.recipeSay.parentElement.hidden = !rec;
    if (!rec) return;
    const o = rec.options;
    this.recipeSay.textContent = this.t('lay.recipe', { name: rec.name, steps: rec.steps, seed: o.seed, corpus: this.t(`lay.corpus.${rec.corpus}`) });
    this.retrain.textContent = this.t('lay.retrain');
    const lr = o.optimizer.lr;
    this.retrain.href = serialize({ ...s, panel: 'learn', corpus: rec.corpus, tmode: rec.tokenizer, size: 'deep', opt: 'adam', lr, batch: o.batch_size, tseed: o.seed, train: rec.steps, step: 3, prompt: null }, this.app.hidden);
  }

  /** The activation's curve (computed by the engine) with this token's F entries on it. */
  drawCurve(activation, u, g, w) {
    const lo = Math.min(-3, ...u), hi = Math.max(3, ...u);
    const N = 121;
    const xs = Float32Array.from({ length: N }, (_, i) => lo + ((hi - lo) * i) / (N - 1));
    const op = activation === 'relu' ? 'relu' : 'gelu';
    const args = { x: { shape: [1, N], data: xs } };
    if (activation === 'gelu_tanh') args.approximate = 'tanh';
    const ys = engine.forward(op, args).y.data;
    const neg = u.filter((v) => v < 0).length;
    const gmin = Math.min(0, ...Array.from(g).filter((_, j) => u[j] < 0));
    const name = this.t(`lay.act.${activation}`);
    this.curve.replaceChildren(...activationCurve({ xs, ys, u, g, lo, hi, caption: this.t('lay.act.caption', { act: name, tok: w, f: u.length }) }));
    this.curveSay.textContent = this.t(activation === 'relu' ? 'lay.act.sayRelu' : 'lay.act.sayGelu', { tok: w, f: u.length, neg, gmin: gmin.toFixed(2) });
  }

  drawNorms(own, alt, layer, tok, tp, rowsChart) {
    const a = own.layers[layer], b = alt.layers[layer];
    const na = a.normFirst ? 'pre' : 'post', nb = b.normFirst ? 'pre' : 'post';
    this.normDiagrams.replaceChildren(...[a, b].map((x) => layerDiagram(x.normFirst, { t: (k, v) => this.t(k, v), compact: true })));
    const ya = row(a.output, tok), yb = row(b.output, tok);
    const diff = { shape: [1, ya.shape[1]], data: yb.data.map((v, j) => v - ya.data[j]) };
    // The lengths are the engine's (each trace's path measures the layer's output).
    const pa = own.path[layer + 1][tok], pb = alt.path[layer + 1][tok];
    const top = (tr) => { const T = tr.tokens.length, V = tr.logits.shape[1]; return this.tokenName(engine.nextToken(tr.logits.data.subarray((T - 1) * V, T * V), { topK: 1 }).pick); };
    const [topA, topB] = [top(own), top(alt)];
    const vars = { ...tp, own: this.t(`lay.normName.${na}`), alt: this.t(`lay.normName.${nb}`), na: pa.norm.toFixed(2), nb: pb.norm.toFixed(2), topA, topB };
    this.normSay.textContent = this.t('lay.norm.say', vars) + (this.app.state.lang === 'zh' ? '' : ' ') + this.t(topA === topB ? 'lay.norm.topSame' : 'lay.norm.topChanged', vars);
    rowsChart(this.normCmp, [this.t(`lay.row.out.${na}`), this.t(`lay.row.out.${nb}`), this.t('lay.row.diff')], [ya, yb, diff], this.t('lay.norm.caption', tp));
  }

  /** A vocabulary entry's text (the model's vocabulary, read once per model). */
  tokenName(id) {
    const m = this.model();
    if (this.vocabOf !== m) {
      this.vocabOf = m;
      this.vocab = m.vocab();
    }
    return this.vocab[id] ?? `#${id}`;
  }

  drawGrid(r, L, H, tok, maxH, fs) {
    const n = L * H;
    if (!this.headCharts || this.headCharts.length !== n) {
      this.grid.replaceChildren();
      this.headCharts = Array.from({ length: n }, (_, i) => new Heatmap(this.grid, { id: `lay-head-${Math.floor(i / H)}-${i % H}`, t: (k, v) => this.t(k, v), onSelect: () => this.openHead(Math.floor(i / H), i % H) }));
    }
    const T = r.tokens.length;
    const tiny = this.app.embed && window.innerHeight <= 420;
    this.layoutGrid(H);
    const mask = { shape: [T, T], data: Uint8Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? 1 : 0)) };
    const tip = (r0, c0, v) => this.t('hover.cell', { row: r.tokens[r0], col: r.tokens[c0], value: v });
    for (let l = 0; l < L; l++) {
      const wts = r.layers[l].attention.weights;
      const pats = engine.headPatterns(wts);
      for (let h = 0; h < H; h++) {
        const c = this.headCharts[l * H + h];
        const p = pats[h];
        const what = p ? this.t(`lay.pattern.${p.kind}`, { s: p.strength.toFixed(2) }) : '';
        // In a small frame (≤ 420 px high) the thumbnails go without labels and patterns
        // (pointing at a cell still names its tokens).
        c.draw({ matrix: head(wts, h), rows: tiny ? [] : r.tokens, cols: tiny ? [] : r.tokens, palette: 'viridis', min: 0, max: 1, mask, legend: false, caption: tiny ? `L${l + 1}H${h + 1}` : this.t('lay.grid.caption', { l: l + 1, h: h + 1 }) + (what ? ` · ${what}` : ''), tooltip: tip, highlightRow: tok, maxHeight: maxH(c), maxCell: 24, minCell: tiny ? 3 : 8, minHeight: tiny ? 24 : 60, fontScale: fs });
      }
    }
  }

  /** The grid's columns: one layer a row; embedded in a wide frame, two (the maps get taller). */
  layoutGrid(H) {
    const g = this.grid;
    const wide = this.app.embed && window.innerHeight > 420 && g.clientWidth > 1.4 * g.clientHeight;
    g.style.gridTemplateColumns = `repeat(${wide ? 2 * H : H}, minmax(0, 1fr))`;
  }

  /** The stack grid's click: the attention panel on that layer and head of the same model. */
  openHead(l, h) {
    const s = this.app.state;
    const text = this.data?.text ?? LAYER_TEXTS[s.lang];
    const T = this.data?.r.tokens.length ?? 1;
    // The attention panel draws the shipped model's layers; the untrained model's layer opens here.
    if (s.lweights === 'random') return this.app.setState({ blayer: l, head: h, step: 1 }, { push: true });
    this.app.setState({ panel: 'attention', aw: 'trained', alayer: l, head: h, step: 4, text, preset: 'custom', tok: s.ltok < 0 ? T - 1 : s.ltok }, { push: true });
  }

  drawPath(r, tok, tp, rowsChart) {
    const L = r.layers.length;
    const vecs = [row(r.embeddings, tok), ...r.layers.map((b) => row(b.output, tok))];
    const labels = [this.t('lay.row.emb'), ...r.layers.map((_, l) => this.t('lay.row.after', { l: l + 1 }))];
    rowsChart(this.path, labels, vecs, this.t('lay.path.caption', tp));
    const head = el('tr', {}, ...['lay.path.depth', 'lay.path.norm', 'lay.path.cos', 'lay.path.added'].map((k) => el('th', { text: this.t(k) })));
    const body = r.path.map((p, l) => el('tr', {}, el('th', { text: labels[l] }), el('td', { text: p[tok].norm.toFixed(2) }), el('td', { text: l ? p[tok].cosPrev.toFixed(2) : '—' }), el('td', { text: l ? p[tok].added.toFixed(2) : '—' })));
    this.pathTable.replaceChildren(head, ...body);
    let most = 1;
    for (let l = 1; l <= L; l++) if (r.path[l][tok].added > r.path[most][tok].added) most = l;
    this.pathSay.textContent = this.t('lay.path.say', { ...tp, most, first: r.path[1][tok].cosPrev.toFixed(2), last: r.path[L][tok].cosPrev.toFixed(2) });
  }

  drawOutput(r, s, text, boxes) {
    const T = r.tokens.length, V = r.logits.shape[1];
    const z = r.logits.data.slice((T - 1) * V, T * V);
    const nt = engine.nextToken(z, { temperature: s.temp, topK: s.topk, seed: s.sseed });
    // Ten candidates, or as many bars (barRow each) as an embedded frame has room for.
    const room = boxes?.get(this.barsCanvas.parentElement)?.h;
    const n = room ? Math.max(3, Math.min(10, Math.floor((room - 8) / barRow(this.app.fontScale)))) : 10;
    // The drawn token is always shown (highlighted): when it is not among the n most likely,
    // it takes the last bar, with its rank.
    const rank = nt.kept.indexOf(nt.pick);
    const shown = rank < n ? nt.kept.slice(0, n) : [...nt.kept.slice(0, n - 1), nt.pick];
    const names = shown.map((id) => (id === nt.pick && rank >= n ? `${this.tokenName(id)} (#${rank + 1})` : this.tokenName(id)));
    const picked = this.tokenName(nt.pick);
    const at = shown.indexOf(nt.pick);
    this.bars.draw(names.map((n, i) => (i === at ? `✓ ${n}` : n)), shown.map((id) => nt.probs[id]), { percent: true, highlight: at, fontScale: this.app.fontScale, max: Math.max(1e-6, ...shown.map((id) => nt.probs[id])), alt: this.t('lay.out.alt', { text }) }, n);
    this.outList.replaceChildren(...shown.map((id, i) => el('li', { ...(i === at ? { 'data-drawn': '1' } : {}), text: `${i === at ? '✓ ' : ''}${names[i]} ${(100 * nt.probs[id]).toFixed(1)}% (z = ${z[id].toFixed(2)})` })));
    this.outSay.textContent = this.t('lay.out.say', { text, last: r.tokens[T - 1], pick: picked, p: (100 * nt.probs[nt.pick]).toFixed(1), u: nt.u.toFixed(2), temp: s.temp.toFixed(2), k: s.topk || this.t('lay.topk.all'), v: V });
  }
}

// Its strings, in both languages (a file of their own: they are most of the panel's text).
export { STRINGS } from './layer.strings.js';
