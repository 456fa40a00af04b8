//! Multi-head attention, as `torch.nn.MultiheadAttention(C, H, batch_first=True, bias=True)`.
//!
//! ```text
//! in_proj_weight [3C, C] = [W_q; W_k; W_v] stacked by rows,  in_proj_bias [3C] = [b_q; b_k; b_v]
//! Q = query W_qᵀ + b_q     [B, Tq, C]
//! K = key   W_kᵀ + b_k     [B, Tk, C]
//! V = value W_vᵀ + b_v     [B, Tk, C]
//! head h (D = C / H) uses columns h·D … (h+1)·D − 1 of Q, K and V:
//!   O_h = attention(Q_h, K_h, V_h, mask, bias)               [B, Tq, D]
//! concat = [O_0 | O_1 | … | O_{H−1}]                         [B, Tq, C]   (H · D = C)
//! out = concat W_oᵀ + b_o      out_proj.weight [C, C], out_proj.bias [C]
//! ```
//!
//! Self-attention passes the same tensor as query, key and value; cross-attention (the
//! decoder's encoder–decoder attention) passes the decoder's states as query and the encoder's
//! output ("memory") as key and value, so Tq ≠ Tk in general. Backward returns the three input
//! gradients separately. [`forward_self`] is self-attention with one input: it projects
//! `[Q | K | V] = x · in_proj_weightᵀ + in_proj_bias` in one product (`[B·T, 3C]`), and its
//! backward returns the one input gradient `dx = [dQ | dK | dV] · in_proj_weight`, which is the
//! sum of the three.
//!
//! Each head sees only its D-column slice, so the heads can attend to different things; the
//! output projection then mixes what they found.
//!
//! Masks and bias, as `attn_mask` and `key_padding_mask` of `nn.MultiheadAttention`: a boolean
//! `attn_mask` `[Tq, Tk]` and `key_padding_mask` `[B, Tk]` (`true` = blocked, or'ed together),
//! and an additive float bias (PyTorch's float `attn_mask`) `[1, Tq, Tk]`, shared by every batch
//! item and head, or `[B·H, Tq, Tk]`, one per batch item b and head h at index b·H + h, added to
//! the scores the masks leave open (see [`attention`]).

use super::attention::{self, AttentionCache};
use super::linear;
use crate::error::{Error, Result};
use crate::real::Real;
use ndarray::{s, Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

/// The four parameter tensors, in PyTorch's layout.
#[derive(Debug, Clone, Copy)]
pub struct MhaParams<'a, F> {
    /// `[3C, C]`
    pub in_proj_weight: ArrayView2<'a, F>,
    /// `[3C]`
    pub in_proj_bias: ArrayView1<'a, F>,
    /// `[C, C]`
    pub out_proj_weight: ArrayView2<'a, F>,
    /// `[C]`
    pub out_proj_bias: ArrayView1<'a, F>,
}

/// Gradients of the four parameter tensors and of the three inputs. For a cache from
/// [`forward_self`], `dquery` is the gradient of the one input and `dkey`, `dvalue` are empty
/// (`[B, 0, C]`).
#[derive(Debug, Clone)]
pub struct MhaGrads<F> {
    /// `[B, Tq, C]`
    pub dquery: Array3<F>,
    /// `[B, Tk, C]`
    pub dkey: Array3<F>,
    /// `[B, Tk, C]`
    pub dvalue: Array3<F>,
    /// `[3C, C]`
    pub in_proj_weight: Array2<F>,
    /// `[3C]`
    pub in_proj_bias: Array1<F>,
    /// `[C, C]`
    pub out_proj_weight: Array2<F>,
    /// `[C]`
    pub out_proj_bias: Array1<F>,
    /// `[1 or B·H, Tq, Tk]`, the gradient of the additive bias (summed over batch items and
    /// heads when it was shared), if there was one.
    pub dbias: Option<Array3<F>>,
}

