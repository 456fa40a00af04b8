//! Crossing the boundary, in one place: JS values ⇄ core types, checked against the declared
//! arguments of [`crate::args`], with errors that name the function and the argument.
//!
//! The rules every export follows (the API's contract):
//!
//! - Every export takes `JsValue`s and converts them here; nothing is coerced (a string must be
//!   a string, a number a number: `valueOf` is never called, `-1` is not a huge index).
//! - Options objects are read once: their own keys are listed, each unknown name is an error
//!   listing the accepted ones, and each value is read exactly once (a getter runs once).
//! - A tensor `{shape, data}`: its shape is checked (rank, size limit) and its data's length
//!   compared with the shape before anything is copied; the op's work is checked from the
//!   shapes before any data is copied ([`Obj::convert`]).
//! - No JS exception can unwind through Rust: every JS operation that can run user code
//!   (getters, proxies) goes through a `catch` binding and becomes an error. A model's own
//!   state is borrowed only after its arguments are converted.
//!
//! Tensors cross as `{shape: number[], data: Float32Array}` (a `Float64Array`, `Int32Array`,
//! `Uint32Array` or plain array of numbers is accepted on the way in); boolean masks as
//! `{shape, data}` with a `Uint8Array` or an array of booleans.

use crate::args::{check_names, check_required, numel, ArgSpec, Kind, Value, Values, MAX_ELEMENTS};
use js_sys::{Array, ArrayBuffer, Float32Array, JsString, Reflect, Uint8Array};
use ndarray::{ArrayD, IxDyn};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

mod out;

pub use out::{object, out_to_js, outputs_to_js, set, string_array, tensor_to_js, to_js};

/// The binding's result type: errors become JS `Error`s.
pub type JsResult<T> = Result<T, JsError>;

/// A core error as a JS `Error` with the same message; an error with a [`crate::Code`] has it
/// as `code` (its name, `"text.noTokens"`) and the values its message names as `params` (an
/// object of strings), which the page translates.
pub fn core_err(e: crate::Error) -> JsError {
    let js = JsError::new(&e.message);
    match e.code {
        Some(code) => with_code(js, code, &e.params),
        None => js,
    }
}

/// `js` with `code` and `params` set on it (the same JS object: a `JsError` is a handle).
pub fn with_code(js: JsError, code: crate::Code, params: &[(&str, String)]) -> JsError {
    let obj: JsValue = js.clone().into();
    let p = js_sys::Object::new();
    for (k, v) in params {
        set(&p, k, &JsValue::from_str(v));
    }
    let _ = Reflect::set(&obj, &"code".into(), &JsValue::from_str(code.name()));
    let _ = Reflect::set(&obj, &"params".into(), &p);
    js
}

/// An error with this message.
pub fn err(msg: impl AsRef<str>) -> JsError {
    JsError::new(msg.as_ref())
}

/// Longest string accepted anywhere (UTF-16 code units), checked before it is copied.
pub const MAX_TEXT: u32 = 4_000_000;

#[wasm_bindgen]
extern "C" {
    /// `Object.keys(o)`, which runs a proxy's trap: caught.
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    fn object_keys(o: &JsValue) -> Result<Array, JsValue>;
    /// `Array.isArray(v)`, which throws for a revoked proxy: caught.
    #[wasm_bindgen(js_namespace = Array, js_name = isArray, catch)]
    fn is_array(v: &JsValue) -> Result<bool, JsValue>;
}

/// A short description of a JS value for messages (never runs user code).
pub fn describe(v: &JsValue) -> String {
    if v.is_undefined() {
        "undefined".into()
    } else if v.is_null() {
        "null".into()
    } else if let Some(s) = v.dyn_ref::<JsString>() {
        if s.length() <= 40 {
            format!("the string {:?}", String::from(s))
        } else {
            format!("a string of {} characters", s.length())
        }
    } else if let Some(x) = v.as_f64() {
        format!("the number {x}")
    } else if let Some(b) = v.as_bool() {
        format!("{b}")
    } else if is_array(v).unwrap_or(false) {
        "an array".into()
    } else {
        v.js_typeof()
            .as_string()
            .map(|t| match t.as_str() {
                "object" => "an object".to_string(),
                "function" => "a function".to_string(),
                other => format!("a {other}"),
            })
            .unwrap_or_else(|| "a value".into())
    }
}

