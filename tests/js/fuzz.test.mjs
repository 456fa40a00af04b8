// The fuzzer (fuzz.mjs) on two fixed seeds: every export called with valid and mutated
// arguments, a few thousand calls in all, and not one failure (no trap, no panic, no call over
// 2 s, no input the contract says must throw accepted, every function and model still usable
// after its errors, wasm memory under 512 MiB). Longer runs: cargo xtask fuzz --calls N --seed S.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz, formatReport, coveredNames } from './fuzz.mjs';
import * as lm from '../../www/pkg/lm_playground.js';

const CALLS = Number(process.env.FUZZ_CALLS ?? 1500);

test('the fuzzer calls every export: each function, and the constructor, methods, getters and static functions of each class', () => {
  // (not fuzzed: the module's own loaders, the start function, and the deliberate panic)
  const skip = ['default', 'initSync', 'start', 'debugPanic'];
  const exported = [];
  for (const [name, v] of Object.entries(lm)) {
    if (skip.includes(name)) continue;
    const isClass = typeof v === 'function' && Object.getOwnPropertyNames(v.prototype ?? {}).includes('free');
    if (!isClass) { exported.push(name); continue; }
    exported.push(`${name}.constructor`);
    for (const m of Object.getOwnPropertyNames(v.prototype)) if (!['constructor', '__destroy_into_raw'].includes(m)) exported.push(`${name}.${m}`);
    for (const m of Object.getOwnPropertyNames(v)) if (!['length', 'name', 'prototype', '__wrap'].includes(m)) exported.push(`${name}.${m}`);
  }
  const covered = coveredNames();
  assert.deepEqual(exported.filter((n) => !covered.has(n)), [], 'exports the fuzzer never calls (add them to API in fuzz.mjs)');
});

for (const seed of [1, 2]) {
  test(`fuzz seed ${seed}: ${CALLS} calls without a failure`, { timeout: 600_000 }, async () => {
    // Stop early on a broken build (hangs cost hangMs each), after 60 failing calls.
    const report = await runFuzz({ seed, calls: CALLS, maxFailures: 60, hangMs: 4000 });
    assert.equal(report.failureTotal, 0, '\n' + formatReport(report, { maxGroups: 60 }));
    assert.equal(report.calls, CALLS);
  });
}
