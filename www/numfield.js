// A number field checked against the range the link allows (state.js PROPS): a valid value
// goes to the state; anything else — empty, not a number, out of range, not a whole number —
// stays in the field as typed, marked invalid (aria-invalid, a message under it in the page's
// language naming the allowed range), and the state keeps its last valid value.
//
//   this.lr = new NumberField(app, 'learn-lr', 'lr', (v) => app.setState({ lr: v }));
//   field('lr', 'learn-lr', 'learn.lr', this.lr.input, this.lr.message)
//   render: this.lr.show(state.lr)   // leaves the field alone while it holds invalid text

import { el } from './dom.js';
import { PROPS_BY_KEY } from './state.js';

/** How a range bound is written (JavaScript writes 0.00001 as it is, not as 1e-5). */
const bound = (x) => String(x);

/**
 * Checks `raw` (a field's text) against the link's property `key`: {value} when it is valid,
 * else {error: {key, vars}} (a string key of strings.js and its variables).
 */
export function checkNumber(key, raw) {
  const p = PROPS_BY_KEY[key];
  const vars = { min: bound(p.min), max: bound(p.max) };
  const msg = p.type === 'int' ? 'input.int' : 'input.number';
  const text = String(raw ?? '').trim();
  const x = text === '' ? NaN : Number(text);
  if (!Number.isFinite(x) || (p.type === 'int' && !Number.isInteger(x)) || x < p.min || x > p.max) return { error: { key: msg, vars } };
  return { value: x + 0 };
}

export class NumberField {
  /**
   * `id`: the input's id; `key`: the link's property whose range applies; `commit(v)`: what a
   * valid value does; `attrs`: more attributes of the input; `skip(raw)`: true when the text
   * is to be left alone without a message (e.g. an empty seed where the seed does not apply).
   */
  constructor(app, id, key, commit, { attrs = {}, skip = null } = {}) {
    const p = PROPS_BY_KEY[key];
    this.app = app;
    this.key = key;
    this.invalid = false;
    this.input = el('input', { id, type: 'number', min: bound(p.min), max: bound(p.max), step: p.type === 'int' ? '1' : 'any', 'aria-describedby': `${id}-error`, ...attrs });
    this.message = el('p', { class: 'field-error', id: `${id}-error`, role: 'alert', hidden: '' });
    this.input.addEventListener('change', () => {
      // A number input whose text is not a number reads as '' (badInput): that is an error too.
      const raw = this.input.validity?.badInput ? 'x' : this.input.value;
      if (skip?.(raw)) return this.mark(null);
      const r = checkNumber(key, raw);
      if (r.error) r.error.vars.used = this.shown || '—';
      this.mark(r.error ?? null);
      if (r.error) return;
      this.shown = String(r.value);
      commit(r.value);
    });
  }

  /** Marks the field invalid with the message `error` ({key, vars}), or clears it (null). */
  mark(error) {
    this.invalid = !!error;
    this.input.toggleAttribute('aria-invalid', this.invalid);
    if (this.invalid) this.input.setAttribute('aria-invalid', 'true');
    this.message.hidden = !this.invalid;
    if (error) {
      // translated again by the page at every render (app.js translateDom)
      this.message.dataset.i18n = error.key;
      this.message.dataset.i18nVars = JSON.stringify(error.vars);
      this.message.textContent = this.app.t(error.key, error.vars);
    } else {
      delete this.message.dataset.i18n;
      delete this.message.dataset.i18nVars;
      this.message.textContent = '';
    }
  }

  /**
   * Shows the state's `value`, unless the field holds text being typed, or invalid text not
   * yet corrected while the state still has the value it had then (a value set from elsewhere
   * — a button, a new link — replaces the invalid text).
   */
  show(value) {
    const text = value === '' || value === null || value === undefined ? '' : String(value);
    if (this.invalid && text === this.shown) return;
    if (this.invalid) this.mark(null);
    this.shown = text;
    if (document.activeElement !== this.input) this.input.value = text;
  }
}
