// The three families of transformers side by side (the seed article's encoder-only,
// decoder-only and encoder–decoder), each with a live example computed by a small model of
// that family that `cargo xtask pretrain` trained on the same corpus of situations and advice:
// encoder-only fills in a masked token (MaskedLM), decoder-only continues a text (CausalLM),
// encoder–decoder answers a sentence (Seq2Seq). Step 1 draws who may look at whom in each;
// steps 2–4 run each model. Every number comes from the engine; the sentences are computed
// from the numbers drawn.

import { Bars, Heatmap, barRow } from '../chart.js';
import { el, field } from '../dom.js';
import { Stepper } from '../stepper.js';
import { chartBoxes, centreHeatmap, overflows } from '../fit.js';
import { shippedModel } from '../models.js';
import { serialize } from '../state.js';
import { Stale } from '../stale.js';
import { codedError } from '../errors.js';

const STEPS = 4;

/** Each language's examples: the masked sentence and its variants (the advice on the right decides), the prompt, the source. */
export const FAMILY_EXAMPLES = {
  zh: {
    mtext: '小明今天[MASK]了，他应该多喝水',
    variants: ['多喝水', '吃药', '多休息', '吃点东西'],
    swap: (text, v) => text.replace(/应该.*$/, `应该${v}`),
    cprompt: '小明今天感冒了，',
    source: '小明今天感冒了',
    separator: '，',
  },
  en: {
    mtext: 'Tom has a [MASK] today, he should drink more water',
    variants: ['drink more water', 'take medicine', 'get more rest', 'eat something'],
    swap: (text, v) => text.replace(/should .*$/, `should ${v}`),
    cprompt: 'Tom has a cold today,',
    source: 'Tom has a cold today',
    separator: ',',
  },
};

const argmax = (a) => a.reduce((b, v, i) => (v > a[b] ? i : b), 0);

/** Row `r` of a square T×T row-major matrix. */
const rowOf = (m, T, r) => m.subarray(r * T, (r + 1) * T);

