//! The whole block laid open, and the stack above it: what the page's layer panel draws.
//!
//! One layer is `nn.TransformerEncoderLayer` (with the causal mask, the block of a decoder-only
//! model). Every intermediate is kept, for one sequence of T tokens of width C (F = d_ff):
//!
//! ```text
//! post-norm (norm_first = false)              pre-norm (norm_first = true, GPT-2)
//!   a  = MHA(x)                 [T, C]          n₁ = LN₁(x);  a = MHA(n₁)
//!   r₁ = x + a                                  r₁ = x + a
//!   h  = LN₁(r₁)                                h  = LN₂(r₁)              (the FFN's input)
//!   u  = h·W₁ᵀ + b₁             [T, F]          u  = h·W₁ᵀ + b₁
//!   g  = act(u)                 [T, F]          g  = act(u)
//!   f  = g·W₂ᵀ + b₂             [T, C]          f  = g·W₂ᵀ + b₂
//!   r₂ = h + f                                  r₂ = r₁ + f
//!   y  = LN₂(r₂)                                y  = r₂
//!
//! LN(z) = γ ⊙ (z − μ) / √(σ² + ε) + β,   μ = mean of z's C entries, σ² their (biased) variance
//! ```
//!
//! The stack (a decoder-only model, [`trace_decoder_only`]): `x₀ = tok_emb[ids] + pos_emb`,
//! x_l = Layer_l(x_{l−1}), logits = ln_f(x_L) · lm_headᵀ `[T, V]`. A token t is followed
//! through it by [`PathPoint`]: `‖x_l[t]‖`, `cos(x_l[t], x_{l−1}[t])` and `‖x_l[t] − x_{l−1}[t]‖`
//! (what the layer added to the residual stream). At the top, [`next_token`]:
//!
//! ```text
//! p_i = softmax(z / τ)_i  over the k largest logits z (top-k), 0 for the others
//! pick = the first i with p_0 + … + p_i > u,   u ~ U[0, 1) from the seed (the same every time)
//! ```

use crate::error::{Error, Result};
use crate::layers::encoder_layer::EncoderLayer;
use crate::layers::NormWeights;
use crate::models::decoder_only::{DecoderOnly, DecoderOnlyWeights};
use crate::ops::attention::causal_mask;
use crate::ops::multi_head::{self, MhaCache};
use crate::ops::{feed_forward, Activation};
use crate::params::ParamStore;
use crate::rng::Rng;
use crate::scope::Scope;
use crate::space::cosine_parts;
use ndarray::{Array1, Array2, ArrayView2, Axis};

/// A LayerNorm applied to T rows, with every number of its formula.
#[derive(Debug, Clone)]
pub struct NormTrace {
    /// Its full name (`"layers.0.norm1"`).
    pub name: String,
    /// What it normalised, z `[T, C]`.
    pub input: Array2<f32>,
    /// Each row's mean μ `[T]`.
    pub mean: Array1<f32>,
    /// Each row's biased variance σ² `[T]`.
    pub var: Array1<f32>,
    /// ε.
    pub eps: f64,
    /// (z − μ) / √(σ² + ε), `[T, C]`.
    pub normalized: Array2<f32>,
    /// γ `[C]`.
    pub gamma: Array1<f32>,
    /// β `[C]`.
    pub beta: Array1<f32>,
    /// γ ⊙ normalized + β, `[T, C]`.
    pub output: Array2<f32>,
}

/// One layer on one sequence, every intermediate of the module header's formula.
#[derive(Debug, Clone)]
pub struct BlockTrace {
    /// Whether the norms come first (pre-norm).
    pub norm_first: bool,
    /// The FFN's activation.
    pub activation: Activation,
    /// The layer's input x `[T, C]`.
    pub input: Array2<f32>,
    /// Every head's Q, K, V, scores, weights and their concatenation.
    pub attention: MhaCache<f32>,
    /// The attention sublayer's output a (after the output projection), `[T, C]`.
    pub attn_out: Array2<f32>,
    /// r₁ = x + a, `[T, C]`.
    pub residual1: Array2<f32>,
    /// LN₁: of r₁ (post-norm) or of x (pre-norm).
    pub norm1: NormTrace,
    /// The FFN's input h, `[T, C]`.
    pub ffn_input: Array2<f32>,
    /// u = h·W₁ᵀ + b₁, `[T, F]`.
    pub up: Array2<f32>,
    /// g = act(u), `[T, F]`.
    pub act: Array2<f32>,
    /// f = g·W₂ᵀ + b₂, `[T, C]`.
    pub down: Array2<f32>,
    /// r₂: h + f (post-norm) or r₁ + f (pre-norm), `[T, C]`.
    pub residual2: Array2<f32>,
    /// LN₂: of r₂ (post-norm) or of r₁ (pre-norm).
    pub norm2: NormTrace,
    /// The layer's output y, `[T, C]`.
    pub output: Array2<f32>,
}

