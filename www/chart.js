// Small view components that own their canvas: a heatmap, a loss curve and bars. The drawing
// itself is done by the engine (plotters in Rust); these size the canvas for the screen's pixel
// ratio, keep the layout the engine returned, and turn pointer and keyboard positions into
// exact values. The curve and the bars draw text only once glyphs.js has looked its
// characters up off the main thread (they draw while a model trains).

import { engine } from './engine.js';
import { el, sizeCanvas, focusScrollers } from './dom.js';
import { glyphsReady, warmGlyphs } from './glyphs.js';
import { downloadMenu, fileName, matrixCsv, matrixJson, maskRows, lossCsv, png2x, csv } from './export.js';

/** An SVG's or PNG's size from a drawn CSS size (the engine takes 16 … 8192 px). */
const side = (v) => Math.min(8192, Math.max(16, Math.round(v)));

// Charts (and panels' other drawing jobs: anything with a `paint()`) waiting to be drawn, in the
// order they were asked for; drawn in slices of at most ~6 ms each, one task per slice, so that
// no task of the page grows long even when a busy machine stretches it several times over.
const deferred = new Set();
let sliceTimer = 0;
const idleWaiters = [];
const SLICE_MS = 6;
// The first heatmap the page draws sets the performance mark `first-heatmap` (its startTime is
// the time from navigation; `cargo xtask bench` reports it).
let firstHeatmap = false;

/** Draws `job.paint()` in a later task; asking again before then draws it once. */
export function defer(job) {
  deferred.add(job);
  if (!sliceTimer) sliceTimer = setTimeout(drawSlice, 0);
}

function drawSlice() {
  sliceTimer = 0;
  const t0 = performance.now();
  for (const job of deferred) {
    deferred.delete(job);
    job.paint();
    if (performance.now() - t0 > SLICE_MS) break;
  }
  if (deferred.size) sliceTimer = setTimeout(drawSlice, 0);
  else idleWaiters.splice(0).forEach((resolve) => resolve());
}

/** Resolves once every chart asked for has been drawn (tests wait on it). */
export function chartsIdle() {
  return deferred.size ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve();
}

/**
 * Names a chart's canvas: an image (role img) named `name`, or, with no name (nothing drawn
 * yet), a plain canvas that assistive technology passes over.
 */
export function imageName(canvas, name) {
  if (name) {
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', name);
  } else {
    canvas.removeAttribute('role');
    canvas.removeAttribute('aria-label');
  }
}

/**
 * A heatmap: canvas + tooltip + a table as its text alternative.
 * `draw({matrix, rows, cols, palette, mask, numbers, highlightRow, title, square, maxHeight, minCell, minHeight,
 * fontScale, tooltip(r, c, v), alt})` redraws it.
 */
export class Heatmap {
  constructor(parent, { id, t, onSelect, tableAlways = false }) {
    this.t = t;
    this.onSelect = onSelect;
    this.tableAlways = tableAlways;
    this.figure = el('figure', { class: 'chart', id });
    this.caption = el('figcaption');
    // (an image, with its name, once there is something to draw: see label())
    this.canvas = el('canvas', { tabindex: '0' });
    this.tip = el('div', { class: 'tip', role: 'status', hidden: '' });
    this.details = el('details', { class: 'alt' });
    this.summary = el('summary', { 'data-i18n': 'table.show', text: t('table.show') });
    this.table = el('table');
    this.details.append(this.summary, this.table);
    // Downloads: the engine's SVG and a 2× PNG of what is drawn, the matrix as CSV and JSON.
    this.menu = downloadMenu((ext) => fileName(this.figure, this.figure.id, ext), [
      { kind: 'svg', make: () => this.exportSvg() },
      { kind: 'png', make: () => this.exportPng() },
      { kind: 'csv', make: () => matrixCsv(this.spec.matrix, this.spec.rows, this.spec.cols, this.t('table.row')) },
      { kind: 'json', make: () => matrixJson(this.spec.matrix, this.spec.rows, this.spec.cols, this.spec.mask ? { mask: maskRows(this.spec.mask) } : {}) },
    ], id);
    this.figure.append(this.caption, el('div', { class: 'canvas-wrap' }, this.canvas, this.tip), this.menu, this.details);
    parent.append(this.figure);
    this.cursor = null;
    this.canvas.addEventListener('pointermove', (e) => this.hover(e));
    this.canvas.addEventListener('pointerleave', () => this.hideTip());
    this.canvas.addEventListener('click', (e) => {
      const cell = this.cellAtEvent(e);
      if (cell && this.onSelect) this.onSelect(cell[0], cell[1]);
    });
    this.canvas.addEventListener('keydown', (e) => this.key(e));
    // Focused by a click, the arrows are the presenter's (app.js); by the keyboard, they
    // move a cursor over the cells.
    this.canvas.addEventListener('pointerdown', () => { this.clicked = true; });
    this.canvas.addEventListener('blur', () => { this.clicked = false; this.hideTip(); });
    this.details.addEventListener('toggle', () => {
      if (!this.details.open) return;
      this.fillTable();
      // (a wide matrix's table scrolls sideways: by keyboard too)
      focusScrollers([this.table]);
    });
  }

