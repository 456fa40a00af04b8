//! The kernel's self-test: this build's f32 product, vectorised exponential and tanh-form GELU
//! against slow, obvious references. `cargo test` runs it natively (the AVX2 + FMA path on a CPU
//! with both, and the portable path) and the JS tests run it in wasm through `kernelSelfTest`
//! (the simd128 path), so every path passes the same checks.
//!
//! ```text
//! product   C₀ + A·B by sgemm and by gemm_portable  vs  C₀ + A·B by gemm_naive,
//!           on CHECK_SHAPES × the four transpose combinations, C's row stride n or n + 3;
//!           error = |got − want| / √k (the rounding error of a k-term sum grows like √k)
//! guards    C sits inside a larger buffer: guard values before it, after it and, when the
//!           row stride exceeds n, after each row; a store outside C changes one of them
//! exp       exp_slice_f32 vs f64's exp on [−87, 88.3]: worst relative error;
//!           and the edges: e^(−∞) = 0 exactly, NaN stays NaN, e^100 = +∞, and e^(−100)
//!           exactly 0 on simd128 (which flushes underflow), below f32::MIN_POSITIVE else
//! gelu_tanh gelu_tanh_parts_f32 vs f64's tanh on [−12, 12] and at ±3.4e38: worst error of
//!           Φ̃ = ½(1 + tanh u) and of Φ̃' (absolute), and of GELU's derivative Φ̃ + xΦ̃'
//!           (absolute, relative to max(1, |x|)); Φ̃' exactly 0 where x² overflows
//! ```
//!
//! The guards matter for the simd128 and AVX2 micro-kernels, which store through raw pointers: an
//! out-of-bounds store there is not caught by Rust's bounds checks and, without guards, shows
//! up only if it happens to crash the heap.

use super::{
    exp_slice_f32, gelu_tanh_parts_f32, gemm_naive, gemm_portable, sgemm, sgemm_path, Strided,
    CHECK_SHAPES,
};
use super::{MR, NR};
use crate::real::Real;
use crate::rng::Rng;

/// What [`self_test`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct SelfTestReport {
    /// Which micro-kernel `sgemm` used: `"simd128"`, `"avx2+fma"` or `"portable"`
    /// ([`sgemm_path`]).
    pub path: &'static str,
    /// Worst `|got − want| / √k` over every entry of every case, for both `sgemm` and
    /// `gemm_portable` against `gemm_naive` (NaN if any result was NaN).
    pub max_error: f64,
    /// Number of products checked (each with three kernels).
    pub cases: usize,
    /// Worst relative error of `exp_slice_f32` against f64's `exp`.
    pub exp_max_rel_error: f64,
    /// Whether `exp_slice_f32` gives exactly 0 for −∞, 1 for 0, NaN for NaN, +∞ for 100, and
    /// for −100 exactly 0 (simd128) or libm's subnormal (portable).
    pub exp_edges_ok: bool,
    /// Whether every guard value around and between the rows of C was left untouched.
    pub guards_ok: bool,
    /// Worst error of the tanh form of GELU's two parts and of its derivative against f64
    /// (NaN if any result was NaN or the edges were wrong).
    pub gelu_tanh_max_error: f64,
}

impl SelfTestReport {
    /// Whether every check passed, with the tolerances the tests use: kernel error below
    /// 1e-5, exp's relative error below 3e-7 (about 2.5 ulp), the edges and the guards intact,
    /// tanh-form GELU within 1e-6.
    pub fn passed(&self) -> bool {
        self.max_error < 1e-5
            && self.exp_max_rel_error < 3e-7
            && self.exp_edges_ok
            && self.guards_ok
            && self.gelu_tanh_max_error < 1e-6
    }
}

