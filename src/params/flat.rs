//! The store in one flat layout: every parameter's values (or gradients) one after another,
//! parameters in sorted order (`[numel]`). What a training worker sends a replica (the weights)
//! and what comes back (a shard's gradient), [`crate::shards`].

use super::{Param, ParamStore};
use crate::error::{Error, Result};
use crate::real::Real;
use ndarray::ArrayD;

impl<F: Real> ParamStore<F> {
    /// Every value, parameter after parameter in sorted order, as one flat vector (what a
    /// worker holding a replica is sent, [`crate::shards`]).
    pub fn values_flat(&self) -> Vec<F> {
        let mut out = Vec::with_capacity(self.numel());
        for p in self.params.values() {
            out.extend_from_slice(&crate::flat::slice(&p.value));
        }
        out
    }

    /// Sets every value from [`ParamStore::values_flat`]'s layout.
    ///
    /// **Errors** (nothing changed) unless `flat` has exactly [`ParamStore::numel`] values.
    pub fn set_values_flat(&mut self, flat: &[F]) -> Result<()> {
        self.set_flat("weights", flat, |p| &mut p.value)
    }

    /// Every gradient times `scale`, in [`ParamStore::values_flat`]'s layout.
    pub fn grads_flat_scaled(&self, scale: F) -> Vec<F> {
        let mut out = Vec::with_capacity(self.numel());
        for p in self.params.values() {
            out.extend(crate::flat::slice(&p.grad).iter().map(|&g| g * scale));
        }
        out
    }

    /// Adds every gradient times `scale` to `out` (`out[i] += g[i] · scale`), in
    /// [`ParamStore::values_flat`]'s layout: [`ParamStore::grads_flat_scaled`] added in place,
    /// the same numbers without the vector in between.
    ///
    /// **Errors** (nothing changed) unless `out` has exactly [`ParamStore::numel`] values.
    pub fn add_grads_scaled_to(&self, out: &mut [F], scale: F) -> Result<()> {
        let n = self.numel();
        if out.len() != n {
            return Err(Error::shape(format!(
                "{} gradients to add to, for a model of {n} parameters",
                out.len()
            )));
        }
        let mut at = 0;
        for p in self.params.values() {
            let g = crate::flat::slice(&p.grad);
            for (a, &x) in out[at..at + g.len()].iter_mut().zip(g.iter()) {
                *a += x * scale;
            }
            at += g.len();
        }
        Ok(())
    }

    /// Sets every gradient from [`ParamStore::values_flat`]'s layout.
    ///
    /// **Errors** (nothing changed) unless `flat` has exactly [`ParamStore::numel`] values.
    pub fn set_grads_flat(&mut self, flat: &[F]) -> Result<()> {
        self.set_flat("gradients", flat, |p| &mut p.grad)
    }

    /// Fills the tensor `pick` chooses of every parameter from `flat` (`what` names them).
    fn set_flat(
        &mut self,
        what: &str,
        flat: &[F],
        pick: impl Fn(&mut Param<F>) -> &mut ArrayD<F>,
    ) -> Result<()> {
        let n = self.numel();
        if flat.len() != n {
            return Err(Error::shape(format!(
                "{} {what} given for a model of {n} parameters",
                flat.len()
            )));
        }
        let mut at = 0;
        for p in self.params.values_mut() {
            let a = pick(p);
            let n = a.len();
            crate::flat::slice_mut(a).copy_from_slice(&flat[at..at + n]);
            at += n;
        }
        Ok(())
    }
}