  draw(spec) {
    this.label(spec);
    // In an embedded slide only the current step shows: a chart in a hidden step is drawn when
    // its step is shown (the embed renders on every step), not on every keystroke.
    if (this.hiddenInEmbed()) {
      this.spec = spec;
      this.stale = true;
      return;
    }
    if (this.unchanged(spec)) return;
    this.spec = spec;
    // A chart far from the viewport is drawn a moment later, in small slices, so that a
    // keystroke only waits for the charts in view (see `deferred` below).
    if (this.offscreen()) {
      this.stale = true;
      defer(this);
      return;
    }
    this.paint();
  }

  /** The chart's caption and its canvas's name (an image of the matrix), set at once, even
   * when the drawing itself waits. */
  label(spec) {
    this.caption.textContent = spec.caption ?? '';
    imageName(this.canvas, spec.alt ?? spec.caption);
  }

  offscreen() {
    if (this.tableAlways) return false;
    const r = this.figure.getBoundingClientRect();
    return r.bottom < -200 || r.top > window.innerHeight + 200;
  }

  /** Draws `this.spec` now. */
  paint() {
    deferred.delete(this);
    const spec = this.spec;
    this.stale = false;
    const [rows, cols] = spec.matrix.shape;
    const width = Math.max(160, Math.floor(this.figure.clientWidth || this.figure.parentElement?.clientWidth || 320));
    const labelW = 14 + 13 * Math.max(1, ...spec.rows.map((r) => [...r].reduce((a, ch) => a + (ch.charCodeAt(0) < 128 ? 0.6 : 1.1), 0)));
    const top = 6 + (spec.cols.length ? 20 : 0) + (spec.title ? 20 : 0);
    let height;
    if (spec.square !== false) {
      let cell = Math.min(spec.maxCell ?? 48, (width - labelW - (spec.legend === false ? 10 : 60)) / cols);
      if (spec.maxHeight) cell = Math.min(cell, (spec.maxHeight - top - 10) / rows);
      cell = Math.max(spec.minCell ?? 8, cell);
      height = Math.ceil(top + rows * cell + 10);
    } else {
      // Stretched cells (long vectors): rows as tall as the free height allows, never thinner
      // than 10 px, so that every row reads as a band even at d_model 512.
      const free = spec.maxHeight ? (spec.maxHeight - top - 10) / rows : 22;
      height = Math.ceil(top + rows * Math.max(10, Math.min(spec.maxCell ?? 40, free)) + 10);
    }
    if (spec.maxHeight) height = Math.max(spec.minHeight ?? 60, Math.min(height, spec.maxHeight));
    const dpr = sizeCanvas(this.canvas, width, height);
    this.drawnWidth = Math.floor(this.figure.clientWidth || 0);
    const opts = { dpr, palette: spec.palette ?? 'viridis', numbers: !!spec.numbers, digits: spec.digits ?? 2, title: spec.title ?? '', legend: spec.legend ?? true, square: spec.square !== false };
    if (spec.mask) opts.mask = spec.mask;
    if (spec.min !== undefined) opts.min = spec.min;
    if (spec.max !== undefined) opts.max = spec.max;
    if (spec.highlightRow !== undefined) opts.highlightRow = spec.highlightRow;
    if (spec.highlightCol !== undefined) opts.highlightCol = spec.highlightCol;
    if (spec.colGroup) opts.colGroup = spec.colGroup;
    if (spec.fontScale) opts.fontScale = spec.fontScale;
    this.layout = engine.drawHeatmap(this.canvas, spec.matrix, spec.rows, spec.cols, opts);
    this.drawn = { width, height, opts };
    if (!firstHeatmap) {
      firstHeatmap = true;
      performance.mark('first-heatmap');
    }
    this.summary.textContent = this.t('table.show');
    this.tableDirty = true;
    if (this.tableAlways || this.details.open) this.fillTable();
    if (this.details.open) focusScrollers([this.table]);
    if (this.cursor) this.showTip(...this.cursor);
  }

