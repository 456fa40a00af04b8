//! PyTorch parity of the ops and layers (the models and optimisers are in `torch_models.rs`):
//! reference values that `tests/fixtures/make_fixtures.py` computed with PyTorch in float64 and
//! stored as JSON.
//!
//! Every case runs through the op table (`ops::registry`), the same door the JS API's
//! `forward` / `backward` use: the fixture's inputs, parameters, masks and options become named
//! arguments, and every output and gradient is compared under its name. Each case runs twice:
//! in f64, where the only difference from PyTorch is the order of floating-point operations
//! (tolerance 1e-9 of the tensor's largest magnitude), and in f32, the type the playground runs
//! in (tolerance 1e-4 of the largest magnitude).

mod common;

use common::torch::*;
use lm_playground::args::{Value as Arg, Values};
use lm_playground::ops::registry::{self, Out, Outputs};
use lm_playground::Real;
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

/// The op a fixture kind runs, and the name the upstream gradient goes by.
fn op_of(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "linear" => ("linear", "dy"),
        "embedding" => ("embedding", "dy"),
        "layer_norm" => ("layer_norm", "dy"),
        "relu" => ("relu", "dy"),
        "gelu" => ("gelu", "dy"),
        "softmax" => ("softmax", "dy"),
        "cross_entropy" => ("cross_entropy", "dloss"),
        "attention" => ("attention", "dout"),
        "mha_self" | "mha_cross" => ("mha", "dout"),
        "ffn" => ("ffn", "dy"),
        "encoder_layer" => ("encoder_layer", "dy"),
        "decoder_layer" => ("decoder_layer", "dy"),
        other => panic!("unknown fixture kind {other}"),
    }
}

/// A fixture input's name as the op table calls it.
fn arg_name(kind: &str, name: &str) -> String {
    match (kind, name) {
        ("mha_self", "x") => "query".into(),
        (_, "mask" | "attn_mask" | "tgt_mask") => "attnMask".into(),
        (_, "attn_bias") => "attnBias".into(),
        (_, "key_padding_mask") => "keyPaddingMask".into(),
        (_, "memory_key_padding_mask") => "memoryKeyPaddingMask".into(),
        (_, "n_heads") => "heads".into(),
        (_, "norm_first") => "normFirst".into(),
        (_, "layer_norm_eps") => "eps".into(),
        (_, "ignore_index") => "ignoreIndex".into(),
        _ => name.into(),
    }
}

/// The fixture case as named arguments of its op.
fn values<F: Real>(c: &Value, func: &str) -> Values<F> {
    let kind = c["kind"].as_str().unwrap();
    let mut a = Values::new(func);
    for group in ["inputs", "params"] {
        for (k, v) in c[group].as_object().unwrap() {
            a.insert(arg_name(kind, k), Arg::Tensor(tensor::<F>(v)));
        }
    }
    for m in [
        "mask",
        "attn_mask",
        "tgt_mask",
        "key_padding_mask",
        "memory_key_padding_mask",
    ] {
        if let Some(v) = c.get(m) {
            a.insert(arg_name(kind, m), Arg::Mask(bools(v)));
        }
    }
    for list in ["ids", "targets"] {
        if let Some(v) = c.get(list) {
            let xs: Vec<F> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| F::of(x.as_f64().unwrap()))
                .collect();
            a.insert(
                list,
                Arg::Tensor(ArrayD::from_shape_vec(IxDyn(&[xs.len()]), xs).unwrap()),
            );
        }
    }
    for (k, v) in c["config"].as_object().unwrap() {
        // d_model and d_ff follow from the tensors' shapes
        if k == "d_model" || k == "d_ff" {
            continue;
        }
        let arg = if let Some(b) = v.as_bool() {
            Arg::Flag(b)
        } else if let Some(s) = v.as_str() {
            Arg::Text(s.into())
        } else {
            Arg::Number(v.as_f64().unwrap())
        };
        a.insert(arg_name(kind, k), arg);
    }
    a
}

fn get<'a, F: Real>(out: &'a Outputs<F>, name: &str) -> &'a Out<F> {
    &out.iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no output {name}"))
        .1
}

fn tensor_out<F: Real>(out: &Outputs<F>, name: &str) -> ArrayD<F> {
    match get(out, name) {
        Out::Tensor(t) => t.clone(),
        Out::Number(x) => ArrayD::from_elem(IxDyn(&[1]), F::of(*x)),
        Out::Group(_) => panic!("{name} is a group"),
    }
}

fn run_case<F: Real>(c: &Value) {
    let name = c["name"].as_str().unwrap();
    let kind = c["kind"].as_str().unwrap();
    let (op, grad) = op_of(kind);
    let mut a = values::<F>(c, name);
    let out = registry::run(op, &a, false).unwrap_or_else(|e| panic!("{name}: {e}"));
    for (k, want) in c["outputs"].as_object().unwrap() {
        if k == "weights" && op == "mha" {
            // per-head weights [B, H, Tq, Tk]: the heads group holds them in the same layout
            let Out::Group(heads) = get(&out, "heads") else {
                panic!("heads")
            };
            check::<F>(name, "weights", tensor_out(heads, "weights"), want);
            continue;
        }
        let got = match (op, k.as_str()) {
            ("attention" | "mha", "y") => "output",
            _ => k,
        };
        check::<F>(name, k, tensor_out(&out, got), want);
    }
    let up = match grad {
        "dloss" => Arg::Number(1.0),
        _ => Arg::Tensor(tensor::<F>(&c["upstream"])),
    };
    a.insert(grad, up);
    let grads = registry::run(op, &a, true).unwrap_or_else(|e| panic!("{name} backward: {e}"));
    let want = c["grads"].as_object().unwrap();
    for (k, w) in want {
        check::<F>(
            name,
            &format!("d{k}"),
            tensor_out(&grads, &arg_name(kind, k)),
            w,
        );
    }
    // nothing is returned that the fixture does not know
    assert_eq!(
        grads.len(),
        want.len(),
        "{name}: gradients {:?}",
        grads.iter().map(|g| &g.0).collect::<Vec<_>>()
    );
}

fn ops<F: Real>() {
    let f = load("torch_ops.json");
    let cases = f["cases"].as_array().unwrap();
    // Every op of the table is covered by at least one case.
    let covered: std::collections::BTreeSet<&str> = cases
        .iter()
        .map(|c| op_of(c["kind"].as_str().unwrap()).0)
        .collect();
    for op in registry::OPS {
        assert!(covered.contains(op), "no fixture for {op}");
    }
    for c in cases {
        run_case::<F>(c);
    }
}

#[test]
fn ops_match_pytorch_f64() {
    ops::<f64>();
}

#[test]
fn ops_match_pytorch_f32() {
    ops::<f32>();
}
