//! `Model`: a live decoder-only language model for the page — train it, ask it for the next
//! token, trace everything it computes, save and load its weights.

use super::convert::{core_err, describe, object, set, tensor_to_js, to_js, Args, JsResult};
use super::ops::heads_to_js;
use crate::models::decoder_only::DecoderOnlyConfig;
use crate::ops::Activation;
use crate::optim::OptimizerConfig;
use crate::tokenizer::{Mode, Tokenizer, ZH_LEXICON};
use crate::trainer::{TrainOptions, Trainer};
use js_sys::{Array, Float32Array, Object, Uint8Array};
use ndarray::{Array2, Axis, Ix2};
use wasm_bindgen::prelude::*;

/// Largest corpus accepted, in characters.
pub const MAX_CORPUS_CHARS: usize = 1_000_000;
/// Most steps one `train` call runs (the page calls it in slices).
pub const MAX_STEPS_PER_CALL: usize = 100_000;

/// Hyper-parameters of a model as the page describes them.
struct Spec {
    config: DecoderOnlyConfig,
    seed: u64,
    optimizer: OptimizerConfig,
    batch_size: usize,
    seq_len: usize,
    clip: Option<f64>,
    heldout: f64,
    tokenizer: Option<Tokenizer>,
    corpus: Option<String>,
}

fn optimizer_from(a: &Args) -> JsResult<OptimizerConfig> {
    let kind = a.string("kind", "adamw")?;
    let lr = a.number("lr", 3e-3)?;
    let cfg = match kind.as_str() {
        "sgd" => OptimizerConfig::Sgd {
            lr,
            momentum: a.number("momentum", 0.0)?,
            dampening: a.number("dampening", 0.0)?,
            weight_decay: a.number("weightDecay", 0.0)?,
            nesterov: a.flag("nesterov", false)?,
        },
        "adam" | "adamw" => {
            let (beta1, beta2, eps) = (
                a.number("beta1", 0.9)?,
                a.number("beta2", 0.999)?,
                a.number("eps", 1e-8)?,
            );
            if kind == "adam" {
                OptimizerConfig::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay: a.number("weightDecay", 0.0)?,
                }
            } else {
                OptimizerConfig::AdamW {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay: a.number("weightDecay", 0.01)?,
                }
            }
        }
        other => {
            return Err(JsError::new(&format!(
                "{}: optimizer kind {other:?} is not sgd, adam or adamw",
                a.func
            )))
        }
    };
    cfg.validate().map_err(|e| core_err(e.context(a.func)))?;
    Ok(cfg)
}

fn spec_from(a: &Args) -> JsResult<Spec> {
    let f = a.func;
    let kind = a.string("kind", "decoder_only")?;
    if kind != "decoder_only" {
        return Err(JsError::new(&format!("{f}: kind {kind:?}: the live Model is decoder_only; use forward()/backward() for encoder and decoder layers")));
    }
    let mode = match a.string("tokenizer", "word")?.as_str() {
        "word" => Mode::Word,
        "char" => Mode::Char,
        other => {
            return Err(JsError::new(&format!(
                "{f}: tokenizer {other:?} is not word or char"
            )))
        }
    };
    let max_vocab = a.int("maxVocab", 2000, 5, crate::models::MAX_VOCAB)?;
    let tokenizer = if a.has("corpus") {
        let corpus = a.string("corpus", "")?;
        let n = corpus.chars().count();
        if n > MAX_CORPUS_CHARS {
            return Err(JsError::new(&format!(
                "{f}: the corpus has {n} characters; the limit is {MAX_CORPUS_CHARS}"
            )));
        }
        Some(
            Tokenizer::from_corpus(&corpus, mode, ZH_LEXICON, max_vocab)
                .map_err(|e| core_err(e.context(f)))?,
        )
    } else if a.has("vocab") {
        let v: Vec<String> = a.serde("vocab")?.unwrap_or_default();
        Some(Tokenizer::from_vocab(&v, mode, ZH_LEXICON))
    } else {
        None
    };
    let vocab_size = match &tokenizer {
        Some(t) => t.vocab_size(),
        None => a.int("vocabSize", 64, 1, crate::models::MAX_VOCAB)?,
    };
    let activation = match a.string("activation", "gelu")?.as_str() {
        "gelu" => Activation::Gelu,
        "relu" => Activation::Relu,
        other => {
            return Err(JsError::new(&format!(
                "{f}: activation {other:?} is not relu or gelu"
            )))
        }
    };
    let d_model = a.int("dModel", 64, 1, crate::layers::MAX_WIDTH)?;
    let config = DecoderOnlyConfig {
        vocab_size,
        d_model,
        n_heads: a.int("nHeads", 4, 1, 4096)?,
        n_layers: a.int("nLayers", 2, 0, crate::models::MAX_LAYERS)?,
        d_ff: a.int("dFf", 4 * d_model, 1, 4 * crate::layers::MAX_WIDTH)?,
        max_len: a.int("maxLen", 64, 2, crate::models::MAX_LEN)?,
        activation,
        norm_first: a.flag("normFirst", true)?,
        layer_norm_eps: 1e-5,
    };
    config.validate().map_err(core_err)?;
    let optimizer = if a.has("optimizer") {
        optimizer_from(&Args::new(f, a.raw("optimizer"))?)?
    } else {
        OptimizerConfig::adamw(3e-3)
    };
    let seq_len = a.int("seqLen", config.max_len.min(32), 1, config.max_len)?;
    let corpus = if a.has("corpus") {
        Some(a.string("corpus", "")?)
    } else {
        None
    };
    let clip = if a.has("clip") {
        Some(a.number("clip", 1.0)?).filter(|c| *c > 0.0)
    } else {
        None
    };
    Ok(Spec {
        config,
        seed: seed_from(a)?,
        optimizer,
        batch_size: a.int("batchSize", 16, 1, 4096)?,
        seq_len,
        clip,
        heldout: a.number("heldout", 0.1)?.clamp(0.0, 0.5),
        tokenizer,
        corpus,
    })
}

