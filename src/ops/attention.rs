//! Scaled dot-product attention, one head.
//!
//! ```text
//! forward:   S = Q Kᵀ · scale                (scores, before any mask)   Q [Tq, D], K [Tk, D]
//!            S'_ij = −∞ where mask_ij, else S_ij
//!            A = softmax_rows(S')            (weights)                    S, A [Tq, Tk]
//!            O = A V                                                      V [Tk, Dv], O [Tq, Dv]
//! backward:  dA = dO Vᵀ,   dV = Aᵀ dO
//!            dS = A ⊙ (dA − rowsum(dA ⊙ A))  (softmax backward; masked entries have A = 0 → 0)
//!            dQ = dS K · scale,   dK = dSᵀ Q · scale
//! ```
//!
//! `scale` defaults to 1/√D: the dot product of two random D-vectors with unit-variance entries
//! has variance D, and dividing by √D keeps the scores near unit variance so the softmax does
//! not saturate as D grows. Masks are boolean with `true` meaning *blocked*, as the
//! `attn_mask`/`key_padding_mask` of `torch.nn.MultiheadAttention`. When Tq ≠ Tk this is
//! cross-attention (queries from one sequence, keys and values from another). A row whose keys
//! are all blocked gets zero weights and a zero output rather than NaN (see [`super::softmax`]).

use super::{expect_finite, softmax};
use crate::error::{Error, Result};
use crate::kernel::matmul;
use crate::real::Real;
use ndarray::{Array2, ArrayView1, ArrayView2};

/// Everything one head computed; backward needs Q, K, V and A, the page draws all of it.
#[derive(Debug, Clone)]
pub struct AttentionCache<F> {
    /// Queries `[Tq, D]`.
    pub q: Array2<F>,
    /// Keys `[Tk, D]`.
    pub k: Array2<F>,
    /// Values `[Tk, Dv]`.
    pub v: Array2<F>,
    /// Scores Q Kᵀ · scale before masking, `[Tq, Tk]`.
    pub scores: Array2<F>,
    /// Softmax weights after masking, `[Tq, Tk]`; every row sums to 1 (or is all 0 if fully masked).
    pub weights: Array2<F>,
    /// The mask applied (`true` = blocked), if any, `[Tq, Tk]`.
    pub mask: Option<Array2<bool>>,
    /// The factor the scores were multiplied by.
    pub scale: F,
}

/// Gradients of one head.
#[derive(Debug, Clone)]
pub struct AttentionGrads<F> {
    /// `[Tq, D]`
    pub dq: Array2<F>,
    /// `[Tk, D]`
    pub dk: Array2<F>,
    /// `[Tk, Dv]`
    pub dv: Array2<F>,
}

/// The causal mask for `t` positions: position i may look at j ≤ i, so `mask[i][j] = j > i`.
pub fn causal_mask(t: usize) -> Array2<bool> {
    Array2::from_shape_fn((t, t), |(i, j)| j > i)
}

/// Combines an optional `[Tq, Tk]` mask with an optional `[Tk]` key-padding mask (`true` =
/// padding) into one `[Tq, Tk]` mask, or `None` when neither is given.
pub fn combine_masks(
    tq: usize,
    tk: usize,
    mask: Option<ArrayView2<bool>>,
    key_padding: Option<ArrayView1<bool>>,
) -> Result<Option<Array2<bool>>> {
    if let Some(m) = mask {
        if m.dim() != (tq, tk) {
            return Err(Error::shape(format!(
                "attention: mask has shape {:?}, expected [{tq}, {tk}]",
                m.shape()
            )));
        }
    }
    if let Some(p) = key_padding {
        if p.len() != tk {
            return Err(Error::shape(format!(
                "attention: key padding mask has shape {:?}, expected [{tk}]",
                p.shape()
            )));
        }
    }
    Ok(match (mask, key_padding) {
        (None, None) => None,
        _ => Some(Array2::from_shape_fn((tq, tk), |(i, j)| {
            mask.is_some_and(|m| m[[i, j]]) || key_padding.is_some_and(|p| p[j])
        })),
    })
}

