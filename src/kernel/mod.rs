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
//! Three micro-kernels ([`SgemmPath`]); [`sgemm`], the f32 product every op calls, takes one:
//! - portable Rust on `[[F; NR]; MR]` accumulators (native builds auto-vectorise it; about
//!   35 GFLOP/s at n = 256 on the development machine); `f64` always runs it;
//! - wasm `simd128` (`core::arch::wasm32`) for `f32` when built with `+simd128`, chosen at
//!   compile time: each row of the tile is two `f32x4` accumulators, updated by a
//!   `v128.load32_splat` of A times two loads of B. Measured in V8 on x86-64, 4×8
//!   (8 accumulators) beats 5×8, 6×8, 4×12 and 3×16 (more accumulators spill), and runs at
//!   about 33 GFLOP/s from L1 here. It multiplies and adds separately, as wasm has no fused
//!   multiply–add outside relaxed SIMD, so every browser computes the same bits;
//! - x86-64 AVX2 + FMA (`avx2.rs`, native builds only), chosen at run time: when
//!   `is_x86_feature_detected!` finds both features (asked once per process), `sgemm` runs a
//!   6×16 tile of twelve `__m256` accumulators, one fused multiply–add per term, through the
//!   same driver compiled with those features (about 105 GFLOP/s at n = 256 here, 3× the
//!   portable kernel); otherwise the portable one. FMA rounds once per term instead of twice,
//!   so native f32 results differ from the page's in the last bits (the shipped weights are
//!   trained natively; the page retrains them to within rounding, `tests/js/retrain.test.mjs`).
//!
//! Whichever path runs, an entry of C is summed in a fixed order (k-blocks in order, and within
//! one the terms p = 0, 1, … from zero, then added to C), so the same inputs give the same bits
//! on every call. Products of at most `SMALL` multiply–adds skip the micro-kernels for one
//! plain loop, the same on every path. [`sgemm_on`] runs a given path (the tests and the
//! benchmark compare them in one process); [`sgemm_path`] names the chosen one.
//!
//! [`gemm_naive`] is the obvious triple loop kept beside them as the reference they are tested
//! against (natively here, and in wasm by the JS tests).
//!
//! Beside the product, the other computations whose code differs per float type live here too
//! (the [`Kernels`](crate::real::Kernels) of `f32` and `f64`): the vectorised exponential, erf
//! and the two parts of each form of GELU (erf and tanh).
//!
//! Files: this one has the entry points, the choice of path, the reference and the
//! small-product loop; `blocked.rs` the driver and the packing; `micro.rs` the portable and
//! simd128 micro-kernels; `avx2.rs` the AVX2 + FMA one; `exp.rs`, `erf.rs` and `gelu.rs` the
//! elementwise functions; `real_impls.rs` which of all these `f32` and `f64` run;
//! `self_test.rs` the checks of this build's kernels (natively and in wasm); `tests.rs` the
//! native tests of every path.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod blocked;
mod erf;
mod exp;
mod gelu;
mod micro;
mod real_impls;
mod self_test;

#[cfg(target_arch = "x86_64")]
pub use avx2::{bench_micro_kernel_avx2, AVX2_MICRO_KERNEL_FLOPS, MR_AVX2, NR_AVX2};
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

/// Rows of the register tile of the portable and simd128 micro-kernels.
pub const MR: usize = 4;
/// Columns of the register tile of the portable and simd128 micro-kernels (two `f32x4`
/// vectors).
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
    gemm_blocked::<F, MR, NR>(m, n, k, a, b, c, c_rs, micro_portable::<F>, true)
}

/// The micro-kernels an f32 product can run on; [`SgemmPath::chosen`] is the one [`sgemm`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SgemmPath {
    /// The portable Rust micro-kernel (every build; `f64` always runs it).
    Portable,
    /// wasm `simd128` (wasm32 built with `+simd128`: the page).
    Simd128,
    /// x86-64 AVX2 with fused multiply–add (native builds, when the CPU has both features).
    Avx2Fma,
}

impl SgemmPath {
    /// Every path, available here or not.
    pub const ALL: [SgemmPath; 3] = [SgemmPath::Portable, SgemmPath::Simd128, SgemmPath::Avx2Fma];

    /// Its name: `"portable"`, `"simd128"` or `"avx2+fma"`.
    pub fn name(self) -> &'static str {
        match self {
            SgemmPath::Portable => "portable",
            SgemmPath::Simd128 => "simd128",
            SgemmPath::Avx2Fma => "avx2+fma",
        }
    }

    /// Whether this build on this CPU can run it (AVX2 and FMA are detected once per process).
    pub fn is_available(self) -> bool {
        match self {
            SgemmPath::Portable => true,
            SgemmPath::Simd128 => cfg!(all(target_arch = "wasm32", target_feature = "simd128")),
            #[cfg(target_arch = "x86_64")]
            SgemmPath::Avx2Fma => avx2::detected(),
            #[cfg(not(target_arch = "x86_64"))]
            SgemmPath::Avx2Fma => false,
        }
    }

    /// The path [`sgemm`] takes: simd128 on wasm32 built with `+simd128` (decided at compile
    /// time; wasm never fuses a multiply and an add, so every browser gets the same numbers);
    /// natively AVX2 + FMA when the CPU has both, else portable.
    pub fn chosen() -> SgemmPath {
        if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
            SgemmPath::Simd128
        } else if SgemmPath::Avx2Fma.is_available() {
            SgemmPath::Avx2Fma
        } else {
            SgemmPath::Portable
        }
    }
}

/// `C += A·B` in f32 on the path [`SgemmPath::chosen`] names.
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: Strided<f32>,
    b: Strided<f32>,
    c: &mut [f32],
    c_rs: usize,
) {
    // (wasm32: one path, fixed at compile time, and no `sgemm_on` in the module, so that the
    // page's code is what it was before there was a native choice)
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    gemm_blocked::<f32, MR, NR>(m, n, k, a, b, c, c_rs, micro_simd128, false);
    #[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
    gemm_portable(m, n, k, a, b, c, c_rs);
    #[cfg(not(target_arch = "wasm32"))]
    sgemm_on(SgemmPath::chosen(), m, n, k, a, b, c, c_rs)
}

/// `C += A·B` in f32 on the given path, whatever [`sgemm`] would choose: for the tests and the
/// benchmark, which compare the paths within one process (native builds only).
///
/// **Panics** if the path is not available here ([`SgemmPath::is_available`]): natively,
/// simd128 never is.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::too_many_arguments)]
pub fn sgemm_on(
    path: SgemmPath,
    m: usize,
    n: usize,
    k: usize,
    a: Strided<f32>,
    b: Strided<f32>,
    c: &mut [f32],
    c_rs: usize,
) {
    let done = match path {
        SgemmPath::Portable => {
            gemm_portable(m, n, k, a, b, c, c_rs);
            true
        }
        #[cfg(target_arch = "x86_64")]
        SgemmPath::Avx2Fma => avx2::sgemm_avx2(m, n, k, a, b, c, c_rs),
        _ => false,
    };
    assert!(
        done,
        "sgemm: the {} path is not available here",
        path.name()
    );
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

/// Which micro-kernel [`sgemm`] uses here: `"simd128"`, `"avx2+fma"` or `"portable"`
/// ([`SgemmPath::chosen`]'s name).
pub fn sgemm_path() -> &'static str {
    SgemmPath::chosen().name()
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
mod tests;
