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

use super::{ffn_params, ffn_shapes, mha_params, mha_shapes, norm_shapes, push_ffn_grads, push_mha_grads, residual_backward, residual_forward, LayerConfig, ResidualCache, SubCache};
use crate::error::Result;
use crate::ops::{feed_forward, multi_head};
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
    x: ArrayView3<F>, store: &ParamStore<F>, prefix: &str, cfg: &LayerConfig, attn_mask: Option<ArrayView2<bool>>, key_padding_mask: Option<ArrayView2<bool>>,
) -> Result<(Array3<F>, EncoderLayerCache<F>)> {
    let (b, t, c) = x.dim();
    let rows = multi_head::rows(x);
    let sa = mha_params(store, &format!("{prefix}self_attn."))?;
    // pass 1: self-attention sublayer
    let attn = residual_forward(rows.view(), store, &format!("{prefix}norm1"), cfg, |inp| {
        let x3 = inp.into_shape_with_order((b, t, c)).expect("rows");
        let (o, cache) = multi_head::forward(x3, x3, x3, &sa, cfg.n_heads, attn_mask, key_padding_mask)?;
        Ok((multi_head::rows(o.view()), SubCache::Attention(cache)))
    })?;
    // pass 2: feed-forward sublayer
    let fp = ffn_params(store, prefix)?;
    let ffn = residual_forward(attn.output.view(), store, &format!("{prefix}norm2"), cfg, |inp| {
        let (o, cache) = feed_forward::forward(inp, &fp, cfg.activation)?;
        Ok((o, SubCache::FeedForward(cache)))
    })?;
    let y = multi_head::seq(ffn.output.clone(), b, t);
    Ok((y, EncoderLayerCache { batch: b, seq: t, attn, ffn }))
}

/// Backward given `dy` `[B, T, C]`: returns `dx` and the named parameter gradients.
pub fn backward<F: Real>(dy: ArrayView3<F>, cache: &EncoderLayerCache<F>, store: &ParamStore<F>, prefix: &str, cfg: &LayerConfig) -> Result<(Array3<F>, NamedGrads<F>)> {
    let (b, t) = (cache.batch, cache.seq);
    let c = cfg.d_model;
    let mut grads = NamedGrads::new();
    let dy = multi_head::rows(dy);
    // pass 2 was the feed-forward sublayer
    let fp = ffn_params(store, prefix)?;
    let SubCache::FeedForward(fc) = &cache.ffn.sub else { unreachable!() };
    let mut ffn_g = None;
    let dh = residual_backward(dy.view(), &cache.ffn, store, cfg, &mut grads, |ds, _| {
        let g = feed_forward::backward(ds, fc, &fp)?;
        let dx = g.dx.clone();
        ffn_g = Some(g);
        Ok(dx)
    })?;
    push_ffn_grads(&mut grads, prefix, ffn_g.expect("ran"));
    // pass 1 was the self-attention sublayer; query, key and value are the same tensor
    let sa = mha_params(store, &format!("{prefix}self_attn."))?;
    let mut mha_g = None;
    let dx = residual_backward(dh.view(), &cache.attn, store, cfg, &mut grads, |ds, sub| {
        let SubCache::Attention(mc) = sub else { unreachable!() };
        let ds3 = ds.into_shape_with_order((b, t, c)).expect("rows");
        let g = multi_head::backward(ds3, mc, &sa)?;
        let dinp = &g.dquery + &g.dkey + &g.dvalue;
        mha_g = Some(g);
        Ok(multi_head::rows(dinp.view()))
    })?;
    push_mha_grads(&mut grads, &format!("{prefix}self_attn."), mha_g.expect("ran"));
    Ok((multi_head::seq(dx, b, t), grads))
}
