//! The exponential of a slice of f32, vectorised on wasm simd128 (softmax and GELU spend most
//! of their time here).
//!
//! ```text
//! e^x = 2ⁿ · eʳ,   n = round(x · log₂e),   r = x − n·ln 2,   |r| ≤ ln 2 / 2
//! eʳ ≈ 1 + r + r²·P(r)    (P of degree 5: the Cephes expf polynomial)
//! ```

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

/// e^x on four lanes: the body of [`exp_slice_f32`] (GELU uses it too).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub(super) fn exp_f32x4(x: core::arch::wasm32::v128) -> core::arch::wasm32::v128 {
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
