//! The one matrix-product kernel every op goes through.
//!
//! ```text
//! C[m×n] += A[m×k] · B[k×n]        C row-major; A and B with any row/column strides,
//!                                  so Aᵀ or Bᵀ cost nothing (a transposed view swaps strides)
//! ```
//!
//! Blocked after Goto & van de Geijn ("Anatomy of high-performance matrix multiplication",
//! 2008): k is cut into blocks of `KC`, A's rows into blocks that fit L1 (`A_BLOCK` floats), B
//! into panels `NR` columns wide, and a micro-kernel keeps an `MR × NR` tile of C in registers
//! while it streams one panel of B and `MR` rows of A. B's panel is copied (packed) into
//! `kc × NR` unit-stride rows unless B is already row-major and its panel is short enough to
//! sit in L1 as it is. A is read in place: each of the tile's `MR` rows through its own pointer
//! and stride (a broadcast load per element), which serves `A·B`, `A·Bᵀ` and `Aᵀ·B` alike; only
//! a column-major A whose columns span more than L1 is copied, block by block. The
//! micro-kernel adds straight into C.
//!
//! Two micro-kernels, chosen at compile time:
//! - portable Rust on `[[F; NR]; MR]` accumulators (native builds auto-vectorise it);
//! - wasm `simd128` (`core::arch::wasm32`) for `f32` when built with `+simd128`: each row of
//!   the tile is two `f32x4` accumulators, updated by a `v128.load32_splat` of A times two
//!   loads of B. Measured in V8 on x86-64, 4×8 (8 accumulators) beats 5×8, 6×8, 4×12 and 3×16
//!   (more accumulators spill), and runs at about 33 GFLOP/s from L1 here.
//!
//! [`gemm_naive`] is the obvious triple loop kept beside them as the reference they are tested
//! against (natively here, and in wasm by the JS tests).
//!
//! Beside the product, the other computations whose code differs per float type live here too
//! (the [`Kernels`](crate::real::Kernels) of `f32` and `f64`): the vectorised exponential, erf
//! and the two parts of each form of GELU (erf and tanh).
//!
//! Files: this one has the entry points, the reference and the small-product loop;
//! `blocked.rs` the driver and the packing; `micro.rs` the micro-kernels; `exp.rs`, `erf.rs`
//! and `gelu.rs` the elementwise functions; `real_impls.rs` which of all these `f32` and `f64`
//! run; `self_test.rs` the checks of this build's kernels (natively and in wasm).

mod blocked;
mod erf;
mod exp;
mod gelu;
mod micro;
mod real_impls;
mod self_test;

pub use erf::{erf_f32, erf_f64};
pub use exp::exp_slice_f32;
pub use gelu::{gelu_parts_f32, gelu_parts_f64, gelu_tanh_parts_f32, gelu_tanh_parts_f64};
pub use micro::{bench_micro_kernel, MICRO_KERNEL_FLOPS};
pub use self_test::{self_test, SelfTestReport};

use crate::real::Real;
use blocked::gemm_blocked;
use micro::micro_portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use micro::micro_simd128;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// Rows of the register tile.
pub const MR: usize = 4;
/// Columns of the register tile (two `f32x4` vectors).
pub const NR: usize = 8;
/// Depth of one packed block of k.
const KC: usize = 256;
/// Below this many multiply–adds the blocking costs more than it saves.
const SMALL: usize = 4 * 1024;

/// A matrix operand on a slice: entry `(i, j)` is `data[i·rs + j·cs]`, so a transposed view is
/// the same slice with `rs` and `cs` swapped.
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a, F> {
    /// The values.
    pub data: &'a [F],
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl<'a, F> Strided<'a, F> {
    /// `data` with row stride `rs` and column stride `cs`.
    pub fn new(data: &'a [F], rs: usize, cs: usize) -> Self {
        Strided { data, rs, cs }
    }
}

/// The reference: `C[m×n] += A·B` by the definition, one dot product per entry.
pub fn gemm_naive<F: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: Strided<F>,
    b: Strided<F>,
    c: &mut [F],
    c_rs: usize,
) {
    let (a, a_rs, a_cs) = (a.data, a.rs, a.cs);
    let (b, b_rs, b_cs) = (b.data, b.rs, b.cs);
    for i in 0..m {
        for j in 0..n {
            let mut s = F::zero();
            for p in 0..k {
                s += a[i * a_rs + p * a_cs] * b[p * b_rs + j * b_cs];
            }
            c[i * c_rs + j] += s;
        }
    }
}

