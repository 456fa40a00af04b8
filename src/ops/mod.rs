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
pub mod registry;
pub mod relu;
pub mod softmax;

use crate::error::{Error, Result};
use crate::real::Real;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// The feed-forward activation, as `activation=` in `nn.TransformerEncoderLayer`. It is
/// serialised (model configs, safetensors metadata) and named in the JS API by
/// [`Activation::name`]: `"relu"`, `"gelu"`, `"gelu_tanh"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// max(0, x)
    Relu,
    /// x·Φ(x), exact erf form
    #[default]
    Gelu,
    /// x·½(1 + tanh(√(2/π)(x + 0.044715 x³))), GELU's tanh form, as
    /// `activation=nn.GELU(approximate='tanh')` (GPT-2's; Hugging Face's `gelu_new`)
    #[serde(rename = "gelu_tanh")]
    GeluTanh,
}

impl Activation {
    /// Every activation's name, as [`Activation::name`] gives it.
    pub const NAMES: &'static [&'static str] = &["relu", "gelu", "gelu_tanh"];

    /// The activation named `name` (one of [`Activation::NAMES`]).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "relu" => Some(Activation::Relu),
            "gelu" => Some(Activation::Gelu),
            "gelu_tanh" => Some(Activation::GeluTanh),
            _ => None,
        }
    }

    /// The form of GELU this activation is, if it is one.
    pub fn gelu_form(self) -> Option<gelu::Approximate> {
        match self {
            Activation::Relu => None,
            Activation::Gelu => Some(gelu::Approximate::None),
            Activation::GeluTanh => Some(gelu::Approximate::Tanh),
        }
    }

    /// `act(x)` elementwise.
    pub fn forward<F: Real>(self, x: ArrayView2<F>) -> Array2<F> {
        match self.gelu_form() {
            None => relu::forward(x),
            Some(form) => gelu::forward(x, form),
        }
    }
    /// `dx = dy · act'(x)` elementwise.
    pub fn backward<F: Real>(self, dy: ArrayView2<F>, x: ArrayView2<F>) -> Array2<F> {
        match self.gelu_form() {
            None => relu::backward(dy, x),
            Some(form) => gelu::backward(dy, x, form),
        }
    }
    /// The name shown on the page, used in links, configs and the JS API.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
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

/// Checks that every value is finite, naming the op, the argument and the first bad value.
pub(crate) fn expect_finite<F: Real, D: ndarray::Dimension>(
    op: &str,
    arg: &str,
    x: ndarray::ArrayView<F, D>,
) -> Result<()> {
    match first_non_finite(x) {
        None => Ok(()),
        Some((i, v)) => Err(Error::value(format!(
            "{op}: {arg} has a non-finite value {v} at flat index {i}"
        ))),
    }
}

/// The first non-finite value of `x` and its flat (logical order) index, if there is one.
/// The common case, all finite, is one vectorisable pass per contiguous row; only an array
/// that fails it is walked again to find the value.
pub(crate) fn first_non_finite<F: Real, D: ndarray::Dimension>(
    x: ndarray::ArrayView<F, D>,
) -> Option<(usize, F)> {
    if all_finite_view(&x) {
        return None;
    }
    x.iter().copied().enumerate().find(|(_, v)| !v.is_finite())
}

/// Whether every value of `x` is finite, one vectorisable pass per contiguous row.
fn all_finite_view<F: Real, D: ndarray::Dimension>(x: &ndarray::ArrayView<F, D>) -> bool {
    match x.as_slice_memory_order() {
        Some(sl) => all_finite(sl),
        None if x.ndim() > 0 => x
            .lanes(ndarray::Axis(x.ndim() - 1))
            .into_iter()
            .all(|lane| match lane.as_slice() {
                Some(sl) => all_finite(sl),
                None => lane.iter().all(|v| v.is_finite()),
            }),
        None => x.iter().all(|v| v.is_finite()),
    }
}

/// Whether every value is finite: `x − x` is 0 for a finite x and NaN for ±∞ or NaN, and a sum
/// of those never overflows, so eight running sums (one `f32x4` pair) decide it without a
/// branch per element.
#[allow(clippy::eq_op)] // x − x is the point: it is NaN exactly when x is not finite
fn all_finite<F: Real>(xs: &[F]) -> bool {
    let mut acc = [F::zero(); 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for ch in chunks {
        for (a, &v) in acc.iter_mut().zip(ch) {
            *a += v - v;
        }
    }
    acc.iter().all(|a| *a == F::zero()) && tail.iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2};

    #[test]
    fn expect_finite_finds_every_kind_of_bad_value_anywhere() {
        // 19 columns: two full chunks of 8 per row plus a tail of 3, in rows and in views.
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for pos in [0, 7, 8, 15, 16, 18, 19 * 3 + 5] {
                let mut x = Array2::<f32>::from_shape_fn((4, 19), |(i, j)| (i * 19 + j) as f32);
                assert!(expect_finite("op", "x", x.view()).is_ok());
                x[[pos / 19, pos % 19]] = bad;
                let err = expect_finite("op", "x", x.view()).unwrap_err().to_string();
                assert!(err.contains(&format!("flat index {pos}")), "{err}");
                // A column slice (not contiguous) and a transposed view see it too.
                let col = pos % 19;
                let sl = x.slice(s![.., col..]);
                assert!(expect_finite("op", "x", sl).is_err());
                assert!(expect_finite("op", "x", x.t()).is_err());
                if col > 0 {
                    assert!(expect_finite("op", "x", x.slice(s![.., ..col])).is_ok());
                }
            }
        }
        // Huge but finite values do not overflow the check.
        let big = Array2::from_elem((3, 9), f32::MAX);
        assert!(expect_finite("op", "x", big.view()).is_ok());
    }
}
