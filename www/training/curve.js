// The loss curve as a worker draws it: every loss of the run, and the page's OffscreenCanvas
// (handed over once, see chart.js LossCurve.attach) with how to draw it. Shared by the
// training workers, so that the page's main thread never draws a curve while a model trains.

import { drawLossCurve } from '../pkg/lm_playground.js';
import { TO_WORKER, FROM_WORKER } from './messages.js';

// The engine's charts draw with plotters' canvas backend, which checks that a 2D context is a
// `CanvasRenderingContext2D`; a worker has none, but an OffscreenCanvas's 2D context draws with
// the same methods.
globalThis.CanvasRenderingContext2D ??= globalThis.OffscreenCanvasRenderingContext2D;

export class WorkerCurve {
  /** `post(type, data)` sends the worker's messages to the page. */
  constructor(post) {
    this.post = post;
    this.losses = new Float32Array(1024);
    this.n = 0;
    this.heldout = [];
    this.canvas = null;
    this.spec = null;
  }

  /** Forgets the run (a new model). */
  reset() {
    this.n = 0;
    this.heldout = [];
  }

  push(loss) {
    if (this.n === this.losses.length) {
      const grown = new Float32Array(this.losses.length * 2);
      grown.set(this.losses);
      this.losses = grown;
    }
    this.losses[this.n++] = loss;
  }

  /** A TO_WORKER.CURVE message: the canvas (once) and/or how to draw it. */
  configure(m) {
    if (m.canvas) this.canvas = m.canvas;
    if (m.opts) this.spec = { width: m.width, height: m.height, dpr: m.dpr, opts: m.opts };
  }

  /** Draws the curve, if the page gave a canvas, and posts its layout (for the page's tooltip). */
  draw() {
    const { canvas, spec: c } = this;
    if (!canvas || !c) return;
    const w = Math.round(c.width * c.dpr), h = Math.round(c.height * c.dpr);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const layout = drawLossCurve(canvas, this.losses.subarray(0, this.n), Float32Array.from(this.heldout), { ...c.opts, dpr: c.dpr });
    this.post(FROM_WORKER.CURVE, { layout, steps: this.n });
  }

  /** Answers the page's TO_WORKER.CURVE and TO_WORKER.PIXELS messages; false for any other. */
  handle(m) {
    if (m.type === TO_WORKER.CURVE) {
      this.configure(m);
      this.draw();
    } else if (m.type === TO_WORKER.PIXELS) {
      this.post(FROM_WORKER.PIXELS, { id: m.id, ...this.pixels() });
    } else {
      return false;
    }
    return true;
  }

  /** Non-white pixels of the curve and a digest of them (for the browser tests). */
  pixels() {
    const { canvas } = this;
    if (!canvas || !canvas.width) return { ink: 0, hash: '' };
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0, hash = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) ink++;
      hash = (Math.imul(hash, 31) + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) | 0;
    }
    return { ink, hash: `${canvas.width}x${canvas.height}:${hash}` };
  }
}
