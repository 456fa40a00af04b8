//! Optimisers with exactly `torch.optim`'s update rules, gradient clipping, and learning-rate
//! schedules.
//!
//! ```text
//! SGD       g ← g + λ·p                               (weight decay λ, if any)
//!           b ← g                       on the first step, else  b ← μ·b + (1 − dampening)·g
//!           g ← g + μ·b  (nesterov)  or  g ← b        (when momentum μ ≠ 0)
//!           p ← p − lr·g
//! Adam      g ← g + λ·p                               (L2 penalty folded into the gradient)
//!           m ← β₁·m + (1 − β₁)·g                     (first moment, a running mean)
//!           v ← β₂·v + (1 − β₂)·g²                    (second moment, a running mean square)
//!           p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
//! AdamW     p ← p·(1 − lr·λ)                          (decoupled weight decay), then Adam with λ = 0
//! ```
//!
//! The plain rule the seed article teaches, `new = old − learning rate × gradient`, is SGD
//! with μ = 0 and λ = 0. Parameters are visited in sorted-name order; state is kept per name.

use crate::error::{Code, Error, Result};
use crate::flat;
use crate::params::{ParamStore, TensorMap};
use crate::real::Real;
use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which optimiser, with its hyper-parameters (PyTorch's names and defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerConfig {
    /// `torch.optim.SGD`.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum μ (0 = plain gradient descent).
        momentum: f64,
        /// Dampening of the momentum's new gradient.
        dampening: f64,
        /// L2 weight decay λ.
        weight_decay: f64,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// `torch.optim.Adam`.
    Adam {
        /// Learning rate (PyTorch default 1e-3).
        lr: f64,
        /// β₁ (0.9).
        beta1: f64,
        /// β₂ (0.999).
        beta2: f64,
        /// ε (1e-8).
        eps: f64,
        /// L2 weight decay λ (0).
        weight_decay: f64,
    },
    /// `torch.optim.AdamW`.
    AdamW {
        /// Learning rate (1e-3).
        lr: f64,
        /// β₁ (0.9).
        beta1: f64,
        /// β₂ (0.999).
        beta2: f64,
        /// ε (1e-8).
        eps: f64,
        /// Decoupled weight decay λ (PyTorch default 0.01).
        weight_decay: f64,
    },
}

impl OptimizerConfig {
    /// Plain SGD: `new = old − lr × gradient`.
    pub fn sgd(lr: f64) -> Self {
        OptimizerConfig::Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
    /// Adam with PyTorch's defaults and the given learning rate.
    pub fn adam(lr: f64) -> Self {
        OptimizerConfig::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
    /// AdamW with PyTorch's defaults (weight decay 0.01) and the given learning rate.
    pub fn adamw(lr: f64) -> Self {
        OptimizerConfig::AdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
    /// The configured learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { lr, .. }
            | OptimizerConfig::Adam { lr, .. }
            | OptimizerConfig::AdamW { lr, .. } => lr,
        }
    }
    /// Checks every hyper-parameter, naming the bad one.
    pub fn validate(&self) -> Result<()> {
        let check = |name: &str, v: f64, ok: bool| -> Result<()> {
            if v.is_finite() && ok {
                Ok(())
            } else {
                Err(Error::config(format!(
                    "optimizer: {name} = {v} is not allowed"
                )))
            }
        };
        check_lr(self.lr())?;
        match *self {
            OptimizerConfig::Sgd {
                momentum,
                dampening,
                weight_decay,
                nesterov,
                ..
            } => {
                check("momentum", momentum, momentum >= 0.0)?;
                check("dampening", dampening, (0.0..=1.0).contains(&dampening))?;
                check("weight_decay", weight_decay, weight_decay >= 0.0)?;
                if nesterov && (momentum <= 0.0 || dampening != 0.0) {
                    return Err(Error::config(
                        "optimizer: Nesterov momentum requires a momentum and zero dampening",
                    ));
                }
            }
            OptimizerConfig::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            }
            | OptimizerConfig::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                check("beta1", beta1, (0.0..1.0).contains(&beta1))?;
                check("beta2", beta2, (0.0..1.0).contains(&beta2))?;
                check("eps", eps, eps >= 0.0)?;
                check("weight_decay", weight_decay, weight_decay >= 0.0)?;
            }
        }
        Ok(())
    }
}

