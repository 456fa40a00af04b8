//! Gradient checks of the ops: every hand-written backward against central finite differences,
//! in f64 (the layers and models are in `gradcheck_models.rs`).
//!
//! For an op y = f(x, θ) we draw a random R of y's shape and take L = Σ y ⊙ R, so ∂L/∂y = R
//! (llm.c's "fake loss"). The analytic gradients from backward(R) must match
//! (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h for every entry i of every input and parameter. In f64 with
//! h = 1e-6 the difference quotient is accurate to about 1e-9 relative, so a tolerance of 1e-6
//! separates a correct backward from a wrong one by orders of magnitude.

mod common;

use common::{assert_close, d1, d2, d3, dot, numeric_grad, rand, FD_TOL as TOL};
use lm_playground::ops::attention::{self, causal_mask};
use lm_playground::ops::feed_forward::{self, FfnParams};
use lm_playground::ops::gelu::Approximate;
use lm_playground::ops::multi_head::{self, MhaParams};
use lm_playground::ops::{
    cross_entropy, embedding, gelu, layer_norm, linear, relu, softmax, Activation,
};
use lm_playground::rng::Rng;
use ndarray::{Array2, ArrayD};

#[test]
fn linear_grads() {
    let mut rng = Rng::new(1);
    let (x, w, b) = (
        rand(&mut rng, &[5, 4]),
        rand(&mut rng, &[3, 4]),
        rand(&mut rng, &[3]),
    );
    let r = rand(&mut rng, &[5, 3]);
    let (_, cache) = linear::forward(d2(&x), d2(&w), Some(d1(&b))).unwrap();
    let g = linear::backward(d2(&r), &cache, d2(&w), true).unwrap();
    let f = |x: &ArrayD<f64>, w: &ArrayD<f64>, b: &ArrayD<f64>| {
        dot(
            &linear::apply(d2(x), d2(w), Some(d1(b))).unwrap().into_dyn(),
            &r,
        )
    };
    assert_close(
        "linear dx",
        &g.dx.into_dyn(),
        &numeric_grad(&x, |v| f(v, &w, &b)),
        TOL,
    );
    assert_close(
        "linear dW",
        &g.dw.into_dyn(),
        &numeric_grad(&w, |v| f(&x, v, &b)),
        TOL,
    );
    assert_close(
        "linear db",
        &g.db.unwrap().into_dyn(),
        &numeric_grad(&b, |v| f(&x, &w, v)),
        TOL,
    );
}

#[test]
fn embedding_grads() {
    let mut rng = Rng::new(2);
    let table = rand(&mut rng, &[6, 3]);
    let ids = [4usize, 0, 4, 2, 5];
    let r = rand(&mut rng, &[5, 3]);
    let dt = embedding::backward(d2(&r), &ids, 6).into_dyn();
    let num = numeric_grad(&table, |t| {
        dot(&embedding::forward(&ids, d2(t)).unwrap().into_dyn(), &r)
    });
    assert_close("embedding dtable", &dt, &num, TOL);
}

#[test]
fn layer_norm_grads() {
    let mut rng = Rng::new(3);
    let (x, gm, bt) = (
        rand(&mut rng, &[4, 7]),
        rand(&mut rng, &[7]),
        rand(&mut rng, &[7]),
    );
    let r = rand(&mut rng, &[4, 7]);
    let (_, cache) = layer_norm::forward(d2(&x), d1(&gm), d1(&bt), 1e-5).unwrap();
    let g = layer_norm::backward(d2(&r), &cache, d1(&gm)).unwrap();
    let f = |x: &ArrayD<f64>, gm: &ArrayD<f64>, bt: &ArrayD<f64>| {
        dot(
            &layer_norm::forward(d2(x), d1(gm), d1(bt), 1e-5)
                .unwrap()
                .0
                .into_dyn(),
            &r,
        )
    };
    assert_close(
        "layer_norm dx",
        &g.dx.into_dyn(),
        &numeric_grad(&x, |v| f(v, &gm, &bt)),
        TOL,
    );
    assert_close(
        "layer_norm dgamma",
        &g.dgamma.into_dyn(),
        &numeric_grad(&gm, |v| f(&x, v, &bt)),
        TOL,
    );
    assert_close(
        "layer_norm dbeta",
        &g.dbeta.into_dyn(),
        &numeric_grad(&bt, |v| f(&x, &gm, v)),
        TOL,
    );
}

