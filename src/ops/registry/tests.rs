//! The op table's own checks: names, masks, work and ids refused with clear messages.

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
