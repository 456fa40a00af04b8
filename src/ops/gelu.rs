//! GELU, exact (erf) form, as `torch.nn.GELU()` with `approximate='none'`.
//!
//! ```text
//! forward:   y = x · Φ(x),   Φ(x) = ½ (1 + erf(x / √2))     any shape
//! backward:  dx = dy · (Φ(x) + x · φ(x)),   φ(x) = e^(−x²/2) / √(2π)
//! ```

use crate::real::Real;
use ndarray::{Array2, ArrayView2, Zip};

/// `x · Φ(x)` elementwise.
pub fn forward<F: Real>(x: ArrayView2<F>) -> Array2<F> {
    forward_with_cdf(x).0
}

/// `dy · (Φ(x) + x φ(x))`; the cache is the input x (Φ and φ are computed again).
pub fn backward<F: Real>(dy: ArrayView2<F>, x: ArrayView2<F>) -> Array2<F> {
    let (_, phi, pdf) = forward_with_cdf(x);
    backward_with_cdf(dy, x, phi.view(), pdf.view())
}

/// `x · Φ(x)` plus Φ(x) and φ(x), which backward reuses (no exponential or erf in backward).
pub fn forward_with_cdf<F: Real>(x: ArrayView2<F>) -> (Array2<F>, Array2<F>, Array2<F>) {
    let xs = x.as_standard_layout();
    let flat = xs.as_slice().expect("standard layout");
    let mut phi = Array2::zeros(x.raw_dim());
    let mut pdf = Array2::zeros(x.raw_dim());
    F::gelu_parts(
        flat,
        phi.as_slice_mut().expect("owned"),
        pdf.as_slice_mut().expect("owned"),
    );
    let phis = phi.as_slice().expect("owned");
    let y: Vec<F> = flat.iter().zip(phis).map(|(&v, &p)| v * p).collect();
    let y = Array2::from_shape_vec(x.raw_dim(), y).expect("one value per input");
    (y, phi, pdf)
}

/// [`backward`] with Φ(x) and φ(x) from [`forward_with_cdf`]: `dy · (Φ + x φ)`.
pub fn backward_with_cdf<F: Real>(
    dy: ArrayView2<F>,
    x: ArrayView2<F>,
    phi: ArrayView2<F>,
    pdf: ArrayView2<F>,
) -> Array2<F> {
    if let (Some(g), Some(v), Some(p), Some(q)) =
        (dy.as_slice(), x.as_slice(), phi.as_slice(), pdf.as_slice())
    {
        // (all in standard layout, as from forward_with_cdf: one flat, vectorisable loop)
        let dx: Vec<F> = g
            .iter()
            .zip(v)
            .zip(p.iter().zip(q))
            .map(|((&g, &v), (&p, &q))| g * (p + v * q))
            .collect();
        return Array2::from_shape_vec(x.raw_dim(), dx).expect("one value per input");
    }
    let mut dx = Array2::zeros(x.raw_dim());
    Zip::from(&mut dx)
        .and(&dy)
        .and(&x)
        .and(&phi)
        .and(&pdf)
        .for_each(|d, &g, &v, &p, &q| *d = g * (p + v * q));
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn hand_derived() {
        // GELU(0) = 0 and GELU'(0) = Φ(0) = ½.
        // GELU(1) = Φ(1) = ½(1 + erf(1/√2)) = 0.8413447460685429.
        // GELU'(1) = Φ(1) + φ(1) = 0.8413447460685429 + 0.24197072451914337.
        let x = arr2(&[[0.0f64, 1.0, -1.0]]);
        let y = forward(x.view());
        assert!((y[[0, 0]]).abs() < 1e-15);
        assert!((y[[0, 1]] - 0.841_344_746_068_542_9).abs() < 1e-14);
        // GELU(−1) = −Φ(−1) = −(1 − Φ(1)) = −0.15865525393145707
        assert!((y[[0, 2]] + 0.158_655_253_931_457_07).abs() < 1e-14);
        let d = backward(arr2(&[[1.0, 1.0, 1.0]]).view(), x.view());
        let (y2, phi, pdf) = forward_with_cdf(x.view());
        for (a, b) in y2.iter().zip(y.iter()) {
            assert!((a - b).abs() < 1e-15);
        }
        let d2 = backward_with_cdf(
            arr2(&[[1.0, 1.0, 1.0]]).view(),
            x.view(),
            phi.view(),
            pdf.view(),
        );
        for (a, b) in d2.iter().zip(d.iter()) {
            assert!((a - b).abs() < 1e-15);
        }
        assert!((d[[0, 0]] - 0.5).abs() < 1e-15);
        assert!((d[[0, 1]] - (0.841_344_746_068_542_9 + 0.241_970_724_519_143_37)).abs() < 1e-14);
    }
}
