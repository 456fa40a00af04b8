//! `Model`: a live decoder-only language model for the page — train it, ask it for the next
//! token, trace everything it computes, save and load its weights.
//!
//! Every method converts its arguments first (see [`super::convert`]) and only then borrows
//! the model's state, so a getter or a throwing iterator inside an argument can neither free
//! the model in the middle of a call nor leave it borrowed.

use super::convert::{
    bytes, core_err, describe, err, int, number, object, set, string_array, strings, tensor_to_js,
    text, to_js, JsResult, Obj,
};
use super::session::{
    encoder_layers_js, ids_js, top_k_js, Live, Session, MAX_CORPUS_CHARS, MAX_WEIGHTS_BYTES,
};
use super::spec::{
    layer_args, layer_from, mode_from, shards_arg, training_args, training_from, Training,
};
use crate::args::{ArgSpec, Kind, Values};
use crate::layers::LayerConfig;
use crate::models::decoder_only::DecoderOnlyConfig;
use crate::optim::OptimizerConfig;
use crate::tokenizer::{text_lexicon, Tokenizer};
use crate::trainer::{TrainOptions, Trainer};
use js_sys::{Array, Float32Array, Object, Uint8Array};
use ndarray::{Array2, Axis, Ix2};
use wasm_bindgen::prelude::*;

/// Largest number of candidates `predictNext` returns.
pub const MAX_TOP_K: i64 = 1000;

fn spec_args() -> Vec<ArgSpec> {
    use crate::models::{MAX_LAYERS, MAX_LEN, MAX_VOCAB};
    let mut specs = vec![
        ArgSpec::choice("kind", &["decoder_only"]),
        ArgSpec::choice("corpus", &[]),
        ArgSpec::opt("vocab", Kind::Object),
        ArgSpec::int("vocabSize", 1, MAX_VOCAB as i64),
        ArgSpec::choice("tokenizer", super::spec::TOKENIZERS),
        ArgSpec::int("maxVocab", 5, MAX_VOCAB as i64),
        ArgSpec::int("nLayers", 0, MAX_LAYERS as i64),
        ArgSpec::int("maxLen", 2, MAX_LEN as i64),
        ArgSpec::int("seqLen", 1, MAX_LEN as i64),
        ArgSpec::number("heldout"),
    ];
    specs.extend(layer_args());
    specs.extend(training_args());
    specs.push(shards_arg());
    specs
}

/// Hyper-parameters of a model as the page describes them.
struct Spec {
    config: DecoderOnlyConfig,
    options: TrainOptions,
    tokenizer: Option<Tokenizer>,
    corpus: Option<String>,
}

fn spec_from(f: &str, v: &JsValue) -> JsResult<Spec> {
    let specs = spec_args();
    let obj = Obj::read(f, v, &specs)?;
    let a: Values<f32> = obj.convert(&specs, |_, _| Ok(()))?;
    let e = core_err;
    let mode = mode_from(&a, "tokenizer")?;
    let max_vocab = a.usize_or("maxVocab", 2000).map_err(e)?;
    let corpus = a
        .has("corpus")
        .then(|| a.text_or("corpus", "").map(String::from))
        .transpose()
        .map_err(e)?;
    let tokenizer = if let Some(corpus) = &corpus {
        let n = corpus.chars().count();
        if n > MAX_CORPUS_CHARS {
            return Err(err(format!(
                "{f}: the corpus has {n} characters; the limit is {MAX_CORPUS_CHARS}"
            )));
        }
        Some(crate::trainer::text_tokenizer(corpus, mode, max_vocab).map_err(|x| e(x.context(f)))?)
    } else if let Some(v) = obj.raw("vocab") {
        let list = strings(f, "vocab", v, crate::models::MAX_VOCAB)?;
        Some(Tokenizer::from_vocab(&list, mode, &text_lexicon()))
    } else {
        None
    };
    let vocab_size = match &tokenizer {
        Some(t) => t.vocab_size(),
        None => a.usize_or("vocabSize", 64).map_err(e)?,
    };
    let config = DecoderOnlyConfig {
        vocab_size,
        layer: layer_from(&a, LayerConfig::default())?,
        n_layers: a.usize_or("nLayers", 2).map_err(e)?,
        max_len: a.usize_or("maxLen", 64).map_err(e)?,
    };
    config.validate().map_err(|x| e(x.context(f)))?;
    let seq_len = a.usize_or("seqLen", config.max_len.min(32)).map_err(e)?;
    if seq_len > config.max_len {
        return Err(err(format!(
            "{f}: seqLen {seq_len} is more than maxLen {}",
            config.max_len
        )));
    }
    let t = training_from(
        f,
        &obj,
        &a,
        Training {
            seed: 42,
            optimizer: OptimizerConfig::adamw(3e-3),
            batch_size: 16,
            clip: None,
            shards: 1,
        },
    )?;
    Ok(Spec {
        config,
        options: TrainOptions {
            seed: t.seed,
            optimizer: t.optimizer,
            batch_size: t.batch_size,
            seq_len,
            clip: t.clip,
            heldout: a.number_or("heldout", 0.1).map_err(e)?.clamp(0.0, 0.5),
            shards: t.shards,
        },
        tokenizer,
        corpus,
    })
}