/// What backward needs and the page draws.
#[derive(Debug, Clone)]
pub struct MhaCache<F> {
    /// Batch size B.
    pub batch: usize,
    /// Heads H.
    pub heads: usize,
    /// Query length Tq.
    pub tq: usize,
    /// Key/value length Tk.
    pub tk: usize,
    /// The inputs as rows, as backward needs them.
    pub inputs: MhaInputs<F>,
    /// One cache per (batch item, head), index `b·H + h`: that head's Q, K, V, scores, weights.
    pub heads_cache: Vec<AttentionCache<F>>,
    /// How many `[Tq, Tk]` slices the additive bias had, if there was one: 1 (shared by every
    /// batch item and head) or B·H; backward gives its gradient in that shape.
    pub bias_slices: Option<usize>,
    /// The heads' outputs side by side, `[B·Tq, C]`.
    pub concat: Array2<F>,
}

/// The inputs a [`MhaCache`] keeps, as rows.
#[derive(Debug, Clone)]
pub enum MhaInputs<F> {
    /// From [`forward_self`]: the one input, `[B·T, C]`, projected to `[Q | K | V]` at once.
    Shared(Array2<F>),
    /// From [`forward`]: query `[B·Tq, C]`, key and value `[B·Tk, C]`.
    Separate {
        /// `[B·Tq, C]`
        query: Array2<F>,
        /// `[B·Tk, C]`
        key: Array2<F>,
        /// `[B·Tk, C]`
        value: Array2<F>,
    },
}

impl<F: Real> MhaCache<F> {
    /// The cache of head `h` for batch item `b`.
    pub fn head(&self, b: usize, h: usize) -> &AttentionCache<F> {
        &self.heads_cache[b * self.heads + h]
    }
}

fn check_params<F: Real>(p: &MhaParams<F>, c: usize) -> Result<()> {
    let shapes: [(&str, &[usize], Vec<usize>); 4] = [
        ("in_proj_weight", p.in_proj_weight.shape(), vec![3 * c, c]),
        ("in_proj_bias", p.in_proj_bias.shape(), vec![3 * c]),
        ("out_proj.weight", p.out_proj_weight.shape(), vec![c, c]),
        ("out_proj.bias", p.out_proj_bias.shape(), vec![c]),
    ];
    for (name, got, want) in shapes {
        super::expect_shape("multi_head_attention", name, got, &want)?;
    }
    Ok(())
}

/// Rows view `[B·T, C]` of a `[B, T, C]` tensor (copied only when not contiguous).
pub(crate) fn rows<F: Real>(x: ArrayView3<F>) -> Array2<F> {
    let (b, t, c) = x.dim();
    x.as_standard_layout()
        .into_owned()
        .into_shape_with_order((b * t, c))
        .expect("contiguous")
}

/// `[B, T, C]` from rows `[B·T, C]`.
pub(crate) fn seq<F: Real>(x: Array2<F>, b: usize, t: usize) -> Array3<F> {
    let c = x.ncols();
    x.into_shape_with_order((b, t, c)).expect("B·T rows")
}

/// Multi-head attention forward.
///
/// `attn_mask` is `[Tq, Tk]` and shared by the batch; `key_padding_mask` is `[B, Tk]`; both use
/// `true` = blocked. `attn_bias` is `[1, Tq, Tk]` (shared) or `[B·H, Tq, Tk]` (per batch item
/// and head), finite or −∞ (see the module header). Returns `[B, Tq, C]`.
#[allow(clippy::too_many_arguments)]
pub fn forward<F: Real>(
    query: ArrayView3<F>,
    key: ArrayView3<F>,
    value: ArrayView3<F>,
    p: &MhaParams<F>,
    heads: usize,
    attn_mask: Option<ArrayView2<bool>>,
    key_padding_mask: Option<ArrayView2<bool>>,
    attn_bias: Option<ArrayView3<F>>,
) -> Result<(Array3<F>, MhaCache<F>)> {
    let (b, tq, c) = query.dim();
    let tk = key.dim().1;
    check_inputs(query, key, value, p, heads, key_padding_mask, attn_bias)?;
    let w = p.in_proj_weight;
    let bias = p.in_proj_bias;
    let (query, key, value) = (rows(query), rows(key), rows(value));
    // pass 1: project the inputs to Q, K, V (each [B·T, C])
    let proj = |x: &Array2<F>, i: usize| {
        let block = i * c..(i + 1) * c;
        linear::apply(
            x.view(),
            w.slice(s![block.clone(), ..]),
            Some(bias.slice(s![block])),
        )
    };
    let (qp, kp, vp) = (proj(&query, 0)?, proj(&key, 1)?, proj(&value, 2)?);
    attend_and_project(
        (qp.view(), kp.view(), vp.view()),
        MhaInputs::Separate { query, key, value },
        p,
        (b, tq, tk, heads),
        (attn_mask, key_padding_mask, attn_bias),
    )
}

