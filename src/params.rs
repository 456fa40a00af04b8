//! The named parameter store: every weight of a model under its PyTorch `state_dict` name, in
//! PyTorch's layout, with a gradient of the same shape beside it.
//!
//! ```text
//! "layers.0.self_attn.in_proj_weight" → value [3C, C], grad [3C, C]
//! ```
//!
//! Keys iterate in sorted order, so optimisers, checksums and files are deterministic.
//! The store reads and writes two formats:
//! - **safetensors**, exactly what `safetensors.torch.save_file(model.state_dict(), path)` writes:
//!   `u64` little-endian header length N, N bytes of JSON
//!   `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`,
//!   then the raw little-endian data. Read and written with Hugging Face's `safetensors` crate;
//!   F32, F64, F16 and BF16 are read, the store's own type is written, and `__metadata__` (text
//!   keys and values) carries whatever makes a file self-describing (a model's configuration
//!   and vocabulary, see [`crate::seq2seq`]).
//! - **JSON**: `{"format": "lm-playground-params", "version": 1, "params": {"name": {"shape": [..], "data": [..]}}}`.
//!
//! Loading into a model is strict: a missing, unknown or mis-shaped key is an error that names
//! the key and both shapes.

use crate::error::{Error, Result};
use crate::real::Real;
use ndarray::{ArrayD, ArrayView1, ArrayView2, IxDyn};
use safetensors::{Dtype, SafeTensorError, SafeTensors, View};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// One parameter tensor and its gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct Param<F> {
    /// The value, in PyTorch's layout.
    pub value: ArrayD<F>,
    /// ∂L/∂value, same shape; accumulated by backward, cleared by [`ParamStore::zero_grad`].
    pub grad: ArrayD<F>,
}

/// Gradients produced by a layer's backward, keyed by full parameter name.
pub type NamedGrads<F> = Vec<(String, ArrayD<F>)>;

/// Parameters keyed by name, iterated in sorted order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamStore<F> {
    params: BTreeMap<String, Param<F>>,
}

/// A [`Metadata`] of `pairs`: `Metadata::from(pairs)`, but inserted one by one (`from` sorts the
/// array first, one more copy of the standard sort in the wasm module for this type).
pub fn metadata<const N: usize>(pairs: [(String, String); N]) -> Metadata {
    let mut m = Metadata::new();
    m.extend(pairs);
    m
}

/// A tensor read from a file before it is checked against a model: name → (shape, values).
pub type TensorMap = BTreeMap<String, (Vec<usize>, Vec<f64>)>;

impl<F: Real> ParamStore<F> {
    /// An empty store.
    pub fn new() -> Self {
        ParamStore {
            params: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) `name` with `value` and a zero gradient.
    pub fn insert(&mut self, name: impl Into<String>, value: ArrayD<F>) {
        let grad = ArrayD::zeros(value.raw_dim());
        self.params.insert(name.into(), Param { value, grad });
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True when there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Total number of scalar parameters.
    pub fn numel(&self) -> usize {
        self.params.values().map(|p| p.value.len()).sum()
    }

    /// Names in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(|s| s.as_str())
    }

    /// (name, param) pairs in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Param<F>)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Mutable (name, param) pairs in sorted order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Param<F>)> {
        self.params.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// The parameter `name`, or an error naming it.
    pub fn param(&self, name: &str) -> Result<&Param<F>> {
        self.params
            .get(name)
            .ok_or_else(|| Error::param(format!("no parameter named {name:?}")))
    }

    /// The parameter `name`, mutably.
    pub fn param_mut(&mut self, name: &str) -> Result<&mut Param<F>> {
        self.params
            .get_mut(name)
            .ok_or_else(|| Error::param(format!("no parameter named {name:?}")))
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Result<&ArrayD<F>> {
        Ok(&self.param(name)?.value)
    }

    /// The value of `name` as a vector; an error if it is not 1-D.
    pub fn get1(&self, name: &str) -> Result<ArrayView1<'_, F>> {
        let v = self.get(name)?;
        v.view().into_dimensionality().map_err(|_| {
            Error::param(format!(
                "parameter {name:?} has shape {:?}, expected 1-D",
                v.shape()
            ))
        })
    }

    /// The value of `name` as a matrix; an error if it is not 2-D.
    pub fn get2(&self, name: &str) -> Result<ArrayView2<'_, F>> {
        let v = self.get(name)?;
        v.view().into_dimensionality().map_err(|_| {
            Error::param(format!(
                "parameter {name:?} has shape {:?}, expected 2-D",
                v.shape()
            ))
        })
    }

