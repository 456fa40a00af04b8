//! Crossing the boundary: JS objects ⇄ core types, with errors that name the argument.
//!
//! A tensor crosses as `{shape: number[], data: Float32Array}` (a `Float64Array`, `Int32Array`
//! or plain array of numbers is accepted on the way in); boolean masks as `{shape, data}` with
//! a `Uint8Array` or an array of booleans. Large arrays are copied once, never element by
//! element through JS objects.

use js_sys::{Array, Float32Array, Object, Reflect, Uint8Array};
use ndarray::{ArrayD, IxDyn};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The binding's result type: errors become JS `Error`s.
pub type JsResult<T> = Result<T, JsError>;

/// A core error as a JS `Error` with the same message.
pub fn core_err(e: crate::Error) -> JsError {
    JsError::new(&e.message)
}

/// Largest tensor accepted from JS (elements): 64 Mi floats = 256 MB.
pub const MAX_ELEMENTS: usize = 1 << 26;

/// Reads named fields of an options/arguments object.
pub struct Args<'a> {
    /// The function's name, for messages.
    pub func: &'a str,
    obj: JsValue,
}

impl<'a> Args<'a> {
    /// Wraps `obj` (which must be an object, or undefined for "no options").
    pub fn new(func: &'a str, obj: JsValue) -> JsResult<Self> {
        if !(obj.is_undefined() || obj.is_null() || obj.is_object()) {
            return Err(JsError::new(&format!(
                "{func}: expected an object of arguments, got {}",
                describe(&obj)
            )));
        }
        Ok(Args { func, obj })
    }