fn norm_trace(
    norm: &NormWeights,
    store: &ParamStore<f32>,
    z: ArrayView2<f32>,
    eps: f64,
) -> Result<NormTrace> {
    let (output, cache) = norm.forward(store, z, eps)?;
    let c = z.ncols().max(1) as f64;
    let mean = z.map_axis(Axis(1), |r| {
        (r.iter().map(|&v| v as f64).sum::<f64>() / c) as f32
    });
    // σ² from the norm's own 1/√(σ² + ε), so that the page's numbers are the ones used.
    let var = cache
        .rstd
        .mapv(|r| ((1.0 / (r as f64 * r as f64)) - eps).max(0.0) as f32);
    Ok(NormTrace {
        name: norm.name.clone(),
        input: z.to_owned(),
        mean,
        var,
        eps,
        normalized: cache.xhat,
        gamma: norm.weight.get(store)?.to_owned(),
        beta: norm.bias.get(store)?.to_owned(),
        output,
    })
}

/// Traces `layer` (its weights in `store`) on `x` `[T, C]`, with `mask` (`true` = blocked) and
/// the norms placed as `norm_first` says (the layer's own placement, or the other one to
/// compare). The output equals [`EncoderLayer::forward`]'s for the same placement.
pub fn trace_layer(
    layer: &EncoderLayer,
    store: &ParamStore<f32>,
    x: ArrayView2<f32>,
    mask: Option<ArrayView2<bool>>,
    norm_first: bool,
) -> Result<BlockTrace> {
    let cfg = &layer.cfg;
    let (t, c) = x.dim();
    if c != cfg.d_model {
        return Err(Error::shape(format!(
            "trace_layer: x has {c} columns, the layer's d_model is {}",
            cfg.d_model
        )));
    }
    let eps = cfg.layer_norm_eps;
    let mha = layer.self_attn.load(store)?;
    let attend = |inp: ArrayView2<f32>| -> Result<(Array2<f32>, MhaCache<f32>)> {
        let x3 = inp
            .to_owned()
            .into_shape_with_order((1, t, c))
            .expect("rows");
        let (o, cache) = multi_head::forward_self(x3.view(), &mha, cfg.n_heads, mask, None, None)?;
        Ok((multi_head::rows(o.view()), cache))
    };
    let ffn = layer.ffn.load(store)?;
    let (attention, attn_out, residual1, norm1, ffn_input, norm2_of_r1) = if norm_first {
        let n1 = norm_trace(&layer.norm1, store, x, eps)?;
        let (a, cache) = attend(n1.output.view())?;
        let r1 = &x + &a;
        let n2 = norm_trace(&layer.norm2, store, r1.view(), eps)?;
        (cache, a, r1, n1, n2.output.clone(), Some(n2))
    } else {
        let (a, cache) = attend(x)?;
        let r1 = &x + &a;
        let n1 = norm_trace(&layer.norm1, store, r1.view(), eps)?;
        let h = n1.output.clone();
        (cache, a, r1, n1, h, None)
    };
    let (down, fc) = feed_forward::forward(ffn_input.view(), &ffn, cfg.activation)?;
    let (residual2, norm2, output) = match norm2_of_r1 {
        Some(n2) => {
            let r2 = &residual1 + &down;
            (r2.clone(), n2, r2)
        }
        None => {
            let r2 = &ffn_input + &down;
            let n2 = norm_trace(&layer.norm2, store, r2.view(), eps)?;
            let y = n2.output.clone();
            (r2, n2, y)
        }
    };
    Ok(BlockTrace {
        norm_first,
        activation: cfg.activation,
        input: x.to_owned(),
        attention,
        attn_out,
        residual1,
        norm1,
        ffn_input,
        up: fc.h,
        act: fc.a,
        down,
        residual2,
        norm2,
        output,
    })
}

/// One token at one depth of the stack: how long its vector is, how much it turned, what the
/// layer added.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathPoint {
    /// `‖x_l[t]‖`.
    pub norm: f32,
    /// `cos(x_l[t], x_{l−1}[t])`; 1 at l = 0 (nothing before).
    pub cos_prev: f32,
    /// `‖x_l[t] − x_{l−1}[t]‖`, what layer l added to the residual stream; 0 at l = 0.
    pub added: f32,
}

/// A decoder-only model's forward pass on one sequence, every layer laid open.
#[derive(Debug, Clone)]
pub struct ModelTrace {
    /// `x₀ = tok_emb[ids] + pos_emb`, `[T, C]`.
    pub embeddings: Array2<f32>,
    /// One trace per layer; layer l's input is layer l−1's output.
    pub layers: Vec<BlockTrace>,
    /// ln_f on the last layer's output.
    pub final_norm: NormTrace,
    /// ln_f's output times lm_headᵀ, `[T, V]`.
    pub logits: Array2<f32>,
    /// `path[l][t]` for l = 0 (the embeddings) … L.
    pub path: Vec<Vec<PathPoint>>,
}

