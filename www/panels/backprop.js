// The backpropagation panel (the seed article's module 4): one training example followed from
// a wrong answer to the fix. The shipped stack model of the page's language is taught the
// wrong answer honestly (plain-SGD steps of η = 0.01 on this one example, towards the wrong
// token, until it is first); then the loss, the blame at the output (p − y), the blame flowing
// back stage by stage, one weight's update written out, steps that fix the answer, and the
// loss along the gradient for a range of step sizes. Every number is the engine's
// (model.blame, model.stepSize); this file lays them out.

import { engine } from '../engine.js';
import { Bars, barRow } from '../chart.js';
import { el, fillSelect, field } from '../dom.js';
import { Stepper } from '../stepper.js';
import { chartBoxes } from '../fit.js';
import { choices } from '../state.js';
import { svg } from '../figures.js';
import { fetchModelFile } from '../models.js';
import { svgMenu, csv } from '../export.js';
import { stepSizeFacts, etaText, FIT_EPS } from './backprop.facts.js';

const STEPS = 7;
/** Each language's example: the prompt, the answer the corpus gives and the wrong answer taught. */
export const BP_EXAMPLES = {
  zh: { prompt: '今天天气真好，适合去', target: '散步', wrong: '打游戏' },
  en: { prompt: 'the weather is nice today , a good day for a', target: 'walk', wrong: 'swim' },
};
/** The wrong answer is taught with this learning rate, for at most this many steps. */
export const WRONG_LR = 0.01;
const WRONG_MAX = 100;
/** The step-size curve's learning rates: log-spaced from 10⁻⁴ to 10². */
export const STEP_LRS = Array.from({ length: 49 }, (_, i) => 10 ** (-4 + (6 * i) / 48));

const SUP = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
const pct = (p) => `${(100 * p).toFixed(1)}%`;
const f4 = (v) => v.toFixed(4);

export default class BackpropPanel {
  constructor(app, root) {
    this.app = app;
    this.root = root;
    this.steps = STEPS;
    this.bytes = {}; // lang → Uint8Array of models/stack-<lang>.safetensors (or {error})
    this.run = null; // {key, model, wrongSteps, wrongProbs, history, steps}
    this.build();
  }

  t(key, vars) {
    return this.app.t(key, vars);
  }

