//! Embedding lookup, as `torch.nn.Embedding` (token embeddings and learned positions).
//!
//! ```text
//! forward:   y[n] = table[ids[n]]                       ids [N], table [V, C], y [N, C]
//! backward:  dtable[v] = Σ_{n : ids[n] = v} dy[n]       (scatter-add; rows never looked up get 0)
//! ```

use crate::error::{Error, Result};
use crate::real::Real;
use ndarray::{Array2, ArrayView2};

/// Looks up `ids` in `table`. An id ≥ V is an error naming the id, its position and V.
pub fn forward<F: Real>(ids: &[usize], table: ArrayView2<F>) -> Result<Array2<F>> {
    let (v, c) = table.dim();
    let mut y = Array2::zeros((ids.len(), c));
    for (n, &id) in ids.iter().enumerate() {
        if id >= v {
            return Err(Error::value(format!(
                "embedding: id {id} at position {n} is out of range for a table of {v} rows"
            )));
        }
        y.row_mut(n).assign(&table.row(id));
    }
    Ok(y)
}

/// The gradient of the table: rows of `dy` added into the rows they were looked up from.
/// `ids` were checked by forward.
pub fn backward<F: Real>(dy: ArrayView2<F>, ids: &[usize], vocab: usize) -> Array2<F> {
    let mut dt = Array2::zeros((vocab, dy.ncols()));
    for (n, &id) in ids.iter().enumerate() {
        let mut row = dt.row_mut(id);
        row += &dy.row(n);
    }
    dt
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn hand_derived() {
        let table = arr2(&[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
        let y = forward(&[2, 0, 2], table.view()).unwrap();
        assert_eq!(y, arr2(&[[5.0, 6.0], [1.0, 2.0], [5.0, 6.0]]));
        // id 2 is used twice: its gradient row is the sum of both upstream rows.
        let dt = backward(
            arr2(&[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]).view(),
            &[2, 0, 2],
            3,
        );
        assert_eq!(dt, arr2(&[[2.0, 2.0], [0.0, 0.0], [4.0, 4.0]]));
        let e = forward(&[0, 3], table.view()).unwrap_err();
        assert!(
            e.message.contains("id 3") && e.message.contains("3 rows"),
            "{e}"
        );
    }
}
