//! The three model families of the seed article's module 3, each in its own file:
//!
//! - [`decoder_only`]: GPT-like, predicts the next token with a causal mask.
//! - [`encoder_decoder`]: the original Transformer (`nn.Transformer`): an encoder reads the
//!   source, a decoder writes the target while attending to it.
//! - [`encoder_only`]: BERT-like, sees the whole sentence and fills in masked tokens.
//!
//! All three have one shape, the [`Model`] trait (built from a [`ModelConfig`] and a seed or
//! from parameters; forward to logits `[B, T, V]`; backward from ∂loss/∂logits; a cross-entropy
//! loss), so code that trains, saves or inspects a model can be written once for any of them:
//!
//! ```
//! use lm_playground::models::{decoder_only::DecoderOnly, Model, ModelConfig};
//! use lm_playground::Result;
//! use ndarray::ArrayView2;
//!
//! /// One step of plain gradient descent on any model; returns the loss before the step.
//! fn sgd_step<M: Model<f64>>(m: &mut M, x: M::Input<'_>, y: ArrayView2<i64>) -> Result<f64> {
//!     m.params_mut().zero_grad();
//!     let loss = m.loss_and_backward(x, y)?;
//!     for (_, p) in m.params_mut().iter_mut() {
//!         let g = p.grad.clone();
//!         p.value.scaled_add(-0.1, &g);
//!     }
//!     Ok(loss)
//! }
//!
//! let mut m = DecoderOnly::<f64>::new(Default::default(), 1)?;
//! let ids = ndarray::array![[1usize, 2, 3]];
//! let next = ndarray::array![[2i64, 3, 4]];
//! let first = sgd_step(&mut m, ids.view(), next.view())?;
//! assert!(sgd_step(&mut m, ids.view(), next.view())? < first);
//! assert_eq!(m.params().len(), m.config().param_decls().len());
//! # Ok::<(), lm_playground::Error>(())
//! ```
//!
//! They share the pieces in this file: token + learned position embeddings, a stack of encoder
//! layers, parameter initialisation, and the size limits that keep a link asking for a huge
//! model from freezing a tab.

pub mod decoder_only;
pub mod encoder_decoder;
pub mod encoder_only;

use crate::error::{Error, Result};
use crate::layers::encoder_layer::{EncoderLayer, EncoderLayerCache};
use crate::layers::LayerConfig;
use crate::ops::cross_entropy::{self, IGNORE_INDEX};
use crate::ops::embedding;
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use crate::rng::Rng;
use crate::scope::{self, Decl, Init, Scope, Var2};
use ndarray::{Array2, Array3, ArrayD, ArrayView2, ArrayView3, Axis, IxDyn};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// Largest model the engine will build (scalar parameters): about 80 MB in f32, 4× that with
/// Adam's state and gradients, which still fits in a browser tab.
pub const MAX_PARAMS: usize = 4_000_000;
/// Largest vocabulary.
pub const MAX_VOCAB: usize = 65_536;
/// Largest context length.
pub const MAX_LEN: usize = 4096;
/// Largest number of layers in a stack.
pub const MAX_LAYERS: usize = 48;

// ---------------------------------------------------------------------------------------------
// The shape every model family shares

/// What every model's configuration provides: the layers' sizes, the vocabulary, the context
/// length, its checks and its parameter declarations. It is (de)serialised as one flat JSON
/// object (`{"vocab_size", "d_model", …}`).
pub trait ModelConfig: Copy + Debug + PartialEq + Default + Serialize + DeserializeOwned {
    /// The model's name in messages (`"decoder-only model"`).
    const NAME: &'static str;
    /// Every layer's sizes and options.
    fn layer(&self) -> &LayerConfig;
    /// The vocabulary size V: token ids are below it, logits have V columns.
    fn vocab_size(&self) -> usize;
    /// The longest sequence the model reads.
    fn max_len(&self) -> usize;
    /// Checks every invariant, with a message naming the value.
    fn validate(&self) -> Result<()>;
    /// Every parameter's name, shape and initialisation, in declaration order.
    fn param_decls(&self) -> Vec<Decl>;
    /// Every parameter's name and shape.
    fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        scope::shapes(&self.param_decls())
    }
}