  build() {
    const a = this.app;
    const intro = el('section', { class: 'intro article' }, el('h2', { 'data-i18n': 'bp.title' }), el('p', { 'data-i18n': 'bp.intro' }));
    this.prompt = el('input', { id: 'bp-prompt', type: 'text', maxlength: '80', autocomplete: 'off', spellcheck: 'false' });
    this.target = el('input', { id: 'bp-target', type: 'text', maxlength: '20', autocomplete: 'off', spellcheck: 'false' });
    this.wrong = el('input', { id: 'bp-wrong', type: 'text', maxlength: '20', autocomplete: 'off', spellcheck: 'false' });
    this.lr = el('select', { id: 'bp-lr' });
    const controls = el('div', { class: 'controls', role: 'group', 'data-i18n-aria': 'ctl.settings' },
      field('bprompt', 'bp-prompt', 'bp.ctl.prompt', this.prompt),
      field('btarget', 'bp-target', 'bp.ctl.target', this.target),
      field('bwrong', 'bp-wrong', 'bp.ctl.wrong', this.wrong),
      field('blr', 'bp-lr', 'bp.ctl.lr', this.lr));
    this.controlsBox = el('details', { class: 'controls-box', open: '' }, el('summary', { 'data-i18n': 'ctl.settings' }), controls);
    if (a.embed) this.controlsBox.open = false;
    this.stepper = new Stepper(a, { count: STEPS, keys: 'bp', ids: 'bp-' });
    this.status = el('p', { class: 'muted', id: 'bp-status', role: 'status' });
    this.error = el('p', { class: 'error', id: 'bp-error', role: 'alert', hidden: '' });
    const sec = (i) => this.stepper.section(i);
    // 0 · the wrong answer
    const s0 = sec(0);
    this.wrongSay = el('p', { class: 'say', id: 'bp-wrong-say' });
    this.barsCanvas = el('canvas', { id: 'bp-bars' });
    this.bars = new Bars(this.barsCanvas);
    this.barsList = el('ol', { class: 'bars-list', id: 'bp-bars-list' });
    s0.append(this.wrongSay, el('div', { class: 'bars-box' }, el('div', { class: 'canvas-wrap' }, this.barsCanvas)), this.barsList);
    // 1 · the loss
    const s1 = sec(1);
    this.lossFormula = el('p', { class: 'formula', id: 'bp-loss' });
    s1.append(this.lossFormula);
    // 2 · p − y
    const s2 = sec(2);
    this.dlogitsSay = el('p', { class: 'say', id: 'bp-dlogits-say' });
    this.dlogits = el('table', { class: 'numbers', id: 'bp-dlogits' });
    s2.append(this.dlogitsSay, this.dlogits);
    // 3 · the flow back
    const s3 = sec(3);
    this.flow = el('figure', { class: 'chart bp-flow', id: 'bp-flow' });
    this.inputsSay = el('p', { class: 'say', id: 'bp-inputs-say' });
    this.inputs = el('div', { class: 'tokens', id: 'bp-inputs' });
    s3.append(this.flow, this.inputsSay, this.inputs);
    s3.classList.add('wide');
    // 4 · the update
    const s4 = sec(4);
    this.updateFormula = el('p', { class: 'formula', id: 'bp-update' });
    this.adamSay = el('p', { class: 'muted', id: 'bp-adam' });
    this.weightSel = el('select', { id: 'bp-weight' });
    this.weightSel.addEventListener('change', () => a.setState({ bweight: this.weightSel.value || null }));
    s4.append(field('bweight', 'bp-weight', 'bp.ctl.weight', this.weightSel), this.updateFormula, this.adamSay);
    // 5 · forward again, and steps
    const s5 = sec(5);
    this.stepBtn = el('button', { type: 'button', id: 'bp-step', class: 'ui-bstep', 'data-i18n': 'bp.ctl.step' });
    this.resetBtn = el('button', { type: 'button', id: 'bp-reset', class: 'ui-bstep', 'data-i18n': 'bp.ctl.reset' });
    this.afterTable = el('table', { class: 'numbers', id: 'bp-after' });
    this.stepsSay = el('p', { class: 'say', id: 'bp-steps-say' });
    this.history = el('figure', { class: 'chart bp-history', id: 'bp-history' });
    s5.append(el('div', { class: 'controls row' }, this.stepBtn, ' ', this.resetBtn), this.afterTable, this.stepsSay, this.history);
    // 6 · step size
    const s6 = sec(6);
    this.sizeSay = el('p', { class: 'say', id: 'bp-size-say' });
    this.sizeCurve = el('figure', { class: 'chart bp-size', id: 'bp-size' });
    s6.append(this.sizeSay, this.sizeCurve);
    const body = el('div', { class: 'sections' }, ...this.stepper.sections);
    this.root.append(intro, this.controlsBox, this.stepper.nav, this.stepper.text, this.status, this.error, body);
    const text = (input, key) => input.addEventListener('input', () => a.setState({ [key]: input.value, bsteps: 0 }, { render: 'typing' }));
    text(this.prompt, 'bprompt');
    text(this.target, 'btarget');
    text(this.wrong, 'bwrong');
    this.lr.addEventListener('change', () => a.setState({ blr: +this.lr.value, bsteps: 0 }));
    this.stepBtn.addEventListener('click', (e) => { e.stopPropagation(); a.setState({ bsteps: Math.min(200, a.state.bsteps + 1) }); });
    this.resetBtn.addEventListener('click', (e) => { e.stopPropagation(); a.setState({ bsteps: 0 }); });
  }

  /** The example the state asks for (the language's own where a field is left empty). */
  example() {
    const s = this.app.state, d = BP_EXAMPLES[s.lang];
    const pick = (v, def) => (v == null || v.trim() === '' ? def : v.trim());
    return { prompt: pick(s.bprompt, d.prompt), target: pick(s.btarget, d.target), wrong: pick(s.bwrong, d.wrong) };
  }