/// The shape checks shared by [`forward`] and [`forward_self`].
fn check_inputs<F: Real>(
    query: ArrayView3<F>,
    key: ArrayView3<F>,
    value: ArrayView3<F>,
    p: &MhaParams<F>,
    heads: usize,
    key_padding_mask: Option<ArrayView2<bool>>,
    attn_bias: Option<ArrayView3<F>>,
) -> Result<()> {
    let (b, tq, c) = query.dim();
    let (bk, tk, ck) = key.dim();
    if heads == 0 || c % heads != 0 {
        return Err(Error::config(format!(
            "multi_head_attention: d_model {c} is not divisible by {heads} heads"
        )));
    }
    if bk != b || ck != c || value.dim() != (b, tk, c) {
        return Err(Error::shape(format!(
            "multi_head_attention: query {:?}, key {:?} and value {:?} must be [B, Tq, C], [B, Tk, C], [B, Tk, C]",
            query.shape(), key.shape(), value.shape()
        )));
    }
    check_params(p, c)?;
    if let Some(m) = key_padding_mask {
        super::expect_shape(
            "multi_head_attention",
            "key_padding_mask",
            m.shape(),
            &[b, tk],
        )?;
    }
    if let Some(a) = attn_bias {
        let n = a.dim().0;
        if !(a.dim().1 == tq && a.dim().2 == tk && (n == 1 || n == b * heads)) {
            return Err(Error::shape(format!(
                "multi_head_attention: attn_bias has shape {:?}, expected [1, {tq}, {tk}] or [{}, {tq}, {tk}] (batch·heads × queries × keys)",
                a.shape(),
                b * heads
            )));
        }
    }
    Ok(())
}

/// Self-attention: [`forward`] with `x` as query, key and value, projected in one product.
pub fn forward_self<F: Real>(
    x: ArrayView3<F>,
    p: &MhaParams<F>,
    heads: usize,
    attn_mask: Option<ArrayView2<bool>>,
    key_padding_mask: Option<ArrayView2<bool>>,
    attn_bias: Option<ArrayView3<F>>,
) -> Result<(Array3<F>, MhaCache<F>)> {
    let (b, t, c) = x.dim();
    check_inputs(x, x, x, p, heads, key_padding_mask, attn_bias)?;
    let x = rows(x);
    // pass 1: [Q | K | V] = x W_inᵀ + b_in, [B·T, 3C]
    let qkv = linear::apply(x.view(), p.in_proj_weight, Some(p.in_proj_bias))?;
    attend_and_project(
        (
            qkv.slice(s![.., 0..c]),
            qkv.slice(s![.., c..2 * c]),
            qkv.slice(s![.., 2 * c..3 * c]),
        ),
        MhaInputs::Shared(x),
        p,
        (b, t, t, heads),
        (attn_mask, key_padding_mask, attn_bias),
    )
}