/// One head of attention. `scale = None` means 1/√D.
pub fn forward<F: Real>(
    q: ArrayView2<F>,
    k: ArrayView2<F>,
    v: ArrayView2<F>,
    mask: Option<ArrayView2<bool>>,
    scale: Option<F>,
) -> Result<(Array2<F>, AttentionCache<F>)> {
    let (tq, d) = q.dim();
    let (tk, dk) = k.dim();
    if dk != d {
        return Err(Error::shape(format!(
            "attention: q is [{tq}, {d}] but k is [{tk}, {dk}]; their last dimensions must agree"
        )));
    }
    if v.nrows() != tk {
        return Err(Error::shape(format!(
            "attention: k has {tk} rows but v is {:?}; keys and values must pair up",
            v.shape()
        )));
    }
    if d == 0 {
        return Err(Error::shape("attention: q and k have zero columns"));
    }
    if let Some(m) = mask {
        if m.dim() != (tq, tk) {
            return Err(Error::shape(format!(
                "attention: mask has shape {:?}, expected [{tq}, {tk}]",
                m.shape()
            )));
        }
    }
    let scale = scale.unwrap_or_else(|| F::one() / F::of(d as f64).sqrt());
    if !scale.is_finite() {
        return Err(Error::value(format!(
            "attention: scale {scale} is not finite"
        )));
    }
    expect_finite("attention", "q", q)?;
    expect_finite("attention", "k", k)?;
    expect_finite("attention", "v", v)?;
    // Own copies first: the cache keeps them, and the products then read contiguous rows.
    let (q, k, v) = (owned_rows(q), owned_rows(k), owned_rows(v));
    // pass 1: scores
    let scores = matmul(q.view(), k.t()) * scale;
    // pass 2: mask, then softmax (in place on a copy: the cache keeps the raw scores)
    let mut weights = scores.clone();
    if let Some(m) = mask {
        let block = |s: &mut F, &blocked: &bool| {
            if blocked {
                *s = F::neg_infinity()
            }
        };
        match (weights.as_slice_mut(), m.as_slice()) {
            (Some(w), Some(ms)) => w.iter_mut().zip(ms).for_each(|(s, b)| block(s, b)),
            _ => weights.zip_mut_with(&m, block),
        }
    }
    softmax::forward_inplace(&mut weights);
    // pass 3: weighted sum of the values
    let out = matmul(weights.view(), v.view());
    let cache = AttentionCache {
        q,
        k,
        v,
        scores,
        weights,
        mask: mask.map(|m| m.to_owned()),
        scale,
    };
    Ok((out, cache))
}

/// A standard-layout copy of `x`, row by row (a head's columns of a wider array have
/// contiguous rows; ndarray's `to_owned` would walk them element by element).
fn owned_rows<F: Real>(x: ArrayView2<F>) -> Array2<F> {
    let mut data = Vec::with_capacity(x.len());
    for row in x.rows() {
        match row.as_slice() {
            Some(sl) => data.extend_from_slice(sl),
            None => data.extend(row.iter().copied()),
        }
    }
    Array2::from_shape_vec(x.raw_dim(), data).expect("one value per entry")
}

