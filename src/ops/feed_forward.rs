//! The position-wise feed-forward block of a transformer layer.
//!
//! ```text
//! forward:   h = x W₁ᵀ + b₁          linear1.weight [F, C], linear1.bias [F], h [N, F]
//!            a = act(h)              ReLU or GELU (erf or tanh form)
//!            y = a W₂ᵀ + b₂          linear2.weight [C, F], linear2.bias [C], y [N, C]
//! backward:  the three steps in reverse (linear, activation, linear).
//! ```
//!
//! Attention mixes information across positions; this block then transforms each position on
//! its own, with the same weights everywhere, widening to F (usually 4C) and back.

use super::{linear, Activation};
use crate::error::Result;
use crate::real::Real;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// The four parameter tensors.
#[derive(Debug, Clone, Copy)]
pub struct FfnParams<'a, F> {
    /// `[F, C]`
    pub w1: ArrayView2<'a, F>,
    /// `[F]`
    pub b1: ArrayView1<'a, F>,
    /// `[C, F]`
    pub w2: ArrayView2<'a, F>,
    /// `[C]`
    pub b2: ArrayView1<'a, F>,
}

/// What backward needs: the input, the pre-activation h and the activation a.
#[derive(Debug, Clone)]
pub struct FfnCache<F> {
    /// Input `[N, C]`.
    pub x: Array2<F>,
    /// Pre-activation `[N, F]`.
    pub h: Array2<F>,
    /// Activation output `[N, F]`.
    pub a: Array2<F>,
    /// Which activation was used.
    pub activation: Activation,
    /// Φ̃(h) and Φ̃'(h) when the activation is a GELU (reused by backward; see
    /// [`super::gelu::forward_with_cdf`]).
    pub cdf: Option<(Array2<F>, Array2<F>)>,
}

/// Gradients of the block.
#[derive(Debug, Clone)]
pub struct FfnGrads<F> {
    /// `[N, C]`
    pub dx: Array2<F>,
    /// `[F, C]`
    pub dw1: Array2<F>,
    /// `[F]`
    pub db1: Array1<F>,
    /// `[C, F]`
    pub dw2: Array2<F>,
    /// `[C]`
    pub db2: Array1<F>,
}

/// `y = act(x W₁ᵀ + b₁) W₂ᵀ + b₂`.
pub fn forward<F: Real>(
    x: ArrayView2<F>,
    p: &FfnParams<F>,
    activation: Activation,
) -> Result<(Array2<F>, FfnCache<F>)> {
    // pass 1: widen
    let h = linear::apply(x, p.w1, Some(p.b1))?;
    // pass 2: activation (for GELU keep Φ̃(h) and Φ̃'(h) for backward)
    let (a, cdf) = match activation.gelu_form() {
        Some(form) => {
            let (a, cdf, pdf) = super::gelu::forward_with_cdf(h.view(), form);
            (a, Some((cdf, pdf)))
        }
        None => (activation.forward(h.view()), None),
    };
    // pass 3: narrow back
    let y = linear::apply(a.view(), p.w2, Some(p.b2))?;
    Ok((
        y,
        FfnCache {
            x: x.to_owned(),
            h,
            a,
            activation,
            cdf,
        },
    ))
}

/// Gradients given `dy`, `[N, C]`.
pub fn backward<F: Real>(
    dy: ArrayView2<F>,
    cache: &FfnCache<F>,
    p: &FfnParams<F>,
) -> Result<FfnGrads<F>> {
    // pass 3 was y = a W₂ᵀ + b₂
    let g2 = linear::backward_from_input(dy, cache.a.view(), p.w2, true)?;
    // pass 2 was a = act(h)
    let dh = match &cache.cdf {
        Some((cdf, pdf)) => {
            super::gelu::backward_with_cdf(g2.dx.view(), cache.h.view(), cdf.view(), pdf.view())
        }
        None => cache.activation.backward(g2.dx.view(), cache.h.view()),
    };
    // pass 1 was h = x W₁ᵀ + b₁
    let g1 = linear::backward_from_input(dh.view(), cache.x.view(), p.w1, true)?;
    Ok(FfnGrads {
        dx: g1.dx,
        dw1: g1.dw,
        db1: g1.db.expect("bias"),
        dw2: g2.dw,
        db2: g2.db.expect("bias"),
    })
}