/// Passes 2–4, shared by [`forward`] and [`forward_self`]: attention per batch item and head
/// on column slices of the projected Q, K, V (`[B·Tq, C]`, `[B·Tk, C]`, `[B·Tk, C]`), the
/// heads concatenated into `[B·Tq, C]`, then the output projection. `inputs` are what the
/// cache keeps for backward; the masks and bias were checked by `check_inputs`.
#[allow(clippy::type_complexity)]
fn attend_and_project<F: Real>(
    (qp, kp, vp): (ArrayView2<F>, ArrayView2<F>, ArrayView2<F>),
    inputs: MhaInputs<F>,
    p: &MhaParams<F>,
    (b, tq, tk, heads): (usize, usize, usize, usize),
    (attn_mask, key_padding_mask, attn_bias): (
        Option<ArrayView2<bool>>,
        Option<ArrayView2<bool>>,
        Option<ArrayView3<F>>,
    ),
) -> Result<(Array3<F>, MhaCache<F>)> {
    let c = qp.ncols();
    let d = c / heads;
    let mut concat = Array2::zeros((b * tq, c));
    let mut heads_cache = Vec::with_capacity(b * heads);
    for bi in 0..b {
        let mask = attention::combine_masks(
            tq,
            tk,
            attn_mask,
            key_padding_mask.map(|m| m.index_axis_move(Axis(0), bi)),
        )?;
        for h in 0..heads {
            let cols = h * d..(h + 1) * d;
            let bias = attn_bias.map(|a| {
                let slice = if a.dim().0 == 1 { 0 } else { bi * heads + h };
                a.index_axis_move(Axis(0), slice)
            });
            let (o, cache) = attention::forward(
                qp.slice(s![bi * tq..(bi + 1) * tq, cols.clone()]),
                kp.slice(s![bi * tk..(bi + 1) * tk, cols.clone()]),
                vp.slice(s![bi * tk..(bi + 1) * tk, cols.clone()]),
                mask.as_ref().map(|m| m.view()),
                bias,
                None,
            )?;
            concat
                .slice_mut(s![bi * tq..(bi + 1) * tq, cols])
                .assign(&o);
            heads_cache.push(cache);
        }
    }
    // pass 4: output projection
    let out = linear::apply(concat.view(), p.out_proj_weight, Some(p.out_proj_bias))?;
    let cache = MhaCache {
        batch: b,
        heads,
        tq,
        tk,
        inputs,
        heads_cache,
        bias_slices: attn_bias.map(|a| a.dim().0),
        concat,
    };
    Ok((seq(out, b, tq), cache))
}