/// Runs the checks described in the module header; the numbers are reproducible (fixed seed).
pub fn self_test() -> SelfTestReport {
    let mut rng = Rng::new(11);
    let mut random =
        |len: usize| -> Vec<f32> { (0..len).map(|_| rng.uniform_in(-1.0, 1.0) as f32).collect() };
    let mut max_error = 0f64;
    let mut cases = 0;
    let mut guards_ok = true;
    for (s, &(m, n, k)) in CHECK_SHAPES.iter().enumerate() {
        for (t, &(ta, tb)) in TRANSPOSES.iter().enumerate() {
            let (a, b, c0) = (random(m * k), random(k * n), random(m * n));
            // A stored row-major [m, k] or column-major (i.e. as Aᵀ row-major [k, m]); B alike.
            let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
            let (b_rs, b_cs) = if tb { (1, k) } else { (n, 1) };
            let (sa, sb) = (
                Strided::new(&a[..], a_rs, a_cs),
                Strided::new(&b[..], b_rs, b_cs),
            );
            // Every shape runs with C's row stride n in two cases and n + 3 in the other two.
            let ldc = if (s + t) % 2 == 1 { n + 3 } else { n };
            let mut want = GuardedC::new(&c0, m, n, ldc);
            gemm_naive(m, n, k, sa, sb, want.c_mut(), ldc);
            let mut got = GuardedC::new(&c0, m, n, ldc);
            sgemm(m, n, k, sa, sb, got.c_mut(), ldc);
            let mut port = GuardedC::new(&c0, m, n, ldc);
            gemm_portable(m, n, k, sa, sb, port.c_mut(), ldc);
            guards_ok &= want.guards_intact() && got.guards_intact() && port.guards_intact();
            let scale = (k as f64).sqrt();
            for ((w, g), p) in want.values().zip(got.values()).zip(port.values()) {
                let e_simd = (g as f64 - w as f64).abs() / scale;
                let e_port = (p as f64 - w as f64).abs() / scale;
                max_error = worse(worse(max_error, e_simd), e_port);
            }
            cases += 1;
        }
    }
    let (exp_max_rel_error, exp_edges_ok) = check_exp();
    SelfTestReport {
        path: sgemm_path(),
        max_error,
        cases,
        exp_max_rel_error,
        exp_edges_ok,
        guards_ok,
        gelu_tanh_max_error: check_gelu_tanh(),
    }
}

/// A and B as stored: `(A transposed, B transposed)`, all four combinations.
pub(super) const TRANSPOSES: [(bool, bool); 4] =
    [(false, false), (true, false), (false, true), (true, true)];

/// The larger of two errors, NaN if either is (`f64::max` would drop a NaN and let a kernel
/// that produced NaN pass).
fn worse(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// The vectorised exp used by softmax and GELU, against f64's exp: the worst relative error on
/// 12 000 points of [−87, 88.3], and whether the edges are exact (a masked −∞ must give
/// exactly 0, NaN must stay NaN, overflow must give +∞).
fn check_exp() -> (f64, bool) {
    let mut xs: Vec<f32> = (0..12_000).map(|i| -87.0 + i as f32 * 0.01461).collect();
    let want: Vec<f64> = xs.iter().map(|&x| (x as f64).exp()).collect();
    exp_slice_f32(&mut xs);
    let err = xs
        .iter()
        .zip(&want)
        .map(|(&g, &w)| ((g as f64 - w) / w).abs())
        .fold(0.0, worse);
    // (eight values: two full f32x4 lanes on wasm, so every edge goes through the SIMD body)
    let mut edges = [
        f32::NEG_INFINITY,
        -100.0,
        0.0,
        f32::NAN,
        100.0,
        1.0,
        -1.0,
        88.5,
    ];
    exp_slice_f32(&mut edges);
    // e^(−100) ≈ 3.7e-44 is below f32's normal range: the SIMD body flushes everything below
    // e^(−87.34) to exactly 0, libm's expf (the portable path) returns the subnormal.
    let underflow_ok = if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        edges[1] == 0.0
    } else {
        (0.0..f32::MIN_POSITIVE).contains(&edges[1])
    };
    let edges_ok = edges[0] == 0.0
        && underflow_ok
        && edges[2] == 1.0
        && edges[3].is_nan()
        && edges[4] == f32::INFINITY
        && (edges[5] - std::f32::consts::E).abs() < 1e-6;
    (err, edges_ok)
}

/// The tanh form of GELU in f32 against f64's tanh: the worst error of Φ̃, of Φ̃' and of the
/// derivative Φ̃ + xΦ̃' (relative to max(1, |x|)) on 24 002 points of [−12, 12], NaN if the
/// edges are wrong: at ±3.4e38, where x² overflows, Φ̃ is exactly 0 or 1 and Φ̃' exactly 0, and
/// Φ̃(0) = ½. The edges come first and the count is not a multiple of four, so on simd128 the
/// edges go through a full vector and the last point through the padded tail.
fn check_gelu_tanh() -> f64 {
    let mut xs = vec![-3.4e38f32, 3.4e38, 0.0];
    xs.extend((0..24_002).map(|i| -12.0 + i as f32 * 0.001));
    let (mut cdf, mut pdf) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
    gelu_tanh_parts_f32(&xs, &mut cdf, &mut pdf);
    let edges_ok = cdf[..3] == [0.0, 1.0, 0.5] && pdf[..2] == [0.0, 0.0];
    if !edges_ok {
        return f64::NAN;
    }
    let (c0, k) = (0.797_884_560_802_865_4f64, 0.044_715f64);
    let mut err = 0f64;
    for ((&x, &c), &p) in xs.iter().zip(&cdf).zip(&pdf).skip(3) {
        let x = x as f64;
        let th = (c0 * (x + k * x * x * x)).tanh();
        let (want_c, want_p) = (
            0.5 * (1.0 + th),
            0.5 * (1.0 - th * th) * c0 * (1.0 + 3.0 * k * x * x),
        );
        let (c, p) = (c as f64, p as f64);
        let dy = ((c + x * p) - (want_c + x * want_p)).abs() / x.abs().max(1.0);
        err = worse(
            worse(worse(err, (c - want_c).abs()), (p - want_p).abs()),
            dy,
        );
    }
    err
}

