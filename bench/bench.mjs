// `cargo xtask bench`: one run, same machine, same Node process where possible.
//   matmul GFLOP/s (n = 32…256): ours in wasm with simd128, without simd128, native, and
//   @tensorflow/tfjs-backend-wasm (1 thread) as the outside reference;
//   native, each f32 path this CPU has (AVX2 + FMA, portable) at n = 64, 128, 256 beside its
//   micro-kernel's ceiling from L1, and the wall time of each recipe `cargo xtask pretrain` runs
//   (from examples/bench_native.rs);
//   attention forward (d = 64, n = 16, 64, 256) in µs, ours vs tfjs-wasm;
//   one decoder-only training step (vocab 64, d 64, 4 heads, 2 layers, FFN 256, seq 32,
//   batch 16, AdamW), ms, median of 200 after warm-up;
//   the page's wasm module: its size raw and gzipped (level 9, what a server compressing it
//   sends), beside the goal of 250 KB gzipped.
// Prints a table and writes JSON. Ratios are what to read: absolute numbers vary 2–4× here.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';

const simd = await import(process.env.PKG_SIMD);
const nosimd = await import(process.env.PKG_NOSIMD);
simd.initSync({ module: readFileSync(process.env.PKG_SIMD.replace(/\.js$/, '_bg.wasm')) });
nosimd.initSync({ module: readFileSync(process.env.PKG_NOSIMD.replace(/\.js$/, '_bg.wasm')) });
const native = JSON.parse(readFileSync(process.env.NATIVE_JSON, 'utf8'));

// tfjs-backend-wasm, single-threaded, SIMD as it detects.
const require = createRequire(import.meta.url);
const tf = await import('@tensorflow/tfjs-core');
const tfwasm = await import('@tensorflow/tfjs-backend-wasm');
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
tfwasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
await tf.setBackend('wasm');
await tf.ready();

/** Seconds per call of fn, after warm-up, running for at least minSecs. */
function timeIt(fn, minSecs = 0.4) {
  const warm = performance.now();
  while (performance.now() - warm < 150) fn(); // past Node's baseline compiler
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minSecs * 1000) { fn(); reps++; }
  return (performance.now() - t0) / 1000 / reps;
}

/** Seconds per product in benchMatmul, without the cost of building its two inputs (tfjs's
 *  inputs are built once too): (time of 9 products − time of 1) / 8, both after warm-up. */
function perProduct(pkg, n) {
  const t1 = timeIt(() => pkg.benchMatmul(n, 1));
  const t9 = timeIt(() => pkg.benchMatmul(n, 9));
  return (t9 - t1) / 8;
}

const results = { matmul: [], attention: [], train: {} };
for (const n of [32, 64, 128, 256]) {
  const flops = 2 * n ** 3;
  const ours = flops / perProduct(simd, n) / 1e9;
  const noSimd = flops / perProduct(nosimd, n) / 1e9;
  const a = tf.randomUniform([n, n]), b = tf.randomUniform([n, n]);
  // (tf.tidy costs more than the product itself here, so tensors are disposed by hand)
  const tfjs = flops / timeIt(() => { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); }) / 1e9;
  a.dispose(); b.dispose();
  results.matmul.push({ n, ours_simd: ours, ours_nosimd: noSimd, native: native.matmul_gflops[String(n)], tfjs_wasm: tfjs, ratio_vs_tfjs: ours / tfjs });
}
// The ceiling: the micro-kernel alone on panels that stay in L1 (no product can beat it).
const microReps = 20000;
const ceiling = (simd.microKernelFlops() * microReps) / timeIt(() => simd.benchMicroKernel(microReps)) / 1e9;
results.micro_kernel_ceiling_gflops = ceiling;
for (const n of [16, 64, 256]) {
  const ours = timeIt(() => simd.benchAttention(n, 64, 1)) * 1e6;
  const q = tf.randomUniform([n, 64]);
  const tfjs = timeIt(() => {
    const s = tf.matMul(q, q, false, true), sc = tf.div(s, 8), w = tf.softmax(sc), o = tf.matMul(w, q);
    o.dataSync();
    for (const t of [s, sc, w, o]) t.dispose();
  }) * 1e6;
  q.dispose();
  results.attention.push({ n, d: 64, ours_us: ours, tfjs_wasm_us: tfjs, speedup_vs_tfjs: tfjs / ours });
}
function trainStepMs(pkg) {
  const m = new pkg.Model({ vocabSize: 64, dModel: 64, nHeads: 4, nLayers: 2, dFf: 256, maxLen: 32, batchSize: 16, optimizer: { kind: 'adamw', lr: 1e-3 }, seed: 1 });
  const ids = new Float32Array(16 * 32).map((_, i) => (i * 7) % 64);
  const batch = { ids: { shape: [16, 32], data: ids }, targets: { shape: [16, 32], data: ids.map((x) => (x + 1) % 64) } };
  for (let i = 0; i < 20; i++) m.trainStep(batch);
  const times = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    m.trainStep(batch);
    times.push(performance.now() - t0);
  }
  m.free();
  times.sort((a, b) => a - b);
  return times[100];
}
const wasmBytes = readFileSync(process.env.PKG_SIMD.replace(/\.js$/, '_bg.wasm'));
results.module = { raw_bytes: wasmBytes.length, gzip9_bytes: gzipSync(wasmBytes, { level: 9 }).length, goal_gzip_bytes: 250 * 1024 };
results.train = { ms_simd: trainStepMs(simd), ms_nosimd: trainStepMs(nosimd), ms_native: native.train_step_ms, pytorch_cpu_1thread_reference_ms: 34, goal_ms: 17 };