#[test]
fn activation_and_softmax_grads() {
    let mut rng = Rng::new(4);
    // Keep ReLU's inputs away from its kink at 0, where finite differences straddle it.
    let x = rand(&mut rng, &[3, 5]).mapv(|v| if v.abs() < 0.05 { v + 0.1 } else { v * 3.0 });
    let r = rand(&mut rng, &[3, 5]);
    let gx = relu::backward(d2(&r), d2(&x)).into_dyn();
    assert_close(
        "relu dx",
        &gx,
        &numeric_grad(&x, |v| dot(&relu::forward(d2(v)).into_dyn(), &r)),
        TOL,
    );
    for form in [Approximate::None, Approximate::Tanh] {
        let gx = gelu::backward(d2(&r), d2(&x), form).into_dyn();
        assert_close(
            &format!("gelu[{}] dx", form.name()),
            &gx,
            &numeric_grad(&x, |v| dot(&gelu::forward(d2(v), form).into_dyn(), &r)),
            TOL,
        );
    }
    let y = softmax::forward(d2(&x));
    let gx = softmax::backward(d2(&r), y.view()).into_dyn();
    assert_close(
        "softmax dx",
        &gx,
        &numeric_grad(&x, |v| dot(&softmax::forward(d2(v)).into_dyn(), &r)),
        TOL,
    );
}

#[test]
fn cross_entropy_grads() {
    let mut rng = Rng::new(5);
    let z = rand(&mut rng, &[4, 6]).mapv(|v| v * 4.0);
    let t = [2i64, -100, 5, 0];
    let (_, c) = cross_entropy::forward(d2(&z), &t, -100).unwrap();
    let dz = cross_entropy::backward(1.0, &c).into_dyn();
    let num = numeric_grad(&z, |v| cross_entropy::forward(d2(v), &t, -100).unwrap().0);
    assert_close("cross_entropy dlogits", &dz, &num, TOL);
}

/// One head, with each kind of mask: none, causal, padding, cross-attention with Tq ≠ Tk, and a
/// fully masked row (whose gradient must be exactly zero and still match); and with an additive
/// bias, alone, with a causal mask, and with −∞ entries (one key of a row, and a whole row).
#[test]
fn attention_grads_with_every_mask_and_bias() {
    let mut rng = Rng::new(6);
    let mut pad = Array2::from_elem((3, 5), false);
    pad.column_mut(4).fill(true);
    let mut one_row_blocked = Array2::from_elem((3, 5), false);
    one_row_blocked.row_mut(1).fill(true);
    let ninf = f64::NEG_INFINITY;
    let mut blocked_by_bias = rand(&mut rng, &[3, 5]);
    blocked_by_bias[[0, 2]] = ninf;
    blocked_by_bias
        .index_axis_mut(ndarray::Axis(0), 2)
        .fill(ninf);
    type Case = (
        &'static str,
        usize,
        usize,
        Option<Array2<bool>>,
        Option<ArrayD<f64>>,
    );
    let cases: Vec<Case> = vec![
        ("none", 4, 4, None, None),
        ("causal", 4, 4, Some(causal_mask(4)), None),
        ("cross + padding", 3, 5, Some(pad.clone()), None),
        ("fully masked row", 3, 5, Some(one_row_blocked), None),
        (
            "bias",
            3,
            5,
            None,
            Some(rand(&mut rng, &[3, 5]).mapv(|b| 2.0 * b)),
        ),
        (
            "bias + causal",
            4,
            4,
            Some(causal_mask(4)),
            Some(rand(&mut rng, &[4, 4])),
        ),
        ("bias −∞ + padding", 3, 5, Some(pad), Some(blocked_by_bias)),
    ];
    for (name, tq, tk, mask, bias) in cases {
        let (q, k, v) = (
            rand(&mut rng, &[tq, 4]),
            rand(&mut rng, &[tk, 4]),
            rand(&mut rng, &[tk, 3]),
        );
        let r = rand(&mut rng, &[tq, 3]);
        let m = mask.as_ref().map(|m| m.view());
        let (_, cache) =
            attention::forward(d2(&q), d2(&k), d2(&v), m, bias.as_ref().map(d2), None).unwrap();
        let g = attention::backward(d2(&r), &cache).unwrap();
        let f = |q: &ArrayD<f64>, k: &ArrayD<f64>, v: &ArrayD<f64>, b: Option<&ArrayD<f64>>| {
            dot(
                &attention::forward(d2(q), d2(k), d2(v), m, b.map(d2), None)
                    .unwrap()
                    .0
                    .into_dyn(),
                &r,
            )
        };
        let b = bias.as_ref();
        assert_close(
            &format!("attention[{name}] dq"),
            &g.dq.into_dyn(),
            &numeric_grad(&q, |x| f(x, &k, &v, b)),
            TOL,
        );
        assert_close(
            &format!("attention[{name}] dk"),
            &g.dk.into_dyn(),
            &numeric_grad(&k, |x| f(&q, x, &v, b)),
            TOL,
        );
        assert_close(
            &format!("attention[{name}] dv"),
            &g.dv.into_dyn(),
            &numeric_grad(&v, |x| f(&q, &k, x, b)),
            TOL,
        );
        if let Some(b) = b {
            // (an entry of −∞ stays −∞ when nudged: its difference quotient is 0, as dS' there)
            assert_close(
                &format!("attention[{name}] dbias"),
                &g.dscores.into_dyn(),
                &numeric_grad(b, |x| f(&q, &k, &v, Some(x))),
                TOL,
            );
        }
    }
}

