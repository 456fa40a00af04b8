//! Tests of the vector space: by hand, and against the definitions.

use super::*;
use crate::rng::Rng;
use ndarray::{arr1, arr2};

fn random(n: usize, c: usize, seed: u64) -> Array2<f32> {
    let mut r = Rng::new(seed);
    Array2::from_shape_fn((n, c), |_| r.normal() as f32)
}

#[test]
fn jacobi_by_hand_and_by_reconstruction() {
    // [[2, 1], [1, 2]]: eigenvalues 3 (along (1, 1)) and 1 (along (1, −1))
    let (vals, v) = symmetric_eigen(&arr2(&[[2.0, 1.0], [1.0, 2.0]]));
    let mut sorted = vals.clone();
    sorted.sort_by(f64::total_cmp);
    assert!(
        (sorted[0] - 1.0).abs() < 1e-12 && (sorted[1] - 3.0).abs() < 1e-12,
        "{vals:?}"
    );
    let i3 = if vals[0] > vals[1] { 0 } else { 1 };
    assert!(
        (v[[0, i3]].abs() - 0.5f64.sqrt()).abs() < 1e-12 && (v[[0, i3]] - v[[1, i3]]).abs() < 1e-12
    );
    // A random symmetric 9×9: V Λ Vᵀ = A and VᵀV = I
    let x = random(12, 9, 4).mapv(|v| v as f64);
    let a = x.t().dot(&x);
    let (vals, v) = symmetric_eigen(&a);
    let back = v.dot(&Array2::from_diag(&arr1(&vals))).dot(&v.t());
    for (p, q) in back.iter().zip(&a) {
        assert!((p - q).abs() < 1e-9 * a.iter().map(|x| x.abs()).fold(0.0, f64::max));
    }
    let id = v.t().dot(&v);
    for ((i, j), x) in id.indexed_iter() {
        assert!((x - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
    }
}

#[test]
fn pca_of_points_on_a_line() {
    // rows t·(1, 2, 0) for t = 0 … 4: one axis (1, 2, 0)/√5 holds all the variance
    let e = Array2::from_shape_fn((5, 3), |(t, j)| [1.0, 2.0, 0.0][j] * t as f32);
    let m = pca(e.view(), 2).unwrap();
    let s5 = 5f32.sqrt();
    assert!((m.axes[[0, 0]] - 1.0 / s5).abs() < 1e-6 && (m.axes[[0, 1]] - 2.0 / s5).abs() < 1e-6);
    assert!((m.explained[0] - 1.0).abs() < 1e-6 && m.explained[1].abs() < 1e-6);
    for t in 0..5 {
        assert!(
            (m.coords[[t, 0]] - (t as f32 - 2.0) * s5).abs() < 1e-5,
            "{}",
            m.coords
        );
    }
    // The sign convention: the same map for the negated line's axis, mirrored coordinates.
    let neg = pca((-&e).view(), 1).unwrap();
    assert_eq!(neg.axes.row(0), m.axes.row(0));
    for t in 0..5 {
        assert!((neg.coords[[t, 0]] + m.coords[[t, 0]]).abs() < 1e-5);
    }
}

#[test]
fn pca_axes_are_orthonormal_and_ordered_and_the_map_is_reproducible() {
    let e = random(40, 16, 7);
    let m = pca(e.view(), 3).unwrap();
    assert!(m.explained.windows(2).all(|w| w[0] >= w[1]));
    assert!(m.explained.iter().sum::<f32>() <= 1.0 + 1e-6);
    let g = m.axes.dot(&m.axes.t());
    for ((i, j), x) in g.indexed_iter() {
        assert!((x - if i == j { 1.0 } else { 0.0 }).abs() < 1e-5);
    }
    // coords are the centred rows on the axes
    let mu = e.mean_axis(Axis(0)).unwrap();
    let want = (&e - &mu).dot(&m.axes.t());
    for (a, b) in want.iter().zip(&m.coords) {
        assert!((a - b).abs() < 1e-4);
    }
    assert_eq!(
        pca(e.view(), 3).unwrap(),
        m,
        "the same matrix, the same map"
    );
    assert!(pca(e.view(), 0).is_err() && pca(e.view(), 17).is_err());
    // too large to answer at once: refused before any work, with the sizes named
    let big = Array2::<f32>::zeros((4096, 512));
    assert!(pca(big.view(), 2)
        .unwrap_err()
        .message
        .contains("4096 rows of 512 numbers"));
    let mut bad = e.clone();
    bad[[3, 3]] = f32::NAN;
    assert!(pca(bad.view(), 2).unwrap_err().message.contains("NaN"));
}

#[test]
fn cosine_neighbours_axes_analogies_and_categories_by_hand() {
    assert!(
        (cosine(arr1(&[1.0, 0.0]).view(), arr1(&[1.0, 1.0]).view()) - 0.5f32.sqrt()).abs() < 1e-7
    );
    assert_eq!(
        cosine(arr1(&[0.0, 0.0]).view(), arr1(&[1.0, 1.0]).view()),
        0.0
    );
    // man, woman, king, queen, apple: king − man + woman = queen exactly
    let e = arr2(&[
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [1.0, 0.0, 1.0, 0.0],
        [0.0, 1.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0f32],
    ]);
    let top = analogy(e.view(), (2, 0, 1), 2, None).unwrap();
    assert_eq!(top[0].0, 3);
    assert!((top[0].1 - 1.0).abs() < 1e-6);
    // the nearest to king, itself left out: man (cos 1/√2), then queen (cos ½)
    let n = nearest(e.view(), e.row(2), 2, None, &[2]);
    assert_eq!(n[0].0, 0);
    assert!((n[0].1 - 0.5f32.sqrt()).abs() < 1e-6 && (n[1].1 - 0.5).abs() < 1e-6);
    // among a subset only
    assert_eq!(nearest(e.view(), e.row(2), 5, Some(&[3, 4]), &[]).len(), 2);
    // on the axis man → king, t = (e − man)·(king − man)/‖king − man‖²: man 0, king 1, queen 1
    let t = axis_positions(e.view(), 0, 2).unwrap();
    assert_eq!((t[0], t[2]), (0.0, 1.0));
    assert_eq!(t[3], 1.0); // queen − man = (−1, 1, 1, 0), · (0, 0, 1, 0) = 1
    assert!(axis_positions(e.view(), 0, 0).is_err());
    assert!(axis_positions(e.view(), 0, 9)
        .unwrap_err()
        .message
        .contains("row 9"));
    // categories: man/king (people a), woman/queen (people b)
    let (w, x) = category_cosines(e.view(), &[0, 2, 1, 3], &["a", "a", "b", "b"]).unwrap();
    assert!((w - 0.5f32.sqrt()).abs() < 1e-6, "{w}");
    // across: man–woman 0, man–queen 0, king–woman 0, king–queen ½ → ⅛
    assert!((x - 0.125).abs() < 1e-6, "{x}");
    assert!(category_cosines(e.view(), &[0, 1], &["a", "b"]).is_err());
}
