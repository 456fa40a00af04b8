//! Encoder-only model (BERT-like) with a masked-token prediction head.
//!
//! ```text
//! x₀ = tok_emb[ids] + pos_emb[0..T]                 ids [B, T] with some tokens replaced by [MASK]
//! xᵢ = EncoderLayerᵢ(xᵢ₋₁, key padding mask)        no causal mask: every token sees both sides
//! h  = ln_f(x_L)
//! logits = h · lm_headᵀ + lm_head.bias              [B, T, V]
//! loss = cross_entropy(logits, targets)             targets = the original token at masked
//!                                                   positions, −100 (ignored) elsewhere
//! ```
//!
//! Parameter names: `tok_emb.weight`, `pos_emb.weight`, `layers.{i}.*` (as the decoder-only
//! model), `ln_f.weight|bias`, `lm_head.weight` `[V, C]`, `lm_head.bias` `[V]`.

use super::{
    check_ids, check_size, stack, stack_backward, stack_forward, validate_common, Embeddings,
    Model, ModelConfig,
};
use crate::error::{Error, Result};
use crate::layers::encoder_layer::{EncoderLayer, EncoderLayerCache};
use crate::layers::{deserialize_layer, LayerConfig, LinearWeights, NormWeights};
use crate::ops::cross_entropy::IGNORE_INDEX;
use crate::ops::layer_norm::LayerNormCache;
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use crate::rng::Rng;
use crate::scope::{self, declare, Decl, Scope};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3};
use serde::{Deserialize, Deserializer, Serialize};

/// Sizes of an encoder-only model. In JSON the layer's fields sit beside the model's, as one
/// flat object (see [`crate::models::decoder_only::DecoderOnlyConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EncoderOnlyConfig {
    /// Number of distinct tokens, V (including the mask token). Default 64.
    pub vocab_size: usize,
    /// Every layer's sizes and options. Default C = 64, H = 4, F = 256, GELU (as BERT),
    /// post-norm (BERT is post-norm), eps 1e-5.
    #[serde(flatten, deserialize_with = "layer_or_default")]
    pub layer: LayerConfig,
    /// Layers L. Default 2.
    pub n_layers: usize,
    /// Longest sequence. Default 64.
    pub max_len: usize,
}

impl Default for EncoderOnlyConfig {
    fn default() -> Self {
        EncoderOnlyConfig {
            vocab_size: 64,
            layer: LayerConfig {
                norm_first: false,
                ..LayerConfig::default()
            },
            n_layers: 2,
            max_len: 64,
        }
    }
}

/// The flattened layer fields, each missing one taken from [`EncoderOnlyConfig::default`].
fn layer_or_default<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<LayerConfig, D::Error> {
    deserialize_layer(d, EncoderOnlyConfig::default().layer)
}

impl EncoderOnlyConfig {
    /// Checks every invariant.
    pub fn validate(&self) -> Result<()> {
        validate_common(
            Self::NAME,
            self.vocab_size,
            self.max_len,
            &[("n_layers", self.n_layers)],
            &self.layer,
        )?;
        check_size(Self::NAME, &self.param_decls())
    }
    /// Every parameter's name, shape and initialisation, in declaration order.
    pub fn param_decls(&self) -> Vec<Decl> {
        declare("", |s| EncoderOnlyWeights::new(s, self)).1
    }
    /// Every parameter's name and shape.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        scope::shapes(&self.param_decls())
    }
}

super::model_config!(EncoderOnlyConfig, "encoder-only model");

/// The model's parameters, declared once (see [`crate::scope`]).
#[derive(Debug, Clone)]
pub struct EncoderOnlyWeights {
    /// `tok_emb.weight`, `pos_emb.weight`
    pub embeddings: Embeddings,
    /// `layers.{i}.*`
    pub layers: Vec<EncoderLayer>,
    /// `ln_f.*`, the final LayerNorm.
    pub ln_f: NormWeights,
    /// `lm_head.weight` `[V, C]` and `lm_head.bias` `[V]`.
    pub lm_head: LinearWeights,
}

