//! Transformer layers built from the ops, as `nn.TransformerEncoderLayer` and
//! `nn.TransformerDecoderLayer` with dropout 0 and `batch_first=True`.
//!
//! Every layer is a stack of residual sublayers. Each sublayer `S` (self-attention,
//! cross-attention or the feed-forward block) is wrapped with a LayerNorm in one of two ways:
//!
//! ```text
//! post-norm (norm_first = false, the original Transformer):   y = LN(x + S(x))
//! pre-norm  (norm_first = true,  GPT-2 and most LLMs):        y = x + S(LN(x))
//! ```
//!
//! Pre-norm keeps a clean residual path from input to output, which makes deep stacks easier
//! to train; post-norm is what the 2017 paper (and the seed article) describes.
//!
//! Layers read their weights from a [`ParamStore`] under a prefix (`"layers.0."`) with the
//! PyTorch sub-names (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.bias`, …) and return
//! their gradients under the same full names.

pub mod decoder_layer;
pub mod encoder_layer;

use crate::error::{Error, Result};
use crate::ops::feed_forward::{self, FfnCache, FfnParams};
use crate::ops::layer_norm::{self, LayerNormCache};
use crate::ops::multi_head::{self, MhaCache, MhaParams};
use crate::ops::Activation;
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// Largest `d_model` a layer accepts (GPT-3 uses 12288); `d_ff` may be up to 4× this.
pub const MAX_WIDTH: usize = 16_384;

/// Sizes and options shared by encoder and decoder layers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerConfig {
    /// Width of every token vector, C. The seed article's example uses 512.
    pub d_model: usize,
    /// Number of attention heads, H; must divide `d_model` (8 heads × 64 = 512).
    pub n_heads: usize,
    /// Width of the feed-forward block, F (usually 4 · d_model).
    pub d_ff: usize,
    /// Feed-forward activation.
    pub activation: Activation,
    /// Pre-norm (`true`) or post-norm (`false`).
    pub norm_first: bool,
    /// LayerNorm epsilon (1e-5 as in PyTorch).
    pub layer_norm_eps: f64,
}

impl Default for LayerConfig {
    fn default() -> Self {
        LayerConfig {
            d_model: 64,
            n_heads: 4,
            d_ff: 256,
            activation: Activation::Gelu,
            norm_first: true,
            layer_norm_eps: layer_norm::EPS,
        }
    }
}

impl LayerConfig {
    /// Checks the invariants: sizes positive, `d_model % n_heads == 0`, eps positive and finite.
    pub fn validate(&self) -> Result<()> {
        if self.d_model == 0 || self.n_heads == 0 || self.d_ff == 0 {
            return Err(Error::config(format!(
                "d_model ({}), n_heads ({}) and d_ff ({}) must all be at least 1",
                self.d_model, self.n_heads, self.d_ff
            )));
        }
        if self.d_model > MAX_WIDTH || self.d_ff > 4 * MAX_WIDTH {
            return Err(Error::config(format!(
                "d_model {} must be at most {MAX_WIDTH} and d_ff {} at most {}",
                self.d_model,
                self.d_ff,
                4 * MAX_WIDTH
            )));
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(Error::config(format!(
                "d_model {} is not divisible by n_heads {}",
                self.d_model, self.n_heads
            )));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return Err(Error::config(format!(
                "layer_norm_eps {} must be a positive number",
                self.layer_norm_eps
            )));
        }
        Ok(())
    }
}

/// Parameter shapes of a multi-head attention block under `prefix` (e.g. `"self_attn."`).
pub(crate) fn mha_shapes(prefix: &str, c: usize) -> Vec<(String, Vec<usize>)> {
    vec![
        (format!("{prefix}in_proj_weight"), vec![3 * c, c]),
        (format!("{prefix}in_proj_bias"), vec![3 * c]),
        (format!("{prefix}out_proj.weight"), vec![c, c]),
        (format!("{prefix}out_proj.bias"), vec![c]),
    ]
}

/// Parameter shapes of a LayerNorm under `prefix` (e.g. `"norm1"`).
pub(crate) fn norm_shapes(prefix: &str, c: usize) -> Vec<(String, Vec<usize>)> {
    vec![
        (format!("{prefix}.weight"), vec![c]),
        (format!("{prefix}.bias"), vec![c]),
    ]
}

/// Parameter shapes of the feed-forward block under `prefix` (the layer's prefix).
pub(crate) fn ffn_shapes(prefix: &str, c: usize, f: usize) -> Vec<(String, Vec<usize>)> {
    vec![
        (format!("{prefix}linear1.weight"), vec![f, c]),
        (format!("{prefix}linear1.bias"), vec![f]),
        (format!("{prefix}linear2.weight"), vec![c, f]),
        (format!("{prefix}linear2.bias"), vec![c]),
    ]
}