  hiddenInEmbed() {
    return document.body.classList.contains('embed') && this.figure.offsetParent === null;
  }

  /** What is drawn (drawn now if it waited): the spec, the CSS size and the engine's options. */
  current() {
    if (this.spec && (this.stale || !this.drawn)) this.paint();
    const { dpr, ...opts } = this.drawn.opts;
    return { spec: this.spec, width: this.drawn.width, height: this.drawn.height, opts };
  }

  /** The heatmap as the engine draws it in SVG, at its CSS size. */
  exportSvg() {
    const { spec, width, height, opts } = this.current();
    return engine.drawHeatmapSvg(spec.matrix, spec.rows, spec.cols, { ...opts, width: side(width), height: side(height) });
  }

  /** The heatmap drawn by the engine at twice its CSS size, as a PNG. */
  exportPng() {
    const { spec, width, height, opts } = this.current();
    return png2x(width, height, (c, dpr) => engine.drawHeatmap(c, spec.matrix, spec.rows, spec.cols, { ...opts, dpr }));
  }

  /**
   * Whether `spec` would draw exactly what is on the canvas: same numbers, same options, same
   * size (a redraw after a keystroke then costs a comparison, not a drawing).
   */
  unchanged(spec) {
    const old = this.spec;
    if (!old || this.stale || !this.layout) return false;
    const width = Math.floor(this.figure.clientWidth || 0);
    const { matrix, mask, tooltip, ...rest } = spec;
    const { matrix: m0, mask: k0, tooltip: t0, ...rest0 } = old;
    const same = (a, b) => (!a && !b) || (a && b && a.shape.join() === b.shape.join() && a.data.length === b.data.length && a.data.every((x, i) => x === b.data[i]));
    if (width !== this.drawnWidth || !same(matrix, m0) || !same(mask, k0) || JSON.stringify(rest) !== JSON.stringify(rest0)) return false;
    this.spec = spec; // (new tooltip closures over the same labels)
    return true;
  }

  /** The text alternative: every value, with full precision in data-value. */
  fillTable() {
    if (!this.tableDirty || !this.spec) return;
    this.tableDirty = false;
    const { matrix, rows, cols, mask } = this.spec;
    const [R, C] = matrix.shape;
    const colNames = cols.length ? cols : Array.from({ length: C }, (_, j) => String(j));
    const head = el('tr', {}, el('th', { scope: 'col', text: this.t('table.row') }));
    colNames.forEach((c) => head.append(el('th', { scope: 'col', text: c })));
    const body = [el('thead', {}, head)];
    const tb = el('tbody');
    for (let r = 0; r < R; r++) {
      const tr = el('tr', {}, el('th', { scope: 'row', text: rows[r] ?? String(r) }));
      for (let c = 0; c < C; c++) {
        const v = matrix.data[r * C + c];
        const blocked = mask && mask.data[r * C + c];
        tr.append(el('td', { 'data-value': String(v), ...(blocked ? { 'data-masked': '1', title: this.t('hover.masked') } : {}), text: blocked ? '—' : v.toFixed(3) }));
      }
      tb.append(tr);
    }
    body.push(tb);
    this.table.replaceChildren(...body);
  }

  cellAtEvent(e) {
    if (!this.layout) return null;
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const L = this.layout;
    const c = Math.floor((x - L.x0) / L.cellW), r = Math.floor((y - L.y0) / L.cellH);
    return r >= 0 && c >= 0 && r < L.rows && c < L.cols ? [r, c] : null;
  }

