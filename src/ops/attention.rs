//! Scaled dot-product attention, one head.
//!
//! ```text
//! forward:   S = Q Kᵀ · scale                (scores, before bias and mask)  Q [Tq, D], K [Tk, D]
//!            S'_ij = −∞ where mask_ij, else S_ij + bias_ij
//!            A = softmax_rows(S')            (weights)               S, A, bias [Tq, Tk]
//!            O = A V                                                 V [Tk, Dv], O [Tq, Dv]
//! backward:  dA = dO Vᵀ,   dV = Aᵀ dO
//!            dS' = A ⊙ (dA − rowsum(dA ⊙ A)) (softmax backward; blocked entries have A = 0 → 0)
//!            dbias = dS',   dQ = dS' K · scale,   dK = dS'ᵀ Q · scale
//! ```
//!
//! `scale` defaults to 1/√D: the dot product of two random D-vectors with unit-variance entries
//! has variance D, and dividing by √D keeps the scores near unit variance so the softmax does
//! not saturate as D grows. Masks are boolean with `true` meaning *blocked*, as the
//! `attn_mask`/`key_padding_mask` of `torch.nn.MultiheadAttention`. The optional bias is
//! PyTorch's float `attn_mask`: added to the scores of the keys the mask leaves open (ALiBi and
//! T5's relative positions are such biases); a bias of −∞ blocks that key as the mask would,
//! and a bias that is the same along a row changes nothing (softmax ignores a constant). When
//! Tq ≠ Tk this is cross-attention (queries from one sequence, keys and values from another).
//! A row whose keys are all blocked, by the mask or by −∞ in the bias, gets zero weights and a
//! zero output rather than NaN (see [`super::softmax`]).

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
    /// Scores Q Kᵀ · scale before the bias and the mask, `[Tq, Tk]`.
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
    /// `[Tq, Tk]`: ∂L/∂S', the gradient of the scores after the bias and the mask (0 where
    /// blocked), which is also the gradient of an additive bias.
    pub dscores: Array2<F>,
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

