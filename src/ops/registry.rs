//! The op table: every op and layer that `forward(op, args)` / `backward(op, args)` can run by
//! name, with its arguments declared once. The wasm binding and the PyTorch-parity tests both
//! go through it.
//!
//! ```text
//! spec(op)                  → the declared arguments (names, kinds, ranks)
//! check_work(op, shapes, …) → refuses work that would not fit, from the shapes alone
//! run(op, values, backward) → named outputs; with backward, the gradient of every input
//!                             and parameter under the argument's own name
//! ```
//!
//! One name per concept across ops: inputs `x` (or `q`/`k`/`v` for one head,
//! `query`/`key`/`value` for multi-head, `memory` for the encoder's output), parameters by
//! their PyTorch `state_dict` names, options `heads`, `activation`, `normFirst`, `eps`,
//! `scale`, `ignoreIndex`; the upstream gradient is `dy` for an output `y`, `dout` for
//! `output`, `dloss` for `loss`.
//!
//! One rule for masks (`true` = blocked), in every op that attends:
//!
//! ```text
//! blocked(b, i, j) = (causal ∧ j > i)  ∨  attnMask[i, j]  ∨  keyPaddingMask[b, j]
//! ```
//!
//! `attnMask` is `[Tq, Tk]`, `keyPaddingMask` is `[Tk]` for one head and `[B, Tk]` otherwise;
//! the decoder layer has the same three for its self-attention (`causal` defaults to true
//! there) and `memoryMask` `[T, S]`, `memoryKeyPaddingMask` `[B, S]` for cross-attention.
//! Every mask's shape is checked before masks are combined.

use super::multi_head::{self, MhaCache};
use super::{
    attention as attn, cross_entropy, embedding, feed_forward, layer_norm, linear, softmax,
    Activation,
};
use crate::args::{self, ArgSpec, Kind, Values};
use crate::error::{Error, Result};
use crate::layers::decoder_layer::{DecoderLayer, DecoderMasks};
use crate::layers::encoder_layer::EncoderLayer;
use crate::layers::{FfnWeights, LayerConfig, MhaWeights, MAX_WIDTH};
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use crate::scope::{declare, Decl, Scope};
use ndarray::{s, Array2, Array4, ArrayD, ArrayView2, Dimension};
use std::collections::BTreeMap;

/// The ops, in the order the README lists them.
pub const OPS: &[&str] = &[
    "linear",
    "embedding",
    "layer_norm",
    "relu",
    "gelu",
    "softmax",
    "attention",
    "mha",
    "ffn",
    "encoder_layer",
    "decoder_layer",
    "cross_entropy",
];

/// An op's declared arguments and the name of its upstream gradient.
#[derive(Debug, Clone)]
pub struct OpSpec {
    /// The op's name.
    pub op: &'static str,
    /// The forward arguments.
    pub args: Vec<ArgSpec>,
    /// The upstream gradient backward needs in addition (`dy`, `dout` or `dloss`).
    pub grad: ArgSpec,
}

impl OpSpec {
    /// The arguments of the forward pass, or of the backward pass (with the gradient).
    pub fn args_for(&self, backward: bool) -> Vec<ArgSpec> {
        let mut a = self.args.clone();
        if backward {
            a.push(self.grad.clone());
        }
        a
    }
}

/// One output: a tensor, a number, or a named group (a head's Q, K, V, scores, weights).
#[derive(Debug, Clone)]
pub enum Out<F> {
    /// A tensor.
    Tensor(ArrayD<F>),
    /// A number (a loss).
    Number(f64),
    /// Named outputs.
    Group(Vec<(String, Out<F>)>),
}

/// Named outputs of one call.
pub type Outputs<F> = Vec<(String, Out<F>)>;

fn t<F: Real, D: Dimension>(a: ndarray::Array<F, D>) -> Out<F> {
    Out::Tensor(a.into_dyn())
}