  hover(e) {
    const cell = this.cellAtEvent(e);
    // A cell that selects its row says so.
    this.canvas.style.cursor = cell && this.onSelect ? 'pointer' : '';
    if (cell) this.showTip(...cell);
    else this.hideTip();
  }

  showTip(r, c) {
    const { matrix, mask } = this.spec;
    const C = matrix.shape[1];
    const v = matrix.data[r * C + c];
    const blocked = mask && mask.data[r * C + c];
    this.tip.textContent = this.spec.tooltip(r, c, blocked ? this.t('hover.masked') : v.toFixed(4));
    this.tip.hidden = false;
    this.placeTip(r, c);
  }

  /**
   * Puts the tip next to cell (r, c) without covering it: above it, else below, else beside
   * it, always inside this chart's canvas so it never spills over the next chart.
   */
  placeTip(r, c) {
    const L = this.layout, tip = this.tip, cv = this.canvas;
    // The canvas may be shifted inside its box (centred when embedded).
    const ox = cv.offsetLeft, oy = cv.offsetTop;
    const W = cv.clientWidth - ox, H = cv.clientHeight;
    tip.style.maxWidth = `${Math.max(80, W)}px`;
    tip.style.whiteSpace = '';
    if (tip.offsetWidth >= W) tip.style.whiteSpace = 'normal';
    const w = tip.offsetWidth, h = tip.offsetHeight, gap = 3;
    const x0 = L.x0 + c * L.cellW, x1 = x0 + L.cellW, y0 = L.y0 + r * L.cellH, y1 = y0 + L.cellH;
    const clampX = (x) => Math.max(0, Math.min(x, W - w));
    const clampY = (y) => Math.max(0, Math.min(y, H - h));
    const spots = [
      [clampX((x0 + x1 - w) / 2), y0 - gap - h],
      [clampX((x0 + x1 - w) / 2), y1 + gap],
      [x1 + gap, clampY((y0 + y1 - h) / 2)],
      [x0 - gap - w, clampY((y0 + y1 - h) / 2)],
    ];
    const [x, y] = spots.find(([x, y]) => x >= 0 && y >= 0 && x + w <= W && y + h <= H) ?? spots[0];
    tip.style.left = `${ox + x}px`;
    tip.style.top = `${oy + y}px`;
  }

  hideTip() {
    this.tip.hidden = true;
  }

  /** Arrow keys (once focused by the keyboard) move a cursor over the cells and show each value; Enter selects the row. */
  key(e) {
    if (!this.layout) return;
    const [R, C] = [this.layout.rows, this.layout.cols];
    let [r, c] = this.cursor ?? [0, 0];
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (moves[e.key] && !this.clicked) {
      if (this.cursor) {
        r = Math.min(R - 1, Math.max(0, r + moves[e.key][0]));
        c = Math.min(C - 1, Math.max(0, c + moves[e.key][1]));
      }
      this.cursor = [r, c];
      this.showTip(r, c);
      e.preventDefault();
      e.stopPropagation();
    } else if (e.key === 'Enter' && this.cursor && this.onSelect) {
      this.onSelect(r, c);
      e.preventDefault();
    }
  }
}

/**
 * The CSS width a canvas may take: its parent's, measured once and kept until `forget()` (a
 * layout change): reading clientWidth while drawing would lay the page out on every frame.
 */
class Width {
  constructor(canvas, min, fallback) {
    Object.assign(this, { canvas, min, fallback, value: 0 });
  }

  get() {
    this.value ||= Math.max(this.min, Math.floor(this.canvas.parentElement?.clientWidth || this.fallback));
    return this.value;
  }

  forget() {
    this.value = 0;
  }
}

/** Runs `paint` on the next animation frame (once, however often it is asked). */
function framePainter(paint) {
  let asked = false;
  return () => {
    if (asked) return;
    asked = true;
    requestAnimationFrame(() => {
      asked = false;
      paint();
    });
  };
}

/**
 * The training and held-out loss curves, with the value under the pointer (or the arrow keys,
 * once focused) shown in a tip.
 *
 * `draw({losses, heldout, heldoutEvery, height, xLabel, yLabel, trainLabel, heldoutLabel, refLine,
 * refLabel, fontScale, alt, tip(step, loss)})` redraws it; `relayout()` after the page's layout
 * changed; `layout` maps steps to CSS pixels.
 */