/// `obj[key]`, reading a getter or proxy trap once; a throw becomes an error.
fn get(func: &str, obj: &JsValue, key: &str) -> JsResult<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key))
        .map_err(|e| err(format!("{func}: reading {key} threw: {}", thrown(&e))))
}

fn get_index(func: &str, arr: &JsValue, i: u32, what: &str) -> JsResult<JsValue> {
    Reflect::get_u32(arr, i)
        .map_err(|e| err(format!("{func}: reading {what}[{i}] threw: {}", thrown(&e))))
}

/// The message of a thrown JS value, without running user code (best effort).
fn thrown(e: &JsValue) -> String {
    if let Some(s) = e.dyn_ref::<JsString>() {
        return String::from(s);
    }
    e.dyn_ref::<js_sys::Error>()
        .and_then(|e| Reflect::get(e, &"message".into()).ok())
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| describe(e))
}

/// The length of a real array (not a proxy's claim), read once.
fn array_len(func: &str, v: &JsValue, what: &str) -> JsResult<Option<u32>> {
    if !is_array(v).unwrap_or(false) {
        return Ok(None);
    }
    let n = get(func, v, "length")?.as_f64().unwrap_or(0.0);
    if n > MAX_ELEMENTS as f64 {
        return Err(err(format!(
            "{func}: {what} has more than {MAX_ELEMENTS} entries"
        )));
    }
    Ok(Some(n.max(0.0) as u32))
}

/// A string argument (no coercion), at most [`MAX_TEXT`] code units, checked before copying.
pub fn text(func: &str, name: &str, v: &JsValue) -> JsResult<String> {
    match v.dyn_ref::<JsString>() {
        Some(s) if s.length() <= MAX_TEXT => Ok(String::from(s)),
        Some(s) => Err(err(format!(
            "{func}: {name} has {} characters, more than the limit of {MAX_TEXT}",
            s.length()
        ))),
        None => Err(err(format!(
            "{func}: {name} must be a string, got {}",
            describe(v)
        ))),
    }
}

/// A positional argument checked against its declaration (absent → `None`).
pub fn positional(func: &str, spec: &ArgSpec, v: &JsValue) -> JsResult<Option<Value<f32>>> {
    let obj = Obj {
        func: func.to_string(),
        fields: vec![(spec.name.clone(), v.clone())],
    };
    let mut vals = obj.convert(std::slice::from_ref(spec), |_, _| Ok(()))?;
    Ok(vals.remove(&spec.name))
}

/// A required whole number in `lo..=hi` given positionally.
pub fn int(func: &str, name: &str, v: &JsValue, lo: i64, hi: i64) -> JsResult<i64> {
    let spec = ArgSpec::req(name, Kind::Int { lo, hi });
    match positional(func, &spec, v)? {
        Some(Value::Number(x)) => Ok(x as i64),
        _ => Err(core_err(spec.wrong(func, &describe(v)))),
    }
}

/// A required finite number given positionally.
pub fn number(func: &str, name: &str, v: &JsValue) -> JsResult<f64> {
    let spec = ArgSpec::req(name, Kind::Number { positive: false });
    match positional(func, &spec, v)? {
        Some(Value::Number(x)) => Ok(x),
        _ => Err(core_err(spec.wrong(func, &describe(v)))),
    }
}

/// A required flag given positionally.
pub fn flag(func: &str, name: &str, v: &JsValue) -> JsResult<bool> {
    let spec = ArgSpec::req(name, Kind::Flag);
    match positional(func, &spec, v)? {
        Some(Value::Flag(b)) => Ok(b),
        _ => Err(core_err(spec.wrong(func, &describe(v)))),
    }
}