/// Implements [`ModelConfig`] for a config with `layer`, `vocab_size` and `max_len` fields and
/// inherent `validate` / `param_decls` methods (the three model configs are alike in this).
macro_rules! model_config {
    ($cfg:ty, $name:expr) => {
        impl $crate::models::ModelConfig for $cfg {
            const NAME: &'static str = $name;
            fn layer(&self) -> &$crate::layers::LayerConfig {
                &self.layer
            }
            fn vocab_size(&self) -> usize {
                self.vocab_size
            }
            fn max_len(&self) -> usize {
                self.max_len
            }
            fn validate(&self) -> $crate::error::Result<()> {
                <$cfg>::validate(self)
            }
            fn param_decls(&self) -> Vec<$crate::scope::Decl> {
                <$cfg>::param_decls(self)
            }
        }
    };
}
pub(crate) use model_config;

/// A model family: a configuration, its parameters, a forward pass to logits `[B, T, V]` and its
/// hand-written backward. Construction, the loss and the training step are written once here.
///
/// ```text
/// new(config, seed) / from_params(config, params)   checked: config.validate(), the store's keys
/// forward(input)             → (logits [B, T, V], cache)
/// gradients(dlogits, cache)  → named gradients;   backward adds them to params()
/// loss_and_backward(input, targets [B, T])  = mean cross-entropy (−100 skips a position)
/// ```
pub trait Model<F: Real>: Sized {
    /// The sizes and options it is built from.
    type Config: ModelConfig;
    /// What one forward pass reads: token ids `[B, T]`, with a padding mask or a source.
    type Input<'a>: Copy;
    /// What one forward pass keeps for backward and for the page.
    type Cache;

