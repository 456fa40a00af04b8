//! Encoder layer, as `nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0,
//! activation, batch_first=True, norm_first)`.
//!
//! ```text
//! post-norm:  h = LN₁(x + SelfAttn(x));   y = LN₂(h + FFN(h))
//! pre-norm:   h = x + SelfAttn(LN₁(x));   y = h + FFN(LN₂(h))          x, h, y [B, T, C]
//! ```
//!
//! Parameters under the layer's prefix: `self_attn.{in_proj_weight, in_proj_bias,
//! out_proj.weight, out_proj.bias}`, `linear1.{weight,bias}`, `linear2.{weight,bias}`,
//! `norm1.{weight,bias}`, `norm2.{weight,bias}`. With a causal mask this is also the block of
//! a decoder-only (GPT-like) model.

use super::{
    ffn_backward, ffn_forward, ffn_shapes, mha_shapes, norm_shapes, self_attn_backward,
    self_attn_forward, LayerConfig, ResidualCache, SubCache,
};
use crate::error::Result;
use crate::ops::multi_head;
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

/// Everything the layer computed.
#[derive(Debug, Clone)]
pub struct EncoderLayerCache<F> {
    /// Batch size and sequence length.
    pub batch: usize,
    /// Sequence length T.
    pub seq: usize,
    /// Self-attention sublayer (its `sub` is [`SubCache::Attention`]).
    pub attn: ResidualCache<F>,
    /// Feed-forward sublayer.
    pub ffn: ResidualCache<F>,
}

impl<F: Real> EncoderLayerCache<F> {
    /// The self-attention cache (every head's Q, K, V, scores and weights).
    pub fn attention(&self) -> &multi_head::MhaCache<F> {
        match &self.attn.sub {
            SubCache::Attention(c) => c,
            SubCache::FeedForward(_) => unreachable!("the first sublayer is attention"),
        }
    }
    /// The layer's output `[B·T, C]`.
    pub fn output(&self) -> &Array2<F> {
        &self.ffn.output
    }
}

/// Names and shapes of the layer's parameters under `prefix`.
pub fn param_shapes(prefix: &str, cfg: &LayerConfig) -> Vec<(String, Vec<usize>)> {
    let c = cfg.d_model;
    let mut v = mha_shapes(&format!("{prefix}self_attn."), c);
    v.extend(ffn_shapes(prefix, c, cfg.d_ff));
    v.extend(norm_shapes(&format!("{prefix}norm1"), c));
    v.extend(norm_shapes(&format!("{prefix}norm2"), c));
    v
}

/// The layer on `x` `[B, T, C]`. `attn_mask` `[T, T]` (causal for a decoder-only model) and
/// `key_padding_mask` `[B, T]` use `true` = blocked.
pub fn forward<F: Real>(
    x: ArrayView3<F>,
    store: &ParamStore<F>,
    prefix: &str,
    cfg: &LayerConfig,
    attn_mask: Option<ArrayView2<bool>>,
    key_padding_mask: Option<ArrayView2<bool>>,
) -> Result<(Array3<F>, EncoderLayerCache<F>)> {
    let (b, t, _) = x.dim();
    let rows = multi_head::rows(x);
    // pass 1: self-attention sublayer
    let attn = self_attn_forward(
        rows.view(),
        (b, t),
        store,
        prefix,
        "norm1",
        cfg,
        attn_mask,
        key_padding_mask,
    )?;
    // pass 2: feed-forward sublayer
    let ffn = ffn_forward(attn.output.view(), store, prefix, "norm2", cfg)?;
    let y = multi_head::seq(ffn.output.clone(), b, t);
    Ok((
        y,
        EncoderLayerCache {
            batch: b,
            seq: t,
            attn,
            ffn,
        },
    ))
}

/// Backward given `dy` `[B, T, C]`: returns `dx` and the named parameter gradients.
pub fn backward<F: Real>(
    dy: ArrayView3<F>,
    cache: &EncoderLayerCache<F>,
    store: &ParamStore<F>,
    prefix: &str,
    cfg: &LayerConfig,
) -> Result<(Array3<F>, NamedGrads<F>)> {
    let (b, t) = (cache.batch, cache.seq);
    let mut grads = NamedGrads::new();
    let dy = multi_head::rows(dy);
    // pass 2 was the feed-forward sublayer
    let dh = ffn_backward(dy.view(), &cache.ffn, store, prefix, cfg, &mut grads)?;
    // pass 1 was the self-attention sublayer
    let dx = self_attn_backward(
        dh.view(),
        &cache.attn,
        (b, t),
        store,
        prefix,
        cfg,
        &mut grads,
    )?;
    Ok((multi_head::seq(dx, b, t), grads))
}