/// Gradients given `dout = ∂L/∂O`, `[Tq, Dv]`.
pub fn backward<F: Real>(
    dout: ArrayView2<F>,
    cache: &AttentionCache<F>,
) -> Result<AttentionGrads<F>> {
    super::expect_shape(
        "attention backward",
        "dout",
        dout.shape(),
        &[cache.q.nrows(), cache.v.ncols()],
    )?;
    // pass 3 was O = A V
    let dweights = matmul(dout, cache.v.t());
    let dv = matmul(cache.weights.t(), dout);
    // pass 2 was A = softmax(mask(S)); blocked entries have A = 0 and so get dS = 0
    let dscores = softmax::backward(dweights.view(), cache.weights.view());
    // pass 1 was S = Q Kᵀ · scale
    let dq = matmul(dscores.view(), cache.k.view()) * cache.scale;
    let dk = matmul(dscores.t(), cache.q.view()) * cache.scale;
    Ok(AttentionGrads { dq, dk, dv })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn equal_keys_give_uniform_weights() {
        // Every key is the same vector, so every score in a row is the same, and softmax of
        // equal numbers is uniform: each of 3 keys gets 1/3, and the output is the mean of V.
        let q = arr2(&[[1.0f64, 2.0], [-3.0, 0.5]]);
        let k = arr2(&[[0.3, 0.7], [0.3, 0.7], [0.3, 0.7]]);
        let v = arr2(&[[3.0, 0.0], [0.0, 3.0], [3.0, 3.0]]);
        let (out, cache) = forward(q.view(), k.view(), v.view(), None, None).unwrap();
        assert!(cache.weights.iter().all(|w| (w - 1.0 / 3.0).abs() < 1e-12));
        assert!(out.iter().all(|o| (o - 2.0).abs() < 1e-12));
    }

    #[test]
    fn ni_shi_shui() {
        // The seed's 你 / 是 / 谁 example with vectors chosen so the weights are easy to check.
        // D = 4, so scale = 1/√4 = 1/2. Take the query of 谁 = [2 ln 4, 0, 0, 0] and keys
        //   你 = [1, 0, 0, 0], 是 = [0, 1, 0, 0], 谁 = [1, 0, 0, 0]
        // Scores: 你 → 2 ln 4 · 1/2 = ln 4, 是 → 0, 谁 → ln 4.
        // exp: 4, 1, 4 → weights 4/9, 1/9, 4/9.
        let l4 = 4f64.ln();
        let q = arr2(&[[2.0 * l4, 0.0, 0.0, 0.0]]);
        let k = arr2(&[
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0],
        ]);
        // Values are one-hot, so the output reads the weights back.
        let v = arr2(&[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        let (out, cache) = forward(q.view(), k.view(), v.view(), None, None).unwrap();
        for (g, w) in cache
            .weights
            .row(0)
            .iter()
            .zip([4.0 / 9.0, 1.0 / 9.0, 4.0 / 9.0])
        {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        assert!((cache.scores[[0, 0]] - l4).abs() < 1e-12);
        assert!((out[[0, 1]] - 1.0 / 9.0).abs() < 1e-12);
    }

    #[test]
    fn causal_mask_zeroes_the_future_and_full_mask_is_defined() {
        // With a causal mask, row 0 can only see key 0: its weight is exactly 1.
        let q = arr2(&[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
        let (out, cache) = forward(
            q.view(),
            q.view(),
            q.view(),
            Some(causal_mask(3).view()),
            None,
        )
        .unwrap();
        assert_eq!(cache.weights[[0, 0]], 1.0);
        for i in 0..3 {
            for j in (i + 1)..3 {
                assert_eq!(cache.weights[[i, j]], 0.0);
            }
        }
        assert_eq!(out.row(0).to_vec(), vec![1.0, 0.0]);
        // Every key blocked: zeros, and zero gradients, never NaN.
        let all = Array2::from_elem((3, 3), true);
        let (out, cache) = forward(q.view(), q.view(), q.view(), Some(all.view()), None).unwrap();
        assert!(out.iter().all(|&o| o == 0.0));
        let g = backward(Array2::ones((3, 2)).view(), &cache).unwrap();
        assert!(g
            .dq
            .iter()
            .chain(g.dk.iter())
            .chain(g.dv.iter())
            .all(|&x| x == 0.0));
    }

    #[test]
    fn bad_input_is_an_error() {
        let q = Array2::<f32>::zeros((2, 4));
        let k = Array2::<f32>::zeros((3, 5));
        assert!(forward(q.view(), k.view(), k.view(), None, None)
            .unwrap_err()
            .message
            .contains("[3, 5]"));
        let mut k = Array2::<f32>::zeros((3, 4));
        k[[1, 1]] = f32::NAN;
        assert!(forward(q.view(), k.view(), k.view(), None, None)
            .unwrap_err()
            .message
            .contains("non-finite"));
    }
}
