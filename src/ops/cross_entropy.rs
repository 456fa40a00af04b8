//! Cross-entropy loss over logits, as `torch.nn.functional.cross_entropy(reduction='mean')`.
//!
//! ```text
//! forward:   loss = (1/M) Σ_{n : t_n ≠ ignore} −log softmax(z_n)[t_n]      z [N, V], t [N]
//!            −log softmax(z)[t] = logsumexp(z) − z_t,  logsumexp(z) = m + log Σ_j exp(z_j − m)
//!            M = number of targets that are not ignore_index
//! backward:  dz_n = dloss · (softmax(z_n) − onehot(t_n)) / M     (0 for ignored rows)
//! ```
//!
//! Computing through logsumexp with the row maximum m subtracted keeps the loss finite for
//! logits in the thousands. When every target is ignored PyTorch returns NaN (0/0); we return a
//! loss of 0 with zero gradients, so that an empty batch cannot poison training.

use super::{expect_finite, softmax};
use crate::error::{Error, Result};
use crate::real::Real;
use ndarray::{Array2, ArrayView2};

/// PyTorch's default `ignore_index`.
pub const IGNORE_INDEX: i64 = -100;

/// What backward needs: the probabilities and which rows count.
#[derive(Debug, Clone)]
pub struct CrossEntropyCache<F> {
    /// softmax(z), `[N, V]`.
    pub probs: Array2<F>,
    /// Targets, `[N]`.
    pub targets: Vec<i64>,
    /// The index that marks a row as not counted.
    pub ignore_index: i64,
    /// M, the number of counted rows.
    pub count: usize,
}

/// Mean cross-entropy of `logits` against `targets`.
pub fn forward<F: Real>(
    logits: ArrayView2<F>,
    targets: &[i64],
    ignore_index: i64,
) -> Result<(F, CrossEntropyCache<F>)> {
    let (n, v) = logits.dim();
    if targets.len() != n {
        return Err(Error::shape(format!(
            "cross_entropy: {} targets for logits of shape [{n}, {v}]",
            targets.len()
        )));
    }
    for (i, &t) in targets.iter().enumerate() {
        if t != ignore_index && (t < 0 || t as usize >= v) {
            return Err(Error::value(format!("cross_entropy: target {t} at position {i} is outside 0..{v} (and is not ignore_index {ignore_index})")));
        }
    }
    expect_finite("cross_entropy", "logits", logits)?;
    let mut probs = logits.to_owned();
    let lse = softmax::forward_inplace(&mut probs);
    let mut total = 0.0f64;
    let mut count = 0;
    for ((row, &t), lse) in logits.rows().into_iter().zip(targets).zip(lse) {
        if t == ignore_index {
            continue;
        }
        total += (lse - row[t as usize]).f64();
        count += 1;
    }
    let loss = if count == 0 {
        F::zero()
    } else {
        F::of(total / count as f64)
    };
    Ok((
        loss,
        CrossEntropyCache {
            probs,
            targets: targets.to_vec(),
            ignore_index,
            count,
        },
    ))
}

/// `∂(dloss · loss)/∂logits`.
pub fn backward<F: Real>(dloss: F, cache: &CrossEntropyCache<F>) -> Array2<F> {
    let mut dz = cache.probs.clone();
    if cache.count == 0 {
        dz.fill(F::zero());
        return dz;
    }
    let s = dloss / F::of(cache.count as f64);
    for (mut row, &t) in dz.rows_mut().into_iter().zip(&cache.targets) {
        if t == cache.ignore_index {
            row.fill(F::zero());
        } else {
            row[t as usize] -= F::one();
            row.mapv_inplace(|x| x * s);
        }
    }
    dz
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn hand_derived() {
        // Uniform logits over V = 4: loss = log 4 for any target.
        let z = Array2::<f64>::zeros((2, 4));
        let (l, c) = forward(z.view(), &[1, 3], IGNORE_INDEX).unwrap();
        assert!((l - 4f64.ln()).abs() < 1e-15);
        // dz = (1/4 − onehot)/2 per row.
        let dz = backward(1.0, &c);
        assert!(
            (dz[[0, 1]] - (0.25 - 1.0) / 2.0).abs() < 1e-15 && (dz[[0, 0]] - 0.125).abs() < 1e-15
        );
        // An ignored row counts for nothing: mean over the other row only.
        let z = arr2(&[[0.0, 2f64.ln()], [100.0, -100.0]]);
        let (l, c) = forward(z.view(), &[1, IGNORE_INDEX], IGNORE_INDEX).unwrap();
        // softmax([0, ln 2]) = [1/3, 2/3]; −log(2/3) = ln 1.5
        assert!((l - 1.5f64.ln()).abs() < 1e-15);
        assert!(backward(1.0, &c).row(1).iter().all(|&x| x == 0.0));
        // Large logits stay finite: logits [1000, 0] with target 1 → loss 1000.
        let (l, _) = forward(arr2(&[[1000.0f32, 0.0]]).view(), &[1], IGNORE_INDEX).unwrap();
        assert!((l - 1000.0).abs() < 1e-3, "{l}");
        // All ignored: 0, not NaN.
        let (l, c) = forward(z.view(), &[IGNORE_INDEX, IGNORE_INDEX], IGNORE_INDEX).unwrap();
        assert_eq!(l, 0.0);
        assert!(backward(1.0, &c).iter().all(|&x| x == 0.0));
        // Out-of-range target is an error naming it.
        assert!(forward(z.view(), &[2, 0], IGNORE_INDEX)
            .unwrap_err()
            .message
            .contains("target 2"));
    }
}
