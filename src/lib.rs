//! # LM Playground's engine
//!
//! A small transformer library, written to be read and to be exactly right: every number the
//! playground shows (tokens, embeddings, Q/K/V, attention weights, losses, gradients) is
//! computed here, natively in tests and as WebAssembly in the browser.
//!
//! This crate's core never touches the browser. It is organised as the seed article teaches:
//!
//! - [`ops`]: one file per operation, forward and hand-written backward side by side.
//! - [`layers`]: encoder and decoder layers (post-norm and pre-norm).
//! - [`models`]: decoder-only, encoder–decoder and encoder-only models.
//! - [`params`]: the named parameter store (PyTorch `state_dict` names), safetensors and JSON.
//! - [`scope`]: where each layer declares its parameters' names, shapes and initialisation once.
//! - [`optim`]: SGD, Adam, AdamW, gradient clipping and learning-rate schedules.
//! - [`seq2seq`]: an encoder–decoder that reads a sentence and writes an answer, with greedy
//!   decoding that keeps every attention weight; [`masked_lm`] (encoder-only, fills in `[MASK]`)
//!   and [`causal_lm`] (decoder-only, continues a prompt) on the same pairs joined into one
//!   sequence; [`session`]: what the three share; [`recipes`]: how the shipped ones are trained.
//! - [`heads`]: what an attention head does (previous token, itself, the first token), read
//!   from its weights.
//! - [`kernel`]: the matrix-product kernel (portable, wasm simd128, and natively AVX2 + FMA).
//!
//! Everything is generic over [`Real`] (`f32` for the page, `f64` for gradient checks) and
//! checked against PyTorch by fixtures in `tests/fixtures/`.
//!
//! # From the top
//!
//! ```
//! use lm_playground::layers::LayerConfig;
//! use lm_playground::models::decoder_only::{DecoderOnly, DecoderOnlyConfig};
//! use ndarray::array;
//!
//! let layer = LayerConfig { d_model: 8, n_heads: 2, d_ff: 16, ..Default::default() };
//! let cfg = DecoderOnlyConfig { vocab_size: 10, layer, n_layers: 1, max_len: 8 };
//! let mut model = DecoderOnly::<f32>::new(cfg, 42).unwrap();
//! let ids = array![[1usize, 2, 3, 4]];
//! let targets = array![[2i64, 3, 4, 5]];
//! let loss = model.loss_and_backward(ids.view(), targets.view()).unwrap();
//! // An untrained model is close to uniform over 10 tokens: loss ≈ ln 10 ≈ 2.30.
//! assert!((loss - 10f32.ln()).abs() < 0.5);
//! ```

#![deny(missing_docs)]

pub mod args;
pub mod blame;
pub mod block;
pub mod causal_lm;
pub mod corpus;
pub mod demo;
pub mod error;
pub mod flat;
pub mod heads;
pub mod kernel;
pub mod layers;
pub mod masked_lm;
pub mod models;
pub mod ops;
pub mod optim;
pub mod params;
pub mod real;
pub mod recipes;
pub mod rng;
pub mod scope;
pub mod seq2seq;
pub mod session;
pub mod shards;
pub mod sorting;
pub mod space;
pub mod tokenizer;
pub mod trainer;
pub mod viz;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Code, Error, ErrorKind, Result};
pub use real::Real;
