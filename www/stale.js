// What a panel shows while what the user typed cannot be computed (an empty sentence, too many
// tokens, no [MASK]…): the reason, in the page's language, and the results of the last input
// that could be — kept, so the picture does not jump, but greyed out, with a note naming that
// input, so nobody reads them as the answer for what is in the box now. They are inert too:
// not a tab stop, not clickable, not read out (the message says what they are), as WCAG lets
// an inactive part of a page be greyed. One place for every panel (attention, layer,
// encoder–decoder, three families).
//
//   this.stale = new Stale(app, errorElement, () => [resultsElement, …]);
//   try { r = compute(text); this.stale.ok(text); } catch (e) { return this.stale.fail(app.errorText(e)); }

import { el } from './dom.js';

export class Stale {
  /** `error`: the panel's error element (role=alert); `parts()`: the elements that show results. */
  constructor(app, error, parts) {
    this.app = app;
    this.error = error;
    this.parts = parts;
    this.last = null; // the last input that gave results
  }

  /** `input` gave results: they are fresh, the error goes. */
  ok(input) {
    this.last = input;
    this.error.hidden = true;
    this.error.replaceChildren();
    for (const p of this.parts()) {
      p.classList.remove('stale');
      p.removeAttribute('data-stale-for');
      p.inert = false;
    }
  }

  /** The input gave no results: says `msg`, and marks what the last valid input showed as stale. */
  fail(msg) {
    const items = [el('span', { class: 'error-text', text: msg })];
    if (this.last !== null) {
      items.push(el('span', { class: 'stale-note', text: this.app.t('stale.note', { text: this.last }) }));
      for (const p of this.parts()) {
        p.classList.add('stale');
        p.dataset.staleFor = this.last;
        p.inert = true;
      }
    }
    this.error.replaceChildren(...items);
    this.error.hidden = false;
  }
}
