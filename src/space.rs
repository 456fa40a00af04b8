//! The vector space of token embeddings (the seed article's module 2): a map of the whole
//! vocabulary, distances, neighbours, directions and analogies, computed on the rows of an
//! embedding matrix E `[N, C]` (N tokens, C numbers each).
//!
//! ```text
//! cos(a, b)      = a·b / (‖a‖ ‖b‖)
//! map (PCA)      μ = mean of the rows;  Σ = (E − μ)ᵀ(E − μ) / N  [C, C]
//!                Σ = V Λ Vᵀ (cyclic Jacobi, f64), axes = the k columns of V with the largest λ
//!                coords = (E − μ) · axes  [N, k];  explained_i = λ_i / Σ λ
//!                sign: each axis points so that its largest-magnitude entry is positive (the
//!                first such entry on a tie), so the same matrix always draws the same map
//! axis a → b     t_i = (e_i − e_a)·(e_b − e_a) / ‖e_b − e_a‖²     (0 at a, 1 at b)
//! analogy        a − b + c → the rows nearest by cosine, a, b and c left out
//! categories     within = mean cos over pairs of one category, across = over pairs of two
//! ```

use crate::error::{Error, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

/// A 2-D or 3-D map of the rows of E.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    /// Each row's coordinates on the axes, `[N, k]`.
    pub coords: Array2<f32>,
    /// The axes (principal directions), `[k, C]`, unit length.
    pub axes: Array2<f32>,
    /// The share of the total variance along each axis, `[k]`.
    pub explained: Vec<f32>,
}

/// The eigenvalues and eigenvectors (columns) of a symmetric matrix, by cyclic Jacobi
/// rotations in f64 (a fixed order of rotations: the same input gives the same output).
pub fn symmetric_eigen(a: &Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut a = a.clone();
    let mut v = Array2::<f64>::eye(n);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|p| (0..n).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[[p, q]] * a[[p, q]])
            .sum();
        let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
        if off <= 1e-24 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                // the smaller root of t² + 2θt − 1 = 0, which zeroes a[p][q]
                let sgn = if theta >= 0.0 { 1.0 } else { -1.0 };
                let t = sgn / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[[i, i]]).collect(), v)
}

/// Most scalar operations one question may take (about half a second in the page), so that
/// no call freezes it: the map costs about N·C² + 20·C³, the categories N²·C / 2.
pub const MAX_OPS: f64 = 4e8;

fn check_cost(f: &str, what: &str, ops: f64) -> Result<()> {
    if ops > MAX_OPS {
        return Err(Error::config(format!(
            "{f}: {what} would take about {ops:.1e} operations; the limit is {MAX_OPS:.0e} (use fewer rows or shorter vectors)"
        )));
    }
    Ok(())
}

fn check_rows(f: &str, e: ArrayView2<f32>) -> Result<()> {
    let (n, c) = e.dim();
    if n == 0 || c == 0 {
        return Err(Error::shape(format!(
            "{f}: the matrix is empty ({n} × {c})"
        )));
    }
    if let Some(bad) = e.iter().find(|v| !v.is_finite()) {
        return Err(Error::value(format!("{f}: the matrix holds {bad}")));
    }
    Ok(())
}

/// The PCA map of the rows of `e` on `k` axes (1 ≤ k ≤ C), see the module header.
pub fn pca(e: ArrayView2<f32>, k: usize) -> Result<Map> {
    check_rows("pca", e)?;
    let (n, c) = e.dim();
    if k == 0 || k > c {
        return Err(Error::value(format!(
            "pca: {k} axes; the rows have {c} numbers"
        )));
    }
    let (nf, cf) = (n as f64, c as f64);
    check_cost(
        "pca",
        &format!("a map of {n} rows of {c} numbers"),
        nf * cf * cf + 20.0 * cf * cf * cf,
    )?;
    let x = e.mapv(|v| v as f64);
    let mu = x.mean_axis(Axis(0)).expect("rows");
    let xc = &x - &mu;
    let cov = xc.t().dot(&xc) / n as f64;
    let (vals, vecs) = symmetric_eigen(&cov);
    let order = crate::sorting::descending(&vals, f64::total_cmp);
    let total: f64 = vals
        .iter()
        .map(|v| v.max(0.0))
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let mut axes = Array2::<f64>::zeros((k, c));
    for (r, &i) in order.iter().take(k).enumerate() {
        let col = vecs.column(i);
        let big = (0..c).fold(0, |b, j| if col[j].abs() > col[b].abs() { j } else { b });
        let sign = if col[big] < 0.0 { -1.0 } else { 1.0 };
        axes.row_mut(r).assign(&col.mapv(|v| v * sign));
    }
    let coords = xc.dot(&axes.t());
    Ok(Map {
        coords: coords.mapv(|v| v as f32),
        axes: axes.mapv(|v| v as f32),
        explained: order
            .iter()
            .take(k)
            .map(|&i| (vals[i].max(0.0) / total) as f32)
            .collect(),
    })
}

