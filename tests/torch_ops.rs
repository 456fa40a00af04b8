//! PyTorch parity of the ops and layers (the models and optimisers are in `torch_models.rs`):
//! reference values that `tests/fixtures/make_fixtures.py` computed with PyTorch in float64 and
//! stored as JSON.
//!
//! Each case runs twice: in f64, where the only difference from PyTorch is the order of
//! floating-point operations (tolerance 1e-9 of the tensor's largest magnitude), and in f32,
//! the type the playground runs in (tolerance 1e-4 of the largest magnitude).

mod common;

use common::assert_close;
use common::torch::*;
use lm_playground::layers::decoder_layer::{self, DecoderMasks};
use lm_playground::layers::{encoder_layer, LayerConfig};
use lm_playground::ops::feed_forward::{self, FfnParams};
use lm_playground::ops::multi_head::{self, MhaParams};
use lm_playground::ops::{
    attention, cross_entropy, embedding, gelu, layer_norm, linear, relu, softmax, Activation,
};
use lm_playground::params::ParamStore;
use lm_playground::Real;
use ndarray::{ArrayD, Axis, Ix1, Ix2, Ix3, IxDyn};
use serde_json::Value;

fn run_op<F: Real>(c: &Value) {
    let name = c["name"].as_str().unwrap();
    let inp = |k: &str| tensor::<F>(&c["inputs"][k]);
    let r = || tensor::<F>(&c["upstream"]);
    let d2 = |a: &ArrayD<F>| a.clone().into_dimensionality::<Ix2>().unwrap();
    let d3 = |a: &ArrayD<F>| a.clone().into_dimensionality::<Ix3>().unwrap();
    let _d1 = |a: &ArrayD<F>| a.clone().into_dimensionality::<Ix1>().unwrap();
    let mut s = store::<F>(&c["params"]);
    let p2 = |s: &ParamStore<F>, k: &str| s.get2(k).unwrap().to_owned();
    let p1 = |s: &ParamStore<F>, k: &str| s.get1(k).unwrap().to_owned();
    match c["kind"].as_str().unwrap() {
        "linear" => {
            let (w, b) = (p2(&s, "weight"), p1(&s, "bias"));
            let (y, cache) =
                linear::forward(d2(&inp("x")).view(), w.view(), Some(b.view())).unwrap();
            check::<F>(name, "y", y.into_dyn(), &c["outputs"]["y"]);
            let g = linear::backward(d2(&r()).view(), &cache, w.view(), true).unwrap();
            check::<F>(name, "dx", g.dx.into_dyn(), &c["grads"]["x"]);
            check::<F>(name, "dweight", g.dw.into_dyn(), &c["grads"]["weight"]);
            check::<F>(name, "dbias", g.db.unwrap().into_dyn(), &c["grads"]["bias"]);
        }
        "embedding" => {
            let ids: Vec<usize> = c["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            let w = p2(&s, "weight");
            check::<F>(
                name,
                "y",
                embedding::forward(&ids, w.view()).unwrap().into_dyn(),
                &c["outputs"]["y"],
            );
            check::<F>(
                name,
                "dweight",
                embedding::backward(d2(&r()).view(), &ids, w.nrows()).into_dyn(),
                &c["grads"]["weight"],
            );
        }
        "layer_norm" => {
            let (w, b) = (p1(&s, "weight"), p1(&s, "bias"));
            let (y, cache) =
                layer_norm::forward(d2(&inp("x")).view(), w.view(), b.view(), 1e-5).unwrap();
            check::<F>(name, "y", y.into_dyn(), &c["outputs"]["y"]);
            let g = layer_norm::backward(d2(&r()).view(), &cache, w.view()).unwrap();
            check::<F>(name, "dx", g.dx.into_dyn(), &c["grads"]["x"]);
            check::<F>(name, "dweight", g.dgamma.into_dyn(), &c["grads"]["weight"]);
            check::<F>(name, "dbias", g.dbeta.into_dyn(), &c["grads"]["bias"]);
        }
        "relu" | "gelu" => {
            let x = d2(&inp("x"));
            let act = if name == "relu" {
                Activation::Relu
            } else {
                Activation::Gelu
            };
            check::<F>(
                name,
                "y",
                act.forward(x.view()).into_dyn(),
                &c["outputs"]["y"],
            );
            check::<F>(
                name,
                "dx",
                act.backward(d2(&r()).view(), x.view()).into_dyn(),
                &c["grads"]["x"],
            );
            // the functions themselves, not only through the enum
            let direct = if name == "relu" {
                relu::forward(x.view())
            } else {
                gelu::forward(x.view())
            };
            check::<F>(name, "y (direct)", direct.into_dyn(), &c["outputs"]["y"]);
        }
        "softmax" => {
            let y = softmax::forward(d2(&inp("x")).view());
            check::<F>(name, "y", y.clone().into_dyn(), &c["outputs"]["y"]);
            check::<F>(
                name,
                "dx",
                softmax::backward(d2(&r()).view(), y.view()).into_dyn(),
                &c["grads"]["x"],
            );
        }
        "cross_entropy" => {
            let t: Vec<i64> = c["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect();
            let (loss, cache) =
                cross_entropy::forward(d2(&inp("logits")).view(), &t, -100).unwrap();
            check::<F>(
                name,
                "loss",
                ArrayD::from_elem(IxDyn(&[1]), loss),
                &c["outputs"]["loss"],
            );
            check::<F>(
                name,
                "dlogits",
                cross_entropy::backward(F::one(), &cache).into_dyn(),
                &c["grads"]["logits"],
            );
        }
        "attention" => {
            let mask = c
                .get("mask")
                .map(|m| bools(m).into_dimensionality::<Ix2>().unwrap());
            let (q, k, v) = (d2(&inp("q")), d2(&inp("k")), d2(&inp("v")));
            let (y, cache) = attention::forward(
                q.view(),
                k.view(),
                v.view(),
                mask.as_ref().map(|m| m.view()),
                None,
            )
            .unwrap();
            check::<F>(name, "y", y.into_dyn(), &c["outputs"]["y"]);
            check::<F>(
                name,
                "scores",
                cache.scores.clone().into_dyn(),
                &c["outputs"]["scores"],
            );
            check::<F>(
                name,
                "weights",
                cache.weights.clone().into_dyn(),
                &c["outputs"]["weights"],
            );
            let g = attention::backward(d2(&r()).view(), &cache).unwrap();
            check::<F>(name, "dq", g.dq.into_dyn(), &c["grads"]["q"]);
            check::<F>(name, "dk", g.dk.into_dyn(), &c["grads"]["k"]);
            check::<F>(name, "dv", g.dv.into_dyn(), &c["grads"]["v"]);
        }
        "mha_self" | "mha_cross" => {
            let heads = c["config"]["heads"].as_u64().unwrap() as usize;
            let (iw, ib, ow, ob) = (
                p2(&s, "in_proj_weight"),
                p1(&s, "in_proj_bias"),
                p2(&s, "out_proj.weight"),
                p1(&s, "out_proj.bias"),
            );
            let p = MhaParams {
                in_proj_weight: iw.view(),
                in_proj_bias: ib.view(),
                out_proj_weight: ow.view(),
                out_proj_bias: ob.view(),
            };
            let selfish = c["kind"] == "mha_self";
            let (q, k, v) = if selfish {
                (inp("x"), inp("x"), inp("x"))
            } else {
                (inp("query"), inp("key"), inp("value"))
            };
            let am = c
                .get("attn_mask")
                .map(|m| bools(m).into_dimensionality::<Ix2>().unwrap());
            let kpm = c
                .get("key_padding_mask")
                .map(|m| bools(m).into_dimensionality::<Ix2>().unwrap());
            let (y, cache) = multi_head::forward(
                d3(&q).view(),
                d3(&k).view(),
                d3(&v).view(),
                &p,
                heads,
                am.as_ref().map(|m| m.view()),
                kpm.as_ref().map(|m| m.view()),
            )
            .unwrap();
            check::<F>(name, "y", y.into_dyn(), &c["outputs"]["y"]);
            // per-head weights [B, H, Tq, Tk]
            let want = tensor::<f64>(&c["outputs"]["weights"]);
            for bi in 0..cache.batch {
                for h in 0..heads {
                    let w = want
                        .index_axis(Axis(0), bi)
                        .index_axis(Axis(0), h)
                        .to_owned();
                    assert_close(
                        &format!("{name} weights b{bi} h{h}"),
                        &f64s(&cache.head(bi, h).weights.clone().into_dyn()),
                        &w,
                        tol::<F>(),
                    );
                }
            }
            let g = multi_head::backward(d3(&r()).view(), &cache, &p).unwrap();
            if selfish {
                check::<F>(
                    name,
                    "dx",
                    (&g.dquery + &g.dkey + &g.dvalue).into_dyn(),
                    &c["grads"]["x"],
                );
            } else {
                check::<F>(name, "dquery", g.dquery.into_dyn(), &c["grads"]["query"]);
                check::<F>(name, "dkey", g.dkey.into_dyn(), &c["grads"]["key"]);
                check::<F>(name, "dvalue", g.dvalue.into_dyn(), &c["grads"]["value"]);
            }
            check::<F>(
                name,
                "d in_proj_weight",
                g.in_proj_weight.into_dyn(),
                &c["grads"]["in_proj_weight"],
            );
            check::<F>(
                name,
                "d in_proj_bias",
                g.in_proj_bias.into_dyn(),
                &c["grads"]["in_proj_bias"],
            );
            check::<F>(
                name,
                "d out_proj.weight",
                g.out_proj_weight.into_dyn(),
                &c["grads"]["out_proj.weight"],
            );
            check::<F>(
                name,
                "d out_proj.bias",
                g.out_proj_bias.into_dyn(),
                &c["grads"]["out_proj.bias"],
            );
        }
        "ffn" => {
            let act: Activation =
                serde_json::from_value(c["config"]["activation"].clone()).unwrap();
            let (w1, b1, w2, b2) = (
                p2(&s, "linear1.weight"),
                p1(&s, "linear1.bias"),
                p2(&s, "linear2.weight"),
                p1(&s, "linear2.bias"),
            );
            let p = FfnParams {
                w1: w1.view(),
                b1: b1.view(),
                w2: w2.view(),
                b2: b2.view(),
            };
            let (y, cache) = feed_forward::forward(d2(&inp("x")).view(), &p, act).unwrap();
            check::<F>(name, "y", y.into_dyn(), &c["outputs"]["y"]);
            let g = feed_forward::backward(d2(&r()).view(), &cache, &p).unwrap();
            check::<F>(name, "dx", g.dx.into_dyn(), &c["grads"]["x"]);
            check::<F>(
                name,
                "d linear1.weight",
                g.dw1.into_dyn(),
                &c["grads"]["linear1.weight"],
            );
            check::<F>(
                name,
                "d linear1.bias",
                g.db1.into_dyn(),
                &c["grads"]["linear1.bias"],
            );
            check::<F>(
                name,
                "d linear2.weight",
                g.dw2.into_dyn(),
                &c["grads"]["linear2.weight"],
            );
            check::<F>(
                name,
                "d linear2.bias",
                g.db2.into_dyn(),
                &c["grads"]["linear2.bias"],
            );
        }
        "encoder_layer" => {
            let cfg: LayerConfig = serde_json::from_value(c["config"].clone()).unwrap();
            let am = bools(&c["attn_mask"]).into_dimensionality::<Ix2>().unwrap();
            let kpm = bools(&c["key_padding_mask"])
                .into_dimensionality::<Ix2>()
                .unwrap();
            let (y, cache) = encoder_layer::forward(
                d3(&inp("x")).view(),
                &s,
                "",
                &cfg,
                Some(am.view()),
                Some(kpm.view()),
            )
            .unwrap();
            check::<F>(name, "y", y.into_dyn(), &c["outputs"]["y"]);
            let (dx, grads) =
                encoder_layer::backward(d3(&r()).view(), &cache, &s, "", &cfg).unwrap();
            check::<F>(name, "dx", dx.into_dyn(), &c["grads"]["x"]);
            s.accumulate_all(grads).unwrap();
            check_grads(c, &s);
        }
        "decoder_layer" => {
            let cfg: LayerConfig = serde_json::from_value(c["config"].clone()).unwrap();
            let tm = bools(&c["tgt_mask"]).into_dimensionality::<Ix2>().unwrap();
            let mpm = bools(&c["memory_key_padding_mask"])
                .into_dimensionality::<Ix2>()
                .unwrap();
            let masks = DecoderMasks {
                tgt_mask: Some(tm.view()),
                memory_key_padding_mask: Some(mpm.view()),
                ..Default::default()
            };
            let (y, cache) = decoder_layer::forward(
                d3(&inp("x")).view(),
                d3(&inp("memory")).view(),
                &s,
                "",
                &cfg,
                masks,
            )
            .unwrap();
            check::<F>(name, "y", y.into_dyn(), &c["outputs"]["y"]);
            let (dx, dmem, grads) =
                decoder_layer::backward(d3(&r()).view(), &cache, &s, "", &cfg).unwrap();
            check::<F>(name, "dx", dx.into_dyn(), &c["grads"]["x"]);
            check::<F>(name, "dmemory", dmem.into_dyn(), &c["grads"]["memory"]);
            s.accumulate_all(grads).unwrap();
            check_grads(c, &s);
        }
        other => panic!("unknown fixture kind {other}"),
    }
}

fn ops<F: Real>() {
    let f = load("torch_ops.json");
    let cases = f["cases"].as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> =
        cases.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    // Every op of the engine is covered by at least one case.
    for k in [
        "linear",
        "embedding",
        "layer_norm",
        "relu",
        "gelu",
        "softmax",
        "cross_entropy",
        "attention",
        "mha_self",
        "mha_cross",
        "ffn",
        "encoder_layer",
        "decoder_layer",
    ] {
        assert!(kinds.contains(k), "no fixture for {k}");
    }
    for c in cases {
        run_op::<F>(c);
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