const ACTIVATIONS: &[&str] = &["relu", "gelu"];
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
        "gelu" => ("gelu", vec![tensor("x", 2)], dy(2)),
        "softmax" => ("softmax", vec![tensor("x", 2)], dy(2)),
        "attention" => {
            let mut a = vec![tensor("q", 2), tensor("k", 2), tensor("v", 2)];
            a.extend(mask_args(1));
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
/// data is copied). Shapes of the wrong rank count as empty here; [`run`] reports them.
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

/// The one rule for combining masks (see the module header): `attnMask` `[tq, tk]` or'ed with
/// the causal mask when `causal`, each shape checked first.
fn attn_mask<F: Real>(
    a: &Values<F>,
    mask_name: &str,
    causal: bool,
    tq: usize,
    tk: usize,
) -> Result<Option<Array2<bool>>> {
    let f = &a.func;
    let m = a.mask2(mask_name)?;
    if let Some(m) = &m {
        if m.dim() != (tq, tk) {
            return Err(Error::shape(format!(
                "{f}: {mask_name} has shape {:?}, expected [{tq}, {tk}] (queries × keys)",
                m.shape()
            )));
        }
    }
    if causal && tq != tk {
        return Err(Error::shape(format!(
            "{f}: causal needs as many queries as keys, got {tq} and {tk}"
        )));
    }
    Ok(match (m, causal) {
        (None, false) => None,
        (Some(m), false) => Some(m.to_owned()),
        (m, true) => Some(Array2::from_shape_fn((tq, tk), |(i, j)| {
            j > i || m.is_some_and(|m| m[[i, j]])
        })),
    })
}

/// A `[B, Tk]` key-padding mask, its shape checked.
fn kpm<'a, F: Real>(
    a: &'a Values<F>,
    name: &str,
    b: usize,
    tk: usize,
) -> Result<Option<ArrayView2<'a, bool>>> {
    let m = a.mask2(name)?;
    if let Some(m) = &m {
        if m.dim() != (b, tk) {
            return Err(Error::shape(format!(
                "{}: {name} has shape {:?}, expected [{b}, {tk}] (batch × keys)",
                a.func,
                m.shape()
            )));
        }
    }
    Ok(m)
}

/// The declared parameters, copied from the arguments into a store, each shape checked.
fn store<F: Real>(a: &Values<F>, decls: &[Decl]) -> Result<ParamStore<F>> {
    let mut s = ParamStore::new();
    for Decl { name, shape, .. } in decls {
        let v = a.tensor(name)?;
        if v.shape() != shape.as_slice() {
            return Err(Error::shape(format!(
                "{}: {name} has shape {:?}, expected {shape:?}",
                a.func,
                v.shape()
            )));
        }
        s.insert(name.clone(), v.to_owned());
    }
    Ok(s)
}

fn activation<F: Real>(a: &Values<F>) -> Result<Activation> {
    Ok(match a.text_or("activation", "relu")? {
        "gelu" => Activation::Gelu,
        _ => Activation::Relu,
    })
}

fn layer_config<F: Real>(a: &Values<F>, d_model: usize) -> Result<LayerConfig> {
    let d_ff = a
        .tensor("linear1.weight")?
        .shape()
        .first()
        .copied()
        .unwrap_or(0);
    let cfg = LayerConfig {
        d_model,
        n_heads: a.usize_or("heads", 1)?,
        d_ff,
        activation: activation(a)?,
        norm_first: a.flag_or("normFirst", false)?,
        layer_norm_eps: a.number_or("eps", layer_norm::EPS)?,
    };
    if d_model > MAX_WIDTH {
        return Err(Error::config(format!(
            "{}: d_model {d_model} is more than {MAX_WIDTH}",
            a.func
        )));
    }
    cfg.validate().map_err(|e| e.context(&a.func))?;
    Ok(cfg)
}

/// Whole numbers from a float tensor (ids, targets): an error naming the first that is not.
fn whole<F: Real>(a: &Values<F>, name: &str, lo: i64, hi: i64) -> Result<Vec<i64>> {
    let v = a.t1(name)?;
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            let x = x.f64();
            if x.fract() == 0.0 && x >= lo as f64 && x <= hi as f64 {
                Ok(x as i64)
            } else {
                Err(Error::value(format!(
                    "{}: {name}[{i}] is {x}; it must be a whole number from {lo} to {hi}",
                    a.func
                )))
            }
        })
        .collect()
}

fn expect_same(a: &str, what: &str, got: &[usize], want: &[usize]) -> Result<()> {
    if got != want {
        return Err(Error::shape(format!(
            "{a}: {what} has shape {got:?}, expected {want:?}"
        )));
    }
    Ok(())
}

