//! Encoder–decoder model, as `nn.Transformer` between shared embeddings and a language head.
//!
//! ```text
//! s₀ = tok_emb[src] + pos_emb[0..S]                    src [B, S]
//! sᵢ = EncoderLayerᵢ(sᵢ₋₁, src padding)                 i = 1 … L_enc
//! mem = encoder.norm(s_L)                              [B, S, C]
//! y₀ = tok_emb[tgt] + pos_emb[0..T]                    tgt [B, T]
//! yⱼ = DecoderLayerⱼ(yⱼ₋₁, mem, causal mask)            j = 1 … L_dec
//! logits = decoder.norm(y_L) · lm_headᵀ                [B, T, V]
//! ```
//!
//! The seed article's example: the encoder reads 小明今天感冒了 and the decoder writes
//! 他应该多喝水; in each decoder layer's cross-attention the query of 他 can look at 小明.
//!
//! Parameter names: `tok_emb.weight` (shared by source and target), `pos_emb.weight`,
//! `transformer.encoder.layers.{i}.*`, `transformer.encoder.norm.{weight,bias}`,
//! `transformer.decoder.layers.{j}.*` (with `multihead_attn.*` and `norm3.*`),
//! `transformer.decoder.norm.{weight,bias}`, `lm_head.weight` [V, C].

use super::{
    check_ids, check_size, stack, stack_backward, stack_forward, validate_common, Embeddings,
    Model, ModelConfig,
};
use crate::error::{Error, Result};
use crate::layers::decoder_layer::{DecoderLayer, DecoderLayerCache, DecoderMasks};
use crate::layers::encoder_layer::{EncoderLayer, EncoderLayerCache};
use crate::layers::{deserialize_layer, LayerConfig, LinearWeights, NormWeights};
use crate::ops::attention::causal_mask;
use crate::ops::layer_norm::LayerNormCache;
use crate::ops::Activation;
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use crate::scope::{self, declare, Decl, Scope};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3};
use serde::{Deserialize, Deserializer, Serialize};

/// Sizes of an encoder–decoder model. In JSON the layer's fields sit beside the model's, as
/// one flat object (see [`crate::models::decoder_only::DecoderOnlyConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EncoderDecoderConfig {
    /// Shared vocabulary size V. Default 64.
    pub vocab_size: usize,
    /// Every layer's sizes and options, encoder and decoder alike. Default C = 64, H = 4,
    /// F = 256, ReLU and post-norm (as the 2017 Transformer), eps 1e-5.
    #[serde(flatten, deserialize_with = "layer_or_default")]
    pub layer: LayerConfig,
    /// Encoder layers. Default 2.
    pub n_encoder_layers: usize,
    /// Decoder layers. Default 2.
    pub n_decoder_layers: usize,
    /// Longest source or target. Default 64.
    pub max_len: usize,
}

impl Default for EncoderDecoderConfig {
    fn default() -> Self {
        EncoderDecoderConfig {
            vocab_size: 64,
            layer: LayerConfig {
                activation: Activation::Relu,
                norm_first: false,
                ..LayerConfig::default()
            },
            n_encoder_layers: 2,
            n_decoder_layers: 2,
            max_len: 64,
        }
    }
}

/// The flattened layer fields, each missing one taken from [`EncoderDecoderConfig::default`].
fn layer_or_default<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<LayerConfig, D::Error> {
    deserialize_layer(d, EncoderDecoderConfig::default().layer)
}

impl EncoderDecoderConfig {
    /// Checks every invariant.
    pub fn validate(&self) -> Result<()> {
        validate_common(
            Self::NAME,
            self.vocab_size,
            self.max_len,
            &[
                ("n_encoder_layers", self.n_encoder_layers),
                ("n_decoder_layers", self.n_decoder_layers),
            ],
            &self.layer,
        )?;
        check_size(Self::NAME, &self.param_decls())
    }
    /// Every parameter's name, shape and initialisation, in declaration order.
    pub fn param_decls(&self) -> Vec<Decl> {
        declare("", |s| EncoderDecoderWeights::new(s, self)).1
    }
    /// Every parameter's name and shape.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        scope::shapes(&self.param_decls())
    }
}