/// The seed: a whole number from 0 to 2⁵³ − 1 (every such number is exact in JS).
fn seed_from(a: &Args) -> JsResult<u64> {
    let x = a.number("seed", 42.0)?;
    if x < 0.0 || x.fract() != 0.0 || x > 9_007_199_254_740_991.0 {
        return Err(JsError::new(&format!(
            "{}: seed is {x}; it must be a whole number from 0 to 2^53 - 1",
            a.func
        )));
    }
    Ok(x as u64)
}

fn ids_from(func: &str, name: &str, a: &Args, vocab: usize) -> JsResult<Array2<i64>> {
    let t = a.tensor(name)?;
    let shape = t.shape().to_vec();
    let t = t.into_dimensionality::<Ix2>().map_err(|_| {
        JsError::new(&format!(
            "{func}: {name} has shape {shape:?} but must be [B, T]"
        ))
    })?;
    if let Some(((i, j), x)) = t
        .indexed_iter()
        .find(|(_, x)| x.fract() != 0.0 || **x < -100.0 || **x >= vocab as f32)
    {
        return Err(JsError::new(&format!(
            "{func}: {name}[{i}][{j}] = {x} is not a token id below {vocab}"
        )));
    }
    Ok(t.mapv(|x| x as i64))
}

/// A live decoder-only model with its tokenizer, data, optimiser and training record
/// (a [`Trainer`]).
#[wasm_bindgen]
pub struct Model {
    tr: Trainer,
}

impl Model {
    fn top_k_js(&self, list: Vec<(String, usize, f32)>) -> JsValue {
        let arr = Array::new();
        for (token, id, prob) in list {
            arr.push(&object(&[
                ("token", JsValue::from_str(&token)),
                ("id", JsValue::from(id as u32)),
                ("prob", JsValue::from(prob)),
            ]));
        }
        arr.into()
    }
}

