//! The argument checks: names, shapes, numbers, words and a bias's values.

use super::*;

#[test]
fn unknown_names_are_refused_with_the_accepted_list() {
    let specs = [
        ArgSpec::flag("causal"),
        ArgSpec::opt("attnMask", Kind::Mask(2)),
    ];
    let e = check_names("attention", &specs, ["mask"]).unwrap_err();
    assert!(
        e.message.contains("unknown argument \"mask\""),
        "{}",
        e.message
    );
    assert!(e.message.contains("causal, attnMask"), "{}", e.message);
    assert!(check_names("attention", &specs, ["attnMask", "causal"]).is_ok());
}

#[test]
fn whole_numbers_are_checked_not_wrapped() {
    let s = ArgSpec::int("steps", 0, 1000);
    assert_eq!(s.check_number("train", 3.0).unwrap(), 3.0);
    for bad in [-1.0, 4294967299.0, 2.5, f64::NAN, f64::INFINITY] {
        let e = s.check_number("train", bad).unwrap_err();
        assert!(e.message.contains("steps is"), "{}", e.message);
    }
    // −0 is kept as 0
    assert!(s.check_number("train", -0.0).unwrap().is_sign_positive());
}

#[test]
fn shapes_are_checked_before_data() {
    let s = ArgSpec::req("x", Kind::Tensor(2));
    assert!(s.check_shape("f", &[2, 3]).is_ok());
    assert!(s
        .check_shape("f", &[6])
        .unwrap_err()
        .message
        .contains("2 dimensions"));
    let e = s.check_shape("f", &[1 << 20, 1 << 20]).unwrap_err();
    assert!(e.message.contains("more than the limit"), "{}", e.message);
    // overflow of the product does not wrap
    assert_eq!(numel(&[usize::MAX, usize::MAX, 4]), u128::MAX);
}

#[test]
fn a_bias_takes_minus_infinity_but_not_nan_or_plus_infinity() {
    let specs = [ArgSpec::opt("attnBias", Kind::Bias(&[2, 3]))];
    let bias = |v: f32, shape: &[usize]| {
        let mut t = ArrayD::zeros(ndarray::IxDyn(shape));
        t.as_slice_mut().unwrap()[0] = v;
        Values::<f32>::new("f").with("attnBias", Value::Tensor(t))
    };
    assert!(bias(f32::NEG_INFINITY, &[2, 2]).check(&specs).is_ok());
    assert!(bias(-3.0, &[4, 2, 2]).check(&specs).is_ok());
    for (v, what) in [(f32::NAN, "NaN"), (f32::INFINITY, "Infinity")] {
        let e = bias(v, &[2, 2]).check(&specs).unwrap_err();
        assert!(
            e.message
                .contains(&format!("attnBias has {what} at flat index 0")),
            "{}",
            e.message
        );
    }
    let e = bias(0.0, &[4]).check(&specs).unwrap_err();
    assert!(
        e.message.contains("must have 2 or 3 dimensions"),
        "{}",
        e.message
    );
    assert!(specs[0].describe().contains("2- or 3-D float tensor"));
}

#[test]
fn values_check_kinds_and_ranges() {
    let specs = [
        ArgSpec::req("x", Kind::Tensor(1)),
        ArgSpec::int("heads", 1, 8),
        ArgSpec::choice("activation", &["relu", "gelu"]),
    ];
    let ok = Values::<f32>::new("f")
        .with("x", Value::Tensor(ArrayD::zeros(ndarray::IxDyn(&[3]))))
        .with("heads", Value::Number(2.0));
    assert!(ok.check(&specs).is_ok());
    assert_eq!(ok.usize_or("heads", 1).unwrap(), 2);
    let missing = Values::<f32>::new("f");
    assert!(missing
        .check(&specs)
        .unwrap_err()
        .message
        .contains("missing argument x"));
    let bad = ok.clone().with("activation", Value::Text("tanh".into()));
    assert!(bad
        .check(&specs)
        .unwrap_err()
        .message
        .contains("one of relu, gelu"));
    let nan = ok.with(
        "x",
        Value::Tensor(ArrayD::from_elem(ndarray::IxDyn(&[2]), f32::NAN)),
    );
    assert!(nan
        .check(&specs)
        .unwrap_err()
        .message
        .contains("non-finite"));
}