export default class FamiliesPanel {
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
    const intro = el('section', { class: 'intro article' }, el('h2', { 'data-i18n': 'fam.title' }), el('p', { 'data-i18n': 'fam.intro' }));
    this.stepper = new Stepper(a, { count: STEPS, keys: 'fam', ids: 'fam-' });
    this.status = el('p', { class: 'muted', id: 'fam-status', role: 'status' });
    const sec = (i) => this.stepper.section(i);
    // 0 · the three masks
    const s0 = sec(0);
    this.masks = el('div', { class: 'trio', id: 'fam-masks' });
    s0.append(this.masks);
    s0.classList.add('wide');
    this.maskCharts = ['enc', 'dec', 'encdec'].map((k) => {
      const box = el('div', { class: 'family', id: `fam-${k}` });
      this.masks.append(box);
      const chart = new Heatmap(box, { id: `fam-mask-${k}`, t: t1, tableAlways: true });
      const text = el('p', { class: 'family-text', 'data-i18n': `fam.${k}.text` });
      box.append(text);
      return { k, chart };
    });
    // 1 · encoder-only: fill in the blank
    const s1 = sec(1);
    this.mInput = el('input', { id: 'fam-mtext', type: 'text', maxlength: '80', autocomplete: 'off', spellcheck: 'false' });
    this.variants = el('div', { class: 'row', id: 'fam-variants', role: 'group' });
    this.mSay = el('p', { class: 'say', id: 'fam-m-say' });
    this.mList = el('ol', { class: 'bars-list', id: 'fam-m-list' });
    const barsBox = el('div', { class: 'bars-box' });
    this.mCanvas = el('canvas', { id: 'fam-m-bars' });
    barsBox.append(el('div', { class: 'canvas-wrap' }, this.mCanvas));
    this.mBars = new Bars(this.mCanvas);
    this.mError = el('p', { class: 'error', role: 'alert', hidden: '' });
    const pair1 = el('div', { class: 'trio' });
    const left1 = el('div');
    left1.append(barsBox, this.mList);
    pair1.append(left1);
    this.mAtt = new Heatmap(pair1, { id: 'fam-m-att', t: t1, tableAlways: true });
    s1.append(field('mtext', 'fam-mtext', 'fam.m.input', this.mInput), this.variants, this.mError, this.mSay, pair1);
    // 2 · decoder-only: continue
    const s2 = sec(2);
    this.cInput = el('input', { id: 'fam-cprompt', type: 'text', maxlength: '80', autocomplete: 'off', spellcheck: 'false' });
    this.cOut = el('div', { class: 'tokens', id: 'fam-c-out', role: 'group' });
    this.cSay = el('p', { class: 'say', id: 'fam-c-say' });
    this.cError = el('p', { class: 'error', role: 'alert', hidden: '' });
    s2.append(field('cprompt', 'fam-cprompt', 'fam.c.input', this.cInput), this.cError, this.cOut, this.cSay);
    this.cAtt = new Heatmap(s2, { id: 'fam-c-att', t: t1, tableAlways: true });
    // 3 · encoder–decoder: answer
    const s3 = sec(3);
    this.eOut = el('div', { class: 'tokens', id: 'fam-e-out', role: 'group' });
    this.eSay = el('p', { class: 'say', id: 'fam-e-say' });
    this.eLink = el('a', { id: 'fam-e-link', 'data-i18n': 'fam.e.open' });
    s3.append(this.eOut, this.eSay, el('p', {}, this.eLink));
    const body = el('div', { class: 'sections' }, ...this.stepper.sections);
    this.root.append(intro, this.stepper.nav, this.stepper.text, this.status, body);
    this.mStale = new Stale(a, this.mError, () => [this.mSay, pair1]);
    this.cStale = new Stale(a, this.cError, () => [this.cOut, this.cSay, this.cAtt.figure]);
    this.mInput.addEventListener('input', () => a.setState({ mtext: this.mInput.value }, { render: 'typing' }));
    this.cInput.addEventListener('input', () => a.setState({ cprompt: this.cInput.value }, { render: 'typing' }));
  }

  /** The three models of the state's language, or a status while they load. */
  models() {
    const lang = this.app.state.smodel;
    const again = () => this.app.schedule(false);
    const ms = { masked: shippedModel('masked', lang, again), causal: shippedModel('causal', lang, again), seq2seq: shippedModel('seq2seq', lang, again) };
    if (Object.values(ms).some((m) => !m)) return { loading: true };
    const bad = Object.values(ms).find((m) => m.error);
    return bad ? { error: this.t('fam.loadFailed', { msg: this.app.errorText(bad.error) }) } : ms;
  }

  render(light = false) {
    const s = this.app.state;
    this.stepper.render(s.step);
    if (light) return;
    const ex = FAMILY_EXAMPLES[s.smodel];
    const mtext = s.mtext ?? ex.mtext, cprompt = s.cprompt ?? ex.cprompt;
    if (document.activeElement !== this.mInput) this.mInput.value = mtext;
    if (document.activeElement !== this.cInput) this.cInput.value = cprompt;
    // (✓: the sentence has the slot and says this; an empty sentence, or one without the
    // slot, says none of them)
    const says = (v) => ex.swap(mtext, v) === mtext && ex.swap(mtext, '') !== mtext;
    this.variants.replaceChildren(...ex.variants.map((v) => {
      const b = el('button', { type: 'button', class: 'chip', text: says(v) ? `✓ ${v}` : v });
      b.addEventListener('click', () => this.app.setState({ mtext: ex.swap(mtext, v) }));
      return b;
    }));
    const ms = this.models();
    this.status.textContent = ms.loading ? this.t('fam.loading') : ms.error ?? '';
    if (ms.loading || ms.error) return;
    const current = this.stepper.sections[Math.min(s.step, STEPS - 1)];
    const draw = (boxes) => {
      this.drawMasked(ms.masked, mtext, ex, boxes);
      const written = this.drawCausal(ms.causal, cprompt, boxes);
      this.drawMasks(written, ex, boxes);
      this.drawSeq2Seq(ms.seq2seq, ex);
    };
    draw(this.app.embed ? chartBoxes(current) : null);
    if (this.app.embed && overflows(current)) draw(chartBoxes(current));
    if (this.app.embed) for (const c of [this.mAtt, this.cAtt, ...this.maskCharts.map((x) => x.chart)]) if (current.contains(c.figure)) centreHeatmap(c);
  }

  maxH(chart, boxes, fallback) {
    return boxes ? Math.max(60, Math.floor(boxes.get(chart.canvas.parentElement)?.h || fallback)) : undefined;
  }

  /** Step 2: the encoder-only model fills the blanks; returns its result (or null). */
  drawMasked(m, text, ex, boxes) {
    const fs = this.app.fontScale;
    let r;
    try {
      r = m.fillMask(text, { top: 5 });
      this.mStale.ok(text);
    } catch (e) {
      this.mStale.fail(this.app.errorText(e));
      return null;
    }
    const first = r.masks[0];
    const cands = first.candidates;
    this.mList.replaceChildren(...cands.map((c) => el('li', { 'data-token': c.token, 'data-prob': String(c.prob), text: `${c.token}: ${(c.prob * 100).toFixed(1)}%` })));
    // Five candidates, or as many bars (barRow each) as an embedded frame has room for.
    const room = boxes?.get(this.mCanvas.parentElement)?.h;
    const shown = room ? cands.slice(0, Math.max(3, Math.floor((room - 8) / barRow(fs)))) : cands;
    this.mBars.draw(shown.map((c) => c.token), shown.map((c) => c.prob), { percent: true, max: 1, fontScale: fs, alt: this.t('fam.m.bars') }, shown.length);
    // The [MASK]'s row of attention in the last layer: how much of it reads the right side,
    // which a decoder-only model could not see.
    const T = r.tokens.length, L = r.attention.length, H = r.attention[0].length;
    const p = first.position;
    let head = 0, right = -1;
    for (let h = 0; h < H; h++) {
      const row = rowOf(r.attention[L - 1][h], T, p);
      const after = row.slice(p + 1).reduce((x, y) => x + y, 0);
      if (after > right) [head, right] = [h, after];
    }
    const row = rowOf(r.attention[L - 1][head], T, p);
    const j = argmax(row);
    this.mSay.textContent = this.t('fam.m.say', { top: cands[0].token, p: (cands[0].prob * 100).toFixed(1), layer: L, head: head + 1, right: (right * 100).toFixed(0), look: r.tokens[j], w: row[j].toFixed(2) });
    this.mSay.dataset.top = cands[0].token;
    this.mSay.dataset.right = right.toFixed(4);
    const unknown = r.unknown?.length ? ' ' + this.t('fam.unknown', { words: r.unknown.join(' ') }) : '';
    this.mSay.textContent += unknown;
    this.mAtt.draw({ matrix: { shape: [T, T], data: r.attention[L - 1][head] }, rows: r.tokens, cols: r.tokens, palette: 'viridis', min: 0, max: 1, numbers: T <= 12, caption: this.t('fam.m.att', { layer: L, head: head + 1 }), tooltip: (a, b, v) => this.t('fam.hover', { who: r.tokens[a], whom: r.tokens[b], value: v }), highlightRow: p, maxHeight: this.maxH(this.mAtt, boxes, 300), maxCell: this.app.embed ? 60 : 30, fontScale: fs });
    return r;
  }

  /** Step 1: who may look at whom, drawn for the decoder-only example's text (prompt and continuation). */
  drawMasks(g, ex, boxes) {
    const fs = this.app.fontScale;
    const tokens = g ? [...g.context, ...g.steps.map((x) => x.token)].filter((x) => x !== '<bos>' && x !== '<eos>') : [];
    const N = tokens.length;
    if (!N) return;
    const sep = tokens.indexOf(ex.separator);
    const S = sep >= 0 ? sep + 1 : N; // the source, with its separator
    const allowed = {
      enc: () => true, // every token sees every token
      dec: (i, j) => j <= i, // itself and the tokens before it
      encdec: (i, j) => (i < S ? j < S : j < S || j <= i), // the whole source; the answer so far
    };
    for (const { k, chart } of this.maskCharts) {
      const ok = allowed[k];
      const data = Float32Array.from({ length: N * N }, (_, x) => (ok(Math.floor(x / N), x % N) ? 1 : 0));
      const mask = { shape: [N, N], data: Uint8Array.from(data, (v) => (v ? 0 : 1)) };
      chart.draw({ matrix: { shape: [N, N], data }, rows: tokens, cols: tokens, palette: 'viridis', min: 0, max: 1, mask, legend: false, caption: this.t(`fam.${k}.caption`), tooltip: (r, c) => this.t('fam.may', { who: tokens[r], whom: tokens[c], ok: this.t(ok(r, c) ? 'fam.may.yes' : 'fam.may.no') }), maxHeight: this.maxH(chart, boxes, 260), maxCell: this.app.embed ? 60 : 22, fontScale: fs });
    }
  }

  /** Step 3: the decoder-only model continues the prompt, each token looking only left; returns its generation (or null). */
  drawCausal(m, prompt, boxes) {
    const fs = this.app.fontScale;
    let g;
    try {
      // (the model would write from <bos> alone: the example is a continuation)
      if (prompt.trim() === '') throw codedError('prompt.empty', {}, 'The prompt is empty: type the words the model reads first.');
      g = m.generate(prompt, {});
      this.cStale.ok(prompt);
    } catch (e) {
      this.cStale.fail(this.app.errorText(e));
      return null;
    }
    this.cOut.replaceChildren(...g.steps.map((st) => el('span', { class: 'token', 'data-token': st.token, 'data-prob': String(st.prob), title: `${(st.prob * 100).toFixed(1)}%` }, el('span', { class: 'tok-text', text: st.token }), el('span', { class: 'tok-id', text: `${(st.prob * 100).toFixed(0)}%` }))));
    if (!g.steps.length) return g;
    // Rows: the query of each written token (over the context and the tokens before it).
    const ctx = g.context;
    const all = [...ctx, ...g.steps.map((s) => s.token)];
    const N = all.length, R = g.steps.length, L = g.steps[0].attention.length, H = g.steps[0].attention[0].length;
    // The head of the last layer with the sharpest row anywhere, and the step where it is.
    let head = 0, step = 0, best = -1;
    g.steps.forEach((st, i) => st.attention[L - 1].forEach((row, h) => { const w = Math.max(...row); if (w > best) [head, step, best] = [h, i, w]; }));
    const data = new Float32Array(R * N);
    const mask = new Uint8Array(R * N).fill(1);
    g.steps.forEach((st, i) => {
      const row = st.attention[L - 1][head];
      data.set(row.subarray(0, N), i * N);
      mask.fill(0, i * N, i * N + row.length);
    });
    const row = g.steps[step].attention[L - 1][head];
    const j = argmax(row);
    this.cSay.textContent = this.t('fam.c.say', { text: g.text, layer: L, head: head + 1, tok: g.steps[step].token, look: all[j], w: row[j].toFixed(2) }) + (g.unknown?.length ? ' ' + this.t('fam.unknown', { words: g.unknown.join(' ') }) : '');
    this.cSay.dataset.look = all[j];
    this.cAtt.draw({ matrix: { shape: [R, N], data }, rows: g.steps.map((s) => `→ ${s.token}`), cols: all, palette: 'viridis', min: 0, max: 1, mask: { shape: [R, N], data: mask }, numbers: N <= 14, caption: this.t('fam.c.att', { layer: L, head: head + 1 }), tooltip: (a, b, v) => this.t('fam.hover', { who: g.steps[a].token, whom: all[b], value: v }), highlightRow: step, maxHeight: this.maxH(this.cAtt, boxes, 300), maxCell: this.app.embed ? 60 : 30, fontScale: fs });
    return g;
  }

  /** Step 4: the encoder–decoder answers the example's source; the panel of its own shows more. */
  drawSeq2Seq(m, ex) {
    let g;
    try {
      g = m.generate(ex.source, {});
    } catch (e) {
      this.eSay.textContent = this.app.errorText(e);
      return;
    }
    this.eOut.replaceChildren(...g.steps.map((st) => el('span', { class: 'token', 'data-token': st.token }, el('span', { class: 'tok-text', text: st.token }))));
    this.eSay.textContent = this.t('fam.e.say', { src: ex.source, text: g.text });
    const s = this.app.state;
    this.eLink.href = serialize({ ...s, panel: 'seq2seq', step: 1, spreset: s.smodel === 'zh' ? 'xiaoming' : 'tom', src: ex.source, embed: false }, this.app.hidden);
  }
}