    /// The model from a configuration and parameters as they are, unchecked (the fields are
    /// public anyway); [`Model::new`] and [`Model::from_params`] check.
    fn from_parts(config: Self::Config, params: ParamStore<F>) -> Self;
    /// The sizes it was built with.
    fn config(&self) -> &Self::Config;
    /// Its parameters and their gradients.
    fn params(&self) -> &ParamStore<F>;
    /// Its parameters and their gradients, mutably (for an optimiser).
    fn params_mut(&mut self) -> &mut ParamStore<F>;
    /// Logits `[B, T, V]` for `input`, and the cache.
    fn forward(&self, input: Self::Input<'_>) -> Result<(Array3<F>, Self::Cache)>;
    /// The named gradients of every parameter given `dlogits` `[B, T, V]`, without touching
    /// the store.
    fn gradients(&self, dlogits: ArrayView3<F>, cache: &Self::Cache) -> Result<NamedGrads<F>>;

    /// A model with weights drawn from `seed` (PyTorch's default initialisations, drawn in
    /// sorted-name order).
    fn new(config: Self::Config, seed: u64) -> Result<Self> {
        config.validate()?;
        let params = init_store(&config.param_decls(), seed);
        Ok(Self::from_parts(config, params))
    }

    /// A model using the given parameters; an error names any missing, unknown or mis-shaped
    /// key.
    fn from_params(config: Self::Config, params: ParamStore<F>) -> Result<Self> {
        config.validate()?;
        check_store(Self::Config::NAME, &params, &config.param_decls())?;
        Ok(Self::from_parts(config, params))
    }

    /// Backward from `dlogits` `[B, T, V]`; gradients are **added** to the parameters.
    fn backward(&mut self, dlogits: ArrayView3<F>, cache: &Self::Cache) -> Result<()> {
        let grads = self.gradients(dlogits, cache)?;
        self.params_mut().accumulate_all(grads)
    }

    /// Mean cross-entropy of the logits against `targets` `[B, T]` ([`IGNORE_INDEX`] = −100
    /// skips a position), without gradients.
    fn loss(&self, input: Self::Input<'_>, targets: ArrayView2<i64>) -> Result<F> {
        let (logits, _) = self.forward(input)?;
        Ok(sequence_loss(&logits, targets, false)?.0)
    }

    /// Forward, loss and backward in one call; gradients are **added** to the parameters
    /// (zero them first if the last step's gradients are still there).
    fn loss_and_backward(&mut self, input: Self::Input<'_>, targets: ArrayView2<i64>) -> Result<F> {
        let (logits, cache) = self.forward(input)?;
        let (loss, dlogits) = sequence_loss(&logits, targets, true)?;
        self.backward(dlogits.expect("with_grad").view(), &cache)?;
        Ok(loss)
    }
}

// ---------------------------------------------------------------------------------------------
// Pieces the models share

/// Checks the sizes every model shares; `what` names the model in messages.
pub(crate) fn validate_common(
    what: &str,
    vocab: usize,
    max_len: usize,
    layers: &[(&str, usize)],
    layer: &LayerConfig,
) -> Result<()> {
    layer.validate().map_err(|e| e.context(what))?;
    if vocab == 0 || vocab > MAX_VOCAB {
        return Err(Error::config(format!(
            "{what}: vocab_size {vocab} must be between 1 and {MAX_VOCAB}"
        )));
    }
    if max_len == 0 || max_len > MAX_LEN {
        return Err(Error::config(format!(
            "{what}: max_len {max_len} must be between 1 and {MAX_LEN}"
        )));
    }
    for &(name, n) in layers {
        if n > MAX_LAYERS {
            return Err(Error::config(format!(
                "{what}: {name} {n} is more than {MAX_LAYERS}"
            )));
        }
    }
    Ok(())
}

/// Checks that the declared parameters' total size is within [`MAX_PARAMS`].
pub(crate) fn check_size(what: &str, decls: &[Decl]) -> Result<()> {
    let mut total: usize = 0;
    for d in decls {
        let n = d.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        total = n.and_then(|n| total.checked_add(n)).unwrap_or(usize::MAX);
    }
    if total > MAX_PARAMS {
        return Err(Error::config(format!(
            "{what}: {total} parameters is more than the limit of {MAX_PARAMS}"
        )));
    }
    Ok(())
}

/// A store with every declared parameter initialised from `seed` by its [`Init`], which the
/// layers declare as PyTorch's module defaults:
///
/// ```text
/// *.in_proj_weight            Xavier uniform  U(±√(6 / (C + 3C)))   (nn.MultiheadAttention)
/// *.in_proj_bias, *out_proj.bias   0
/// other *.weight of a linear  U(±1/√in)        (nn.Linear; bias likewise)
/// norm*.weight / ln_f.weight  1, bias 0        (nn.LayerNorm)
/// *_emb.weight                N(0, 1)          (nn.Embedding)
/// ```
///
/// Parameters are drawn in sorted-name order from one generator, so the same seed and config
/// give the same weights everywhere.
pub(crate) fn init_store<F: Real>(decls: &[Decl], seed: u64) -> ParamStore<F> {
    let mut sorted: Vec<&Decl> = decls.iter().collect();
    crate::sorting::sort_by(&mut sorted, |a, b| a.name.cmp(&b.name));
    let mut rng = Rng::new(seed);
    let mut store = ParamStore::new();
    for d in sorted {
        let data = d.init.draw(&d.shape, &mut rng);
        store.insert(
            d.name.clone(),
            ArrayD::from_shape_vec(IxDyn(&d.shape), data).expect("shape"),
        );
    }
    store
}

/// Checks that `store` has exactly the declared parameters.
pub(crate) fn check_store<F: Real>(
    what: &str,
    store: &ParamStore<F>,
    decls: &[Decl],
) -> Result<()> {
    let map = store.to_map();
    let mut probe = ParamStore::<F>::new();
    for d in decls {
        probe.insert(d.name.clone(), ArrayD::zeros(IxDyn(&d.shape)));
    }
    probe.load_map(&map).map_err(|e| e.context(what))
}

/// Checks token ids `[B, T]` against the vocabulary and the context length.
pub(crate) fn check_ids(
    what: &str,
    arg: &str,
    ids: ArrayView2<usize>,
    vocab: usize,
    max_len: usize,
) -> Result<()> {
    let (b, t) = ids.dim();
    if b == 0 || t == 0 {
        return Err(Error::shape(format!(
            "{what}: {arg} has shape [{b}, {t}]; it needs at least one sequence of one token"
        )));
    }
    if t > max_len {
        return Err(Error::value(format!(
            "{what}: {arg} has {t} tokens but max_len is {max_len}"
        )));
    }
    if let Some(((i, j), &id)) = ids.indexed_iter().find(|(_, &id)| id >= vocab) {
        return Err(Error::value(format!(
            "{what}: {arg}[{i}][{j}] = {id} is not a token id (vocab_size is {vocab})"
        )));
    }
    Ok(())
}

/// The token and learned position embeddings, `tok_emb.weight` `[V, C]` and `pos_emb.weight`
/// `[max_len, C]`, both N(0, 1) as `nn.Embedding`.
#[derive(Debug, Clone)]
pub struct Embeddings {
    /// `tok_emb.weight` `[V, C]`
    pub tok_emb: Var2,
    /// `pos_emb.weight` `[max_len, C]`
    pub pos_emb: Var2,
}

impl Embeddings {
    /// Declares both tables under `s`.
    pub fn new(s: &Scope, vocab: usize, max_len: usize, c: usize) -> Self {
        Embeddings {
            tok_emb: s.sub("tok_emb").var2("weight", [vocab, c], Init::Normal),
            pos_emb: s.sub("pos_emb").var2("weight", [max_len, c], Init::Normal),
        }
    }