    /// The gradient of `name`.
    pub fn grad(&self, name: &str) -> Result<&ArrayD<F>> {
        Ok(&self.param(name)?.grad)
    }

    /// `grad[name] += g`.
    pub fn accumulate(&mut self, name: &str, g: &ArrayD<F>) -> Result<()> {
        let p = self.param_mut(name)?;
        if p.grad.shape() != g.shape() {
            return Err(Error::shape(format!(
                "gradient of {name:?} has shape {:?}, parameter has {:?}",
                g.shape(),
                p.grad.shape()
            )));
        }
        crate::flat::add_assign(&mut p.grad, g);
        Ok(())
    }

    /// Adds every named gradient into the store.
    pub fn accumulate_all(&mut self, grads: NamedGrads<F>) -> Result<()> {
        for (name, g) in grads {
            self.accumulate(&name, &g)?;
        }
        Ok(())
    }

    /// Sets every gradient to zero.
    pub fn zero_grad(&mut self) {
        for p in self.params.values_mut() {
            p.grad.fill(F::zero());
        }
    }

    /// √(Σ over all gradients of g²), as `torch.nn.utils.clip_grad_norm_` computes it.
    pub fn grad_norm(&self) -> f64 {
        self.params
            .values()
            .flat_map(|p| p.grad.iter())
            .map(|g| g.f64() * g.f64())
            .sum::<f64>()
            .sqrt()
    }

    /// The values as a [`TensorMap`] (f64, for comparison and export).
    pub fn to_map(&self) -> TensorMap {
        self.params
            .iter()
            .map(|(k, p)| {
                (
                    k.clone(),
                    (
                        p.value.shape().to_vec(),
                        p.value.iter().map(|x| x.f64()).collect(),
                    ),
                )
            })
            .collect()
    }

    /// Replaces every value with the tensor of the same name in `map`, strictly: every key of
    /// the store must be in `map` with the same shape, and `map` may hold no other key.
    /// On error the store is unchanged. Gradients are cleared.
    pub fn load_map(&mut self, map: &TensorMap) -> Result<()> {
        for (name, p) in &self.params {
            match map.get(name) {
                None => return Err(Error::param(format!("missing parameter {name:?} (the model expects shape {:?})", p.value.shape()))),
                Some((shape, _)) if shape.as_slice() != p.value.shape() => {
                    return Err(Error::param(format!("parameter {name:?} has shape {shape:?} in the file but the model expects {:?}", p.value.shape())))
                }
                Some((_, data)) => {
                    if let Some(i) = data.iter().position(|x| !x.is_finite()) {
                        return Err(Error::value(format!("parameter {name:?} has a non-finite value at flat index {i}")));
                    }
                }
            }
        }
        if let Some((name, (shape, _))) = map.iter().find(|(k, _)| !self.params.contains_key(*k)) {
            return Err(Error::param(format!(
                "unknown parameter {name:?} with shape {shape:?}: the model has no such key"
            )));
        }
        for (name, p) in self.params.iter_mut() {
            let (shape, data) = &map[name];
            p.value =
                ArrayD::from_shape_vec(IxDyn(shape), data.iter().map(|&x| F::of(x)).collect())
                    .expect("shape checked");
            p.grad.fill(F::zero());
        }
        Ok(())
    }

    /// The store as safetensors bytes, in the store's own dtype, with `__metadata__`
    /// `{"format": "pt", "writer": "lm-playground"}` (what `safetensors.torch.save_file` writes).
    pub fn to_safetensors(&self) -> Vec<u8> {
        self.to_safetensors_with(&Metadata::new())
    }