export class LossCurve {
  constructor(parent, { id }) {
    this.canvas = el('canvas', { id, tabindex: '0' });
    this.tipBox = el('div', { class: 'tip', hidden: '' });
    // Downloads: the engine's SVG and a 2× PNG of the curve (drawn here, also when a worker
    // draws the visible one), the losses as CSV and JSON.
    this.menu = downloadMenu((ext) => fileName(this.canvas, id, ext), [
      { kind: 'svg', make: () => this.exportSvg() },
      { kind: 'png', make: () => this.exportPng() },
      { kind: 'csv', make: () => lossCsv(this.spec?.losses ?? [], this.spec?.heldout ?? [], this.spec?.heldoutEvery ?? 1) },
      { kind: 'json', make: () => JSON.stringify({ losses: Array.from(this.spec?.losses ?? []), heldout: Array.from(this.spec?.heldout ?? []), heldoutEvery: this.spec?.heldoutEvery ?? 1 }, null, 1) },
    ], id);
    parent.append(el('div', { class: 'canvas-wrap' }, this.canvas, this.tipBox), this.menu);
    this.width = new Width(this.canvas, 240, 500);
    this.hover = -1;
    this.spec = null;
    this.layout = null;
    this.repaint = framePainter(() => this.paint());
    this.canvas.addEventListener('pointermove', (e) => {
      const n = this.spec?.losses.length ?? 0;
      if (!this.layout || !n) return;
      const r = this.canvas.getBoundingClientRect();
      const L = this.layout;
      const f = (e.clientX - r.left - L.x0) / Math.max(1, L.x1 - L.x0);
      this.hover = Math.max(0, Math.min(n - 1, Math.round(f * (L.steps - 1))));
      this.repaint();
    });
    this.canvas.addEventListener('pointerleave', () => {
      this.hover = -1;
      this.repaint();
    });
    // As on a heatmap: after a click the arrows step the presentation.
    this.canvas.addEventListener('pointerdown', () => { this.clicked = true; });
    this.canvas.addEventListener('blur', () => { this.clicked = false; });
    this.canvas.addEventListener('keydown', (e) => {
      const n = this.spec?.losses.length ?? 0;
      if (!n || (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') || this.clicked) return;
      const d = e.key === 'ArrowLeft' ? -1 : 1;
      this.hover = Math.max(0, Math.min(n - 1, (this.hover < 0 ? n - 1 : this.hover) + d * Math.max(1, Math.round(n / 50))));
      e.preventDefault();
      e.stopPropagation();
      this.repaint();
    });
  }

  draw(spec) {
    this.spec = spec;
    imageName(this.canvas, spec.alt);
    this.paint();
  }

  relayout() {
    this.width.forget();
  }

  /**
   * Hands the drawing to a worker that holds the losses (training/worker.js): the canvas
   * becomes its OffscreenCanvas, `worker.curve(data, transfer)` posts a TO_WORKER.CURVE message,
   * `worker.pixels(id)` a TO_WORKER.PIXELS one, and the worker answers each drawing with its
   * layout (`drawn`). Returns false, and keeps drawing here, where a canvas cannot be handed over.
   */
  attach(worker) {
    if (this.remote || typeof this.canvas.transferControlToOffscreen !== 'function') return !!this.remote;
    const off = this.canvas.transferControlToOffscreen();
    this.remote = { worker, sent: '', asked: new Map(), next: 1 };
    worker.curve({ canvas: off }, [off]);
    this.paint();
    return true;
  }

  /** The worker drew the curve: its layout, for the tooltip. */
  drawn(layout) {
    this.layout = layout;
    if (this.hover >= 0) this.showTip();
  }

  /** Non-white pixels of the curve and a digest of them, drawn here or in the worker. */
  pixels() {
    if (!this.remote) {
      const d = this.canvas.getContext('2d').getImageData(0, 0, this.canvas.width, this.canvas.height).data;
      let ink = 0, hash = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) ink++;
        hash = (Math.imul(hash, 31) + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) | 0;
      }
      return Promise.resolve({ ink, hash: `${this.canvas.width}x${this.canvas.height}:${hash}` });
    }
    const id = this.remote.next++;
    return new Promise((resolve) => {
      this.remote.asked.set(id, resolve);
      this.remote.worker.pixels(id);
    });
  }

