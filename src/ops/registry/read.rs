//! Reading an op's arguments into what the ops take: masks and the bias by the one rule of
//! the op table ([`super`]; each shape checked before anything is combined), parameters into a
//! store, the activation, GELU's form, a layer's configuration, whole numbers.

use crate::args::Values;
use crate::error::{Error, Result};
use crate::layers::{LayerConfig, MAX_WIDTH};
use crate::ops::{layer_norm, Activation};
use crate::params::ParamStore;
use crate::real::Real;
use crate::scope::Decl;
use ndarray::{Array2, ArrayView2, ArrayView3, Axis, Ix3};

/// The one rule for combining masks (see [`super`]): `attnMask` `[tq, tk]` or'ed with
/// the causal mask when `causal`, each shape checked first.
pub(super) fn attn_mask<F: Real>(
    a: &Values<F>,
    mask_name: &str,
    causal: bool,
    tq: usize,
    tk: usize,
) -> Result<Option<Array2<bool>>> {
    let f = &a.func;
    let m = a.mask2(mask_name)?;
    if let Some(m) = &m {
        if m.dim() != (tq, tk) {
            return Err(Error::shape(format!(
                "{f}: {mask_name} has shape {:?}, expected [{tq}, {tk}] (queries × keys)",
                m.shape()
            )));
        }
    }
    if causal && tq != tk {
        return Err(Error::shape(format!(
            "{f}: causal needs as many queries as keys, got {tq} and {tk}"
        )));
    }
    Ok(match (m, causal) {
        (None, false) => None,
        (Some(m), false) => Some(m.to_owned()),
        (m, true) => Some(Array2::from_shape_fn((tq, tk), |(i, j)| {
            j > i || m.is_some_and(|m| m[[i, j]])
        })),
    })
}

/// A `[B, Tk]` key-padding mask, its shape checked.
pub(super) fn kpm<'a, F: Real>(
    a: &'a Values<F>,
    name: &str,
    b: usize,
    tk: usize,
) -> Result<Option<ArrayView2<'a, bool>>> {
    let m = a.mask2(name)?;
    if let Some(m) = &m {
        if m.dim() != (b, tk) {
            return Err(Error::shape(format!(
                "{}: {name} has shape {:?}, expected [{b}, {tk}] (batch × keys)",
                a.func,
                m.shape()
            )));
        }
    }
    Ok(m)
}

/// The additive bias `attnBias`, its shape checked: `[tq, tk]`, or when `batch_heads` is
/// `Some(B·H)` also `[B·H, tq, tk]`; as a `[1 or B·H, tq, tk]` view.
pub(super) fn attn_bias<'a, F: Real>(
    a: &'a Values<F>,
    tq: usize,
    tk: usize,
    batch_heads: Option<usize>,
) -> Result<Option<ArrayView3<'a, F>>> {
    let Some(bias) = a.opt_tensor("attnBias")? else {
        return Ok(None);
    };
    let shape = bias.shape().to_vec();
    let fits = match (shape.as_slice(), batch_heads) {
        ([r, c], _) => (*r, *c) == (tq, tk),
        ([n, r, c], Some(bh)) => (*n, *r, *c) == (bh, tq, tk),
        _ => false,
    };
    if !fits {
        let also = batch_heads
            .map(|bh| format!(" or [{bh}, {tq}, {tk}] (batch·heads × queries × keys)"))
            .unwrap_or_default();
        return Err(Error::shape(format!(
            "{}: attnBias has shape {shape:?}, expected [{tq}, {tk}] (queries × keys){also}",
            a.func
        )));
    }
    let bias = if shape.len() == 2 {
        bias.insert_axis(Axis(0))
    } else {
        bias
    };
    Ok(Some(
        bias.into_dimensionality::<Ix3>().expect("rank checked"),
    ))
}

/// The declared parameters, copied from the arguments into a store, each shape checked.
pub(super) fn store<F: Real>(a: &Values<F>, decls: &[Decl]) -> Result<ParamStore<F>> {
    let mut s = ParamStore::new();
    for Decl { name, shape, .. } in decls {
        let v = a.tensor(name)?;
        if v.shape() != shape.as_slice() {
            return Err(Error::shape(format!(
                "{}: {name} has shape {:?}, expected {shape:?}",
                a.func,
                v.shape()
            )));
        }
        s.insert(name.clone(), v.to_owned());
    }
    Ok(s)
}

/// One of `words` named by the text argument `name` (`default` when absent), by `parse`; the
/// words were checked by [`Values::check`], so an error here means `parse` and the spec
/// disagree.
pub(super) fn word<F: Real, T>(
    a: &Values<F>,
    name: &str,
    default: &str,
    words: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T> {
    let w = a.text_or(name, default)?;
    parse(w).ok_or_else(|| {
        Error::value(format!(
            "{}: {name} is {w:?}; it must be one of {}",
            a.func,
            words.join(", ")
        ))
    })
}

/// The feed-forward activation (`activation`, ReLU when absent, as in PyTorch's layers).
pub(super) fn activation<F: Real>(a: &Values<F>) -> Result<Activation> {
    word(
        a,
        "activation",
        "relu",
        Activation::NAMES,
        Activation::from_name,
    )
}

/// A layer's configuration from `heads`, `activation`, `normFirst`, `eps` and the shapes of
/// `linear1.weight` (d_ff) and the input (`d_model`), validated.
pub(super) fn layer_config<F: Real>(a: &Values<F>, d_model: usize) -> Result<LayerConfig> {
    let d_ff = a
        .tensor("linear1.weight")?
        .shape()
        .first()
        .copied()
        .unwrap_or(0);
    let cfg = LayerConfig {
        d_model,
        n_heads: a.usize_or("heads", 1)?,
        d_ff,
        activation: activation(a)?,
        norm_first: a.flag_or("normFirst", false)?,
        layer_norm_eps: a.number_or("eps", layer_norm::EPS)?,
    };
    if d_model > MAX_WIDTH {
        return Err(Error::config(format!(
            "{}: d_model {d_model} is more than {MAX_WIDTH}",
            a.func
        )));
    }
    cfg.validate().map_err(|e| e.context(&a.func))?;
    Ok(cfg)
}

/// Whole numbers from a float tensor (ids, targets): an error naming the first that is not.
pub(super) fn whole<F: Real>(a: &Values<F>, name: &str, lo: i64, hi: i64) -> Result<Vec<i64>> {
    let v = a.t1(name)?;
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            let x = x.f64();
            if x.fract() == 0.0 && x >= lo as f64 && x <= hi as f64 {
                Ok(x as i64)
            } else {
                Err(Error::value(format!(
                    "{}: {name}[{i}] is {x}; it must be a whole number from {lo} to {hi}",
                    a.func
                )))
            }
        })
        .collect()
}
