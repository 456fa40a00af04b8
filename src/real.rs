//! The float type the engine computes in.
//!
//! Every op is generic over [`Real`], implemented for `f32` (what the page runs) and `f64`
//! (what the gradient checks run, so that central finite differences are accurate to ~1e-8
//! instead of the ~1e-3 that f32 allows). The one place the two differ is the matrix product:
//! `f32` goes to the SIMD kernel on wasm32, `f64` always to the portable one.

use crate::kernel::Strided;
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

    /// `xs[i] = e^xs[i]` for every element (vectorised for f32 on wasm simd128).
    fn exp_slice(xs: &mut [Self]) {
        for x in xs {
            *x = x.exp();
        }
    }

    /// GELU's two parts at every `x`: `cdf[i] = Φ(x[i])` and `pdf[i] = φ(x[i]) = e^(−x²/2)/√(2π)`.
    /// Forward needs Φ and backward both; computing them together shares the exponential
    /// (erf(x/√2) needs e^(−x²/2) too).
    fn gelu_parts(x: &[Self], cdf: &mut [Self], pdf: &mut [Self]) {
        for ((&v, c), p) in x.iter().zip(cdf.iter_mut()).zip(pdf.iter_mut()) {
            *c = Self::of(0.5)
                * (Self::one() + (v * Self::of(std::f64::consts::FRAC_1_SQRT_2)).erf());
            *p = (-(v * v) * Self::of(0.5)).exp() * Self::of(0.398_942_280_401_432_7);
        }
    }

    /// `C[m×n] += A[m×k] · B[k×n]` on strided slices; see [`crate::kernel::gemm_portable`].
    fn gemm(
        m: usize,
        n: usize,
        k: usize,
        a: Strided<Self>,
        b: Strided<Self>,
        c: &mut [Self],
        c_rs: usize,
    );
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
    fn exp_slice(xs: &mut [f32]) {
        exp_slice_f32(xs)
    }
    fn gelu_parts(x: &[f32], cdf: &mut [f32], pdf: &mut [f32]) {
        // e = e^(−x²/2); then erf(|x|/√2) = 1 − poly(t)·e (A&S 7.1.26, whose e^(−u²) with
        // u = |x|/√2 is the same e), Φ = ½(1 ± erf), and φ = e/√(2π). With simd128, four
        // lanes at a time in one pass; the scalar loop is the same formula.
        let n = x.len().min(cdf.len()).min(pdf.len());
        #[allow(unused_mut)]
        let mut done = 0;
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            use core::arch::wasm32::*;
            while done + 4 <= n {
                // SAFETY: done + 4 ≤ n ≤ the length of all three slices.
                unsafe {
                    let v = v128_load(x.as_ptr().add(done) as *const v128);
                    let e = exp_f32x4(f32x4_mul(f32x4_splat(-0.5), f32x4_mul(v, v)));
                    let u = f32x4_mul(f32x4_abs(v), f32x4_splat(std::f32::consts::FRAC_1_SQRT_2));
                    let t = f32x4_div(
                        f32x4_splat(1.0),
                        f32x4_add(f32x4_splat(1.0), f32x4_mul(f32x4_splat(ERF_P), u)),
                    );
                    let mut poly = f32x4_splat(ERF_A[4]);
                    for &a in ERF_A[..4].iter().rev() {
                        poly = f32x4_add(f32x4_mul(poly, t), f32x4_splat(a));
                    }
                    let erf = f32x4_sub(f32x4_splat(1.0), f32x4_mul(f32x4_mul(poly, t), e));
                    // copy x's sign onto erf: erf(−u) = −erf(u)
                    let sign = v128_and(v, f32x4_splat(-0.0));
                    let erf = v128_or(erf, sign);
                    let c = f32x4_mul(f32x4_splat(0.5), f32x4_add(f32x4_splat(1.0), erf));
                    v128_store(cdf.as_mut_ptr().add(done) as *mut v128, c);
                    let p = f32x4_mul(e, f32x4_splat(0.398_942_3));
                    v128_store(pdf.as_mut_ptr().add(done) as *mut v128, p);
                }
                done += 4;
            }
        }
        for ((c, p), &v) in cdf[done..n]
            .iter_mut()
            .zip(pdf[done..n].iter_mut())
            .zip(&x[done..n])
        {
            let e = (-0.5 * v * v).exp();
            let erf = erf_abs_f32(v.abs() * std::f32::consts::FRAC_1_SQRT_2, e);
            *c = 0.5 * (1.0 + if v < 0.0 { -erf } else { erf });
            *p = e * 0.398_942_3;
        }
    }
    fn gemm(
        m: usize,
        n: usize,
        k: usize,
        a: Strided<f32>,
        b: Strided<f32>,
        c: &mut [f32],
        c_rs: usize,
    ) {
        crate::kernel::sgemm(m, n, k, a, b, c, c_rs)
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
    fn gemm(
        m: usize,
        n: usize,
        k: usize,
        a: Strided<f64>,
        b: Strided<f64>,
        c: &mut [f64],
        c_rs: usize,
    ) {
        crate::kernel::gemm_portable(m, n, k, a, b, c, c_rs)
    }
}

