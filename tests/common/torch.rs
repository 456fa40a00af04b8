//! Reading the PyTorch fixtures (`tests/fixtures/*.json`, written by `make_fixtures.py`) and
//! comparing against them, for `torch_ops.rs` and `torch_models.rs`.

use super::assert_close;
use lm_playground::params::ParamStore;
use lm_playground::Real;
use ndarray::{Array2, ArrayD, Ix2, IxDyn};
use serde_json::Value;

pub fn load(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

pub fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

pub fn tensor<F: Real>(v: &Value) -> ArrayD<F> {
    let data: Vec<F> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| F::of(x.as_f64().unwrap()))
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape(v)), data).unwrap()
}

pub fn bools(v: &Value) -> ArrayD<bool> {
    let data: Vec<bool> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_bool().unwrap())
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape(v)), data).unwrap()
}

pub fn ids(v: &Value) -> Array2<usize> {
    tensor::<f64>(v)
        .mapv(|x| x as usize)
        .into_dimensionality::<Ix2>()
        .unwrap()
}

pub fn targets(v: &Value) -> Array2<i64> {
    tensor::<f64>(v)
        .mapv(|x| x as i64)
        .into_dimensionality::<Ix2>()
        .unwrap()
}

pub fn f64s<F: Real>(a: &ArrayD<F>) -> ArrayD<f64> {
    a.mapv(|x| x.f64())
}

pub fn store<F: Real>(params: &Value) -> ParamStore<F> {
    let mut s = ParamStore::new();
    for (k, v) in params.as_object().unwrap() {
        s.insert(k.clone(), tensor::<F>(v));
    }
    s
}

pub fn tol<F: Real>() -> f64 {
    if F::DTYPE == "F64" {
        1e-9
    } else {
        1e-4
    }
}

/// Compares one of our tensors with the fixture's.
pub fn check<F: Real>(case: &str, what: &str, got: ArrayD<F>, want: &Value) {
    assert_close(
        &format!("{case} [{}] {what}", F::DTYPE),
        &f64s(&got),
        &tensor::<f64>(want),
        tol::<F>(),
    );
}

pub fn check_grads<F: Real>(case: &Value, s: &ParamStore<F>) {
    let name = case["name"].as_str().unwrap();
    for (k, _) in case["params"].as_object().unwrap() {
        check(
            name,
            &format!("grad {k}"),
            s.grad(k).unwrap().clone(),
            &case["grads"][k],
        );
    }
}
