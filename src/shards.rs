//! Data-parallel training steps that give the same numbers on any number of workers.
//!
//! ```text
//! batch     B rows (windows of text, or pairs), drawn by the session: B numbers that name them
//! shards    S = min(shards option, B), fixed by the session's options, not by the workers
//! shard k   rows [k·B/S, (k+1)·B/S) of the batch
//! part k    w_k = n_k / N      n_k: target tokens the loss counts in shard k, N = Σ n_k
//!           L_k = w_k · (mean loss over shard k),   g_k = w_k · ∂(mean loss over shard k)/∂θ
//!           (g_k flat: every parameter in the store's sorted order, [numel])
//! step      L = (…((L_0 + L_1) + L_2) …) + L_{S−1},   g likewise, always in shard order
//!           then the session's update: divergence check, clipping, optimiser step
//! ```
//!
//! L is the batch's mean loss and g its gradient, up to rounding. The rounding is fixed by the
//! shard count and the order of the sum, not by who computed each part: a part is computed by
//! the same code on the same weights wherever it runs (this thread, or a worker holding a
//! replica of the model that was sent the weights, [`crate::params::ParamStore::values_flat`]),
//! and the parts are summed here, in order. So a run trains to the same bits on 1, 2 or 4
//! workers. With S = 1 the step is the plain one (the whole batch, its gradient × 1).
//!
//! A session that trains this way implements [`Sharded`]; its ordinary `train_step` is
//! [`Sharded::sharded_step`], which computes every part itself.

use crate::error::{Error, Result};
use crate::params::ParamStore;
use std::ops::Range;

/// Most shards a batch may be cut into.
pub const MAX_SHARDS: usize = 64;

/// The shards of the page's training (its learning panel and the recipes it retrains): a run
/// trains to the same bits on 1 to 4 workers.
pub const PAGE_SHARDS: usize = 4;

/// Rows `[k·b/s, (k+1)·b/s)`: shard `k` of a batch of `b` rows cut into `s` shards.
pub fn shard_rows(b: usize, s: usize, k: usize) -> Range<usize> {
    k * b / s..(k + 1) * b / s
}

/// The shards a batch of `batch_size` rows is cut into for a `shards` option: at least 1, at
/// most the batch size (no shard is empty).
pub fn effective_shards(shards: usize, batch_size: usize) -> usize {
    shards.clamp(1, batch_size.max(1))
}

/// **Errors** unless `shards` is between 1 and [`MAX_SHARDS`]; `who` names the session.
pub fn check_shards(who: &str, shards: usize) -> Result<()> {
    if !(1..=MAX_SHARDS).contains(&shards) {
        return Err(Error::config(format!(
            "{who}: shards must be between 1 and {MAX_SHARDS}, not {shards}"
        )));
    }
    Ok(())
}

/// One shard's contribution to a step: its weighted loss `L_k` and gradient `g_k` (flat).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// `w_k` × the shard's mean loss.
    pub loss: f32,
    /// `w_k` × the shard's gradient, [`ParamStore::values_flat`]'s layout.
    pub grad: Vec<f32>,
}

/// A step under way: its batch, and the sum of the parts added so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The batch (the session's description of its rows).
    pub batch: Vec<usize>,
    shards: usize,
    next: usize,
    loss: f32,
    grad: Vec<f32>,
}

impl Pending {
    /// A step on `batch` cut into `shards` parts, none added yet.
    pub fn new(batch: Vec<usize>, shards: usize) -> Self {
        Pending {
            batch,
            shards,
            next: 0,
            loss: 0.0,
            grad: vec![],
        }
    }

    /// The shard whose part comes next.
    pub fn next(&self) -> usize {
        self.next
    }

    /// **Errors** unless `k` is the next shard (the sum is always in shard order).
    fn check_next(&self, k: usize) -> Result<()> {
        if k != self.next || k >= self.shards {
            return Err(Error::value(format!(
                "part of shard {k} given, but the step expects shard {} of {} next (parts are added in shard order)",
                self.next, self.shards
            )));
        }
        Ok(())
    }

    /// Adds part `k`, which must be the next one (the sum is always in shard order).
    ///
    /// **Errors** (nothing added) if `k` is not the next shard or `grad` has not `numel` values.
    pub fn add(&mut self, k: usize, loss: f32, grad: &[f32], numel: usize) -> Result<()> {
        self.check_next(k)?;
        if grad.len() != numel {
            return Err(Error::shape(format!(
                "the part of shard {k} has {} gradient values; the model has {numel} parameters",
                grad.len()
            )));
        }
        if k == 0 {
            self.loss = loss;
            self.grad = grad.to_vec();
        } else {
            self.loss += loss;
            for (a, &g) in self.grad.iter_mut().zip(grad) {
                *a += g;
            }
        }
        self.next += 1;
        Ok(())
    }

