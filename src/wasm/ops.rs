//! The stateless JS functions: `attention`, and `forward` / `backward` for every op and layer.
//!
//! Both are doors to the op table ([`crate::ops::registry`]), which declares each op's
//! arguments once: `forward(op, args)` returns the outputs and the intermediates the page
//! draws; `backward(op, args)` takes the same arguments plus the upstream gradient (`dy`,
//! `dout` for attention, `dloss` for cross-entropy) and returns the gradient of every input
//! and parameter under the argument's own name. Parameters are named as in PyTorch's
//! `state_dict` (`weight`, `bias`, `in_proj_weight`, `self_attn.out_proj.weight`,
//! `linear1.weight`, …). Unknown argument names are refused with the list of accepted ones.

use super::convert::{core_err, outputs_to_js, text, JsResult, Obj};
use crate::ops::registry;
use wasm_bindgen::prelude::*;

fn run(
    func_kind: &str,
    op: &JsValue,
    positional: Vec<(&str, JsValue)>,
    args: &JsValue,
    backward: bool,
) -> JsResult<JsValue> {
    let op = text(func_kind, "op", op)?;
    let spec = registry::spec(&op).map_err(core_err)?;
    let func = if func_kind == spec.op {
        func_kind.to_string()
    } else {
        format!("{func_kind}({})", spec.op)
    };
    let all = spec.args_for(backward);
    let given: Vec<&str> = positional.iter().map(|(k, _)| *k).collect();
    let named: Vec<_> = all
        .iter()
        .filter(|s| !given.contains(&s.name.as_str()))
        .cloned()
        .collect();
    let obj = Obj::positional(&func, positional).merge(Obj::read(&func, args, &named)?);
    let values = obj.convert(&all, |shapes, scalars| {
        let heads = scalars.usize_or("heads", 1)?;
        registry::check_work(spec.op, &func, shapes, heads)
    })?;
    let out = registry::run(spec.op, &values, backward).map_err(core_err)?;
    Ok(outputs_to_js(out))
}

/// Scaled dot-product attention for one head.
///
/// `q` `[Tq, D]`, `k` `[Tk, D]`, `v` `[Tk, Dv]`; options `{causal, attnMask: [Tq, Tk] bool
/// (true = blocked), keyPaddingMask: [Tk] bool, scale}`. Returns `{scores, weights, output}`.
#[wasm_bindgen]
pub fn attention(q: JsValue, k: JsValue, v: JsValue, options: JsValue) -> JsResult<JsValue> {
    let op = JsValue::from_str("attention");
    run(
        "attention",
        &op,
        vec![("q", q), ("k", k), ("v", v)],
        &options,
        false,
    )
}

/// Runs op `op` forward: returns its outputs and the intermediates the page draws.
#[wasm_bindgen]
pub fn forward(op: JsValue, args: JsValue) -> JsResult<JsValue> {
    run("forward", &op, vec![], &args, false)
}

/// Runs op `op` backward from the upstream gradient in `args` (`dy`, `dout` or `dloss`):
/// returns the gradient of every input and parameter, keyed by its argument name.
#[wasm_bindgen]
pub fn backward(op: JsValue, args: JsValue) -> JsResult<JsValue> {
    run("backward", &op, vec![], &args, true)
}
