//! GELU's two parts for a whole slice at once (see `crate::ops::gelu`, whose forward needs the
//! first and whose backward needs both): GELU is x·Φ̃(x), and its derivative Φ̃ + x·Φ̃'.
//!
//! ```text
//! exact (erf) form:  Φ̃ = Φ(x) = ½ (1 + erf(x/√2)),   Φ̃' = φ(x) = e^(−x²/2) / √(2π)
//! tanh form:         Φ̃ = ½ (1 + tanh u) = σ(2u),      u = √(2/π) (x + 0.044715 x³)
//!                    Φ̃' = 2 σ(2u) (1 − σ(2u)) · u',   u' = √(2/π) (1 + 3 · 0.044715 x²)
//! ```
//!
//! The tanh form is computed from e = e^(−2|u|) ∈ [0, 1], which never overflows: with
//! r = 1/(1 + e), σ(2u) = r for u ≥ 0 and e·r for u < 0 (no cancellation in the left tail,
//! where ½(1 + tanh u) would subtract two numbers near 1), and σ(2u)(1 − σ(2u)) = e·r².

use super::erf::{erf_abs_f32, erf_f64};
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use super::exp::exp_slice_f32;
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

/// √(2/π), the tanh form's scale.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The tanh form's cubic coefficient.
const KAPPA: f64 = 0.044_715;

/// The tanh form's Φ̃ = σ(2u) and Φ̃' = 2σ(2u)(1 − σ(2u))·u' in f32 (see the module header).
///
/// On wasm simd128 every element, the tail included (padded into one more vector of four),
/// goes through the same four-lane code with the vectorised exponential, so a value's result
/// does not depend on where it sits in the slice; elsewhere one scalar loop with `f32::exp`.
/// The operations run in a fixed order, with no fused multiply–add.
pub fn gelu_tanh_parts_f32(x: &[f32], cdf: &mut [f32], pdf: &mut [f32]) {
    let n = x.len().min(cdf.len()).min(pdf.len());
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let mut done = 0;
        while done + 4 <= n {
            let (c, p) = gelu_tanh_f32x4(&x[done..done + 4]);
            cdf[done..done + 4].copy_from_slice(&c);
            pdf[done..done + 4].copy_from_slice(&p);
            done += 4;
        }
        if done < n {
            let mut pad = [0f32; 4];
            pad[..n - done].copy_from_slice(&x[done..n]);
            let (c, p) = gelu_tanh_f32x4(&pad);
            cdf[done..n].copy_from_slice(&c[..n - done]);
            pdf[done..n].copy_from_slice(&p[..n - done]);
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let (c0, k) = (SQRT_2_OVER_PI as f32, KAPPA as f32);
        // e = e^(−2|u|) for every element first (in pdf), then the rest from it
        for (e, &v) in pdf[..n].iter_mut().zip(&x[..n]) {
            *e = -2.0 * (v.abs() * c0 * (1.0 + k * (v * v)));
        }
        exp_slice_f32(&mut pdf[..n]);
        for ((c, p), &v) in cdf[..n].iter_mut().zip(pdf[..n].iter_mut()).zip(&x[..n]) {
            let e = *p;
            let r = 1.0 / (1.0 + e);
            *c = if v < 0.0 { e * r } else { r };
            let du = c0 * (1.0 + (3.0 * k) * (v * v));
            // e = 0 where |x| is so large that x² (and u') overflow: Φ̃' is 0 there
            *p = if e == 0.0 { 0.0 } else { 2.0 * e * r * r * du };
        }
    }
}

/// [`gelu_tanh_parts_f32`] on four lanes: (Φ̃, Φ̃') of `x[0..4]`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn gelu_tanh_f32x4(x: &[f32]) -> ([f32; 4], [f32; 4]) {
    use core::arch::wasm32::*;
    let (mut c, mut p) = ([0f32; 4], [0f32; 4]);
    // SAFETY: x has at least 4 values (callers pass exactly 4); c and p hold 4.
    unsafe {
        let v = v128_load(x.as_ptr() as *const v128);
        let one = f32x4_splat(1.0);
        let c0 = f32x4_splat(SQRT_2_OVER_PI as f32);
        let x2 = f32x4_mul(v, v);
        let au = f32x4_mul(
            f32x4_mul(f32x4_abs(v), c0),
            f32x4_add(one, f32x4_mul(f32x4_splat(KAPPA as f32), x2)),
        );
        let e = exp_f32x4(f32x4_mul(f32x4_splat(-2.0), au));
        let r = f32x4_div(one, f32x4_add(one, e));
        let s = v128_bitselect(f32x4_mul(e, r), r, f32x4_lt(v, f32x4_splat(0.0)));
        let du = f32x4_mul(
            c0,
            f32x4_add(one, f32x4_mul(f32x4_splat(3.0 * KAPPA as f32), x2)),
        );
        let d = f32x4_mul(
            f32x4_mul(f32x4_mul(f32x4_mul(f32x4_splat(2.0), e), r), r),
            du,
        );
        // e = 0 where x² (and u') overflow: Φ̃' is 0 there, not 0·∞
        let d = v128_and(d, f32x4_ne(e, f32x4_splat(0.0)));
        v128_store(c.as_mut_ptr() as *mut v128, s);
        v128_store(p.as_mut_ptr() as *mut v128, d);
    }
    (c, p)
}

/// The tanh form's Φ̃ and Φ̃' in f64, by the definitions: ½(1 + tanh u) and
/// ½(1 − tanh² u)·u' (the gradient checks and the PyTorch comparisons in f64 use these).
pub fn gelu_tanh_parts_f64(x: &[f64], cdf: &mut [f64], pdf: &mut [f64]) {
    for ((&v, c), p) in x.iter().zip(cdf.iter_mut()).zip(pdf.iter_mut()) {
        let th = (SQRT_2_OVER_PI * (v + KAPPA * v * v * v)).tanh();
        *c = 0.5 * (1.0 + th);
        let du = SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * v * v);
        *p = if th.abs() == 1.0 {
            0.0
        } else {
            0.5 * (1.0 - th * th) * du
        };
    }
}
