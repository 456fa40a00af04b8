//! The error function: a fast f32 approximation (GELU's erf) and an accurate f64 one (what the
//! gradient checks and the PyTorch comparisons in f64 need).

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
pub(super) fn erf_abs_f32(u: f32, e: f32) -> f32 {
    let t = 1.0 / (1.0 + ERF_P * u);
    let poly = t * (ERF_A[0] + t * (ERF_A[1] + t * (ERF_A[2] + t * (ERF_A[3] + t * ERF_A[4]))));
    1.0 - poly * e
}

/// A&S 7.1.26: erf(u) ≈ 1 − t·(a₁ + a₂t + a₃t² + a₄t³ + a₅t⁴)·e^(−u²), t = 1/(1 + p·u).
pub(super) const ERF_P: f32 = 0.327_591_1;
pub(super) const ERF_A: [f32; 5] = [
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
