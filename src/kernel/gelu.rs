//! GELU's two parts, Φ(x) and φ(x), for a whole slice at once (see `crate::ops::gelu`, whose
//! forward needs Φ and whose backward needs both).
//!
//! ```text
//! Φ(x) = ½ (1 + erf(x/√2)),   φ(x) = e^(−x²/2) / √(2π)
//! ```

use super::erf::{erf_abs_f32, erf_f64};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::{
    erf::{ERF_A, ERF_P},
    exp::exp_f32x4,
};

/// Φ and φ in f32, sharing one exponential per element, four lanes at a time on wasm simd128.
pub fn gelu_parts_f32(x: &[f32], cdf: &mut [f32], pdf: &mut [f32]) {
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

/// Φ and φ in f64, by the definitions (erf by [`erf_f64`]).
pub fn gelu_parts_f64(x: &[f64], cdf: &mut [f64], pdf: &mut [f64]) {
    for ((&v, c), p) in x.iter().zip(cdf.iter_mut()).zip(pdf.iter_mut()) {
        *c = 0.5 * (1.0 + erf_f64(v * std::f64::consts::FRAC_1_SQRT_2));
        *p = (-(v * v) * 0.5).exp() * 0.398_942_280_401_432_7;
    }
}