/// One head of attention. `mask` (`true` = blocked) and the additive `bias` (finite, or −∞ for
/// blocked) are `[Tq, Tk]`; `scale = None` means 1/√D.
pub fn forward<F: Real>(
    q: ArrayView2<F>,
    k: ArrayView2<F>,
    v: ArrayView2<F>,
    mask: Option<ArrayView2<bool>>,
    bias: Option<ArrayView2<F>>,
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
    if let Some(b) = bias {
        super::expect_shape("attention", "bias", b.shape(), &[tq, tk])?;
        if let Some((i, x)) = b
            .iter()
            .enumerate()
            .find(|(_, x)| !(x.is_finite() || **x == F::neg_infinity()))
        {
            return Err(Error::value(format!(
                "attention: bias has {x} at flat index {i}; it must be finite, or −∞ where blocked"
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
    // pass 2: bias and mask, then softmax (in place on a copy: the cache keeps the raw scores)
    let mut weights = scores.clone();
    if let Some(b) = bias {
        weights += &b;
    }
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
    // pass 2 was A = softmax(S'), S' = mask(S + bias); blocked entries have A = 0 and so get
    // dS' = 0; the bias was added, so its gradient is dS' itself
    let dscores = softmax::backward(dweights.view(), cache.weights.view());
    // pass 1 was S = Q Kᵀ · scale
    let dq = matmul(dscores.view(), cache.k.view()) * cache.scale;
    let dk = matmul(dscores.t(), cache.q.view()) * cache.scale;
    Ok(AttentionGrads {
        dq,
        dk,
        dv,
        dscores,
    })
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
        let (out, cache) = forward(q.view(), k.view(), v.view(), None, None, None).unwrap();
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
        let (out, cache) = forward(q.view(), k.view(), v.view(), None, None, None).unwrap();
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
        let (out, cache) =
            forward(q.view(), q.view(), q.view(), Some(all.view()), None, None).unwrap();
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
    fn a_bias_of_minus_infinity_is_a_mask_and_a_constant_row_bias_changes_nothing() {
        let f = |i: usize, s: f64| ((i as f64 + 1.0) * s).sin();
        let q = Array2::from_shape_fn((3, 4), |(i, j)| f(i * 4 + j, 0.7));
        let k = Array2::from_shape_fn((5, 4), |(i, j)| f(i * 4 + j, 1.3));
        let v = Array2::from_shape_fn((5, 2), |(i, j)| f(i * 2 + j, 0.4));
        let dout = Array2::from_shape_fn((3, 2), |(i, j)| f(i * 2 + j, 2.1));
        let run = |mask: Option<&Array2<bool>>, bias: Option<&Array2<f64>>| {
            let (o, c) = forward(
                q.view(),
                k.view(),
                v.view(),
                mask.map(|m| m.view()),
                bias.map(|b| b.view()),
                None,
            )
            .unwrap();
            let g = backward(dout.view(), &c).unwrap();
            (o, c, g)
        };
        // −∞ on key 1 of row 0 and key 4 of every row, 0 elsewhere, is that mask: the same
        // scores go into the softmax, so everything agrees exactly.
        let mask = Array2::from_shape_fn((3, 5), |(i, j)| (i, j) == (0, 1) || j == 4);
        let bias = mask.mapv(|b| if b { f64::NEG_INFINITY } else { 0.0 });
        let (o1, c1, g1) = run(Some(&mask), None);
        let (o2, c2, g2) = run(None, Some(&bias));
        assert_eq!(
            (&o1, &c1.weights, &c1.scores),
            (&o2, &c2.weights, &c2.scores)
        );
        assert_eq!((&g1.dq, &g1.dk, &g1.dv), (&g2.dq, &g2.dk, &g2.dv));
        assert!(c2.weights.column(4).iter().all(|&w| w == 0.0));
        // The bias's gradient is 0 where it is −∞ (as a mask's would be).
        assert!(g2.dscores.column(4).iter().all(|&d| d == 0.0) && g2.dscores[[0, 1]] == 0.0);
        // A bias that is constant along each row (3, −7, 0.5) changes no weight: softmax
        // ignores a constant; and its gradient sums to 0 along each row for the same reason.
        let rows = Array2::from_shape_fn((3, 5), |(i, _)| [3.0, -7.0, 0.5][i]);
        let (o0, c0, _) = run(None, None);
        let (o3, c3, g3) = run(None, Some(&rows));
        for (a, b) in c0.weights.iter().zip(&c3.weights).chain(o0.iter().zip(&o3)) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
        assert_eq!(c0.scores, c3.scores, "scores are before the bias");
        for r in g3.dscores.rows() {
            assert!(r.sum().abs() < 1e-14);
        }
        // A row whose bias is −∞ everywhere is fully blocked: zero weights, output, gradient.
        let mut none = Array2::zeros((3, 5));
        none.row_mut(2).fill(f64::NEG_INFINITY);
        let (o4, c4, g4) = run(None, Some(&none));
        assert!(c4.weights.row(2).iter().chain(o4.row(2)).all(|&x| x == 0.0));
        assert!(g4.dq.row(2).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn a_bias_can_draw_the_seed_example() {
        // Equal keys give equal scores; a bias of [ln 4, 0, ln 4] then gives exp 4 : 1 : 4,
        // the weights 4/9, 1/9, 4/9 of 你 / 是 / 谁 without touching Q or K.
        let l4 = 4f64.ln();
        let q = arr2(&[[0.3, -1.2]]);
        let k = arr2(&[[1.0, 0.5], [1.0, 0.5], [1.0, 0.5]]);
        let v = Array2::eye(3);
        let bias = arr2(&[[l4, 0.0, l4]]);
        let (out, _) =
            forward(q.view(), k.view(), v.view(), None, Some(bias.view()), None).unwrap();
        for (g, w) in out.iter().zip([4.0 / 9.0, 1.0 / 9.0, 4.0 / 9.0]) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let q = Array2::<f32>::zeros((2, 4));
        let k = Array2::<f32>::zeros((3, 5));
        assert!(forward(q.view(), k.view(), k.view(), None, None, None)
            .unwrap_err()
            .message
            .contains("[3, 5]"));
        let mut k = Array2::<f32>::zeros((3, 4));
        k[[1, 1]] = f32::NAN;
        assert!(forward(q.view(), k.view(), k.view(), None, None, None)
            .unwrap_err()
            .message
            .contains("non-finite"));
        // A bias of the wrong shape, or holding NaN or +∞ (−∞ is allowed: blocked).
        let k = Array2::<f32>::zeros((3, 4));
        let bias = Array2::<f32>::zeros((3, 2));
        let e = forward(q.view(), k.view(), k.view(), None, Some(bias.view()), None).unwrap_err();
        assert!(
            e.message.contains("bias has shape [3, 2], expected [2, 3]"),
            "{e}"
        );
        for bad in [f32::NAN, f32::INFINITY] {
            let mut bias = Array2::<f32>::zeros((2, 3));
            bias[[1, 2]] = bad;
            let e =
                forward(q.view(), k.view(), k.view(), None, Some(bias.view()), None).unwrap_err();
            assert!(e.message.contains("at flat index 5"), "{e}");
        }
    }
}
