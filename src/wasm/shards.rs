//! Training steps cut into shards, for the page's training workers ([`crate::shards`]):
//!
//! ```text
//! coordinator                         replica (another worker, same spec)
//! batch = beginStep()      ── weightsFlat(), batch ──▶  setWeightsFlat(w)
//! computePart(0) … computePart(j−1)                     stepPart(batch, k) → {loss, grad}
//! addPart(k, loss, grad)   ◀── parts j … S−1, in order ──
//! loss = finishStep()
//! ```
//!
//! Every member is declared once for the classes that train this way (`Model`, `Seq2Seq`)
//! by [`sharded_class!`].

use super::convert::{err, floats, int, number, numbers, object, JsResult};
use super::session::Live;
use crate::shards::{Sharded, MAX_SHARDS};
use js_sys::{Float32Array, Uint32Array};
use wasm_bindgen::prelude::*;

/// Most rows a batch given to `stepPart` may name.
pub const MAX_BATCH_ROWS: usize = 4096;

/// A batch from JS: row numbers (non-negative integers), 1 to [`MAX_BATCH_ROWS`] of them.
fn batch_arg(func: &str, v: &JsValue) -> JsResult<Vec<usize>> {
    let xs = numbers(func, "batch", v, MAX_BATCH_ROWS)?;
    xs.iter()
        .enumerate()
        .map(|(i, &x)| {
            if x.fract() == 0.0 && (0.0..4_294_967_296.0).contains(&x) {
                Ok(x as usize)
            } else {
                Err(err(format!(
                    "{func}: batch[{i}] is {x}, not a row number (an integer from 0)"
                )))
            }
        })
        .collect()
}

fn shard_arg(func: &str, v: &JsValue) -> JsResult<usize> {
    Ok(int(func, "shard", v, 0, MAX_SHARDS as i64 - 1)? as usize)
}

impl<T: Sharded> Live<T> {
    /// `shards`: how many parts a step has.
    pub fn shards(&self) -> JsResult<u32> {
        self.with("shards", |s| Ok(s.shards() as u32))
    }

    /// `beginStep()`: draws the next batch and starts a step on it; the batch's row numbers.
    pub fn begin_step(&self) -> JsResult<Uint32Array> {
        let b = self.with("beginStep", |s| s.begin_step())?;
        let b: Vec<u32> = b.into_iter().map(|x| x as u32).collect();
        Ok(Uint32Array::from(b.as_slice()))
    }

    /// `stepPart(batch, shard)`: part `shard` of a step on `batch` with the current weights,
    /// `{loss, grad}`.
    pub fn step_part(&self, batch: &JsValue, shard: &JsValue) -> JsResult<JsValue> {
        let f = "stepPart";
        let batch = batch_arg(f, batch)?;
        let k = shard_arg(f, shard)?;
        let p = self.with(f, |s| s.part(&batch, k))?;
        Ok(object(&[
            ("loss", JsValue::from_f64(p.loss as f64)),
            ("grad", Float32Array::from(p.grad.as_slice()).into()),
        ]))
    }

    /// `computePart(shard)`: computes part `shard` of the step under way here and adds it.
    pub fn compute_part(&self, shard: &JsValue) -> JsResult<()> {
        let k = shard_arg("computePart", shard)?;
        self.with("computePart", |s| s.compute_part(k))
    }

    /// `addPart(shard, loss, grad)`: adds a part computed elsewhere (parts in shard order).
    pub fn add_part(&self, shard: &JsValue, loss: &JsValue, grad: &JsValue) -> JsResult<()> {
        let f = "addPart";
        let k = shard_arg(f, shard)?;
        let loss = number(f, "loss", loss)? as f32;
        let grad = floats(f, "grad", grad)?;
        self.with(f, |s| s.add_part(k, loss, &grad))
    }

    /// `finishStep()`: sums the parts, updates the weights; the batch's loss.
    pub fn finish_step(&self) -> JsResult<f32> {
        self.with("finishStep", |s| s.finish_step())
    }