super::model_config!(EncoderDecoderConfig, "encoder-decoder model");

/// The model's parameters, declared once (see [`crate::scope`]).
#[derive(Debug, Clone)]
pub struct EncoderDecoderWeights {
    /// `tok_emb.weight`, `pos_emb.weight`, shared by source and target.
    pub embeddings: Embeddings,
    /// `transformer.encoder.layers.{i}.*`
    pub encoder: Vec<EncoderLayer>,
    /// `transformer.decoder.layers.{j}.*`
    pub decoder: Vec<DecoderLayer>,
    /// `transformer.encoder.norm.*`
    pub encoder_norm: NormWeights,
    /// `transformer.decoder.norm.*`
    pub decoder_norm: NormWeights,
    /// `lm_head.weight` `[V, C]`, no bias.
    pub lm_head: LinearWeights,
}

impl EncoderDecoderWeights {
    /// Declares every parameter of a model of `cfg` under `s`.
    pub fn new(s: &Scope, cfg: &EncoderDecoderConfig) -> Self {
        let (v, c) = (cfg.vocab_size, cfg.layer.d_model);
        let (enc, dec) = (s.sub("transformer.encoder"), s.sub("transformer.decoder"));
        EncoderDecoderWeights {
            embeddings: Embeddings::new(s, v, cfg.max_len, c),
            encoder: stack(&enc.sub("layers"), cfg.n_encoder_layers, |l| {
                EncoderLayer::new(l, &cfg.layer)
            }),
            decoder: stack(&dec.sub("layers"), cfg.n_decoder_layers, |l| {
                DecoderLayer::new(l, &cfg.layer)
            }),
            encoder_norm: NormWeights::new(&enc.sub("norm"), c),
            decoder_norm: NormWeights::new(&dec.sub("norm"), c),
            lm_head: LinearWeights::new(&s.sub("lm_head"), c, v, false),
        }
    }
}

/// Everything a forward pass computed.
#[derive(Debug, Clone)]
pub struct EncoderDecoderCache<F> {
    /// Source ids `[B, S]`.
    pub src: Array2<usize>,
    /// Target ids `[B, T]`.
    pub tgt: Array2<usize>,
    /// Source padding mask `[B, S]`, if given.
    pub src_padding: Option<Array2<bool>>,
    /// Encoder layers.
    pub encoder: Vec<EncoderLayerCache<F>>,
    /// Encoder's final norm.
    pub encoder_norm: LayerNormCache<F>,
    /// The encoder's output that every decoder layer attends to, `[B, S, C]`.
    pub memory: Array3<F>,
    /// Decoder layers (each with self- and cross-attention caches).
    pub decoder: Vec<DecoderLayerCache<F>>,
    /// Decoder's final norm.
    pub decoder_norm: LayerNormCache<F>,
    /// Decoder norm output `[B·T, C]`.
    pub hidden: Array2<F>,
}

/// An encoder–decoder model.
#[derive(Debug, Clone)]
pub struct EncoderDecoder<F> {
    /// Sizes.
    pub config: EncoderDecoderConfig,
    /// Parameters and gradients.
    pub params: ParamStore<F>,
}

/// What one forward pass of an encoder–decoder model reads.
#[derive(Debug, Clone, Copy)]
pub struct EncoderDecoderInput<'a> {
    /// Source ids `[B, S]`, read by the encoder.
    pub src: ArrayView2<'a, usize>,
    /// Target ids `[B, T]` (shifted right: they start with BOS), read by the decoder.
    pub tgt: ArrayView2<'a, usize>,
    /// `[B, S]`, `true` at source padding that no one attends to.
    pub src_padding: Option<ArrayView2<'a, bool>>,
}

