//! The [`Kernels`] of `f32` and `f64`: which code each float type runs. `f32` gets the
//! simd128 matrix product, exponential and GELU on wasm32, natively the AVX2 + FMA product
//! when the CPU has both (chosen at run time by [`sgemm`]) and the portable code otherwise;
//! `f64`, used by the gradient checks, always the portable code.

use super::erf::{erf_f32, erf_f64};
use super::exp::exp_slice_f32;
use super::gelu::{gelu_parts_f32, gelu_parts_f64, gelu_tanh_parts_f32, gelu_tanh_parts_f64};
use super::{gemm_portable, matmul_acc_by, sgemm};
use crate::real::Kernels;
use ndarray::{ArrayView2, ArrayViewMut2};

impl Kernels for f32 {
    fn erf(self) -> Self {
        erf_f32(self)
    }
    fn exp_slice(xs: &mut [f32]) {
        exp_slice_f32(xs)
    }
    fn gelu_parts(x: &[f32], cdf: &mut [f32], pdf: &mut [f32]) {
        gelu_parts_f32(x, cdf, pdf)
    }
    fn gelu_tanh_parts(x: &[f32], cdf: &mut [f32], pdf: &mut [f32]) {
        gelu_tanh_parts_f32(x, cdf, pdf)
    }
    fn matmul_acc(c: &mut ArrayViewMut2<f32>, a: ArrayView2<f32>, b: ArrayView2<f32>) {
        matmul_acc_by(c, a, b, sgemm)
    }
}

impl Kernels for f64 {
    fn erf(self) -> Self {
        erf_f64(self)
    }
    fn exp_slice(xs: &mut [f64]) {
        for x in xs {
            *x = x.exp();
        }
    }
    fn gelu_parts(x: &[f64], cdf: &mut [f64], pdf: &mut [f64]) {
        gelu_parts_f64(x, cdf, pdf)
    }
    fn gelu_tanh_parts(x: &[f64], cdf: &mut [f64], pdf: &mut [f64]) {
        gelu_tanh_parts_f64(x, cdf, pdf)
    }
    fn matmul_acc(c: &mut ArrayViewMut2<f64>, a: ArrayView2<f64>, b: ArrayView2<f64>) {
        matmul_acc_by(c, a, b, gemm_portable::<f64>)
    }
}