  /** The shipped model file of `lang`, fetched once; null while it loads. */
  file(lang) {
    const b = this.bytes[lang];
    if (b) return b;
    if (!this.pending) {
      this.pending = (async () => {
        try {
          this.bytes[lang] = await fetchModelFile(`stack-${lang}`);
        } catch (e) {
          this.bytes[lang] = { error: e };
        }
        this.pending = null;
        this.app.schedule(false);
      })();
    }
    return null;
  }

  /**
   * The panel's own copy of the shipped model: taught the wrong answer (plain SGD, η = 0.01,
   * until it is first), then `steps` SGD steps of η = `lr` towards the target. Kept between
   * renders; a step more applies one more step, anything else starts again from the file.
   */
  model(bytes, ex, lr, steps) {
    const key = `${this.app.state.lang}|${ex.prompt}|${ex.target}|${ex.wrong}|${lr}`;
    if (this.run?.key !== key || this.run.steps > steps) {
      this.run?.model.free();
      this.run = null;
      const model = engine.Model.fromFile(bytes);
      const run = { key, model, steps: 0, history: [] };
      try {
        // Both tokens must be known before anything is taught (blame throws the engine's message).
        model.blame(ex.prompt, ex.target, { lr: 0, top: 1 });
        let b = model.blame(ex.prompt, ex.wrong, { lr: WRONG_LR, top: 1 });
        let n = 0;
        while (b.top[0].token !== ex.wrong && n < WRONG_MAX) {
          b = model.blame(ex.prompt, ex.wrong, { lr: WRONG_LR, top: 1, apply: true });
          n++;
          b = model.blame(ex.prompt, ex.wrong, { lr: WRONG_LR, top: 1 });
        }
        run.wrongSteps = n;
        run.wrongFirst = b.top[0].token === ex.wrong;
        run.wrongProbs = model.blame(ex.prompt, ex.target, { lr: 0, top: 1 }).probs.slice();
      } catch (e) {
        model.free();
        throw e;
      }
      this.run = run;
    }
    const run = this.run;
    while (run.steps < steps) {
      const b = run.model.blame(ex.prompt, ex.target, { lr, top: 1, apply: true });
      run.history.push(b.loss);
      run.steps++;
    }
    return run;
  }

  render(light = false) {
    const s = this.app.state;
    this.stepper.render(s.step);
    if (light) return;
    const ex = this.example();
    if (document.activeElement !== this.prompt) this.prompt.value = ex.prompt;
    if (document.activeElement !== this.target) this.target.value = ex.target;
    if (document.activeElement !== this.wrong) this.wrong.value = ex.wrong;
    fillSelect(this.lr, choices('blr').map((v) => [v, String(v)]), s.blr);
    const bytes = this.file(s.lang);
    this.status.textContent = !bytes ? this.t('bp.loading') : bytes.error ? this.t('bp.loadFailed', { msg: this.app.errorText(bytes.error) }) : '';
    if (!bytes || bytes.error) return;
    let run, b, size, vocab;
    try {
      run = this.model(bytes, ex, s.blr, s.bsteps);
      // The weight written out: the entry with the largest gradient, anywhere or in the tensor picked.
      const picked = s.bweight && run.model.paramShapes().some((x) => x.name === s.bweight) ? { weight: s.bweight } : {};
      b = run.model.blame(ex.prompt, ex.target, { lr: s.blr, top: 10, ...picked });
      size = run.model.stepSize(ex.prompt, ex.target, { lrs: STEP_LRS });
      vocab = run.model.vocab();
    } catch (e) {
      this.error.textContent = this.app.errorText(e);
      this.error.hidden = false;
      this.root.querySelector('.sections').hidden = true;
      return;
    }
    this.error.hidden = true;
    this.root.querySelector('.sections').hidden = false;
    const wrongId = vocab.indexOf(ex.wrong);
    const current = this.stepper.sections[Math.min(s.step, STEPS - 1)];
    const boxes = this.app.embed ? chartBoxes(current) : null;
    const vars = { target: ex.target, wrong: ex.wrong, prompt: ex.prompt, n: run.wrongSteps, k: s.bsteps, lr: s.blr, eta: WRONG_LR };
    this.drawWrong(run, vocab, ex, vars, boxes);
    // 1 · L = −log P(target)
    const pT = b.probs[b.target.id];
    this.lossFormula.textContent = this.t('bp.loss.formula', { ...vars, p: f4(pT), loss: f4(b.loss) }) + (s.bsteps ? ' ' + this.t('bp.loss.after', vars) : '');
    this.drawDlogits(b, vars);
    this.drawFlow(b, vars);
    // 4 · the update of the weight with the largest gradient
    fillSelect(this.weightSel, [['', this.t('bp.weight.largest')], ...b.params.map((x) => [x.name, `${x.name} (‖∂L/∂W‖ = ${x.norm.toPrecision(3)})`])], s.bweight ?? '');
    const u = b.step.update;
    this.updateFormula.textContent = this.t('bp.update.formula', { name: u.name, index: u.index, old: u.old.toFixed(6), lr: u.lr, grad: u.grad.toFixed(6), new: u.new.toFixed(6) });
    this.updateFormula.dataset.old = String(u.old);
    this.updateFormula.dataset.grad = String(u.grad);
    this.updateFormula.dataset.lr = String(u.lr);
    this.updateFormula.dataset.new = String(u.new);
    this.adamSay.textContent = this.t('bp.adam', vars);
    this.drawAfter(b, run, wrongId, ex, vars);
    this.drawSize(size, b.loss, s.blr, vars);
  }

