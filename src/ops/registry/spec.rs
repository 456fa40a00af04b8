//! Each op's declared arguments ([`spec`]) and the work a call asks for ([`check_work`]), from
//! the argument shapes alone.

use super::{OpSpec, OPS};
use crate::args::{self, ArgSpec, Kind};
use crate::error::{Error, Result};
use crate::layers::decoder_layer::DecoderLayer;
use crate::layers::encoder_layer::EncoderLayer;
use crate::layers::{FfnWeights, LayerConfig, MhaWeights};
use crate::ops::{gelu::Approximate, Activation};
use crate::scope::{declare, Scope};
use std::collections::BTreeMap;

const ACTIVATIONS: &[&str] = Activation::NAMES;
const MAX_HEADS: i64 = 4096;

fn tensor(name: &str, rank: usize) -> ArgSpec {
    ArgSpec::req(name, Kind::Tensor(rank))
}

/// The parameters a block declares (see [`crate::scope`]), as required tensor arguments under
/// their `state_dict` names; placeholder sizes, since only the names and ranks matter here.
fn params<T>(new: impl FnOnce(&Scope, &LayerConfig) -> T) -> Vec<ArgSpec> {
    let cfg = LayerConfig {
        d_model: 1,
        n_heads: 1,
        d_ff: 1,
        ..Default::default()
    };
    declare("", |s| new(s, &cfg))
        .1
        .into_iter()
        .map(|d| ArgSpec::req(d.name, Kind::Tensor(d.shape.len())))
        .collect()
}

fn mask_args(kpm_rank: usize) -> Vec<ArgSpec> {
    vec![
        ArgSpec::flag("causal"),
        ArgSpec::opt("attnMask", Kind::Mask(2)),
        ArgSpec::opt("keyPaddingMask", Kind::Mask(kpm_rank)),
    ]
}

fn layer_opts() -> Vec<ArgSpec> {
    vec![
        ArgSpec::int("heads", 1, MAX_HEADS),
        ArgSpec::choice("activation", ACTIVATIONS),
        ArgSpec::flag("normFirst"),
        ArgSpec::opt("eps", Kind::Number { positive: true }),
    ]
}

/// The declared arguments of `op` (an error listing the ops if there is none by that name).
pub fn spec(op: &str) -> Result<OpSpec> {
    let dy = |r| tensor("dy", r);
    let (op, args, grad): (&'static str, Vec<ArgSpec>, ArgSpec) = match op {
        "linear" => (
            "linear",
            vec![
                tensor("x", 2),
                tensor("weight", 2),
                ArgSpec::opt("bias", Kind::Tensor(1)),
            ],
            dy(2),
        ),
        "embedding" => (
            "embedding",
            vec![tensor("weight", 2), tensor("ids", 1)],
            dy(2),
        ),
        "layer_norm" => (
            "layer_norm",
            vec![
                tensor("x", 2),
                tensor("weight", 1),
                tensor("bias", 1),
                ArgSpec::opt("eps", Kind::Number { positive: true }),
            ],
            dy(2),
        ),
        "relu" => ("relu", vec![tensor("x", 2)], dy(2)),
        "gelu" => (
            "gelu",
            vec![
                tensor("x", 2),
                ArgSpec::choice("approximate", Approximate::NAMES),
            ],
            dy(2),
        ),
        "softmax" => ("softmax", vec![tensor("x", 2)], dy(2)),
        "attention" => {
            let mut a = vec![tensor("q", 2), tensor("k", 2), tensor("v", 2)];
            a.extend(mask_args(1));
            a.push(ArgSpec::opt("attnBias", Kind::Bias(&[2])));
            a.push(ArgSpec::number("scale"));
            ("attention", a, tensor("dout", 2))
        }
        "mha" | "multi_head_attention" => {
            let mut a = vec![
                tensor("query", 3),
                ArgSpec::opt("key", Kind::Tensor(3)),
                ArgSpec::opt("value", Kind::Tensor(3)),
                ArgSpec::int("heads", 1, MAX_HEADS),
            ];
            a.extend(mask_args(2));
            a.push(ArgSpec::opt("attnBias", Kind::Bias(&[2, 3])));
            a.extend(params(|s, c| MhaWeights::new(s, c.d_model)));
            ("mha", a, tensor("dout", 3))
        }
        "ffn" => {
            let mut a = vec![tensor("x", 2), ArgSpec::choice("activation", ACTIVATIONS)];
            a.extend(params(|s, c| FfnWeights::new(s, c.d_model, c.d_ff)));
            ("ffn", a, dy(2))
        }
        "encoder_layer" => {
            let mut a = vec![tensor("x", 3)];
            a.extend(layer_opts());
            a.extend(mask_args(2));
            a.extend(params(EncoderLayer::new));
            ("encoder_layer", a, dy(3))
        }
        "decoder_layer" => {
            let mut a = vec![tensor("x", 3), tensor("memory", 3)];
            a.extend(layer_opts());
            a.extend(mask_args(2));
            a.push(ArgSpec::opt("memoryMask", Kind::Mask(2)));
            a.push(ArgSpec::opt("memoryKeyPaddingMask", Kind::Mask(2)));
            a.extend(params(DecoderLayer::new));
            ("decoder_layer", a, dy(3))
        }
        "cross_entropy" => (
            "cross_entropy",
            vec![
                tensor("logits", 2),
                tensor("targets", 1),
                ArgSpec::int("ignoreIndex", -(1 << 53), 1 << 53),
            ],
            ArgSpec::opt("dloss", Kind::Number { positive: false }),
        ),
        other => {
            return Err(Error::value(format!(
                "unknown op {other:?}; the ops are {}",
                OPS.join(", ")
            )))
        }
    };
    Ok(OpSpec { op, args, grad })
}