export const STRINGS = {
  en: {
    'nav.families': 'Three families',
    'fam.title': 'Encoder-only, decoder-only, encoder–decoder',
    'fam.intro': 'Every transformer is built from the same blocks; what sets the three families apart is who may look at whom, and so what they are trained to do. Three small models of this project, one per family, trained by our own engine on the same few hundred situations and advice, show it live.',
    'fam.loading': 'Loading the three trained models…',
    'fam.loadFailed': 'A trained model could not be loaded: {msg}',
    'fam.s0.title': '1 · Who may look at whom',
    'fam.s0.text': 'Each picture is an attention mask for the same sentence: a row is a token that asks, a column a token it may read (yellow) or may not (hatched). The mask is the whole difference in the wiring.',
    'fam.s1.title': '2 · Encoder-only: fill in the blank',
    'fam.s1.text': 'An encoder-only model (BERT) sees the whole text at once, the words after a gap as well as before. It is trained by hiding tokens and guessing them back. Change the advice after the gap and watch the guess change: it reads the right side.',
    'fam.s2.title': '3 · Decoder-only: continue',
    'fam.s2.text': 'A decoder-only model (GPT) reads left to right and is trained to predict the next token. Given the situation, it writes the advice one token at a time; each token may look only at the tokens before it.',
    'fam.s3.title': '4 · Encoder–decoder: answer',
    'fam.s3.text': 'An encoder–decoder (the original Transformer, T5) reads the source with full attention and writes the answer with a causal mask, looking at the source through cross-attention. The encoder–decoder panel follows it token by token.',
    'fam.enc.caption': 'Encoder-only (BERT): everyone sees everyone',
    'fam.dec.caption': 'Decoder-only (GPT): only what came before',
    'fam.encdec.caption': 'Encoder–decoder (Transformer, T5): source in full, answer causal',
    'fam.enc.text': 'Trained to fill in masked tokens (e.g. Tom has a [MASK] today, he should drink more water → cold). BERT, RoBERTa. Good at understanding a whole text.',
    'fam.dec.text': 'Trained to predict the next token. GPT, LLaMA, Qwen. Writes text one token after another.',
    'fam.encdec.text': 'Trained to turn a source into a target (translation, answers). The original Transformer, T5, BART.',
    'fam.may': '“{who}” {ok} “{whom}”',
    'fam.may.yes': 'may look at',
    'fam.may.no': 'may not look at',
    'fam.hover': '“{who}” → “{whom}”: {value}',
    'fam.m.input': 'Text with [MASK]',
    'fam.m.bars': 'The candidates for the first [MASK] and their probabilities',
    'fam.m.say': 'It fills [MASK] with “{top}” ({p} %). In layer {layer}, head {head}, the [MASK] puts {right} % of its attention on the tokens after it, most on “{look}” ({w}).',
    'fam.m.att': 'Attention of the encoder-only model, layer {layer}, head {head} (no mask: every row may read every column)',
    'fam.c.input': 'Beginning of a text',
    'fam.c.say': 'It continues with “{text}”. Layer {layer}, head {head}: while writing “{tok}” it looks most at “{look}” ({w}).',
    'fam.c.att': 'Causal attention of the decoder-only model, layer {layer}, head {head}: a row per written token, over the tokens before it',
    'fam.e.say': 'From “{src}” it writes “{text}”.',
    'fam.e.open': 'Open it in the encoder–decoder panel →',
    'fam.unknown': 'Not in the vocabulary (read as <unk>): {words}.',
  },
  zh: {
    'nav.families': '三种结构',
    'fam.title': '只有编码器、只有解码器、编码器–解码器',
    'fam.intro': '所有 Transformer 都由同样的模块搭成；三种结构的区别在于“谁可以看谁”，因此训练的目标也不同。本项目用自己的引擎在同一批几百条“情况 → 建议”上训练了三个小模型，每种结构一个，在这里现场演示。',
    'fam.loading': '正在加载三个训练好的模型…',
    'fam.loadFailed': '无法加载训练好的模型：{msg}',
    'fam.s0.title': '1 · 谁可以看谁',
    'fam.s0.text': '每张图都是同一句话的注意力掩码：每一行是一个发问的词元，每一列是它可以读取（黄色）或不可以读取（斜线）的词元。三种结构在连接方式上的区别，全在这张掩码里。',
    'fam.s1.title': '2 · 只有编码器：完形填空',
    'fam.s1.text': '只有编码器的模型（BERT）一次看到整段文字，空格后面的词和前面的词都能看到。训练方法是把一些词元遮住，再让它猜回来。改一改空格后面的建议，看它的答案怎么变：它确实读了右边。',
    'fam.s2.title': '3 · 只有解码器：接着写',
    'fam.s2.text': '只有解码器的模型（GPT）从左往右读，训练目标是预测下一个词元。给它一个情况，它一个词元一个词元地写出建议；每个词元只能看它前面的词元。',
    'fam.s3.title': '4 · 编码器–解码器：作答',
    'fam.s3.text': '编码器–解码器（最初的 Transformer、T5）用完整的注意力读原句，用因果掩码写回答，并通过交叉注意力查看原句。“编码器–解码器”面板会逐个词元地跟踪它。',
    'fam.enc.caption': '只有编码器（BERT）：人人都能看到所有人',
    'fam.dec.caption': '只有解码器（GPT）：只能看前面的',
    'fam.encdec.caption': '编码器–解码器（Transformer、T5）：原句全看，回答因果',
    'fam.enc.text': '训练目标是补全被遮住的词元（例如 今天天气真[MASK] → 好）。BERT、RoBERTa。擅长理解整段文字。',
    'fam.dec.text': '训练目标是预测下一个词元。GPT、LLaMA、通义千问。一个接一个地生成文字。',
    'fam.encdec.text': '训练目标是把输入变成输出（翻译、回答）。最初的 Transformer、T5、BART。',
    'fam.may': '“{who}”{ok}“{whom}”',
    'fam.may.yes': '可以看',
    'fam.may.no': '不可以看',
    'fam.hover': '“{who}” → “{whom}”：{value}',
    'fam.m.input': '含 [MASK] 的句子',
    'fam.m.bars': '第一个 [MASK] 的候选词及其概率',
    'fam.m.say': '它用“{top}”填补 [MASK]（{p}%）。在第 {layer} 层第 {head} 个头中，[MASK] 把 {right}% 的注意力放在它后面的词元上，最多的是“{look}”（{w}）。',
    'fam.m.att': '只有编码器的模型的注意力，第 {layer} 层第 {head} 个头（没有掩码：每一行都可以读取每一列）',
    'fam.c.input': '一段文字的开头',
    'fam.c.say': '它接着写出“{text}”。第 {layer} 层第 {head} 个头：写“{tok}”时最关注“{look}”（{w}）。',
    'fam.c.att': '只有解码器的模型的因果注意力，第 {layer} 层第 {head} 个头：每一行是一个写出的词元，只看它前面的词元',
    'fam.e.say': '读入“{src}”，它写出“{text}”。',
    'fam.e.open': '在“编码器–解码器”面板中打开 →',
    'fam.unknown': '不在词表中（按 <unk> 读入）：{words}。',
  },
};