  /** The worker's answer to `pixels()`. */
  counted(m) {
    this.remote?.asked.get(m.id)?.({ ink: m.ink, hash: m.hash });
    this.remote?.asked.delete(m.id);
  }

  paint() {
    const s = this.spec;
    if (!s) return;
    if (this.remote) return this.paintRemote(s);
    const axes = [s.xLabel, s.yLabel, s.trainLabel ?? '', s.heldoutLabel ?? '', s.refLabel ?? ''];
    if (!glyphsReady(axes)) {
      warmGlyphs(axes, { urgent: true }).then(this.repaint);
      return;
    }
    const w = this.width.get();
    const dpr = sizeCanvas(this.canvas, w, s.height);
    this.layout = engine.drawLossCurve(this.canvas, Float32Array.from(s.losses), Float32Array.from(s.heldout), { dpr, ...this.options(s) });
    this.showTip();
  }

  /** `drawLossCurve`'s options for `spec`, but the pixel ratio: a legend naming both curves,
   * and the loss of a model that knows nothing (ln V) as a dashed line to read the curve against. */
  options(s) {
    const opts = { heldoutEvery: s.heldoutEvery, hover: this.hover, xLabel: s.xLabel, yLabel: s.yLabel, fontScale: s.fontScale ?? 1 };
    if (s.trainLabel) opts.trainLabel = s.trainLabel;
    if (s.heldoutLabel) opts.heldoutLabel = s.heldoutLabel;
    if (Number.isFinite(s.refLine)) Object.assign(opts, { refLine: s.refLine, refLabel: s.refLabel ?? '' });
    return opts;
  }

  /** The curve's data and options for a file: no hover line. */
  exportArgs() {
    const s = this.spec ?? { losses: [], heldout: [], height: 200, xLabel: 'step', yLabel: 'loss' };
    return { s, w: this.width.get(), h: s.height, opts: { ...this.options(s), hover: -1 } };
  }

  exportSvg() {
    const { s, w, h, opts } = this.exportArgs();
    return engine.drawLossCurveSvg(Float32Array.from(s.losses), Float32Array.from(s.heldout), { ...opts, width: side(w), height: side(h) });
  }

  exportPng() {
    const { s, w, h, opts } = this.exportArgs();
    return png2x(w, h, (c, dpr) => engine.drawLossCurve(c, Float32Array.from(s.losses), Float32Array.from(s.heldout), { ...opts, dpr }));
  }

  /** Drawn by the worker: size the canvas's box here, and send the options when they change. */
  paintRemote(s) {
    const w = this.width.get();
    const dpr = Math.min(4, Math.max(1, globalThis.devicePixelRatio || 1));
    if (this.canvas.style.width !== `${w}px`) this.canvas.style.width = `${w}px`;
    if (this.canvas.style.height !== `${s.height}px`) this.canvas.style.height = `${s.height}px`;
    const data = { width: w, height: s.height, dpr, opts: this.options(s) };
    const key = JSON.stringify(data);
    if (key !== this.remote.sent) {
      this.remote.sent = key;
      this.remote.worker.curve(data, []);
    }
    this.showTip();
  }

  /** The tooltip of the hovered step, beside its point. */
  showTip() {
    const s = this.spec;
    const n = s?.losses.length ?? 0;
    const w = this.width.get();
    if (this.layout && this.hover >= 0 && this.hover < n) {
      const L = this.layout;
      this.tipBox.textContent = s.tip(this.hover + 1, s.losses[this.hover]);
      this.tipBox.hidden = false;
      // Beside the hover line (right, else left) and in the half of the plot away from the
      // point read, so the tip never covers it.
      const x = L.x0 + ((L.x1 - L.x0) * this.hover) / Math.max(1, L.steps - 1);
      const y = L.y0 + (1 - Math.min(1, s.losses[this.hover] / (L.yMax || 1))) * (L.y1 - L.y0);
      const tw = this.tipBox.offsetWidth, th = this.tipBox.offsetHeight;
      this.tipBox.style.left = `${x + 6 + tw <= w ? x + 6 : Math.max(0, x - 6 - tw)}px`;
      this.tipBox.style.top = `${y < (L.y0 + L.y1) / 2 ? L.y1 - th - 4 : L.y0}px`;
    } else {
      this.tipBox.hidden = true;
    }
  }
}