/// Self-attention with a causal mask, cross-attention with key padding, and each with an
/// additive bias: one `[1, Tq, Tk]` slice shared by every batch item and head (its gradient
/// summed over them), or one per batch item and head `[B·H, Tq, Tk]` with a −∞ entry.
#[test]
fn multi_head_grads_self_and_cross() {
    let mut rng = Rng::new(7);
    let c = 6;
    let params: Vec<ArrayD<f64>> = vec![
        rand(&mut rng, &[3 * c, c]),
        rand(&mut rng, &[3 * c]),
        rand(&mut rng, &[c, c]),
        rand(&mut rng, &[c]),
    ];
    let mp = |p: &[ArrayD<f64>]| -> Vec<ArrayD<f64>> { p.to_vec() };
    let mut kpm = Array2::from_elem((2, 5), false);
    kpm[[1, 4]] = true;
    kpm[[1, 3]] = true;
    for (name, tq, tk, causal, padding, bias_slices) in [
        ("self causal", 4, 4, true, false, 0),
        ("cross padded", 3, 5, false, true, 0),
        ("self causal + shared bias", 4, 4, true, false, 1),
        ("cross padded + bias per head", 3, 5, false, true, 4),
    ] {
        let query = rand(&mut rng, &[2, tq, c]);
        let key = rand(&mut rng, &[2, tk, c]);
        let value = rand(&mut rng, &[2, tk, c]);
        let r = rand(&mut rng, &[2, tq, c]);
        let bias = (bias_slices > 0).then(|| {
            let mut b = rand(&mut rng, &[bias_slices, tq, tk]);
            b[[bias_slices - 1, 0, 1]] = f64::NEG_INFINITY;
            b
        });
        let am = causal.then(|| causal_mask(tq));
        let run = |q: &ArrayD<f64>,
                   k: &ArrayD<f64>,
                   v: &ArrayD<f64>,
                   p: &[ArrayD<f64>],
                   b: Option<&ArrayD<f64>>| {
            let prm = MhaParams {
                in_proj_weight: d2(&p[0]),
                in_proj_bias: d1(&p[1]),
                out_proj_weight: d2(&p[2]),
                out_proj_bias: d1(&p[3]),
            };
            multi_head::forward(
                d3(q),
                d3(k),
                d3(v),
                &prm,
                2,
                am.as_ref().map(|m| m.view()),
                padding.then(|| kpm.view()),
                b.map(d3),
            )
            .unwrap()
        };
        let (_, cache) = run(&query, &key, &value, &params, bias.as_ref());
        let prm = MhaParams {
            in_proj_weight: d2(&params[0]),
            in_proj_bias: d1(&params[1]),
            out_proj_weight: d2(&params[2]),
            out_proj_bias: d1(&params[3]),
        };
        let g = multi_head::backward(d3(&r), &cache, &prm).unwrap();
        let b = bias.as_ref();
        let f = |q: &ArrayD<f64>, k: &ArrayD<f64>, v: &ArrayD<f64>, p: &[ArrayD<f64>]| {
            dot(&run(q, k, v, p, b).0.into_dyn(), &r)
        };
        assert_close(
            &format!("mha[{name}] dquery"),
            &g.dquery.into_dyn(),
            &numeric_grad(&query, |x| f(x, &key, &value, &params)),
            TOL,
        );
        assert_close(
            &format!("mha[{name}] dkey"),
            &g.dkey.into_dyn(),
            &numeric_grad(&key, |x| f(&query, x, &value, &params)),
            TOL,
        );
        assert_close(
            &format!("mha[{name}] dvalue"),
            &g.dvalue.into_dyn(),
            &numeric_grad(&value, |x| f(&query, &key, x, &params)),
            TOL,
        );
        match (b, g.dbias) {
            (Some(b), Some(db)) => assert_close(
                &format!("mha[{name}] dbias"),
                &db.into_dyn(),
                &numeric_grad(b, |x| {
                    dot(
                        &run(&query, &key, &value, &params, Some(x)).0.into_dyn(),
                        &r,
                    )
                }),
                TOL,
            ),
            (None, None) => {}
            _ => panic!("mha[{name}]: a bias gradient without a bias, or none for one"),
        }
        let analytic = [
            g.in_proj_weight.into_dyn(),
            g.in_proj_bias.into_dyn(),
            g.out_proj_weight.into_dyn(),
            g.out_proj_bias.into_dyn(),
        ];
        for (i, a) in analytic.iter().enumerate() {
            let num = numeric_grad(&params[i], |x| {
                let mut p = mp(&params);
                p[i] = x.clone();
                f(&query, &key, &value, &p)
            });
            assert_close(&format!("mha[{name}] param {i}"), a, &num, TOL);
        }
    }
}

