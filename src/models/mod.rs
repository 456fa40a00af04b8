//! The three model families of the seed article's module 3, each in its own file:
//!
//! - [`decoder_only`]: GPT-like, predicts the next token with a causal mask.
//! - [`encoder_decoder`]: the original Transformer (`nn.Transformer`): an encoder reads the
//!   source, a decoder writes the target while attending to it.
//! - [`encoder_only`]: BERT-like, sees the whole sentence and fills in masked tokens.
//!
//! They share the pieces in this file: token + learned position embeddings, a stack of encoder
//! layers, parameter initialisation, and the size limits that keep a link asking for a huge
//! model from freezing a tab.

pub mod decoder_only;
pub mod encoder_decoder;
pub mod encoder_only;

use crate::error::{Error, Result};
use crate::layers::encoder_layer::{self, EncoderLayerCache};
use crate::layers::LayerConfig;
use crate::ops::cross_entropy::{self, IGNORE_INDEX};
use crate::ops::embedding;
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use crate::rng::Rng;
use ndarray::{Array2, Array3, ArrayD, ArrayView2, ArrayView3, Axis, IxDyn};

/// Largest model the engine will build (scalar parameters): about 80 MB in f32, 4× that with
/// Adam's state and gradients, which still fits in a browser tab.
pub const MAX_PARAMS: usize = 4_000_000;
/// Largest vocabulary.
pub const MAX_VOCAB: usize = 65_536;
/// Largest context length.
pub const MAX_LEN: usize = 4096;
/// Largest number of layers in a stack.
pub const MAX_LAYERS: usize = 48;

/// Checks the sizes every model shares; `what` names the model in messages.
pub(crate) fn validate_common(
    what: &str,
    vocab: usize,
    max_len: usize,
    layers: &[(&str, usize)],
    layer: &LayerConfig,
) -> Result<()> {
    layer.validate().map_err(|e| e.context(what))?;
    if vocab == 0 || vocab > MAX_VOCAB {
        return Err(Error::config(format!(
            "{what}: vocab_size {vocab} must be between 1 and {MAX_VOCAB}"
        )));
    }
    if max_len == 0 || max_len > MAX_LEN {
        return Err(Error::config(format!(
            "{what}: max_len {max_len} must be between 1 and {MAX_LEN}"
        )));
    }
    for &(name, n) in layers {
        if n > MAX_LAYERS {
            return Err(Error::config(format!(
                "{what}: {name} {n} is more than {MAX_LAYERS}"
            )));
        }
    }
    Ok(())
}

/// Checks that the shapes' total size is within [`MAX_PARAMS`].
pub(crate) fn check_size(what: &str, shapes: &[(String, Vec<usize>)]) -> Result<()> {
    let mut total: usize = 0;
    for (_, s) in shapes {
        let n = s.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        total = n.and_then(|n| total.checked_add(n)).unwrap_or(usize::MAX);
    }
    if total > MAX_PARAMS {
        return Err(Error::config(format!(
            "{what}: {total} parameters is more than the limit of {MAX_PARAMS}"
        )));
    }
    Ok(())
}