/// A learning rate must be a finite number ≥ 0.
pub fn check_lr(lr: f64) -> Result<()> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(format!(
            "optimizer: learning rate {lr} must be a finite number ≥ 0"
        ))
        .with_code(Code::LearningRate)
        .with_param("lr", lr))
    }
}

/// Per-parameter state.
#[derive(Debug, Clone, PartialEq, Default)]
struct Slot<F> {
    /// SGD's momentum buffer, or Adam's first moment m.
    m: Option<ArrayD<F>>,
    /// Adam's second moment v.
    v: Option<ArrayD<F>>,
}

/// An optimiser and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer<F> {
    /// Which rule and hyper-parameters.
    pub config: OptimizerConfig,
    /// Steps taken so far (t in the bias corrections).
    pub steps: u64,
    state: BTreeMap<String, Slot<F>>,
}

impl<F: Real> Optimizer<F> {
    /// A fresh optimiser; an error if a hyper-parameter is out of range (a NaN learning rate…).
    pub fn new(config: OptimizerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Optimizer {
            config,
            steps: 0,
            state: BTreeMap::new(),
        })
    }

    /// One update of every parameter with the configured learning rate.
    pub fn step(&mut self, params: &mut ParamStore<F>) -> Result<()> {
        self.step_with_lr(params, self.config.lr())
    }

    /// One update with learning rate `lr` (from a schedule). Refuses, without changing
    /// anything, when a gradient is not finite, so a diverging run stops cleanly.
    pub fn step_with_lr(&mut self, params: &mut ParamStore<F>, lr: f64) -> Result<()> {
        check_lr(lr)?;
        for (name, p) in params.iter() {
            if let Some((i, _)) = crate::ops::first_non_finite(p.grad.view()) {
                return Err(Error::value(format!("optimizer: the gradient of {name:?} is not finite at flat index {i}; training has diverged")).with_code(Code::Diverged));
            }
        }
        self.steps += 1;
        let t = self.steps as i32;
        let lr_f = F::of(lr);
        for (name, p) in params.iter_mut() {
            let slot = self.state.entry(name.to_string()).or_default();
            match self.config {
                OptimizerConfig::Sgd {
                    momentum,
                    dampening,
                    weight_decay,
                    nesterov,
                    ..
                } => {
                    let (mu, damp, wd) = (F::of(momentum), F::of(dampening), F::of(weight_decay));
                    flat::same_shape(&p.value, &p.grad);
                    // the gradient, with the L2 penalty folded in
                    let mut d = flat::slice(&p.grad).into_owned();
                    if weight_decay != 0.0 {
                        for (g, &w) in d.iter_mut().zip(flat::slice(&p.value).iter()) {
                            *g += wd * w;
                        }
                    }
                    if momentum != 0.0 {
                        // the momentum buffer: a copy of the first gradient, then a running sum
                        let buf = match slot.m.take() {
                            None => ArrayD::from_shape_vec(p.value.raw_dim(), d.clone())
                                .expect("the gradient's shape"),
                            Some(mut b) => {
                                flat::same_shape(&b, &p.grad);
                                for (b, &g) in flat::slice_mut(&mut b).iter_mut().zip(&d) {
                                    *b = *b * mu + (F::one() - damp) * g;
                                }
                                b
                            }
                        };
                        let bs = flat::slice(&buf);
                        if nesterov {
                            for (g, &b) in d.iter_mut().zip(bs.iter()) {
                                *g += mu * b;
                            }
                        } else {
                            d.copy_from_slice(&bs);
                        }
                        drop(bs);
                        slot.m = Some(buf);
                    }
                    // new = old − lr × gradient
                    for (w, &g) in flat::slice_mut(&mut p.value).iter_mut().zip(&d) {
                        *w -= lr_f * g;
                    }
                }
                OptimizerConfig::Adam {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                    ..
                }
                | OptimizerConfig::AdamW {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                    ..
                } => {
                    let decoupled = matches!(self.config, OptimizerConfig::AdamW { .. });
                    let (b1, b2, wd) = (F::of(beta1), F::of(beta2), F::of(weight_decay));
                    flat::same_shape(&p.value, &p.grad);
                    let shape = p.value.raw_dim();
                    let m = slot.m.get_or_insert_with(|| ArrayD::zeros(shape.clone()));
                    let v = slot.v.get_or_insert_with(|| ArrayD::zeros(shape));
                    flat::same_shape(m, &p.grad);
                    flat::same_shape(v, &p.grad);
                    let (w, m, v) = (
                        flat::slice_mut(&mut p.value),
                        flat::slice_mut(m),
                        flat::slice_mut(v),
                    );
                    // (Adam with weight decay folds the L2 penalty into a copy of the gradient)
                    let mut g = flat::slice(&p.grad);
                    if !decoupled && weight_decay != 0.0 {
                        for (g, &w) in g.to_mut().iter_mut().zip(w.iter()) {
                            *g += w * wd;
                        }
                    }
                    if decoupled {
                        // AdamW: shrink the weights directly, outside the moments
                        for w in w.iter_mut() {
                            *w *= F::one() - lr_f * wd;
                        }
                    }
                    let bc1 = F::one() - b1.powi(t);
                    let bc2_sqrt = (F::one() - b2.powi(t)).sqrt();
                    let step_size = lr_f / bc1;
                    let e = F::of(eps);
                    // in one pass per weight: update the first moment (momentum) and the second
                    // moment (scale), bias-correct both (they start at zero) and step
                    for (((w, m), v), &g) in w
                        .iter_mut()
                        .zip(m.iter_mut())
                        .zip(v.iter_mut())
                        .zip(g.iter())
                    {
                        *m += (g - *m) * (F::one() - b1);
                        *v = *v * b2 + g * g * (F::one() - b2);
                        *w -= step_size * *m / (v.sqrt() / bc2_sqrt + e);
                    }
                }
            }
        }
        Ok(())
    }

    /// The raw moments (m, v) of weight `index` of parameter `name` (Adam/AdamW), if any.
    pub fn moments(&self, name: &str, index: usize) -> Option<(F, F)> {
        let slot = self.state.get(name)?;
        let m = slot.m.as_ref()?.as_slice()?.get(index).copied()?;
        let v = slot.v.as_ref()?.as_slice()?.get(index).copied()?;
        Some((m, v))
    }

    /// The optimiser's state as tensors named `{param}.momentum_buffer`, `{param}.exp_avg` and
    /// `{param}.exp_avg_sq` (PyTorch's names), for saving alongside the parameters.
    pub fn state_map(&self) -> TensorMap {
        let mut out = TensorMap::new();
        let sgd = matches!(self.config, OptimizerConfig::Sgd { .. });
        for (name, slot) in &self.state {
            let mut put = |suffix: &str, a: &Option<ArrayD<F>>| {
                if let Some(a) = a {
                    out.insert(
                        format!("{name}.{suffix}"),
                        (a.shape().to_vec(), a.iter().map(|x| x.f64()).collect()),
                    );
                }
            };
            put(if sgd { "momentum_buffer" } else { "exp_avg" }, &slot.m);
            put("exp_avg_sq", &slot.v);
        }
        out
    }

    /// Restores state saved by [`Optimizer::state_map`] after `steps` steps.
    pub fn load_state_map(&mut self, map: &TensorMap, steps: u64) -> Result<()> {
        let mut state = BTreeMap::new();
        for (key, (shape, data)) in map {
            let (name, suffix) = key.rsplit_once('.').ok_or_else(|| {
                Error::param(format!("optimizer state key {key:?} has no suffix"))
            })?;
            let a = ArrayD::from_shape_vec(IxDyn(shape), data.iter().map(|&x| F::of(x)).collect())
                .map_err(|_| {
                    Error::param(format!(
                        "optimizer state {key:?}: {} values for shape {shape:?}",
                        data.len()
                    ))
                })?;
            let slot: &mut Slot<F> = state.entry(name.to_string()).or_default();
            match suffix {
                "momentum_buffer" | "exp_avg" => slot.m = Some(a),
                "exp_avg_sq" => slot.v = Some(a),
                other => {
                    return Err(Error::param(format!(
                        "optimizer state key {key:?} has unknown suffix {other:?}"
                    )))
                }
            }
        }
        self.state = state;
        self.steps = steps;
        Ok(())
    }
}

