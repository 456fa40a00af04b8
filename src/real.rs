//! The float type the engine computes in.
//!
//! Every op is generic over [`Real`], implemented for `f32` (what the page runs) and `f64`
//! (what the gradient checks run, so that central finite differences are accurate to ~1e-8
//! instead of the ~1e-3 that f32 allows). The one place the two differ is the matrix product:
//! `f32` goes to the SIMD kernel on wasm32, `f64` always to the portable one.

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive};
use std::fmt::{Debug, Display};

/// A float the engine can compute in: `f32` or `f64`.
pub trait Real:
    Float
    + FromPrimitive
    + LinalgScalar
    + ScalarOperand
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
    + 'static
{
    /// The safetensors dtype name of this type (`"F32"` or `"F64"`).
    const DTYPE: &'static str;

    /// Converts from f64 (rounding for f32).
    fn of(x: f64) -> Self;
    /// Converts to f64 (exact).
    fn f64(self) -> f64;
    /// The error function, erf(x) = 2/√π ∫₀ˣ e^(−t²) dt, accurate to the type's precision.
    fn erf(self) -> Self;

    /// `C[m×n] += A[m×k] · B[k×n]` on strided slices; see [`crate::kernel::gemm`].
    #[allow(clippy::too_many_arguments)]
    fn gemm(m: usize, n: usize, k: usize, a: &[Self], a_rs: usize, a_cs: usize, b: &[Self], b_rs: usize, b_cs: usize, c: &mut [Self], c_rs: usize);
}

impl Real for f32 {
    const DTYPE: &'static str = "F32";
    fn of(x: f64) -> Self {
        x as f32
    }
    fn f64(self) -> f64 {
        self as f64
    }
    fn erf(self) -> Self {
        erf_f32(self)
    }
    fn gemm(m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, a_cs: usize, b: &[f32], b_rs: usize, b_cs: usize, c: &mut [f32], c_rs: usize) {
        crate::kernel::sgemm(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs)
    }
}

impl Real for f64 {
    const DTYPE: &'static str = "F64";
    fn of(x: f64) -> Self {
        x
    }
    fn f64(self) -> f64 {
        self
    }
    fn erf(self) -> Self {
        erf_f64(self)
    }
    fn gemm(m: usize, n: usize, k: usize, a: &[f64], a_rs: usize, a_cs: usize, b: &[f64], b_rs: usize, b_cs: usize, c: &mut [f64], c_rs: usize) {
        crate::kernel::gemm_portable(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs)
    }
}

/// erf(x) in f32 to 1.5e-7 absolute error (Abramowitz & Stegun 7.1.26), about 10× faster than
/// the series: GELU evaluates it for every hidden unit of every token, forward and backward.
///
/// ```text
/// erf(x) = 1 − (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵) e^(−x²),   t = 1/(1 + p·x),   x ≥ 0
/// p = 0.3275911, a₁ = 0.254829592, a₂ = −0.284496736, a₃ = 1.421413741,
/// a₄ = −1.453152027, a₅ = 1.061405429;   erf(−x) = −erf(x)
/// ```
pub fn erf_f32(x: f32) -> f32 {
    let ax = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * ax);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
    let r = 1.0 - poly * (-ax * ax).exp();
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// erf(x) in f64 to about 1e-15 relative error.
///
/// ```text
/// |x| < 2.5 : Maclaurin series  erf(x) = 2/√π Σₙ (−1)ⁿ x^(2n+1) / (n! (2n+1))
/// |x| ≥ 2.5 : erf(x) = 1 − erfc(x), erfc by its continued fraction
///             erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
/// ```
/// Both branches converge fast in their range; the series needs ~40 terms at |x| = 2.5.
pub fn erf_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    let r = if ax < 2.5 {
        let x2 = ax * ax;
        let mut term = ax; // (−1)ⁿ x^(2n+1) / n!
        let mut sum = ax;
        let mut n = 0.0;
        // At most 60 terms: at |x| = 2.5 the terms fall below 1e-17 · sum after ~45.
        for _ in 0..60 {
            n += 1.0;
            term *= -x2 / n;
            let t = term / (2.0 * n + 1.0);
            sum += t;
            if t.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else if ax > 6.0 {
        1.0
    } else {
        // Continued fraction evaluated bottom-up with 60 levels.
        let mut f = 0.0;
        for k in (1..=60).rev() {
            f = (k as f64 * 0.5) / (ax + f);
        }
        let erfc = (-ax * ax).exp() / std::f64::consts::PI.sqrt() / (ax + f);
        1.0 - erfc
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        // Reference values of erf from Abramowitz & Stegun table 7.1 / high-precision tables.
        let cases = [
            (0.0, 0.0),
            (0.1, 0.112_462_916_018_284_9),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (2.5, 0.999_593_047_982_555),
            (3.0, 0.999_977_909_503_001_4),
            (4.0, 0.999_999_984_582_742_1),
        ];
        for (x, want) in cases {
            let got = erf_f64(x);
            assert!((got - want).abs() < 1e-14, "erf({x}) = {got}, want {want}");
            assert!((erf_f64(-x) + want).abs() < 1e-14, "erf is odd at {x}");
            assert!((erf_f32(x as f32) as f64 - want).abs() < 3e-7, "erf_f32({x})");
            assert!((erf_f32(-x as f32) as f64 + want).abs() < 3e-7, "erf_f32(-{x})");
        }
    }
}