    /// The store as safetensors bytes with `metadata` added to the file's `__metadata__` (beside
    /// `format` and `writer`, which it may override), written by Hugging Face's `safetensors`
    /// crate: tensors in sorted-name order, the data 8-byte aligned. The same store and metadata
    /// always give the same bytes.
    pub fn to_safetensors_with(&self, metadata: &Metadata) -> Vec<u8> {
        let dtype = match F::DTYPE {
            "F32" => Dtype::F32,
            _ => Dtype::F64,
        };
        let tensors = self.params.iter().map(|(name, p)| {
            let mut data = Vec::with_capacity(p.value.len() * std::mem::size_of::<F>());
            for x in p.value.iter() {
                match dtype {
                    Dtype::F32 => data.extend_from_slice(&(x.f64() as f32).to_le_bytes()),
                    _ => data.extend_from_slice(&x.f64().to_le_bytes()),
                }
            }
            let shape = p.value.shape().to_vec();
            (name.as_str(), RawTensor { dtype, shape, data })
        });
        let mut info = self::metadata([
            ("format".to_string(), "pt".to_string()),
            ("writer".to_string(), "lm-playground".to_string()),
        ]);
        info.extend(metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut bytes = safetensors::serialize(tensors, Some(info.into_iter().collect()))
            .expect("a store's tensors always have consistent shapes and sizes");
        sort_header(&mut bytes);
        bytes
    }

    /// Loads safetensors bytes strictly (see [`ParamStore::load_map`]).
    pub fn load_safetensors(&mut self, bytes: &[u8]) -> Result<()> {
        self.load_map(&read_safetensors(bytes)?)
    }

    /// The store as the JSON format described in the module header.
    pub fn to_json(&self) -> String {
        let params: BTreeMap<&str, JsonTensor> = self
            .params
            .iter()
            .map(|(k, p)| {
                (
                    k.as_str(),
                    JsonTensor {
                        shape: p.value.shape().to_vec(),
                        data: p.value.iter().map(|x| x.f64()).collect(),
                    },
                )
            })
            .collect();
        serde_json::to_string(
            &serde_json::json!({"format": JSON_FORMAT, "version": 1, "params": params}),
        )
        .expect("json")
    }

    /// Loads the JSON format strictly (see [`ParamStore::load_map`]).
    pub fn load_json(&mut self, text: &str) -> Result<()> {
        self.load_map(&read_json(text)?)
    }
}

const JSON_FORMAT: &str = "lm-playground-params";

#[derive(Serialize, Deserialize)]
struct JsonTensor {
    shape: Vec<usize>,
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct JsonFile {
    format: String,
    version: u32,
    params: BTreeMap<String, JsonTensor>,
}

/// Parses the JSON parameter format into a [`TensorMap`], checking each tensor's length.
pub fn read_json(text: &str) -> Result<TensorMap> {
    let f: JsonFile =
        serde_json::from_str(text).map_err(|e| Error::format(format!("parameter JSON: {e}")))?;
    if f.format != JSON_FORMAT || f.version != 1 {
        return Err(Error::format(format!(
            "parameter JSON: format {:?} version {} is not {JSON_FORMAT:?} version 1",
            f.format, f.version
        )));
    }
    let mut out = TensorMap::new();
    for (name, t) in f.params {
        let n: usize = t.shape.iter().product();
        if n != t.data.len() {
            return Err(Error::format(format!(
                "parameter JSON: {name:?} has shape {:?} ({n} values) but {} values",
                t.shape,
                t.data.len()
            )));
        }
        out.insert(name, (t.shape, t.data));
    }
    Ok(out)
}

/// A safetensors file's `__metadata__`: free-form text keys and values.
pub type Metadata = BTreeMap<String, String>;

/// One tensor's bytes as the `safetensors` crate writes them.
struct RawTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for RawTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Puts the header's keys in sorted order, in place. The crate keeps `__metadata__` in a
/// `HashMap`, whose order changes from run to run; sorted, the same store and metadata always
/// give the same bytes (a recipe's output can be compared byte for byte). Only the order
/// changes, so the header keeps its length and the data its offsets.
fn sort_header(bytes: &mut [u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = &mut bytes[8..8 + n];
    let mut parsed: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).expect("the crate wrote JSON");
    if let Some(m) = parsed.get_mut("__metadata__") {
        let sorted: BTreeMap<String, serde_json::Value> =
            serde_json::from_value(m.take()).expect("metadata is an object");
        *m = serde_json::to_value(sorted).expect("json");
    }
    let mut sorted = serde_json::to_vec(&parsed).expect("json");
    assert!(sorted.len() <= n, "sorting keys keeps the header's length");
    sorted.resize(n, b' ');
    header.copy_from_slice(&sorted);
}

/// Parses safetensors bytes into a [`TensorMap`] (see [`read_safetensors_with_metadata`]).
pub fn read_safetensors(bytes: &[u8]) -> Result<TensorMap> {
    Ok(read_safetensors_with_metadata(bytes)?.0)
}

/// Parses safetensors bytes into a [`TensorMap`] and the file's `__metadata__` (empty when it
/// has none), with Hugging Face's `safetensors` crate. Every offset and size is checked, so
/// truncated or hostile files give an error naming the problem (and the tensor, when one is at
/// fault), never a panic: the tensors' byte ranges must follow each other from 0 to the end of
/// the file, each exactly `count × width` long. F32, F64, F16 and BF16 are read.
pub fn read_safetensors_with_metadata(bytes: &[u8]) -> Result<(TensorMap, Metadata)> {
    let fail = |m: String| Error::format(format!("safetensors: {m}"));
    let (n, header) = SafeTensors::read_metadata(bytes).map_err(|e| fail(explain(bytes, e)))?;
    let data = &bytes[8 + n..];
    let mut out = TensorMap::new();
    for (name, info) in header.tensors() {
        let (begin, end) = info.data_offsets;
        let raw = &data[begin..end];
        let values: Vec<f64> = match info.dtype {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4")) as f64)
                .collect(),
            Dtype::F64 => raw
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8")))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|c| f16_to_f64(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16) as f64)
                .collect(),
            other => {
                return Err(fail(format!(
                    "entry {name:?} has dtype {other:?}; only F32, F64, F16 and BF16 are read"
                )))
            }
        };
        out.insert(name, (info.shape.clone(), values));
    }
    // (extend, not collect: collecting into a BTreeMap sorts first, in one more copy of the sort)
    let mut metadata = Metadata::new();
    metadata.extend(
        header
            .metadata()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    Ok((out, metadata))
}

/// What is wrong with a file the `safetensors` crate refused, in words that name the tensor
/// at fault where there is one (the crate's own messages often do not).
fn explain(bytes: &[u8], e: SafeTensorError) -> String {
    use SafeTensorError as E;
    let len = bytes.len();
    if len < 8 {
        return format!("{len} bytes is too short for the 8-byte header length");
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    match e {
        E::HeaderTooSmall | E::HeaderTooLarge | E::InvalidHeaderLength => {
            format!("header length {n} does not fit in {len} bytes")
        }
        E::InvalidHeader(e) => format!("header is not UTF-8 text: {e}"),
        other => {
            let header = &bytes[8..8 + n as usize];
            let data_len = len - 8 - n as usize;
            diagnose(header, data_len).unwrap_or_else(|| match other {
                E::InvalidHeaderDeserialization(e) => {
                    format!("header is not a JSON object of tensor entries: {e}")
                }
                E::InvalidOffset(name) => format!(
                    "entry {name:?}: its offsets do not start where the previous tensor ends (the tensors' bytes must follow each other, with no gap or overlap)"
                ),
                E::MetadataIncompleteBuffer => format!(
                    "the tensors' offsets do not cover the {data_len} data bytes exactly"
                ),
                other => other.to_string(),
            })
        }
    }
}

#[derive(Deserialize)]
struct StEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// The first entry of `header` that cannot be right, in the order the file lists them: not an
/// entry at all, a dtype that is not read, a shape that overflows, or offsets that do not hold
/// exactly its values inside `data_len` bytes. `None` when each entry is fine on its own.
fn diagnose(header: &[u8], data_len: usize) -> Option<String> {
    let raw: BTreeMap<String, serde_json::Value> = match serde_json::from_slice(header) {
        Ok(raw) => raw,
        Err(e) => return Some(format!("header is not a JSON object: {e}")),
    };
    for (name, v) in raw {
        if name == "__metadata__" {
            continue;
        }
        let e: StEntry = match serde_json::from_value(v) {
            Ok(e) => e,
            Err(e) => return Some(format!("entry {name:?}: {e}")),
        };
        let width = match e.dtype.as_str() {
            "F32" => 4,
            "F64" => 8,
            "F16" | "BF16" => 2,
            other => {
                return Some(format!(
                    "entry {name:?} has dtype {other}; only F32, F64, F16 and BF16 are read"
                ))
            }
        };
        let Some(count) = e.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) else {
            return Some(format!("entry {name:?}: shape {:?} overflows", e.shape));
        };
        let [begin, end] = e.data_offsets;
        if begin > end || end > data_len || count.checked_mul(width) != Some(end - begin) {
            return Some(format!(
                "entry {name:?}: offsets [{begin}, {end}] do not hold {count} values of {} in {data_len} data bytes",
                e.dtype
            ));
        }
    }
    None
}

/// IEEE half precision to f64: sign, 5-bit exponent (bias 15), 10-bit mantissa.
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let man = (h & 0x3ff) as f64;
    sign * match exp {
        0 => man * 2f64.powi(-24),
        31 => {
            if man == 0.0 {
                f64::INFINITY
            } else {
                f64::NAN
            }
        }
        e => (1.0 + man / 1024.0) * 2f64.powi(e - 15),
    }
}

mod flat;
#[cfg(test)]
mod tests;
