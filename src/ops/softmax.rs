//! Softmax over the last axis, row by row.
//!
//! ```text
//! forward:   y_ij = exp(x_ij − m_i) / Σ_j' exp(x_ij' − m_i),   m_i = max_j x_ij     x, y [N, K]
//! backward:  dx_ij = y_ij · (dy_ij − Σ_j' dy_ij' y_ij')
//! ```
//!
//! Subtracting the row maximum changes nothing mathematically and keeps `exp` from
//! overflowing. Entries equal to −∞ (masked) get weight 0. A row that is entirely −∞ (every key
//! masked) has no defined softmax; we return a row of zeros, so that attention over it outputs
//! zeros instead of NaN, and its gradient is zero.

use crate::real::Real;
use ndarray::{Array2, ArrayView2};

/// Row-wise softmax.
pub fn forward<F: Real>(x: ArrayView2<F>) -> Array2<F> {
    let mut y = x.to_owned();
    forward_inplace(&mut y);
    y
}

/// Row-wise softmax in place. Returns each row's log-sum-exp `m_i + ln Σ_j exp(x_ij − m_i)`
/// (−∞ for a fully masked row), which cross-entropy needs and gets here for free.
pub fn forward_inplace<F: Real>(y: &mut Array2<F>) -> Vec<F> {
    let mut lse = Vec::with_capacity(y.nrows());
    for mut row in y.rows_mut() {
        // (a compare, not F::max: in wasm that is a call to libm's NaN-aware fmaxf)
        let m = row
            .iter()
            .fold(F::neg_infinity(), |a, &b| if b > a { b } else { a });
        if m == F::neg_infinity() {
            row.fill(F::zero());
            lse.push(m);
            continue;
        }
        let s = match row.as_slice_mut() {
            Some(sl) => {
                sl.iter_mut().for_each(|v| *v -= m);
                F::exp_slice(sl);
                let s: F = sl.iter().copied().sum();
                sl.iter_mut().for_each(|v| *v /= s);
                s
            }
            None => {
                row.mapv_inplace(|v| (v - m).exp());
                let s: F = row.iter().copied().sum();
                row.mapv_inplace(|v| v / s);
                s
            }
        };
        lse.push(m + s.ln());
    }
    lse
}

/// `dx = y ⊙ (dy − rowsum(dy ⊙ y))`; the cache is the output y.
pub fn backward<F: Real>(dy: ArrayView2<F>, y: ArrayView2<F>) -> Array2<F> {
    let mut dx = dy.to_owned();
    for (mut dxr, yr) in dx.rows_mut().into_iter().zip(y.rows()) {
        match (dxr.as_slice_mut(), yr.as_slice()) {
            (Some(d), Some(p)) => {
                let dot: F = d.iter().zip(p).map(|(&a, &b)| a * b).sum();
                d.iter_mut().zip(p).for_each(|(g, &p)| *g = p * (*g - dot));
            }
            _ => {
                let dot: F = dxr.iter().zip(yr.iter()).map(|(&a, &b)| a * b).sum();
                dxr.zip_mut_with(&yr, |g, &p| *g = p * (*g - dot));
            }
        }
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn hand_derived() {
        // softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6
        let x = arr2(&[
            [0.0f64, 2f64.ln(), 3f64.ln()],
            [5.0, f64::NEG_INFINITY, 5.0],
        ]);
        let y = forward(x.view());
        for (g, w) in y.row(0).iter().zip([1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0]) {
            assert!((g - w).abs() < 1e-15);
        }
        // A masked entry gets 0; the two equal ones split the weight.
        assert_eq!(y.row(1).to_vec(), vec![0.5, 0.0, 0.5]);
        // Large logits do not overflow.
        let big = forward(arr2(&[[1000.0f32, 1000.0]]).view());
        assert_eq!(big.row(0).to_vec(), vec![0.5, 0.5]);
        // All masked: zeros, not NaN.
        let none = forward(arr2(&[[f64::NEG_INFINITY, f64::NEG_INFINITY]]).view());
        assert_eq!(none.row(0).to_vec(), vec![0.0, 0.0]);
        // dy equal on every entry changes nothing after normalisation: dx = 0.
        let dx = backward(
            arr2(&[[1.0, 1.0, 1.0]]).view(),
            y.slice(ndarray::s![0..1, ..]),
        );
        assert!(dx.iter().all(|v| v.abs() < 1e-15));
    }
}