/// Per-head tensors of a multi-head attention cache as `[B, H, T, ·]` tensors, and the heads'
/// concatenation `[B, T, C]`: `{q, k, v, scores, weights, concat}`.
pub fn heads_out<F: Real>(c: &MhaCache<F>) -> Out<F> {
    let (b, h) = (c.batch, c.heads);
    let d = c.head(0, 0).q.ncols();
    let stack = |rows: usize, cols: usize, get: &dyn Fn(&attn::AttentionCache<F>) -> &Array2<F>| {
        let mut out = Array4::<F>::zeros((b, h, rows, cols));
        for bi in 0..b {
            for hi in 0..h {
                out.slice_mut(s![bi, hi, .., ..])
                    .assign(get(c.head(bi, hi)));
            }
        }
        t(out)
    };
    let concat = c
        .concat
        .clone()
        .into_shape_with_order((b, c.tq, c.concat.ncols()))
        .expect("B·Tq rows");
    Out::Group(vec![
        ("q".into(), stack(c.tq, d, &|a| &a.q)),
        ("k".into(), stack(c.tk, d, &|a| &a.k)),
        ("v".into(), stack(c.tk, d, &|a| &a.v)),
        ("scores".into(), stack(c.tq, c.tk, &|a| &a.scores)),
        ("weights".into(), stack(c.tq, c.tk, &|a| &a.weights)),
        ("concat".into(), t(concat)),
    ])
}

/// Named gradients as outputs, gradients of the same name summed.
fn grads_out<F: Real>(grads: NamedGrads<F>, mut out: Outputs<F>) -> Outputs<F> {
    let mut merged: BTreeMap<String, ArrayD<F>> = BTreeMap::new();
    for (k, g) in grads {
        match merged.get_mut(&k) {
            Some(acc) => *acc += &g,
            None => {
                merged.insert(k, g);
            }
        }
    }
    out.extend(merged.into_iter().map(|(k, g)| (k, Out::Tensor(g))));
    out
}

