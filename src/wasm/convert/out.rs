//! Results crossing back: tensors as `{shape, data: Float32Array}`, the op table's named
//! outputs as plain objects, lists of strings, and serde values with maps as objects.

use crate::ops::registry::{Out, Outputs};
use js_sys::{Array, Float32Array, Object, Reflect};
use wasm_bindgen::prelude::*;

/// `{shape, data: Float32Array}` for a tensor.
pub fn tensor_to_js<D: ndarray::Dimension>(a: &ndarray::Array<f32, D>) -> JsValue {
    let obj = Object::new();
    let shape = Array::new();
    for &d in a.shape() {
        shape.push(&JsValue::from(d as u32));
    }
    let std = a.as_standard_layout();
    let data = Float32Array::from(std.as_slice().expect("standard layout"));
    set(&obj, "shape", &shape);
    set(&obj, "data", &data);
    obj.into()
}

/// Named outputs of the op table as a plain object (groups as nested objects).
pub fn outputs_to_js(out: Outputs<f32>) -> JsValue {
    let obj = Object::new();
    for (k, v) in out {
        set(&obj, &k, &out_to_js(v));
    }
    obj.into()
}

/// One output as a JS value.
pub fn out_to_js(v: Out<f32>) -> JsValue {
    match v {
        Out::Tensor(t) => tensor_to_js(&t),
        Out::Number(x) => JsValue::from(x),
        Out::Group(g) => outputs_to_js(g),
    }
}

/// `obj[key] = value` on a plain object we created (cannot throw).
pub fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// A plain object from (key, value) pairs.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let obj = Object::new();
    for (k, v) in pairs {
        set(&obj, k, v);
    }
    obj.into()
}

/// An array of strings.
pub fn string_array<S: AsRef<str>>(items: &[S]) -> JsValue {
    let arr = Array::new();
    for s in items {
        arr.push(&JsValue::from_str(s.as_ref()));
    }
    arr.into()
}

/// Serialises with maps as plain objects.
pub fn to_js<T: serde::Serialize>(v: &T) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true))
        .unwrap_or(JsValue::NULL)
}
