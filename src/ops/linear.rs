//! Linear (fully connected) layer, as `torch.nn.Linear`.
//!
//! ```text
//! forward:   y = x Wᵀ + b          x [N, In], W [Out, In], b [Out], y [N, Out]
//! backward:  dx = dy W             [N, In]
//!            dW = dyᵀ x            [Out, In]
//!            db = Σ_rows dy        [Out]
//! ```

use super::expect_shape;
use crate::error::Result;
use crate::kernel::{matmul, matmul_acc};
use crate::real::Real;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

/// What backward needs: the input (dW = dyᵀ x).
#[derive(Debug, Clone)]
pub struct LinearCache<F> {
    /// The input x, `[N, In]`.
    pub x: Array2<F>,
}

/// Gradients of a linear layer.
#[derive(Debug, Clone)]
pub struct LinearGrads<F> {
    /// `[N, In]`
    pub dx: Array2<F>,
    /// `[Out, In]`
    pub dw: Array2<F>,
    /// `[Out]`, `None` when the layer has no bias.
    pub db: Option<Array1<F>>,
}

/// `y = x Wᵀ + b` without a cache (for inference paths).
pub fn apply<F: Real>(
    x: ArrayView2<F>,
    w: ArrayView2<F>,
    b: Option<ArrayView1<F>>,
) -> Result<Array2<F>> {
    let (_, d_in) = x.dim();
    let (d_out, w_in) = w.dim();
    if d_in != w_in {
        expect_shape("linear", "x", x.shape(), &[x.nrows(), w_in])?;
    }
    if let Some(b) = b {
        expect_shape("linear", "bias", b.shape(), &[d_out])?;
    }
    let mut y = match b {
        // Start from the broadcast bias and accumulate the product into it.
        // (row copies: ndarray's broadcast-to-owned walks element by element)
        Some(b) => {
            let row = b.to_vec();
            let mut data = Vec::with_capacity(x.nrows() * d_out);
            for _ in 0..x.nrows() {
                data.extend_from_slice(&row);
            }
            Array2::from_shape_vec((x.nrows(), d_out), data).expect("rows × d_out values")
        }
        None => Array2::zeros((x.nrows(), d_out)),
    };
    matmul_acc(&mut y.view_mut(), x, w.t());
    Ok(y)
}

/// `y = x Wᵀ + b`, returning the cache for backward.
pub fn forward<F: Real>(
    x: ArrayView2<F>,
    w: ArrayView2<F>,
    b: Option<ArrayView1<F>>,
) -> Result<(Array2<F>, LinearCache<F>)> {
    let y = apply(x, w, b)?;
    Ok((y, LinearCache { x: x.to_owned() }))
}

/// Gradients of `y = x Wᵀ + b` given `dy = ∂L/∂y`.
pub fn backward<F: Real>(
    dy: ArrayView2<F>,
    cache: &LinearCache<F>,
    w: ArrayView2<F>,
    has_bias: bool,
) -> Result<LinearGrads<F>> {
    backward_from_input(dy, cache.x.view(), w, has_bias)
}

/// [`backward`] given the layer's input `x` itself, for callers that keep it in their own
/// cache (no copy into a [`LinearCache`]).
pub fn backward_from_input<F: Real>(
    dy: ArrayView2<F>,
    x: ArrayView2<F>,
    w: ArrayView2<F>,
    has_bias: bool,
) -> Result<LinearGrads<F>> {
    expect_shape("linear backward", "dy", dy.shape(), &[x.nrows(), w.nrows()])?;
    let dx = matmul(dy, w);
    let dw = matmul(dy.t(), x);
    let db = has_bias.then(|| dy.sum_axis(Axis(0)));
    Ok(LinearGrads { dx, dw, db })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2};

    #[test]
    fn hand_derived() {
        // x = [1, 2], W = [[1, 0], [0, 1], [1, 1]], b = [0, 1, 2]
        // y = [1·1+2·0+0, 1·0+2·1+1, 1+2+2] = [1, 3, 5]
        let x = arr2(&[[1.0, 2.0]]);
        let w = arr2(&[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
        let b = arr1(&[0.0, 1.0, 2.0]);
        let (y, cache) = forward(x.view(), w.view(), Some(b.view())).unwrap();
        assert_eq!(y, arr2(&[[1.0, 3.0, 5.0]]));
        // dy = [1, 1, 1]: dx = dy W = [2, 2]; dW = dyᵀ x = every row [1, 2]; db = [1, 1, 1].
        let g = backward(arr2(&[[1.0, 1.0, 1.0]]).view(), &cache, w.view(), true).unwrap();
        assert_eq!(g.dx, arr2(&[[2.0, 2.0]]));
        assert_eq!(g.dw, arr2(&[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]));
        assert_eq!(g.db.unwrap(), arr1(&[1.0, 1.0, 1.0]));
    }

    #[test]
    fn shape_errors_name_the_shapes() {
        let x = Array2::<f32>::zeros((2, 3));
        let w = Array2::<f32>::zeros((4, 5));
        let e = forward(x.view(), w.view(), None).unwrap_err();
        assert!(
            e.message.contains("linear")
                && e.message.contains("[2, 3]")
                && e.message.contains("[2, 5]"),
            "{e}"
        );
    }
}
