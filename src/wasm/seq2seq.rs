//! `Seq2Seq`: a live encoder–decoder for the page — build it from parallel pairs, load the
//! shipped one, train it, let it write an answer token by token with every attention weight,
//! trace one forward pass, save it. The model itself is [`crate::seq2seq::Seq2Seq`]; this file
//! converts arguments (through [`super::convert`]) and results, nothing else.
//!
//! As in `Model`, every method converts its arguments before it borrows the session (see
//! [`super::session`]).

use super::convert::{self, bytes, object, string_array, tensor_to_js, text, to_js, JsResult, Obj};
use super::session::{
    encoder_layers_js, ids_js, top_k_js, Live, Session, MAX_CORPUS_CHARS, MAX_WEIGHTS_BYTES,
};
use super::spec::{layer_args, layer_from, mode_from, training_args, training_from, Training};
use crate::args::{ArgSpec, Kind, Values};
use crate::models::encoder_decoder::EncoderDecoderConfig;
use crate::models::{MAX_LAYERS, MAX_LEN};
use crate::params::Metadata;
use crate::recipes::{source_segmenter, target_segmenter, Recipe};
use crate::seq2seq::{self as core, Generation, Seq2SeqOptions};
use crate::tokenizer::BOS;
use js_sys::{Array, Float32Array, Uint8Array};
use ndarray::Axis;
use wasm_bindgen::prelude::*;

/// How many candidates `trace` lists as `next`.
const TRACE_TOP: usize = 5;

impl Session for core::Seq2Seq {
    fn max_steps_per_call(&self) -> usize {
        core::Seq2Seq::max_steps_per_call(self)
    }
    fn train(&mut self, n: usize) -> crate::Result<Vec<f32>> {
        core::Seq2Seq::train(self, n)
    }
    fn losses(&self) -> &[f32] {
        &self.losses
    }
    fn seed(&self) -> u64 {
        self.options().seed
    }
    fn weights(&self) -> Vec<u8> {
        self.to_safetensors(&Metadata::new())
    }
}

fn pairs_arg(required: bool) -> ArgSpec {
    if required {
        ArgSpec::req("pairs", Kind::Pairs)
    } else {
        ArgSpec::opt("pairs", Kind::Pairs)
    }
}

/// The spec of `new Seq2Seq`: its data, how each side is cut, its sizes, how it trains.
fn spec_args() -> Vec<ArgSpec> {
    let mut specs = vec![
        pairs_arg(true),
        ArgSpec::choice("sourceTokenizer", super::spec::TOKENIZERS),
        ArgSpec::choice("targetTokenizer", super::spec::TOKENIZERS),
        ArgSpec::int("nEncoderLayers", 0, MAX_LAYERS as i64),
        ArgSpec::int("nDecoderLayers", 0, MAX_LAYERS as i64),
        ArgSpec::int("maxLen", 2, MAX_LEN as i64),
    ];
    specs.extend(layer_args());
    specs.extend(training_args());
    specs
}

/// `seed`, `batchSize`, `optimizer`, `clip` with the core's defaults (seed 1, AdamW 3e-3,
/// 32 pairs a batch, clip 1).
fn options_from(func: &str, obj: &Obj, a: &Values<f32>) -> JsResult<Seq2SeqOptions> {
    let d = Seq2SeqOptions::default();
    let t = training_from(
        func,
        obj,
        a,
        Training {
            seed: d.seed,
            optimizer: d.optimizer,
            batch_size: d.batch_size,
            clip: d.clip,
        },
    )?;
    Ok(Seq2SeqOptions {
        seed: t.seed,
        optimizer: t.optimizer,
        batch_size: t.batch_size,
        clip: t.clip,
        ..d
    })
}

/// The `pairs` field of `obj`, if given.
fn pairs_from(func: &str, obj: &Obj) -> JsResult<Option<Vec<(String, String)>>> {
    obj.raw("pairs")
        .map(|v| convert::pairs(func, "pairs", v, MAX_CORPUS_CHARS))
        .transpose()
}

fn as_refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(s, t)| (s.as_str(), t.as_str()))
        .collect()
}

/// `[layer][head]` rows as arrays of arrays of `Float32Array`.
fn rows_js(rows: &[Vec<Vec<f32>>]) -> JsValue {
    let layers = Array::new();
    for heads in rows {
        let arr = Array::new();
        for row in heads {
            arr.push(&Float32Array::from(row.as_slice()));
        }
        layers.push(&arr);
    }
    layers.into()
}