  /** 0 · how the wrong answer was made, and the probabilities it leaves. */
  drawWrong(run, vocab, ex, vars, boxes) {
    const p = run.wrongProbs;
    const ids = Array.from(p.keys()).sort((x, y) => p[y] - p[x]);
    const room = boxes?.get(this.barsCanvas.parentElement)?.h;
    const n = room ? Math.max(3, Math.min(8, Math.floor((room - 8) / barRow(this.app.fontScale)))) : 8;
    const shown = ids.slice(0, n);
    const tId = vocab.indexOf(ex.target);
    if (!shown.includes(tId)) shown[shown.length - 1] = tId;
    const names = shown.map((i) => vocab[i]);
    this.bars.draw(names, shown.map((i) => p[i]), { percent: true, max: Math.max(1e-6, ...shown.map((i) => p[i])), fontScale: this.app.fontScale, alt: this.t('bp.wrong.alt') }, shown.length);
    this.barsList.replaceChildren(...shown.map((i) => el('li', { 'data-token': vocab[i], 'data-prob': String(p[i]), text: `${vocab[i]} ${pct(p[i])}` })));
    const key = run.wrongSteps === 0 ? 'bp.wrong.already' : run.wrongFirst ? 'bp.wrong.say' : 'bp.wrong.notFirst';
    this.wrongSay.textContent = this.t(key, { ...vars, max: WRONG_MAX, pw: pct(p[vocab.indexOf(ex.wrong)]), pt: pct(p[tId]) });
  }

  /** 2 · ∂L/∂logits = p − y for the top candidates (and the target). */
  drawDlogits(b, vars) {
    // In a small frame (≤ 420 px high) the three most probable and the target.
    const ids = b.top.map((x) => x.id).slice(0, this.app.embed && window.innerHeight <= 420 ? 3 : undefined);
    if (!ids.includes(b.target.id)) ids.push(b.target.id);
    const vocab = this.run.model.vocab();
    const most = Math.max(...ids.map((i) => Math.abs(b.dlogits[i])), 1e-9);
    const head = el('tr', {}, ...['bp.dl.token', 'bp.dl.p', 'bp.dl.y', 'bp.dl.g', 'bp.dl.bar'].map((k) => el('th', { text: this.t(k) })));
    const rows = ids.map((i) => {
      const g = b.dlogits[i], y = i === b.target.id ? 1 : 0;
      const w = (50 * Math.abs(g)) / most;
      const bar = el('span', { class: `bp-bar ${g < 0 ? 'neg' : 'pos'}` });
      bar.style.width = `${w}%`;
      bar.style.marginLeft = g < 0 ? `${50 - w}%` : '50%';
      return el('tr', { 'data-id': String(i) }, el('th', { text: vocab[i] }), el('td', { text: b.probs[i].toFixed(4) }), el('td', { text: String(y) }),
        el('td', { class: 'bp-g', 'data-value': String(g), text: (g >= 0 ? '+' : '') + g.toFixed(4) }), el('td', { class: 'bp-bar-cell' }, bar));
    });
    this.dlogits.replaceChildren(head, ...rows);
    this.dlogitsSay.textContent = this.t('bp.dl.say', { ...vars, gt: b.dlogits[b.target.id].toFixed(4), top: vocab[b.top[0].id], gtop: b.dlogits[b.top[0].id].toFixed(4) });
  }

