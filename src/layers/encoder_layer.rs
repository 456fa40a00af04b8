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
    ffn_backward, ffn_forward, self_attn_backward, self_attn_forward, FfnWeights, LayerConfig,
    MhaWeights, NormWeights, ResidualCache, SubCache,
};
use crate::error::Result;
use crate::ops::multi_head;
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use crate::scope::{self, Scope};
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

/// One encoder layer: its configuration and its parameters, declared under one scope.
#[derive(Debug, Clone)]
pub struct EncoderLayer {
    /// Sizes and options.
    pub cfg: LayerConfig,
    /// `self_attn.*`
    pub self_attn: MhaWeights,
    /// `linear1.*`, `linear2.*`
    pub ffn: FfnWeights,
    /// `norm1.*`, around self-attention.
    pub norm1: NormWeights,
    /// `norm2.*`, around the feed-forward block.
    pub norm2: NormWeights,
}

impl EncoderLayer {
    /// Declares the layer's parameters under `s` (in `state_dict` order).
    pub fn new(s: &Scope, cfg: &LayerConfig) -> Self {
        let c = cfg.d_model;
        EncoderLayer {
            cfg: *cfg,
            self_attn: MhaWeights::new(&s.sub("self_attn"), c),
            ffn: FfnWeights::new(s, c, cfg.d_ff),
            norm1: NormWeights::new(&s.sub("norm1"), c),
            norm2: NormWeights::new(&s.sub("norm2"), c),
        }
    }

    /// The layer on `x` `[B, T, C]`, its weights read from `store`. `attn_mask` `[T, T]`
    /// (causal for a decoder-only model) and `key_padding_mask` `[B, T]` use `true` = blocked.
    pub fn forward<F: Real>(
        &self,
        x: ArrayView3<F>,
        store: &ParamStore<F>,
        attn_mask: Option<ArrayView2<bool>>,
        key_padding_mask: Option<ArrayView2<bool>>,
    ) -> Result<(Array3<F>, EncoderLayerCache<F>)> {
        let cfg = &self.cfg;
        let (b, t, _) = x.dim();
        let rows = multi_head::rows(x);
        // pass 1: self-attention sublayer
        let attn = self_attn_forward(
            rows.view(),
            (b, t),
            store,
            &self.self_attn,
            &self.norm1,
            cfg,
            attn_mask,
            key_padding_mask,
        )?;
        // pass 2: feed-forward sublayer
        let ffn = ffn_forward(attn.output.view(), store, &self.ffn, &self.norm2, cfg)?;
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

    /// Backward given `dy` `[B, T, C]`: returns `dx` and pushes the parameter gradients.
    pub fn backward<F: Real>(
        &self,
        dy: ArrayView3<F>,
        cache: &EncoderLayerCache<F>,
        store: &ParamStore<F>,
        grads: &mut NamedGrads<F>,
    ) -> Result<Array3<F>> {
        Ok(self.backward_split(dy, cache, store, grads)?.0)
    }

    /// [`EncoderLayer::backward`], also returning the gradient between the two sublayers
    /// `[B, T, C]`: of the feed-forward sublayer's input (r₁ = x + a with pre-norm, LN₁(r₁)
    /// with post-norm), the residual stream after attention and before the FFN.
    pub fn backward_split<F: Real>(
        &self,
        dy: ArrayView3<F>,
        cache: &EncoderLayerCache<F>,
        store: &ParamStore<F>,
        grads: &mut NamedGrads<F>,
    ) -> Result<(Array3<F>, Array3<F>)> {
        let cfg = &self.cfg;
        let (b, t) = (cache.batch, cache.seq);
        let dy = multi_head::rows(dy);
        // pass 2 was the feed-forward sublayer
        let dh = ffn_backward(
            dy.view(),
            &cache.ffn,
            store,
            &self.ffn,
            &self.norm2,
            cfg,
            grads,
        )?;
        // pass 1 was the self-attention sublayer
        let dx = self_attn_backward(
            dh.view(),
            &cache.attn,
            (b, t),
            store,
            &self.self_attn,
            &self.norm1,
            cfg,
            grads,
        )?;
        Ok((multi_head::seq(dx, b, t), multi_head::seq(dh, b, t)))
    }
}

/// Names and shapes of the layer's parameters under `prefix`.
pub fn param_shapes(prefix: &str, cfg: &LayerConfig) -> Vec<(String, Vec<usize>)> {
    scope::shapes(&scope::declare(prefix, |s| EncoderLayer::new(s, cfg)).1)
}

/// [`EncoderLayer::forward`] of the layer under `prefix`.
pub fn forward<F: Real>(
    x: ArrayView3<F>,
    store: &ParamStore<F>,
    prefix: &str,
    cfg: &LayerConfig,
    attn_mask: Option<ArrayView2<bool>>,
    key_padding_mask: Option<ArrayView2<bool>>,
) -> Result<(Array3<F>, EncoderLayerCache<F>)> {
    EncoderLayer::new(&Scope::at(prefix), cfg).forward(x, store, attn_mask, key_padding_mask)
}

/// Backward of [`forward`] given `dy` `[B, T, C]`: returns `dx` and the named parameter gradients.
pub fn backward<F: Real>(
    dy: ArrayView3<F>,
    cache: &EncoderLayerCache<F>,
    store: &ParamStore<F>,
    prefix: &str,
    cfg: &LayerConfig,
) -> Result<(Array3<F>, NamedGrads<F>)> {
    let mut grads = NamedGrads::new();
    let dx = EncoderLayer::new(&Scope::at(prefix), cfg).backward(dy, cache, store, &mut grads)?;
    Ok((dx, grads))
}