/// `xs[i] = e^xs[i]` in f32. On wasm with simd128, four at a time with the Cephes `expf`
/// polynomial (range reduction x = n·ln 2 + r, |r| ≤ ln 2/2; degree-6 polynomial for eʳ;
/// 2ⁿ from the exponent bits), about 1 ulp; wasm has no exp instruction and a libm call per
/// element dominates softmax and GELU otherwise. Elsewhere, `f32::exp`.
pub fn exp_slice_f32(xs: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let mut chunks = xs.chunks_exact_mut(4);
        for c in &mut chunks {
            // SAFETY: each chunk is exactly 4 f32s; unaligned v128 loads/stores are allowed.
            unsafe {
                let x = v128_load(c.as_ptr() as *const v128);
                v128_store(c.as_mut_ptr() as *mut v128, exp_f32x4(x));
            }
        }
        for x in chunks.into_remainder() {
            *x = x.exp();
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    for x in xs {
        *x = x.exp();
    }
}

/// e^x on four lanes: the body of [`exp_slice_f32`].
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn exp_f32x4(x: core::arch::wasm32::v128) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    let lo = f32x4_splat(-87.336_54);
    // Clamp to the finite range (n ∈ [−126, 128]); NaN propagates (pmax/pmin are
    // `x < lo ? lo : x` and `hi < x ? hi : x`, one instruction each in V8, where
    // the IEEE min/max need several).
    let xc = f32x4_pmin(f32x4_pmax(x, lo), f32x4_splat(88.722_84));
    // n = round(x·log₂e), ties to even, by the 1.5·2²³ trick: adding it leaves n in the low
    // mantissa bits, so the same sum gives n as a float and as an integer (two adds instead of
    // nearest + trunc_sat, which V8 expands into several instructions).
    let magic = f32x4_splat(12_582_912.0);
    let t = f32x4_add(f32x4_mul(xc, f32x4_splat(std::f32::consts::LOG2_E)), magic);
    let n = f32x4_sub(t, magic);
    let r = f32x4_add(
        f32x4_sub(xc, f32x4_mul(n, f32x4_splat(0.693_359_4))),
        f32x4_mul(n, f32x4_splat(2.121_944_4e-4)),
    );
    let mut p = f32x4_splat(1.987_569_1e-4);
    for k in [
        1.398_199_9e-3f32,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        p = f32x4_add(f32x4_mul(p, r), f32x4_splat(k));
    }
    let y = f32x4_add(
        f32x4_add(f32x4_mul(p, f32x4_mul(r, r)), r),
        f32x4_splat(1.0),
    );
    // 2ⁿ = 2^a · 2^b with a = n >> 1, b = n − a, so each factor is a normal number
    // even at n = 128 or n = −126.
    let ni = i32x4_sub(t, i32x4_splat(0x4B40_0000));
    let a = i32x4_shr(ni, 1);
    let b = i32x4_sub(ni, a);
    let pow = |e: v128| i32x4_shl(i32x4_add(e, i32x4_splat(127)), 23);
    let mut out = f32x4_mul(f32x4_mul(y, pow(a)), pow(b));
    // Below the clamp the true value underflows: 0 (so e^(−∞) of a mask is 0).
    out = v128_bitselect(f32x4_splat(0.0), out, f32x4_lt(x, lo));
    // Above it, +∞.
    v128_bitselect(
        f32x4_splat(f32::INFINITY),
        out,
        f32x4_gt(x, f32x4_splat(88.722_84)),
    )
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
    let r = erf_abs_f32(ax, (-ax * ax).exp());
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// erf(u) for u ≥ 0 by the formula of [`erf_f32`], given `e` = e^(−u²) (which GELU has already
/// computed, vectorised, for φ).
#[inline(always)]
fn erf_abs_f32(u: f32, e: f32) -> f32 {
    let t = 1.0 / (1.0 + ERF_P * u);
    let poly = t * (ERF_A[0] + t * (ERF_A[1] + t * (ERF_A[2] + t * (ERF_A[3] + t * ERF_A[4]))));
    1.0 - poly * e
}

/// A&S 7.1.26: erf(u) ≈ 1 − t·(a₁ + a₂t + a₃t² + a₄t³ + a₅t⁴)·e^(−u²), t = 1/(1 + p·u).
const ERF_P: f32 = 0.327_591_1;
const ERF_A: [f32; 5] = [
    0.254_829_6,
    -0.284_496_74,
    1.421_413_7,
    -1.453_152,
    1.061_405_4,
];

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
            assert!(
                (erf_f32(x as f32) as f64 - want).abs() < 3e-7,
                "erf_f32({x})"
            );
            assert!(
                (erf_f32(-x as f32) as f64 + want).abs() < 3e-7,
                "erf_f32(-{x})"
            );
        }
    }
}
