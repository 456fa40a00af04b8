//! Decoder-only language model (GPT-like): predict every next token from the ones before it.
//!
//! ```text
//! x₀ = tok_emb[ids] + pos_emb[0..T]                 ids [B, T], x [B, T, C]
//! xᵢ = EncoderLayerᵢ(xᵢ₋₁, causal mask)             i = 1 … L  (self-attention may only look left)
//! h  = ln_f(x_L)
//! logits = h · lm_headᵀ                             lm_head.weight [V, C], logits [B, T, V]
//! loss = cross_entropy(logits, targets)             targets[b, t] = ids[b, t + 1] for training
//! ```
//!
//! Parameter names (PyTorch `state_dict`): `tok_emb.weight` `[V, C]`, `pos_emb.weight` `[max_len, C]`,
//! `layers.{i}.self_attn.in_proj_weight` `[3C, C]`, `…in_proj_bias` `[3C]`, `…out_proj.weight` `[C, C]`,
//! `…out_proj.bias` `[C]`, `layers.{i}.linear1.weight|bias` `[F, C]` | `[F]`, `linear2.weight|bias`
//! `[C, F]` | `[C]`, `norm1.weight|bias`, `norm2.weight|bias` `[C]`, `ln_f.weight|bias` `[C]`,
//! `lm_head.weight` `[V, C]` (no bias). The PyTorch twin is in `tests/fixtures/make_fixtures.py`.

use super::{
    check_ids, check_size, stack, stack_backward_recorded, stack_forward, validate_common,
    Embeddings, LayerBlame, Model, ModelConfig,
};
use crate::error::{Error, Result};
use crate::layers::encoder_layer::{EncoderLayer, EncoderLayerCache};
use crate::layers::{deserialize_layer, LayerConfig, LinearWeights, NormWeights};
use crate::ops::attention::causal_mask;
use crate::ops::layer_norm::LayerNormCache;
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use crate::scope::{self, declare, Decl, Scope};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3};
use serde::{Deserialize, Deserializer, Serialize};

/// Sizes of a decoder-only model. The defaults are the playground's "small" preset.
///
/// In JSON the layer's fields sit beside the model's, as one flat object:
/// `{"vocab_size", "d_model", "n_heads", "d_ff", "activation", "norm_first", "layer_norm_eps",
/// "n_layers", "max_len"}`; a missing field takes the default below.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecoderOnlyConfig {
    /// Number of distinct tokens, V. Default 64.
    pub vocab_size: usize,
    /// Every layer's sizes and options. Default [`LayerConfig::default`]: C = 64, H = 4,
    /// F = 256 (4 · C), GELU (as GPT-2), pre-norm (GPT-2 style), eps 1e-5.
    #[serde(flatten, deserialize_with = "layer_or_default")]
    pub layer: LayerConfig,
    /// Number of layers, L. Default 2.
    pub n_layers: usize,
    /// Longest sequence (rows of `pos_emb`). Default 64.
    pub max_len: usize,
}

impl Default for DecoderOnlyConfig {
    fn default() -> Self {
        DecoderOnlyConfig {
            vocab_size: 64,
            layer: LayerConfig::default(),
            n_layers: 2,
            max_len: 64,
        }
    }
}

/// The flattened layer fields, each missing one taken from [`DecoderOnlyConfig::default`].
fn layer_or_default<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<LayerConfig, D::Error> {
    deserialize_layer(d, DecoderOnlyConfig::default().layer)
}

impl DecoderOnlyConfig {
    /// Checks every invariant, with a message naming the value.
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
        declare("", |s| DecoderOnlyWeights::new(s, self)).1
    }

    /// Every parameter's name and shape.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        scope::shapes(&self.param_decls())
    }
}

super::model_config!(DecoderOnlyConfig, "decoder-only model");

/// The model's parameters, declared once (see [`crate::scope`]).
#[derive(Debug, Clone)]
pub struct DecoderOnlyWeights {
    /// `tok_emb.weight`, `pos_emb.weight`
    pub embeddings: Embeddings,
    /// `layers.{i}.*`
    pub layers: Vec<EncoderLayer>,
    /// `ln_f.*`, the final LayerNorm.
    pub ln_f: NormWeights,
    /// `lm_head.weight` `[V, C]`, no bias.
    pub lm_head: LinearWeights,
}