/// A greedy decoding as `generate` returns it; `bos` is the piece of `<bos>`.
fn generation_js(g: &Generation, bos: &str) -> JsValue {
    let steps = Array::new();
    for st in &g.steps {
        steps.push(&object(&[
            ("token", JsValue::from_str(&st.token)),
            ("id", JsValue::from(st.id as u32)),
            ("prob", JsValue::from(st.prob)),
            ("self", rows_js(&st.self_attn)),
            ("cross", rows_js(&st.cross_attn)),
        ]));
    }
    // What the decoder read: <bos>, then every token written but the last.
    let written = g.steps.len().saturating_sub(1);
    let inputs: Vec<&str> = std::iter::once(bos)
        .chain(g.steps[..written].iter().map(|s| s.token.as_str()))
        .collect();
    object(&[
        ("sourceTokens", string_array(&g.source_tokens)),
        ("sourceIds", ids_js(&g.source_ids)),
        ("unknown", string_array(&g.unknown)),
        ("targetTokens", string_array(&inputs)),
        ("text", JsValue::from_str(&g.text)),
        ("steps", steps.into()),
    ])
}

/// One forward pass as `trace` returns it.
fn trace_js(t: &core::Trace) -> JsValue {
    let c = &t.cache;
    let decoder = Array::new();
    let mut input = t.target_embeddings.clone();
    for l in &c.decoder {
        let out = l.ffn.output.clone();
        decoder.push(&object(&[
            ("input", tensor_to_js(&input)),
            (
                "selfAttention",
                convert::out_to_js(crate::ops::registry::heads_out(l.self_attention())),
            ),
            ("afterSelfAttention", tensor_to_js(&l.self_attn.output)),
            (
                "crossAttention",
                convert::out_to_js(crate::ops::registry::heads_out(l.cross_attention())),
            ),
            ("afterCrossAttention", tensor_to_js(&l.cross_attn.output)),
            ("output", tensor_to_js(&out)),
        ]));
        input = out;
    }
    object(&[
        ("sourceTokens", string_array(&t.source_tokens)),
        ("sourceIds", ids_js(&t.source_ids)),
        ("unknown", string_array(&t.unknown)),
        ("targetTokens", string_array(&t.target_tokens)),
        ("targetIds", ids_js(&t.target_ids)),
        (
            "encoder",
            object(&[
                ("embeddings", tensor_to_js(&t.source_embeddings)),
                (
                    "layers",
                    encoder_layers_js(t.source_embeddings.clone(), &c.encoder),
                ),
                (
                    "memory",
                    tensor_to_js(&c.memory.index_axis(Axis(0), 0).to_owned()),
                ),
            ]),
        ),
        (
            "decoder",
            object(&[
                ("embeddings", tensor_to_js(&t.target_embeddings)),
                ("layers", decoder.into()),
            ]),
        ),
        ("logits", tensor_to_js(&t.logits)),
        ("next", top_k_js(t.next.clone())),
    ])
}

/// A live encoder–decoder with its pair tokenizer, training pairs, optimiser and losses
/// (a [`crate::seq2seq::Seq2Seq`]).
#[wasm_bindgen]
pub struct Seq2Seq {
    config: EncoderDecoderConfig,
    s: Live<core::Seq2Seq>,
}

impl Seq2Seq {
    fn wrap(s: core::Seq2Seq) -> Seq2Seq {
        Seq2Seq {
            config: s.model.config,
            s: Live::new(s),
        }
    }
}

