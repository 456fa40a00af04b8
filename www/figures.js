// Figures drawn as HTML and SVG (crisp at any size, on a projector too): the diagram of one
// transformer layer whose boxes are links to their steps, and an activation's curve with one
// token's values on it. They only place numbers the engine computed.

import { el } from './dom.js';
import { svgMenu, csv } from './export.js';

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element `<tag attrs…>text</tag>`. */
export function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Keeps the text of an SVG figure that scales with its box readable: whenever the figure's
 * box changes, any `<text>` whose rendered size (its font-size × the drawing's scale) would be
 * under `minPx` CSS pixels is set to `minPx` (its own font-size is kept in `data-font`, and
 * restored when the figure grows again). For figures whose layout leaves room for larger
 * labels (axis ticks at the edges), not for ones that place labels by their width.
 */
export function readable(figure, minPx = 12) {
  const apply = () => {
    const scale = figure.getScreenCTM?.()?.a;
    if (!scale) return;
    for (const t of figure.querySelectorAll('text')) {
      t.dataset.font ??= t.getAttribute('font-size') ?? '16';
      const own = Number(t.dataset.font);
      t.setAttribute('font-size', String(own * scale < minPx ? +(minPx / scale).toFixed(2) : own));
    }
  };
  if (typeof ResizeObserver === 'function') new ResizeObserver(apply).observe(figure);
  return figure;
}

/**
 * The boxes of one layer, in the order the data flows, for either norm placement. `link(step)`
 * gives a box's link (the step that opens it), `attLink` the attention box's. `compact`: no
 * links and no shapes (the pre/post-norm comparison draws two side by side).
 */
export function layerDiagram(normFirst, { t, link, attLink, c, f, l, compact = false }) {
  const box = (kind, key, step, shape) => ({ kind, key, step, shape });
  const attn = box('attn', 'lay.box.attn', 'att', '[T, C] → [T, C]');
  const add1 = box('add', 'lay.box.add1', 1, 'x + a');
  const ffn = box('ffn', 'lay.box.ffn', 3, `${c ?? 'C'} → ${f ?? 'F'} → ${c ?? 'C'}`);
  const boxes = normFirst
    ? [box('in', 'lay.box.in', 0, '[T, C]'), box('norm', 'lay.box.ln1pre', 2, 'LN₁(x)'), attn, add1, box('norm', 'lay.box.ln2pre', 2, 'LN₂(r₁)'), ffn, box('add', 'lay.box.add2pre', 4, 'r₁ + f'), box('out', 'lay.box.out', 7, '[T, C]')]
    : [box('in', 'lay.box.in', 0, '[T, C]'), attn, add1, box('norm', 'lay.box.ln1post', 2, 'LN₁(r₁)'), ffn, box('add', 'lay.box.add2post', 4, 'h + f'), box('norm', 'lay.box.ln2post', 4, 'LN₂(r₂)'), box('out', 'lay.box.out', 7, '[T, C]')];
  const list = el('ol', { class: `flow${compact ? ' compact' : ''}`, 'aria-label': t(normFirst ? 'lay.norm.pre' : 'lay.norm.post') });
  if (compact) list.append(el('li', { class: 'flow-title', text: t(normFirst ? 'lay.norm.pre' : 'lay.norm.post') }));
  for (const b of boxes) {
    const label = [el('span', { class: 'box-name', text: t(b.key) })];
    if (!compact) label.push(el('span', { class: 'box-shape', text: b.shape }));
    const href = compact ? null : b.step === 'att' ? attLink : link(b.step);
    const inner = href ? el('a', { class: `box box-${b.kind}`, href }, ...label) : el('span', { class: `box box-${b.kind}` }, ...label);
    list.append(el('li', {}, inner));
  }
  if (!compact && l) list.append(el('li', { class: 'flow-stack' }, el('a', { class: 'box box-stack', href: link(6) }, el('span', { class: 'box-name', text: t('lay.box.stack', { l }) }))));
  return list;
}

/**
 * An activation's curve (`xs`, `ys`, computed by the engine) with one token's entries drawn
 * on it: (u_j, g_j), the ones whose input was negative in another colour.
 */
export function activationCurve({ xs, ys, u, g, lo, hi, caption }) {
  const W = 480, H = 270, pad = { l: 48, r: 14, t: 14, b: 36 };
  let ylo = Math.min(-0.5, ...ys, ...g), yhi = Math.max(1, ...ys, ...g);
  const X = (x) => pad.l + ((x - lo) / (hi - lo)) * (W - pad.l - pad.r);
  const Y = (y) => H - pad.b - ((y - ylo) / (yhi - ylo)) * (H - pad.t - pad.b);
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'curve-svg', 'aria-label': caption });
  const font = 19; // in the viewBox: the figure scales with its box, type with it (≥ 12 px: readable())
  // axes through 0
  s.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: Y(0), y2: Y(0), class: 'axis' }));
  s.append(svg('line', { x1: X(0), x2: X(0), y1: pad.t, y2: H - pad.b, class: 'axis' }));
  for (const v of [Math.ceil(lo), 0, Math.floor(hi)]) s.append(svg('text', { x: X(v), y: H - 10, 'text-anchor': 'middle', 'font-size': font, class: 'tick' }, String(v)));
  for (const v of [0, Math.floor(yhi)]) s.append(svg('text', { x: pad.l - 6, y: Y(v) + 4, 'text-anchor': 'end', 'font-size': font, class: 'tick' }, String(v)));
  s.append(svg('polyline', { points: Array.from(xs, (x, i) => `${X(x).toFixed(1)},${Y(ys[i]).toFixed(1)}`).join(' '), class: 'curve' }));
  for (let j = 0; j < u.length; j++) {
    const dot = svg('circle', { cx: X(u[j]).toFixed(1), cy: Y(g[j]).toFixed(1), r: 5, class: u[j] < 0 ? 'dot cut' : 'dot kept' });
    dot.append(svg('title', {}, `u${j} = ${u[j].toFixed(3)} → ${g[j].toFixed(3)}`));
    s.append(dot);
  }
  // Downloads: the figure, and its numbers (the token's entries, then the curve's samples).
  const numbers = () => csv([['series', 'j', 'x', 'y'], ...Array.from(u, (x, j) => ['token', j, String(x), String(g[j])]), ...Array.from(xs, (x, i) => ['curve', i, String(x), String(ys[i])])]);
  return [el('figcaption', { text: caption }), readable(s), svgMenu({ svgEl: s, csvText: numbers })];
}