impl DecoderOnlyWeights {
    /// Declares every parameter of a model of `cfg` under `s`.
    pub fn new(s: &Scope, cfg: &DecoderOnlyConfig) -> Self {
        let (v, c) = (cfg.vocab_size, cfg.layer.d_model);
        DecoderOnlyWeights {
            embeddings: Embeddings::new(s, v, cfg.max_len, c),
            layers: stack(&s.sub("layers"), cfg.n_layers, |l| {
                EncoderLayer::new(l, &cfg.layer)
            }),
            ln_f: NormWeights::new(&s.sub("ln_f"), c),
            lm_head: LinearWeights::new(&s.sub("lm_head"), c, v, false),
        }
    }
}

/// Everything a forward pass computed: what backward needs and what the page draws.
#[derive(Debug, Clone)]
pub struct DecoderOnlyCache<F> {
    /// The input ids `[B, T]`.
    pub ids: Array2<usize>,
    /// Token + position embeddings `[B, T, C]`.
    pub embeddings: Array3<F>,
    /// One cache per layer (attention heads, sublayer outputs).
    pub layers: Vec<EncoderLayerCache<F>>,
    /// The final LayerNorm's cache.
    pub ln_f: LayerNormCache<F>,
    /// ln_f's output `[B·T, C]`, the input of `lm_head`.
    pub hidden: Array2<F>,
}

/// A decoder-only model: its configuration and its parameters.
#[derive(Debug, Clone)]
pub struct DecoderOnly<F> {
    /// The sizes it was built with.
    pub config: DecoderOnlyConfig,
    /// Its parameters and their gradients.
    pub params: ParamStore<F>,
}

impl<F: Real> Model<F> for DecoderOnly<F> {
    type Config = DecoderOnlyConfig;
    /// Token ids `[B, T]`.
    type Input<'a> = ArrayView2<'a, usize>;
    type Cache = DecoderOnlyCache<F>;

    fn from_parts(config: DecoderOnlyConfig, params: ParamStore<F>) -> Self {
        DecoderOnly { config, params }
    }
    fn config(&self) -> &DecoderOnlyConfig {
        &self.config
    }
    fn params(&self) -> &ParamStore<F> {
        &self.params
    }
    fn params_mut(&mut self) -> &mut ParamStore<F> {
        &mut self.params
    }

    /// Logits `[B, T, V]` for `ids` `[B, T]`, and the cache.
    fn forward(&self, ids: ArrayView2<usize>) -> Result<(Array3<F>, DecoderOnlyCache<F>)> {
        let cfg = &self.config;
        check_ids(
            DecoderOnlyConfig::NAME,
            "ids",
            ids,
            cfg.vocab_size,
            cfg.max_len,
        )?;
        let (b, t) = ids.dim();
        let s = &self.params;
        let w = DecoderOnlyWeights::new(&Scope::root(), cfg);
        // pass 1: embeddings
        let x0 = w.embeddings.forward(s, ids)?;
        // pass 2: the layer stack, each position looking only at itself and earlier ones
        let mask = causal_mask(t);
        let (x, layers) = stack_forward(x0.clone(), s, &w.layers, Some(mask.view()), None)?;
        // pass 3: final LayerNorm
        let xr = x
            .into_shape_with_order((b * t, cfg.layer.d_model))
            .expect("rows");
        let (hidden, ln_f) = w.ln_f.forward(s, xr.view(), cfg.layer.layer_norm_eps)?;
        // pass 4: logits over the vocabulary
        let logits = w.lm_head.forward(s, hidden.view())?;
        let logits = logits
            .into_shape_with_order((b, t, cfg.vocab_size))
            .expect("rows");
        Ok((
            logits,
            DecoderOnlyCache {
                ids: ids.to_owned(),
                embeddings: x0,
                layers,
                ln_f,
                hidden,
            },
        ))
    }

    /// The named gradients of every parameter given `dlogits`, without touching the store.
    fn gradients(
        &self,
        dlogits: ArrayView3<F>,
        cache: &DecoderOnlyCache<F>,
    ) -> Result<NamedGrads<F>> {
        Ok(self.gradients_recorded(dlogits, cache, false)?.0)
    }
}

/// What the backward pass sends down the residual stream, stage by stage, recorded by
/// [`DecoderOnly::gradients_recorded`] (L is the loss whose `dlogits` were given).
#[derive(Debug, Clone)]
pub struct BackwardRecord<F> {
    /// ∂L/∂h, h = ln_f's output (lm_head's input), `[B·T, C]`.
    pub hidden: Array2<F>,
    /// ∂L/∂x_L, ln_f's input (the last layer's output), `[B, T, C]`.
    pub top: Array3<F>,
    /// Around each layer, bottom first.
    pub layers: Vec<LayerBlame<F>>,
    /// ∂L/∂x₀, `x₀ = tok_emb[ids] + pos_emb`, `[B, T, C]`.
    pub embeddings: Array3<F>,
}