/// Small products: i-p-j loop order so the inner loop runs along a row of B and of C.
fn gemm_small<F: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: Strided<F>,
    b: Strided<F>,
    c: &mut [F],
    c_rs: usize,
) {
    let (a, a_rs, a_cs) = (a.data, a.rs, a.cs);
    let (b, b_rs, b_cs) = (b.data, b.rs, b.cs);
    for i in 0..m {
        let crow = &mut c[i * c_rs..i * c_rs + n];
        for p in 0..k {
            let aip = a[i * a_rs + p * a_cs];
            let boff = p * b_rs;
            if b_cs == 1 {
                for (cj, &bj) in crow.iter_mut().zip(&b[boff..boff + n]) {
                    *cj += aip * bj;
                }
            } else {
                for (j, cj) in crow.iter_mut().enumerate() {
                    *cj += aip * b[boff + j * b_cs];
                }
            }
        }
    }
}

/// `C += A·B` with the portable micro-kernel (any [`Real`]).
pub fn gemm_portable<F: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: Strided<F>,
    b: Strided<F>,
    c: &mut [F],
    c_rs: usize,
) {
    gemm_blocked(m, n, k, a, b, c, c_rs, micro_portable::<F>, true)
}

/// `C += A·B` in f32: the simd128 micro-kernel on wasm32 built with `+simd128`, else portable.
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: Strided<f32>,
    b: Strided<f32>,
    c: &mut [f32],
    c_rs: usize,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    gemm_blocked(m, n, k, a, b, c, c_rs, micro_simd128, false);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    gemm_portable(m, n, k, a, b, c, c_rs)
}

/// The `(m, n, k)` every kernel path is checked on against [`gemm_naive`], natively and in wasm
/// ([`self_test`]), each with all four transpose combinations: partial MR and NR tiles, the
/// small-product path, k crossing KC, several blocks of A, packed and in-place B panels, and a
/// column-major A copied block by block.
pub const CHECK_SHAPES: [(usize, usize, usize); 10] = [
    (1, 1, 1),
    (3, 5, 7),
    (4, 8, 1),
    (5, 9, 13),
    (13, 17, 300),
    (130, 7, 33),
    (33, 65, 257),
    (129, 31, 64),
    (64, 64, 64),
    (12, 16, 520),
];

/// Which micro-kernel [`sgemm`] uses in this build: `"simd128"` or `"portable"`.
pub fn sgemm_path() -> &'static str {
    if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        "simd128"
    } else {
        "portable"
    }
}

/// A view as a [`Strided`] operand without copying when it is contiguous in either order (a
/// transposed view is); otherwise `None`.
fn strided<'a, F: Real>(x: &'a ArrayView2<'a, F>) -> Option<Strided<'a, F>> {
    let s = x.strides();
    if s[0] < 0 || s[1] < 0 {
        return None;
    }
    x.as_slice_memory_order()
        .map(|sl| Strided::new(sl, s[0] as usize, s[1] as usize))
}

/// `c += a · b` for ndarray views. `a` is `[m, k]`, `b` is `[k, n]`, `c` is `[m, n]` in standard
/// layout. Transposed views (`x.t()`) are used in place. `f32` goes through [`sgemm`], `f64`
/// through [`gemm_portable`].
///
/// **Panics** if the shapes disagree or `c` is not in standard layout: callers inside the
/// crate check shapes first and report them as [`crate::Error`]s.
pub fn matmul_acc<F: Real>(c: &mut ArrayViewMut2<F>, a: ArrayView2<F>, b: ArrayView2<F>) {
    F::matmul_acc(c, a, b)
}

/// [`matmul_acc`] with the product on slices done by `gemm` (`sgemm` or `gemm_portable`).
fn matmul_acc_by<F: Real>(
    c: &mut ArrayViewMut2<F>,
    a: ArrayView2<F>,
    b: ArrayView2<F>,
    gemm: impl FnOnce(usize, usize, usize, Strided<F>, Strided<F>, &mut [F], usize),
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(
        k == k2 && c.dim() == (m, n),
        "matmul: [{m}, {k}] · [{k2}, {n}] into {:?}",
        c.dim()
    );
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let a_own;
    let a = if strided(&a).is_some() {
        a
    } else {
        a_own = a.as_standard_layout().into_owned();
        a_own.view()
    };
    let b_own;
    let b = if strided(&b).is_some() {
        b
    } else {
        b_own = b.as_standard_layout().into_owned();
        b_own.view()
    };
    let a = strided(&a).expect("contiguous after copy");
    let b = strided(&b).expect("contiguous after copy");
    let csl = c
        .as_slice_mut()
        .expect("matmul: output must be in standard layout");
    gemm(m, n, k, a, b, csl, n);
}

