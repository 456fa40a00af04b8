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
//! `scale`, `ignoreIndex`, `approximate`; the upstream gradient is `dy` for an output `y`,
//! `dout` for `output`, `dloss` for `loss`.
//!
//! GELU's form: the `gelu` op takes `approximate: 'none' | 'tanh'` as `torch.nn.GELU` does;
//! `ffn` and the layers, whose `activation` names a whole function, take `'gelu_tanh'` beside
//! `'relu'` and `'gelu'` (see [`Activation`](crate::ops::Activation)), the word model configs
//! store too.
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
//!
//! `attention` and `mha` also take `attnBias`, an additive float bias: what PyTorch's
//! `attn_mask` is when it holds floats (ALiBi, T5's relative positions). It is a concept of its
//! own, so `attnMask` stays boolean everywhere. For head h of batch item b:
//!
//! ```text
//! S'(b, h, i, j) = −∞                              if blocked(b, i, j)
//!                  S(b, h, i, j) + attnBias[i, j]   (or attnBias[b·H + h, i, j])   otherwise
//! ```
//!
//! so −∞ in the bias blocks a key as a mask would, and a row left with no key gets zero weights
//! as always. Its shape is `[Tq, Tk]` (every batch item and head), or for `mha` also
//! `[B·H, Tq, Tk]`: the two shapes `nn.MultiheadAttention` accepts. Its values are finite or
//! −∞; NaN and +∞ are errors. The `scores` output stays Q Kᵀ · scale, before bias and masks;
//! `backward` returns the bias's gradient under `attnBias`, in the shape it was given. The
//! layers take no bias (yet).

use super::multi_head::{self, MhaCache};
use super::{
    attention as attn, cross_entropy, embedding, expect_shape, feed_forward, gelu, layer_norm,
    linear, relu, softmax,
};
use crate::args::{ArgSpec, Values};
use crate::error::Result;
use crate::layers::decoder_layer::{DecoderLayer, DecoderMasks};
use crate::layers::encoder_layer::EncoderLayer;
use crate::layers::{FfnWeights, MhaWeights};
use crate::params::NamedGrads;
use crate::real::Real;
use crate::scope::declare;
use ndarray::{s, Array2, Array4, ArrayD, Axis, Dimension};
use std::collections::BTreeMap;

mod read;
mod spec;
use read::{activation, attn_bias, attn_mask, kpm, layer_config, store, whole, word};
pub use spec::{check_work, spec};

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
            Some(acc) => crate::flat::add_assign(acc, &g),
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
            expect_shape(f, "dy", dy.shape(), y.shape())?;
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
            expect_shape(f, "dy", dy.shape(), y.shape())?;
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
            expect_shape(f, "dy", dy.shape(), y.shape())?;
            let g = layer_norm::backward(dy, &cache, w)?;
            Ok(vec![
                ("x".into(), t(g.dx)),
                ("weight".into(), t(g.dgamma)),
                ("bias".into(), t(g.dbeta)),
            ])
        }
        "relu" | "gelu" | "softmax" => {
            let x = a.t2("x")?;
            let form = word(
                a,
                "approximate",
                "none",
                gelu::Approximate::NAMES,
                gelu::Approximate::from_name,
            )?;
            let y = match spec.op {
                "relu" => relu::forward(x),
                "gelu" => gelu::forward(x, form),
                _ => softmax::forward(x),
            };
            if !backward {
                return Ok(vec![("y".into(), t(y))]);
            }
            let dy = a.t2("dy")?;
            expect_shape(f, "dy", dy.shape(), x.shape())?;
            let dx = match spec.op {
                "relu" => relu::backward(dy, x),
                "gelu" => gelu::backward(dy, x, form),
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
                expect_shape(f, "keyPaddingMask", p.shape(), &[tk])?;
            }
            let mask = attn::combine_masks(tq, tk, m.as_ref().map(|m| m.view()), p)?;
            let bias = attn_bias(a, tq, tk, None)?.map(|b| b.index_axis_move(Axis(0), 0));
            let scale = if a.has("scale") {
                Some(F::of(a.number_or("scale", 1.0)?))
            } else {
                None
            };
            let (out, cache) = attn::forward(q, k, v, mask.as_ref().map(|m| m.view()), bias, scale)
                .map_err(|e| e.context(f))?;
            if !backward {
                return Ok(vec![
                    ("output".into(), t(out)),
                    ("scores".into(), t(cache.scores)),
                    ("weights".into(), t(cache.weights)),
                ]);
            }
            let dout = a.t2("dout")?;
            expect_shape(f, "dout", dout.shape(), out.shape())?;
            let g = attn::backward(dout, &cache)?;
            let mut out = vec![
                ("q".into(), t(g.dq)),
                ("k".into(), t(g.dk)),
                ("v".into(), t(g.dv)),
            ];
            if bias.is_some() {
                out.push(("attnBias".into(), t(g.dscores)));
            }
            Ok(out)
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
            let ab = attn_bias(a, tq, tk, Some(b * heads))?;
            let (out, cache) = multi_head::forward(
                query,
                key,
                value,
                &p,
                heads,
                am.as_ref().map(|m| m.view()),
                pm,
                ab,
            )
            .map_err(|e| e.context(f))?;
            if !backward {
                return Ok(vec![
                    ("output".into(), t(out)),
                    ("heads".into(), heads_out(&cache)),
                ]);
            }
            let dout = a.t3("dout")?;
            expect_shape(f, "dout", dout.shape(), out.shape())?;
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
            if let (Some(db), Some(given)) = (g.dbias.take(), ab) {
                // in the shape it was given: [Tq, Tk] when shared
                let db = if a.tensor("attnBias")?.ndim() == 2 {
                    t(db.index_axis_move(Axis(0), 0))
                } else {
                    debug_assert_eq!(db.dim(), given.dim());
                    t(db)
                };
                out.push(("attnBias".into(), db));
            }
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
            expect_shape(f, "dy", dy.shape(), y.shape())?;
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
            expect_shape(f, "dy", dy.shape(), y.shape())?;
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
            expect_shape(f, "dy", dy.shape(), y.shape())?;
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
mod tests;