/** Colours of the map's categories (colour-blind safe, readable on white); grey: no category. */
export const CATEGORY_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#882255', '#332288'];
export const NO_CATEGORY = '#9a9a9a';

/**
 * A map of points with labels (the embeddings' PCA map), in SVG: `draw({points: [{row, x, y,
 * label, colour, strong}], caption, selected})` places them (the same elements move when
 * called again, so a map that changes while training moves smoothly); the wheel zooms, a drag
 * pans, a double click resets; pointing at a point shows its word and coordinates (`tip(p)`),
 * clicking it calls `onPick(row)`.
 */
export class MapView {
  constructor(parent, { id, onPick, tip }) {
    this.onPick = onPick;
    this.tipText = tip;
    this.figure = el('figure', { class: 'chart map', id });
    this.caption = el('figcaption');
    // (an image, named by its caption, once it has points: see draw())
    this.svg = svg('svg', { class: 'map-svg', viewBox: '0 0 100 100', preserveAspectRatio: 'xMidYMid meet' });
    this.tip = el('div', { class: 'tip map-tip', role: 'status', hidden: '' });
    // Downloads: the map as drawn (zoomed as it is), and its points.
    const numbers = () => csv([['row', 'label', 'x', 'y', 'category'], ...(this.points ?? []).map((p) => [p.row, p.label, String(p.x), String(p.y), p.cat ?? ''])]);
    this.figure.append(this.caption, el('div', { class: 'map-wrap' }, this.svg, this.tip), svgMenu({ id, svgEl: this.svg, csvText: numbers }));
    parent.append(this.figure);
    this.nodes = new Map(); // row → {g, dot, text}
    this.view = null; // {x, y, w, h} of the zoomed view; null: fit the points
    this.svg.addEventListener('wheel', (e) => this.zoom(e), { passive: false });
    this.svg.addEventListener('pointerdown', (e) => this.dragStart(e));
    this.svg.addEventListener('dblclick', () => { this.view = null; this.layout(); });
  }

