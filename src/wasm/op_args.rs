//! Reading the arguments of the stateless `forward` / `backward` (see `ops.rs`) into engine
//! types: arrays of a fixed rank, masks, a layer's configuration, named parameters with their
//! shapes checked, and the work limit that refuses inputs whose products would not fit.

use super::convert::{core_err, Args, JsResult};
use crate::layers::LayerConfig;
use crate::ops::multi_head::MhaParams;
use crate::ops::{layer_norm, Activation};
use crate::params::ParamStore;
use ndarray::{Array, Array1, Array2, Array3, ArrayD, Dimension, Ix2};
use wasm_bindgen::prelude::*;

/// `a` as an array of a fixed rank `D`, or an error naming the argument and its shape.
fn fixed<D: Dimension>(
    func: &str,
    name: &str,
    a: ArrayD<f32>,
    rank: &str,
) -> JsResult<Array<f32, D>> {
    let shape = a.shape().to_vec();
    a.into_dimensionality::<D>().map_err(|_| {
        JsError::new(&format!(
            "{func}: {name} has shape {shape:?} but must be {rank}"
        ))
    })
}

/// `a` as 1-D (see [`fixed`]).
pub(super) fn d1(func: &str, name: &str, a: ArrayD<f32>) -> JsResult<Array1<f32>> {
    fixed(func, name, a, "1-D")
}

/// `a` as 2-D (see [`fixed`]).
pub(super) fn d2(func: &str, name: &str, a: ArrayD<f32>) -> JsResult<Array2<f32>> {
    fixed(func, name, a, "2-D")
}

/// `a` as `[B, T, C]` (see [`fixed`]).
pub(super) fn d3(func: &str, name: &str, a: ArrayD<f32>) -> JsResult<Array3<f32>> {
    fixed(func, name, a, "3-D [B, T, C]")
}

/// A boolean mask whose rank the argument reader has already checked, as 2-D.
pub(super) fn mask2(a: Option<ArrayD<bool>>) -> Option<Array2<bool>> {
    a.map(|m| m.into_dimensionality::<Ix2>().expect("checked ndim"))
}

pub(super) fn layer_config(a: &Args, d_model: usize, d_ff: usize) -> JsResult<LayerConfig> {
    let activation = match a.string("activation", "relu")?.as_str() {
        "relu" => Activation::Relu,
        "gelu" => Activation::Gelu,
        other => {
            return Err(JsError::new(&format!(
                "{}: activation {other:?} is not relu or gelu",
                a.func
            )))
        }
    };
    let cfg = LayerConfig {
        d_model,
        n_heads: a.int("heads", 1, 1, 4096)?,
        d_ff,
        activation,
        norm_first: a.flag("normFirst", false)?,
        layer_norm_eps: a.number("eps", layer_norm::EPS)?,
    };
    cfg.validate().map_err(|e| core_err(e.context(a.func)))?;
    Ok(cfg)
}

/// Reads the named parameters into a store, checking each shape.
pub(super) fn param_store(a: &Args, shapes: &[(String, Vec<usize>)]) -> JsResult<ParamStore<f32>> {
    let mut s = ParamStore::new();
    for (name, shape) in shapes {
        let t = a.tensor(name)?;
        if t.shape() != shape.as_slice() {
            return Err(JsError::new(&format!(
                "{}: {name} has shape {:?}, expected {shape:?}",
                a.func,
                t.shape()
            )));
        }
        s.insert(name.clone(), t);
    }
    Ok(s)
}

pub(super) fn mha_params_from(a: &Args, c: usize) -> JsResult<ParamStore<f32>> {
    param_store(a, &crate::layers::mha_shapes("", c))
}

pub(super) fn mha_view(s: &ParamStore<f32>) -> MhaParams<'_, f32> {
    crate::layers::mha_params(s, "").expect("names checked")
}

pub(super) fn ffn_width(a: &Args) -> JsResult<usize> {
    let w = a.tensor("linear1.weight")?;
    Ok(w.shape().first().copied().unwrap_or(0))
}

/// Refuses work whose intermediate tensors would not fit in memory (the inputs are capped
/// at [`super::convert::MAX_ELEMENTS`] each, but products of their sizes can be far larger).
pub(super) fn check_work(func: &str, what: &str, elements: u128) -> JsResult<()> {
    if elements > super::convert::MAX_ELEMENTS as u128 {
        return Err(JsError::new(&format!(
            "{func}: {what} would hold {elements} values, more than {}",
            super::convert::MAX_ELEMENTS
        )));
    }
    Ok(())
}

pub(super) fn shape_of(a: &Args, name: &str) -> Vec<u128> {
    let v = a.raw(name);
    js_sys::Reflect::get(&v, &"shape".into())
        .ok()
        .filter(js_sys::Array::is_array)
        .map(|s| {
            js_sys::Array::from(&s)
                .iter()
                .map(|d| d.as_f64().unwrap_or(0.0).max(0.0) as u128)
                .collect()
        })
        .unwrap_or_default()
}