const f = (x, d = 1) => x.toFixed(d).padStart(8);
console.log('\nmatmul, GFLOP/s (f32, one thread)');
console.log('     n     simd  no-simd   native  tfjs-wasm  ours/tfjs');
for (const r of results.matmul) console.log(`${String(r.n).padStart(6)} ${f(r.ours_simd)} ${f(r.ours_nosimd)} ${f(r.native)} ${f(r.tfjs_wasm)}   ${f(r.ratio_vs_tfjs, 2)}`);
const big = results.matmul[results.matmul.length - 1];
console.log(`micro-kernel alone, from L1 (the ceiling of any product here): ${ceiling.toFixed(1)} GFLOP/s = ${(ceiling / big.tfjs_wasm).toFixed(2)}× tfjs-wasm at n = ${big.n}`);
console.log('\nattention forward, one head, d = 64, µs');
console.log('     n     ours  tfjs-wasm  tfjs/ours');
for (const r of results.attention) console.log(`${String(r.n).padStart(6)} ${f(r.ours_us)} ${f(r.tfjs_wasm_us)}   ${f(r.speedup_vs_tfjs, 2)}`);
console.log(`\nnative f32 product by path (the engine's native path: ${native.matmul_path}), GFLOP/s`);
const paths = Object.entries(native.paths);
const portable = native.paths.portable;
console.log('  path          n = 64   n = 128  n = 256   ceiling (micro-kernel from L1)');
for (const [name, p] of paths) {
  console.log(`  ${name.padEnd(10)} ${f(p.gflops['64'])} ${f(p.gflops['128'])} ${f(p.gflops['256'])}  ${f(p.micro_kernel_gflops)}`);
}
for (const [name, p] of paths) {
  if (name === 'portable') continue;
  const r = (n) => (p.gflops[n] / portable.gflops[n]).toFixed(2);
  console.log(`  ${name} / portable: ${r('64')}× / ${r('128')}× / ${r('256')}× at n = 64 / 128 / 256`);
}
results.native_paths = native.paths;
results.native_matmul_path = native.matmul_path;
results.recipes_s = native.recipes_s;
const recipes = Object.entries(native.recipes_s);
if (recipes.length) {
  const total = recipes.reduce((s, [, v]) => s + v, 0);
  console.log(`\nrecipes (cargo xtask pretrain, native, ${native.matmul_path}), seconds each: ${recipes.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; ${total.toFixed(1)} s in all`);
}
const t = results.train;
console.log(`\ntraining step (vocab 64, d 64, 4 heads, 2 layers, FFN 256, seq 32, batch 16, AdamW), median of 200:`);
console.log(`  wasm simd ${t.ms_simd.toFixed(2)} ms, wasm no-simd ${t.ms_nosimd.toFixed(2)} ms, native ${t.ms_native.toFixed(2)} ms (goal ≤ ${t.goal_ms} ms; PyTorch CPU 1 thread ≈ ${t.pytorch_cpu_1thread_reference_ms} ms)`);
const kb = (b) => `${(b / 1024).toFixed(0)} KB`;
console.log(`\nthe wasm module (www/pkg/lm_playground_bg.wasm): ${kb(results.module.raw_bytes)} raw, ${kb(results.module.gzip9_bytes)} gzipped (level 9; goal ≤ ${kb(results.module.goal_gzip_bytes)})`);
results.meta = { node: process.version, date: new Date().toISOString(), tfjs_backend: tf.getBackend() };
writeFileSync(process.env.OUT_JSON, JSON.stringify(results, null, 2));
console.log(`\nwrote ${process.env.OUT_JSON}`);