/// A store with every parameter initialised from `seed`, by PyTorch's module defaults:
///
/// ```text
/// *.in_proj_weight            Xavier uniform  U(±√(6 / (C + 3C)))   (nn.MultiheadAttention)
/// *.in_proj_bias, *out_proj.bias   0
/// other *.weight of a linear  U(±1/√in)        (nn.Linear; bias likewise)
/// norm*.weight / ln_f.weight  1, bias 0        (nn.LayerNorm)
/// *_emb.weight                N(0, 1)          (nn.Embedding)
/// ```
///
/// Parameters are drawn in sorted-name order from one generator, so the same seed and config
/// give the same weights everywhere.
pub(crate) fn init_store<F: Real>(shapes: &[(String, Vec<usize>)], seed: u64) -> ParamStore<F> {
    let mut sorted: Vec<&(String, Vec<usize>)> = shapes.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rng = Rng::new(seed);
    let mut store = ParamStore::new();
    // A linear's bias uses its weight's fan-in; find it by swapping the suffix.
    let fan_in_of = |name: &str| -> usize {
        let w = name.trim_end_matches("bias").to_string() + "weight";
        shapes
            .iter()
            .find(|(n, _)| *n == w)
            .map(|(_, s)| s[1])
            .unwrap_or(1)
    };
    for (name, shape) in sorted {
        let n: usize = shape.iter().product();
        let leaf = name.rsplit('.').next().unwrap_or("");
        let is_norm = name.contains("norm") || name.starts_with("ln_f");
        let data: Vec<F> = if name.ends_with("_emb.weight") {
            (0..n).map(|_| F::of(rng.normal())).collect()
        } else if is_norm {
            vec![
                if leaf == "weight" {
                    F::one()
                } else {
                    F::zero()
                };
                n
            ]
        } else if leaf == "in_proj_weight" {
            let a = (6.0 / (shape[0] + shape[1]) as f64).sqrt();
            (0..n).map(|_| F::of(rng.uniform_in(-a, a))).collect()
        } else if leaf == "in_proj_bias" || name.ends_with("out_proj.bias") {
            vec![F::zero(); n]
        } else {
            let fan_in = if shape.len() == 2 {
                shape[1]
            } else {
                fan_in_of(name)
            };
            let a = 1.0 / (fan_in as f64).sqrt();
            (0..n).map(|_| F::of(rng.uniform_in(-a, a))).collect()
        };
        store.insert(
            name.clone(),
            ArrayD::from_shape_vec(IxDyn(shape), data).expect("shape"),
        );
    }
    store
}

/// Checks that `store` has exactly the parameters in `shapes`.
pub(crate) fn check_store<F: Real>(
    what: &str,
    store: &ParamStore<F>,
    shapes: &[(String, Vec<usize>)],
) -> Result<()> {
    let map = store.to_map();
    let mut probe = ParamStore::<F>::new();
    for (name, s) in shapes {
        probe.insert(name.clone(), ArrayD::zeros(IxDyn(s)));
    }
    probe.load_map(&map).map_err(|e| e.context(what))
}

/// Checks token ids `[B, T]` against the vocabulary and the context length.
pub(crate) fn check_ids(
    what: &str,
    arg: &str,
    ids: ArrayView2<usize>,
    vocab: usize,
    max_len: usize,
) -> Result<()> {
    let (b, t) = ids.dim();
    if b == 0 || t == 0 {
        return Err(Error::shape(format!(
            "{what}: {arg} has shape [{b}, {t}]; it needs at least one sequence of one token"
        )));
    }
    if t > max_len {
        return Err(Error::value(format!(
            "{what}: {arg} has {t} tokens but max_len is {max_len}"
        )));
    }
    if let Some(((i, j), &id)) = ids.indexed_iter().find(|(_, &id)| id >= vocab) {
        return Err(Error::value(format!(
            "{what}: {arg}[{i}][{j}] = {id} is not a token id (vocab_size is {vocab})"
        )));
    }
    Ok(())
}

/// `x[b, t] = tok_emb[ids[b, t]] + pos_emb[t]`, `[B, T, C]`.
pub(crate) fn embed<F: Real>(store: &ParamStore<F>, ids: ArrayView2<usize>) -> Result<Array3<F>> {
    let (b, t) = ids.dim();
    let tok = store.get2("tok_emb.weight")?;
    let pos = store.get2("pos_emb.weight")?;
    let flat: Vec<usize> = ids.iter().copied().collect();
    let mut x = embedding::forward(&flat, tok)?;
    let c = x.ncols();
    let p = pos.slice(ndarray::s![0..t, ..]);
    for mut chunk in x.axis_chunks_iter_mut(Axis(0), t) {
        chunk += &p;
    }
    Ok(x.into_shape_with_order((b, t, c)).expect("rows"))
}