/// Bytes from a `Uint8Array` of at most `max` bytes, checked before copying.
pub fn bytes(func: &str, name: &str, v: &JsValue, max: usize) -> JsResult<Vec<u8>> {
    if !ArrayBuffer::is_view(v) {
        return Err(err(format!(
            "{func}: {name} must be a Uint8Array, got {}",
            describe(v)
        )));
    }
    let Some(u8s) = v.dyn_ref::<Uint8Array>() else {
        return Err(err(format!("{func}: {name} must be a Uint8Array")));
    };
    let n = u8s.length() as usize;
    if n > max {
        return Err(err(format!(
            "{func}: {name} holds {n} bytes, more than the limit of {max}"
        )));
    }
    if n == 0 {
        // (a detached array has length 0, and copying from it would throw through Rust)
        return Ok(vec![]);
    }
    Ok(u8s.to_vec())
}

/// A list of strings from an array of strings (at most `max`).
pub fn strings(func: &str, name: &str, v: &JsValue, max: usize) -> JsResult<Vec<String>> {
    let Some(n) = array_len(func, v, name)? else {
        return Err(err(format!(
            "{func}: {name} must be an array of strings, got {}",
            describe(v)
        )));
    };
    if n as usize > max {
        return Err(err(format!(
            "{func}: {name} has {n} entries, more than the limit of {max}"
        )));
    }
    (0..n)
        .map(|i| text(func, &format!("{name}[{i}]"), &get_index(func, v, i, name)?))
        .collect()
}

/// A parallel corpus: TSV text (`source<TAB>target` a line, parsed by
/// [`crate::seq2seq::parse_tsv`]) or an array of `[source, target]` arrays of two strings; at
/// most `max_chars` characters in all, counted before the text is parsed.
pub fn pairs(
    func: &str,
    name: &str,
    v: &JsValue,
    max_chars: usize,
) -> JsResult<Vec<(String, String)>> {
    let too_long = |n: usize| {
        err(format!(
            "{func}: {name} has {n} characters or more; the limit is {max_chars}"
        ))
    };
    if v.dyn_ref::<JsString>().is_some() {
        let tsv = text(func, name, v)?;
        let n = tsv.chars().count();
        if n > max_chars {
            return Err(too_long(n));
        }
        let list = crate::seq2seq::parse_tsv(&tsv).map_err(|e| core_err(e.context(func)))?;
        return Ok(list
            .into_iter()
            .map(|(s, t)| (s.to_string(), t.to_string()))
            .collect());
    }
    let wrong = || core_err(ArgSpec::opt(name, Kind::Pairs).wrong(func, &describe(v)));
    let n = array_len(func, v, name)?.ok_or_else(wrong)?;
    if n as usize > max_chars / 2 {
        return Err(err(format!(
            "{func}: {name} has {n} pairs, more than the limit of {}",
            max_chars / 2
        )));
    }
    let mut out = Vec::with_capacity(n as usize);
    let mut chars = 0;
    for i in 0..n {
        let what = format!("{name}[{i}]");
        let pair = get_index(func, v, i, name)?;
        if array_len(func, &pair, &what)? != Some(2) {
            return Err(err(format!(
                "{func}: {what} must be an array [source, target] of two strings, got {}",
                describe(&pair)
            )));
        }
        let side = |j: u32| -> JsResult<String> {
            text(
                func,
                &format!("{what}[{j}]"),
                &get_index(func, &pair, j, &what)?,
            )
        };
        let (s, t) = (side(0)?, side(1)?);
        chars += s.chars().count() + t.chars().count();
        if chars > max_chars {
            return Err(too_long(chars));
        }
        out.push((s, t));
    }
    Ok(out)
}

/// Numbers from a `Float32Array` or array of numbers (at most [`MAX_ELEMENTS`]); NaN allowed.
pub fn floats(func: &str, name: &str, v: &JsValue) -> JsResult<Vec<f32>> {
    let data = Data::read(func, name, v)?;
    data.copy(func, name)
}