#[wasm_bindgen]
impl Model {
    /// A model from a spec: `{seed, corpus | vocab | vocabSize, tokenizer: "word"|"char",
    /// dModel, nHeads, nLayers, dFf, maxLen, activation, normFirst, batchSize, seqLen,
    /// optimizer: {kind: "sgd"|"adam"|"adamw", lr, …}, clip, heldout}`. Weights come from `seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(spec: JsValue) -> JsResult<Model> {
        let a = Args::new("new Model", spec)?;
        let s = spec_from(&a)?;
        let opts = TrainOptions {
            seed: s.seed,
            optimizer: s.optimizer,
            batch_size: s.batch_size,
            seq_len: s.seq_len,
            clip: s.clip,
            heldout: s.heldout,
        };
        let tr = Trainer::new(s.config, s.tokenizer, s.corpus.as_deref(), opts)
            .map_err(|e| core_err(e.context("new Model")))?;
        Ok(Model { tr })
    }

    /// A model from a spec and safetensors bytes (what `saveWeights` or PyTorch wrote).
    #[wasm_bindgen(js_name = fromSafetensors)]
    pub fn from_safetensors(spec: JsValue, bytes: &[u8]) -> JsResult<Model> {
        let mut m = Model::new(spec)?;
        m.load_weights(bytes)?;
        Ok(m)
    }

    /// One training step on `{ids: [B, T], targets: [B, T]}` (targets −100 are ignored); returns the loss.
    #[wasm_bindgen(js_name = trainStep)]
    pub fn train_step(&mut self, batch: JsValue) -> JsResult<f32> {
        let a = Args::new("trainStep", batch)?;
        let v = self.tr.model.config.vocab_size;
        let ids = ids_from("trainStep", "ids", &a, v)?;
        if ids.iter().any(|&x| x < 0) {
            return Err(JsError::new("trainStep: ids must be token ids ≥ 0"));
        }
        let targets = ids_from("trainStep", "targets", &a, v)?;
        if targets.dim() != ids.dim() {
            return Err(JsError::new(&format!(
                "trainStep: targets have shape {:?} but ids have {:?}",
                targets.shape(),
                ids.shape()
            )));
        }
        self.tr
            .step_on(&ids.mapv(|x| x as usize), &targets)
            .map_err(|e| core_err(e.context("trainStep")))
    }

    /// `n` steps on random windows of the corpus; returns their losses.
    pub fn train(&mut self, n: usize) -> JsResult<Float32Array> {
        if n > MAX_STEPS_PER_CALL {
            return Err(JsError::new(&format!(
                "train: {n} steps in one call is more than {MAX_STEPS_PER_CALL}; call it in slices"
            )));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(
                self.tr
                    .train_step()
                    .map_err(|e| core_err(e.context("train")))?,
            );
        }
        Ok(Float32Array::from(out.as_slice()))
    }

    /// Mean loss on held-out text (evenly spaced windows, the same every call), or NaN if none.
    #[wasm_bindgen(js_name = evalLoss)]
    pub fn eval_loss(&self) -> JsResult<f32> {
        self.tr.eval_loss().map_err(core_err)
    }

    /// The `k` most probable next tokens after `text`: `[{token, id, prob}]`, most probable first.
    #[wasm_bindgen(js_name = predictNext)]
    pub fn predict_next(&self, text: &str, k: Option<usize>) -> JsResult<JsValue> {
        let list = self
            .tr
            .predict_next(text, k.unwrap_or(5))
            .map_err(|e| core_err(e.context("predictNext")))?;
        Ok(self.top_k_js(list))
    }

    /// The probability of every vocabulary entry coming next after `text`.
    #[wasm_bindgen(js_name = nextProbs)]
    pub fn next_probs(&self, text: &str) -> JsResult<Float32Array> {
        Ok(Float32Array::from(
            self.tr
                .next_probs(text)
                .map_err(|e| core_err(e.context("nextProbs")))?
                .as_slice(),
        ))
    }

    /// Everything the model computes on `text`: tokens, ids, embeddings `[T, C]`, and per layer
    /// its input, every head's Q/K/V `[1, H, T, D]`, scores and weights `[1, H, T, T]`, the
    /// output after attention and after the feed-forward block; then logits `[T, V]` and the
    /// top next tokens.
    pub fn trace(&self, text: &str) -> JsResult<JsValue> {
        let (pieces, ids) = self
            .tr
            .encode(text)
            .map_err(|e| core_err(e.context("trace")))?;
        let t = ids.len();
        let c = self.tr.model.config.d_model;
        let (logits, cache) = self
            .tr
            .model
            .forward(
                Array2::from_shape_vec((1, t), ids.clone())
                    .expect("1×T")
                    .view(),
            )
            .map_err(core_err)?;
        let layers = Array::new();
        let mut input = cache.embeddings.index_axis(Axis(0), 0).to_owned();
        for l in &cache.layers {
            let out = l
                .output()
                .clone()
                .into_shape_with_order((t, c))
                .expect("rows");
            layers.push(&object(&[
                ("input", tensor_to_js(&input)),
                ("attention", heads_to_js(l.attention())),
                ("afterAttention", tensor_to_js(&l.attn.output)),
                ("output", tensor_to_js(&out)),
            ]));
            input = out;
        }
        let tokens = Array::new();
        for p in &pieces {
            tokens.push(&JsValue::from_str(p));
        }
        let idarr = Array::new();
        for &i in &ids {
            idarr.push(&JsValue::from(i as u32));
        }
        let lg = logits.index_axis(Axis(0), 0).to_owned();
        let next = self.tr.predict_next(text, 5).map_err(core_err)?;
        Ok(object(&[
            ("tokens", tokens.into()),
            ("ids", idarr.into()),
            (
                "embeddings",
                tensor_to_js(&cache.embeddings.index_axis(Axis(0), 0).to_owned()),
            ),
            ("layers", layers.into()),
            ("logits", tensor_to_js(&lg)),
            ("next", self.top_k_js(next)),
        ]))
    }

    /// The weights as safetensors bytes (F32), loadable by `safetensors.torch.load_file`.
    #[wasm_bindgen(js_name = saveWeights)]
    pub fn save_weights(&self) -> Uint8Array {
        Uint8Array::from(self.tr.model.params.to_safetensors().as_slice())
    }

    /// Replaces the weights from safetensors bytes; a missing, unknown or mis-shaped key is an
    /// error naming it (and the model is unchanged).
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&mut self, bytes: &[u8]) -> JsResult<()> {
        self.tr
            .model
            .params
            .load_safetensors(bytes)
            .map_err(|e| core_err(e.context("loadWeights")))
    }

    /// Steps taken.
    #[wasm_bindgen(getter)]
    pub fn step(&self) -> u32 {
        self.tr.step_count() as u32
    }

    /// Every loss so far.
    pub fn losses(&self) -> Float32Array {
        Float32Array::from(self.tr.losses.as_slice())
    }

    /// The seed the weights and batches were drawn from.
    #[wasm_bindgen(getter)]
    pub fn seed(&self) -> f64 {
        self.tr.options().seed as f64
    }

    /// The vocabulary (pieces by id); empty without a tokenizer.
    pub fn vocab(&self) -> Vec<String> {
        self.tr
            .tokenizer
            .as_ref()
            .map(|t| t.vocab().to_vec())
            .unwrap_or_default()
    }

    /// The model's sizes: `{vocab_size, d_model, n_heads, n_layers, d_ff, max_len, …}`.
    pub fn config(&self) -> JsValue {
        to_js(&self.tr.model.config)
    }

    /// `[{name, shape}]` of every parameter, in sorted order.
    #[wasm_bindgen(js_name = paramShapes)]
    pub fn param_shapes(&self) -> JsValue {
        let arr = Array::new();
        for (n, p) in self.tr.model.params.iter() {
            arr.push(&object(&[
                ("name", JsValue::from_str(n)),
                ("shape", to_js(&p.value.shape().to_vec())),
            ]));
        }
        arr.into()
    }

    /// One parameter tensor by its PyTorch name.
    pub fn param(&self, name: &str) -> JsResult<JsValue> {
        Ok(tensor_to_js(
            self.tr.model.params.get(name).map_err(core_err)?,
        ))
    }

    /// The gradient of one parameter from the last step (after clipping, as the step used it).
    pub fn grad(&self, name: &str) -> JsResult<JsValue> {
        Ok(tensor_to_js(
            self.tr.model.params.grad(name).map_err(core_err)?,
        ))
    }

    /// Every parameter's gradient norm at the last step (before clipping): `{name: norm}`.
    #[wasm_bindgen(js_name = gradNorms)]
    pub fn grad_norms(&self) -> JsValue {
        let obj = Object::new();
        for (n, g) in &self.tr.grad_norms {
            set(&obj, n, &JsValue::from(*g));
        }
        obj.into()
    }

    /// Watches weight `index` of parameter `name`; `lastUpdate()` then shows its last step.
    pub fn watch(&mut self, name: &str, index: usize) -> JsResult<()> {
        self.tr
            .watch(name, index)
            .map_err(|e| core_err(e.context("watch")))
    }

    /// The watched weight's last update: `{name, index, old, grad, lr, new, m_hat, v_hat}` or null.
    #[wasm_bindgen(js_name = lastUpdate)]
    pub fn last_update(&self) -> JsValue {
        self.tr
            .last_update
            .as_ref()
            .map(to_js)
            .unwrap_or(JsValue::NULL)
    }

    /// Sets the learning rate of the optimiser (a NaN or negative rate is an error).
    #[wasm_bindgen(js_name = setLearningRate)]
    pub fn set_learning_rate(&mut self, lr: JsValue) -> JsResult<()> {
        let x = lr.as_f64().ok_or_else(|| {
            JsError::new(&format!(
                "setLearningRate: expected a number, got {}",
                describe(&lr)
            ))
        })?;
        self.tr.set_lr(x).map_err(core_err)
    }
}
