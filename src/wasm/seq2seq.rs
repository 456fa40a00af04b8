//! `Seq2Seq`: a live encoder–decoder for the page — build it from parallel pairs, load the
//! shipped one, train it, let it write an answer token by token with every attention weight,
//! trace one forward pass, save it. The model itself is [`crate::seq2seq::Seq2Seq`]; this file
//! converts arguments (through [`super::convert`]) and results, nothing else.
//!
//! As in `Model`, every method converts its arguments before it borrows the session (see
//! [`super::session`]).

use super::convert::{self, object, string_array, tensor_to_js, text, JsResult, Obj};
use super::session::{
    encoder_layers_js, ids_js, max_len_option, pair_class, pair_session, rows_js, top_k_js,
};
use super::spec::{
    as_refs, layer_args, layer_from, mode_from, options_from, pairs_arg, pairs_from, training_args,
};
use crate::args::ArgSpec;
use crate::models::encoder_decoder::EncoderDecoderConfig;
use crate::models::{MAX_LAYERS, MAX_LEN};
use crate::recipes::{source_segmenter, target_segmenter, Recipe};
use crate::seq2seq::{self as core, Generation};
use crate::tokenizer::BOS;
use js_sys::Array;
use ndarray::Axis;
use wasm_bindgen::prelude::*;

/// How many candidates `trace` lists as `next`.
const TRACE_TOP: usize = 5;

pair_session!(
    core::Seq2Seq,
    EncoderDecoderConfig,
    pair_count,
    into_seq2seq
);

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
    specs.push(super::spec::shards_arg());
    specs
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

pair_class!(
    /// A live encoder–decoder with its pair tokenizer, training pairs, optimiser and losses
    /// (a [`crate::seq2seq::Seq2Seq`]).
    Seq2Seq,
    core::Seq2Seq,
    "Seq2Seq"
);

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

    /// Greedy decoding of `source`, at most `options.maxLen` tokens (default and limit: the
    /// model's `maxLen`). Returns `{sourceTokens, sourceIds, unknown, targetTokens, text,
    /// steps}`: each step `{token, id, prob, self, cross}` with `self[layer][head]` a
    /// `Float32Array` over `targetTokens` up to that step and `cross[layer][head]` over
    /// `sourceTokens`.
    pub fn generate(&self, source: JsValue, options: JsValue) -> JsResult<JsValue> {
        let f = "generate";
        let src = text(f, "source", &source)?;
        let max = max_len_option(f, &options, self.config.max_len)?;
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
super::shards::sharded_class!(Seq2Seq, s);