    /// Adds part `k` computed here, straight from `params`' gradients: loss `loss` (already
    /// weighted) and gradient `w ·` the parameters' gradients — the same numbers as
    /// [`Pending::add`] of the part [`Sharded::part`] returns, without that vector in between.
    ///
    /// **Errors** (nothing added) if `k` is not the next shard.
    pub fn add_from(
        &mut self,
        k: usize,
        loss: f32,
        params: &ParamStore<f32>,
        w: f32,
    ) -> Result<()> {
        self.check_next(k)?;
        if k == 0 {
            self.loss = loss;
            self.grad = params.grads_flat_scaled(w);
        } else {
            self.loss += loss;
            params.add_grads_scaled_to(&mut self.grad, w)?;
        }
        self.next += 1;
        Ok(())
    }

    /// The summed loss and gradient once every part is in.
    ///
    /// **Errors** if a part is missing.
    pub fn finish(self) -> Result<(f32, Vec<f32>)> {
        if self.next != self.shards {
            return Err(Error::value(format!(
                "the step has {} of its {} parts; add the rest before finishing it",
                self.next, self.shards
            )));
        }
        Ok((self.loss, self.grad))
    }
}

/// A training session whose steps can be cut into shards (see the module header). The
/// required methods are what differs between sessions; the provided ones are the protocol.
pub trait Sharded {
    /// The shard count S of its steps ([`effective_shards`] of its options).
    fn shards(&self) -> usize;
    /// Its parameters.
    fn params(&self) -> &ParamStore<f32>;
    /// Its parameters, mutably.
    fn params_mut(&mut self) -> &mut ParamStore<f32>;
    /// The step under way, if any.
    fn pending(&mut self) -> &mut Option<Box<Pending>>;
    /// Draws the next batch from the session's seeded sampler (advancing it): the numbers
    /// that name its rows.
    fn draw_batch(&mut self) -> Result<Vec<usize>>;
    /// Target tokens the loss counts in rows `rows` of `batch`.
    ///
    /// **Errors** if `batch` names rows the session does not have.
    fn counted(&self, batch: &[usize], rows: Range<usize>) -> Result<usize>;
    /// The mean loss over rows `rows` of `batch`, its gradient left in the parameters'
    /// gradients (which it zeroes first).
    fn backward_rows(&mut self, batch: &[usize], rows: Range<usize>) -> Result<f32>;
    /// The second half of a step, the summed gradient in the parameters' gradients: refuse a
    /// diverged loss, clip, step the optimiser, record `loss`; returns it.
    fn apply(&mut self, loss: f32) -> Result<f32>;

    /// Part `k` of a step on `batch`, computed with the current weights (what a worker
    /// holding a replica computes). Leaves the parameters' gradients changed.
    ///
    /// **Errors** if `k` is not a shard or the batch names rows the session lacks.
    fn part(&mut self, batch: &[usize], k: usize) -> Result<Part> {
        let (w, loss) = self.backward_part(batch, k)?;
        Ok(Part {
            loss: w * loss,
            grad: self.params().grads_flat_scaled(w),
        })
    }

    /// Part `k` of a step on `batch` up to its weighting: `(w_k, mean loss over shard k)`, the
    /// shard's gradient (not yet × w_k) left in the parameters' gradients.
    ///
    /// **Errors** as [`Sharded::part`].
    fn backward_part(&mut self, batch: &[usize], k: usize) -> Result<(f32, f32)> {
        let s = self.shards();
        if k >= s {
            return Err(Error::value(format!(
                "shard {k} does not exist: a step has {s} shards"
            )));
        }
        let rows = shard_rows(batch.len(), s, k);
        if rows.is_empty() {
            return Err(Error::value(format!(
                "shard {k} of a batch of {} rows cut into {s} is empty",
                batch.len()
            )));
        }
        let total = self.counted(batch, 0..batch.len())?;
        let n = self.counted(batch, rows.clone())?;
        let w = n as f32 / total.max(1) as f32;
        let loss = self.backward_rows(batch, rows)?;
        Ok((w, loss))
    }

    /// Starts a step: draws its batch (which is returned, for the workers) and forgets any step
    /// left unfinished.
    fn begin_step(&mut self) -> Result<Vec<usize>> {
        let batch = self.draw_batch()?;
        let s = self.shards();
        *self.pending() = Some(Box::new(Pending::new(batch.clone(), s)));
        Ok(batch)
    }

