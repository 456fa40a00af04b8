//! The op table's own checks: names, masks, work and ids refused with clear messages.

use super::*;
use crate::args::Value;
use crate::ops::Activation;
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

#[test]
fn gelu_takes_torchs_approximate_and_refuses_other_words() {
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 3]), vec![-1.0, 0.5, 2.0]).unwrap();
    let a = Values::new("forward(gelu)").with("x", Value::Tensor(x.clone()));
    let y = |a: &Values<f64>| match &run("gelu", a, false).unwrap()[0].1 {
        Out::Tensor(t) => t.clone(),
        _ => panic!("y"),
    };
    let exact = y(&a);
    let none = y(&a.clone().with("approximate", Value::Text("none".into())));
    let tanh = y(&a.clone().with("approximate", Value::Text("tanh".into())));
    assert_eq!(exact, none);
    // the same function as the layers' activation 'gelu_tanh', 1e-4 or so from the exact form
    let x2 = x.view().into_dimensionality().unwrap();
    assert_eq!(tanh, Activation::GeluTanh.forward(x2).into_dyn());
    assert!(exact
        .iter()
        .zip(&tanh)
        .all(|(e, t)| e != t && (e - t).abs() < 5e-4));
    let e = run(
        "gelu",
        &a.with("approximate", Value::Text("foo".into())),
        false,
    )
    .unwrap_err();
    assert!(
        e.message
            .contains("approximate is \"foo\"; it must be one of none, tanh"),
        "{}",
        e.message
    );
}

fn tensor_of(out: &Outputs<f64>, name: &str) -> ArrayD<f64> {
    match &out.iter().find(|(k, _)| k == name).expect(name).1 {
        Out::Tensor(t) => t.clone(),
        _ => panic!("{name} is not a tensor"),
    }
}

/// `mha` on batch 2, 2 heads, width 4, 3 positions, with seeded weights (and `dout` for
/// backward).
fn mha_args(backward: bool) -> Values<f64> {
    let f =
        |n: usize, s: f64| -> Vec<f64> { (0..n).map(|i| ((i as f64 + 1.0) * s).sin()).collect() };
    let t = |shape: &[usize], s: f64| {
        let n = shape.iter().product();
        Value::Tensor(ArrayD::from_shape_vec(IxDyn(shape), f(n, s)).unwrap())
    };
    let a = Values::new("forward(mha)")
        .with("query", t(&[2, 3, 4], 0.37))
        .with("heads", Value::Number(2.0))
        .with("causal", Value::Flag(true))
        .with("in_proj_weight", t(&[12, 4], 0.71))
        .with("in_proj_bias", t(&[12], 1.3))
        .with("out_proj.weight", t(&[4, 4], 0.29))
        .with("out_proj.bias", t(&[4], 2.1));
    if backward {
        a.with("dout", t(&[2, 3, 4], 0.53))
    } else {
        a
    }
}

#[test]
fn mha_takes_a_bias_shared_or_per_batch_item_and_head() {
    let shared = ArrayD::from_shape_fn(IxDyn(&[3, 3]), |i| (i[0] as f64 - i[1] as f64) * 0.4);
    // The same [3, 3] slice repeated for each of the B·H = 4 (batch item, head) pairs.
    let per_head = ArrayD::from_shape_fn(IxDyn(&[4, 3, 3]), |i| shared[[i[1], i[2]]]);
    let with = |b: &ArrayD<f64>, backward: bool| {
        mha_args(backward).with("attnBias", Value::Tensor(b.clone()))
    };
    let (y1, y2, y0) = (
        tensor_of(&run("mha", &with(&shared, false), false).unwrap(), "output"),
        tensor_of(
            &run("mha", &with(&per_head, false), false).unwrap(),
            "output",
        ),
        tensor_of(&run("mha", &mha_args(false), false).unwrap(), "output"),
    );
    assert_eq!(y1, y2);
    assert!(
        y1.iter().zip(&y0).any(|(p, q)| (p - q).abs() > 1e-6),
        "the bias matters"
    );
    // backward returns the bias's gradient in the shape given; the shared one is the sum
    let g1 = tensor_of(&run("mha", &with(&shared, true), true).unwrap(), "attnBias");
    let g2 = tensor_of(
        &run("mha", &with(&per_head, true), true).unwrap(),
        "attnBias",
    );
    assert_eq!((g1.shape(), g2.shape()), (&[3, 3][..], &[4, 3, 3][..]));
    let summed = g2.sum_axis(ndarray::Axis(0));
    assert!(g1.iter().zip(&summed).all(|(p, q)| (p - q).abs() < 1e-14));
    assert!(run("mha", &mha_args(true), true)
        .unwrap()
        .iter()
        .all(|(k, _)| k != "attnBias"));
    // [B, Tq, Tk] is neither shape: refused, naming both
    let e = run(
        "mha",
        &with(&ArrayD::zeros(IxDyn(&[2, 3, 3])), false),
        false,
    )
    .unwrap_err();
    assert!(
        e.message.contains(
            "attnBias has shape [2, 3, 3], expected [3, 3] (queries × keys) or [4, 3, 3]"
        ),
        "{}",
        e.message
    );
}

#[test]
fn the_bias_combines_with_the_masks_under_the_one_rule() {
    // One head over 3 keys: key 2 padded, key 0 given −∞ by the bias in row 1, so row 1 can
    // only see key 1 (weight exactly 1); a bias on a padded key changes nothing.
    let z = |s: &[usize]| Value::Tensor(ArrayD::zeros(IxDyn(s)));
    let mut bias = ArrayD::zeros(IxDyn(&[2, 3]));
    bias[[1, 0]] = f64::NEG_INFINITY;
    bias[[0, 2]] = 50.0;
    bias[[0, 1]] = 2f64.ln();
    let a = Values::new("forward(attention)")
        .with("q", z(&[2, 4]))
        .with("k", z(&[3, 4]))
        .with("v", z(&[3, 4]))
        .with(
            "keyPaddingMask",
            Value::Mask(ArrayD::from_shape_vec(IxDyn(&[3]), vec![false, false, true]).unwrap()),
        )
        .with("attnBias", Value::Tensor(bias));
    let w = tensor_of(&run("attention", &a, false).unwrap(), "weights");
    // row 0: scores 0, ln 2 on keys 0, 1 (key 2 padded): weights 1/3, 2/3, 0
    let want = [1.0 / 3.0, 2.0 / 3.0, 0.0, 0.0, 1.0, 0.0];
    assert!(
        w.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-15),
        "{w}"
    );
    // a bias of rank 3 is not for one head; NaN is refused
    let mut bad = a.clone();
    bad.insert("attnBias", z(&[1, 2, 3]));
    let e = run("attention", &bad, false).unwrap_err();
    assert!(
        e.message
            .contains("attnBias has shape [1, 2, 3] but must have 2 dimensions"),
        "{}",
        e.message
    );
    bad.insert(
        "attnBias",
        Value::Tensor(ArrayD::from_elem(IxDyn(&[2, 3]), f64::NAN)),
    );
    let e = run("attention", &bad, false).unwrap_err();
    assert!(e.message.contains("attnBias has NaN"), "{}", e.message);
}