  /** The bounds of the points, padded. */
  bounds() {
    const ps = this.points ?? [];
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const p of ps) { x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x); y0 = Math.min(y0, -p.y); y1 = Math.max(y1, -p.y); }
    if (!ps.length) return { x: -1, y: -1, w: 2, h: 2 };
    const w = Math.max(1e-6, x1 - x0), h = Math.max(1e-6, y1 - y0);
    return { x: x0 - 0.12 * w, y: y0 - 0.08 * h, w: 1.24 * w, h: 1.16 * h };
  }

  draw({ points, caption, selected = -1 }) {
    this.points = points;
    this.caption.textContent = caption;
    this.svg.setAttribute('role', 'img');
    this.svg.setAttribute('aria-label', caption);
    const seen = new Set();
    for (const p of points) {
      seen.add(p.row);
      let n = this.nodes.get(p.row);
      if (!n) {
        const g = svg('g', { class: 'pt', 'data-row': p.row, tabindex: '-1' });
        const dot = svg('circle', { r: 1 });
        const text = svg('text', {});
        g.append(dot, text);
        g.addEventListener('pointerenter', () => this.showTip(p.row));
        g.addEventListener('pointerleave', () => { this.tip.hidden = true; });
        g.addEventListener('click', (e) => { e.stopPropagation(); this.onPick?.(p.row); });
        this.svg.append(g);
        n = { g, dot, text };
        this.nodes.set(p.row, n);
      }
      n.p = p;
      n.dot.setAttribute('fill', p.colour);
      n.text.textContent = p.label;
      n.text.setAttribute('fill', p.strong ? p.colour : NO_CATEGORY);
      n.g.classList.toggle('selected', p.row === selected);
      n.g.classList.toggle('weak', !p.strong);
    }
    for (const [row, n] of this.nodes) if (!seen.has(row)) { n.g.remove(); this.nodes.delete(row); }
    this.layout();
  }

  /**
   * Places every point in the current view (sizes in view units, so zooming keeps them
   * legible), and each label where it covers no other label or dot: right of its dot, else
   * left, above or below; the selected word first, then the words of a category. A label
   * with no free place keeps the least crowded one and is drawn faint (`crowded`): the dot and
   * its tooltip still say it.
   */
  layout() {
    const v = this.view ?? this.bounds();
    this.svg.setAttribute('viewBox', `${v.x} ${v.y} ${v.w} ${v.h}`);
    // view units per CSS pixel ('meet': the axis that fills the box sets the scale)
    const px = 1 / Math.min((this.svg.clientWidth || 600) / v.w, (this.svg.clientHeight || 400) / v.h);
    const r = 5 * px, font = 16 * px;
    const nodes = [...this.nodes.values()];
    const dots = nodes.map((n) => {
      const { x, y } = n.p;
      const rr = n.g.classList.contains('selected') ? 2 * r : r;
      n.dot.setAttribute('cx', x);
      n.dot.setAttribute('cy', -y);
      n.dot.setAttribute('r', rr);
      return { n, x0: x - rr, x1: x + rr, y0: -y - rr, y1: -y + rr };
    });
    const rank = (n) => (n.g.classList.contains('selected') ? 0 : n.g.classList.contains('weak') ? 2 : 1);
    const placed = [];
    const overlap = (a, b) => Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
    // (a place partly outside the view costs what is cut off, many times over)
    const view = { x0: v.x, x1: v.x + v.w, y0: v.y, y1: v.y + v.h };
    const outside = (b) => (b.x1 - b.x0) * (b.y1 - b.y0) - overlap(b, view);
    for (const n of [...nodes].sort((a, b) => rank(a) - rank(b))) {
      const { x } = n.p, y = -n.p.y;
      const f = n.g.classList.contains('selected') ? 1.4 * font : font;
      const rr = n.g.classList.contains('selected') ? 2 * r : r;
      n.text.setAttribute('font-size', f);
      // (the label's width in view units: measured once per text and font)
      const w = (n.text.textContent.length ? n.text.getComputedTextLength?.() : 0) || f * 0.6 * n.text.textContent.length;
      const gap = 0.6 * rr + 0.2 * f;
      // (a label's box: its ink from ascent to descent around the baseline ty)
      const spot = (anchor, tx, ty) => {
        const x0 = anchor === 'start' ? tx : anchor === 'end' ? tx - w : tx - w / 2;
        return { anchor, tx, ty, box: { x0, x1: x0 + w, y0: ty - 0.95 * f, y1: ty + 0.3 * f } };
      };
      const spots = [
        spot('start', x + rr + gap, y + 0.35 * f),
        spot('end', x - rr - gap, y + 0.35 * f),
        spot('middle', x, y - rr - gap - 0.3 * f),
        spot('middle', x, y + rr + gap + 0.95 * f),
      ];
      const cost = (sp) => 10 * outside(sp.box) + placed.reduce((a, b) => a + overlap(sp.box, b), 0) + dots.reduce((a, d) => a + (d.n === n ? 0 : overlap(sp.box, d)), 0);
      // (the place it had, first: a map that moves while training keeps its labels still)
      const order = n.spot ? [spots[n.spot], ...spots.filter((_, i) => i !== n.spot)] : spots;
      let best = order[0], bestCost = Infinity;
      for (const sp of order) {
        const c = cost(sp);
        if (c < bestCost) { best = sp; bestCost = c; }
        if (c === 0) break;
      }
      n.spot = spots.indexOf(best);
      n.text.setAttribute('x', best.tx);
      n.text.setAttribute('y', best.ty);
      n.text.setAttribute('text-anchor', best.anchor);
      n.g.classList.toggle('crowded', bestCost > 0);
      placed.push(best.box);
    }
  }

  showTip(row) {
    const n = this.nodes.get(row);
    if (!n) return;
    this.tip.textContent = this.tipText(n.p);
    this.tip.hidden = false;
    const r = n.dot.getBoundingClientRect(), box = this.svg.getBoundingClientRect();
    this.tip.style.left = `${Math.max(0, Math.min(box.width - this.tip.offsetWidth, r.left - box.left + 10))}px`;
    this.tip.style.top = `${Math.max(0, r.top - box.top - this.tip.offsetHeight - 6)}px`;
  }

  zoom(e) {
    e.preventDefault();
    const v = this.view ?? this.bounds();
    const box = this.svg.getBoundingClientRect();
    const f = e.deltaY > 0 ? 1.2 : 1 / 1.2;
    const cx = v.x + ((e.clientX - box.left) / box.width) * v.w, cy = v.y + ((e.clientY - box.top) / box.height) * v.h;
    this.view = { x: cx - (cx - v.x) * f, y: cy - (cy - v.y) * f, w: v.w * f, h: v.h * f };
    this.layout();
  }

  dragStart(e) {
    if (e.target.closest('.pt')) return;
    const v0 = this.view ?? this.bounds();
    const box = this.svg.getBoundingClientRect();
    const x0 = e.clientX, y0 = e.clientY;
    const move = (m) => {
      const k = Math.max(v0.w / box.width, v0.h / box.height);
      this.view = { ...v0, x: v0.x - (m.clientX - x0) * k, y: v0.y - (m.clientY - y0) * k };
      this.layout();
    };
    const up = () => { window.removeEventListener('pointermove', move); window.removeEventListener('pointerup', up); };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }
}

