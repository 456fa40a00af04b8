//! The layer panel's calls: a decoder-only `Model`'s forward pass with every layer laid open
//! (`model.traceLayers`, see [`crate::block`]) and the next-token distribution at the top of
//! the stack (`nextToken`).

use super::convert::{self, floats, object, string_array, tensor_to_js as t, text, JsResult, Obj};
use super::model::Model;
use super::session::ids_js;
use crate::args::ArgSpec;
use crate::block::{self, BlockTrace, NormTrace};
use crate::ops::registry::heads_out;
use crate::tokenizer::UNK;
use js_sys::{Array, Float32Array};
use wasm_bindgen::prelude::*;

fn norm_js(n: &NormTrace) -> JsValue {
    object(&[
        ("name", JsValue::from_str(&n.name)),
        ("input", t(&n.input)),
        ("mean", t(&n.mean)),
        ("var", t(&n.var)),
        ("eps", JsValue::from(n.eps)),
        ("normalized", t(&n.normalized)),
        ("gamma", t(&n.gamma)),
        ("beta", t(&n.beta)),
        ("output", t(&n.output)),
    ])
}

fn block_js(b: &BlockTrace) -> JsValue {
    object(&[
        ("normFirst", JsValue::from(b.norm_first)),
        ("activation", JsValue::from_str(b.activation.name())),
        ("input", t(&b.input)),
        ("attention", convert::out_to_js(heads_out(&b.attention))),
        ("attnOut", t(&b.attn_out)),
        ("residual1", t(&b.residual1)),
        ("norm1", norm_js(&b.norm1)),
        ("ffnInput", t(&b.ffn_input)),
        ("up", t(&b.up)),
        ("act", t(&b.act)),
        ("down", t(&b.down)),
        ("residual2", t(&b.residual2)),
        ("norm2", norm_js(&b.norm2)),
        ("output", t(&b.output)),
    ])
}

#[wasm_bindgen]
impl Model {
    /// Every layer of the model laid open on `text` (its last `maxLen` tokens), as the layer
    /// panel draws it. `opts`: `{layer, normFirst}` traces layer `layer` with its norms placed
    /// the other way (to compare; the layers above read its output).
    ///
    /// Returns `{tokens, ids, unknown, dropped (tokens left out in front: the model reads at
    /// most maxLen), embeddings [T, C], layers: [{normFirst, activation,
    /// input, attention: {q, k, v, scores, weights, concat}, attnOut, residual1, norm1: {name,
    /// input, mean [T], var [T], eps, normalized, gamma [C], beta [C], output}, ffnInput,
    /// up [T, F], act [T, F], down, residual2, norm2, output}], finalNorm, logits [T, V],
    /// path: [[{norm, cosPrev, added}]] (layer 0 = the embeddings … L, then token)}`.
    #[wasm_bindgen(js_name = traceLayers)]
    pub fn trace_layers(&self, text_v: JsValue, opts: JsValue) -> JsResult<JsValue> {
        let f = "traceLayers";
        let txt = text(f, "text", &text_v)?;
        let specs = [
            ArgSpec::int("layer", 0, crate::models::MAX_LAYERS as i64),
            ArgSpec::flag("normFirst"),
        ];
        let a = Obj::read(f, &opts, &specs)?.convert(&specs, |_, _| Ok(()))?;
        let e = convert::core_err;
        let alt = match (
            a.int_or("layer", -1).map_err(e)?,
            a.flag_or("normFirst", false).map_err(e)?,
        ) {
            (-1, _) => None,
            (l, nf) => Some((l as usize, nf)),
        };
        self.with(f, |tr| {
            if let Some((l, _)) = alt {
                if l >= tr.model.config.n_layers {
                    return Err(crate::Error::value(format!(
                        "layer {l} does not exist (the model has {} layers)",
                        tr.model.config.n_layers
                    )));
                }
            }
            let (pieces, ids) = tr.encode(&txt)?;
            // Trainer::encode keeps the last max_len tokens: how many it left out in front.
            let all = tr
                .tokenizer
                .as_ref()
                .map_or(ids.len(), |t| t.encode(&txt).1.len());
            let m = block::trace_decoder_only(&tr.model, &ids, alt)?;
            let unknown: Vec<String> = pieces
                .iter()
                .zip(&ids)
                .filter(|(_, &i)| i == UNK)
                .map(|(p, _)| p.clone())
                .collect();
            let layers = Array::new();
            for b in &m.layers {
                layers.push(&block_js(b));
            }
            let path = Array::new();
            for row in &m.path {
                path.push(&convert::to_js(row));
            }
            Ok(object(&[
                ("tokens", string_array(&pieces)),
                ("ids", ids_js(&ids)),
                ("unknown", string_array(&unknown)),
                ("dropped", JsValue::from((all - ids.len()) as u32)),
                ("embeddings", t(&m.embeddings)),
                ("layers", layers.into()),
                ("finalNorm", norm_js(&m.final_norm)),
                ("logits", t(&m.logits)),
                ("path", path.into()),
            ]))
        })
    }
}

/// The next-token distribution of one position's `logits` (a `Float32Array` or array):
/// `opts` `{temperature (0.05 … 10, default 1), topK (0 = all, default 0), seed (default 1)}`.
/// Returns `{probs: Float32Array, kept: [ids, most probable first], pick, u}`: softmax of the
/// logits over τ among the top k, and the entry a uniform number u drawn from `seed` picks.
#[wasm_bindgen(js_name = nextToken)]
pub fn next_token(logits: JsValue, opts: JsValue) -> JsResult<JsValue> {
    let f = "nextToken";
    let z = floats(f, "logits", &logits)?;
    let specs = [
        ArgSpec::number("temperature"),
        ArgSpec::int("topK", 0, 1 << 20),
        ArgSpec::int("seed", 0, u32::MAX as i64),
    ];
    let a = Obj::read(f, &opts, &specs)?.convert(&specs, |_, _| Ok(()))?;
    let e = convert::core_err;
    let n = block::next_token(
        &z,
        a.number_or("temperature", 1.0).map_err(e)?,
        a.usize_or("topK", 0).map_err(e)?,
        a.int_or("seed", 1).map_err(e)? as u64,
    )
    .map_err(|x| e(x.context(f)))?;
    Ok(object(&[
        ("probs", Float32Array::from(n.probs.as_slice()).into()),
        ("kept", ids_js(&n.kept)),
        ("pick", JsValue::from(n.pick as u32)),
        ("u", JsValue::from(n.u)),
    ]))
}
