//! Layer normalisation over the last axis, as `torch.nn.LayerNorm(C, eps=1e-5)`.
//!
//! ```text
//! forward:   μ = mean_j x_j,   σ² = mean_j (x_j − μ)²   (biased variance)
//!            x̂ = (x − μ) · rstd,   rstd = 1 / √(σ² + eps)
//!            y = γ ⊙ x̂ + β                               x, y [N, C], γ, β [C]
//! backward:  dβ = Σ_rows dy,   dγ = Σ_rows dy ⊙ x̂
//!            dx̂ = dy ⊙ γ
//!            dx = rstd · (dx̂ − mean_j dx̂ − x̂ ⊙ mean_j (dx̂ ⊙ x̂))
//! ```
//!
//! The last line is the chain rule through μ and σ² collapsed; llm.c's `layernorm_backward`
//! derives it step by step.

use super::expect_shape;
use crate::error::Result;
use crate::real::Real;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

/// The default epsilon, as PyTorch's.
pub const EPS: f64 = 1e-5;

/// What backward needs: x̂ and rstd per row (μ is folded into x̂).
#[derive(Debug, Clone)]
pub struct LayerNormCache<F> {
    /// The normalised input x̂, `[N, C]`.
    pub xhat: Array2<F>,
    /// 1/√(σ² + eps) per row, `[N]`.
    pub rstd: Array1<F>,
}

/// Gradients of a layer norm.
#[derive(Debug, Clone)]
pub struct LayerNormGrads<F> {
    /// `[N, C]`
    pub dx: Array2<F>,
    /// `[C]`
    pub dgamma: Array1<F>,
    /// `[C]`
    pub dbeta: Array1<F>,
}

/// `y = γ ⊙ (x − μ)/√(σ² + eps) + β`, row by row.
pub fn forward<F: Real>(
    x: ArrayView2<F>,
    gamma: ArrayView1<F>,
    beta: ArrayView1<F>,
    eps: f64,
) -> Result<(Array2<F>, LayerNormCache<F>)> {
    let (n, c) = x.dim();
    expect_shape("layer_norm", "weight", gamma.shape(), &[c])?;
    expect_shape("layer_norm", "bias", beta.shape(), &[c])?;
    let inv_c = F::one() / F::of(c as f64);
    let mut xhat = Array2::zeros((n, c));
    let mut rstd = Array1::zeros(n);
    // pass 1: mean and biased variance of each row; pass 2: normalise.
    for ((xr, mut hr), r) in x
        .rows()
        .into_iter()
        .zip(xhat.rows_mut())
        .zip(rstd.iter_mut())
    {
        let mu = xr.sum() * inv_c;
        let var = xr.iter().map(|&v| (v - mu) * (v - mu)).sum::<F>() * inv_c;
        let s = F::one() / (var + F::of(eps)).sqrt();
        *r = s;
        hr.zip_mut_with(&xr, |h, &v| *h = (v - mu) * s);
    }
    // pass 3: scale and shift.
    let y = &xhat * &gamma + beta;
    Ok((y, LayerNormCache { xhat, rstd }))
}

/// Gradients given `dy = ∂L/∂y`.
pub fn backward<F: Real>(
    dy: ArrayView2<F>,
    cache: &LayerNormCache<F>,
    gamma: ArrayView1<F>,
) -> Result<LayerNormGrads<F>> {
    expect_shape("layer_norm backward", "dy", dy.shape(), cache.xhat.shape())?;
    let c = cache.xhat.ncols();
    let inv_c = F::one() / F::of(c as f64);
    // pass 3 was y = γ x̂ + β
    let dbeta = dy.sum_axis(Axis(0));
    let dgamma = (&dy * &cache.xhat).sum_axis(Axis(0));
    // dx starts as dx̂ = dy ⊙ γ and is finished row by row in place
    let mut dx = &dy * &gamma;
    // passes 1–2 were x̂ = (x − μ)·rstd with μ, rstd functions of the whole row
    for ((mut dxr, hr), &r) in dx
        .rows_mut()
        .into_iter()
        .zip(cache.xhat.rows())
        .zip(&cache.rstd)
    {
        let mean_dh = dxr.sum() * inv_c;
        let mean_dh_h = dxr.dot(&hr) * inv_c;
        match (dxr.as_slice_mut(), hr.as_slice()) {
            (Some(d), Some(h)) => d
                .iter_mut()
                .zip(h)
                .for_each(|(g, &h)| *g = r * (*g - mean_dh - h * mean_dh_h)),
            _ => dxr.zip_mut_with(&hr, |g, &h| *g = r * (*g - mean_dh - h * mean_dh_h)),
        }
    }
    Ok(LayerNormGrads { dx, dgamma, dbeta })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2};

    #[test]
    fn hand_derived() {
        // x = [1, 2, 3]: μ = 2, σ² = (1 + 0 + 1)/3 = 2/3, x̂ = [−1, 0, 1]/√(2/3 + eps).
        let x = arr2(&[[1.0f64, 2.0, 3.0]]);
        let (y, cache) = forward(
            x.view(),
            arr1(&[1.0, 1.0, 1.0]).view(),
            arr1(&[0.0, 0.0, 0.0]).view(),
            EPS,
        )
        .unwrap();
        let s = 1.0 / (2.0f64 / 3.0 + EPS).sqrt();
        for (g, w) in y.iter().zip([-s, 0.0, s]) {
            assert!((g - w).abs() < 1e-12);
        }
        // γ = 2, β = 1 scales and shifts: y = 2 x̂ + 1.
        let (y2, _) = forward(
            x.view(),
            arr1(&[2.0, 2.0, 2.0]).view(),
            arr1(&[1.0, 1.0, 1.0]).view(),
            EPS,
        )
        .unwrap();
        assert!((y2[[0, 2]] - (2.0 * s + 1.0)).abs() < 1e-12);
        // A constant upstream gradient does nothing to x: shifting x leaves y unchanged.
        let g = backward(
            arr2(&[[1.0, 1.0, 1.0]]).view(),
            &cache,
            arr1(&[1.0, 1.0, 1.0]).view(),
        )
        .unwrap();
        assert!(g.dx.iter().all(|v| v.abs() < 1e-12));
        assert_eq!(g.dbeta, arr1(&[1.0, 1.0, 1.0]));
    }
}