/// 1 to `max` numbers from a `Float64Array`, `Float32Array` or array of numbers, as f64
/// (NaN and infinities pass; the caller checks them). The length is checked before anything
/// is copied.
pub fn numbers(func: &str, name: &str, v: &JsValue, max: usize) -> JsResult<Vec<f64>> {
    let data = Data::read(func, name, v)?;
    let n = data.len();
    if n == 0 || n > max {
        return Err(err(format!(
            "{func}: {name} has {n} values; give 1 to {max}"
        )));
    }
    let out: Vec<f64> = match &data {
        Data::F64(a) => a.to_vec(),
        Data::List(arr, n) => {
            let mut out = Vec::with_capacity(*n as usize);
            for i in 0..*n {
                let x = get_index(func, arr, i, name)?;
                out.push(x.as_f64().ok_or_else(|| {
                    err(format!(
                        "{func}: {name}[{i}] is {}, not a number",
                        describe(&x)
                    ))
                })?);
            }
            out
        }
        _ => data.copy(func, name)?.into_iter().map(f64::from).collect(),
    };
    if out.len() != n {
        return Err(err(format!(
            "{func}: {name} changed while it was being read"
        )));
    }
    Ok(out)
}

/// One object's fields, each read once, names checked against the declarations.
pub struct Obj {
    /// The function's name, for messages.
    pub func: String,
    fields: Vec<(String, JsValue)>,
}

impl Obj {
    /// Reads the own enumerable fields of `v` (undefined or null: none). Unknown names are an
    /// error listing `specs`; fields whose value is undefined or null count as absent.
    pub fn read(func: &str, v: &JsValue, specs: &[ArgSpec]) -> JsResult<Obj> {
        let mut o = Obj {
            func: func.to_string(),
            fields: vec![],
        };
        if v.is_undefined() || v.is_null() {
            return Ok(o);
        }
        if !v.is_object() || is_array(v).unwrap_or(true) || v.is_function() {
            return Err(err(format!(
                "{func}: expected an object of named arguments, got {}",
                describe(v)
            )));
        }
        let keys = object_keys(v).map_err(|e| {
            err(format!(
                "{func}: listing the arguments threw: {}",
                thrown(&e)
            ))
        })?;
        let names: Vec<String> = keys.iter().filter_map(|k| k.as_string()).collect();
        check_names(func, specs, names.iter().map(String::as_str)).map_err(core_err)?;
        for k in names {
            let val = get(func, v, &k)?;
            if !(val.is_undefined() || val.is_null()) {
                o.fields.push((k, val));
            }
        }
        Ok(o)
    }

