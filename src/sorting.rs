//! Sorting through one routine.
//!
//! Every `sort_by` call with its own closure or element type compiles the standard library's
//! whole sort again (about 10 KB of wasm each; the module had eleven). Here the sort is
//! instantiated once, on indices with a comparator behind a reference, and everything else is
//! sorted through it. The sort is stable, so the result is exactly what `sort_by` (or, for
//! elements that compare equal only when identical, `sort_unstable`) gives.

use std::cmp::Ordering;

/// Sorts `idx` stably by `cmp`, which compares two of its values.
#[inline(never)]
pub fn sort_indices(idx: &mut [usize], cmp: &mut dyn FnMut(usize, usize) -> Ordering) {
    idx.sort_by(|&a, &b| cmp(a, b));
}

/// Sorts `v` stably by `cmp`: the order `v.sort_by(cmp)` gives.
pub fn sort_by<T>(v: &mut Vec<T>, mut cmp: impl FnMut(&T, &T) -> Ordering) {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    sort_indices(&mut idx, &mut |a, b| cmp(&v[a], &v[b]));
    let mut slots: Vec<Option<T>> = std::mem::take(v).into_iter().map(Some).collect();
    v.extend(
        idx.into_iter()
            .map(|i| slots[i].take().expect("each index once")),
    );
}

/// The indices of `xs` ordered largest first, the lower index first on ties.
pub fn descending<T>(xs: &[T], cmp: impl Fn(&T, &T) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    sort_indices(&mut order, &mut |a, b| cmp(&xs[b], &xs[a]).then(a.cmp(&b)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_order_as_the_standard_sorts() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % 13
        };
        for n in [0, 1, 2, 5, 20, 33, 200] {
            // stable: pairs with repeated keys keep their input order
            let v: Vec<(u64, usize)> = (0..n).map(|i| (next(), i)).collect();
            let (mut a, mut b) = (v.clone(), v.clone());
            a.sort_by_key(|x| std::cmp::Reverse(x.0));
            sort_by(&mut b, |x, y| y.0.cmp(&x.0));
            assert_eq!(a, b);
            let f: Vec<f32> = v.iter().map(|p| p.0 as f32 - 6.0).collect();
            let mut want: Vec<usize> = (0..n).collect();
            want.sort_by(|&i, &j| f[j].total_cmp(&f[i]).then(i.cmp(&j)));
            assert_eq!(descending(&f, f32::total_cmp), want);
        }
    }
}