/// Multi-head attention backward given `dout = ∂L/∂out`, `[B, Tq, C]`.
pub fn backward<F: Real>(
    dout: ArrayView3<F>,
    cache: &MhaCache<F>,
    p: &MhaParams<F>,
) -> Result<MhaGrads<F>> {
    let (b, tq, tk, heads) = (cache.batch, cache.tq, cache.tk, cache.heads);
    let c = cache.concat.ncols();
    super::expect_shape(
        "multi_head_attention backward",
        "dout",
        dout.shape(),
        &[b, tq, c],
    )?;
    let d = c / heads;
    let dout = rows(dout);
    // pass 4 was out = concat W_oᵀ + b_o
    let g_out =
        linear::backward_from_input(dout.view(), cache.concat.view(), p.out_proj_weight, true)?;
    let dconcat = g_out.dx;
    // passes 3–2 were concat[:, head h] = attention(Q_h, K_h, V_h); the gradients land in
    // [dQ | dK | dV] side by side, [B·T, 3C] for self-attention, else three [B·T, C] arrays
    let shared = matches!(cache.inputs, MhaInputs::Shared(_));
    let tk_rows = if shared { 0 } else { b * tk };
    let mut dqkv = Array2::zeros((b * tq, if shared { 3 * c } else { c }));
    let mut dk = Array2::zeros((tk_rows, c));
    let mut dv = Array2::zeros((tk_rows, c));
    // the bias was added to every head's scores: its gradient is their dS', summed over batch
    // items and heads (in that fixed order) when one slice was shared
    let mut dbias = cache.bias_slices.map(|n| Array3::<F>::zeros((n, tq, tk)));
    for bi in 0..b {
        for h in 0..heads {
            let cols = h * d..(h + 1) * d;
            let g = attention::backward(
                dconcat.slice(s![bi * tq..(bi + 1) * tq, cols.clone()]),
                cache.head(bi, h),
            )?;
            if let Some(db) = &mut dbias {
                let slice = if db.dim().0 == 1 { 0 } else { bi * heads + h };
                let mut slot = db.index_axis_mut(Axis(0), slice);
                slot += &g.dscores;
            }
            let (qr, kr) = (bi * tq..(bi + 1) * tq, bi * tk..(bi + 1) * tk);
            dqkv.slice_mut(s![qr.clone(), cols.clone()]).assign(&g.dq);
            if shared {
                dqkv.slice_mut(s![kr.clone(), c + cols.start..c + cols.end])
                    .assign(&g.dk);
                dqkv.slice_mut(s![kr, 2 * c + cols.start..2 * c + cols.end])
                    .assign(&g.dv);
            } else {
                dk.slice_mut(s![kr.clone(), cols.clone()]).assign(&g.dk);
                dv.slice_mut(s![kr, cols]).assign(&g.dv);
            }
        }
    }
    // pass 1 was Q = query W_qᵀ + b_q (and likewise K, V with their row blocks), or for
    // self-attention [Q | K | V] = x W_inᵀ + b_in in one product
    let w = p.in_proj_weight;
    let (query, key, value) = match &cache.inputs {
        MhaInputs::Separate { query, key, value } => (query, key, value),
        MhaInputs::Shared(x) => {
            let g = linear::backward_from_input(dqkv.view(), x.view(), w, true)?;
            return Ok(MhaGrads {
                dquery: seq(g.dx, b, tq),
                dkey: Array3::zeros((b, 0, c)),
                dvalue: Array3::zeros((b, 0, c)),
                in_proj_weight: g.dw,
                in_proj_bias: g.db.expect("has bias"),
                out_proj_weight: g_out.dw,
                out_proj_bias: g_out.db.expect("has bias"),
                dbias,
            });
        }
    };
    let mut d_in_w = Array2::zeros((3 * c, c));
    let mut d_in_b = Array1::zeros(3 * c);
    let mut dinputs = Vec::with_capacity(3);
    for (i, (dproj, input)) in [(&dqkv, query), (&dk, key), (&dv, value)]
        .into_iter()
        .enumerate()
    {
        let block = i * c..(i + 1) * c;
        let g = linear::backward_from_input(
            dproj.view(),
            input.view(),
            w.slice(s![block.clone(), ..]),
            true,
        )?;
        d_in_w.slice_mut(s![block.clone(), ..]).assign(&g.dw);
        d_in_b.slice_mut(s![block]).assign(&g.db.expect("has bias"));
        dinputs.push(g.dx);
    }
    let dvalue = seq(dinputs.pop().expect("3"), b, tk);
    let dkey = seq(dinputs.pop().expect("3"), b, tk);
    let dquery = seq(dinputs.pop().expect("3"), b, tq);
    Ok(MhaGrads {
        dquery,
        dkey,
        dvalue,
        in_proj_weight: d_in_w,
        in_proj_bias: d_in_b,
        out_proj_weight: g_out.dw,
        out_proj_bias: g_out.db.expect("has bias"),
        dbias,
    })
}

