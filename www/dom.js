// The DOM helpers every view uses: build an element, fill a <select>, size a canvas for the
// screen's pixel ratio, and the two ways a labelled control is laid out.

/** `<tag attrs…>children…</tag>`; attrs `class` and `text` set className and textContent. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

/** Replaces a <select>'s options with `items` ([value, label] pairs) and selects `value`. */
export function fillSelect(sel, items, value) {
  sel.replaceChildren(...items.map(([v, label]) => el('option', { value: String(v), text: label })));
  sel.value = String(value);
}

/** Sizes a canvas to css × devicePixelRatio; returns the ratio. */
export function sizeCanvas(canvas, cssW, cssH) {
  const dpr = Math.min(4, Math.max(1, globalThis.devicePixelRatio || 1));
  const w = Math.round(cssW * dpr), h = Math.round(cssH * dpr);
  // Resizing reallocates the backing store and relays the page out: only when it changes.
  if (canvas.width !== w || canvas.height !== h) {
    canvas.style.width = `${cssW}px`;
    canvas.style.height = `${cssH}px`;
    canvas.width = w;
    canvas.height = h;
  }
  return dpr;
}

/**
 * Makes each of `elements` whose content overflows its box (it scrolls) reachable by the
 * keyboard, so that what it hides can be scrolled to without a mouse; the others are left
 * out of the tab order.
 */
export function focusScrollers(elements) {
  for (const e of elements) {
    if (e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1) e.tabIndex = 0;
    else e.removeAttribute('tabindex');
  }
}

/**
 * A labelled control, label above: `<div class="field ui-<cls>"><label for=id>…</label>control</div>`.
 * `cls` names it for classroom links (`<cls>_hide=1`); `key` is the label's string; `more`:
 * what follows the control (e.g. its error message).
 */
export function field(cls, id, key, control, ...more) {
  return el('div', { class: `field ui-${cls}` }, el('label', { for: id, 'data-i18n': key }), control, ...more);
}

/** A checkbox with its label after it (see field). */
export function check(cls, id, key, control) {
  return el('div', { class: `field check ui-${cls}` }, control, el('label', { for: id, 'data-i18n': key }));
}