    /// `weightsFlat()`: every weight, parameter after parameter in sorted order.
    pub fn weights_flat(&self) -> JsResult<Float32Array> {
        let w = self.with("weightsFlat", |s| Ok(s.params().values_flat()))?;
        Ok(Float32Array::from(w.as_slice()))
    }

    /// `setWeightsFlat(weights)`: sets every weight from `weightsFlat`'s layout.
    pub fn set_weights_flat(&self, weights: &JsValue) -> JsResult<()> {
        let f = "setWeightsFlat";
        let w = floats(f, "weights", weights)?;
        self.with(f, |s| s.params_mut().set_values_flat(&w))
    }
}

/// Declares the sharded-step members (see the module header) on `$class`, whose field `$field`
/// is a `Live` of a [`Sharded`] session.
macro_rules! sharded_class {
    ($class:ident, $field:ident) => {
        #[wasm_bindgen::prelude::wasm_bindgen]
        impl $class {
            /// How many parts (shards) a training step has: fixed by the spec's `shards`, not
            /// by how many workers compute them.
            #[wasm_bindgen(getter)]
            pub fn shards(&self) -> $crate::wasm::convert::JsResult<u32> {
                self.$field.shards()
            }

            /// Draws the next batch and starts a step on it: the batch's row numbers (for
            /// `stepPart` in other workers).
            #[wasm_bindgen(js_name = beginStep)]
            pub fn begin_step(&self) -> $crate::wasm::convert::JsResult<js_sys::Uint32Array> {
                self.$field.begin_step()
            }

            /// Part `shard` of a step on `batch` (from `beginStep`), computed with this model's
            /// weights: `{loss, grad: Float32Array}` for the coordinator's `addPart`.
            #[wasm_bindgen(js_name = stepPart)]
            pub fn step_part(
                &self,
                batch: wasm_bindgen::JsValue,
                shard: wasm_bindgen::JsValue,
            ) -> $crate::wasm::convert::JsResult<wasm_bindgen::JsValue> {
                self.$field.step_part(&batch, &shard)
            }

            /// Computes part `shard` of the step under way here and adds it (parts are added
            /// in shard order).
            #[wasm_bindgen(js_name = computePart)]
            pub fn compute_part(
                &self,
                shard: wasm_bindgen::JsValue,
            ) -> $crate::wasm::convert::JsResult<()> {
                self.$field.compute_part(&shard)
            }

            /// Adds part `shard` computed by another worker (`stepPart`'s `loss` and `grad`).
            #[wasm_bindgen(js_name = addPart)]
            pub fn add_part(
                &self,
                shard: wasm_bindgen::JsValue,
                loss: wasm_bindgen::JsValue,
                grad: wasm_bindgen::JsValue,
            ) -> $crate::wasm::convert::JsResult<()> {
                self.$field.add_part(&shard, &loss, &grad)
            }

            /// Ends the step under way once every part is in: the weights are updated; returns
            /// the batch's loss.
            #[wasm_bindgen(js_name = finishStep)]
            pub fn finish_step(&self) -> $crate::wasm::convert::JsResult<f32> {
                self.$field.finish_step()
            }

            /// Every weight as one `Float32Array` (parameters in sorted order), for a replica's
            /// `setWeightsFlat`.
            #[wasm_bindgen(js_name = weightsFlat)]
            pub fn weights_flat(&self) -> $crate::wasm::convert::JsResult<js_sys::Float32Array> {
                self.$field.weights_flat()
            }

            /// Sets every weight from `weightsFlat`'s layout (exactly as many values).
            #[wasm_bindgen(js_name = setWeightsFlat)]
            pub fn set_weights_flat(
                &self,
                weights: wasm_bindgen::JsValue,
            ) -> $crate::wasm::convert::JsResult<()> {
                self.$field.set_weights_flat(&weights)
            }
        }
    };
}
pub(crate) use sharded_class;