/// The weights of every head averaged over heads, `[B, Tq, Tk]`, as `need_weights=True,
/// average_attn_weights=True` returns them in PyTorch.
pub fn average_weights<F: Real>(cache: &MhaCache<F>) -> Array3<F> {
    let mut avg = Array3::zeros((cache.batch, cache.tq, cache.tk));
    let inv_h = F::one() / F::of(cache.heads as f64);
    for (bi, mut slab) in avg.axis_iter_mut(Axis(0)).enumerate() {
        for h in 0..cache.heads {
            slab.scaled_add(inv_h, &cache.head(bi, h).weights);
        }
    }
    avg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_projections_reduce_to_single_head_attention() {
        // With W_q = W_k = W_v = I, zero biases, one head and W_o = I, multi-head attention is
        // exactly the single-head attention of the inputs.
        let c = 4;
        let mut in_w = Array2::<f64>::zeros((3 * c, c));
        for blk in 0..3 {
            for i in 0..c {
                in_w[[blk * c + i, i]] = 1.0;
            }
        }
        let in_b = Array1::zeros(3 * c);
        let out_w = Array2::eye(c);
        let out_b = Array1::zeros(c);
        let p = MhaParams {
            in_proj_weight: in_w.view(),
            in_proj_bias: in_b.view(),
            out_proj_weight: out_w.view(),
            out_proj_bias: out_b.view(),
        };
        let x = Array3::from_shape_fn((1, 3, c), |(_, t, j)| ((t * c + j) as f64 * 0.37).sin());
        let (y, cache) = forward(x.view(), x.view(), x.view(), &p, 1, None, None, None).unwrap();
        let x2 = x.index_axis(Axis(0), 0);
        let (o, _) = attention::forward(x2, x2, x2, None, None, None).unwrap();
        for (a, b) in y.iter().zip(o.iter()) {
            assert!((a - b).abs() < 1e-12);
        }
        assert_eq!(cache.heads_cache.len(), 1);
        // 8 heads of 64 concatenate back to 512 columns.
        assert_eq!(8 * 64, 512);
        let bad = forward(x.view(), x.view(), x.view(), &p, 3, None, None, None).unwrap_err();
        assert!(bad.message.contains("not divisible by 3"), "{bad}");
    }

    #[test]
    fn fused_self_attention_matches_three_separate_inputs() {
        // forward_self projects [Q | K | V] in one product and backward returns one input
        // gradient; both must equal forward(x, x, x) and dquery + dkey + dvalue.
        let (b, t, c, heads) = (2, 5, 6, 2);
        let f = |i: usize, s: f64| ((i as f64 + 1.0) * s).sin() * 0.5;
        let in_w = Array2::from_shape_fn((3 * c, c), |(i, j)| f(i * c + j, 0.71));
        let in_b = Array1::from_shape_fn(3 * c, |i| f(i, 1.3));
        let out_w = Array2::from_shape_fn((c, c), |(i, j)| f(i * c + j, 0.29));
        let out_b = Array1::from_shape_fn(c, |i| f(i, 2.1));
        let p = MhaParams {
            in_proj_weight: in_w.view(),
            in_proj_bias: in_b.view(),
            out_proj_weight: out_w.view(),
            out_proj_bias: out_b.view(),
        };
        let x = Array3::from_shape_fn((b, t, c), |(i, j, k)| f(i * 97 + j * 13 + k, 0.37));
        let dout = Array3::from_shape_fn((b, t, c), |(i, j, k)| f(i * 31 + j * 7 + k, 0.53));
        let mask = attention::causal_mask(t);
        let kpm = Array2::from_shape_fn((b, t), |(i, j)| i == 1 && j == 4);
        let (y1, c1) = forward(
            x.view(),
            x.view(),
            x.view(),
            &p,
            heads,
            Some(mask.view()),
            Some(kpm.view()),
            None,
        )
        .unwrap();
        let (y2, c2) = forward_self(
            x.view(),
            &p,
            heads,
            Some(mask.view()),
            Some(kpm.view()),
            None,
        )
        .unwrap();
        assert!(matches!(c1.inputs, MhaInputs::Separate { .. }));
        assert!(matches!(c2.inputs, MhaInputs::Shared(_)));
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(y1.as_slice().unwrap(), y2.as_slice().unwrap()));
        let g1 = backward(dout.view(), &c1, &p).unwrap();
        let g2 = backward(dout.view(), &c2, &p).unwrap();
        let sum = &g1.dquery + &g1.dkey + &g1.dvalue;
        assert!(close(
            sum.as_slice().unwrap(),
            g2.dquery.as_slice().unwrap()
        ));
        assert_eq!(g2.dkey.shape(), &[b, 0, c]);
        for (a, b) in [
            (&g1.in_proj_weight, &g2.in_proj_weight),
            (&g1.out_proj_weight, &g2.out_proj_weight),
        ] {
            assert!(close(a.as_slice().unwrap(), b.as_slice().unwrap()));
        }
        assert!(close(
            g1.in_proj_bias.as_slice().unwrap(),
            g2.in_proj_bias.as_slice().unwrap()
        ));
        // A sum that is not zero everywhere: the test would notice a missing block.
        assert!(sum.iter().any(|v| v.abs() > 1e-3));
    }
}