/// Token ids `[B, T]` from a float tensor: whole numbers from `lo` to `vocab − 1`.
fn ids_from(
    func: &str,
    name: &str,
    a: &Values<f32>,
    lo: f32,
    vocab: usize,
) -> JsResult<Array2<i64>> {
    let t = a.tensor(name).map_err(core_err)?;
    let shape = t.shape().to_vec();
    let t = t.into_dimensionality::<Ix2>().map_err(|_| {
        err(format!(
            "{func}: {name} has shape {shape:?} but must be [B, T]"
        ))
    })?;
    if let Some(((i, j), x)) = t
        .indexed_iter()
        .find(|(_, x)| x.fract() != 0.0 || **x < lo || **x >= vocab as f32)
    {
        return Err(err(format!(
            "{func}: {name}[{i}][{j}] = {x} is not a token id below {vocab}"
        )));
    }
    Ok(t.mapv(|x| x as i64))
}

/// A live decoder-only model with its tokenizer, data, optimiser and training record
/// (a [`Trainer`]).
#[wasm_bindgen]
pub struct Model {
    config: DecoderOnlyConfig,
    tr: Live<Trainer>,
    /// The recipe that trained it, for a model read with `fromFile`.
    recipe: Option<crate::recipes::TextRecipe>,
}

impl Model {
    /// Runs `f` on the trainer, borrowed now that the arguments are converted.
    pub(super) fn with<R>(
        &self,
        func: &str,
        f: impl FnOnce(&mut Trainer) -> crate::Result<R>,
    ) -> JsResult<R> {
        self.tr.with(func, f)
    }
}

impl Session for Trainer {
    fn max_steps_per_call(&self) -> usize {
        Trainer::max_steps_per_call(self)
    }
    fn train(&mut self, n: usize) -> crate::Result<Vec<f32>> {
        Trainer::train(self, n)
    }
    fn losses(&self) -> &[f32] {
        &self.losses
    }
    fn seed(&self) -> u64 {
        self.options().seed
    }
    fn weights(&self) -> Vec<u8> {
        self.model.params.to_safetensors()
    }
}

#[wasm_bindgen]
impl Model {
    /// A model from a spec: `{seed, corpus | vocab | vocabSize, tokenizer: "word"|"char",
    /// maxVocab, dModel, nHeads, nLayers, dFf, maxLen, activation: "relu"|"gelu"|"gelu_tanh",
    /// normFirst, batchSize, seqLen, optimizer: {kind: "sgd"|"adam"|"adamw", lr, momentum,
    /// dampening, weightDecay, nesterov, beta1, beta2, eps}, clip, heldout, shards}`. Weights
    /// come from `seed`; `shards` (default 1) cuts each batch into that many parts, which
    /// workers can compute (`beginStep`, `stepPart`, …) with the same numbers however many run.
    #[wasm_bindgen(constructor)]
    pub fn new(spec: JsValue) -> JsResult<Model> {
        let f = "new Model";
        let s = spec_from(f, &spec)?;
        let tr = Trainer::new(s.config, s.tokenizer, s.corpus.as_deref(), s.options)
            .map_err(|e| core_err(e.context(f)))?;
        Ok(Model {
            config: s.config,
            tr: Live::new(tr),
            recipe: None,
        })
    }