    /// Positional arguments as fields.
    pub fn positional(func: &str, fields: Vec<(&str, JsValue)>) -> Obj {
        Obj {
            func: func.to_string(),
            fields: fields
                .into_iter()
                .filter(|(_, v)| !(v.is_undefined() || v.is_null()))
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    /// Adds the fields of `other` (read with its own declarations).
    pub fn merge(mut self, other: Obj) -> Obj {
        self.fields.extend(other.fields);
        self
    }

    /// The raw value of a field (for nested objects), if given.
    pub fn raw(&self, name: &str) -> Option<&JsValue> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Converts every field by its declaration: scalars first, then every tensor's shape and
    /// data length, then `work(shapes, scalars)` (which may refuse the call), and only then the
    /// tensors' data.
    pub fn convert(
        &self,
        specs: &[ArgSpec],
        work: impl FnOnce(&BTreeMap<String, Vec<usize>>, &Values<f32>) -> crate::Result<()>,
    ) -> JsResult<Values<f32>> {
        let f = self.func.as_str();
        check_required(f, specs, |n| self.raw(n).is_some()).map_err(core_err)?;
        let mut vals = Values::new(f);
        let mut pending: Vec<(&ArgSpec, Vec<usize>, Data)> = vec![];
        let mut shapes = BTreeMap::new();
        for (name, v) in &self.fields {
            let Some(spec) = specs.iter().find(|s| &s.name == name) else {
                continue;
            };
            match spec.kind {
                Kind::Tensor(_) | Kind::Tensors(_) | Kind::Mask(_) | Kind::Bias(_) => {
                    let (shape, data) = tensor_parts(f, spec, v)?;
                    shapes.insert(name.clone(), shape.clone());
                    pending.push((spec, shape, data));
                }
                Kind::Int { .. } | Kind::Number { .. } => {
                    let x = v
                        .as_f64()
                        .ok_or_else(|| core_err(spec.wrong(f, &describe(v))))?;
                    vals.insert(
                        name,
                        Value::Number(spec.check_number(f, x).map_err(core_err)?),
                    );
                }
                Kind::Flag => {
                    let b = v
                        .as_bool()
                        .ok_or_else(|| core_err(spec.wrong(f, &describe(v))))?;
                    vals.insert(name, Value::Flag(b));
                }
                Kind::Text(_) => {
                    let s = text(f, name, v)?;
                    spec.check_text(f, &s).map_err(core_err)?;
                    vals.insert(name, Value::Text(s));
                }
                // nested objects, bytes and pairs are read by the caller through `raw`
                Kind::Object | Kind::Bytes(_) | Kind::Pairs => {}
            }
        }
        work(&shapes, &vals).map_err(core_err)?;
        for (spec, shape, data) in pending {
            let v = match spec.kind {
                Kind::Mask(_) => Value::Mask(data.mask(f, &spec.name, &shape)?),
                Kind::Bias(_) => {
                    let t = data.floats(f, &spec.name, &shape)?;
                    spec.check_bias_values(f, t.iter().copied())
                        .map_err(core_err)?;
                    Value::Tensor(t)
                }
                _ => Value::Tensor(data.tensor(f, &spec.name, &shape)?),
            };
            vals.insert(spec.name.clone(), v);
        }
        Ok(vals)
    }
}

/// A tensor's data, its length known, not yet copied.
enum Data {
    F32(Float32Array),
    F64(js_sys::Float64Array),
    I32(js_sys::Int32Array),
    U32(js_sys::Uint32Array),
    U8(Uint8Array),
    List(JsValue, u32),
}

impl Data {
    fn read(func: &str, name: &str, v: &JsValue) -> JsResult<Data> {
        if ArrayBuffer::is_view(v) {
            if let Some(a) = v.dyn_ref::<Float32Array>() {
                return Ok(Data::F32(a.clone()));
            }
            if let Some(a) = v.dyn_ref::<js_sys::Float64Array>() {
                return Ok(Data::F64(a.clone()));
            }
            if let Some(a) = v.dyn_ref::<js_sys::Int32Array>() {
                return Ok(Data::I32(a.clone()));
            }
            if let Some(a) = v.dyn_ref::<js_sys::Uint32Array>() {
                return Ok(Data::U32(a.clone()));
            }
            if let Some(a) = v.dyn_ref::<Uint8Array>() {
                return Ok(Data::U8(a.clone()));
            }
        }
        match array_len(func, v, name)? {
            Some(n) => Ok(Data::List(v.clone(), n)),
            None => Err(err(format!(
                "{func}: {name} must be a Float32Array (or an array of numbers), got {}",
                describe(v)
            ))),
        }
    }

    fn len(&self) -> usize {
        (match self {
            Data::F32(a) => a.length(),
            Data::F64(a) => a.length(),
            Data::I32(a) => a.length(),
            Data::U32(a) => a.length(),
            Data::U8(a) => a.length(),
            Data::List(_, n) => *n,
        }) as usize
    }

    fn copy(&self, func: &str, name: &str) -> JsResult<Vec<f32>> {
        if self.len() == 0 {
            // (a detached array has length 0, and copying from it would throw through Rust)
            return Ok(vec![]);
        }
        Ok(match self {
            Data::F32(a) => a.to_vec(),
            Data::F64(a) => a.to_vec().into_iter().map(|x| x as f32).collect(),
            Data::I32(a) => a.to_vec().into_iter().map(|x| x as f32).collect(),
            Data::U32(a) => a.to_vec().into_iter().map(|x| x as f32).collect(),
            Data::U8(a) => a.to_vec().into_iter().map(|x| x as f32).collect(),
            Data::List(v, n) => {
                let mut out = Vec::with_capacity(*n as usize);
                for i in 0..*n {
                    let x = get_index(func, v, i, name)?;
                    out.push(x.as_f64().ok_or_else(|| {
                        err(format!(
                            "{func}: {name}[{i}] is {}, not a number",
                            describe(&x)
                        ))
                    })? as f32);
                }
                out
            }
        })
    }

    fn check_len(&self, func: &str, name: &str, shape: &[usize]) -> JsResult<()> {
        let n = numel(shape);
        if self.len() as u128 != n {
            return Err(err(format!(
                "{func}: {name} has shape {shape:?} ({n} values) but its data holds {}",
                self.len()
            )));
        }
        Ok(())
    }

    /// The values as a tensor of `shape`, any float allowed (the caller checks them).
    fn floats(&self, func: &str, name: &str, shape: &[usize]) -> JsResult<ArrayD<f32>> {
        let values = self.copy(func, name)?;
        if values.len() != numel(shape) as usize {
            // a getter or a transfer changed the data after its length was checked
            return Err(err(format!(
                "{func}: {name} changed while it was being read"
            )));
        }
        Ok(ArrayD::from_shape_vec(IxDyn(shape), values).expect("length checked"))
    }

    /// The values as a tensor of `shape`, every one finite.
    fn tensor(&self, func: &str, name: &str, shape: &[usize]) -> JsResult<ArrayD<f32>> {
        let t = self.floats(func, name, shape)?;
        let values = t.as_slice().expect("standard layout");
        if let Some(i) = values.iter().position(|x| !x.is_finite()) {
            return Err(err(format!(
                "{func}: {name} has a non-finite value ({}) at flat index {i}",
                values[i]
            )));
        }
        Ok(t)
    }

    fn mask(&self, func: &str, name: &str, shape: &[usize]) -> JsResult<ArrayD<bool>> {
        let bools: Vec<bool> = match self {
            _ if self.len() == 0 => vec![],
            Data::U8(a) => a.to_vec().into_iter().map(|b| b != 0).collect(),
            Data::List(v, n) => (0..*n)
                .map(|i| {
                    let x = get_index(func, v, i, name)?;
                    match (x.as_bool(), x.as_f64()) {
                        (Some(b), _) => Ok(b),
                        (_, Some(f)) if f == 0.0 || f == 1.0 => Ok(f == 1.0),
                        _ => Err(err(format!(
                            "{func}: {name}[{i}] is {}; a mask holds true/false or 1/0",
                            describe(&x)
                        ))),
                    }
                })
                .collect::<JsResult<_>>()?,
            _ => {
                return Err(err(format!(
                    "{func}: {name}.data must be a Uint8Array or an array of booleans"
                )))
            }
        };
        if bools.len() != numel(shape) as usize {
            return Err(err(format!(
                "{func}: {name} changed while it was being read"
            )));
        }
        Ok(ArrayD::from_shape_vec(IxDyn(shape), bools).expect("length checked"))
    }
}

/// A tensor's shape (checked against its declaration) and its data (length checked), read once
/// each and nothing copied yet.
fn tensor_parts(func: &str, spec: &ArgSpec, v: &JsValue) -> JsResult<(Vec<usize>, Data)> {
    let name = &spec.name;
    if !v.is_object() {
        return Err(core_err(spec.wrong(func, &describe(v))));
    }
    let shape_v = get(func, v, "shape")?;
    let Some(rank) = array_len(func, &shape_v, &format!("{name}.shape"))? else {
        return Err(err(format!(
            "{func}: {name}.shape must be an array of whole numbers, got {}",
            describe(&shape_v)
        )));
    };
    if rank > 8 {
        return Err(err(format!("{func}: {name}.shape has {rank} dimensions")));
    }
    let mut shape = vec![];
    for i in 0..rank {
        let d = get_index(func, &shape_v, i, "shape")?;
        match d.as_f64() {
            Some(x) if x >= 0.0 && x.fract() == 0.0 && x <= MAX_ELEMENTS as f64 => {
                shape.push(x as usize)
            }
            _ => {
                return Err(err(format!(
                    "{func}: {name}.shape[{i}] is {} where a whole number from 0 to {MAX_ELEMENTS} is needed",
                    describe(&d)
                )))
            }
        }
    }
    spec.check_shape(func, &shape).map_err(core_err)?;
    let data = Data::read(func, &format!("{name}.data"), &get(func, v, "data")?)?;
    if matches!(spec.kind, Kind::Mask(_)) && !matches!(data, Data::U8(_) | Data::List(..)) {
        return Err(err(format!(
            "{func}: {name}.data must be a Uint8Array or an array of booleans"
        )));
    }
    data.check_len(func, name, &shape)?;
    Ok((shape, data))
}