#[test]
fn feed_forward_grads_relu_and_both_gelus() {
    let mut rng = Rng::new(8);
    let (c, f) = (4, 9);
    let p: Vec<ArrayD<f64>> = vec![
        rand(&mut rng, &[f, c]),
        rand(&mut rng, &[f]),
        rand(&mut rng, &[c, f]),
        rand(&mut rng, &[c]),
    ];
    let x = rand(&mut rng, &[5, c]);
    let r = rand(&mut rng, &[5, c]);
    for act in [Activation::Relu, Activation::Gelu, Activation::GeluTanh] {
        let run = |x: &ArrayD<f64>, p: &[ArrayD<f64>]| {
            let fp = FfnParams {
                w1: d2(&p[0]),
                b1: d1(&p[1]),
                w2: d2(&p[2]),
                b2: d1(&p[3]),
            };
            feed_forward::forward(d2(x), &fp, act).unwrap()
        };
        let (_, cache) = run(&x, &p);
        let fp = FfnParams {
            w1: d2(&p[0]),
            b1: d1(&p[1]),
            w2: d2(&p[2]),
            b2: d1(&p[3]),
        };
        let g = feed_forward::backward(d2(&r), &cache, &fp).unwrap();
        assert_close(
            &format!("ffn[{}] dx", act.name()),
            &g.dx.into_dyn(),
            &numeric_grad(&x, |v| dot(&run(v, &p).0.into_dyn(), &r)),
            TOL,
        );
        let analytic = [
            g.dw1.into_dyn(),
            g.db1.into_dyn(),
            g.dw2.into_dyn(),
            g.db2.into_dyn(),
        ];
        for (i, a) in analytic.iter().enumerate() {
            let num = numeric_grad(&p[i], |v| {
                let mut q = p.clone();
                q[i] = v.clone();
                dot(&run(&x, &q).0.into_dyn(), &r)
            });
            assert_close(&format!("ffn[{}] param {i}", act.name()), a, &num, TOL);
        }
    }
}
