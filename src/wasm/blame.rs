//! Backpropagation you can follow (module 4), on a decoder-only `Model`: `model.blame` lays
//! open the backward pass of one example and one plain-SGD step, `model.stepSize` draws the
//! loss along the gradient (see [`crate::blame`]).

use super::convert::{self, numbers, object, string_array, text, to_js, JsResult, Obj};
use super::model::Model;
use super::session::{ids_js, top_k_js};
use crate::args::{ArgSpec, Kind};
use crate::blame::{self, Example, MAX_STEP_SIZES};
use crate::tokenizer::UNK;
use crate::trainer::{top_k, Trainer};
use js_sys::{Float32Array, Float64Array};
use wasm_bindgen::prelude::*;

/// Default learning rate of `blame`'s SGD step.
pub const DEFAULT_LR: f64 = 0.1;

/// The prompt's tokens as the traces give them, with the target.
fn example_js(ex: &Example) -> Vec<(&'static str, JsValue)> {
    let unknown: Vec<String> = ex
        .pieces
        .iter()
        .zip(&ex.ids)
        .filter(|(_, &i)| i == UNK)
        .map(|(p, _)| p.clone())
        .collect();
    vec![
        ("tokens", string_array(&ex.pieces)),
        ("ids", ids_js(&ex.ids)),
        ("unknown", string_array(&unknown)),
        ("dropped", JsValue::from(ex.dropped as u32)),
        (
            "target",
            object(&[
                ("token", JsValue::from_str(&ex.target_piece)),
                ("id", JsValue::from(ex.target as u32)),
            ]),
        ),
    ]
}

fn piece(tr: &Trainer, id: usize) -> String {
    tr.tokenizer
        .as_ref()
        .map_or_else(|| id.to_string(), |t| t.piece(id).to_string())
}

fn top_js(tr: &Trainer, p: &[f32], k: usize) -> JsValue {
    top_k_js(
        top_k(p, k)
            .into_iter()
            .map(|id| (piece(tr, id), id, p[id]))
            .collect(),
    )
}

fn before_after(before: f32, after: f32) -> JsValue {
    object(&[
        ("before", JsValue::from(before)),
        ("after", JsValue::from(after)),
    ])
}

#[wasm_bindgen]
impl Model {
    /// The backward pass of one training example laid open: `prompt` (its last maxLen tokens)
    /// and `target`, the one token that should follow it (a piece of the vocabulary as
    /// written there: `'散步'` after `'今天天气真好，适合去'`, `'walk'` after `'the weather is nice
    /// today , a good day for a'`). L = −log p[target] on that position only.
    ///
    /// `opts`: `{top (1 … 1000, default 5), lr (η ≥ 0, default 0.1), weight (a parameter's
    /// name), index (flat index in it; default: its entry with the largest |gradient|; without
    /// weight: the entry with the largest |gradient| of the whole model), apply (default
    /// false: the step is computed on a copy; true: the model keeps the stepped weights)}`.
    ///
    /// Returns `{tokens, ids, unknown, dropped, target: {token, id}, probs: Float32Array [V],
    /// top: [{token, id, prob}], loss, dlogits: Float32Array [V] (∂L/∂logits = p − y from the
    /// engine's backward), stages: [{name, kind, layer, norm, perToken: [T]}] (the gradient
    /// of the residual stream from the loss down: "logits", "ln_f.output", then per layer from
    /// the top "layers.{l}.output" and "layers.{l}.mid" (between its attention and FFN), then
    /// "embeddings"), params: [{name, shape, norm}] (every tensor's ‖∂L/∂θ‖), inputs:
    /// [{token, position, id, norm (‖∂L/∂x₀[t]‖), rowNorm (‖∂L/∂tok_emb[id]‖)}], mostBlamed
    /// (the position with the largest norm), step: {lr, update: {name, index, old, grad, lr,
    /// new} (new = old − lr·grad), loss: {before, after}, target: {before, after},
    /// previousTop: {token, id, before, after} (the top answer before the step), top (after
    /// the step), applied}}`. Plain SGD on every weight, whatever optimiser the model trains
    /// with; its optimiser state and step count are not touched.
    pub fn blame(&self, prompt: JsValue, target: JsValue, opts: JsValue) -> JsResult<JsValue> {
        let f = "blame";
        let prompt = text(f, "prompt", &prompt)?;
        let target = text(f, "target", &target)?;
        let specs = [
            ArgSpec::int("top", 1, super::model::MAX_TOP_K),
            ArgSpec::number("lr"),
            ArgSpec::choice("weight", &[]),
            ArgSpec::int("index", 0, crate::models::MAX_PARAMS as i64),
            ArgSpec::flag("apply"),
        ];
        let a = Obj::read(f, &opts, &specs)?.convert(&specs, |_, _| Ok(()))?;
        let e = convert::core_err;
        let k = a.usize_or("top", 5).map_err(e)?;
        let lr = a.number_or("lr", DEFAULT_LR).map_err(e)?;
        let weight = a
            .has("weight")
            .then(|| a.text_or("weight", "").map(String::from))
            .transpose()
            .map_err(e)?;
        let index = a
            .has("index")
            .then(|| a.usize_or("index", 0))
            .transpose()
            .map_err(e)?;
        let apply = a.flag_or("apply", false).map_err(e)?;
        if index.is_some() && weight.is_none() {
            return Err(convert::err(format!(
                "{f}: index needs weight (the parameter it is an index of)"
            )));
        }
        self.with(f, |tr| {
            let ex = blame::example(tr, &prompt, &target)?;
            blame::check_work(&tr.model, ex.ids.len(), 2)?;
            let b = blame::blame(&tr.model, &ex.ids, ex.target)?;
            let after = blame::sgd_step(&tr.model, &b.grads, lr)?;
            let (name, index) = match (&weight, index) {
                (Some(w), Some(i)) => (w.clone(), i),
                (w, _) => blame::largest_gradient(&tr.model, &b.grads, w.as_deref())?,
            };
            let update = blame::weight_update(&tr.model, &after, &b.grads, lr, &name, index)?;
            let (p2, loss2) = blame::next_loss(&after, &ex.ids, ex.target)?;
            let prev = top_k(&b.probs, 1)[0];
            let step = object(&[
                ("lr", JsValue::from(lr)),
                ("update", to_js(&update)),
                ("loss", before_after(b.loss, loss2)),
                ("target", before_after(b.probs[ex.target], p2[ex.target])),
                (
                    "previousTop",
                    object(&[
                        ("token", JsValue::from_str(&piece(tr, prev))),
                        ("id", JsValue::from(prev as u32)),
                        ("before", JsValue::from(b.probs[prev])),
                        ("after", JsValue::from(p2[prev])),
                    ]),
                ),
                ("top", top_js(tr, &p2, k)),
                ("applied", JsValue::from(apply)),
            ]);
            let inputs = js_sys::Array::new();
            for (tb, p) in b.tokens.iter().zip(&ex.pieces) {
                inputs.push(&object(&[
                    ("token", JsValue::from_str(p)),
                    ("position", JsValue::from(tb.position as u32)),
                    ("id", JsValue::from(tb.id as u32)),
                    ("norm", JsValue::from(tb.norm)),
                    ("rowNorm", JsValue::from(tb.row_norm)),
                ]));
            }
            let mut fields = example_js(&ex);
            fields.extend([
                ("probs", Float32Array::from(b.probs.as_slice()).into()),
                ("top", top_js(tr, &b.probs, k)),
                ("loss", JsValue::from(b.loss)),
                ("dlogits", Float32Array::from(b.dlogits.as_slice()).into()),
                ("stages", to_js(&b.stages)),
                ("params", to_js(&b.params)),
                ("inputs", inputs.into()),
                ("mostBlamed", JsValue::from(b.most_blamed as u32)),
                ("step", step),
            ]);
            let out = object(&fields);
            if apply {
                tr.model = after;
            }
            Ok(out)
        })
    }

