//! Native reference for `cargo xtask bench`: f32 matmul GFLOP/s of the portable kernel and one
//! decoder-only training step, printed as JSON. Not a test: numbers vary from run to run.

use lm_playground::kernel::matmul;
use lm_playground::layers::LayerConfig;
use lm_playground::models::decoder_only::{DecoderOnly, DecoderOnlyConfig};
use lm_playground::optim::{Optimizer, OptimizerConfig};
use lm_playground::rng::Rng;
use ndarray::Array2;
use std::time::Instant;

fn main() {
    let mut out = vec![];
    for n in [32usize, 64, 128, 256] {
        let a = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.1);
        let b = Array2::from_shape_fn((n, n), |(i, j)| ((i * 5 + j) % 13) as f32 * 0.1);
        let mut sink = 0.0;
        // warm up, then run for at least 0.3 s
        for _ in 0..3 {
            sink += matmul(a.view(), b.view())[[0, 0]];
        }
        let (mut reps, t0) = (0u64, Instant::now());
        while t0.elapsed().as_secs_f64() < 0.3 {
            sink += matmul(a.view(), b.view())[[0, 0]];
            reps += 1;
        }
        let secs = t0.elapsed().as_secs_f64();
        let gflops = 2.0 * (n * n * n) as f64 * reps as f64 / secs / 1e9;
        out.push(format!("\"{n}\": {gflops:.3}"));
        std::hint::black_box(sink);
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
    println!(
        "{{\"matmul_gflops\": {{{}}}, \"train_step_ms\": {:.3}}}",
        out.join(", "),
        times[times.len() / 2]
    );
}
