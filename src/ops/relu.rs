//! ReLU.
//!
//! ```text
//! forward:   y = max(0, x)                     any shape
//! backward:  dx = dy · [x > 0]                 (the subgradient at 0 is 0, as in PyTorch)
//! ```

use crate::real::Real;
use ndarray::{Array2, ArrayView2, Zip};

/// `max(0, x)` elementwise.
pub fn forward<F: Real>(x: ArrayView2<F>) -> Array2<F> {
    x.mapv(|v| if v > F::zero() { v } else { F::zero() })
}

/// `dy · [x > 0]`; the cache is the input x.
pub fn backward<F: Real>(dy: ArrayView2<F>, x: ArrayView2<F>) -> Array2<F> {
    Zip::from(&dy)
        .and(&x)
        .map_collect(|&g, &v| if v > F::zero() { g } else { F::zero() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn hand_derived() {
        let x = arr2(&[[-2.0, 0.0, 3.0]]);
        assert_eq!(forward(x.view()), arr2(&[[0.0, 0.0, 3.0]]));
        assert_eq!(
            backward(arr2(&[[5.0, 5.0, 5.0]]).view(), x.view()),
            arr2(&[[0.0, 0.0, 5.0]])
        );
    }
}
