//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod torch;

use lm_playground::params::ParamStore;
use lm_playground::rng::Rng;
use ndarray::{ArrayD, IxDyn};

/// A tensor of uniform values in [-1, 1).
pub fn rand(rng: &mut Rng, shape: &[usize]) -> ArrayD<f64> {
    let n = shape.iter().product();
    ArrayD::from_shape_vec(
        IxDyn(shape),
        (0..n).map(|_| rng.uniform_in(-1.0, 1.0)).collect(),
    )
    .unwrap()
}

/// Asserts that `got` matches `want` to `tol` relative to the larger of 1 and max |want|,
/// printing the first entries and the worst difference when it does not (llm.c's check_tensor).
pub fn assert_close(what: &str, got: &ArrayD<f64>, want: &ArrayD<f64>, tol: f64) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes differ");
    let scale = want.iter().fold(1e-300f64, |a, b| a.max(b.abs())).max(1.0);
    let (mut worst, mut at) = (0.0f64, 0);
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        let d = (g - w).abs();
        if d > worst || d.is_nan() {
            worst = d;
            at = i;
        }
    }
    if worst.is_nan() || worst > tol * scale {
        let first: Vec<String> = got
            .iter()
            .zip(want.iter())
            .take(5)
            .map(|(g, w)| format!("{g:.6e} vs {w:.6e}"))
            .collect();
        panic!("{what}: max |diff| {worst:.3e} at flat index {at} exceeds {tol:.1e} × {scale:.3e}\n  first entries (got vs want): {}", first.join(", "));
    }
}

/// Central finite differences of `loss` with respect to every entry of `x`.
pub fn numeric_grad(x: &ArrayD<f64>, mut loss: impl FnMut(&ArrayD<f64>) -> f64) -> ArrayD<f64> {
    let h = 1e-6;
    let mut g = ArrayD::zeros(x.raw_dim());
    let mut xp = x.clone();
    for i in 0..x.len() {
        let orig = x.as_slice().unwrap()[i];
        xp.as_slice_mut().unwrap()[i] = orig + h;
        let lp = loss(&xp);
        xp.as_slice_mut().unwrap()[i] = orig - h;
        let lm = loss(&xp);
        xp.as_slice_mut().unwrap()[i] = orig;
        g.as_slice_mut().unwrap()[i] = (lp - lm) / (2.0 * h);
    }
    g
}

/// Σ out · r, the fake loss whose gradient with respect to `out` is `r`.
pub fn dot(out: &ArrayD<f64>, r: &ArrayD<f64>) -> f64 {
    out.iter().zip(r.iter()).map(|(a, b)| a * b).sum()
}

/// Checks every parameter gradient held in `store` (filled by the model's backward for the
/// fake loss) against finite differences of `loss(store)`.
pub fn check_store_grads(
    what: &str,
    store: &ParamStore<f64>,
    mut loss: impl FnMut(&ParamStore<f64>) -> f64,
    tol: f64,
) {
    let names: Vec<String> = store.names().map(String::from).collect();
    let mut probe = store.clone();
    for name in names {
        let value = store.get(&name).unwrap().clone();
        let num = numeric_grad(&value, |v| {
            probe.param_mut(&name).unwrap().value.assign(v);
            loss(&probe)
        });
        probe.param_mut(&name).unwrap().value.assign(&value);
        assert_close(
            &format!("{what}: d/d {name}"),
            store.grad(&name).unwrap(),
            &num,
            tol,
        );
    }
}

/// Finite-difference tolerance: in f64 with h = 1e-6 the central difference is accurate to about
/// 1e-9 relative, so 1e-6 separates a correct backward from a wrong one by orders of magnitude.
pub const FD_TOL: f64 = 1e-6;

/// A dynamic-rank array as a 1-D view (panics on another rank: test inputs are built here).
pub fn d1(a: &ArrayD<f64>) -> ndarray::ArrayView1<'_, f64> {
    a.view().into_dimensionality::<ndarray::Ix1>().unwrap()
}
/// As [`d1`], 2-D.
pub fn d2(a: &ArrayD<f64>) -> ndarray::ArrayView2<'_, f64> {
    a.view().into_dimensionality::<ndarray::Ix2>().unwrap()
}
/// As [`d1`], 3-D.
pub fn d3(a: &ArrayD<f64>) -> ndarray::ArrayView3<'_, f64> {
    a.view().into_dimensionality::<ndarray::Ix3>().unwrap()
}
