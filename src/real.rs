//! The float type the engine computes in.
//!
//! Every op is generic over [`Real`], implemented for `f32` (what the page runs) and `f64`
//! (what the gradient checks run, so that central finite differences are accurate to ~1e-8
//! instead of the ~1e-3 that f32 allows).
//!
//! The computations whose code differs between the two types (the matrix product, the
//! vectorised exponential, erf and the two parts of each form of GELU) are the [`Kernels`]
//! that every [`Real`] has. They are declared here and implemented in `crate::kernel`, so
//! that this module depends on nothing else in the crate: `f32` goes to the SIMD code on
//! wasm32, `f64` always to the portable code.

use ndarray::{ArrayView2, ArrayViewMut2, LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive};
use std::fmt::{Debug, Display};

/// A float the engine can compute in: `f32` or `f64`.
pub trait Real:
    Float
    + FromPrimitive
    + LinalgScalar
    + ScalarOperand
    + Kernels
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
    + 'static
{
    /// The safetensors dtype name of this type (`"F32"` or `"F64"`).
    const DTYPE: &'static str;

    /// Converts from f64 (rounding for f32).
    fn of(x: f64) -> Self;
    /// Converts to f64 (exact).
    fn f64(self) -> f64;
}

/// What the kernels compute differently for each float type; implemented for `f32` and `f64`
/// in `crate::kernel`, and reached through [`Real`] (`F::exp_slice(..)` for any `F: Real`).
pub trait Kernels: Sized {
    /// The error function, erf(x) = 2/√π ∫₀ˣ e^(−t²) dt, accurate to the type's precision.
    fn erf(self) -> Self;

    /// `xs[i] = e^xs[i]` for every element (vectorised for f32 on wasm simd128).
    fn exp_slice(xs: &mut [Self]);

    /// GELU's two parts at every `x`: `cdf[i] = Φ(x[i])` and `pdf[i] = φ(x[i]) = e^(−x²/2)/√(2π)`.
    /// Forward needs Φ and backward both; computing them together shares the exponential
    /// (erf(x/√2) needs e^(−x²/2) too).
    fn gelu_parts(x: &[Self], cdf: &mut [Self], pdf: &mut [Self]);

    /// The same two parts for GELU's tanh form, `torch.nn.GELU(approximate='tanh')`:
    /// `cdf[i] = ½(1 + tanh u)` and `pdf[i]` its derivative in x, with
    /// u = √(2/π)(x + 0.044715 x³), so that GELU is `x·cdf` and its derivative `cdf + x·pdf`.
    fn gelu_tanh_parts(x: &[Self], cdf: &mut [Self], pdf: &mut [Self]);

    /// `c += a · b` with `a` `[m, k]`, `b` `[k, n]` and `c` `[m, n]` in standard layout, by this
    /// type's matrix kernel; call it through `crate::kernel::matmul_acc`, which documents it.
    fn matmul_acc(c: &mut ArrayViewMut2<Self>, a: ArrayView2<Self>, b: ArrayView2<Self>);
}

impl Real for f32 {
    const DTYPE: &'static str = "F32";
    fn of(x: f64) -> Self {
        x as f32
    }
    fn f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    const DTYPE: &'static str = "F64";
    fn of(x: f64) -> Self {
        x
    }
    fn f64(self) -> f64 {
        self
    }
}