/** A bar's height in CSS pixels at the page's type scale (`app.fontScale`): 24 px on the page. */
export const barRow = (fontScale = 1) => Math.round(24 * (fontScale || 1));

/** A value as the engine's bars write it (`value_text`): 0.455, 0.0738, 12, 1.23e-5. */
export const readable = (v) => {
  const a = Math.abs(v);
  if (!Number.isFinite(v) || v === 0 || (Number.isInteger(v) && a < 1e7)) return String(v);
  if (a >= 1e-3 && a < 1e4) return v.toFixed(Math.max(0, 2 - Math.floor(Math.log10(a))));
  return v.toExponential(2).replace('e+', 'e');
};

/**
 * Horizontal bars with their values written, in a canvas whose height is fixed by `rows`, so
 * new data never shifts the page. `draw(labels, values, {percent, max, highlight, fontScale,
 * alt}, rows)`, a bar `barRow(fontScale)` tall (the page's type scale, as the engine's bars);
 * `relayout()` after the page's layout changed. The canvas is an image named `alt` followed by every bar's
 * label and value (`alt`: what the bars are, in the page's language).
 */
export class Bars {
  constructor(canvas) {
    this.canvas = canvas;
    this.width = new Width(canvas, 200, 300);
    this.args = null;
    this.repaint = framePainter(() => this.paint());
    // Downloads (put after the canvas once it is on the page): the engine's SVG, a 2× PNG,
    // the labels and values as CSV and JSON.
    this.menu = downloadMenu((ext) => fileName(this.canvas, this.canvas.id || 'bars', ext), [
      { kind: 'svg', make: () => this.exportSvg() },
      { kind: 'png', make: () => this.exportPng() },
      { kind: 'csv', make: () => csv([['label', 'value'], ...(this.args?.labels ?? []).map((l, i) => [l, String(this.args.values[i])])]) },
      { kind: 'json', make: () => JSON.stringify({ labels: this.args?.labels ?? [], values: Array.from(this.args?.values ?? []) }, null, 1) },
    ], canvas.id);
    this.menu.classList.add('export-bars');
  }

  /** The bars' CSS size. */
  size() {
    return [this.width.get(), Math.max(40, 8 + (this.args?.rows ?? 1) * barRow(this.args?.opts.fontScale))];
  }

  exportSvg() {
    const { labels, values, opts } = this.args;
    const [w, h] = this.size();
    return engine.drawBarsSvg(labels, Float32Array.from(values), { ...opts, width: side(w), height: side(h) });
  }

  exportPng() {
    const { labels, values, opts } = this.args;
    const [w, h] = this.size();
    return png2x(w, h, (c, dpr) => engine.drawBars(c, labels, Float32Array.from(values), { ...opts, dpr }));
  }

  draw(labels, values, { alt, ...opts }, rows = labels.length) {
    this.args = { labels, values, opts, rows };
    const value = (v) => (opts.percent ? `${(100 * v).toFixed(1)}%` : readable(v));
    const list = labels.map((l, i) => `${l} ${value(values[i])}`).join(', ');
    imageName(this.canvas, alt && list ? `${alt}: ${list}` : alt || list);
    this.paint();
  }

  relayout() {
    this.width.forget();
  }

  paint() {
    if (!this.args) return;
    const { labels, values, opts, rows } = this.args;
    if (!this.menu.isConnected && this.canvas.parentElement) this.canvas.after(this.menu);
    if (!glyphsReady(labels)) {
      warmGlyphs(labels, { urgent: true }).then(this.repaint);
      return;
    }
    const dpr = sizeCanvas(this.canvas, this.width.get(), Math.max(40, 8 + rows * barRow(opts.fontScale)));
    this.layout = engine.drawBars(this.canvas, labels, Float32Array.from(values), { dpr, ...opts });
  }
}

