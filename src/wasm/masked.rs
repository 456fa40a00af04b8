//! `MaskedLM`: a live encoder-only model (BERT-like) for the page — build it from pairs joined
//! into one sequence, load the shipped one, train it, let it fill in `[MASK]`s with every
//! attention weight, trace one forward pass, save it. The model itself is
//! [`crate::masked_lm::MaskedLm`]; this file converts arguments (through [`super::convert`])
//! and results, nothing else. What every pair class shares is in [`super::session`].

use super::convert::{core_err, err, object, string_array, text, JsResult, Obj};
use super::session::{
    candidates_js, ids_js, joined_vocab_js, pair_class, pair_session, stack_trace_js,
};
use super::spec::{as_refs, joined_args, joined_from};
use crate::args::ArgSpec;
use crate::masked_lm::{self as core, FillMask, Masking};
use crate::models::encoder_only::EncoderOnlyConfig;
use js_sys::{Array, Float32Array};
use wasm_bindgen::prelude::*;

/// Most candidates `fillMask` lists at a mask.
const MAX_TOP: i64 = 1000;

pair_session!(
    core::MaskedLm,
    EncoderOnlyConfig,
    sequence_count,
    into_masked
);

pair_class!(
    /// A live encoder-only model with its tokenizer of joined pairs, training sequences,
    /// optimiser and losses (a [`crate::masked_lm::MaskedLm`]).
    MaskedLM,
    core::MaskedLm,
    "MaskedLM"
);

/// `[{position, candidates: [{token, id, prob}]}]`.
fn masks_js(fills: &[core::MaskFill]) -> JsValue {
    let arr = Array::new();
    for m in fills {
        arr.push(&object(&[
            ("position", JsValue::from(m.position as u32)),
            ("candidates", candidates_js(&m.candidates)),
        ]));
    }
    arr.into()
}

/// A fill-mask as `fillMask` returns it: attention as `[layer][head]` `Float32Array`s of T × T,
/// row-major (row i: what token i looked at).
fn fill_js(f: &FillMask) -> JsValue {
    let layers = Array::new();
    for heads in &f.attention {
        let arr = Array::new();
        for rows in heads {
            let flat: Vec<f32> = rows.iter().flatten().copied().collect();
            arr.push(&Float32Array::from(flat.as_slice()));
        }
        layers.push(&arr);
    }
    object(&[
        ("tokens", string_array(&f.tokens)),
        ("ids", ids_js(&f.ids)),
        ("unknown", string_array(&f.unknown)),
        ("masks", masks_js(&f.masks)),
        ("attention", layers.into()),
    ])
}

#[wasm_bindgen]
impl MaskedLM {
    /// A model from a spec: `{pairs, tokenizer, separator, dModel, nHeads, dFf, nLayers, maxLen,
    /// activation, normFirst, maskRate, seed, batchSize, optimizer, clip}`. `pairs` (required)
    /// is TSV text (`source<TAB>target` a line) or an array of `[source, target]`; each pair is
    /// joined into one sequence, `source + separator + target`, and the vocabulary is built
    /// from them. `maskRate` (default 0.15): the share of positions hidden in training (80 % as
    /// `[MASK]`, 10 % a random piece, 10 % left, as BERT). Weights come from `seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(spec: JsValue) -> JsResult<MaskedLM> {
        let f = "new MaskedLM";
        let specs = joined_args(vec![ArgSpec::number("maskRate")]);
        let d = EncoderOnlyConfig::default();
        let j = joined_from(f, &spec, &specs, (d.layer, d.n_layers, d.max_len), false)?;
        let rate = j.values.number_or("maskRate", Masking::BERT.rate);
        let rate = rate.map_err(core_err)?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(err(format!(
                "{f}: maskRate is {rate}; it must be a number from 0 to 1"
            )));
        }
        let config = EncoderOnlyConfig {
            layer: j.layer,
            n_layers: j.n_layers,
            max_len: j.max_len,
            ..d
        };
        let masking = Masking {
            rate,
            ..Masking::BERT
        };
        let pairs = as_refs(&j.pairs);
        let s = core::MaskedLm::new(config, j.tokenizer, &pairs, masking, j.options)
            .map_err(|x| core_err(x.context(f)))?;
        Ok(MaskedLM::wrap(s))
    }

    /// Fills in every `[MASK]` of `text` (`<mask>` works too) with its `options.top` (default
    /// 5) most probable pieces. Returns `{tokens, ids, unknown, masks, attention}`: `masks` one
    /// `{position, candidates: [{token, id, prob}]}` per mask, left to right, most probable
    /// first; `attention[layer][head]` a `Float32Array` of T × T weights, row-major (row i is
    /// what token i looked at: every token sees every token). Unknown words are listed in
    /// `unknown` and read as `<unk>`.
    #[wasm_bindgen(js_name = fillMask)]
    pub fn fill_mask(&self, text_v: JsValue, options: JsValue) -> JsResult<JsValue> {
        let f = "fillMask";
        let t = text(f, "text", &text_v)?;
        let specs = [ArgSpec::int("top", 1, MAX_TOP)];
        let a = Obj::read(f, &options, &specs)?.convert(&specs, |_, _| Ok(()))?;
        let k = a.usize_or("top", 5).map_err(core_err)?;
        self.s.with(f, |s| Ok(fill_js(&s.fill_mask_top(&t, k)?)))
    }

    /// One forward pass on `text` (with or without `[MASK]`s): `{tokens, ids, unknown,
    /// embeddings [T, C], layers: [{input, attention: {q, k, v, scores, weights [1, H, T, T],
    /// concat}, afterAttention, output}], logits [T, V], masks}`, `masks` as in `fillMask`
    /// (five candidates each).
    pub fn trace(&self, text_v: JsValue) -> JsResult<JsValue> {
        let f = "trace";
        let t = text(f, "text", &text_v)?;
        self.s.with(f, |s| {
            let tr = s.trace(&t, 5)?;
            Ok(stack_trace_js(&tr, "masks", masks_js(&tr.predictions)))
        })
    }

    /// The vocabulary: `{pieces, separator}` — every piece by id (`pieces[3]` is `<mask>`),
    /// and the piece between a pair's two sides.
    pub fn vocab(&self) -> JsResult<JsValue> {
        self.s.with("vocab", |s| Ok(joined_vocab_js(&s.tokenizer)))
    }
}