pub(crate) fn mha_params<'a, F: Real>(
    s: &'a ParamStore<F>,
    prefix: &str,
) -> Result<MhaParams<'a, F>> {
    Ok(MhaParams {
        in_proj_weight: s.get2(&format!("{prefix}in_proj_weight"))?,
        in_proj_bias: s.get1(&format!("{prefix}in_proj_bias"))?,
        out_proj_weight: s.get2(&format!("{prefix}out_proj.weight"))?,
        out_proj_bias: s.get1(&format!("{prefix}out_proj.bias"))?,
    })
}

pub(crate) fn ffn_params<'a, F: Real>(
    s: &'a ParamStore<F>,
    prefix: &str,
) -> Result<FfnParams<'a, F>> {
    Ok(FfnParams {
        w1: s.get2(&format!("{prefix}linear1.weight"))?,
        b1: s.get1(&format!("{prefix}linear1.bias"))?,
        w2: s.get2(&format!("{prefix}linear2.weight"))?,
        b2: s.get1(&format!("{prefix}linear2.bias"))?,
    })
}

pub(crate) fn push_mha_grads<F: Real>(
    out: &mut NamedGrads<F>,
    prefix: &str,
    g: multi_head::MhaGrads<F>,
) {
    out.push((
        format!("{prefix}in_proj_weight"),
        g.in_proj_weight.into_dyn(),
    ));
    out.push((format!("{prefix}in_proj_bias"), g.in_proj_bias.into_dyn()));
    out.push((
        format!("{prefix}out_proj.weight"),
        g.out_proj_weight.into_dyn(),
    ));
    out.push((format!("{prefix}out_proj.bias"), g.out_proj_bias.into_dyn()));
}

pub(crate) fn push_ffn_grads<F: Real>(
    out: &mut NamedGrads<F>,
    prefix: &str,
    g: feed_forward::FfnGrads<F>,
) {
    out.push((format!("{prefix}linear1.weight"), g.dw1.into_dyn()));
    out.push((format!("{prefix}linear1.bias"), g.db1.into_dyn()));
    out.push((format!("{prefix}linear2.weight"), g.dw2.into_dyn()));
    out.push((format!("{prefix}linear2.bias"), g.db2.into_dyn()));
}

/// What a sublayer computed: attention (with every head's Q, K, V, scores, weights) or FFN.
#[derive(Debug, Clone)]
pub enum SubCache<F> {
    /// Self- or cross-attention.
    Attention(MhaCache<F>),
    /// The feed-forward block.
    FeedForward(FfnCache<F>),
}

/// One residual sublayer: its LayerNorm, its inner cache, and its input and output rows.
#[derive(Debug, Clone)]
pub struct ResidualCache<F> {
    /// The full name of the LayerNorm (`"layers.0.norm1"`).
    pub norm_name: String,
    /// The LayerNorm's cache.
    pub norm: LayerNormCache<F>,
    /// The sublayer's cache.
    pub sub: SubCache<F>,
    /// Output of the residual block, `[B·T, C]` (what the next block reads).
    pub output: Array2<F>,
}

/// `y = LN(x + S(x))` or `y = x + S(LN(x))`, with `S` given as a closure on rows `[B·T, C]`.
pub(crate) fn residual_forward<F: Real>(
    x: ArrayView2<F>,
    store: &ParamStore<F>,
    norm_name: &str,
    cfg: &LayerConfig,
    sub: impl FnOnce(ArrayView2<F>) -> Result<(Array2<F>, SubCache<F>)>,
) -> Result<ResidualCache<F>> {
    let gamma = store.get1(&format!("{norm_name}.weight"))?;
    let beta = store.get1(&format!("{norm_name}.bias"))?;
    let (output, norm, sub) = if cfg.norm_first {
        let (n, norm) = layer_norm::forward(x, gamma, beta, cfg.layer_norm_eps)?;
        let (s, sub) = sub(n.view())?;
        (&x + &s, norm, sub)
    } else {
        let (s, sub) = sub(x)?;
        let (y, norm) = layer_norm::forward((&x + &s).view(), gamma, beta, cfg.layer_norm_eps)?;
        (y, norm, sub)
    };
    Ok(ResidualCache {
        norm_name: norm_name.to_string(),
        norm,
        sub,
        output,
    })
}