/// [`PathPoint`]s of every row of `cur` against `prev` (`None` at the bottom).
fn path_points(cur: &Array2<f32>, prev: Option<&Array2<f32>>) -> Vec<PathPoint> {
    cur.outer_iter()
        .enumerate()
        .map(|(t, row)| match prev {
            None => PathPoint {
                norm: cosine_parts(row, row).2 as f32,
                cos_prev: 1.0,
                added: 0.0,
            },
            Some(p) => {
                let q = p.row(t);
                let (cos_prev, _, norm, _) = cosine_parts(row, q);
                let d = &row - &q;
                PathPoint {
                    norm: norm as f32,
                    cos_prev,
                    added: cosine_parts(d.view(), d.view()).2 as f32,
                }
            }
        })
        .collect()
}

/// Traces `model` on `ids` (one sequence, causal mask). Layer `alt.0` alone is traced with
/// its norms placed as `alt.1` says, on the input the model gives it, when `alt` is set (the
/// layers above it then read that layer's output).
pub fn trace_decoder_only(
    model: &DecoderOnly<f32>,
    ids: &[usize],
    alt: Option<(usize, bool)>,
) -> Result<ModelTrace> {
    let cfg = &model.config;
    let t = ids.len();
    if t == 0 || t > cfg.max_len {
        return Err(Error::value(format!(
            "trace: {t} tokens; a trace takes 1 to {} (the model's max_len)",
            cfg.max_len
        )));
    }
    if let Some(&bad) = ids.iter().find(|&&i| i >= cfg.vocab_size) {
        return Err(Error::value(format!(
            "trace: token id {bad} is outside the vocabulary of {}",
            cfg.vocab_size
        )));
    }
    let s = &model.params;
    let w = DecoderOnlyWeights::new(&Scope::root(), cfg);
    let ids2 = Array2::from_shape_vec((1, t), ids.to_vec()).expect("1×T");
    let x0 = w.embeddings.forward(s, ids2.view())?;
    let embeddings = x0.index_axis(Axis(0), 0).to_owned();
    let mask = causal_mask(t);
    let mut layers = Vec::with_capacity(w.layers.len());
    let mut path = vec![path_points(&embeddings, None)];
    let mut x = embeddings.clone();
    for (l, layer) in w.layers.iter().enumerate() {
        let nf = match alt {
            Some((al, nf)) if al == l => nf,
            _ => layer.cfg.norm_first,
        };
        let tr = trace_layer(layer, s, x.view(), Some(mask.view()), nf)?;
        path.push(path_points(&tr.output, Some(&x)));
        x = tr.output.clone();
        layers.push(tr);
    }
    let final_norm = norm_trace(&w.ln_f, s, x.view(), cfg.layer.layer_norm_eps)?;
    let logits = w.lm_head.forward(s, final_norm.output.view())?;
    Ok(ModelTrace {
        embeddings,
        layers,
        final_norm,
        logits,
        path,
    })
}

/// The next-token distribution the page shows at the top of the stack.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NextToken {
    /// p_i for every vocabulary entry (0 outside the top k).
    pub probs: Vec<f32>,
    /// The entries kept by top-k, most probable first (ties: the smaller id).
    pub kept: Vec<usize>,
    /// The entry drawn with the seed.
    pub pick: usize,
    /// The uniform number u that drew it.
    pub u: f64,
}

/// Largest temperature [`next_token`] takes.
pub const MAX_TEMPERATURE: f64 = 10.0;
/// Smallest temperature [`next_token`] takes (below it, use greedy: top-k = 1).
pub const MIN_TEMPERATURE: f64 = 0.05;

/// softmax(logits / τ) over the `top_k` largest logits (0 = all), and one entry drawn from it
/// with `seed` (see the module header).
pub fn next_token(logits: &[f32], temperature: f64, top_k: usize, seed: u64) -> Result<NextToken> {
    if logits.is_empty() {
        return Err(Error::value("next_token: no logits"));
    }
    if !(MIN_TEMPERATURE..=MAX_TEMPERATURE).contains(&temperature) {
        return Err(Error::value(format!(
            "next_token: temperature {temperature} is outside {MIN_TEMPERATURE} … {MAX_TEMPERATURE}"
        )));
    }
    if let Some(bad) = logits.iter().find(|v| !v.is_finite()) {
        return Err(Error::value(format!("next_token: a logit is {bad}")));
    }
    let v = logits.len();
    let k = if top_k == 0 { v } else { top_k.min(v) };
    let mut order = crate::sorting::descending(logits, f32::total_cmp);
    order.truncate(k);
    let top = logits[order[0]] as f64;
    let e: Vec<f64> = order
        .iter()
        .map(|&i| ((logits[i] as f64 - top) / temperature).exp())
        .collect();
    let sum: f64 = e.iter().sum();
    let mut probs = vec![0f32; v];
    for (&i, &ei) in order.iter().zip(&e) {
        probs[i] = (ei / sum) as f32;
    }
    let u = Rng::new(seed).uniform();
    let mut acc = 0.0;
    let mut pick = order[k - 1];
    for (&i, &ei) in order.iter().zip(&e) {
        acc += ei / sum;
        if acc > u {
            pick = i;
            break;
        }
    }
    Ok(NextToken {
        probs,
        kept: order,
        pick,
        u,
    })
}

#[cfg(test)]
mod tests;