  /** A stage's name as the page says it: where in the model the blame is measured. */
  stageName(st) {
    if (st.name === 'logits') return this.t('bp.stage.logits');
    if (st.name === 'ln_f.output') return this.t('bp.stage.lnf');
    if (st.name === 'embeddings') return this.t('bp.stage.emb');
    const l = Number(st.name.split('.')[1]) + 1;
    return this.t(st.name.endsWith('.mid') ? 'bp.stage.mid' : 'bp.stage.out', { l });
  }

  /** What the blame crosses between stage i and stage i + 1. */
  crossing(stages, i) {
    const a = stages[i].name, b = stages[i + 1].name;
    if (a === 'logits') return this.t('bp.cross.head');
    if (a === 'ln_f.output') return this.t('bp.cross.lnf');
    const l = Number(a.split('.')[1]) + 1;
    return this.t(a.endsWith('.output') ? 'bp.cross.ffn' : 'bp.cross.attn', { l, to: b });
  }

  /** 3 · the blame from the loss down to the embeddings, each band as wide as its norm. */
  drawFlow(b, vars) {
    const st = b.stages;
    const max = Math.max(...st.map((x) => x.norm), 1e-12);
    // Embedded (a slide), the rows close up and what each gap crosses goes into the bands'
    // tooltips: eleven stages then fit the frame at a projector's text size.
    const compact = this.app.embed;
    const W = 640, rowH = compact ? 20 : 24, gap = compact ? 7 : 18, top = 6, mid = 400, maxW = 220;
    const H = top * 2 + st.length * rowH + (st.length - 1) * gap;
    const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'flow-svg', 'aria-label': this.t('bp.flow.caption') });
    const wOf = (x) => Math.max(1, (maxW * x.norm) / max);
    st.forEach((x, i) => {
      const y = top + i * (rowH + gap);
      const w = wOf(x);
      const r = svg('rect', { x: (mid - w / 2).toFixed(2), y, width: w.toFixed(2), height: rowH, class: 'bp-band', 'data-stage': x.name, 'data-norm': String(x.norm), rx: 3 });
      r.append(svg('title', {}, `${x.name}: ‖g‖ = ${x.norm.toFixed(4)}${i + 1 < st.length ? ` (↓ ${this.crossing(st, i)})` : ''}`));
      g.append(r);
      g.append(svg('text', { x: 4, y: y + rowH / 2 + 6, 'font-size': 16, class: 'tick' }, this.stageName(x)));
      g.append(svg('text', { x: mid + maxW / 2 + 12, y: y + rowH / 2 + 6, 'font-size': 16, class: 'tick' }, x.norm.toFixed(3)));
      if (i + 1 < st.length) {
        const w2 = wOf(st[i + 1]), y2 = y + rowH + gap;
        g.append(svg('polygon', { points: `${mid - w / 2},${y + rowH} ${mid + w / 2},${y + rowH} ${mid + w2 / 2},${y2} ${mid - w2 / 2},${y2}`, class: 'bp-link' }));
        if (!compact) g.append(svg('text', { x: 24, y: y + rowH + gap / 2 + 5, 'font-size': 13, class: 'cross' }, '↓ ' + this.crossing(st, i)));
      }
    });
    const flowCsv = () => csv([['stage', 'norm'], ...st.map((x) => [x.name, String(x.norm)])]);
    this.flow.replaceChildren(el('figcaption', { text: this.t('bp.flow.caption') }), g, svgMenu({ svgEl: g, csvText: flowCsv }));
    const most = b.inputs[b.mostBlamed];
    this.inputsSay.textContent = this.t('bp.inputs.say', { ...vars, tok: most.token, pos: most.position + 1, norm: most.norm.toFixed(4) });
    const hiNorm = Math.max(...b.inputs.map((x) => x.norm), 1e-12);
    this.inputs.replaceChildren(...b.inputs.map((x, i) => {
      const tok = el('span', { class: i === b.mostBlamed ? 'token most' : 'token', 'data-norm': String(x.norm) }, el('span', { class: 'tok-text', text: x.token }), el('span', { class: 'tok-id', text: x.norm.toFixed(3) }));
      tok.style.borderBottom = `${Math.max(1, Math.round((8 * x.norm) / hiNorm))}px solid #D55E00`;
      return tok;
    }));
  }

  /** 5 · before and after one step; the steps taken and the loss after each. */
  drawAfter(b, run, wrongId, ex, vars) {
    const st = b.step;
    const p2 = (id) => st.top.find((x) => x.id === id)?.prob;
    const pw = b.probs[wrongId];
    const head = el('tr', {}, el('td'), el('th', { scope: 'col', text: this.t('bp.after.before') }), el('th', { scope: 'col', text: this.t('bp.after.after') }));
    const row = (label, x, y, id) => el('tr', { id }, el('th', { scope: 'row', text: label }), el('td', { text: x }), el('td', { text: y }));
    // P(wrong) after the step: from the step's top list, or (if it fell out of it) not shown.
    const wrongAfter = wrongId === st.previousTop.id ? st.previousTop.after : p2(wrongId);
    this.afterTable.replaceChildren(head,
      row(`P(${ex.target})`, pct(st.target.before), pct(st.target.after), 'bp-after-target'),
      row(`P(${ex.wrong})`, wrongId < 0 ? '—' : pct(pw), wrongAfter == null ? '—' : pct(wrongAfter), 'bp-after-wrong'),
      row('L', f4(st.loss.before), f4(st.loss.after), 'bp-after-loss'));
    const first = b.top[0].token;
    this.stepsSay.textContent = this.t(first === ex.target ? 'bp.steps.fixed' : 'bp.steps.notYet', { ...vars, first, p: pct(b.top[0].prob) });
    this.stepsSay.dataset.first = first;
    // The loss of this example after each step taken (step 0: the wrong-answer state).
    const losses = [...run.history, b.loss];
    // (the x axis runs to 10 steps at least, so that the first points start at the left)
    const W = 480, H = 170, pad = { l: 50, r: 90, t: 12, b: 40 };
    const hi = Math.max(...losses, 1e-6);
    const n = Math.max(losses.length - 1, 10);
    const X = (i) => pad.l + (i / n) * (W - pad.l - pad.r);
    const Y = (v) => H - pad.b - (v / hi) * (H - pad.t - pad.b);
    const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'curve-svg', 'aria-label': this.t('bp.history.caption') });
    const text = (x, y, str, attrs) => tick(g, x, y, str, attrs);
    g.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: Y(0), y2: Y(0), class: 'axis' }));
    g.append(svg('line', { x1: pad.l, x2: pad.l, y1: pad.t, y2: Y(0), class: 'axis' }));
    text(pad.l - 6, Y(hi) + 5, hi.toFixed(2), { 'text-anchor': 'end' });
    text(pad.l - 6, Y(0) + 5, '0', { 'text-anchor': 'end' });
    for (const i of [0, n / 2, n]) text(X(i), H - 22, String(i), { 'text-anchor': 'middle' });
    text((W + pad.l - pad.r) / 2, H - 4, this.t('bp.history.axis'), { 'text-anchor': 'middle' });
    const last = losses.length - 1;
    text(X(last) + 8, Y(losses[last]) + 5, `L = ${f4(losses[last])}`, { id: 'bp-history-last' });
    if (losses.length > 1) g.append(svg('polyline', { points: losses.map((v, i) => `${X(i).toFixed(1)},${Y(v).toFixed(1)}`).join(' '), class: 'curve' }));
    losses.forEach((v, i) => {
      const d = svg('circle', { cx: X(i).toFixed(1), cy: Y(v).toFixed(1), r: 4, class: 'dot kept' });
      d.append(svg('title', {}, `${i}: L = ${f4(v)}`));
      g.append(d);
    });
    const historyCsv = () => csv([['step', 'loss'], ...losses.map((v, i) => [i, String(v)])]);
    this.history.replaceChildren(el('figcaption', { text: this.t('bp.history.caption', vars) }), g, svgMenu({ svgEl: g, csvText: historyCsv }));
  }

  /** 6 · L(θ − η·g) for log-spaced η, the chosen η and the lowest loss marked. */
  drawSize(size, l0, lr, vars) {
    const { lrs, losses, heldout, heldoutLoss: h0, best } = size;
    const W = 600, H = 246, pad = { l: 50, r: 118, t: 30, b: 44 };
    const hasHeld = Number.isFinite(h0);
    // The y axis goes to 2.5 × the larger loss without a step: a loss above it (the held-out
    // loss after a huge step reaches thousands) is drawn on the top edge, marked ▲ with its
    // largest value, so that the rest stays readable.
    const hi = 2.5 * Math.max(l0, hasHeld ? h0 : 0, 0.05);
    const lx = (v) => Math.log10(v);
    const x0 = lx(lrs[0]), x1 = lx(lrs[lrs.length - 1]);
    const X = (v) => pad.l + ((lx(v) - x0) / (x1 - x0)) * (W - pad.l - pad.r);
    const clip = (v) => (Number.isFinite(v) ? Math.min(v, hi) : hi);
    const Y = (v) => H - pad.b - (clip(v) / hi) * (H - pad.t - pad.b);
    const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'curve-svg', 'aria-label': this.t('bp.size.caption') });
    const text = (x, y, str, attrs) => tick(g, x, y, str, attrs);
    g.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b, class: 'axis' }));
    g.append(svg('line', { x1: pad.l, x2: pad.l, y1: pad.t, y2: H - pad.b, class: 'axis' }));
    for (let e = Math.ceil(x0); e <= x1; e++) text(X(10 ** e), H - 18, `10${String(e).split('').map((c) => SUP[c]).join('')}`, { 'text-anchor': 'middle' });
    text((W + pad.l - pad.r) / 2, H - 6, this.t('bp.size.axis'), { 'text-anchor': 'middle' });
    text(pad.l - 6, Y(hi) + 5, hi.toFixed(1), { 'text-anchor': 'end' });
    text(pad.l - 6, Y(0) + 5, '0', { 'text-anchor': 'end' });
    const line = (ys, cls, id) => g.append(svg('polyline', { points: Array.from(lrs, (v, i) => `${X(v).toFixed(1)},${Y(ys[i]).toFixed(1)}`).join(' '), class: cls, id }));
    if (hasHeld) line(heldout, 'curve bp-heldout', 'bp-size-heldout');
    line(losses, 'curve', 'bp-size-example');
    // Off the chart: ▲ at the largest clipped value of each curve, with the value.
    const marks = [[losses, 'bp-off'], ...(hasHeld ? [[heldout, 'bp-off bp-heldout-off']] : [])];
    for (const [ys, cls] of marks) {
      let top = -1;
      for (let i = 0; i < ys.length; i++) if (!(ys[i] <= hi) && (top < 0 || !(ys[i] <= ys[top]))) top = i;
      if (top < 0) continue;
      const x = X(lrs[top]), v = ys[top];
      g.append(svg('path', { d: `M${(x - 6).toFixed(1)},${pad.t - 2} l6,-9 l6,9 z`, class: cls, 'data-index': String(top), 'data-value': String(v) }));
      text(Math.min(x, W - 8), pad.t - 14, fmtBig(v, 1), { 'text-anchor': x > W - pad.r ? 'end' : 'middle', class: `tick ${cls}-label` });
    }
    // Green dots: the held-out loss's lowest point; the example's own only where the sentence
    // names it (where the example's loss has no long flat bottom to pick one point from).
    const f = stepSizeFacts(size);
    const dot = (i, ys, id, cls) => g.append(svg('circle', { cx: X(lrs[i]).toFixed(1), cy: Y(ys[i]).toFixed(1), r: 6, class: `dot ${cls}`, id, 'data-index': String(i), 'data-lr': String(lrs[i]), 'data-loss': String(ys[i]) }));
    if (f.fit === null) dot(best.index, losses, 'bp-size-best', 'bp-best');
    if (f.held && heldout[f.safe] < h0 - 0.005) dot(f.safe, heldout, 'bp-size-safe', 'bp-best bp-safe');
    g.append(svg('line', { x1: X(lr), x2: X(lr), y1: pad.t, y2: H - pad.b, class: 'bp-chosen', id: 'bp-size-chosen', 'data-lr': String(lr) }));
    text(X(lr) + 4, pad.t + 12, `η = ${lr}`, { class: 'tick bp-chosen-label' });
    // Legend, at the right end of each curve where it leaves the chart.
    const end = lrs.length - 1;
    text(W - pad.r + 6, Y(losses[end]) + (hasHeld && Math.abs(Y(losses[end]) - Y(heldout[end])) < 16 ? 14 : 5), this.t('bp.size.ex'), { class: 'tick bp-legend' });
    if (hasHeld) text(W - pad.r + 6, Y(heldout[end]) + 5, this.t('bp.size.ho'), { class: 'tick bp-legend bp-heldout-label' });
    const rows = Array.from(lrs, (v, i) => [String(v), String(losses[i]), String(heldout[i])]);
    const data = el('div', { class: 'sr-only' }, el('table', { id: 'bp-size-table' }, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', { text: c }))))));
    const sizeCsv = () => csv([['lr', 'loss', 'heldout_loss'], ...rows]);
    this.sizeCurve.replaceChildren(el('figcaption', { text: this.t('bp.size.caption') }), g, data, svgMenu({ svgEl: g, csvText: sizeCsv }));
    this.sizeSay.textContent = this.sizeSentence(size, f, l0, lr, vars);
  }

  /** What the step-size chart shows, read off its numbers (see `stepSizeFacts`). */
  sizeSentence(size, f, l0, lr, vars) {
    const sp = this.app.state.lang === 'zh' ? '' : ' ';
    const p = etaText;
    const parts = [this.t(f.held ? 'bp.size.start' : 'bp.size.startEx', { ...vars, l0: f4(l0), h0: f4(size.heldoutLoss) })];
    parts.push(f.fit !== null ? this.t('bp.size.fit', { fit: p(size.lrs[f.fit]), eps: FIT_EPS }) : this.t('bp.size.say', { best: p(size.best.lr), lbest: f4(size.best.loss) }));
    if (f.jump !== null) parts.push(this.t('bp.size.over', { big: p(size.lrs[f.jump]), lbig: size.losses[f.jump].toFixed(1) }));
    if (f.held) {
      parts.push(size.heldout[f.safe] < size.heldoutLoss - 0.005
        ? this.t('bp.size.hoBest', { safe: p(size.lrs[f.safe]), hsafe: f4(size.heldout[f.safe]) })
        : this.t('bp.size.hoNone'));
      parts.push(f.bad !== null
        ? this.t('bp.size.hoBad', { bad: p(size.lrs[f.bad]), last: p(size.lrs[size.lrs.length - 1]), hmax: fmtBig(size.heldout[size.lrs.length - 1]) })
        : this.t('bp.size.hoFine'));
    }
    parts.push(this.t(f.bad !== null && lr >= size.lrs[f.bad] ? 'bp.size.chosenBad' : 'bp.size.chosen', { lr }));
    return parts.join(sp);
  }
}

/** A loss that may be in the thousands, as a person reads it (`digits` below 1000). */
function fmtBig(v, digits = 2) {
  return !Number.isFinite(v) ? '∞' : v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
}

/** A 14 px tick label at (x, y) in the chart `g`. */
function tick(g, x, y, str, attrs = {}) {
  g.append(svg('text', { x, y, 'font-size': 14, class: 'tick', ...attrs }, str));
}

export { STRINGS } from './backprop.strings.js';