impl<F: Real> Model<F> for EncoderDecoder<F> {
    type Config = EncoderDecoderConfig;
    type Input<'a> = EncoderDecoderInput<'a>;
    type Cache = EncoderDecoderCache<F>;

    fn from_parts(config: EncoderDecoderConfig, params: ParamStore<F>) -> Self {
        EncoderDecoder { config, params }
    }
    fn config(&self) -> &EncoderDecoderConfig {
        &self.config
    }
    fn params(&self) -> &ParamStore<F> {
        &self.params
    }
    fn params_mut(&mut self) -> &mut ParamStore<F> {
        &mut self.params
    }

    /// Logits `[B, T, V]` for `tgt` given `src`; `src_padding` `[B, S]` marks source padding.
    fn forward(&self, input: EncoderDecoderInput) -> Result<(Array3<F>, EncoderDecoderCache<F>)> {
        let EncoderDecoderInput {
            src,
            tgt,
            src_padding,
        } = input;
        let cfg = &self.config;
        let what = EncoderDecoderConfig::NAME;
        check_ids(what, "src", src, cfg.vocab_size, cfg.max_len)?;
        check_ids(what, "tgt", tgt, cfg.vocab_size, cfg.max_len)?;
        let ((b, s_len), (bt, t)) = (src.dim(), tgt.dim());
        if b != bt {
            return Err(Error::shape(format!(
                "{what}: src has {b} sequences but tgt has {bt}"
            )));
        }
        if let Some(p) = src_padding {
            if p.dim() != (b, s_len) {
                return Err(Error::shape(format!(
                    "{what}: src padding mask has shape {:?}, expected [{b}, {s_len}]",
                    p.shape()
                )));
            }
        }
        let st = &self.params;
        let c = cfg.layer.d_model;
        let w = EncoderDecoderWeights::new(&Scope::root(), cfg);
        // pass 1: encode the source
        let (s, encoder) = stack_forward(
            w.embeddings.forward(st, src)?,
            st,
            &w.encoder,
            None,
            src_padding,
        )?;
        let sr = s.into_shape_with_order((b * s_len, c)).expect("rows");
        let (mem, encoder_norm) =
            w.encoder_norm
                .forward(st, sr.view(), cfg.layer.layer_norm_eps)?;
        let memory = mem.into_shape_with_order((b, s_len, c)).expect("rows");
        // pass 2: decode the target, attending to the memory
        let causal = causal_mask(t);
        let masks = DecoderMasks {
            tgt_mask: Some(causal.view()),
            memory_key_padding_mask: src_padding,
            ..Default::default()
        };
        let mut y = w.embeddings.forward(st, tgt)?;
        let mut decoder = Vec::with_capacity(w.decoder.len());
        for layer in &w.decoder {
            let (o, cache) = layer.forward(y.view(), memory.view(), st, masks)?;
            decoder.push(cache);
            y = o;
        }
        // pass 3: final norm and logits
        let yr = y.into_shape_with_order((b * t, c)).expect("rows");
        let (hidden, decoder_norm) =
            w.decoder_norm
                .forward(st, yr.view(), cfg.layer.layer_norm_eps)?;
        let logits = w.lm_head.forward(st, hidden.view())?;
        let cache = EncoderDecoderCache {
            src: src.to_owned(),
            tgt: tgt.to_owned(),
            src_padding: src_padding.map(|p| p.to_owned()),
            encoder,
            encoder_norm,
            memory,
            decoder,
            decoder_norm,
            hidden,
        };
        Ok((
            logits
                .into_shape_with_order((b, t, cfg.vocab_size))
                .expect("rows"),
            cache,
        ))
    }