#[wasm_bindgen]
impl Seq2Seq {
    /// A model from a spec: `{pairs, sourceTokenizer, targetTokenizer, dModel, nHeads, dFf,
    /// nEncoderLayers, nDecoderLayers, maxLen, activation, normFirst, seed, batchSize,
    /// optimizer, clip}`. `pairs` (required) is TSV text (`source<TAB>target` a line) or an
    /// array of `[source, target]`; the vocabulary is built from it. Weights come from `seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(spec: JsValue) -> JsResult<Seq2Seq> {
        let f = "new Seq2Seq";
        let specs = spec_args();
        let obj = Obj::read(f, &spec, &specs)?;
        let a = obj.convert(&specs, |_, _| Ok(()))?;
        let pairs = pairs_from(f, &obj)?.unwrap_or_default();
        let e = convert::core_err;
        let d = EncoderDecoderConfig::default();
        let config = EncoderDecoderConfig {
            layer: layer_from(&a, d.layer)?,
            n_encoder_layers: a
                .usize_or("nEncoderLayers", d.n_encoder_layers)
                .map_err(e)?,
            n_decoder_layers: a
                .usize_or("nDecoderLayers", d.n_decoder_layers)
                .map_err(e)?,
            max_len: a.usize_or("maxLen", d.max_len).map_err(e)?,
            ..d
        };
        let options = options_from(f, &obj, &a)?;
        let source = source_segmenter(mode_from(&a, "sourceTokenizer")?);
        let target = target_segmenter(mode_from(&a, "targetTokenizer")?);
        let s = core::Seq2Seq::from_pairs(config, &as_refs(&pairs), source, target, options)
            .map_err(|x| e(x.context(f)))?;
        Ok(Seq2Seq::wrap(s))
    }

    /// A model from a file `saveWeights` or `cargo xtask pretrain` wrote: its sizes and
    /// vocabularies come from the file's metadata. `options`: `{pairs, seed, batchSize,
    /// optimizer, clip}`; without `pairs` it has nothing to train on (it still answers).
    #[wasm_bindgen(js_name = fromSafetensors)]
    pub fn from_safetensors(bytes_v: JsValue, options: JsValue) -> JsResult<Seq2Seq> {
        let f = "Seq2Seq.fromSafetensors";
        let b = bytes(f, "bytes", &bytes_v, MAX_WEIGHTS_BYTES)?;
        let mut specs = vec![pairs_arg(false)];
        specs.extend(training_args());
        let obj = Obj::read(f, &options, &specs)?;
        let a = obj.convert(&specs, |_, _| Ok(()))?;
        let pairs = pairs_from(f, &obj)?;
        let options = options_from(f, &obj, &a)?;
        let ctx = |x: crate::Error| convert::core_err(x.context(f));
        let mut s = core::Seq2Seq::from_safetensors(&b, options).map_err(ctx)?;
        if let Some(p) = pairs {
            s.set_pairs(&as_refs(&p)).map_err(ctx)?;
        }
        Ok(Seq2Seq::wrap(s))
    }

    /// The untrained model of a recipe (`"seq2seq-zh"`, `"seq2seq-en"`): its corpus, sizes,
    /// optimiser and learning-rate schedule, from its seed or `options.seed`. Training it for
    /// `recipe(name).steps` steps is what `cargo xtask pretrain` does.
    #[wasm_bindgen(js_name = fromRecipe)]
    pub fn from_recipe(name: JsValue, options: JsValue) -> JsResult<Seq2Seq> {
        let f = "Seq2Seq.fromRecipe";
        let name = text(f, "name", &name)?;
        let specs = [training_args().remove(0)];
        let a = Obj::read(f, &options, &specs)?.convert(&specs, |_, _| Ok(()))?;
        let ctx = |x: crate::Error| convert::core_err(x.context(f));
        let mut r = Recipe::by_name(&name).map_err(ctx)?;
        if a.has("seed") {
            r = r.with_seed(a.int_or("seed", 0).map_err(ctx)? as u64);
        }
        Ok(Seq2Seq::wrap(r.session().and_then(|s| s.into_seq2seq()).map_err(ctx)?))
    }

    /// One training step on `batchSize` pairs drawn at random; returns the loss.
    #[wasm_bindgen(js_name = trainStep)]
    pub fn train_step(&self) -> JsResult<f32> {
        self.s.with("trainStep", |s| s.train_step())
    }

    /// `n` training steps (at most `maxStepsPerCall`); their losses.
    pub fn train(&self, n: JsValue) -> JsResult<Float32Array> {
        self.s.train(&n)
    }

    /// Most steps one `train` call accepts.
    #[wasm_bindgen(getter, js_name = maxStepsPerCall)]
    pub fn max_steps_per_call(&self) -> JsResult<u32> {
        self.s.max_steps_per_call()
    }

    /// Steps taken.
    #[wasm_bindgen(getter)]
    pub fn step(&self) -> JsResult<u32> {
        self.s.step()
    }

    /// Every loss so far.
    pub fn losses(&self) -> JsResult<Float32Array> {
        self.s.losses()
    }

    /// The seed the weights and batches were drawn from.
    #[wasm_bindgen(getter)]
    pub fn seed(&self) -> JsResult<f64> {
        self.s.seed()
    }

    /// How many training pairs it has.
    #[wasm_bindgen(getter, js_name = pairCount)]
    pub fn pair_count(&self) -> JsResult<u32> {
        self.s.with("pairCount", |s| Ok(s.pair_count() as u32))
    }

    /// The weights as safetensors bytes whose metadata holds the config and vocabularies
    /// (`Seq2Seq.fromSafetensors` reads them back).
    #[wasm_bindgen(js_name = saveWeights)]
    pub fn save_weights(&self) -> JsResult<Uint8Array> {
        self.s.save_weights()
    }

    /// Greedy decoding of `source`, at most `options.maxLen` tokens (default and limit: the
    /// model's `maxLen`). Returns `{sourceTokens, sourceIds, unknown, targetTokens, text,
    /// steps}`: each step `{token, id, prob, self, cross}` with `self[layer][head]` a
    /// `Float32Array` over `targetTokens` up to that step and `cross[layer][head]` over
    /// `sourceTokens`.
    pub fn generate(&self, source: JsValue, options: JsValue) -> JsResult<JsValue> {
        let f = "generate";
        let src = text(f, "source", &source)?;
        let specs = [ArgSpec::int("maxLen", 1, MAX_LEN as i64)];
        let a = Obj::read(f, &options, &specs)?.convert(&specs, |_, _| Ok(()))?;
        let max = a
            .usize_or("maxLen", self.config.max_len)
            .map_err(convert::core_err)?;
        self.s.with(f, |s| {
            let g = s.generate(&src, max)?;
            Ok(generation_js(&g, s.tokenizer.piece(BOS)))
        })
    }

    /// One forward pass on `source` and `<bos>` + `options.target` (the answer so far, default
    /// empty): tokens and ids of both sides, the encoder's embeddings, layers and output
    /// (`memory`), the decoder's embeddings and layers (self- and cross-attention), the logits
    /// `[T, V]` and the top next tokens.
    pub fn trace(&self, source: JsValue, options: JsValue) -> JsResult<JsValue> {
        let f = "trace";
        let src = text(f, "source", &source)?;
        let specs = [ArgSpec::choice("target", &[])];
        let a = Obj::read(f, &options, &specs)?.convert(&specs, |_, _| Ok(()))?;
        let target = a.text_or("target", "").map_err(convert::core_err)?;
        self.s
            .with(f, |s| Ok(trace_js(&s.trace(&src, target, TRACE_TOP)?)))
    }

    /// The model's sizes: `{vocab_size, d_model, n_heads, d_ff, activation, norm_first,
    /// layer_norm_eps, n_encoder_layers, n_decoder_layers, max_len}`.
    pub fn config(&self) -> JsValue {
        to_js(&self.config)
    }

    /// The vocabulary: `{pieces, source, target}` — every piece by id, and the pieces each side
    /// was built from (a source piece outside `source` is read as `<unk>`).
    pub fn vocab(&self) -> JsResult<JsValue> {
        self.s.with("vocab", |s| {
            let t = &s.tokenizer;
            Ok(object(&[
                ("pieces", string_array(t.vocab())),
                ("source", string_array(&t.source_vocab())),
                ("target", string_array(&t.target_vocab())),
            ]))
        })
    }
}

/// A recipe as data: `{name, steps, seed, corpusFile, pairs, heldout}`, where `pairs` and
/// `heldout` are the committed TSV texts it trains and is tested on.
#[wasm_bindgen]
pub fn recipe(name: JsValue) -> JsResult<JsValue> {
    let f = "recipe";
    let name = text(f, "name", &name)?;
    let r = Recipe::by_name(&name).map_err(|x| convert::core_err(x.context(f)))?;
    Ok(object(&[
        ("name", JsValue::from_str(r.name)),
        ("steps", JsValue::from(r.steps as u32)),
        ("seed", JsValue::from(r.options.seed as f64)),
        ("corpusFile", JsValue::from_str(r.corpus_file)),
        ("pairs", JsValue::from_str(r.corpus)),
        ("heldout", JsValue::from_str(r.heldout)),
    ]))
}
