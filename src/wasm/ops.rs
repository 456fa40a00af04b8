//! The stateless JS functions: `attention`, and `forward` / `backward` for every op and layer.
//!
//! `forward(op, args)` returns the outputs and the intermediates the page draws;
//! `backward(op, args)` takes the same arguments plus the upstream gradient (`dy`, or `dout`
//! for attention, `dloss` for cross-entropy) and returns the gradient of every input and
//! parameter under the argument's own name. Parameters are named as in PyTorch's `state_dict`
//! (`weight`, `bias`, `in_proj_weight`, `self_attn.out_proj.weight`, `linear1.weight`, …).

use super::convert::{core_err, object, set, tensor_to_js, Args, JsResult};
use super::op_args::{
    check_work, d1, d2, d3, ffn_width, layer_config, mask2, mha_params_from, mha_view, param_store,
    shape_of,
};
use crate::layers::decoder_layer::{self, DecoderMasks};
use crate::layers::encoder_layer;
use crate::ops::multi_head::{self, MhaCache};
use crate::ops::{
    attention as attn, cross_entropy, embedding, feed_forward, layer_norm, linear, softmax,
    Activation,
};
use crate::params::NamedGrads;
use js_sys::Object;
use ndarray::{Array2, Array4, ArrayD, Ix1};
use wasm_bindgen::prelude::*;

const OPS: &str = "linear, embedding, layer_norm, relu, gelu, softmax, attention, mha, ffn, encoder_layer, decoder_layer, cross_entropy";

/// Scaled dot-product attention for one head.
///
/// `q` `[Tq, D]`, `k` `[Tk, D]`, `v` `[Tk, Dv]`; options `{causal, mask: [Tq, Tk] bool (true =
/// blocked), keyPaddingMask: [Tk] bool, scale}`. Returns `{scores, weights, output}`.
#[wasm_bindgen]
pub fn attention(q: JsValue, k: JsValue, v: JsValue, options: JsValue) -> JsResult<JsValue> {
    let args = object(&[("q", q), ("k", k), ("v", v)]);
    let opts = Args::new("attention", options)?;
    let a = Args::new("attention", args)?;
    let (out, cache) = run_attention(&a, &opts)?;
    Ok(object(&[
        ("scores", tensor_to_js(&cache.scores)),
        ("weights", tensor_to_js(&cache.weights)),
        ("output", tensor_to_js(&out)),
    ]))
}

fn run_attention(a: &Args, opts: &Args) -> JsResult<(Array2<f32>, attn::AttentionCache<f32>)> {
    let f = a.func;
    let q = d2(f, "q", a.tensor("q")?)?;
    let k = d2(f, "k", a.tensor("k")?)?;
    let v = d2(f, "v", a.tensor("v")?)?;
    let (tq, tk) = (q.nrows(), k.nrows());
    let mut mask = mask2(opts.opt_mask("mask", 2)?);
    if opts.flag("causal", false)? {
        if tq != tk {
            return Err(JsError::new(&format!(
                "{f}: causal needs as many queries as keys, got {tq} and {tk}"
            )));
        }
        let c = attn::causal_mask(tq);
        mask = Some(match mask {
            Some(m) if m.dim() == c.dim() => {
                ndarray::Zip::from(&m).and(&c).map_collect(|&a, &b| a || b)
            }
            Some(m) => {
                return Err(JsError::new(&format!(
                    "{f}: mask has shape {:?}, expected [{tq}, {tk}]",
                    m.shape()
                )))
            }
            None => c,
        });
    }
    let kpm = opts
        .opt_mask("keyPaddingMask", 1)?
        .map(|m| m.into_dimensionality::<Ix1>().expect("1-D"));
    let combined = attn::combine_masks(
        tq,
        tk,
        mask.as_ref().map(|m| m.view()),
        kpm.as_ref().map(|m| m.view()),
    )
    .map_err(core_err)?;
    let scale = if opts.has("scale") {
        Some(opts.number("scale", 1.0)? as f32)
    } else {
        None
    };
    attn::forward(
        q.view(),
        k.view(),
        v.view(),
        combined.as_ref().map(|m| m.view()),
        scale,
    )
    .map_err(core_err)
}

