//! Native reference for `cargo xtask bench`, printed as JSON. Not a test: numbers vary from run
//! to run.
//!
//! - `matmul_gflops`: f32 `matmul` (the engine's entry point, on the path `sgemm` chooses,
//!   `matmul_path`) at n = 32…256;
//! - `paths`: each f32 micro-kernel available on this CPU (`avx2+fma`, `portable`) forced
//!   through `sgemm_on` at n = 64, 128, 256, and its ceiling: the micro-kernel alone on panels
//!   that stay in L1;
//! - `train_step_ms`: one decoder-only training step (median of 50);
//! - `recipes_s`: the wall time of each recipe `cargo xtask pretrain` runs (nothing written),
//!   unless `--no-recipes`.

use lm_playground::kernel::{bench_micro_kernel, matmul, sgemm_on, SgemmPath, Strided};
use lm_playground::kernel::{sgemm_path, MICRO_KERNEL_FLOPS};
use lm_playground::layers::LayerConfig;
use lm_playground::models::decoder_only::{DecoderOnly, DecoderOnlyConfig};
use lm_playground::optim::{Optimizer, OptimizerConfig};
use lm_playground::recipes::{Recipe, TextRecipe};
use lm_playground::rng::Rng;
use ndarray::Array2;
use std::time::Instant;

/// Calls per second of `f`, after 3 warm-up calls, over at least 0.3 s.
fn rate(mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let (mut reps, t0) = (0u64, Instant::now());
    while t0.elapsed().as_secs_f64() < 0.3 {
        f();
        reps += 1;
    }
    reps as f64 / t0.elapsed().as_secs_f64()
}

/// GFLOP/s of `C += A·B` (n × n, row-major) on `path`, best of 3 runs of [`rate`].
fn path_gflops(path: SgemmPath, n: usize) -> f64 {
    let a: Vec<f32> = (0..n * n).map(|i| ((i * 7) % 11) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..n * n).map(|i| ((i * 5) % 13) as f32 * 0.1).collect();
    let mut c = vec![0f32; n * n];
    let (sa, sb) = (Strided::new(&a[..], n, 1), Strided::new(&b[..], n, 1));
    let best = (0..3)
        .map(|_| rate(|| sgemm_on(path, n, n, n, sa, sb, &mut c, n)))
        .fold(0.0, f64::max);
    std::hint::black_box(&c);
    2.0 * (n * n * n) as f64 * best / 1e9
}

/// GFLOP/s of the micro-kernel of `path` alone, from L1 (`None` if it has no native one here).
fn ceiling(path: SgemmPath) -> Option<f64> {
    let reps = 2000;
    let (flops, run): (usize, Box<dyn Fn() -> f32>) = match path {
        SgemmPath::Portable => (
            MICRO_KERNEL_FLOPS,
            Box::new(move || bench_micro_kernel(reps)),
        ),
        #[cfg(target_arch = "x86_64")]
        SgemmPath::Avx2Fma => (
            lm_playground::kernel::AVX2_MICRO_KERNEL_FLOPS,
            Box::new(move || lm_playground::kernel::bench_micro_kernel_avx2(reps).unwrap_or(0.0)),
        ),
        _ => return None,
    };
    let best = (0..3)
        .map(|_| rate(|| _ = std::hint::black_box(run())))
        .fold(0.0, f64::max);
    Some((flops * reps) as f64 * best / 1e9)
}

fn main() {
    let recipes = !std::env::args().any(|a| a == "--no-recipes");
    let mut out = vec![];
    for n in [32usize, 64, 128, 256] {
        let a = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.1);
        let b = Array2::from_shape_fn((n, n), |(i, j)| ((i * 5 + j) % 13) as f32 * 0.1);
        let mut sink = 0.0;
        let per_sec = rate(|| sink += matmul(a.view(), b.view())[[0, 0]]);
        let gflops = 2.0 * (n * n * n) as f64 * per_sec / 1e9;
        out.push(format!("\"{n}\": {gflops:.3}"));
        std::hint::black_box(sink);
    }
    let mut paths = vec![];
    for path in SgemmPath::ALL {
        let Some(ceil) = ceiling(path).filter(|_| path.is_available()) else {
            continue;
        };
        let by_n: Vec<String> = [64, 128, 256]
            .iter()
            .map(|&n| format!("\"{n}\": {:.3}", path_gflops(path, n)))
            .collect();
        paths.push(format!(
            "\"{}\": {{\"gflops\": {{{}}}, \"micro_kernel_gflops\": {ceil:.3}}}",
            path.name(),
            by_n.join(", ")
        ));
    }
    // One training step of the benchmark's model (vocab 64, d 64, 4 heads, 2 layers, FFN 256,
    // seq 32, batch 16, AdamW): median of 50 after 5 warm-up steps.
    let cfg = DecoderOnlyConfig {
        vocab_size: 64,
        layer: LayerConfig {
            d_model: 64,
            n_heads: 4,
            d_ff: 256,
            ..Default::default()
        },
        n_layers: 2,
        max_len: 32,
    };
    let mut m = DecoderOnly::<f32>::new(cfg, 1).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::adamw(1e-3)).unwrap();
    let mut rng = Rng::new(2);
    let ids = Array2::from_shape_fn((16, 32), |_| rng.below(64));
    let targets = ids.mapv(|x| ((x + 1) % 64) as i64);
    let mut times = vec![];
    for i in 0..55 {
        let t0 = Instant::now();
        m.params.zero_grad();
        m.loss_and_backward(ids.view(), targets.view()).unwrap();
        opt.step(&mut m.params).unwrap();
        if i >= 5 {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    // The recipes `cargo xtask pretrain` runs, each timed from its seed to its file's bytes.
    let mut recipe_secs = vec![];
    if recipes {
        for r in Recipe::all() {
            let t0 = Instant::now();
            std::hint::black_box(r.run().unwrap());
            recipe_secs.push(format!("\"{}\": {:.2}", r.name, t0.elapsed().as_secs_f64()));
        }
        for r in TextRecipe::all() {
            let t0 = Instant::now();
            std::hint::black_box(r.run().unwrap());
            recipe_secs.push(format!("\"{}\": {:.2}", r.name, t0.elapsed().as_secs_f64()));
        }
    }
    println!(
        "{{\"matmul_gflops\": {{{}}}, \"matmul_path\": \"{}\", \"paths\": {{{}}}, \"train_step_ms\": {:.3}, \"recipes_s\": {{{}}}}}",
        out.join(", "),
        sgemm_path(),
        paths.join(", "),
        times[times.len() / 2],
        recipe_secs.join(", ")
    );
}