    /// The raw field `name` (undefined if absent).
    pub fn raw(&self, name: &str) -> JsValue {
        if self.obj.is_object() {
            Reflect::get(&self.obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    }

    /// True when `name` is present and not null/undefined.
    pub fn has(&self, name: &str) -> bool {
        let v = self.raw(name);
        !(v.is_undefined() || v.is_null())
    }

    /// A required tensor.
    pub fn tensor(&self, name: &str) -> JsResult<ArrayD<f32>> {
        let v = self.raw(name);
        if v.is_undefined() || v.is_null() {
            return Err(JsError::new(&format!(
                "{}: missing argument {name} (a tensor {{shape, data}})",
                self.func
            )));
        }
        tensor_from_js(self.func, name, &v)
    }

    /// An optional tensor.
    pub fn opt_tensor(&self, name: &str) -> JsResult<Option<ArrayD<f32>>> {
        if self.has(name) {
            self.tensor(name).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A required tensor of exactly `ndim` dimensions.
    pub fn tensor_nd(&self, name: &str, ndim: usize) -> JsResult<ArrayD<f32>> {
        let t = self.tensor(name)?;
        check_ndim(self.func, name, t.shape(), ndim)?;
        Ok(t)
    }

    /// An optional boolean mask of exactly `ndim` dimensions.
    pub fn opt_mask(&self, name: &str, ndim: usize) -> JsResult<Option<ArrayD<bool>>> {
        if !self.has(name) {
            return Ok(None);
        }
        let v = self.raw(name);
        let (shape, data) = shape_and_data(self.func, name, &v)?;
        check_ndim(self.func, name, &shape, ndim)?;
        let bools: Vec<bool> = if let Some(u8s) = data.dyn_ref::<Uint8Array>() {
            u8s.to_vec().into_iter().map(|b| b != 0).collect()
        } else if Array::is_array(&data) {
            Array::from(&data).iter().map(|x| x.is_truthy()).collect()
        } else {
            return Err(JsError::new(&format!(
                "{}: {name}.data must be a Uint8Array or an array of booleans",
                self.func
            )));
        };
        from_shape(self.func, name, &shape, bools).map(Some)
    }

    /// A number with a default; NaN or ±∞ is an error naming the argument.
    pub fn number(&self, name: &str, default: f64) -> JsResult<f64> {
        let v = self.raw(name);
        if v.is_undefined() || v.is_null() {
            return Ok(default);
        }
        match v.as_f64() {
            Some(x) if x.is_finite() => Ok(x),
            Some(x) => Err(JsError::new(&format!(
                "{}: {name} is {x}; it must be a finite number",
                self.func
            ))),
            None => Err(JsError::new(&format!(
                "{}: {name} must be a number, got {}",
                self.func,
                describe(&v)
            ))),
        }
    }

    /// A whole number in `lo..=hi` with a default.
    pub fn int(&self, name: &str, default: usize, lo: usize, hi: usize) -> JsResult<usize> {
        let x = self.number(name, default as f64)?;
        if x.fract() != 0.0 || x < lo as f64 || x > hi as f64 {
            return Err(JsError::new(&format!(
                "{}: {name} is {x}; it must be a whole number from {lo} to {hi}",
                self.func
            )));
        }
        Ok(x as usize)
    }

    /// A boolean with a default.
    pub fn flag(&self, name: &str, default: bool) -> JsResult<bool> {
        let v = self.raw(name);
        if v.is_undefined() || v.is_null() {
            return Ok(default);
        }
        v.as_bool().ok_or_else(|| {
            JsError::new(&format!(
                "{}: {name} must be true or false, got {}",
                self.func,
                describe(&v)
            ))
        })
    }

    /// A string with a default.
    pub fn string(&self, name: &str, default: &str) -> JsResult<String> {
        let v = self.raw(name);
        if v.is_undefined() || v.is_null() {
            return Ok(default.to_string());
        }
        v.as_string().ok_or_else(|| {
            JsError::new(&format!(
                "{}: {name} must be a string, got {}",
                self.func,
                describe(&v)
            ))
        })
    }

    /// A field deserialised with serde (for configs).
    pub fn serde<T: serde::de::DeserializeOwned>(&self, name: &str) -> JsResult<Option<T>> {
        if !self.has(name) {
            return Ok(None);
        }
        serde_wasm_bindgen::from_value(self.raw(name))
            .map(Some)
            .map_err(|e| JsError::new(&format!("{}: {name}: {e}", self.func)))
    }
}

fn check_ndim(func: &str, name: &str, shape: &[usize], ndim: usize) -> JsResult<()> {
    if shape.len() != ndim {
        return Err(JsError::new(&format!(
            "{func}: {name} has shape {shape:?} but must have {ndim} dimensions"
        )));
    }
    Ok(())
}

/// A short description of a JS value for messages.
pub fn describe(v: &JsValue) -> String {
    if v.is_undefined() {
        "undefined".into()
    } else if v.is_null() {
        "null".into()
    } else if let Some(s) = v.as_string() {
        format!("the string {s:?}")
    } else if let Some(x) = v.as_f64() {
        format!("the number {x}")
    } else if Array::is_array(v) {
        "an array".into()
    } else {
        v.js_typeof()
            .as_string()
            .unwrap_or_else(|| "a value".into())
    }
}

fn shape_and_data(func: &str, name: &str, v: &JsValue) -> JsResult<(Vec<usize>, JsValue)> {
    if !v.is_object() {
        return Err(JsError::new(&format!(
            "{func}: {name} must be a tensor {{shape, data}}, got {}",
            describe(v)
        )));
    }
    let shape_v = Reflect::get(v, &"shape".into()).unwrap_or(JsValue::UNDEFINED);
    if !Array::is_array(&shape_v) {
        return Err(JsError::new(&format!(
            "{func}: {name}.shape must be an array of whole numbers"
        )));
    }
    let mut shape = vec![];
    for d in Array::from(&shape_v).iter() {
        match d.as_f64() {
            Some(x) if x >= 0.0 && x.fract() == 0.0 && x <= MAX_ELEMENTS as f64 => {
                shape.push(x as usize)
            }
            _ => {
                return Err(JsError::new(&format!(
                    "{func}: {name}.shape has {} where a whole number ≥ 0 is needed",
                    describe(&d)
                )))
            }
        }
    }
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .unwrap_or(usize::MAX);
    if n > MAX_ELEMENTS {
        return Err(JsError::new(&format!(
            "{func}: {name} has shape {shape:?}, more than {MAX_ELEMENTS} elements"
        )));
    }
    Ok((
        shape,
        Reflect::get(v, &"data".into()).unwrap_or(JsValue::UNDEFINED),
    ))
}

fn from_shape<T>(func: &str, name: &str, shape: &[usize], data: Vec<T>) -> JsResult<ArrayD<T>> {
    let n: usize = shape.iter().product();
    if n != data.len() {
        return Err(JsError::new(&format!(
            "{func}: {name} has shape {shape:?} ({n} values) but its data holds {}",
            data.len()
        )));
    }
    Ok(ArrayD::from_shape_vec(IxDyn(shape), data).expect("length checked"))
}

/// A tensor from `{shape, data}`; every value must be finite.
pub fn tensor_from_js(func: &str, name: &str, v: &JsValue) -> JsResult<ArrayD<f32>> {
    let (shape, data) = shape_and_data(func, name, v)?;
    let values: Vec<f32> = if let Some(f) = data.dyn_ref::<Float32Array>() {
        f.to_vec()
    } else if let Some(f) = data.dyn_ref::<js_sys::Float64Array>() {
        f.to_vec().into_iter().map(|x| x as f32).collect()
    } else if let Some(f) = data.dyn_ref::<js_sys::Int32Array>() {
        f.to_vec().into_iter().map(|x| x as f32).collect()
    } else if let Some(f) = data.dyn_ref::<js_sys::Uint32Array>() {
        f.to_vec().into_iter().map(|x| x as f32).collect()
    } else if Array::is_array(&data) {
        let arr = Array::from(&data);
        let mut out = Vec::with_capacity(arr.length() as usize);
        for (i, x) in arr.iter().enumerate() {
            match x.as_f64() {
                Some(f) => out.push(f as f32),
                None => {
                    return Err(JsError::new(&format!(
                        "{func}: {name}.data[{i}] is {}, not a number",
                        describe(&x)
                    )))
                }
            }
        }
        out
    } else {
        return Err(JsError::new(&format!(
            "{func}: {name}.data must be a Float32Array (or an array of numbers), got {}",
            describe(&data)
        )));
    };
    if let Some(i) = values.iter().position(|x| !x.is_finite()) {
        return Err(JsError::new(&format!(
            "{func}: {name} has a non-finite value ({}) at flat index {i}",
            values[i]
        )));
    }
    from_shape(func, name, &shape, values)
}

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

/// `obj[key] = value`.
pub fn set(obj: &Object, key: &str, value: &JsValue) {
    Reflect::set(obj, &JsValue::from_str(key), value)
        .expect("setting a property of a plain object");
}

/// A plain object from (key, value) pairs.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let obj = Object::new();
    for (k, v) in pairs {
        set(&obj, k, v);
    }
    obj.into()
}

/// Serialises with maps as plain objects.
pub fn to_js<T: serde::Serialize>(v: &T) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true))
        .expect("serialisable")
}
