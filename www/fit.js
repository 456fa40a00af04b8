// Fitting a step into an embedded frame. Embedded, the page is exactly the frame (style.css):
// the current step's section takes the height left under the stepper and the step's text,
// and its charts share that height. A canvas is drawn at a size, so a panel first asks how
// large each chart may be: chartBoxes() lays the section out once with every chart's box
// stretched to take its share of the free space (class `measuring`), reads the boxes, and
// lets the section fall back to its natural layout; the panel then draws each chart within
// its box, and centreHeatmap() puts a heatmap's drawing in the middle of its box.

/**
 * The box each chart of `section` may fill: a Map from each `.canvas-wrap` in it to
 * `{w, h}` in CSS pixels. `prepare(section)` may change the layout first (e.g. a grid's
 * columns), while the boxes are stretched. One forced layout; read, then restore.
 */
export function chartBoxes(section, prepare) {
  section.classList.add('measuring');
  prepare?.(section);
  const boxes = new Map();
  for (const w of section.querySelectorAll('.canvas-wrap')) boxes.set(w, { w: w.clientWidth, h: w.clientHeight });
  section.classList.remove('measuring');
  return boxes;
}

/** Whether `section`'s content is taller than the section (it would not fit the frame). */
export function overflows(section) {
  return section.scrollHeight > section.clientHeight + 1;
}


/**
 * Shifts a heatmap's canvas so that what the engine drew (from its layout: the cells, and the
 * legend if any) sits in the middle of its box rather than against the left edge. The canvas
 * keeps its width; its box clips the blank right part (style.css), and the tip follows the
 * canvas (chart.js). Any other chart is left alone.
 */
export function centreHeatmap(chart) {
  const L = chart?.layout, canvas = chart?.canvas;
  if (!L || !canvas) return;
  const used = L.right; // the drawing's right edge, legend labels included (from the engine)
  const shift = Math.floor((canvas.clientWidth - used) / 2);
  canvas.style.marginLeft = Number.isFinite(shift) && shift > 4 ? `${shift}px` : '';
}

/**
 * How many columns a grid of `n` square charts of `cells` × `cells` should have in a box of
 * `w` × `h` CSS pixels (h = Infinity: the page scrolls) so that the cells are as large as
 * possible; `extraW`/`extraH` are each chart's labels and caption, `gap` the grid's gap.
 * Without a height, as many columns as keep each chart at least `minW` wide, in rows as even
 * as possible (8 heads: 4 + 4, not 6 + 2).
 */
export function gridColumns(n, cells, { w, h = Infinity, extraW = 60, extraH = 30, gap = 8, minW = 180 }) {
  if (!Number.isFinite(h)) {
    const most = Math.max(1, Math.min(n, Math.floor((w + gap) / (minW + gap))));
    return Math.ceil(n / Math.ceil(n / most));
  }
  let best = 1, bestCell = -Infinity;
  for (let c = 1; c <= n; c++) {
    const rows = Math.ceil(n / c);
    const cw = ((w - gap * (c - 1)) / c - extraW) / cells;
    const ch = ((h - gap * (rows - 1)) / rows - extraH) / cells;
    const cell = Math.min(cw, ch);
    if (cell > bestCell + 0.5) [best, bestCell] = [c, cell];
  }
  return best;
}
