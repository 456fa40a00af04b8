//! The life cycle every live model class shares (`Model`, `Seq2Seq`, and the classes to
//! come): its state in a [`Live`] cell, borrowed only after the arguments are converted;
//! training in slices of at most `maxStepsPerCall` steps; its losses, step count and seed; its
//! weights as safetensors; and the parts of a trace that look the same in every class.
//!
//! A class is a `#[wasm_bindgen]` struct holding a `Live<S>` for a core session `S` that
//! implements [`Session`]; its shared methods are one line each (wasm-bindgen exports no
//! generic types, so each class lists them).

use super::convert::{core_err, err, int, object, tensor_to_js, JsResult};
use crate::layers::encoder_layer::EncoderLayerCache;
use crate::ops::registry::heads_out;
use js_sys::{Array, Float32Array, Uint8Array};
use ndarray::Array2;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

/// Largest corpus (or parallel corpus) accepted, in characters.
pub const MAX_CORPUS_CHARS: usize = 1_000_000;
/// Largest safetensors file accepted by `loadWeights` / `fromSafetensors`: 64 MiB.
pub const MAX_WEIGHTS_BYTES: usize = 64 << 20;

/// A core training session as the API drives it.
pub trait Session {
    /// Most steps one `train` call runs (within the work limit of one call).
    fn max_steps_per_call(&self) -> usize;
    /// `n` training steps; their losses.
    fn train(&mut self, n: usize) -> crate::Result<Vec<f32>>;
    /// Every loss so far.
    fn losses(&self) -> &[f32];
    /// The seed its weights and batches come from.
    fn seed(&self) -> u64;
    /// Its weights as safetensors (with whatever metadata makes the file loadable).
    fn weights(&self) -> Vec<u8>;
}

/// A session behind a `RefCell`, borrowed for the core call only.
pub struct Live<T> {
    cell: RefCell<T>,
}

impl<T> Live<T> {
    /// Wraps a session.
    pub fn new(t: T) -> Self {
        Live {
            cell: RefCell::new(t),
        }
    }

    /// Runs `f` on the session, borrowed now that the arguments are converted; a core error
    /// gets `func` as its context.
    pub fn with<R>(&self, func: &str, f: impl FnOnce(&mut T) -> crate::Result<R>) -> JsResult<R> {
        let mut s = self.cell.try_borrow_mut().map_err(|_| {
            err(format!(
                "{func}: the model is busy (called again from inside one of its own calls)"
            ))
        })?;
        f(&mut s).map_err(|e| core_err(e.context(func)))
    }
}

impl<T: Session> Live<T> {
    /// `train(n)`: `n` steps, at most `maxStepsPerCall` (call it in slices); their losses.
    pub fn train(&self, n: &JsValue) -> JsResult<Float32Array> {
        // (compared as u64: on wasm32 a cast to usize would wrap 2³² + 3 to 3)
        let n = int("train", "n", n, 0, (1 << 53) - 1)? as u64;
        let max = self.with("train", |s| Ok(s.max_steps_per_call()))?;
        if n > max as u64 {
            return Err(err(format!(
                "train: {n} steps in one call is more than {max} for this model; call it in slices"
            )));
        }
        let losses = self.with("train", |s| s.train(n as usize))?;
        Ok(Float32Array::from(losses.as_slice()))
    }

    /// The `maxStepsPerCall` getter.
    pub fn max_steps_per_call(&self) -> JsResult<u32> {
        self.with("maxStepsPerCall", |s| Ok(s.max_steps_per_call() as u32))
    }

    /// The `step` getter: steps taken.
    pub fn step(&self) -> JsResult<u32> {
        self.with("step", |s| Ok(s.losses().len() as u32))
    }

    /// `losses()`: every loss so far.
    pub fn losses(&self) -> JsResult<Float32Array> {
        self.with("losses", |s| Ok(Float32Array::from(s.losses())))
    }

    /// The `seed` getter.
    pub fn seed(&self) -> JsResult<f64> {
        self.with("seed", |s| Ok(s.seed() as f64))
    }

    /// `saveWeights()`: safetensors bytes.
    pub fn save_weights(&self) -> JsResult<Uint8Array> {
        let b = self.with("saveWeights", |s| Ok(s.weights()))?;
        Ok(Uint8Array::from(b.as_slice()))
    }
}

/// `[{token, id, prob}]` from `(piece, id, probability)`.
pub fn top_k_js(list: Vec<(String, usize, f32)>) -> JsValue {
    let arr = Array::new();
    for (token, id, prob) in list {
        arr.push(&object(&[
            ("token", JsValue::from_str(&token)),
            ("id", JsValue::from(id as u32)),
            ("prob", JsValue::from(prob)),
        ]));
    }
    arr.into()
}

/// Token ids as an array of numbers.
pub fn ids_js(ids: &[usize]) -> JsValue {
    let arr = Array::new();
    for &i in ids {
        arr.push(&JsValue::from(i as u32));
    }
    arr.into()
}

/// A stack of encoder layers (batch of one) as the traces show it: per layer `{input [T, C],
/// attention: {q, k, v, scores, weights [1, H, T, T], concat}, afterAttention [T, C], output
/// [T, C]}`, the first input being `embeddings`.
pub fn encoder_layers_js(embeddings: Array2<f32>, layers: &[EncoderLayerCache<f32>]) -> JsValue {
    let arr = Array::new();
    let mut input = embeddings;
    for l in layers {
        let out = l.output().clone();
        arr.push(&object(&[
            ("input", tensor_to_js(&input)),
            (
                "attention",
                super::convert::out_to_js(heads_out(l.attention())),
            ),
            ("afterAttention", tensor_to_js(&l.attn.output)),
            ("output", tensor_to_js(&out)),
        ]));
        input = out;
    }
    arr.into()
}