    /// A model from a spec and safetensors bytes (what `saveWeights` or PyTorch wrote).
    #[wasm_bindgen(js_name = fromSafetensors)]
    pub fn from_safetensors(spec: JsValue, bytes: JsValue) -> JsResult<Model> {
        let b = super::convert::bytes("Model.fromSafetensors", "bytes", &bytes, MAX_WEIGHTS_BYTES)?;
        let m = Model::new(spec)?;
        m.with("Model.fromSafetensors", |tr| {
            tr.model
                .params
                .load_safetensors(&b)
                .map_err(crate::Error::unreadable_file)
        })?;
        Ok(m)
    }

    /// The model a self-describing file holds, from the file alone: the file a text recipe
    /// wrote (`cargo xtask pretrain`, `www/models/stack-*.safetensors`), whose `__metadata__`
    /// has the config, the vocabulary and tokenizer, the recipe's built-in corpus and its
    /// training options (see [`crate::recipes::TextRecipe::load`]). It can be traced, asked and
    /// trained on at once (its optimiser starts afresh). A file without that metadata (what
    /// `saveWeights` writes) is refused with an error naming the missing key.
    #[wasm_bindgen(js_name = fromFile)]
    pub fn from_file(bytes_v: JsValue) -> JsResult<Model> {
        let f = "Model.fromFile";
        let b = bytes(f, "bytes", &bytes_v, MAX_WEIGHTS_BYTES)?;
        let (recipe, tr) = crate::recipes::TextRecipe::load(&b)
            .map_err(|e| core_err(e.unreadable_file().context(f)))?;
        Ok(Model {
            config: tr.model.config,
            tr: Live::new(tr),
            recipe: Some(recipe),
        })
    }

    /// The recipe that trained a model read with `fromFile`, as its file records it (`{name,
    /// corpus, tokenizer, max_vocab, config, options: {seed, optimizer, batch_size, …}, steps}`),
    /// or null for any other model.
    pub fn recipe(&self) -> JsValue {
        self.recipe.as_ref().map_or(JsValue::NULL, to_js)
    }

    /// One training step on `{ids: [B, T], targets: [B, T]}` (targets −100 are ignored); returns
    /// the loss. A batch too large for one call is refused before it is copied.
    #[wasm_bindgen(js_name = trainStep)]
    pub fn train_step(&self, batch: JsValue) -> JsResult<f32> {
        let f = "trainStep";
        let specs = [
            ArgSpec::req("ids", Kind::Tensor(2)),
            ArgSpec::req("targets", Kind::Tensor(2)),
        ];
        let config = self.config;
        let a = Obj::read(f, &batch, &specs)?.convert(&specs, |shapes, _| {
            let s = &shapes["ids"];
            if shapes["targets"] != *s {
                return Err(crate::Error::shape(format!(
                    "{f}: targets have shape {:?} but ids have {s:?}",
                    shapes["targets"]
                )));
            }
            if s[1] > config.max_len {
                return Err(crate::Error::shape(format!(
                    "{f}: ids have {} tokens per row, more than maxLen {}",
                    s[1], config.max_len
                )));
            }
            crate::trainer::check_batch(&config, s[0], s[1])
        })?;
        let v = config.vocab_size;
        let ids = ids_from(f, "ids", &a, 0.0, v)?;
        let targets = ids_from(f, "targets", &a, -100.0, v)?;
        self.with(f, |tr| tr.step_on(&ids.mapv(|x| x as usize), &targets))
    }