/**
 * Words on a line (a custom axis through two words): `items` [{t, label, colour}] placed by t
 * (0 at the first word, 1 at the second), staggered in rows so labels do not overlap.
 */
export function numberLine(items, { caption, from, to }) {
  const W = 1000, rowH = 26, pad = 60;
  const ts = items.map((i) => i.t);
  const lo = Math.min(0, ...ts), hi = Math.max(1, ...ts);
  const X = (t) => pad + ((t - lo) / (hi - lo)) * (W - 2 * pad);
  const sorted = [...items].sort((a, b) => a.t - b.t);
  const rows = []; // the right end of the last label in each row
  const placed = sorted.map((it) => {
    const x = X(it.t), w = 14 * [...it.label].reduce((a, ch) => a + (ch.charCodeAt(0) < 128 ? 0.62 : 1.05), 0) + 8;
    let r = rows.findIndex((end) => end < x - w / 2);
    if (r < 0) { r = rows.length; rows.push(-Infinity); }
    rows[r] = x + w / 2;
    return { ...it, x, r };
  });
  const H = 40 + rows.length * rowH + 30;
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'line-svg', role: 'img', 'aria-label': caption });
  const axisY = H - 30;
  s.append(svg('line', { x1: pad / 2, x2: W - pad / 2, y1: axisY, y2: axisY, class: 'axis' }));
  for (const [t, name] of [[0, from], [1, to]]) {
    s.append(svg('line', { x1: X(t), x2: X(t), y1: axisY - 6, y2: axisY + 6, class: 'axis' }));
    s.append(svg('text', { x: X(t), y: H - 6, 'text-anchor': 'middle', 'font-size': 16, class: 'tick' }, `${name} (${t})`));
  }
  for (const p of placed) {
    const y = axisY - 14 - p.r * rowH;
    s.append(svg('line', { x1: p.x, x2: p.x, y1: y + 4, y2: axisY, stroke: p.colour, 'stroke-opacity': 0.35 }));
    const tx = svg('text', { x: p.x, y, 'text-anchor': 'middle', 'font-size': 15, fill: p.colour }, p.label);
    tx.append(svg('title', {}, `${p.label}: ${p.t.toFixed(2)}`));
    s.append(tx);
  }
  const numbers = () => csv([['label', 't'], ...items.map((i) => [i.label, String(i.t)])]);
  return [el('figcaption', { text: caption }), s, svgMenu({ svgEl: s, csvText: numbers })];
}
