//! The life cycle every live model class shares (`Model`, `Seq2Seq`, `MaskedLM`, `CausalLM`):
//! its state in a [`Live`] cell, borrowed only after the arguments are converted; training in
//! slices of at most `maxStepsPerCall` steps; its losses, step count and seed; its weights as
//! safetensors; and the parts of a trace that look the same in every class.
//!
//! A class is a `#[wasm_bindgen]` struct holding a `Live<S>` for a core session `S` that
//! implements [`Session`]. The classes trained on pairs (`Seq2Seq`, `MaskedLM`, `CausalLM`,
//! whose sessions implement [`PairSession`]) are declared with [`pair_class!`], which writes
//! their struct and every member they share — `fromSafetensors`, `fromRecipe`, `trainStep`,
//! `train`, `losses`, `step`, `seed`, `maxStepsPerCall`, `pairCount`, `saveWeights`, `config`
//! — once for all three (wasm-bindgen exports no generic types). Each class file adds its
//! constructor and what only it does.

use super::convert::{
    self, bytes, core_err, err, int, object, string_array, tensor_to_js, JsResult, Obj,
};
use super::spec::{as_refs, options_from, pairs_arg, pairs_from, training_args};
use crate::layers::encoder_layer::EncoderLayerCache;
use crate::ops::registry::heads_out;
use crate::recipes::Recipe;
use crate::session::{JoinedTokenizer, SessionOptions};
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

/// A core session trained on pairs (encoder–decoder, encoder-only, decoder-only), as the pair
/// classes drive it.
pub trait PairSession: Session + Sized {
    /// Its sizes, which `config()` returns.
    type Config: serde::Serialize + Copy;
    /// Its sizes.
    fn config(&self) -> Self::Config;
    /// One training step on a batch drawn at random; its loss.
    fn train_step(&mut self) -> crate::Result<f32>;
    /// How many training pairs it has.
    fn pair_count(&self) -> usize;
    /// Replaces the training pairs.
    fn set_pairs(&mut self, pairs: &[(&str, &str)]) -> crate::Result<()>;
    /// A session read from a file its family wrote (sizes and vocabulary from the metadata).
    fn from_file(bytes: &[u8], options: SessionOptions) -> crate::Result<Self>;
    /// The session a recipe made, if it is of this family.
    fn from_session(s: crate::session::Session) -> crate::Result<Self>;
}

/// Implements [`Session`] and [`PairSession`] for a core session whose inherent methods have
/// the trait's names (`max_steps_per_call`, `train`, `train_step`, `set_pairs`,
/// `from_safetensors`, …), given how its pairs are counted and how a recipe's session becomes
/// it.
macro_rules! pair_session {
    ($core:ty, $config:ty, $count:ident, $into:ident) => {
        impl $crate::wasm::session::Session for $core {
            fn max_steps_per_call(&self) -> usize {
                <$core>::max_steps_per_call(self)
            }
            fn train(&mut self, n: usize) -> $crate::Result<Vec<f32>> {
                <$core>::train(self, n)
            }
            fn losses(&self) -> &[f32] {
                &self.losses
            }
            fn seed(&self) -> u64 {
                self.options().seed
            }
            fn weights(&self) -> Vec<u8> {
                self.to_safetensors(&$crate::params::Metadata::new())
            }
        }
        impl $crate::wasm::session::PairSession for $core {
            type Config = $config;
            fn config(&self) -> $config {
                self.model.config
            }
            fn train_step(&mut self) -> $crate::Result<f32> {
                <$core>::train_step(self)
            }
            fn pair_count(&self) -> usize {
                self.$count()
            }
            fn set_pairs(&mut self, pairs: &[(&str, &str)]) -> $crate::Result<()> {
                <$core>::set_pairs(self, pairs)
            }
            fn from_file(
                bytes: &[u8],
                options: $crate::session::SessionOptions,
            ) -> $crate::Result<Self> {
                <$core>::from_safetensors(bytes, options)
            }
            fn from_session(s: $crate::session::Session) -> $crate::Result<Self> {
                s.$into()
            }
        }
    };
}
pub(crate) use pair_session;

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