/// Gradients of [`embed`]: the token table by scatter-add, positions summed over the batch.
pub(crate) fn embed_backward<F: Real>(
    dx: ArrayView3<F>,
    ids: ArrayView2<usize>,
    store: &ParamStore<F>,
    grads: &mut NamedGrads<F>,
) -> Result<()> {
    let (b, t, c) = dx.dim();
    let rows = dx.to_shape((b * t, c)).expect("rows");
    let flat: Vec<usize> = ids.iter().copied().collect();
    let vocab = store.get2("tok_emb.weight")?.nrows();
    grads.push((
        "tok_emb.weight".into(),
        embedding::backward(rows.view(), &flat, vocab).into_dyn(),
    ));
    let max_len = store.get2("pos_emb.weight")?.nrows();
    let mut dpos = Array2::zeros((max_len, c));
    dpos.slice_mut(ndarray::s![0..t, ..])
        .assign(&dx.sum_axis(Axis(0)));
    grads.push(("pos_emb.weight".into(), dpos.into_dyn()));
    Ok(())
}

/// A stack of encoder layers named `{prefix}{i}.`; returns the output and every layer's cache.
pub(crate) fn stack_forward<F: Real>(
    mut x: Array3<F>,
    store: &ParamStore<F>,
    prefix: &str,
    n: usize,
    cfg: &LayerConfig,
    mask: Option<ArrayView2<bool>>,
    kpm: Option<ArrayView2<bool>>,
) -> Result<(Array3<F>, Vec<EncoderLayerCache<F>>)> {
    let mut caches = Vec::with_capacity(n);
    for i in 0..n {
        let (y, c) =
            encoder_layer::forward(x.view(), store, &format!("{prefix}{i}."), cfg, mask, kpm)?;
        caches.push(c);
        x = y;
    }
    Ok((x, caches))
}

/// Backward of [`stack_forward`], walking the layers in reverse.
pub(crate) fn stack_backward<F: Real>(
    mut dx: Array3<F>,
    caches: &[EncoderLayerCache<F>],
    store: &ParamStore<F>,
    prefix: &str,
    cfg: &LayerConfig,
    grads: &mut NamedGrads<F>,
) -> Result<Array3<F>> {
    for (i, c) in caches.iter().enumerate().rev() {
        let (d, g) = encoder_layer::backward(dx.view(), c, store, &format!("{prefix}{i}."), cfg)?;
        grads.extend(g);
        dx = d;
    }
    Ok(dx)
}

/// Checks that targets have the shape of the ids.
pub(crate) fn check_targets(targets: ArrayView2<i64>, want: (usize, usize)) -> Result<()> {
    if targets.dim() != want {
        return Err(Error::shape(format!(
            "targets have shape {:?} but ids have [{}, {}]",
            targets.shape(),
            want.0,
            want.1
        )));
    }
    Ok(())
}

/// Mean cross-entropy of sequence logits `[B, T, V]` against `targets` `[B, T]` ([`IGNORE_INDEX`]
/// skips a position) and, when `with_grad`, its gradient ∂loss/∂logits `[B, T, V]`.
pub(crate) fn sequence_loss<F: Real>(
    logits: &Array3<F>,
    targets: ArrayView2<i64>,
    with_grad: bool,
) -> Result<(F, Option<Array3<F>>)> {
    let (b, t, v) = logits.dim();
    check_targets(targets, (b, t))?;
    let flat: Vec<i64> = targets.iter().copied().collect();
    let (loss, ce) = cross_entropy::forward(
        logits.to_shape((b * t, v)).expect("rows").view(),
        &flat,
        IGNORE_INDEX,
    )?;
    let dlogits = with_grad.then(|| {
        cross_entropy::backward(F::one(), &ce)
            .into_shape_with_order((b, t, v))
            .expect("rows")
    });
    Ok((loss, dlogits))
}