    /// The step-size curve of one example: its loss L(θ − η·g) after one plain-SGD step of
    /// each learning rate η of `opts.lrs` (a `Float64Array`, `Float32Array` or array of 1 to
    /// 256 numbers, each finite and ≥ 0), g = the gradient of L = −log p[target] after
    /// `prompt` (as `blame`). The model is not changed.
    ///
    /// Returns `{tokens, ids, unknown, dropped, target: {token, id}, loss (at η = 0),
    /// lrs: Float64Array, losses: Float32Array, heldoutLoss (at η = 0), heldout: Float32Array,
    /// best: {index, lr, loss}}` (best: the smallest loss among the given η, the first if
    /// tied). `heldout[i]` is the model's loss on its held-out text (`evalLoss`) after the
    /// same step: what a step fitted to one example does to the rest (NaN without held-out
    /// text).
    #[wasm_bindgen(js_name = stepSize)]
    pub fn step_size(&self, prompt: JsValue, target: JsValue, opts: JsValue) -> JsResult<JsValue> {
        let f = "stepSize";
        let prompt = text(f, "prompt", &prompt)?;
        let target = text(f, "target", &target)?;
        let specs = [ArgSpec::req("lrs", Kind::Object)];
        let obj = Obj::read(f, &opts, &specs)?;
        let raw = obj.raw("lrs").ok_or_else(|| {
            convert::err(format!(
                "{f}: missing argument lrs (the learning rates: 1 to {MAX_STEP_SIZES} numbers ≥ 0)"
            ))
        })?;
        let lrs = numbers(f, "lrs", raw, MAX_STEP_SIZES)?;
        self.with(f, |tr| {
            blame::check_lrs(&lrs)?;
            let ex = blame::example(tr, &prompt, &target)?;
            blame::check_work_with(&tr.model, ex.ids.len(), lrs.len(), tr.eval_shape())?;
            let b = blame::blame(&tr.model, &ex.ids, ex.target)?;
            let both = blame::along_gradient(&tr.model, &b.grads, &lrs, |m| {
                Ok((
                    blame::next_loss(m, &ex.ids, ex.target)?.1,
                    tr.eval_loss_of(m)?,
                ))
            })?;
            let (losses, heldout): (Vec<f32>, Vec<f32>) = both.into_iter().unzip();
            let best = match blame::argmin(&losses) {
                Some(i) => object(&[
                    ("index", JsValue::from(i as u32)),
                    ("lr", JsValue::from(lrs[i])),
                    ("loss", JsValue::from(losses[i])),
                ]),
                None => JsValue::NULL,
            };
            let mut fields = example_js(&ex);
            fields.extend([
                ("loss", JsValue::from(b.loss)),
                ("lrs", Float64Array::from(lrs.as_slice()).into()),
                ("losses", Float32Array::from(losses.as_slice()).into()),
                ("heldoutLoss", JsValue::from(tr.eval_loss()?)),
                ("heldout", Float32Array::from(heldout.as_slice()).into()),
                ("best", best),
            ]);
            Ok(object(&fields))
        })
    }
}