/// Runs `op` forward on `a` (checked against its spec and work limits first); with
/// `backward`, runs backward from the upstream gradient in `a` and returns the gradients
/// instead, keyed by the argument names.
pub fn run<F: Real>(op: &str, a: &Values<F>, backward: bool) -> Result<Outputs<F>> {
    let spec = spec(op)?;
    a.check(&spec.args_for(backward))?;
    let heads = a.usize_or("heads", 1)?;
    check_work(spec.op, &a.func, &a.shapes(), heads)?;
    let f = a.func.as_str();
    match spec.op {
        "linear" => {
            let (x, w, b) = (a.t2("x")?, a.t2("weight")?, a.opt_t1("bias")?);
            let (y, cache) = linear::forward(x, w, b).map_err(|e| e.context(f))?;
            if !backward {
                return Ok(vec![("y".into(), t(y))]);
            }
            let dy = a.t2("dy")?;
            expect_same(f, "dy", dy.shape(), y.shape())?;
            let g = linear::backward(dy, &cache, w, b.is_some())?;
            let mut out = vec![("x".into(), t(g.dx)), ("weight".into(), t(g.dw))];
            if let Some(db) = g.db {
                out.push(("bias".into(), t(db)));
            }
            Ok(out)
        }
        "embedding" => {
            let w = a.t2("weight")?;
            let ids: Vec<usize> = whole(a, "ids", 0, w.nrows() as i64 - 1)?
                .into_iter()
                .map(|i| i as usize)
                .collect();
            let y = embedding::forward(&ids, w).map_err(|e| e.context(f))?;
            if !backward {
                return Ok(vec![("y".into(), t(y))]);
            }
            let dy = a.t2("dy")?;
            expect_same(f, "dy", dy.shape(), y.shape())?;
            Ok(vec![(
                "weight".into(),
                t(embedding::backward(dy, &ids, w.nrows())),
            )])
        }
        "layer_norm" => {
            let (x, w, b) = (a.t2("x")?, a.t1("weight")?, a.t1("bias")?);
            let eps = a.number_or("eps", layer_norm::EPS)?;
            let (y, cache) = layer_norm::forward(x, w, b, eps).map_err(|e| e.context(f))?;
            if !backward {
                return Ok(vec![
                    ("y".into(), t(y)),
                    ("xhat".into(), t(cache.xhat)),
                    ("rstd".into(), t(cache.rstd)),
                ]);
            }
            let dy = a.t2("dy")?;
            expect_same(f, "dy", dy.shape(), y.shape())?;
            let g = layer_norm::backward(dy, &cache, w)?;
            Ok(vec![
                ("x".into(), t(g.dx)),
                ("weight".into(), t(g.dgamma)),
                ("bias".into(), t(g.dbeta)),
            ])
        }
        "relu" | "gelu" | "softmax" => {
            let x = a.t2("x")?;
            let y = match spec.op {
                "relu" => Activation::Relu.forward(x),
                "gelu" => Activation::Gelu.forward(x),
                _ => softmax::forward(x),
            };
            if !backward {
                return Ok(vec![("y".into(), t(y))]);
            }
            let dy = a.t2("dy")?;
            expect_same(f, "dy", dy.shape(), x.shape())?;
            let dx = match spec.op {
                "relu" => Activation::Relu.backward(dy, x),
                "gelu" => Activation::Gelu.backward(dy, x),
                _ => softmax::backward(dy, y.view()),
            };
            Ok(vec![("x".into(), t(dx))])
        }
        "attention" => {
            let (q, k, v) = (a.t2("q")?, a.t2("k")?, a.t2("v")?);
            let (tq, tk) = (q.nrows(), k.nrows());
            let m = attn_mask(a, "attnMask", a.flag_or("causal", false)?, tq, tk)?;
            let p = a.mask1("keyPaddingMask")?;
            if let Some(p) = &p {
                expect_same(f, "keyPaddingMask", p.shape(), &[tk])?;
            }
            let mask = attn::combine_masks(tq, tk, m.as_ref().map(|m| m.view()), p)?;
            let scale = if a.has("scale") {
                Some(F::of(a.number_or("scale", 1.0)?))
            } else {
                None
            };
            let (out, cache) = attn::forward(q, k, v, mask.as_ref().map(|m| m.view()), scale)
                .map_err(|e| e.context(f))?;
            if !backward {
                return Ok(vec![
                    ("output".into(), t(out)),
                    ("scores".into(), t(cache.scores)),
                    ("weights".into(), t(cache.weights)),
                ]);
            }
            let dout = a.t2("dout")?;
            expect_same(f, "dout", dout.shape(), out.shape())?;
            let g = attn::backward(dout, &cache)?;
            Ok(vec![
                ("q".into(), t(g.dq)),
                ("k".into(), t(g.dk)),
                ("v".into(), t(g.dv)),
            ])
        }
        "mha" => {
            let query = a.t3("query")?;
            let cross = a.has("key") || a.has("value");
            let (key, value) = if cross {
                (a.t3("key")?, a.t3("value")?)
            } else {
                (query, query)
            };
            let (b, tq, c) = query.dim();
            let tk = key.dim().1;
            let (w, decls) = declare("", |s| MhaWeights::new(s, c));
            let s = store(a, &decls)?;
            let p = w.load(&s)?;
            let am = attn_mask(a, "attnMask", a.flag_or("causal", false)?, tq, tk)?;
            let pm = kpm(a, "keyPaddingMask", b, tk)?;
            let (out, cache) = multi_head::forward(
                query,
                key,
                value,
                &p,
                heads,
                am.as_ref().map(|m| m.view()),
                pm,
            )
            .map_err(|e| e.context(f))?;
            if !backward {
                return Ok(vec![
                    ("output".into(), t(out)),
                    ("heads".into(), heads_out(&cache)),
                ]);
            }
            let dout = a.t3("dout")?;
            expect_same(f, "dout", dout.shape(), out.shape())?;
            let mut g = multi_head::backward(dout, &cache, &p)?;
            // the input gradients are taken out; the parameter gradients follow by name
            let (dq, dk, dv) = (
                std::mem::take(&mut g.dquery),
                std::mem::take(&mut g.dkey),
                std::mem::take(&mut g.dvalue),
            );
            let mut out = if cross {
                vec![
                    ("query".into(), t(dq)),
                    ("key".into(), t(dk)),
                    ("value".into(), t(dv)),
                ]
            } else {
                vec![("query".into(), t(&dq + &dk + &dv))]
            };
            let mut grads = NamedGrads::new();
            w.push_grads(&mut grads, g);
            out.extend(grads.into_iter().map(|(k, g)| (k, Out::Tensor(g))));
            Ok(out)
        }
        "ffn" => {
            let x = a.t2("x")?;
            let d_ff = a
                .tensor("linear1.weight")?
                .shape()
                .first()
                .copied()
                .unwrap_or(0);
            let (w, decls) = declare("", |s| FfnWeights::new(s, x.ncols(), d_ff));
            let s = store(a, &decls)?;
            let p = w.load(&s)?;
            let (y, cache) =
                feed_forward::forward(x, &p, activation(a)?).map_err(|e| e.context(f))?;
            if !backward {
                return Ok(vec![
                    ("y".into(), t(y)),
                    ("hidden".into(), t(cache.h)),
                    ("activated".into(), t(cache.a)),
                ]);
            }
            let dy = a.t2("dy")?;
            expect_same(f, "dy", dy.shape(), y.shape())?;
            let g = feed_forward::backward(dy, &cache, &p)?;
            let dx = g.dx.clone();
            let mut grads = NamedGrads::new();
            w.push_grads(&mut grads, g);
            Ok(grads_out(grads, vec![("x".into(), t(dx))]))
        }
        "encoder_layer" => {
            let x = a.t3("x")?;
            let (b, tl, c) = x.dim();
            let cfg = layer_config(a, c)?;
            let (layer, decls) = declare("", |s| EncoderLayer::new(s, &cfg));
            let s = store(a, &decls)?;
            let am = attn_mask(a, "attnMask", a.flag_or("causal", false)?, tl, tl)?;
            let pm = kpm(a, "keyPaddingMask", b, tl)?;
            let (y, cache) = layer
                .forward(x, &s, am.as_ref().map(|m| m.view()), pm)
                .map_err(|e| e.context(f))?;
            if !backward {
                let mid = cache
                    .attn
                    .output
                    .clone()
                    .into_shape_with_order((b, tl, c))
                    .expect("B·T rows");
                return Ok(vec![
                    ("y".into(), t(y)),
                    ("afterAttention".into(), t(mid)),
                    ("attention".into(), heads_out(cache.attention())),
                ]);
            }
            let dy = a.t3("dy")?;
            expect_same(f, "dy", dy.shape(), y.shape())?;
            let mut grads = NamedGrads::new();
            let dx = layer.backward(dy, &cache, &s, &mut grads)?;
            Ok(grads_out(grads, vec![("x".into(), t(dx))]))
        }
        "decoder_layer" => {
            let (x, memory) = (a.t3("x")?, a.t3("memory")?);
            let (b, tl, c) = x.dim();
            let sl = memory.dim().1;
            let cfg = layer_config(a, c)?;
            let (layer, decls) = declare("", |s| DecoderLayer::new(s, &cfg));
            let s = store(a, &decls)?;
            let tgt = attn_mask(a, "attnMask", a.flag_or("causal", true)?, tl, tl)?;
            let mem = attn_mask(a, "memoryMask", false, tl, sl)?;
            let masks = DecoderMasks {
                tgt_mask: tgt.as_ref().map(|m| m.view()),
                memory_mask: mem.as_ref().map(|m| m.view()),
                tgt_key_padding_mask: kpm(a, "keyPaddingMask", b, tl)?,
                memory_key_padding_mask: kpm(a, "memoryKeyPaddingMask", b, sl)?,
            };
            let (y, cache) = layer
                .forward(x, memory, &s, masks)
                .map_err(|e| e.context(f))?;
            if !backward {
                return Ok(vec![
                    ("y".into(), t(y)),
                    ("selfAttention".into(), heads_out(cache.self_attention())),
                    ("crossAttention".into(), heads_out(cache.cross_attention())),
                ]);
            }
            let dy = a.t3("dy")?;
            expect_same(f, "dy", dy.shape(), y.shape())?;
            let mut grads = NamedGrads::new();
            let (dx, dmem) = layer.backward(dy, &cache, &s, &mut grads)?;
            Ok(grads_out(
                grads,
                vec![("x".into(), t(dx)), ("memory".into(), t(dmem))],
            ))
        }
        "cross_entropy" => {
            let logits = a.t2("logits")?;
            let ignore = a.int_or("ignoreIndex", cross_entropy::IGNORE_INDEX)?;
            let targets = whole(a, "targets", -(1 << 53), 1 << 53)?;
            let (loss, cache) =
                cross_entropy::forward(logits, &targets, ignore).map_err(|e| e.context(f))?;
            if !backward {
                return Ok(vec![
                    ("loss".into(), Out::Number(loss.f64())),
                    ("probs".into(), t(cache.probs)),
                ]);
            }
            let dloss = F::of(a.number_or("dloss", 1.0)?);
            Ok(vec![(
                "logits".into(),
                t(cross_entropy::backward(dloss, &cache)),
            )])
        }
        other => unreachable!("spec() knows no op {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Value;
    use ndarray::{ArrayD, IxDyn};

    fn z(shape: &[usize]) -> Value<f64> {
        Value::Tensor(ArrayD::zeros(IxDyn(shape)))
    }

    #[test]
    fn every_op_has_a_spec_and_unknown_ops_are_named() {
        for op in OPS {
            assert_eq!(spec(op).unwrap().op, *op);
        }
        let e = spec("conv2d").unwrap_err();
        assert!(
            e.message.contains("conv2d") && e.message.contains("linear"),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_argument_names_are_refused() {
        let a = Values::new("forward(mha)")
            .with("query", z(&[1, 2, 2]))
            .with("nHeads", Value::Number(2.0));
        let e = run("mha", &a, false).unwrap_err();
        assert!(
            e.message.contains("unknown argument \"nHeads\""),
            "{}",
            e.message
        );
        assert!(e.message.contains("heads"), "{}", e.message);
    }

    #[test]
    fn a_mask_of_the_wrong_shape_is_refused_before_combining_with_causal() {
        let mut a = Values::new("forward(attention)")
            .with("q", z(&[2, 4]))
            .with("k", z(&[2, 4]))
            .with("v", z(&[2, 4]))
            .with("causal", Value::Flag(true))
            .with(
                "attnMask",
                Value::Mask(ArrayD::from_elem(IxDyn(&[3, 3]), false)),
            );
        let e = run("attention", &a, false).unwrap_err();
        assert!(
            e.message
                .contains("attnMask has shape [3, 3], expected [2, 2]"),
            "{}",
            e.message
        );
        // the right shape: causal or'ed with the mask (row 0 may see only key 0)
        a.insert(
            "attnMask",
            Value::Mask(ArrayD::from_elem(IxDyn(&[2, 2]), false)),
        );
        let out = run("attention", &a, false).unwrap();
        let w = match &out[2].1 {
            Out::Tensor(w) => w.clone(),
            _ => panic!("weights"),
        };
        assert_eq!(w[[0, 1]], 0.0);
        assert_eq!(w[[0, 0]], 1.0);
    }

    #[test]
    fn work_is_refused_from_shapes_alone() {
        let shapes: BTreeMap<String, Vec<usize>> = [
            ("q".to_string(), vec![65536, 1]),
            ("k".to_string(), vec![65536, 1]),
            ("v".to_string(), vec![65536, 1]),
        ]
        .into();
        let e = check_work("attention", "attention", &shapes, 1).unwrap_err();
        assert!(e.message.contains("the scores would hold"), "{}", e.message);
        // a decoder layer whose own sequence is long is refused even when memory is short
        let shapes: BTreeMap<String, Vec<usize>> = [
            ("x".to_string(), vec![1, 65536, 1]),
            ("memory".to_string(), vec![1, 1, 1]),
            ("linear1.weight".to_string(), vec![1, 1]),
        ]
        .into();
        assert!(check_work("decoder_layer", "f", &shapes, 1).is_err());
        // an embedding lookup of many ids into a wide table
        let shapes: BTreeMap<String, Vec<usize>> = [
            ("weight".to_string(), vec![1, 4096]),
            ("ids".to_string(), vec![1 << 19]),
        ]
        .into();
        assert!(check_work("embedding", "f", &shapes, 1).is_err());
    }

    #[test]
    fn ids_must_be_whole_and_in_the_table() {
        let a = Values::new("forward(embedding)")
            .with("weight", z(&[3, 2]))
            .with(
                "ids",
                Value::Tensor(ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0, 3.0]).unwrap()),
            );
        let e = run("embedding", &a, false).unwrap_err();
        assert!(e.message.contains("ids[1] is 3"), "{}", e.message);
    }
}