    /// `n` steps on random windows of the corpus; returns their losses. At most
    /// `maxStepsPerCall` steps in one call (call it in slices).
    pub fn train(&self, n: JsValue) -> JsResult<Float32Array> {
        self.tr.train(&n)
    }

    /// Most steps one `train` call accepts for this model.
    #[wasm_bindgen(getter, js_name = maxStepsPerCall)]
    pub fn max_steps_per_call(&self) -> JsResult<u32> {
        self.tr.max_steps_per_call()
    }

    /// Mean loss on held-out text (evenly spaced windows, the same every call), or NaN if none.
    #[wasm_bindgen(js_name = evalLoss)]
    pub fn eval_loss(&self) -> JsResult<f32> {
        self.with("evalLoss", |tr| tr.eval_loss())
    }

    /// The `k` most probable next tokens after `text`: `[{token, id, prob}]`, most probable first.
    #[wasm_bindgen(js_name = predictNext)]
    pub fn predict_next(&self, text_v: JsValue, k: JsValue) -> JsResult<JsValue> {
        let f = "predictNext";
        let t = text(f, "text", &text_v)?;
        let k = if k.is_undefined() {
            5
        } else {
            int(f, "k", &k, 1, MAX_TOP_K)? as usize
        };
        Ok(top_k_js(self.with(f, |tr| tr.predict_next(&t, k))?))
    }

    /// The probability of every vocabulary entry coming next after `text`.
    #[wasm_bindgen(js_name = nextProbs)]
    pub fn next_probs(&self, text_v: JsValue) -> JsResult<Float32Array> {
        let t = text("nextProbs", "text", &text_v)?;
        let p = self.with("nextProbs", |tr| tr.next_probs(&t))?;
        Ok(Float32Array::from(p.as_slice()))
    }

    /// Everything the model computes on `text`: tokens, ids, embeddings `[T, C]`, and per layer
    /// its input, every head's Q/K/V `[1, H, T, D]`, scores and weights `[1, H, T, T]`, the
    /// output after attention and after the feed-forward block; then logits `[T, V]` and the
    /// top next tokens.
    pub fn trace(&self, text_v: JsValue) -> JsResult<JsValue> {
        let f = "trace";
        let t = text(f, "text", &text_v)?;
        self.with(f, |tr| {
            let (pieces, ids) = tr.encode(&t)?;
            let n = ids.len();
            let (logits, cache) = tr.model.forward(
                Array2::from_shape_vec((1, n), ids.clone())
                    .expect("1×T")
                    .view(),
            )?;
            let embeddings = cache.embeddings.index_axis(Axis(0), 0).to_owned();
            let layers = encoder_layers_js(embeddings.clone(), &cache.layers);
            let lg = logits.index_axis(Axis(0), 0).to_owned();
            let next = tr.predict_next(&t, 5)?;
            Ok(object(&[
                ("tokens", string_array(&pieces)),
                ("ids", ids_js(&ids)),
                ("embeddings", tensor_to_js(&embeddings)),
                ("layers", layers),
                ("logits", tensor_to_js(&lg)),
                ("next", top_k_js(next)),
            ]))
        })
    }

    /// The weights as safetensors bytes (F32), loadable by `safetensors.torch.load_file`.
    #[wasm_bindgen(js_name = saveWeights)]
    pub fn save_weights(&self) -> JsResult<Uint8Array> {
        self.tr.save_weights()
    }

