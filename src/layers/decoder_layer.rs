//! Decoder layer, as `nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout=0,
//! activation, batch_first=True, norm_first)`.
//!
//! ```text
//! post-norm:  h₁ = LN₁(x + SelfAttn(x, causal));  h₂ = LN₂(h₁ + CrossAttn(h₁, mem));  y = LN₃(h₂ + FFN(h₂))
//! pre-norm:   h₁ = x + SelfAttn(LN₁(x), causal);  h₂ = h₁ + CrossAttn(LN₂(h₁), mem);  y = h₂ + FFN(LN₃(h₂))
//!                                                   x, y [B, T, C], mem [B, S, C]
//! ```
//!
//! The masked self-attention lets each target position look only at earlier ones; the
//! encoder–decoder (cross) attention takes its queries from the decoder and its keys and values
//! from the encoder's output `mem`, so every target word can consult every source word.
//!
//! Parameters under the layer's prefix: `self_attn.*`, `multihead_attn.*` (cross-attention),
//! `linear1.*`, `linear2.*`, `norm1.*`, `norm2.*`, `norm3.*`.

use super::{
    ffn_backward, ffn_forward, residual_backward, residual_forward, self_attn_backward,
    self_attn_forward, FfnWeights, LayerConfig, MhaWeights, NormWeights, ResidualCache, SubCache,
};
use crate::error::{Error, Result};
use crate::ops::multi_head;
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use crate::scope::{self, Scope};
use ndarray::{Array3, ArrayView2, ArrayView3};

/// Everything the layer computed.
#[derive(Debug, Clone)]
pub struct DecoderLayerCache<F> {
    /// Batch size B.
    pub batch: usize,
    /// Target length T.
    pub seq: usize,
    /// Source (memory) length S.
    pub mem_seq: usize,
    /// Masked self-attention sublayer.
    pub self_attn: ResidualCache<F>,
    /// Cross-attention sublayer (queries from the decoder, keys and values from memory).
    pub cross_attn: ResidualCache<F>,
    /// Feed-forward sublayer.
    pub ffn: ResidualCache<F>,
}

fn attn_of<F>(r: &ResidualCache<F>) -> &multi_head::MhaCache<F> {
    match &r.sub {
        SubCache::Attention(c) => c,
        SubCache::FeedForward(_) => unreachable!("attention sublayer"),
    }
}

impl<F: Real> DecoderLayerCache<F> {
    /// The masked self-attention cache.
    pub fn self_attention(&self) -> &multi_head::MhaCache<F> {
        attn_of(&self.self_attn)
    }
    /// The cross-attention cache: weights are `[T, S]`, target rows by source columns.
    pub fn cross_attention(&self) -> &multi_head::MhaCache<F> {
        attn_of(&self.cross_attn)
    }
}

/// Masks for a decoder layer (`true` = blocked).
#[derive(Debug, Clone, Copy, Default)]
pub struct DecoderMasks<'a> {
    /// `[T, T]`, usually causal.
    pub tgt_mask: Option<ArrayView2<'a, bool>>,
    /// `[T, S]`
    pub memory_mask: Option<ArrayView2<'a, bool>>,
    /// `[B, T]`
    pub tgt_key_padding_mask: Option<ArrayView2<'a, bool>>,
    /// `[B, S]`
    pub memory_key_padding_mask: Option<ArrayView2<'a, bool>>,
}

/// One decoder layer: its configuration and its parameters, declared under one scope.
#[derive(Debug, Clone)]
pub struct DecoderLayer {
    /// Sizes and options.
    pub cfg: LayerConfig,
    /// `self_attn.*`, the masked self-attention.
    pub self_attn: MhaWeights,
    /// `multihead_attn.*`, the cross-attention to memory.
    pub multihead_attn: MhaWeights,
    /// `linear1.*`, `linear2.*`
    pub ffn: FfnWeights,
    /// `norm1.*`, around self-attention.
    pub norm1: NormWeights,
    /// `norm2.*`, around cross-attention.
    pub norm2: NormWeights,
    /// `norm3.*`, around the feed-forward block.
    pub norm3: NormWeights,
}

impl DecoderLayer {
    /// Declares the layer's parameters under `s` (in `state_dict` order).
    pub fn new(s: &Scope, cfg: &LayerConfig) -> Self {
        let c = cfg.d_model;
        DecoderLayer {
            cfg: *cfg,
            self_attn: MhaWeights::new(&s.sub("self_attn"), c),
            multihead_attn: MhaWeights::new(&s.sub("multihead_attn"), c),
            ffn: FfnWeights::new(s, c, cfg.d_ff),
            norm1: NormWeights::new(&s.sub("norm1"), c),
            norm2: NormWeights::new(&s.sub("norm2"), c),
            norm3: NormWeights::new(&s.sub("norm3"), c),
        }
    }

