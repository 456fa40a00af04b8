// The fuzzer (fuzz.mjs) on two fixed seeds: every export called with valid and mutated
// arguments, a few thousand calls in all, and not one failure (no trap, no panic, no call over
// 2 s, no input the contract says must throw accepted, every function and model still usable
// after its errors, wasm memory under 512 MiB). Longer runs: cargo xtask fuzz --calls N --seed S.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz, formatReport } from './fuzz.mjs';

const CALLS = Number(process.env.FUZZ_CALLS ?? 1500);

for (const seed of [1, 2]) {
  test(`fuzz seed ${seed}: ${CALLS} calls without a failure`, { timeout: 600_000 }, async () => {
    // Stop early on a broken build (hangs cost hangMs each), after 60 failing calls.
    const report = await runFuzz({ seed, calls: CALLS, maxFailures: 60, hangMs: 4000 });
    assert.equal(report.failureTotal, 0, '\n' + formatReport(report, { maxGroups: 60 }));
    assert.equal(report.calls, CALLS);
  });
}