/// Per-head tensors of a multi-head attention cache as `[B, H, T, ·]` tensors.
pub(crate) fn heads_to_js(c: &MhaCache<f32>) -> JsValue {
    let (b, h) = (c.batch, c.heads);
    let d = c.head(0, 0).q.ncols();
    let stack =
        |rows: usize, cols: usize, get: &dyn Fn(&attn::AttentionCache<f32>) -> &Array2<f32>| {
            let mut out = Array4::<f32>::zeros((b, h, rows, cols));
            for bi in 0..b {
                for hi in 0..h {
                    out.slice_mut(ndarray::s![bi, hi, .., ..])
                        .assign(get(c.head(bi, hi)));
                }
            }
            tensor_to_js(&out)
        };
    object(&[
        ("q", stack(c.tq, d, &|a| &a.q)),
        ("k", stack(c.tk, d, &|a| &a.k)),
        ("v", stack(c.tk, d, &|a| &a.v)),
        ("scores", stack(c.tq, c.tk, &|a| &a.scores)),
        ("weights", stack(c.tq, c.tk, &|a| &a.weights)),
        (
            "concat",
            tensor_to_js(
                &c.concat
                    .clone()
                    .into_shape_with_order((b, c.tq, c.concat.ncols()))
                    .expect("rows"),
            ),
        ),
    ])
}

fn grads_to_js(grads: NamedGrads<f32>, prefix_strip: &str) -> Object {
    let obj = Object::new();
    let mut merged: std::collections::BTreeMap<String, ArrayD<f32>> = Default::default();
    for (k, g) in grads {
        let k = k.strip_prefix(prefix_strip).unwrap_or(&k).to_string();
        match merged.get_mut(&k) {
            Some(acc) => *acc += &g,
            None => {
                merged.insert(k, g);
            }
        }
    }
    for (k, g) in merged {
        set(&obj, &k, &tensor_to_js(&g));
    }
    obj
}