/// `Class.fromSafetensors(bytes, options)` of a pair class: a session read from `bytes` (at
/// most [`MAX_WEIGHTS_BYTES`]), trained with `options` `{pairs, seed, batchSize, optimizer,
/// clip}`; without `pairs` it has nothing to train on (it still answers).
pub fn load<T: PairSession>(f: &str, bytes_v: &JsValue, options: &JsValue) -> JsResult<T> {
    let b = bytes(f, "bytes", bytes_v, MAX_WEIGHTS_BYTES)?;
    let mut specs = vec![pairs_arg(false)];
    specs.extend(training_args());
    let obj = Obj::read(f, options, &specs)?;
    let a = obj.convert(&specs, |_, _| Ok(()))?;
    let pairs = pairs_from(f, &obj)?;
    let options = options_from(f, &obj, &a)?;
    let ctx = |x: crate::Error| core_err(x.context(f));
    let mut s = T::from_file(&b, options).map_err(|e| ctx(e.unreadable_file()))?;
    if let Some(p) = pairs {
        s.set_pairs(&as_refs(&p)).map_err(ctx)?;
    }
    Ok(s)
}

/// `Class.fromRecipe(name, {seed})` of a pair class: the untrained session of a recipe of its
/// family (another family's recipe is refused, naming both families).
pub fn from_recipe<T: PairSession>(f: &str, name: &JsValue, options: &JsValue) -> JsResult<T> {
    let name = convert::text(f, "name", name)?;
    let specs = [training_args().remove(0)];
    let a = Obj::read(f, options, &specs)?.convert(&specs, |_, _| Ok(()))?;
    let ctx = |x: crate::Error| core_err(x.context(f));
    let mut r = Recipe::by_name(&name).map_err(ctx)?;
    if a.has("seed") {
        r = r.with_seed(a.int_or("seed", 0).map_err(ctx)? as u64);
    }
    r.session().and_then(T::from_session).map_err(ctx)
}

impl<T: PairSession> Live<T> {
    /// `trainStep()`: one step on a batch drawn at random; its loss.
    pub fn train_step(&self) -> JsResult<f32> {
        self.with("trainStep", |s| s.train_step())
    }

    /// The `pairCount` getter.
    pub fn pair_count(&self) -> JsResult<u32> {
        self.with("pairCount", |s| Ok(s.pair_count() as u32))
    }
}

