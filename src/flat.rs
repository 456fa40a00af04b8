//! Whole arrays as flat slices, for elementwise loops.
//!
//! ndarray's `Zip`, `zip_mut_with` and `mapv_inplace` on dynamic-dimension arrays (`ArrayD`,
//! the parameter store's type) compile to a walk over every layout an array can have; in wasm
//! that is several KB of code per call site (the optimiser's step alone was 68 KB). The arrays
//! the engine builds are in standard (row-major, contiguous) layout, so the same loops can run
//! over slices: the same elements in the same logical order, the same arithmetic per element.
//! An array in another layout is first copied into standard layout (same values).
//!
//! Only elementwise loops go through here, where order does not change a result; a reduction
//! iterates [`slice()`] in logical order, as `iter()` does.

use ndarray::ArrayD;
use std::borrow::Cow;

/// The elements of `a` in logical (row-major) order, as one mutable slice. An array not in
/// standard layout is made so first (a copy with the same values).
pub fn slice_mut<F: Clone>(a: &mut ArrayD<F>) -> &mut [F] {
    if !a.is_standard_layout() {
        *a = a.as_standard_layout().into_owned();
    }
    a.as_slice_mut()
        .expect("an array in standard layout is one slice")
}

/// The elements of `a` in logical (row-major) order: borrowed when `a` is in standard layout,
/// else a copy.
pub fn slice<F: Clone>(a: &ArrayD<F>) -> Cow<'_, [F]> {
    match a.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(a.iter().cloned().collect()),
    }
}

/// `a += b` elementwise; panics unless the shapes are the same.
pub fn add_assign<F: Copy + std::ops::AddAssign>(a: &mut ArrayD<F>, b: &ArrayD<F>) {
    same_shape(a, b);
    let b = slice(b);
    for (x, &y) in slice_mut(a).iter_mut().zip(b.iter()) {
        *x += y;
    }
}

/// Panics unless `a` and `b` have the same shape (what `zip_mut_with` without broadcasting
/// requires).
#[track_caller]
pub fn same_shape<A, B>(a: &ArrayD<A>, b: &ArrayD<B>) {
    assert_eq!(a.shape(), b.shape(), "elementwise: shapes differ");
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, IxDyn};

    #[test]
    fn slices_are_in_logical_order_whatever_the_layout() {
        let a = Array2::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as f32).into_dyn();
        assert_eq!(&*slice(&a), &[0., 1., 2., 3., 4., 5.]);
        // the transpose: column-major memory, logical order 0 3 1 4 2 5
        let mut t = a.t().to_owned();
        assert!(!t.is_standard_layout());
        assert_eq!(&*slice(&t), &[0., 3., 1., 4., 2., 5.]);
        slice_mut(&mut t)[1] = 9.;
        assert_eq!(t[IxDyn(&[0, 1])], 9.);
        assert_eq!(t.shape(), &[3, 2]);
    }
}
