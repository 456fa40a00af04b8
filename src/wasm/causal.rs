//! `CausalLM`: a live decoder-only language model (GPT-like) for the page — build it from pairs
//! joined into one sequence, load the shipped one, train it, let it continue a prompt token by
//! token with every attention weight, trace one forward pass, save it. The model itself is
//! [`crate::causal_lm::CausalLm`]; this file converts arguments (through [`super::convert`])
//! and results, nothing else. What every pair class shares is in [`super::session`].

use super::convert::{core_err, object, string_array, text, JsResult};
use super::session::{
    candidates_js, ids_js, joined_vocab_js, max_len_option, pair_class, pair_session, rows_js,
    stack_trace_js,
};
use super::spec::{as_refs, joined_args, joined_from};
use crate::args::ArgSpec;
use crate::causal_lm::{self as core, CausalGeneration, LossOn};
use crate::models::decoder_only::DecoderOnlyConfig;
use js_sys::Array;
use wasm_bindgen::prelude::*;

pair_session!(
    core::CausalLm,
    DecoderOnlyConfig,
    sequence_count,
    into_causal
);

pair_class!(
    /// A live decoder-only model with its tokenizer of joined pairs, training sequences,
    /// optimiser and losses (a [`crate::causal_lm::CausalLm`]).
    CausalLM,
    core::CausalLm,
    "CausalLM"
);

/// A greedy continuation as `generate` returns it.
fn generation_js(g: &CausalGeneration) -> JsValue {
    let steps = Array::new();
    for st in &g.steps {
        steps.push(&object(&[
            ("token", JsValue::from_str(&st.token)),
            ("id", JsValue::from(st.id as u32)),
            ("prob", JsValue::from(st.prob)),
            ("attention", rows_js(&st.attention)),
        ]));
    }
    object(&[
        ("context", string_array(&g.context)),
        ("contextIds", ids_js(&g.context_ids)),
        ("unknown", string_array(&g.unknown)),
        ("text", JsValue::from_str(&g.text)),
        ("steps", steps.into()),
    ])
}

#[wasm_bindgen]
impl CausalLM {
    /// A model from a spec: `{pairs, tokenizer, separator, dModel, nHeads, dFf, nLayers, maxLen,
    /// activation, normFirst, lossOn, seed, batchSize, optimizer, clip}`. `pairs` (required) is
    /// TSV text (`source<TAB>target` a line) or an array of `[source, target]`; each pair is
    /// joined into one sequence, `<bos> source + separator + target <eos>`, and the vocabulary
    /// is built from them. `lossOn`: `"sequence"` (default: every next piece, as a language
    /// model is pretrained) or `"answer"` (only the pieces after the separator). Weights come
    /// from `seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(spec: JsValue) -> JsResult<CausalLM> {
        let f = "new CausalLM";
        let specs = joined_args(vec![ArgSpec::choice("lossOn", &["sequence", "answer"])]);
        let d = DecoderOnlyConfig::default();
        let j = joined_from(f, &spec, &specs, (d.layer, d.n_layers, d.max_len), true)?;
        let loss_on = match j.values.text_or("lossOn", "sequence").map_err(core_err)? {
            "answer" => LossOn::Answer,
            _ => LossOn::Sequence,
        };
        let config = DecoderOnlyConfig {
            layer: j.layer,
            n_layers: j.n_layers,
            max_len: j.max_len,
            ..d
        };
        let pairs = as_refs(&j.pairs);
        let s = core::CausalLm::new(config, j.tokenizer, &pairs, loss_on, j.options)
            .map_err(|x| core_err(x.context(f)))?;
        Ok(CausalLM::wrap(s))
    }

    /// Greedy continuation of `prompt` (which may be empty: the model starts from `<bos>`), at
    /// most `options.maxLen` pieces (default: as many as the model's `maxLen` leaves), ending
    /// after `<eos>`. To answer a situation, end the prompt with the separator
    /// (`'小明今天感冒了，'`). Returns `{context, contextIds, unknown, text, steps}`: `context`
    /// is `<bos>` and the prompt's pieces; each step `{token, id, prob, attention}` with
    /// `attention[layer][head]` a `Float32Array` over the pieces read so far (`context` and
    /// the pieces written before it: a token sees only those before it).
    pub fn generate(&self, prompt: JsValue, options: JsValue) -> JsResult<JsValue> {
        let f = "generate";
        let p = text(f, "prompt", &prompt)?;
        let max = max_len_option(f, &options, self.config.max_len)?;
        self.s.with(f, |s| Ok(generation_js(&s.generate(&p, max)?)))
    }

    /// One forward pass on `<bos>` + `text`: `{tokens, ids, unknown, embeddings [T, C],
    /// layers: [{input, attention: {q, k, v, scores, weights [1, H, T, T], concat},
    /// afterAttention, output}], logits [T, V], next}`, `next` the five most probable pieces
    /// after the last one (`[{token, id, prob}]`).
    pub fn trace(&self, text_v: JsValue) -> JsResult<JsValue> {
        let f = "trace";
        let t = text(f, "text", &text_v)?;
        self.s.with(f, |s| {
            let tr = s.trace(&t, 5)?;
            let next = candidates_js(&tr.predictions[0].candidates);
            Ok(stack_trace_js(&tr, "next", next))
        })
    }

    /// The vocabulary: `{pieces, separator}` — every piece by id (`<eos>` is `pieces[4]`), and
    /// the piece between a pair's two sides.
    pub fn vocab(&self) -> JsResult<JsValue> {
        self.s.with("vocab", |s| Ok(joined_vocab_js(&s.tokenizer)))
    }
}
