//! The ops: each file holds one op's forward and its hand-written backward, side by side.
//!
//! Conventions shared by every op (llm.c's vocabulary):
//!
//! ```text
//! B = batch size, T = sequence length (Tq queries, Tk keys), C = d_model,
//! H = heads, D = C / H (d_k), F = feed-forward width, V = vocabulary size,
//! N = any number of rows (usually B·T)
//! ```
//!
//! - `forward(inputs…) -> (output, cache)`: the cache holds what backward needs and what the
//!   page draws (Q, K, V, scores, weights…), nothing more.
//! - `backward(dout, &cache, params…) -> gradients`: gradients are returned fresh; the models
//!   accumulate them into the parameter store (`+=`), so shared weights and residual branches
//!   need no special case.
//! - Shapes are checked at the entry of every public function and reported as
//!   [`crate::Error`]s naming the op and both shapes.

pub mod attention;
pub mod cross_entropy;
pub mod embedding;
pub mod feed_forward;
pub mod gelu;
pub mod layer_norm;
pub mod linear;
pub mod multi_head;
pub mod relu;
pub mod softmax;

use crate::error::{Error, Result};
use crate::real::Real;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// The feed-forward activation, as `activation=` in `nn.TransformerEncoderLayer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// max(0, x)
    Relu,
    /// x·Φ(x), exact erf form
    #[default]
    Gelu,
}

impl Activation {
    /// `act(x)` elementwise.
    pub fn forward<F: Real>(self, x: ArrayView2<F>) -> Array2<F> {
        match self {
            Activation::Relu => relu::forward(x),
            Activation::Gelu => gelu::forward(x),
        }
    }
    /// `dx = dy · act'(x)` elementwise.
    pub fn backward<F: Real>(self, dy: ArrayView2<F>, x: ArrayView2<F>) -> Array2<F> {
        match self {
            Activation::Relu => relu::backward(dy, x),
            Activation::Gelu => gelu::backward(dy, x),
        }
    }
    /// The name shown on the page and used in links.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
        }
    }
}

/// Checks that `got` equals `want`, naming the op and the argument.
pub(crate) fn expect_shape(op: &str, arg: &str, got: &[usize], want: &[usize]) -> Result<()> {
    if got != want {
        return Err(Error::shape(format!(
            "{op}: {arg} has shape {got:?}, expected {want:?}"
        )));
    }
    Ok(())
}

/// Checks that every value is finite, naming the op and the argument.
pub(crate) fn expect_finite<'a, F: Real>(
    op: &str,
    arg: &str,
    xs: impl IntoIterator<Item = &'a F>,
) -> Result<()> {
    if let Some((i, x)) = xs.into_iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(Error::value(format!(
            "{op}: {arg} has a non-finite value {x} at flat index {i}"
        )));
    }
    Ok(())
}