    /// Adds part `k` (computed anywhere) to the step under way; parts come in shard order.
    ///
    /// **Errors** with no step under way, out of order, or with the wrong number of values.
    fn add_part(&mut self, k: usize, loss: f32, grad: &[f32]) -> Result<()> {
        let numel = self.params().numel();
        self.pending()
            .as_mut()
            .ok_or_else(|| Error::value("no step is under way; begin one first"))?
            .add(k, loss, grad, numel)
    }

    /// Computes part `k` of the step under way here and adds it (the same numbers as adding
    /// [`Sharded::part`]; its gradient is added from the parameters' gradients in place).
    fn compute_part(&mut self, k: usize) -> Result<()> {
        let mut p = self
            .pending()
            .take()
            .ok_or_else(|| Error::value("no step is under way; begin one first"))?;
        let added = self
            .backward_part(&p.batch, k)
            .and_then(|(w, loss)| p.add_from(k, w * loss, self.params(), w));
        *self.pending() = Some(p);
        added
    }

    /// Ends the step under way: the summed gradient becomes the parameters' gradient and the
    /// session's update runs. Returns the batch's loss.
    ///
    /// **Errors** with no step under way or a part missing (the step is then dropped), or as
    /// [`Sharded::apply`].
    fn finish_step(&mut self) -> Result<f32> {
        let p = self
            .pending()
            .take()
            .ok_or_else(|| Error::value("no step is under way; begin one first"))?;
        let (loss, grad) = (*p).finish()?;
        self.params_mut().set_grads_flat(&grad)?;
        self.apply(loss)
    }

    /// A whole step, every part computed here.
    fn sharded_step(&mut self) -> Result<f32> {
        self.begin_step()?;
        for k in 0..self.shards() {
            self.compute_part(k)?;
        }
        self.finish_step()
    }
}

/// Inside `impl Sharded for …`: the members every session writes the same way, for one whose
/// `options` have `shards` and `batch_size`, whose `model` has `params`, and whose step under
/// way is its field `pending`.
macro_rules! sharded_plumbing {
    () => {
        fn shards(&self) -> usize {
            $crate::shards::effective_shards(self.options.shards, self.options.batch_size)
        }
        fn params(&self) -> &$crate::params::ParamStore<f32> {
            &self.model.params
        }
        fn params_mut(&mut self) -> &mut $crate::params::ParamStore<f32> {
            &mut self.model.params
        }
        fn pending(&mut self) -> &mut Option<Box<$crate::shards::Pending>> {
            &mut self.pending
        }
    };
}
pub(crate) use sharded_plumbing;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_batch_in_order_without_gaps() {
        for b in 1..20 {
            for s in 1..=b {
                let mut next = 0;
                for k in 0..s {
                    let r = shard_rows(b, s, k);
                    assert_eq!(r.start, next);
                    assert!(!r.is_empty(), "b {b} s {s} k {k}");
                    next = r.end;
                }
                assert_eq!(next, b);
            }
        }
        assert_eq!(effective_shards(4, 2), 2);
        assert_eq!(effective_shards(4, 16), 4);
        assert_eq!(effective_shards(0, 16), 1);
    }

    #[test]
    fn parts_are_summed_in_shard_order_only() {
        let mut p = Pending::new(vec![0, 1, 2], 3);
        assert!(p.add(1, 1.0, &[1.0, 2.0], 2).is_err());
        p.add(0, 0.5, &[1.0, 2.0], 2).unwrap();
        assert!(p.add(1, 0.5, &[1.0], 2).is_err(), "wrong length");
        p.add(1, 0.25, &[0.5, 0.5], 2).unwrap();
        assert!(p.clone().finish().is_err(), "a part missing");
        p.add(2, 0.25, &[-1.5, 0.5], 2).unwrap();
        assert!(p.clone().add(3, 0.0, &[0.0, 0.0], 2).is_err(), "no shard 3");
        assert_eq!(p.finish().unwrap(), (1.0, vec![0.0, 3.0]));
    }

    #[test]
    fn the_sum_is_left_to_right_whatever_the_values() {
        // (a + b) + c differs from a + (b + c) here: the order is the fixed one
        let (a, b, c) = (1e8f32, -1e8f32, 1.0f32);
        let mut p = Pending::new(vec![0, 1, 2], 3);
        p.add(0, a, &[a], 1).unwrap();
        p.add(1, b, &[b], 1).unwrap();
        p.add(2, c, &[c], 1).unwrap();
        let (l, g) = p.finish().unwrap();
        assert_eq!((l, g[0]), ((a + b) + c, (a + b) + c));
        assert_ne!((a + b) + c, a + (b + c));
    }
}