/// Scales all gradients so their global norm is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_`: `g ← g · max_norm / (‖g‖ + 1e-6)` when that factor is < 1.
/// Returns the norm before clipping.
pub fn clip_grad_norm<F: Real>(params: &mut ParamStore<F>, max_norm: f64) -> Result<f64> {
    if !(max_norm.is_finite() && max_norm > 0.0) {
        return Err(Error::config(format!(
            "clip_grad_norm: max_norm {max_norm} must be a positive number"
        )));
    }
    let total = params.grad_norm();
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        let c = F::of(coef);
        for (_, p) in params.iter_mut() {
            for g in flat::slice_mut(&mut p.grad) {
                *g *= c;
            }
        }
    }
    Ok(total)
}

/// A learning-rate schedule: the rate as a pure function of the step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// The base rate at every step.
    Constant,
    /// Linear warm-up, then cosine decay to `min_ratio` × base (nanoGPT's `get_lr`).
    WarmupCosine {
        /// Steps of linear warm-up.
        warmup: u64,
        /// Step at which the decay reaches its floor.
        total: u64,
        /// Floor as a fraction of the base rate.
        min_ratio: f64,
    },
}

impl Schedule {
    /// The learning rate at `step` (0-based) for base rate `base`.
    pub fn lr(&self, base: f64, step: u64) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::WarmupCosine {
                warmup,
                total,
                min_ratio,
            } => {
                let min_lr = base * min_ratio;
                // 1) linear warm-up over the first `warmup` steps
                if step < warmup {
                    return base * (step + 1) as f64 / warmup as f64;
                }
                // 2) past the end, the floor
                if step >= total || total <= warmup {
                    return min_lr;
                }
                // 3) in between, a half cosine from base down to the floor
                let ratio = (step - warmup) as f64 / (total - warmup) as f64;
                let coeff = 0.5 * (1.0 + (std::f64::consts::PI * ratio).cos());
                min_lr + coeff * (base - min_lr)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_param(w: f64, g: f64) -> ParamStore<f64> {
        let mut s = ParamStore::new();
        s.insert("w", ndarray::arr1(&[w]).into_dyn());
        s.param_mut("w").unwrap().grad.fill(g);
        s
    }

    #[test]
    fn sgd_is_old_minus_lr_times_gradient() {
        // new = 1.0 − 0.1 × 2.0 = 0.8
        let mut s = one_param(1.0, 2.0);
        Optimizer::new(OptimizerConfig::sgd(0.1))
            .unwrap()
            .step(&mut s)
            .unwrap();
        assert!((s.get("w").unwrap()[[0]] - 0.8).abs() < 1e-15);
    }

    #[test]
    fn adam_first_step_moves_by_lr() {
        // After one step m̂ = g and v̂ = g², so the step is lr · g/(|g| + ε) ≈ lr · sign(g).
        let mut s = one_param(1.0, -3.0);
        Optimizer::new(OptimizerConfig::adam(0.01))
            .unwrap()
            .step(&mut s)
            .unwrap();
        assert!((s.get("w").unwrap()[[0]] - 1.01).abs() < 1e-9);
    }

    #[test]
    fn bad_hyperparameters_and_nan_gradients_are_errors() {
        assert!(Optimizer::<f32>::new(OptimizerConfig::sgd(f64::NAN))
            .unwrap_err()
            .message
            .contains("learning rate NaN"));
        assert!(Optimizer::<f32>::new(OptimizerConfig::sgd(-1.0)).is_err());
        let mut s = one_param(1.0, f64::INFINITY);
        let mut o = Optimizer::new(OptimizerConfig::adam(0.1)).unwrap();
        assert!(o.step(&mut s).unwrap_err().message.contains("diverged"));
        assert_eq!(s.get("w").unwrap()[[0]], 1.0, "nothing changed");
    }

    #[test]
    fn clipping_and_schedules() {
        // grads (3, 4) have norm 5; clipping to 1 scales them by 1/(5 + 1e-6).
        let mut s = ParamStore::<f64>::new();
        s.insert("a", ndarray::arr1(&[0.0, 0.0]).into_dyn());
        s.param_mut("a")
            .unwrap()
            .grad
            .assign(&ndarray::arr1(&[3.0, 4.0]).into_dyn());
        assert_eq!(clip_grad_norm(&mut s, 1.0).unwrap(), 5.0);
        assert!((s.grad_norm() - 5.0 / (5.0 + 1e-6)).abs() < 1e-12);
        let sch = Schedule::WarmupCosine {
            warmup: 10,
            total: 110,
            min_ratio: 0.1,
        };
        assert!((sch.lr(1.0, 0) - 0.1).abs() < 1e-15); // 1/10 of the way up
        assert!((sch.lr(1.0, 9) - 1.0).abs() < 1e-15); // top of the warm-up
        assert!((sch.lr(1.0, 60) - 0.55).abs() < 1e-12); // half-way down: 0.1 + 0.5 · 0.9
        assert!((sch.lr(1.0, 500) - 0.1).abs() < 1e-15); // floor
        assert_eq!(Schedule::Constant.lr(0.3, 1000), 0.3);
    }
}