/// The value every guard holds: finite, so that a stray `+=` of any nonzero number changes
/// it, and small, so that such a change is not lost to rounding.
const GUARD: f64 = -3.25;
/// Guards before C.
const LEAD: usize = NR;

/// An `m × n` matrix C with row stride `ldc ≥ n` inside a larger buffer of guard values:
/// `LEAD` before the first entry, `ldc − n` after each row, and after the last entry enough
/// for a whole `MR × NR` tile stored past the end (the worst a wrong edge tile can do).
#[derive(Debug, Clone)]
pub(super) struct GuardedC<F> {
    buf: Vec<F>,
    m: usize,
    n: usize,
    ldc: usize,
}

impl<F: Real> GuardedC<F> {
    /// C = `c0` (`m × n`, row-major) at row stride `ldc`, guards everywhere else.
    ///
    /// **Panics** if `c0` does not have `m·n` values or `ldc < n`.
    pub(super) fn new(c0: &[F], m: usize, n: usize, ldc: usize) -> Self {
        assert!(
            c0.len() == m * n && ldc >= n,
            "GuardedC: {m}×{n} at stride {ldc}"
        );
        let trail = MR * ldc + NR;
        let mut buf = vec![F::of(GUARD); LEAD + m * ldc + trail];
        for (i, row) in c0.chunks_exact(n.max(1)).enumerate().take(m) {
            let start = LEAD + i * ldc;
            buf[start..start + n].copy_from_slice(row);
        }
        GuardedC { buf, m, n, ldc }
    }

    /// C as the kernels take it: from its first entry to its last, `(m − 1)·ldc + n` values
    /// (the gaps between rows included, as for any strided C), so that a store past the end
    /// that Rust would not catch lands in a guard.
    pub(super) fn c_mut(&mut self) -> &mut [F] {
        let len = if self.m == 0 {
            0
        } else {
            (self.m - 1) * self.ldc + self.n
        };
        &mut self.buf[LEAD..LEAD + len]
    }

    /// C's `m·n` entries, row by row.
    pub(super) fn values(&self) -> impl Iterator<Item = F> + '_ {
        (0..self.m).flat_map(move |i| {
            let start = LEAD + i * self.ldc;
            self.buf[start..start + self.n].iter().copied()
        })
    }

    /// Whether every value outside C still holds the guard.
    pub(super) fn guards_intact(&self) -> bool {
        let guard = F::of(GUARD);
        self.buf.iter().enumerate().all(|(p, &v)| {
            let inside = p >= LEAD
                && (p - LEAD) / self.ldc.max(1) < self.m
                && (p - LEAD) % self.ldc.max(1) < self.n;
            inside || v == guard
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_self_test_passes_on_this_build() {
        let r = self_test();
        assert_eq!(r.path, sgemm_path());
        if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
            assert_eq!(r.path, "simd128");
        }
        assert_eq!(r.cases, CHECK_SHAPES.len() * TRANSPOSES.len());
        assert!(r.passed(), "{r:?}");
    }

    #[test]
    fn guards_catch_stores_outside_c() {
        // C is 2×3 at stride 5: rows at LEAD and LEAD + 5, gaps of 2 after each row.
        let c0 = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let fresh = GuardedC::new(&c0, 2, 3, 5);
        assert!(fresh.guards_intact());
        assert_eq!(fresh.values().collect::<Vec<_>>(), c0);
        assert_eq!(fresh.clone().c_mut().len(), 5 + 3);
        // Every entry of C may change…
        let mut g = fresh.clone();
        g.c_mut().iter_mut().step_by(5).for_each(|v| *v += 1.0);
        g.c_mut()[7] = 0.0;
        assert!(g.guards_intact());
        // …but not the gap after a row (inside the slice the kernels get), nor what lies
        // before or after C (outside it: here written directly into the buffer).
        for p in [LEAD + 3, LEAD + 4, LEAD - 1, LEAD + 8, fresh.buf.len() - 1] {
            let mut g = fresh.clone();
            g.buf[p] += 1e-3;
            assert!(!g.guards_intact(), "a store at {p} is caught");
        }
    }

    #[test]
    fn a_nan_result_fails_the_error_check() {
        assert!(worse(0.5, f64::NAN).is_nan() && worse(f64::NAN, 0.5).is_nan());
        assert_eq!(worse(0.5, 0.25), 0.5);
    }
}
