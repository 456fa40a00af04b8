// Shared helpers for the JS API tests: load the built module and the PyTorch fixtures.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const wasmBytes = readFileSync(root + 'www/pkg/lm_playground_bg.wasm');
export const fixture = (name) => JSON.parse(readFileSync(root + 'tests/fixtures/' + name, 'utf8'));
export const fixtureBytes = (name) => readFileSync(root + 'tests/fixtures/' + name);

/** A fixture tensor {shape, data: number[]} as the API's {shape, data: Float32Array}. */
export const T = (t) => ({ shape: t.shape, data: Float32Array.from(t.data) });
/** A boolean fixture tensor as {shape, data: Uint8Array}. */
export const M = (t) => ({ shape: t.shape, data: Uint8Array.from(t.data.map((b) => (b ? 1 : 0))) });

/** Asserts |got − want| ≤ tol · max(1, max|want|) everywhere, and equal shapes. */
export function close(got, want, tol, what) {
  assert.deepEqual(Array.from(got.shape), want.shape, `${what}: shape`);
  const scale = Math.max(1, ...want.data.map(Math.abs));
  let worst = 0, at = -1;
  for (let i = 0; i < want.data.length; i++) {
    const d = Math.abs(got.data[i] - want.data[i]);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(worst <= tol * scale, `${what}: max |diff| ${worst} at ${at} (got ${got.data[at]}, want ${want.data[at]})`);
}