/// Runs the forward pass of `op` and, when `dy` is given, its backward.
fn run(op: &str, a: &Args, want_grads: bool) -> JsResult<JsValue> {
    // The largest intermediate of each op, from the argument shapes, before any allocation.
    let rows = |n: &str| shape_of(a, n).iter().rev().skip(1).product::<u128>();
    let first = |n: &str| shape_of(a, n).first().copied().unwrap_or(0);
    let heads_scores = |q: &str, k: &str| {
        let (sq, sk) = (shape_of(a, q), shape_of(a, k));
        let b = sq.first().copied().unwrap_or(0);
        let tq = sq.get(1).copied().unwrap_or(0);
        let tk = sk.get(1).copied().unwrap_or(tq);
        b * tq * tk * a.number("heads", 1.0).unwrap_or(1.0).max(1.0) as u128
    };
    match op {
        "linear" => check_work(a.func, "the output", rows("x") * first("weight"))?,
        "ffn" => check_work(
            a.func,
            "the hidden layer",
            rows("x") * first("linear1.weight"),
        )?,
        "attention" => check_work(a.func, "the scores", first("q") * first("k"))?,
        "mha" | "multi_head_attention" => check_work(
            a.func,
            "the scores of all heads",
            heads_scores("query", if a.has("key") { "key" } else { "query" }),
        )?,
        "encoder_layer" | "decoder_layer" => {
            check_work(
                a.func,
                "the scores of all heads",
                heads_scores("x", if op == "decoder_layer" { "memory" } else { "x" }),
            )?;
            check_work(
                a.func,
                "the hidden layer",
                rows("x") * first("linear1.weight"),
            )?;
        }
        _ => {}
    }
    let f = a.func;
    let up = |name: &str| a.tensor(name);
    match op {
        "linear" => {
            let x = d2(f, "x", a.tensor("x")?)?;
            let w = d2(f, "weight", a.tensor("weight")?)?;
            let b = a
                .opt_tensor("bias")?
                .map(|b| d1(f, "bias", b))
                .transpose()?;
            let (y, cache) = linear::forward(x.view(), w.view(), b.as_ref().map(|b| b.view()))
                .map_err(core_err)?;
            if !want_grads {
                return Ok(object(&[("y", tensor_to_js(&y))]));
            }
            let g = linear::backward(
                d2(f, "dy", up("dy")?)?.view(),
                &cache,
                w.view(),
                b.is_some(),
            )
            .map_err(core_err)?;
            let mut pairs = vec![("x", tensor_to_js(&g.dx)), ("weight", tensor_to_js(&g.dw))];
            if let Some(db) = g.db {
                pairs.push(("bias", tensor_to_js(&db)));
            }
            Ok(object(&pairs))
        }
        "embedding" => {
            let w = d2(f, "weight", a.tensor("weight")?)?;
            let ids_t = d1(f, "ids", a.tensor("ids")?)?;
            let ids: Vec<usize> = ids_t
                .iter()
                .map(|&x| {
                    if x >= 0.0 && x.fract() == 0.0 {
                        x as usize
                    } else {
                        usize::MAX
                    }
                })
                .collect();
            let y = embedding::forward(&ids, w.view()).map_err(|e| core_err(e.context(f)))?;
            if !want_grads {
                return Ok(object(&[("y", tensor_to_js(&y))]));
            }
            let dy = d2(f, "dy", up("dy")?)?;
            if dy.dim() != y.dim() {
                return Err(JsError::new(&format!(
                    "{f}: dy has shape {:?}, expected {:?}",
                    dy.shape(),
                    y.shape()
                )));
            }
            Ok(object(&[(
                "weight",
                tensor_to_js(&embedding::backward(dy.view(), &ids, w.nrows())),
            )]))
        }
        "layer_norm" => {
            let x = d2(f, "x", a.tensor("x")?)?;
            let w = d1(f, "weight", a.tensor("weight")?)?;
            let b = d1(f, "bias", a.tensor("bias")?)?;
            let eps = a.number("eps", layer_norm::EPS)?;
            if eps <= 0.0 {
                return Err(JsError::new(&format!("{f}: eps {eps} must be positive")));
            }
            let (y, cache) =
                layer_norm::forward(x.view(), w.view(), b.view(), eps).map_err(core_err)?;
            if !want_grads {
                return Ok(object(&[
                    ("y", tensor_to_js(&y)),
                    ("xhat", tensor_to_js(&cache.xhat)),
                    ("rstd", tensor_to_js(&cache.rstd)),
                ]));
            }
            let g = layer_norm::backward(d2(f, "dy", up("dy")?)?.view(), &cache, w.view())
                .map_err(core_err)?;
            Ok(object(&[
                ("x", tensor_to_js(&g.dx)),
                ("weight", tensor_to_js(&g.dgamma)),
                ("bias", tensor_to_js(&g.dbeta)),
            ]))
        }
        "relu" | "gelu" | "softmax" => {
            let x = d2(f, "x", a.tensor("x")?)?;
            let y = match op {
                "relu" => Activation::Relu.forward(x.view()),
                "gelu" => Activation::Gelu.forward(x.view()),
                _ => softmax::forward(x.view()),
            };
            if !want_grads {
                return Ok(object(&[("y", tensor_to_js(&y))]));
            }
            let dy = d2(f, "dy", up("dy")?)?;
            if dy.dim() != x.dim() {
                return Err(JsError::new(&format!(
                    "{f}: dy has shape {:?}, expected {:?}",
                    dy.shape(),
                    x.shape()
                )));
            }
            let dx = match op {
                "relu" => Activation::Relu.backward(dy.view(), x.view()),
                "gelu" => Activation::Gelu.backward(dy.view(), x.view()),
                _ => softmax::backward(dy.view(), y.view()),
            };
            Ok(object(&[("x", tensor_to_js(&dx))]))
        }
        "attention" => {
            let (out, cache) = run_attention(a, a)?;
            if !want_grads {
                return Ok(object(&[
                    ("output", tensor_to_js(&out)),
                    ("scores", tensor_to_js(&cache.scores)),
                    ("weights", tensor_to_js(&cache.weights)),
                ]));
            }
            let g = attn::backward(d2(f, "dout", up("dout")?)?.view(), &cache).map_err(core_err)?;
            Ok(object(&[
                ("q", tensor_to_js(&g.dq)),
                ("k", tensor_to_js(&g.dk)),
                ("v", tensor_to_js(&g.dv)),
            ]))
        }
        "ffn" => {
            let x = d2(f, "x", a.tensor("x")?)?;
            let cfg = layer_config(a, x.ncols(), ffn_width(a)?)?;
            let s = param_store(a, &crate::layers::ffn_shapes("", cfg.d_model, cfg.d_ff))?;
            let p = crate::layers::ffn_params(&s, "").expect("names checked");
            let (y, cache) =
                feed_forward::forward(x.view(), &p, cfg.activation).map_err(core_err)?;
            if !want_grads {
                return Ok(object(&[
                    ("y", tensor_to_js(&y)),
                    ("hidden", tensor_to_js(&cache.h)),
                    ("activated", tensor_to_js(&cache.a)),
                ]));
            }
            let g = feed_forward::backward(d2(f, "dy", up("dy")?)?.view(), &cache, &p)
                .map_err(core_err)?;
            let mut grads = NamedGrads::new();
            let dx = g.dx.clone();
            crate::layers::push_ffn_grads(&mut grads, "", g);
            let obj = grads_to_js(grads, "");
            set(&obj, "x", &tensor_to_js(&dx));
            Ok(obj.into())
        }
        "mha" | "multi_head_attention" => {
            let query = d3(f, "query", a.tensor("query")?)?;
            let cross = a.has("key") || a.has("value");
            let key = if cross {
                d3(f, "key", a.tensor("key")?)?
            } else {
                query.clone()
            };
            let value = if cross {
                d3(f, "value", a.tensor("value")?)?
            } else {
                key.clone()
            };
            let c = query.shape()[2];
            let heads = a.int("heads", 1, 1, 4096)?;
            let s = mha_params_from(a, c)?;
            let p = mha_view(&s);
            let (tq, tk) = (query.shape()[1], key.shape()[1]);
            let mut am = mask2(a.opt_mask("attnMask", 2)?);
            if a.flag("causal", false)? {
                if tq != tk {
                    return Err(JsError::new(&format!(
                        "{f}: causal needs as many queries as keys, got {tq} and {tk}"
                    )));
                }
                am = Some(match am {
                    Some(m) => ndarray::Zip::from(&m)
                        .and(&attn::causal_mask(tq))
                        .map_collect(|&a, &b| a || b),
                    None => attn::causal_mask(tq),
                });
            }
            let kpm = mask2(a.opt_mask("keyPaddingMask", 2)?);
            let (out, cache) = multi_head::forward(
                query.view(),
                key.view(),
                value.view(),
                &p,
                heads,
                am.as_ref().map(|m| m.view()),
                kpm.as_ref().map(|m| m.view()),
            )
            .map_err(core_err)?;
            if !want_grads {
                let obj = object(&[
                    ("output", tensor_to_js(&out)),
                    ("heads", heads_to_js(&cache)),
                ]);
                return Ok(obj);
            }
            let g = multi_head::backward(d3(f, "dout", up("dout")?)?.view(), &cache, &p)
                .map_err(core_err)?;
            let obj = Object::new();
            if cross {
                set(&obj, "query", &tensor_to_js(&g.dquery));
                set(&obj, "key", &tensor_to_js(&g.dkey));
                set(&obj, "value", &tensor_to_js(&g.dvalue));
            } else {
                set(
                    &obj,
                    "query",
                    &tensor_to_js(&(&g.dquery + &g.dkey + &g.dvalue)),
                );
            }
            set(&obj, "in_proj_weight", &tensor_to_js(&g.in_proj_weight));
            set(&obj, "in_proj_bias", &tensor_to_js(&g.in_proj_bias));
            set(&obj, "out_proj.weight", &tensor_to_js(&g.out_proj_weight));
            set(&obj, "out_proj.bias", &tensor_to_js(&g.out_proj_bias));
            Ok(obj.into())
        }
        "encoder_layer" => {
            let x = d3(f, "x", a.tensor("x")?)?;
            let cfg = layer_config(a, x.shape()[2], ffn_width(a)?)?;
            let s = param_store(a, &encoder_layer::param_shapes("", &cfg))?;
            let t = x.shape()[1];
            let am = if a.flag("causal", false)? {
                Some(attn::causal_mask(t))
            } else {
                mask2(a.opt_mask("attnMask", 2)?)
            };
            let kpm = mask2(a.opt_mask("keyPaddingMask", 2)?);
            let (y, cache) = encoder_layer::forward(
                x.view(),
                &s,
                "",
                &cfg,
                am.as_ref().map(|m| m.view()),
                kpm.as_ref().map(|m| m.view()),
            )
            .map_err(core_err)?;
            if !want_grads {
                let b = x.shape()[0];
                let mid = cache
                    .attn
                    .output
                    .clone()
                    .into_shape_with_order((b, t, cfg.d_model))
                    .expect("rows");
                return Ok(object(&[
                    ("y", tensor_to_js(&y)),
                    ("afterAttention", tensor_to_js(&mid)),
                    ("attention", heads_to_js(cache.attention())),
                ]));
            }
            let (dx, grads) =
                encoder_layer::backward(d3(f, "dy", up("dy")?)?.view(), &cache, &s, "", &cfg)
                    .map_err(core_err)?;
            let obj = grads_to_js(grads, "");
            set(&obj, "x", &tensor_to_js(&dx));
            Ok(obj.into())
        }
        "decoder_layer" => {
            let x = d3(f, "x", a.tensor("x")?)?;
            let memory = d3(f, "memory", a.tensor("memory")?)?;
            let cfg = layer_config(a, x.shape()[2], ffn_width(a)?)?;
            let s = param_store(a, &decoder_layer::param_shapes("", &cfg))?;
            let causal = a
                .flag("causal", true)?
                .then(|| attn::causal_mask(x.shape()[1]));
            let mpm = mask2(a.opt_mask("memoryKeyPaddingMask", 2)?);
            let masks = DecoderMasks {
                tgt_mask: causal.as_ref().map(|m| m.view()),
                memory_key_padding_mask: mpm.as_ref().map(|m| m.view()),
                ..Default::default()
            };
            let (y, cache) = decoder_layer::forward(x.view(), memory.view(), &s, "", &cfg, masks)
                .map_err(core_err)?;
            if !want_grads {
                return Ok(object(&[
                    ("y", tensor_to_js(&y)),
                    ("selfAttention", heads_to_js(cache.self_attention())),
                    ("crossAttention", heads_to_js(cache.cross_attention())),
                ]));
            }
            let (dx, dmem, grads) =
                decoder_layer::backward(d3(f, "dy", up("dy")?)?.view(), &cache, &s, "", &cfg)
                    .map_err(core_err)?;
            let obj = grads_to_js(grads, "");
            set(&obj, "x", &tensor_to_js(&dx));
            set(&obj, "memory", &tensor_to_js(&dmem));
            Ok(obj.into())
        }
        "cross_entropy" => {
            let logits = d2(f, "logits", a.tensor("logits")?)?;
            let ignore = a.number("ignoreIndex", cross_entropy::IGNORE_INDEX as f64)? as i64;
            let t = d1(f, "targets", a.tensor("targets")?)?;
            let targets: Vec<i64> = t
                .iter()
                .map(|&x| if x.fract() == 0.0 { x as i64 } else { i64::MIN })
                .collect();
            let (loss, cache) =
                cross_entropy::forward(logits.view(), &targets, ignore).map_err(core_err)?;
            if !want_grads {
                return Ok(object(&[
                    ("loss", JsValue::from(loss)),
                    ("probs", tensor_to_js(&cache.probs)),
                ]));
            }
            let dloss = a.number("dloss", 1.0)? as f32;
            Ok(object(&[(
                "logits",
                tensor_to_js(&cross_entropy::backward(dloss, &cache)),
            )]))
        }
        other => Err(JsError::new(&format!(
            "unknown op {other:?}; the ops are {OPS}"
        ))),
    }
}

/// Runs op `op` forward: returns its outputs and the intermediates the page draws.
#[wasm_bindgen]
pub fn forward(op: &str, args: JsValue) -> JsResult<JsValue> {
    let name = format!("forward({op})");
    let a = Args::new(&name, args)?;
    run(op, &a, false)
}

/// Runs op `op` backward from the upstream gradient in `args` (`dy`, `dout` or `dloss`):
/// returns the gradient of every input and parameter, keyed by its argument name.
#[wasm_bindgen]
pub fn backward(op: &str, args: JsValue) -> JsResult<JsValue> {
    let name = format!("backward({op})");
    let a = Args::new(&name, args)?;
    run(op, &a, true)
}