/**
 * Attention as lines between two columns of tokens (BertViz's head view), drawn by the engine
 * (drawAttentionLines): `draw({left, right, weights, row, height, leftTitle, rightTitle,
 * fontScale, tip(i, j, w), alt})`. Pointing at a left token selects it (`onSelect(i)`); pointing
 * at a right token tells its exact weight for the selected row.
 */
export class Lines {
  constructor(parent, { id, onSelect }) {
    this.onSelect = onSelect;
    this.figure = el('figure', { class: 'chart lines', id });
    this.caption = el('figcaption');
    this.canvas = el('canvas', { tabindex: '0' });
    this.tip = el('div', { class: 'tip', role: 'status', hidden: '' });
    // Downloads: the engine's SVG and a 2× PNG, the weights (left tokens × right tokens) as CSV and JSON.
    this.menu = downloadMenu((ext) => fileName(this.figure, id, ext), [
      { kind: 'svg', make: () => this.exportSvg() },
      { kind: 'png', make: () => this.exportPng() },
      { kind: 'csv', make: () => matrixCsv(this.spec.weights, this.spec.left, this.spec.right) },
      { kind: 'json', make: () => matrixJson(this.spec.weights, this.spec.left, this.spec.right, { row: this.spec.row }) },
    ], id);
    this.figure.append(this.caption, el('div', { class: 'canvas-wrap' }, this.canvas, this.tip), this.menu);
    parent.append(this.figure);
    this.width = new Width(this.canvas, 220, 420);
    this.spec = null;
    this.layout = null;
    this.canvas.addEventListener('pointermove', (e) => this.hover(e));
    this.canvas.addEventListener('pointerleave', () => { this.tip.hidden = true; });
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hit(e);
      if (hit?.side === 'left') this.onSelect?.(hit.i);
    });
  }

  relayout() {
    this.width.forget();
  }

  /** The token under the pointer: {side: 'left' | 'right', i}, or null. */
  hit(e) {
    const L = this.layout;
    if (!L) return null;
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const near = (ys) => {
      let best = -1;
      ys.forEach((v, i) => { if (Math.abs(v - y) <= L.pitch / 2 && (best < 0 || Math.abs(v - y) < Math.abs(ys[best] - y))) best = i; });
      return best;
    };
    if (x <= L.leftX + 8) {
      const i = near(L.rowY);
      return i >= 0 ? { side: 'left', i } : null;
    }
    if (x >= L.rightX - 8) {
      const i = near(L.colY);
      return i >= 0 ? { side: 'right', i } : null;
    }
    return null;
  }

  hover(e) {
    const s = this.spec, hit = this.hit(e);
    if (!s || !hit || hit.side !== 'right' || s.row < 0) {
      this.tip.hidden = true;
      return;
    }
    const [, R] = s.weights.shape;
    this.tip.textContent = s.tip(s.row, hit.i, s.weights.data[s.row * R + hit.i]);
    this.tip.hidden = false;
    this.tip.style.left = `${Math.max(0, this.layout.rightX - this.tip.offsetWidth - 8)}px`;
    this.tip.style.top = `${Math.max(0, this.layout.colY[hit.i] - this.tip.offsetHeight / 2)}px`;
  }

  draw(spec) {
    this.spec = spec;
    this.caption.textContent = spec.caption ?? '';
    const w = this.width.get();
    const dpr = sizeCanvas(this.canvas, w, spec.height);
    this.layout = engine.drawAttentionLines(this.canvas, spec.left, spec.right, spec.weights, { dpr, ...this.options() });
    imageName(this.canvas, spec.alt ?? spec.caption);
  }

  /** drawAttentionLines's options for the spec, but the pixel ratio. */
  options() {
    const s = this.spec;
    return { row: s.row, fontScale: s.fontScale ?? 1, leftTitle: s.leftTitle ?? '', rightTitle: s.rightTitle ?? '' };
  }

  exportSvg() {
    const s = this.spec;
    return engine.drawAttentionLinesSvg(s.left, s.right, s.weights, { ...this.options(), width: side(this.width.get()), height: side(s.height) });
  }

  exportPng() {
    const s = this.spec;
    return png2x(this.width.get(), s.height, (c, dpr) => engine.drawAttentionLines(c, s.left, s.right, s.weights, { dpr, ...this.options() }));
  }
}