    /// The layer on `x` `[B, T, C]` attending to `memory` `[B, S, C]`, its weights read from
    /// `store`.
    pub fn forward<F: Real>(
        &self,
        x: ArrayView3<F>,
        memory: ArrayView3<F>,
        store: &ParamStore<F>,
        masks: DecoderMasks,
    ) -> Result<(Array3<F>, DecoderLayerCache<F>)> {
        let cfg = &self.cfg;
        let (b, t, c) = x.dim();
        let (bm, s, cm) = memory.dim();
        if bm != b || cm != c {
            return Err(Error::shape(format!(
                "decoder layer: x is {:?} but memory is {:?}; batch and width must agree",
                x.shape(),
                memory.shape()
            )));
        }
        let rows = multi_head::rows(x);
        // pass 1: masked self-attention
        let self_attn = self_attn_forward(
            rows.view(),
            (b, t),
            store,
            &self.self_attn,
            &self.norm1,
            cfg,
            masks.tgt_mask,
            masks.tgt_key_padding_mask,
        )?;
        // pass 2: cross-attention, Q from the decoder, K and V from memory
        let ca = self.multihead_attn.load(store)?;
        let cross_attn =
            residual_forward(self_attn.output.view(), store, &self.norm2, cfg, |inp| {
                let x3 = inp.into_shape_with_order((b, t, c)).expect("rows");
                let (o, cache) = multi_head::forward(
                    x3,
                    memory,
                    memory,
                    &ca,
                    cfg.n_heads,
                    masks.memory_mask,
                    masks.memory_key_padding_mask,
                    None,
                )?;
                Ok((multi_head::rows(o.view()), SubCache::Attention(cache)))
            })?;
        // pass 3: feed-forward
        let ffn = ffn_forward(cross_attn.output.view(), store, &self.ffn, &self.norm3, cfg)?;
        let y = multi_head::seq(ffn.output.clone(), b, t);
        Ok((
            y,
            DecoderLayerCache {
                batch: b,
                seq: t,
                mem_seq: s,
                self_attn,
                cross_attn,
                ffn,
            },
        ))
    }

    /// Backward given `dy` `[B, T, C]`: returns `dx` and `dmemory` `[B, S, C]` and pushes the
    /// parameter gradients.
    pub fn backward<F: Real>(
        &self,
        dy: ArrayView3<F>,
        cache: &DecoderLayerCache<F>,
        store: &ParamStore<F>,
        grads: &mut NamedGrads<F>,
    ) -> Result<(Array3<F>, Array3<F>)> {
        let cfg = &self.cfg;
        let (b, t, s, c) = (cache.batch, cache.seq, cache.mem_seq, cfg.d_model);
        let dy = multi_head::rows(dy);
        // pass 3 was the feed-forward sublayer
        let dh2 = ffn_backward(
            dy.view(),
            &cache.ffn,
            store,
            &self.ffn,
            &self.norm3,
            cfg,
            grads,
        )?;
        // pass 2 was cross-attention: the query gradient flows back into the decoder,
        // the key and value gradients into memory
        let ca = self.multihead_attn.load(store)?;
        let mut ca_g = None;
        let dh1 = residual_backward(
            dh2.view(),
            &cache.cross_attn,
            store,
            &self.norm2,
            cfg,
            grads,
            |ds, sub| {
                let SubCache::Attention(mc) = sub else {
                    unreachable!()
                };
                let g = multi_head::backward(
                    ds.into_shape_with_order((b, t, c)).expect("rows"),
                    mc,
                    &ca,
                )?;
                let dq = multi_head::rows(g.dquery.view());
                ca_g = Some(g);
                Ok(dq)
            },
        )?;
        let g = ca_g.expect("ran");
        let dmemory = &g.dkey + &g.dvalue;
        debug_assert_eq!(dmemory.dim(), (b, s, c));
        self.multihead_attn.push_grads(grads, g);
        // pass 1 was masked self-attention
        let dx = self_attn_backward(
            dh1.view(),
            &cache.self_attn,
            (b, t),
            store,
            &self.self_attn,
            &self.norm1,
            cfg,
            grads,
        )?;
        Ok((multi_head::seq(dx, b, t), dmemory))
    }
}

/// Names and shapes of the layer's parameters under `prefix`.
pub fn param_shapes(prefix: &str, cfg: &LayerConfig) -> Vec<(String, Vec<usize>)> {
    scope::shapes(&scope::declare(prefix, |s| DecoderLayer::new(s, cfg)).1)
}

/// [`DecoderLayer::forward`] of the layer under `prefix`.
pub fn forward<F: Real>(
    x: ArrayView3<F>,
    memory: ArrayView3<F>,
    store: &ParamStore<F>,
    prefix: &str,
    cfg: &LayerConfig,
    masks: DecoderMasks,
) -> Result<(Array3<F>, DecoderLayerCache<F>)> {
    DecoderLayer::new(&Scope::at(prefix), cfg).forward(x, memory, store, masks)
}

/// Backward of [`forward`] given `dy` `[B, T, C]`: returns `dx`, `dmemory` `[B, S, C]` and the
/// named gradients.
pub fn backward<F: Real>(
    dy: ArrayView3<F>,
    cache: &DecoderLayerCache<F>,
    store: &ParamStore<F>,
    prefix: &str,
    cfg: &LayerConfig,
) -> Result<(Array3<F>, Array3<F>, NamedGrads<F>)> {
    let mut grads = NamedGrads::new();
    let (dx, dmemory) =
        DecoderLayer::new(&Scope::at(prefix), cfg).backward(dy, cache, store, &mut grads)?;
    Ok((dx, dmemory, grads))
}