/// Backward of [`residual_forward`]; `sub_back(dS, cache) -> dInput of S`.
pub(crate) fn residual_backward<F: Real>(
    dy: ArrayView2<F>,
    c: &ResidualCache<F>,
    store: &ParamStore<F>,
    cfg: &LayerConfig,
    grads: &mut NamedGrads<F>,
    sub_back: impl FnOnce(ArrayView2<F>, &SubCache<F>) -> Result<Array2<F>>,
) -> Result<Array2<F>> {
    let gamma = store.get1(&format!("{}.weight", c.norm_name))?;
    let (dx, g) = if cfg.norm_first {
        // y = x + S(n), n = LN(x): the residual carries dy straight to x, S's path adds to it.
        let dn = sub_back(dy, &c.sub)?;
        let g = layer_norm::backward(dn.view(), &c.norm, gamma)?;
        (&dy + &g.dx, g)
    } else {
        // y = LN(x + S(x)): both x and S(x) receive the LayerNorm's input gradient.
        let g = layer_norm::backward(dy, &c.norm, gamma)?;
        let dxs = sub_back(g.dx.view(), &c.sub)?;
        (&g.dx + &dxs, g)
    };
    grads.push((format!("{}.weight", c.norm_name), g.dgamma.into_dyn()));
    grads.push((format!("{}.bias", c.norm_name), g.dbeta.into_dyn()));
    Ok(dx)
}

/// The self-attention sublayer of either layer kind, on rows `[B·T, C]`: attention over the
/// (normalised) rows themselves, with `norm` around it and the weights under `{prefix}self_attn.`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn self_attn_forward<F: Real>(
    x: ArrayView2<F>,
    (b, t): (usize, usize),
    store: &ParamStore<F>,
    prefix: &str,
    norm: &str,
    cfg: &LayerConfig,
    attn_mask: Option<ArrayView2<bool>>,
    key_padding_mask: Option<ArrayView2<bool>>,
) -> Result<ResidualCache<F>> {
    let sa = mha_params(store, &format!("{prefix}self_attn."))?;
    residual_forward(x, store, &format!("{prefix}{norm}"), cfg, |inp| {
        let x3 = inp
            .into_shape_with_order((b, t, cfg.d_model))
            .expect("rows");
        let (o, cache) =
            multi_head::forward_self(x3, &sa, cfg.n_heads, attn_mask, key_padding_mask)?;
        Ok((multi_head::rows(o.view()), SubCache::Attention(cache)))
    })
}

/// Backward of [`self_attn_forward`]: query, key and value were the same rows, so the one
/// input gradient from [`multi_head::backward`] is already their sum. Returns the gradient of
/// the sublayer's input.
pub(crate) fn self_attn_backward<F: Real>(
    dy: ArrayView2<F>,
    rc: &ResidualCache<F>,
    (b, t): (usize, usize),
    store: &ParamStore<F>,
    prefix: &str,
    cfg: &LayerConfig,
    grads: &mut NamedGrads<F>,
) -> Result<Array2<F>> {
    let sa = mha_params(store, &format!("{prefix}self_attn."))?;
    let mut mha_g = None;
    let dx = residual_backward(dy, rc, store, cfg, grads, |ds, sub| {
        let SubCache::Attention(mc) = sub else {
            unreachable!("an attention sublayer")
        };
        let g = multi_head::backward(
            ds.into_shape_with_order((b, t, cfg.d_model)).expect("rows"),
            mc,
            &sa,
        )?;
        let d = multi_head::rows(g.dquery.view());
        mha_g = Some(g);
        Ok(d)
    })?;
    push_mha_grads(grads, &format!("{prefix}self_attn."), mha_g.expect("ran"));
    Ok(dx)
}

/// The feed-forward sublayer of either layer kind, with `norm` around it and the weights under
/// `{prefix}linear1.` / `{prefix}linear2.`.
pub(crate) fn ffn_forward<F: Real>(
    x: ArrayView2<F>,
    store: &ParamStore<F>,
    prefix: &str,
    norm: &str,
    cfg: &LayerConfig,
) -> Result<ResidualCache<F>> {
    let fp = ffn_params(store, prefix)?;
    residual_forward(x, store, &format!("{prefix}{norm}"), cfg, |inp| {
        let (o, cache) = feed_forward::forward(inp, &fp, cfg.activation)?;
        Ok((o, SubCache::FeedForward(cache)))
    })
}

/// Backward of [`ffn_forward`]; returns the gradient of the sublayer's input.
pub(crate) fn ffn_backward<F: Real>(
    dy: ArrayView2<F>,
    rc: &ResidualCache<F>,
    store: &ParamStore<F>,
    prefix: &str,
    cfg: &LayerConfig,
    grads: &mut NamedGrads<F>,
) -> Result<Array2<F>> {
    let fp = ffn_params(store, prefix)?;
    let mut ffn_g = None;
    let dx = residual_backward(dy, rc, store, cfg, grads, |ds, sub| {
        let SubCache::FeedForward(fc) = sub else {
            unreachable!("a feed-forward sublayer")
        };
        let g = feed_forward::backward(ds, fc, &fp)?;
        let dx = g.dx.clone();
        ffn_g = Some(g);
        Ok(dx)
    })?;
    push_ffn_grads(grads, prefix, ffn_g.expect("ran"));
    Ok(dx)
}