impl<F: Real> DecoderOnly<F> {
    /// The named gradients of every parameter given `dlogits` (as [`Model::gradients`], which
    /// calls this with `record` false), and when `record`, the gradient of the residual stream
    /// at every stage of the way down ([`BackwardRecord`]). Recording does not change the
    /// gradients, bit for bit.
    pub fn gradients_recorded(
        &self,
        dlogits: ArrayView3<F>,
        cache: &DecoderOnlyCache<F>,
        record: bool,
    ) -> Result<(NamedGrads<F>, Option<BackwardRecord<F>>)> {
        let cfg = &self.config;
        let (b, t) = cache.ids.dim();
        if dlogits.dim() != (b, t, cfg.vocab_size) {
            return Err(Error::shape(format!(
                "decoder-only backward: dlogits has shape {:?}, expected [{b}, {t}, {}]",
                dlogits.shape(),
                cfg.vocab_size
            )));
        }
        let s = &self.params;
        let w = DecoderOnlyWeights::new(&Scope::root(), cfg);
        let mut grads = NamedGrads::new();
        let dl = dlogits.to_shape((b * t, cfg.vocab_size)).expect("rows");
        // pass 4 was logits = h · lm_headᵀ
        let dh = w
            .lm_head
            .backward(s, dl.view(), cache.hidden.view(), &mut grads)?;
        // pass 3 was h = ln_f(x)
        let dx = w.ln_f.backward(s, dh.view(), &cache.ln_f, &mut grads)?;
        // pass 2 was the layer stack
        let dx = dx
            .into_shape_with_order((b, t, cfg.layer.d_model))
            .expect("rows");
        let mut layers = vec![];
        let top = record.then(|| dx.clone());
        let dx0 = stack_backward_recorded(
            dx,
            &cache.layers,
            s,
            &w.layers,
            &mut grads,
            record.then_some(&mut layers),
        )?;
        // pass 1 was the embeddings
        w.embeddings
            .backward(dx0.view(), cache.ids.view(), &mut grads);
        let rec = top.map(|top| BackwardRecord {
            hidden: dh,
            top,
            layers,
            embeddings: dx0,
        });
        Ok((grads, rec))
    }
}

/// The [`Model`] calls under their own names, so callers need not import the trait.
impl<F: Real> DecoderOnly<F> {
    /// A model with weights drawn from `seed` (PyTorch's default initialisations, drawn in
    /// sorted-name order).
    pub fn new(config: DecoderOnlyConfig, seed: u64) -> Result<Self> {
        <Self as Model<F>>::new(config, seed)
    }

    /// A model using the given parameters; an error names any missing, unknown or mis-shaped key.
    pub fn from_params(config: DecoderOnlyConfig, params: ParamStore<F>) -> Result<Self> {
        <Self as Model<F>>::from_params(config, params)
    }

    /// Logits `[B, T, V]` for `ids` `[B, T]`, and the cache.
    pub fn forward(&self, ids: ArrayView2<usize>) -> Result<(Array3<F>, DecoderOnlyCache<F>)> {
        Model::forward(self, ids)
    }

    /// Backward from `dlogits` `[B, T, V]`; gradients are **added** to `self.params`.
    pub fn backward(&mut self, dlogits: ArrayView3<F>, cache: &DecoderOnlyCache<F>) -> Result<()> {
        Model::backward(self, dlogits, cache)
    }

    /// The named gradients of every parameter given `dlogits`, without touching the store.
    pub fn gradients(
        &self,
        dlogits: ArrayView3<F>,
        cache: &DecoderOnlyCache<F>,
    ) -> Result<NamedGrads<F>> {
        Model::gradients(self, dlogits, cache)
    }

    /// Mean cross-entropy of the logits for `ids` against `targets` `[B, T]`
    /// ([`crate::ops::cross_entropy::IGNORE_INDEX`] = −100 skips a position), without gradients.
    pub fn loss(&self, ids: ArrayView2<usize>, targets: ArrayView2<i64>) -> Result<F> {
        Model::loss(self, ids, targets)
    }

    /// Forward, loss and backward in one call; gradients are **added** to `self.params`
    /// (call `params.zero_grad()` before if the last step's gradients are still there).
    pub fn loss_and_backward(
        &mut self,
        ids: ArrayView2<usize>,
        targets: ArrayView2<i64>,
    ) -> Result<F> {
        Model::loss_and_backward(self, ids, targets)
    }
}