    /// `x[b, t] = tok_emb[ids[b, t]] + pos_emb[t]`, `[B, T, C]`.
    pub fn forward<F: Real>(
        &self,
        store: &ParamStore<F>,
        ids: ArrayView2<usize>,
    ) -> Result<Array3<F>> {
        let (b, t) = ids.dim();
        let tok = self.tok_emb.get(store)?;
        let pos = self.pos_emb.get(store)?;
        let flat: Vec<usize> = ids.iter().copied().collect();
        let mut x = embedding::forward(&flat, tok)?;
        let c = x.ncols();
        let p = pos.slice(ndarray::s![0..t, ..]);
        for mut chunk in x.axis_chunks_iter_mut(Axis(0), t) {
            chunk += &p;
        }
        Ok(x.into_shape_with_order((b, t, c)).expect("rows"))
    }

    /// Gradients of [`Embeddings::forward`]: the token table by scatter-add, positions summed
    /// over the batch.
    pub fn backward<F: Real>(
        &self,
        dx: ArrayView3<F>,
        ids: ArrayView2<usize>,
        grads: &mut NamedGrads<F>,
    ) {
        let (b, t, c) = dx.dim();
        let rows = dx.to_shape((b * t, c)).expect("rows");
        let flat: Vec<usize> = ids.iter().copied().collect();
        let vocab = self.tok_emb.shape()[0];
        grads.push(
            self.tok_emb
                .grad(embedding::backward(rows.view(), &flat, vocab)),
        );
        let max_len = self.pos_emb.shape()[0];
        let mut dpos = Array2::zeros((max_len, c));
        dpos.slice_mut(ndarray::s![0..t, ..])
            .assign(&dx.sum_axis(Axis(0)));
        grads.push(self.pos_emb.grad(dpos));
    }
}

/// The layers of a stack, `{s}.0`, `{s}.1`, … (`layers.0`, `transformer.encoder.layers.0`).
pub(crate) fn stack<T>(s: &Scope, n: usize, new: impl Fn(&Scope) -> T) -> Vec<T> {
    (0..n).map(|i| new(&s.sub(i))).collect()
}

/// A stack of encoder layers; returns the output and every layer's cache.
pub(crate) fn stack_forward<F: Real>(
    mut x: Array3<F>,
    store: &ParamStore<F>,
    layers: &[EncoderLayer],
    mask: Option<ArrayView2<bool>>,
    kpm: Option<ArrayView2<bool>>,
) -> Result<(Array3<F>, Vec<EncoderLayerCache<F>>)> {
    let mut caches = Vec::with_capacity(layers.len());
    for layer in layers {
        let (y, c) = layer.forward(x.view(), store, mask, kpm)?;
        caches.push(c);
        x = y;
    }
    Ok((x, caches))
}

/// Backward of [`stack_forward`], walking the layers in reverse.
pub(crate) fn stack_backward<F: Real>(
    dx: Array3<F>,
    caches: &[EncoderLayerCache<F>],
    store: &ParamStore<F>,
    layers: &[EncoderLayer],
    grads: &mut NamedGrads<F>,
) -> Result<Array3<F>> {
    stack_backward_recorded(dx, caches, store, layers, grads, None)
}

/// The gradient of the residual stream around one layer of a stack, each `[B, T, C]`, as
/// `stack_backward_recorded` records it.
#[derive(Debug, Clone)]
pub struct LayerBlame<F> {
    /// ∂L/∂(the layer's output).
    pub output: Array3<F>,
    /// ∂L/∂(the stream between its attention and its feed-forward sublayer), see
    /// [`EncoderLayer::backward_split`].
    pub mid: Array3<F>,
    /// ∂L/∂(the layer's input).
    pub input: Array3<F>,
}

/// [`stack_backward`], and when `record` is given, the gradient around every layer pushed to
/// it (bottom layer first once the walk is done). The gradients it computes are the same,
/// bit for bit, with or without a recorder.
pub(crate) fn stack_backward_recorded<F: Real>(
    mut dx: Array3<F>,
    caches: &[EncoderLayerCache<F>],
    store: &ParamStore<F>,
    layers: &[EncoderLayer],
    grads: &mut NamedGrads<F>,
    record: Option<&mut Vec<LayerBlame<F>>>,
) -> Result<Array3<F>> {
    let mut walked = vec![];
    for (layer, c) in layers.iter().zip(caches).rev() {
        let (din, mid) = layer.backward_split(dx.view(), c, store, grads)?;
        if record.is_some() {
            walked.push(LayerBlame {
                output: dx,
                mid,
                input: din.clone(),
            });
        }
        dx = din;
    }
    if let Some(r) = record {
        walked.reverse();
        r.extend(walked);
    }
    Ok(dx)
}

/// Checks that targets have the shape of the ids.
pub(crate) fn check_targets(targets: ArrayView2<i64>, want: (usize, usize)) -> Result<()> {
    if targets.dim() != want {
        return Err(Error::shape(format!(
            "targets have shape {:?} but ids have [{}, {}]",
            targets.shape(),
            want.0,
            want.1
        )));
    }
    Ok(())
}

/// Mean cross-entropy of sequence logits `[B, T, V]` against `targets` `[B, T]` ([`IGNORE_INDEX`]
/// skips a position) and, when `with_grad`, its gradient ∂loss/∂logits `[B, T, V]`.
pub(crate) fn sequence_loss<F: Real>(
    logits: &Array3<F>,
    targets: ArrayView2<i64>,
    with_grad: bool,
) -> Result<(F, Option<Array3<F>>)> {
    let (b, t, v) = logits.dim();
    check_targets(targets, (b, t))?;
    let flat: Vec<i64> = targets.iter().copied().collect();
    let (loss, ce) = cross_entropy::forward(
        logits.to_shape((b * t, v)).expect("rows").view(),
        &flat,
        IGNORE_INDEX,
    )?;
    let dlogits = with_grad.then(|| {
        cross_entropy::backward(F::one(), &ce)
            .into_shape_with_order((b, t, v))
            .expect("rows")
    });
    Ok((loss, dlogits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::decoder_only::DecoderOnlyConfig;
    use crate::models::encoder_decoder::EncoderDecoderConfig;
    use crate::models::encoder_only::EncoderOnlyConfig;

    /// PyTorch's defaults told from the parameter's name alone (how the engine chose them
    /// before the layers declared them): an independent check of every declaration's [`Init`].
    fn init_by_name(name: &str, shape: &[usize], decls: &[Decl]) -> Init {
        let leaf = name.rsplit('.').next().unwrap();
        if name.ends_with("_emb.weight") {
            Init::Normal
        } else if name.contains("norm") || name.starts_with("ln_f") {
            if leaf == "weight" {
                Init::Ones
            } else {
                Init::Zeros
            }
        } else if leaf == "in_proj_weight" {
            Init::XavierUniform
        } else if leaf == "in_proj_bias" || name.ends_with("out_proj.bias") {
            Init::Zeros
        } else if shape.len() == 2 {
            Init::Uniform { fan_in: shape[1] }
        } else {
            // a linear's bias takes its weight's fan-in
            let w = name.trim_end_matches("bias").to_string() + "weight";
            let ws = &decls.iter().find(|d| d.name == w).unwrap().shape;
            Init::Uniform { fan_in: ws[1] }
        }
    }

    #[test]
    fn every_declared_init_is_pytorchs_default_for_its_name() {
        let all = [
            DecoderOnlyConfig::default().param_decls(),
            EncoderOnlyConfig::default().param_decls(),
            EncoderDecoderConfig::default().param_decls(),
        ];
        for decls in &all {
            for d in decls {
                assert_eq!(d.init, init_by_name(&d.name, &d.shape, decls), "{}", d.name);
            }
        }
        // 2 embeddings, 12 tensors per encoder layer, 18 per decoder layer, norms and head
        assert_eq!(all[0].len(), 2 + 2 * 12 + 3);
        assert_eq!(all[1].len(), 2 + 2 * 12 + 4);
        assert_eq!(all[2].len(), 2 + 2 * 12 + 2 * 18 + 4 + 1);
    }

    #[test]
    fn configs_are_flat_json_and_missing_fields_take_each_models_defaults() {
        use crate::ops::Activation;
        use serde_json::json;
        // The layer's fields sit beside the model's, as when each config spelled them out.
        let v = serde_json::to_value(EncoderDecoderConfig::default()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut want = vec![
            "vocab_size",
            "d_model",
            "n_heads",
            "d_ff",
            "activation",
            "norm_first",
            "layer_norm_eps",
            "n_encoder_layers",
            "n_decoder_layers",
            "max_len",
        ];
        want.sort_unstable();
        assert_eq!(keys, want);
        assert_eq!(v["activation"], "relu");
        // A partial config keeps the model's own defaults for what it leaves out.
        let partial = json!({"vocab_size": 9, "d_model": 16, "n_layers": 1});
        let d: DecoderOnlyConfig = serde_json::from_value(partial.clone()).unwrap();
        let e: EncoderOnlyConfig = serde_json::from_value(partial.clone()).unwrap();
        let s: EncoderDecoderConfig = serde_json::from_value(partial).unwrap();
        assert_eq!((d.vocab_size, d.layer.d_model, d.n_layers), (9, 16, 1));
        assert_eq!(
            (d.layer.activation, d.layer.norm_first),
            (Activation::Gelu, true)
        );
        assert_eq!(
            (e.layer.activation, e.layer.norm_first),
            (Activation::Gelu, false)
        );
        assert_eq!(
            (s.layer.activation, s.layer.norm_first),
            (Activation::Relu, false)
        );
        assert_eq!((s.layer.n_heads, s.layer.d_ff, s.max_len), (4, 256, 64));
        // And a full one round-trips.
        let back: DecoderOnlyConfig =
            serde_json::from_value(serde_json::to_value(d).unwrap()).unwrap();
        assert_eq!(back, d);
        let bad = serde_json::from_value::<DecoderOnlyConfig>(json!({"activation": "tanh"}));
        assert!(bad.unwrap_err().to_string().contains("tanh"));
        // GELU's tanh form is stored under the name the JS API uses for it.
        let t: EncoderDecoderConfig =
            serde_json::from_value(json!({"activation": "gelu_tanh"})).unwrap();
        assert_eq!(t.layer.activation, Activation::GeluTanh);
        assert_eq!(serde_json::to_value(t).unwrap()["activation"], "gelu_tanh");
        for name in Activation::NAMES {
            let a = Activation::from_name(name).unwrap();
            assert_eq!(
                (a.name(), serde_json::to_value(a).unwrap()),
                (*name, json!(name))
            );
        }
    }

    /// One generic check of construction, the loss step and the save → load round trip, run
    /// on each family through [`Model`] alone.
    fn round_trip<M: Model<f64>>(config: M::Config, input: M::Input<'_>, targets: ArrayView2<i64>) {
        let name = M::Config::NAME;
        let mut m = M::new(config, 7).unwrap();
        let declared: Vec<String> = config.param_shapes().into_iter().map(|(n, _)| n).collect();
        let mut stored: Vec<String> = m.params().names().map(String::from).collect();
        let mut sorted = declared.clone();
        sorted.sort();
        stored.sort();
        assert_eq!(
            stored, sorted,
            "{name}: the store holds exactly the declarations"
        );
        // The same seed gives the same weights; the loss step fills every gradient.
        assert_eq!(m.params(), M::new(config, 7).unwrap().params(), "{name}");
        let loss = m.loss_and_backward(input, targets).unwrap();
        assert!(loss.is_finite(), "{name}");
        assert_eq!(loss, m.loss(input, targets).unwrap(), "{name}");
        assert!(m.params().grad_norm() > 0.0, "{name}");
        // Rebuilt from its own parameters, it computes bit for bit the same logits.
        let again = M::from_params(*m.config(), m.params().clone()).unwrap();
        assert_eq!(
            again.forward(input).unwrap().0,
            m.forward(input).unwrap().0,
            "{name}"
        );
        // Its configuration round-trips through JSON.
        let json = serde_json::to_string(m.config()).unwrap();
        assert_eq!(
            &serde_json::from_str::<M::Config>(&json).unwrap(),
            m.config()
        );
        // A parameter missing from the store is named.
        let missing = &stored[0];
        let mut partial = ParamStore::<f64>::new();
        for (n, p) in m.params().iter().filter(|(n, _)| n != missing) {
            partial.insert(n, p.value.clone());
        }
        let e = M::from_params(config, partial).err().expect("refused");
        assert!(
            e.message.contains(missing.as_str()) && e.message.contains(name),
            "{e}"
        );
    }

    #[test]
    fn every_model_family_works_through_one_trait() {
        use crate::models::decoder_only::DecoderOnly;
        use crate::models::encoder_decoder::{EncoderDecoder, EncoderDecoderInput};
        use crate::models::encoder_only::{EncoderOnly, EncoderOnlyInput};
        use ndarray::arr2;
        let layer = LayerConfig {
            d_model: 8,
            n_heads: 2,
            d_ff: 12,
            ..LayerConfig::default()
        };
        let ids = arr2(&[[1usize, 4, 6, 0], [2, 2, 5, 3]]);
        let next = arr2(&[[4i64, 6, 0, -100], [2, 5, 3, 1]]);
        round_trip::<DecoderOnly<f64>>(
            DecoderOnlyConfig {
                vocab_size: 7,
                layer,
                n_layers: 2,
                max_len: 5,
            },
            ids.view(),
            next.view(),
        );
        let mut padding = Array2::from_elem((2, 4), false);
        padding[[1, 3]] = true;
        round_trip::<EncoderOnly<f64>>(
            EncoderOnlyConfig {
                vocab_size: 7,
                layer,
                n_layers: 1,
                max_len: 5,
            },
            EncoderOnlyInput {
                ids: ids.view(),
                padding: Some(padding.view()),
            },
            next.view(),
        );
        let src = arr2(&[[1usize, 4, 6], [2, 2, 5]]);
        round_trip::<EncoderDecoder<f64>>(
            EncoderDecoderConfig {
                vocab_size: 7,
                layer,
                n_encoder_layers: 1,
                n_decoder_layers: 1,
                max_len: 5,
            },
            EncoderDecoderInput {
                src: src.view(),
                tgt: ids.view(),
                src_padding: None,
            },
            next.view(),
        );
    }
}