/// Declares a pair class: the `#[wasm_bindgen]` struct `$class` around a `Live<$core>`, and the
/// members every pair class shares. `$js` is the class's name in messages.
macro_rules! pair_class {
    ($(#[$doc:meta])* $class:ident, $core:ty, $js:literal) => {
        $(#[$doc])*
        #[wasm_bindgen::prelude::wasm_bindgen]
        pub struct $class {
            config: <$core as $crate::wasm::session::PairSession>::Config,
            s: $crate::wasm::session::Live<$core>,
        }

        impl $class {
            fn wrap(s: $core) -> $class {
                $class {
                    config: $crate::wasm::session::PairSession::config(&s),
                    s: $crate::wasm::session::Live::new(s),
                }
            }
        }

        #[wasm_bindgen::prelude::wasm_bindgen]
        impl $class {
            /// A model from a file `saveWeights` or `cargo xtask pretrain` wrote: its sizes and
            /// vocabulary come from the file's metadata. `options`: `{pairs, seed, batchSize,
            /// optimizer, clip}`; without `pairs` it has nothing to train on (it still answers).
            #[wasm_bindgen(js_name = fromSafetensors)]
            pub fn from_safetensors(
                bytes: wasm_bindgen::JsValue,
                options: wasm_bindgen::JsValue,
            ) -> $crate::wasm::convert::JsResult<$class> {
                let f = concat!($js, ".fromSafetensors");
                Ok($class::wrap($crate::wasm::session::load(f, &bytes, &options)?))
            }

            /// The untrained model of a recipe of this family (see `recipe(name)`): its corpus,
            /// sizes, optimiser and learning-rate schedule, from its seed or `options.seed`.
            /// Training it for `recipe(name).steps` steps is what `cargo xtask pretrain` does.
            #[wasm_bindgen(js_name = fromRecipe)]
            pub fn from_recipe(
                name: wasm_bindgen::JsValue,
                options: wasm_bindgen::JsValue,
            ) -> $crate::wasm::convert::JsResult<$class> {
                let f = concat!($js, ".fromRecipe");
                Ok($class::wrap($crate::wasm::session::from_recipe(f, &name, &options)?))
            }

            /// One training step on `batchSize` pairs drawn at random; returns the loss.
            #[wasm_bindgen(js_name = trainStep)]
            pub fn train_step(&self) -> $crate::wasm::convert::JsResult<f32> {
                self.s.train_step()
            }

            /// `n` training steps (at most `maxStepsPerCall`); their losses.
            pub fn train(
                &self,
                n: wasm_bindgen::JsValue,
            ) -> $crate::wasm::convert::JsResult<js_sys::Float32Array> {
                self.s.train(&n)
            }

            /// Most steps one `train` call accepts.
            #[wasm_bindgen(getter, js_name = maxStepsPerCall)]
            pub fn max_steps_per_call(&self) -> $crate::wasm::convert::JsResult<u32> {
                self.s.max_steps_per_call()
            }

            /// Steps taken.
            #[wasm_bindgen(getter)]
            pub fn step(&self) -> $crate::wasm::convert::JsResult<u32> {
                self.s.step()
            }

            /// Every loss so far.
            pub fn losses(&self) -> $crate::wasm::convert::JsResult<js_sys::Float32Array> {
                self.s.losses()
            }

            /// The seed the weights and batches were drawn from.
            #[wasm_bindgen(getter)]
            pub fn seed(&self) -> $crate::wasm::convert::JsResult<f64> {
                self.s.seed()
            }

            /// How many training pairs it has.
            #[wasm_bindgen(getter, js_name = pairCount)]
            pub fn pair_count(&self) -> $crate::wasm::convert::JsResult<u32> {
                self.s.pair_count()
            }

            /// The weights as safetensors bytes whose metadata holds the config and vocabulary
            /// (`fromSafetensors` reads them back).
            #[wasm_bindgen(js_name = saveWeights)]
            pub fn save_weights(&self) -> $crate::wasm::convert::JsResult<js_sys::Uint8Array> {
                self.s.save_weights()
            }

            /// The model's sizes, with the core's names (`vocab_size`, `d_model`, `n_heads`,
            /// `d_ff`, `activation`, `norm_first`, `layer_norm_eps`, `max_len`, and the layer
            /// counts).
            pub fn config(&self) -> wasm_bindgen::JsValue {
                $crate::wasm::convert::to_js(&self.config)
            }
        }
    };
}
pub(crate) use pair_class;

/// The `{maxLen}` of a `generate(…, options)`: a whole number from 1 to `MAX_LEN`, `default`
/// when absent.
pub fn max_len_option(f: &str, options: &JsValue, default: usize) -> JsResult<usize> {
    let specs = [crate::args::ArgSpec::int(
        "maxLen",
        1,
        crate::models::MAX_LEN as i64,
    )];
    let a = Obj::read(f, options, &specs)?.convert(&specs, |_, _| Ok(()))?;
    a.usize_or("maxLen", default).map_err(core_err)
}

/// `[layer][head]` rows as arrays of arrays of `Float32Array`.
pub fn rows_js(rows: &[Vec<Vec<f32>>]) -> JsValue {
    let layers = Array::new();
    for heads in rows {
        let arr = Array::new();
        for row in heads {
            arr.push(&Float32Array::from(row.as_slice()));
        }
        layers.push(&arr);
    }
    layers.into()
}

/// The vocabulary of a one-sequence model: `{pieces, separator}` — every piece by id, and the
/// piece between a pair's two sides.
pub fn joined_vocab_js(t: &JoinedTokenizer) -> JsValue {
    object(&[
        ("pieces", string_array(t.vocab())),
        ("separator", JsValue::from_str(t.separator())),
    ])
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

/// One forward pass of a one-stack model as `trace` returns it: `{tokens, ids, unknown,
/// embeddings [T, C], layers (see [`encoder_layers_js`]), logits [T, V]}` and what the class
/// predicts from it under `key` (`masks`, `next`).
pub fn stack_trace_js(t: &crate::session::StackTrace, key: &str, predicted: JsValue) -> JsValue {
    object(&[
        ("tokens", string_array(&t.tokens)),
        ("ids", ids_js(&t.ids)),
        ("unknown", string_array(&t.unknown)),
        ("embeddings", tensor_to_js(&t.embeddings)),
        ("layers", encoder_layers_js(t.embeddings.clone(), &t.layers)),
        ("logits", tensor_to_js(&t.logits)),
        (key, predicted),
    ])
}

/// `[{token, id, prob}]` of candidates, most probable first.
pub fn candidates_js(list: &[crate::session::Candidate]) -> JsValue {
    top_k_js(
        list.iter()
            .map(|c| (c.token.clone(), c.id, c.prob))
            .collect(),
    )
}
