// Figures drawn as HTML and SVG (crisp at any size, on a projector too): the diagram of one
// transformer layer whose boxes are links to their steps, and an activation's curve with one
// token's values on it. They only place numbers the engine computed.

import { el } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
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
  const font = 19; // in the viewBox: the figure scales with its box, type with it
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
  return [el('figcaption', { text: caption }), s];
}
