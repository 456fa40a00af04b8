// Downloads of every figure: a small "Download" menu (a <details>, so the keyboard opens it)
// with the figure as SVG (vectors: sharp on a projector), as PNG at twice its size, and the
// numbers behind it as CSV and JSON. The chart classes (chart.js) and the SVG figures
// (figures.js) make theirs; a panel only names what else it offers (weights, embeddings).
//
// Engine charts: the SVG comes from the engine (draw…Svg, the same drawing code as the canvas,
// through plotters' SVG backend), the PNG from the engine drawing at dpr 2 on a canvas of twice
// the figure's CSS size. Figures built here in SVG are serialized with their computed styles
// written as presentation attributes (so the file renders without the page's style sheet),
// and rasterised for the PNG. Files are saved through blob: URLs and <a download> (no inline
// script or style: the page's Content-Security-Policy allows neither).

import { el } from './dom.js';
import { translate } from './strings.js';

/** The page's language ('zh' | 'en'), as app.js set it on <html>. */
const lang = () => (/^zh/i.test(document.documentElement.lang || '') ? 'zh' : 'en');
const tr = (key, vars) => translate(lang(), key, vars);

/** What each kind of file is: its extension, MIME type and the key of its button's label. */
const KINDS = {
  svg: { ext: 'svg', type: 'image/svg+xml', key: 'export.svg' },
  png: { ext: 'png', type: 'image/png', key: 'export.png' },
  csv: { ext: 'csv', type: 'text/csv', key: 'export.csv' },
  json: { ext: 'json', type: 'application/json', key: 'export.json' },
  tsv: { ext: 'tsv', type: 'text/tab-separated-values', key: 'export.tsv' },
  safetensors: { ext: 'safetensors', type: 'application/octet-stream', key: 'export.safetensors' },
};

/** Saves `data` (a Blob, string or bytes) as `filename` through a blob: URL. */
export function save(filename, data, type = 'application/octet-stream') {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: filename, class: 'export-link' });
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The file name of a figure: `<panel>-<figure>.<ext>`, the panel from the element's
 * `.panel` ancestor (panel-attention → attention), the figure from its id without the panel's
 * prefix (chart-weights → weights, lay-head-0-1 → head-0-1).
 */
export function fileName(node, id, ext) {
  const panel = (node?.closest?.('.panel')?.id ?? '').replace(/^panel-/, '') || 'lm-playground';
  const fig = String(id || 'figure').replace(/^(chart|lay|vec|bp|fam|learn|s2s|att)-/, '');
  return `${panel}-${fig}.${ext}`.replace(/[^\w.\-]+/g, '_');
}

/**
 * A download menu: `<details class="export"><summary>Download</summary><div class="export-menu">
 * <button>SVG</button>…</div></details>`. `items` are `[{kind, make: () => data | Promise}]`
 * (`kind` a key of KINDS; `make` returns a Blob, string or bytes); `name(ext)` names the file.
 * `forId` (the figure's id) is written as data-for. Returns the element; `menu.setItems(items)`
 * replaces the buttons.
 */
export function downloadMenu(name, items = [], forId = '') {
  const summary = el('summary');
  summary.append(el('span', { class: 'export-icon', 'aria-hidden': 'true', text: '⤓' }), el('span', { class: 'export-label', 'data-i18n': 'export.download', text: tr('export.download') }));
  const list = el('div', { class: 'export-menu', role: 'group' });
  const menu = el('details', { class: 'export', ...(forId ? { 'data-for': forId } : {}) }, summary, list);
  menu.setItems = (its) => {
    list.replaceChildren(...its.map(({ kind, make }) => {
      const k = KINDS[kind];
      const b = el('button', { type: 'button', class: `export-${kind}`, 'data-kind': kind, 'data-i18n': k.key, text: tr(k.key) });
      // (busy while the file is made: not disabled, which would take the keyboard's focus away)
      b.addEventListener('click', async () => {
        if (b.getAttribute('aria-busy') === 'true') return;
        b.setAttribute('aria-busy', 'true');
        try {
          save(name(k.ext), await make(), k.type);
        } catch (err) {
          console.error(`export ${kind}:`, err);
          b.title = String(err?.message ?? err);
        } finally {
          b.setAttribute('aria-busy', 'false');
        }
      });
      return b;
    }));
  };
  menu.setItems(items);
  // Escape closes it, and so does a click elsewhere (one listener for every menu; on click, not
  // pointerdown: an open menu closing under the pointer would move what is being clicked).
  menu.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && menu.open) { menu.open = false; summary.focus(); e.stopPropagation(); }
  });
  if (!closerInstalled) {
    closerInstalled = true;
    document.addEventListener('click', (e) => {
      if (e.target.classList?.contains('export-link')) return; // (a file being saved)
      for (const m of document.querySelectorAll('details.export[open]')) if (!m.contains(e.target)) m.open = false;
    });
  }
  return menu;
}

let closerInstalled = false;

// ---- numbers ----