    /// The named gradients given `dlogits` `[B, T, V]`.
    fn gradients(
        &self,
        dlogits: ArrayView3<F>,
        cache: &EncoderDecoderCache<F>,
    ) -> Result<NamedGrads<F>> {
        let cfg = &self.config;
        let ((b, s_len), (_, t)) = (cache.src.dim(), cache.tgt.dim());
        let (c, v) = (cfg.layer.d_model, cfg.vocab_size);
        if dlogits.dim() != (b, t, v) {
            return Err(Error::shape(format!(
                "encoder-decoder backward: dlogits has shape {:?}, expected [{b}, {t}, {v}]",
                dlogits.shape()
            )));
        }
        let st = &self.params;
        let w = EncoderDecoderWeights::new(&Scope::root(), cfg);
        let mut grads = NamedGrads::new();
        // pass 3 was logits = decoder.norm(y) · lm_headᵀ
        let dl = dlogits.to_shape((b * t, v)).expect("rows");
        let dh = w
            .lm_head
            .backward(st, dl.view(), cache.hidden.view(), &mut grads)?;
        let dy = w
            .decoder_norm
            .backward(st, dh.view(), &cache.decoder_norm, &mut grads)?;
        // pass 2 was the decoder stack; every layer's cross-attention adds to dmemory
        let mut dy = dy.into_shape_with_order((b, t, c)).expect("rows");
        let mut dmem = Array3::<F>::zeros((b, s_len, c));
        for (layer, lcache) in w.decoder.iter().zip(&cache.decoder).rev() {
            let (dx, dm) = layer.backward(dy.view(), lcache, st, &mut grads)?;
            dmem += &dm;
            dy = dx;
        }
        w.embeddings
            .backward(dy.view(), cache.tgt.view(), &mut grads);
        // pass 1 was the encoder stack and its norm
        let dm = dmem.into_shape_with_order((b * s_len, c)).expect("rows");
        let ds = w
            .encoder_norm
            .backward(st, dm.view(), &cache.encoder_norm, &mut grads)?;
        let ds = stack_backward(
            ds.into_shape_with_order((b, s_len, c)).expect("rows"),
            &cache.encoder,
            st,
            &w.encoder,
            &mut grads,
        )?;
        // The source and target share tok_emb and pos_emb: both gradients are pushed and add up.
        w.embeddings
            .backward(ds.view(), cache.src.view(), &mut grads);
        Ok(grads)
    }
}

/// The [`Model`] calls with the inputs as separate arguments, so callers need not import the
/// trait.
impl<F: Real> EncoderDecoder<F> {
    /// A model with weights drawn from `seed`.
    pub fn new(config: EncoderDecoderConfig, seed: u64) -> Result<Self> {
        <Self as Model<F>>::new(config, seed)
    }

    /// A model using the given parameters, checked strictly.
    pub fn from_params(config: EncoderDecoderConfig, params: ParamStore<F>) -> Result<Self> {
        <Self as Model<F>>::from_params(config, params)
    }

    /// Logits `[B, T, V]` for `tgt` given `src`; `src_padding` `[B, S]` marks source padding.
    pub fn forward(
        &self,
        src: ArrayView2<usize>,
        tgt: ArrayView2<usize>,
        src_padding: Option<ArrayView2<bool>>,
    ) -> Result<(Array3<F>, EncoderDecoderCache<F>)> {
        Model::forward(
            self,
            EncoderDecoderInput {
                src,
                tgt,
                src_padding,
            },
        )
    }

    /// The named gradients given `dlogits` `[B, T, V]`.
    pub fn gradients(
        &self,
        dlogits: ArrayView3<F>,
        cache: &EncoderDecoderCache<F>,
    ) -> Result<NamedGrads<F>> {
        Model::gradients(self, dlogits, cache)
    }

    /// Forward, loss and backward; gradients are **added** to `self.params`.
    pub fn loss_and_backward(
        &mut self,
        src: ArrayView2<usize>,
        tgt_in: ArrayView2<usize>,
        targets: ArrayView2<i64>,
        src_padding: Option<ArrayView2<bool>>,
    ) -> Result<F> {
        let input = EncoderDecoderInput {
            src,
            tgt: tgt_in,
            src_padding,
        };
        Model::loss_and_backward(self, input, targets)
    }
}