impl EncoderOnlyWeights {
    /// Declares every parameter of a model of `cfg` under `s`.
    pub fn new(s: &Scope, cfg: &EncoderOnlyConfig) -> Self {
        let (v, c) = (cfg.vocab_size, cfg.layer.d_model);
        EncoderOnlyWeights {
            embeddings: Embeddings::new(s, v, cfg.max_len, c),
            layers: stack(&s.sub("layers"), cfg.n_layers, |l| {
                EncoderLayer::new(l, &cfg.layer)
            }),
            ln_f: NormWeights::new(&s.sub("ln_f"), c),
            lm_head: LinearWeights::new(&s.sub("lm_head"), c, v, true),
        }
    }
}

/// Everything a forward pass computed.
#[derive(Debug, Clone)]
pub struct EncoderOnlyCache<F> {
    /// Input ids `[B, T]`.
    pub ids: Array2<usize>,
    /// Embeddings `[B, T, C]`.
    pub embeddings: Array3<F>,
    /// One cache per layer.
    pub layers: Vec<EncoderLayerCache<F>>,
    /// Final LayerNorm.
    pub ln_f: LayerNormCache<F>,
    /// ln_f output `[B·T, C]`.
    pub hidden: Array2<F>,
}

/// An encoder-only model.
#[derive(Debug, Clone)]
pub struct EncoderOnly<F> {
    /// Sizes.
    pub config: EncoderOnlyConfig,
    /// Parameters and gradients.
    pub params: ParamStore<F>,
}

/// What one forward pass of an encoder-only model reads.
#[derive(Debug, Clone, Copy)]
pub struct EncoderOnlyInput<'a> {
    /// Token ids `[B, T]`, some of them replaced by the mask token.
    pub ids: ArrayView2<'a, usize>,
    /// `[B, T]`, `true` at padding tokens that no one attends to.
    pub padding: Option<ArrayView2<'a, bool>>,
}

impl<F: Real> Model<F> for EncoderOnly<F> {
    type Config = EncoderOnlyConfig;
    type Input<'a> = EncoderOnlyInput<'a>;
    type Cache = EncoderOnlyCache<F>;

    fn from_parts(config: EncoderOnlyConfig, params: ParamStore<F>) -> Self {
        EncoderOnly { config, params }
    }
    fn config(&self) -> &EncoderOnlyConfig {
        &self.config
    }
    fn params(&self) -> &ParamStore<F> {
        &self.params
    }
    fn params_mut(&mut self) -> &mut ParamStore<F> {
        &mut self.params
    }

    /// Logits `[B, T, V]`; `padding` `[B, T]` marks padding tokens (`true`) that no one attends to.
    fn forward(&self, input: EncoderOnlyInput) -> Result<(Array3<F>, EncoderOnlyCache<F>)> {
        let EncoderOnlyInput { ids, padding } = input;
        let cfg = &self.config;
        check_ids(
            EncoderOnlyConfig::NAME,
            "ids",
            ids,
            cfg.vocab_size,
            cfg.max_len,
        )?;
        let (b, t) = ids.dim();
        if let Some(p) = padding {
            if p.dim() != (b, t) {
                return Err(Error::shape(format!(
                    "encoder-only model: padding mask has shape {:?}, expected [{b}, {t}]",
                    p.shape()
                )));
            }
        }
        let s = &self.params;
        let w = EncoderOnlyWeights::new(&Scope::root(), cfg);
        // pass 1: embeddings
        let x0 = w.embeddings.forward(s, ids)?;
        // pass 2: the layer stack, every position seeing every other one
        let (x, layers) = stack_forward(x0.clone(), s, &w.layers, None, padding)?;
        // pass 3: final LayerNorm
        let xr = x
            .into_shape_with_order((b * t, cfg.layer.d_model))
            .expect("rows");
        let (hidden, ln_f) = w.ln_f.forward(s, xr.view(), cfg.layer.layer_norm_eps)?;
        // pass 4: the prediction head
        let logits = w.lm_head.forward(s, hidden.view())?;
        Ok((
            logits
                .into_shape_with_order((b, t, cfg.vocab_size))
                .expect("rows"),
            EncoderOnlyCache {
                ids: ids.to_owned(),
                embeddings: x0,
                layers,
                ln_f,
                hidden,
            },
        ))
    }