/** A CSV field: quoted when it holds a comma, quote or line break. */
const field = (v) => {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** CSV text of `rows` (arrays of fields), lines ended by \n. */
export const csv = (rows) => rows.map((r) => r.map(field).join(',')).join('\n') + '\n';

/** A number at full precision (a float32 from the engine prints as the shortest exact form). */
const num = (v) => (Number.isFinite(v) ? String(v) : '');

/** A matrix `{shape: [R, C], data}` as CSV: a header of column labels, a row label per line. */
export function matrixCsv(matrix, rows, cols, corner = '') {
  const [R, C] = matrix.shape;
  const colNames = Array.from({ length: C }, (_, j) => cols[j] ?? String(j));
  const out = [[corner, ...colNames]];
  for (let r = 0; r < R; r++) out.push([rows[r] ?? String(r), ...Array.from(matrix.data.subarray(r * C, (r + 1) * C), num)]);
  return csv(out);
}

/** The same matrix as JSON: `{rows, cols, shape, values: [[…]], mask?}`. */
export function matrixJson(matrix, rows, cols, extra = {}) {
  const [R, C] = matrix.shape;
  const values = Array.from({ length: R }, (_, r) => Array.from(matrix.data.subarray(r * C, (r + 1) * C)));
  return JSON.stringify({ rows: [...rows], cols: [...cols], shape: [R, C], values, ...extra }, null, 1);
}

/** A mask `{shape, data}` as rows of booleans (true: blocked). */
export const maskRows = (mask) => Array.from({ length: mask.shape[0] }, (_, r) => Array.from(mask.data.subarray(r * mask.shape[1], (r + 1) * mask.shape[1]), Boolean));

/** Training losses (one per step, from step 1) and held-out losses (one per `every` steps) as CSV. */
export function lossCsv(losses, heldout = [], every = 1) {
  const out = [['step', 'loss', 'heldout']];
  for (let i = 0; i < losses.length; i++) {
    const step = i + 1;
    const k = step % every === 0 ? step / every - 1 : -1;
    out.push([step, num(losses[i]), k >= 0 && k < heldout.length ? num(heldout[k]) : '']);
  }
  return csv(out);
}

// ---- pictures ----

/** A canvas of `w × h` CSS pixels at twice the resolution, drawn by `draw(canvas, dpr)`, as a PNG blob. */
export function png2x(w, h, draw) {
  const c = document.createElement('canvas');
  c.width = Math.round(2 * w);
  c.height = Math.round(2 * h);
  draw(c, 2);
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('no PNG'))), 'image/png'));
}

/** The presentation attributes an SVG figure's style sheet sets, copied onto its exported copy. */
const PROPS = ['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-opacity', 'stroke-dasharray', 'stroke-linecap', 'stroke-linejoin', 'opacity', 'font-size', 'font-family', 'font-weight', 'font-style', 'text-anchor', 'dominant-baseline', 'paint-order', 'visibility'];

/** The CJK-capable font list of exported text (as the engine's SVGs name it). */
const FONTS = "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', sans-serif";

/**
 * An SVG element of the page as a standalone SVG document: its computed styles written as
 * attributes, hidden parts left out, its CSS size as width and height, a white background.
 * Returns `{text, width, height}`.
 */
export function serializeSvg(svgEl) {
  const box = svgEl.getBoundingClientRect();
  const width = Math.max(1, Math.round(box.width)), height = Math.max(1, Math.round(box.height));
  const copy = svgEl.cloneNode(true);
  const walk = (src, dst) => {
    const cs = getComputedStyle(src);
    if (cs.display === 'none') { dst.remove(); return; }
    for (const p of PROPS) {
      let v = cs.getPropertyValue(p);
      if (!v) continue;
      if (p === 'font-family') v = `${v}, ${FONTS}`;
      dst.setAttribute(p, v);
    }
    dst.removeAttribute('class');
    dst.removeAttribute('tabindex');
    const a = [...src.children], b = [...dst.children];
    a.forEach((c, i) => walk(c, b[i]));
  };
  walk(svgEl, copy);
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.setAttribute('width', String(width));
  copy.setAttribute('height', String(height));
  if (!copy.getAttribute('viewBox')) copy.setAttribute('viewBox', `0 0 ${width} ${height}`);
  for (const a of ['role', 'aria-label']) copy.removeAttribute(a);
  const [vx, vy, vw, vh] = copy.getAttribute('viewBox').split(/[\s,]+/).map(Number);
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  for (const [k, v] of Object.entries({ x: vx - vw, y: vy - vh, width: 3 * vw, height: 3 * vh, fill: '#ffffff' })) bg.setAttribute(k, String(v));
  copy.prepend(bg);
  const label = svgEl.getAttribute('aria-label');
  if (label) {
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = label;
    copy.prepend(title);
  }
  return { text: new XMLSerializer().serializeToString(copy), width, height };
}

/** An SVG document's text drawn on a canvas at twice `width × height`, as a PNG blob. */
export async function rasterise(text, width, height) {
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return await png2x(width, height, (c) => {
      const ctx = c.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, c.width, c.height);
      ctx.drawImage(img, 0, 0, c.width, c.height);
    });
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * A download menu for an SVG figure built on the page: SVG and PNG 2× of `svgEl` (or of what
 * `svgEl()` returns when clicked), and its numbers as CSV when `csvText()` is given (JSON when
 * `json()` is). Named `<panel>-<id>` from where the menu is on the page; put it in the figure.
 */
export function svgMenu({ id, svgEl, csvText, json }) {
  const node = () => (typeof svgEl === 'function' ? svgEl() : svgEl);
  const items = [
    { kind: 'svg', make: () => serializeSvg(node()).text },
    { kind: 'png', make: () => { const s = serializeSvg(node()); return rasterise(s.text, s.width, s.height); } },
  ];
  if (csvText) items.push({ kind: 'csv', make: csvText });
  if (json) items.push({ kind: 'json', make: json });
  const menu = downloadMenu((ext) => fileName(menu, id ?? menu.closest('figure')?.id, ext), items, id);
  return menu;
}
