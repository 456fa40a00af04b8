// What the backpropagation panel's step-size sentence states, read off the curves its chart
// draws (model.stepSize: this example's loss and the held-out text's after one step of each
// size η). Pure functions, tested in Node (tests/js/blame.test.mjs).

/** How close to its lowest this example's loss must come for the curve to count as "fitted". */
export const FIT_EPS = 0.01;

/**
 * The facts the step-size sentence states, from the curves the chart draws (indices into
 * `size.lrs`, null when there is none):
 * - `fit`: the first η from which this example's loss stays within FIT_EPS of its lowest (at
 *   least 3 larger η, all but at most 2 of them within it too), i.e. a flat bottom;
 * - `jump`: beyond `fit` (or, without one, beyond the lowest point) the η where the example's
 *   loss rises highest above its loss without a step, if it does;
 * - `held`: whether there is a held-out curve; `safe`: the η with the lowest held-out loss;
 * - `bad`: the first η beyond `safe` from which the held-out loss stays above where it started
 *   (+0.01).
 */
export function stepSizeFacts({ lrs, losses, heldout, heldoutLoss: h0, loss: l0, best }) {
  const n = lrs.length;
  const low = (v) => v <= best.loss + FIT_EPS;
  let fit = losses.findIndex(low);
  if (fit < 0 || n - 1 - fit < 3) fit = null;
  else {
    let off = 0;
    for (let i = fit + 1; i < n; i++) if (!low(losses[i])) off++;
    if (off > 2) fit = null;
  }
  let jump = null;
  for (let i = (fit ?? best.index) + 1; i < n; i++) if (!(losses[i] <= l0) && (jump === null || !(losses[i] <= losses[jump]))) jump = i;
  const held = Number.isFinite(h0);
  let safe = null, bad = null;
  if (held) {
    safe = 0;
    for (let i = 1; i < n; i++) if (heldout[i] < heldout[safe]) safe = i;
    for (let i = n - 1; i > safe && !(heldout[i] <= h0 + 0.01); i--) bad = i;
  }
  return { fit, jump, held, safe, bad };
}

/** A learning rate of the chart as the sentence says it: 2 significant digits, no exponent. */
export const etaText = (v) => String(Number(v.toPrecision(2)));