/// `a · b` as a new `[m, n]` array. See [`matmul_acc`].
pub fn matmul<F: Real>(a: ArrayView2<F>, b: ArrayView2<F>) -> Array2<F> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    matmul_acc(&mut c.view_mut(), a, b);
    c
}

#[cfg(test)]
mod tests {
    use super::self_test::{GuardedC, TRANSPOSES};
    use super::*;
    use crate::rng::Rng;

    fn random(rng: &mut Rng, len: usize) -> Vec<f64> {
        (0..len).map(|_| rng.uniform_in(-1.0, 1.0)).collect()
    }

    #[test]
    fn portable_matches_naive_on_odd_shapes_and_strides() {
        let mut rng = Rng::new(3);
        for (s, &(m, n, k)) in CHECK_SHAPES.iter().enumerate() {
            for (t, &(ta, tb)) in TRANSPOSES.iter().enumerate() {
                let a = random(&mut rng, m * k);
                let b = random(&mut rng, k * n);
                // A stored row-major [m,k] or column-major (i.e. as Aᵀ row-major [k,m]).
                let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
                let (b_rs, b_cs) = if tb { (1, k) } else { (n, 1) };
                let c0 = random(&mut rng, m * n);
                // C inside guards, at row stride n or (in the other half of the cases) n + 5.
                let ldc = if (s + t) % 2 == 0 { n + 5 } else { n };
                let (sa, sb) = (
                    Strided::new(&a[..], a_rs, a_cs),
                    Strided::new(&b[..], b_rs, b_cs),
                );
                let mut want = GuardedC::new(&c0, m, n, ldc);
                gemm_naive(m, n, k, sa, sb, want.c_mut(), ldc);
                let mut got = GuardedC::new(&c0, m, n, ldc);
                gemm_portable(m, n, k, sa, sb, got.c_mut(), ldc);
                let c32: Vec<f32> = c0.iter().map(|&x| x as f32).collect();
                let mut got32 = GuardedC::new(&c32, m, n, ldc);
                let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
                let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
                let (sa32, sb32) = (
                    Strided::new(&a32[..], a_rs, a_cs),
                    Strided::new(&b32[..], b_rs, b_cs),
                );
                sgemm(m, n, k, sa32, sb32, got32.c_mut(), ldc);
                let case = format!("{m}x{n}x{k} ta={ta} tb={tb} ldc={ldc}");
                assert!(want.guards_intact(), "naive {case} wrote outside C");
                assert!(got.guards_intact(), "f64 {case} wrote outside C");
                assert!(got32.guards_intact(), "f32 {case} wrote outside C");
                let vals = want.values().zip(got.values()).zip(got32.values());
                for (i, ((want, got), got32)) in vals.enumerate() {
                    assert!(
                        (got - want).abs() < 1e-12,
                        "f64 {case} at {i}: {got} vs {want}"
                    );
                    // f32 with k terms of size ≤ 1: error ≲ k · 2⁻²⁴ · |terms|.
                    let tol = 1e-6 * (k as f64 + 1.0);
                    assert!(
                        (got32 as f64 - want).abs() < tol,
                        "f32 {case} at {i}: {got32} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn matmul_handles_transposed_views() {
        // [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]]; Aᵀ·B = [[26,30],[38,44]].
        let a = ndarray::arr2(&[[1.0, 2.0], [3.0, 4.0]]);
        let b = ndarray::arr2(&[[5.0, 6.0], [7.0, 8.0]]);
        assert_eq!(
            matmul(a.view(), b.view()),
            ndarray::arr2(&[[19.0, 22.0], [43.0, 50.0]])
        );
        assert_eq!(
            matmul(a.t(), b.view()),
            ndarray::arr2(&[[26.0, 30.0], [38.0, 44.0]])
        );
        // A·Bᵀ = [[17,23],[39,53]]
        assert_eq!(
            matmul(a.view(), b.t()),
            ndarray::arr2(&[[17.0, 23.0], [39.0, 53.0]])
        );
        // A non-contiguous view (every other column) is copied, not misread.
        let wide = ndarray::arr2(&[[1.0, 0.0, 2.0], [3.0, 0.0, 4.0]]);
        let sl = wide.slice(ndarray::s![.., ..;2]);
        assert_eq!(
            matmul(sl, b.view()),
            ndarray::arr2(&[[19.0, 22.0], [43.0, 50.0]])
        );
    }
}