/// The cosine written out: `(cos(a, b), a·b, ‖a‖, ‖b‖)`, summed in f64; cos is 0 when either
/// is the zero vector.
pub fn cosine_parts(a: ArrayView1<f32>, b: ArrayView1<f32>) -> (f32, f64, f64, f64) {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        ab += x as f64 * y as f64;
        aa += x as f64 * x as f64;
        bb += y as f64 * y as f64;
    }
    let (na, nb) = (aa.sqrt(), bb.sqrt());
    let cos = if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        (ab / (na * nb)) as f32
    };
    (cos, ab, na, nb)
}

/// cos(a, b); 0 when either is the zero vector.
pub fn cosine(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f32 {
    cosine_parts(a, b).0
}

/// The `k` rows nearest to `q` by cosine among `among` (every row if `None`), leaving out
/// `skip`: `(row, cos)`, most similar first (ties: the smaller row).
pub fn nearest(
    e: ArrayView2<f32>,
    q: ArrayView1<f32>,
    k: usize,
    among: Option<&[usize]>,
    skip: &[usize],
) -> Vec<(usize, f32)> {
    let all: Vec<usize> = (0..e.nrows()).collect();
    let mut c: Vec<(usize, f32)> = among
        .unwrap_or(&all)
        .iter()
        .copied()
        .filter(|i| *i < e.nrows() && !skip.contains(i))
        .map(|i| (i, cosine(e.row(i), q)))
        .collect();
    crate::sorting::sort_by(&mut c, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    c.dedup_by_key(|x| x.0);
    c.truncate(k);
    c
}

fn check_index(f: &str, e: ArrayView2<f32>, i: usize) -> Result<()> {
    if i >= e.nrows() {
        return Err(Error::value(format!(
            "{f}: row {i} is outside the {} rows",
            e.nrows()
        )));
    }
    Ok(())
}

/// Every row's position t on the axis from row `a` to row `b` (0 at a, 1 at b).
pub fn axis_positions(e: ArrayView2<f32>, a: usize, b: usize) -> Result<Vec<f32>> {
    check_rows("axis", e)?;
    check_index("axis", e, a)?;
    check_index("axis", e, b)?;
    let d: Array1<f64> = e.row(b).mapv(|v| v as f64) - e.row(a).mapv(|v| v as f64);
    let dd = d.dot(&d);
    if dd == 0.0 {
        return Err(Error::value("axis: the two words have the same vector"));
    }
    let ea = e.row(a).mapv(|v| v as f64);
    Ok(e.outer_iter()
        .map(|r| ((r.mapv(|v| v as f64) - &ea).dot(&d) / dd) as f32)
        .collect())
}

/// `a − b + c` and the `k` rows nearest to it by cosine (among `among`), a, b and c left out.
pub fn analogy(
    e: ArrayView2<f32>,
    (a, b, c): (usize, usize, usize),
    k: usize,
    among: Option<&[usize]>,
) -> Result<Vec<(usize, f32)>> {
    check_rows("analogy", e)?;
    for i in [a, b, c] {
        check_index("analogy", e, i)?;
    }
    let q = &e.row(a) - &e.row(b) + e.row(c);
    Ok(nearest(e, q.view(), k, among, &[a, b, c]))
}

/// Mean cosine over pairs of rows within one category and across two (`labels[i]` is row
/// `rows[i]`'s category): `(within, across)`.
pub fn category_cosines(e: ArrayView2<f32>, rows: &[usize], labels: &[&str]) -> Result<(f32, f32)> {
    check_rows("categories", e)?;
    if rows.len() != labels.len() {
        return Err(Error::value("categories: one label per row"));
    }
    let (m, c) = (rows.len() as f64, e.ncols() as f64);
    check_cost(
        "categories",
        &format!(
            "{} pairs of {} numbers",
            rows.len() * rows.len().saturating_sub(1) / 2,
            e.ncols()
        ),
        m * m * c / 2.0,
    )?;
    let (mut w, mut nw, mut x, mut nx) = (0f64, 0usize, 0f64, 0usize);
    for i in 0..rows.len() {
        check_index("categories", e, rows[i])?;
        for j in i + 1..rows.len() {
            let c = cosine(e.row(rows[i]), e.row(rows[j])) as f64;
            if labels[i] == labels[j] {
                w += c;
                nw += 1;
            } else {
                x += c;
                nx += 1;
            }
        }
    }
    if nw == 0 || nx == 0 {
        return Err(Error::value(
            "categories: need two rows of one category and two categories",
        ));
    }
    Ok(((w / nw as f64) as f32, (x / nx as f64) as f32))
}

#[cfg(test)]
mod tests;