    /// The named gradients given `dlogits` `[B, T, V]`.
    fn gradients(
        &self,
        dlogits: ArrayView3<F>,
        cache: &EncoderOnlyCache<F>,
    ) -> Result<NamedGrads<F>> {
        let cfg = &self.config;
        let (b, t) = cache.ids.dim();
        if dlogits.dim() != (b, t, cfg.vocab_size) {
            return Err(Error::shape(format!(
                "encoder-only backward: dlogits has shape {:?}, expected [{b}, {t}, {}]",
                dlogits.shape(),
                cfg.vocab_size
            )));
        }
        let s = &self.params;
        let w = EncoderOnlyWeights::new(&Scope::root(), cfg);
        let mut grads = NamedGrads::new();
        let dl = dlogits.to_shape((b * t, cfg.vocab_size)).expect("rows");
        // pass 4 was logits = h · lm_headᵀ + bias
        let dh = w
            .lm_head
            .backward(s, dl.view(), cache.hidden.view(), &mut grads)?;
        // pass 3 was ln_f
        let dx = w.ln_f.backward(s, dh.view(), &cache.ln_f, &mut grads)?;
        // pass 2 was the stack, pass 1 the embeddings
        let dx = dx
            .into_shape_with_order((b, t, cfg.layer.d_model))
            .expect("rows");
        let dx0 = stack_backward(dx, &cache.layers, s, &w.layers, &mut grads)?;
        w.embeddings
            .backward(dx0.view(), cache.ids.view(), &mut grads);
        Ok(grads)
    }
}

/// The [`Model`] calls with the inputs as separate arguments, so callers need not import the
/// trait.
impl<F: Real> EncoderOnly<F> {
    /// A model with weights drawn from `seed`.
    pub fn new(config: EncoderOnlyConfig, seed: u64) -> Result<Self> {
        <Self as Model<F>>::new(config, seed)
    }

    /// A model using the given parameters, checked strictly.
    pub fn from_params(config: EncoderOnlyConfig, params: ParamStore<F>) -> Result<Self> {
        <Self as Model<F>>::from_params(config, params)
    }

    /// Logits `[B, T, V]`; `padding` `[B, T]` marks padding tokens (`true`) that no one attends to.
    pub fn forward(
        &self,
        ids: ArrayView2<usize>,
        padding: Option<ArrayView2<bool>>,
    ) -> Result<(Array3<F>, EncoderOnlyCache<F>)> {
        Model::forward(self, EncoderOnlyInput { ids, padding })
    }

    /// The named gradients given `dlogits` `[B, T, V]`.
    pub fn gradients(
        &self,
        dlogits: ArrayView3<F>,
        cache: &EncoderOnlyCache<F>,
    ) -> Result<NamedGrads<F>> {
        Model::gradients(self, dlogits, cache)
    }

    /// Mean masked-token cross-entropy of the logits for `ids` against `targets` `[B, T]`
    /// (−100 skips a position), without gradients.
    pub fn loss(
        &self,
        ids: ArrayView2<usize>,
        targets: ArrayView2<i64>,
        padding: Option<ArrayView2<bool>>,
    ) -> Result<F> {
        Model::loss(self, EncoderOnlyInput { ids, padding }, targets)
    }

    /// Forward, masked-token loss and backward; gradients are **added** to `self.params`.
    pub fn loss_and_backward(
        &mut self,
        ids: ArrayView2<usize>,
        targets: ArrayView2<i64>,
        padding: Option<ArrayView2<bool>>,
    ) -> Result<F> {
        Model::loss_and_backward(self, EncoderOnlyInput { ids, padding }, targets)
    }
}

/// Masks tokens for masked-token training: each position is chosen with probability `rate`
/// (at least one per sequence), its input replaced by `mask_id` and its target set to the
/// original token; every other target is −100 (ignored).
pub fn mask_tokens(
    ids: ArrayView2<usize>,
    mask_id: usize,
    rate: f64,
    rng: &mut Rng,
) -> (Array2<usize>, Array2<i64>) {
    let mut inputs = ids.to_owned();
    let mut targets = Array2::from_elem(ids.raw_dim(), IGNORE_INDEX);
    for (bi, row) in ids.rows().into_iter().enumerate() {
        let forced = rng.below(row.len().max(1));
        for (t, &id) in row.iter().enumerate() {
            if t == forced || rng.uniform() < rate {
                inputs[[bi, t]] = mask_id;
                targets[[bi, t]] = id as i64;
            }
        }
    }
    (inputs, targets)
}