/// Refuses a call whose largest intermediate or whose floating-point operations would exceed
/// the limits of [`crate::args`], from the argument shapes and `heads` alone (so before any
/// data is copied). Shapes of the wrong rank count as empty here; [`super::run`] reports them.
pub fn check_work(
    op: &str,
    func: &str,
    shapes: &BTreeMap<String, Vec<usize>>,
    heads: usize,
) -> Result<()> {
    let dim =
        |n: &str, i: usize| shapes.get(n).and_then(|s| s.get(i)).copied().unwrap_or(0) as u128;
    let h = heads.max(1) as u128;
    // multi-head attention of Tq queries over Tk keys, batch b, width c
    let mha = |b: u128, tq: u128, tk: u128, c: u128| {
        let scores = b * h * tq * tk;
        (
            scores.max(b * (tq + 2 * tk) * c),
            2 * b * (tq + 2 * tk) * c * c + 4 * b * tq * tk * c + 2 * b * tq * c * c,
        )
    };
    let ffn = |rows: u128, c: u128, f: u128| (rows * f, 4 * rows * c * f);
    let (what, elements, flops) = match op {
        "linear" => {
            let (n, i, o) = (dim("x", 0), dim("x", 1), dim("weight", 0));
            ("the output", n * o, 2 * n * i * o)
        }
        "embedding" => {
            let (n, c, v) = (dim("ids", 0), dim("weight", 1), dim("weight", 0));
            ("the output", (n * c).max(v * c), n * c)
        }
        "attention" => {
            let (tq, tk, d, dv) = (dim("q", 0), dim("k", 0), dim("q", 1), dim("v", 1));
            ("the scores", tq * tk, 4 * tq * tk * (d + dv))
        }
        "mha" | "multi_head_attention" => {
            let kv = if shapes.contains_key("key") {
                "key"
            } else {
                "query"
            };
            let (e, f) = mha(
                dim("query", 0),
                dim("query", 1),
                dim(kv, 1),
                dim("query", 2),
            );
            ("the scores of all heads", e, 3 * f)
        }
        "ffn" => {
            let (e, f) = ffn(dim("x", 0), dim("x", 1), dim("linear1.weight", 0));
            ("the hidden layer", e, 3 * f)
        }
        "encoder_layer" | "decoder_layer" => {
            let (b, t, c) = (dim("x", 0), dim("x", 1), dim("x", 2));
            let (mut e, mut f) = mha(b, t, t, c);
            if op == "decoder_layer" {
                let (e2, f2) = mha(b, t, dim("memory", 1), c);
                e = e.max(e2);
                f += f2;
            }
            let (e3, f3) = ffn(b * t, c, dim("linear1.weight", 0));
            ("the layer's intermediates", e.max(e3), 3 * (f + f3))
        }
        _ => {
            let n = shapes.values().map(|s| args::numel(s)).max().unwrap_or(0);
            ("the output", n, 10 * n)
        }
    };
    args::check_work(func, what, elements, flops)
}
