// The step-through shared by the panels: ← / → buttons, "Step n of N", the list of step
// titles, the current step's explanation, and one section per step. The step lives in the
// app state (and so in the link); the presenter keys (←/→, PageUp/PageDown, space) are
// handled by the app.

import { el } from './dom.js';

export class Stepper {
  /**
   * `keys`: the strings prefix (`att` → `att.s0.title`, `att.s0.text`); `ids`: the id prefix
   * ('' → #step-prev, #step-of, #sec-0; 'learn-' → #learn-step-prev, #learn-sec-0).
   */
  constructor(app, { count, keys, ids }) {
    this.app = app;
    this.count = count;
    this.keys = keys;
    this.ids = ids;
    this.prev = el('button', { type: 'button', class: 'nav-btn', id: `${ids}step-prev`, 'data-i18n-aria': 'step.prev', text: '←' });
    this.next = el('button', { type: 'button', class: 'nav-btn', id: `${ids}step-next`, 'data-i18n-aria': 'step.next', text: '→' });
    this.label = el('span', { class: 'step-of', id: `${ids}step-of` });
    // The step's title, shown beside the arrows when embedded (where the list is hidden).
    this.title = el('span', { class: 'step-title', id: `${ids}step-title` });
    this.list = el('ol', { class: 'step-list' });
    for (let i = 0; i < count; i++) {
      const b = el('button', { type: 'button', 'data-step': String(i), 'data-i18n': `${keys}.s${i}.title` });
      b.addEventListener('click', () => app.setState({ step: i }));
      this.list.append(el('li', {}, b));
    }
    this.prev.addEventListener('click', () => app.moveStep(-1));
    this.next.addEventListener('click', () => app.moveStep(1));
    this.nav = el('nav', { class: 'stepper ui-steps', 'data-i18n-aria': 'step.nav' }, el('div', { class: 'row' }, this.prev, this.label, this.next, this.title), this.list);
    this.text = el('p', { class: 'step-text', id: `${ids}step-text`, 'aria-live': 'polite' });
    this.sections = [];
  }

  /** Section `i`, with its title and explanation; clicking it makes it the current step. */
  section(i) {
    const k = this.keys;
    const s = el('section', { class: 'step-section', id: `${this.ids}sec-${i}`, 'data-step': String(i) }, el('h3', { 'data-i18n': `${k}.s${i}.title` }), el('p', { class: 'explain', 'data-i18n': `${k}.s${i}.text` }));
    s.addEventListener('click', () => this.app.state.step !== i && !this.app.embed && this.app.setState({ step: i }, { render: 'light' }));
    this.sections[i] = s;
    return s;
  }

  /** Marks `step` as current everywhere. */
  render(step) {
    step = Math.min(step, this.count - 1);
    this.sections.forEach((sec, i) => sec.classList.toggle('current', i === step));
    this.list.querySelectorAll('button').forEach((b, i) => b.setAttribute('aria-current', i === step ? 'step' : 'false'));
    // On a narrow screen the list scrolls sideways (style.css): keep the current step in it.
    const li = this.list.children[step];
    if (li && this.list.scrollWidth > this.list.clientWidth) this.list.scrollLeft = li.offsetLeft - this.list.offsetLeft - 8;
    this.label.textContent = this.app.t('step.of', { n: step + 1, total: this.count });
    this.text.textContent = this.app.t(`${this.keys}.s${step}.text`);
    this.title.textContent = this.app.t(`${this.keys}.s${step}.title`);
    this.prev.disabled = step === 0;
    this.next.disabled = step === this.count - 1;
    // When presenting the full page, bring the new step's section into view (and a link's
    // step on opening), once the panel has drawn it: its charts set the page's layout.
    if (this.shown !== step && (this.shown !== undefined || step > 0) && !this.app.embed) {
      queueMicrotask(() => this.reveal());
    }
    this.shown = step;
    return step;
  }

  /**
   * Scrolls the current step's section to just below the stepper (which sticks to the top of
   * the window, style.css), unless the whole section is in view already: the presenter sees
   * both where they are and the step, never a section pinned to the bottom edge.
   */
  reveal() {
    const sec = this.sections[this.shown];
    if (!sec || !sec.offsetParent) return;
    const r = sec.getBoundingClientRect();
    const navBottom = this.nav.getBoundingClientRect().bottom;
    if (r.top >= navBottom && r.bottom <= window.innerHeight) return;
    window.scrollTo({ top: Math.max(0, window.scrollY + r.top - this.nav.offsetHeight - 8), behavior: 'instant' });
  }
}