    /// Replaces the weights from safetensors bytes (at most 64 MiB); a missing, unknown or
    /// mis-shaped key is an error naming it (and the model is unchanged).
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes_v: JsValue) -> JsResult<()> {
        let b = bytes("loadWeights", "bytes", &bytes_v, MAX_WEIGHTS_BYTES)?;
        self.with("loadWeights", |tr| tr.model.params.load_safetensors(&b))
    }

    /// Steps taken.
    #[wasm_bindgen(getter)]
    pub fn step(&self) -> JsResult<u32> {
        self.tr.step()
    }

    /// Every loss so far.
    pub fn losses(&self) -> JsResult<Float32Array> {
        self.tr.losses()
    }

    /// The seed the weights and batches were drawn from.
    #[wasm_bindgen(getter)]
    pub fn seed(&self) -> JsResult<f64> {
        self.tr.seed()
    }

    /// The vocabulary (pieces by id); empty without a tokenizer.
    pub fn vocab(&self) -> JsResult<JsValue> {
        self.with("vocab", |tr| {
            Ok(string_array(
                tr.tokenizer.as_ref().map(|t| t.vocab()).unwrap_or(&[]),
            ))
        })
    }

    /// The model's sizes: `{vocab_size, d_model, n_heads, n_layers, d_ff, max_len, …}`.
    pub fn config(&self) -> JsValue {
        to_js(&self.config)
    }

    /// `[{name, shape}]` of every parameter, in sorted order.
    #[wasm_bindgen(js_name = paramShapes)]
    pub fn param_shapes(&self) -> JsResult<JsValue> {
        self.with("paramShapes", |tr| {
            let arr = Array::new();
            for (n, p) in tr.model.params.iter() {
                arr.push(&object(&[
                    ("name", JsValue::from_str(n)),
                    ("shape", to_js(&p.value.shape().to_vec())),
                ]));
            }
            Ok(arr.into())
        })
    }

    /// One parameter tensor by its PyTorch name.
    pub fn param(&self, name: JsValue) -> JsResult<JsValue> {
        let n = text("param", "name", &name)?;
        self.with("param", |tr| Ok(tensor_to_js(tr.model.params.get(&n)?)))
    }

    /// The gradient of one parameter from the last step (after clipping, as the step used it).
    pub fn grad(&self, name: JsValue) -> JsResult<JsValue> {
        let n = text("grad", "name", &name)?;
        self.with("grad", |tr| Ok(tensor_to_js(tr.model.params.grad(&n)?)))
    }

    /// Every parameter's gradient norm at the last step (before clipping): `{name: norm}`.
    #[wasm_bindgen(js_name = gradNorms)]
    pub fn grad_norms(&self) -> JsResult<JsValue> {
        self.with("gradNorms", |tr| {
            let obj = Object::new();
            for (n, g) in &tr.grad_norms {
                set(&obj, n, &JsValue::from(*g));
            }
            Ok(obj.into())
        })
    }

    /// Watches weight `index` of parameter `name`; `lastUpdate()` then shows its last step.
    pub fn watch(&self, name: JsValue, index: JsValue) -> JsResult<()> {
        let n = text("watch", "name", &name)?;
        let i = int(
            "watch",
            "index",
            &index,
            0,
            crate::models::MAX_PARAMS as i64,
        )? as usize;
        self.with("watch", |tr| tr.watch(&n, i))
    }

    /// The watched weight's last update: `{name, index, old, grad, lr, new, m_hat, v_hat}` or null.
    #[wasm_bindgen(js_name = lastUpdate)]
    pub fn last_update(&self) -> JsResult<JsValue> {
        self.with("lastUpdate", |tr| {
            Ok(tr.last_update.as_ref().map(to_js).unwrap_or(JsValue::NULL))
        })
    }

    /// Sets the learning rate of the optimiser (a NaN or negative rate is an error).
    #[wasm_bindgen(js_name = setLearningRate)]
    pub fn set_learning_rate(&self, lr: JsValue) -> JsResult<()> {
        // (a NaN is refused here, as a learning rate the page translates, like a negative one)
        let x = number("setLearningRate", "lr", &lr).map_err(|e| {
            let shown = lr
                .as_f64()
                .map(|x| x.to_string())
                .unwrap_or_else(|| describe(&lr));
            super::convert::with_code(e, crate::Code::LearningRate, &[("lr", shown)])
        })?;
        self.with("setLearningRate", |tr| tr.set_lr(x))
    }
}
super::shards::sharded_class!(Model, tr);
