//! Backpropagation you can follow, for one training example: a prompt and the token that
//! should come next (the seed article's 今天天气真好，适合去 → 散步). Module 4 of the article,
//! computed by the engine's own forward and backward passes:
//!
//! ```text
//! p = softmax(z),  z = the logits after the prompt's last token              [V]
//! L = −log p[target]                         (cross-entropy on that one position)
//! ∂L/∂z = p − y,  y = one-hot(target)         (the engine's cross-entropy backward)
//! ∂L/∂h, h = ln_f's output  →  ∂L/∂x_L  →  for l = L−1 … 0: between attention and FFN,
//!   then the layer's input  →  ∂L/∂x₀, x₀ = tok_emb[ids] + pos_emb     (the residual stream)
//! ∂L/∂θ for every parameter tensor θ                                   (what an optimiser uses)
//! θ' = θ − η · ∂L/∂θ                          (one step of plain SGD, on every weight)
//! L(η) = L(θ − η · ∂L/∂θ)                     (the step-size curve, for a list of η)
//! ```
//!
//! The gradients of the residual stream are those [`DecoderOnly::gradients_recorded`] records
//! while it computes the parameters' gradients, so they are the numbers the model's backward
//! uses, not a second computation. [`blame`] works on a model in `f32` (the page's) or `f64`
//! (the gradient checks', against central differences).

use crate::error::{Code, Error, Result};
use crate::models::decoder_only::{BackwardRecord, DecoderOnly};
use crate::models::sequence_loss;
use crate::ops::cross_entropy::IGNORE_INDEX;
use crate::ops::softmax;
use crate::params::NamedGrads;
use crate::real::Real;
use crate::trainer::{step_flops, Trainer};
use ndarray::{Array2, Array3, ArrayD, ArrayView2, Axis};
use serde::Serialize;

/// The article's example and its English twin (the learning panel's prompts, `learn.js`
/// `PROMPTS`; in English the corpus continues "… a good day for" with "a" and then "walk",
/// so the twin's prompt ends with "a"): `(language, prompt, target)`.
pub const EXAMPLES: [(&str, &str, &str); 2] = [
    ("zh", "今天天气真好，适合去", "散步"),
    ("en", "the weather is nice today , a good day for a", "walk"),
];

/// Most learning rates one step-size curve takes.
pub const MAX_STEP_SIZES: usize = 256;

/// The gradient of the residual stream at one stage of the backward pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// What the gradient is of: `"logits"`, `"ln_f.output"` (lm_head's input),
    /// `"layers.{l}.output"`, `"layers.{l}.mid"` (between layer l's attention and its FFN) or
    /// `"embeddings"` (`tok_emb[ids] + pos_emb`).
    pub name: String,
    /// `"logits"`, `"final_norm"`, `"layer_output"`, `"layer_mid"` or `"embeddings"`.
    pub kind: &'static str,
    /// The layer of a `layer_*` stage.
    pub layer: Option<usize>,
    /// ‖∂L/∂s‖ over every position (Frobenius norm).
    pub norm: f64,
    /// `‖∂L/∂s[t]‖` per position t of the prompt.
    pub per_token: Vec<f64>,
}

/// One parameter tensor's gradient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamBlame {
    /// Its PyTorch name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// ‖∂L/∂θ‖.
    pub norm: f64,
}

/// How much blame reaches one input token.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenBlame {
    /// Its position in the prompt.
    pub position: usize,
    /// Its token id.
    pub id: usize,
    /// `‖∂L/∂x₀[t]‖`: the gradient reaching its embedding vector at this position (what flows
    /// into its row of tok_emb, and into row t of pos_emb).
    pub norm: f64,
    /// `‖∂L/∂tok_emb[id]‖`: its row of the token table (the sum over the positions where the
    /// same token occurs).
    pub row_norm: f64,
}

/// Everything the backward pass says about one example.
#[derive(Debug, Clone)]
pub struct Blame<F> {
    /// The prompt's token ids.
    pub ids: Vec<usize>,
    /// The token that should come next.
    pub target: usize,
    /// p: the probability of every token after the prompt, `[V]`.
    pub probs: Vec<F>,
    /// `L = −log p[target]`.
    pub loss: F,
    /// ∂L/∂z = p − y at the last position, `[V]`, from the engine's cross-entropy backward.
    pub dlogits: Vec<F>,
    /// The residual stream's gradient, from the loss down to the embeddings.
    pub stages: Vec<Stage>,
    /// Every parameter tensor's gradient norm, in the store's (sorted) order.
    pub params: Vec<ParamBlame>,
    /// Per prompt position.
    pub tokens: Vec<TokenBlame>,
    /// The position whose embedding gets the largest gradient (ties: the first).
    pub most_blamed: usize,
    /// The named gradients ∂L/∂θ, as [`DecoderOnly::gradients`] gives them.
    pub grads: NamedGrads<F>,
    /// The raw gradients of the residual stream.
    pub record: BackwardRecord<F>,
}

fn norm<F: Real>(xs: impl IntoIterator<Item = F>) -> f64 {
    xs.into_iter()
        .map(|x| x.f64() * x.f64())
        .sum::<f64>()
        .sqrt()
}

/// Per-row norms of `[B·T, C]` or `[B, T, C]` data with B = 1 as rows of C.
fn row_norms<F: Real>(rows: ArrayView2<F>) -> Vec<f64> {
    rows.outer_iter().map(|r| norm(r.iter().copied())).collect()
}

fn stage3<F: Real>(name: String, kind: &'static str, layer: Option<usize>, g: &Array3<F>) -> Stage {
    let rows = g.index_axis(Axis(0), 0);
    stage2(name, kind, layer, rows)
}

fn stage2<F: Real>(
    name: String,
    kind: &'static str,
    layer: Option<usize>,
    rows: ArrayView2<F>,
) -> Stage {
    let per_token = row_norms(rows);
    Stage {
        name,
        kind,
        layer,
        norm: per_token.iter().map(|x| x * x).sum::<f64>().sqrt(),
        per_token,
    }
}

/// Checks the example against the model: 1 to max_len prompt tokens, ids and target in the
/// vocabulary.
fn check_example<F: Real>(model: &DecoderOnly<F>, ids: &[usize], target: usize) -> Result<()> {
    let cfg = &model.config;
    if ids.is_empty() {
        return Err(Error::value("the prompt has no tokens").with_code(Code::PromptEmpty));
    }
    if ids.len() > cfg.max_len {
        return Err(Error::value(format!(
            "the prompt has {} tokens; the model reads at most {}",
            ids.len(),
            cfg.max_len
        ))
        .with_code(Code::PromptTooLong)
        .with_param("n", ids.len())
        .with_param("max", cfg.max_len));
    }
    if let Some(&bad) = ids.iter().chain([&target]).find(|&&i| i >= cfg.vocab_size) {
        return Err(Error::value(format!(
            "token id {bad} is outside the vocabulary of {}",
            cfg.vocab_size
        )));
    }
    Ok(())
}

/// The next-token probabilities after `ids` and `L = −log p[target]` (no gradients).
pub fn next_loss<F: Real>(
    model: &DecoderOnly<F>,
    ids: &[usize],
    target: usize,
) -> Result<(Vec<F>, F)> {
    check_example(model, ids, target)?;
    let (logits, _) = model.forward(one_row(ids).view())?;
    let (loss, _) = sequence_loss(&logits, targets_row(ids.len(), target).view(), false)?;
    Ok((last_probs(&logits), loss))
}

fn one_row(ids: &[usize]) -> Array2<usize> {
    Array2::from_shape_vec((1, ids.len()), ids.to_vec()).expect("1×T")
}

/// The targets of one example: ignored everywhere but the last position.
fn targets_row(t: usize, target: usize) -> Array2<i64> {
    let mut y = Array2::from_elem((1, t), IGNORE_INDEX);
    y[[0, t - 1]] = target as i64;
    y
}

fn last_probs<F: Real>(logits: &Array3<F>) -> Vec<F> {
    let t = logits.dim().1;
    let row = logits.slice(ndarray::s![0, t - 1..t, ..]);
    softmax::forward(row).row(0).to_vec()
}

/// The whole backward pass on one example (see the module header): the prompt's `ids` (1 to
/// max_len of them) and the `target` token that should follow.
///
/// **Errors**: no ids, more than max_len, an id or the target outside the vocabulary.
pub fn blame<F: Real>(model: &DecoderOnly<F>, ids: &[usize], target: usize) -> Result<Blame<F>> {
    check_example(model, ids, target)?;
    let t = ids.len();
    let (logits, cache) = model.forward(one_row(ids).view())?;
    let (loss, dlogits) = sequence_loss(&logits, targets_row(t, target).view(), true)?;
    let dlogits = dlogits.expect("with_grad");
    let (grads, record) = model.gradients_recorded(dlogits.view(), &cache, true)?;
    let record = record.expect("recorded");
    let n_layers = record.layers.len();
    let mut stages = vec![
        stage3("logits".into(), "logits", None, &dlogits),
        stage2(
            "ln_f.output".into(),
            "final_norm",
            None,
            record.hidden.view(),
        ),
    ];
    for (l, lb) in record.layers.iter().enumerate().rev() {
        stages.push(stage3(
            format!("layers.{l}.output"),
            "layer_output",
            Some(l),
            &lb.output,
        ));
        stages.push(stage3(
            format!("layers.{l}.mid"),
            "layer_mid",
            Some(l),
            &lb.mid,
        ));
    }
    stages.push(stage3(
        "embeddings".into(),
        "embeddings",
        None,
        &record.embeddings,
    ));
    debug_assert_eq!(stages.len(), 3 + 2 * n_layers);
    // Sum the pushed gradients per name (each is pushed once; summing keeps this true anyway).
    let mut store = model.params.clone();
    store.zero_grad();
    store.accumulate_all(grads.clone())?;
    let params = store
        .iter()
        .map(|(n, p)| ParamBlame {
            name: n.to_string(),
            shape: p.grad.shape().to_vec(),
            norm: norm(p.grad.iter().copied()),
        })
        .collect();
    let tok_grad = store.grad("tok_emb.weight")?;
    let per_pos = row_norms(record.embeddings.index_axis(Axis(0), 0));
    let tokens: Vec<TokenBlame> = ids
        .iter()
        .zip(&per_pos)
        .enumerate()
        .map(|(position, (&id, &n))| TokenBlame {
            position,
            id,
            norm: n,
            row_norm: norm(tok_grad.index_axis(Axis(0), id).iter().copied()),
        })
        .collect();
    let most_blamed = (0..t).fold(
        0,
        |best, i| if per_pos[i] > per_pos[best] { i } else { best },
    );
    Ok(Blame {
        ids: ids.to_vec(),
        target,
        probs: last_probs(&logits),
        loss,
        dlogits: dlogits.slice(ndarray::s![0, t - 1, ..]).to_vec(),
        stages,
        params,
        tokens,
        most_blamed,
        grads,
        record,
    })
}

/// One weight's plain-SGD update, with every number of new = old − η · grad.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightUpdate {
    /// Parameter name.
    pub name: String,
    /// Flat index in the parameter.
    pub index: usize,
    /// Value before the step.
    pub old: f64,
    /// ∂L/∂w on this example.
    pub grad: f64,
    /// η.
    pub lr: f64,
    /// old − η · grad, as the engine computed it (in the model's float type).
    pub new: f64,
}

/// Checks a learning rate: finite and at least 0; `what` names it in the message.
fn check_lr(what: &str, lr: f64) -> Result<()> {
    if !(lr.is_finite() && lr >= 0.0) {
        return Err(Error::value(format!(
            "{what} is {}; a learning rate must be a finite number ≥ 0",
            crate::args::show(lr)
        ))
        .with_code(Code::LearningRate)
        .with_param("lr", crate::args::show(lr)));
    }
    Ok(())
}

/// The summed gradient of every parameter, as a store of values θ and gradients g.
fn summed<F: Real>(model: &DecoderOnly<F>, grads: &NamedGrads<F>) -> Result<DecoderOnly<F>> {
    let mut m = model.clone();
    m.params.zero_grad();
    m.params.accumulate_all(grads.clone())?;
    Ok(m)
}

/// `model` with every weight moved by one plain-SGD step, θ − η·g (g: `grads`, summed per name).
pub fn sgd_step<F: Real>(
    model: &DecoderOnly<F>,
    grads: &NamedGrads<F>,
    lr: f64,
) -> Result<DecoderOnly<F>> {
    check_lr("lr", lr)?;
    let mut m = summed(model, grads)?;
    let eta = F::of(lr);
    for (_, p) in m.params.iter_mut() {
        let g = std::mem::replace(&mut p.grad, ArrayD::zeros(p.value.raw_dim()));
        p.value.zip_mut_with(&g, |w, &gi| *w -= eta * gi);
    }
    Ok(m)
}

/// The weight with the largest |gradient| (ties: the first in name order, then flat index),
/// among all of them or those of the tensor `only`.
///
/// **Errors**: `only` is not a parameter's name.
pub fn largest_gradient<F: Real>(
    model: &DecoderOnly<F>,
    grads: &NamedGrads<F>,
    only: Option<&str>,
) -> Result<(String, usize)> {
    if let Some(n) = only {
        model.params.get(n)?;
    }
    let m = summed(model, grads)?;
    let mut best: Option<(String, usize, f64)> = None;
    for (n, p) in m
        .params
        .iter()
        .filter(|(n, _)| only.is_none_or(|o| o == *n))
    {
        for (i, g) in p.grad.iter().enumerate() {
            let a = g.f64().abs();
            if best.as_ref().is_none_or(|b| a > b.2) {
                best = Some((n.to_string(), i, a));
            }
        }
    }
    let (n, i, _) = best.ok_or_else(|| Error::value("the model has no weights"))?;
    Ok((n, i))
}

/// The update of weight `index` of `name` in the step from `before` to `after`.
pub fn weight_update<F: Real>(
    before: &DecoderOnly<F>,
    after: &DecoderOnly<F>,
    grads: &NamedGrads<F>,
    lr: f64,
    name: &str,
    index: usize,
) -> Result<WeightUpdate> {
    let p = before.params.get(name)?;
    if index >= p.len() {
        return Err(Error::value(format!(
            "{name:?} has {} values; index {index} is out of range",
            p.len()
        )));
    }
    let g = summed(before, grads)?;
    let at = |a: &ArrayD<F>| a.iter().nth(index).expect("in range").f64();
    Ok(WeightUpdate {
        name: name.to_string(),
        index,
        old: at(p),
        grad: at(g.params.grad(name)?),
        lr,
        new: at(after.params.get(name)?),
    })
}

/// The loss of the example along the gradient: L(θ − η·g) for each η of `lrs` (each finite
/// and ≥ 0, at most [`MAX_STEP_SIZES`] of them), g = `grads` (the example's own gradient).
pub fn step_size_curve<F: Real>(
    model: &DecoderOnly<F>,
    ids: &[usize],
    target: usize,
    grads: &NamedGrads<F>,
    lrs: &[f64],
) -> Result<Vec<F>> {
    check_lrs(lrs)?;
    check_example(model, ids, target)?;
    along_gradient(model, grads, lrs, |m| Ok(next_loss(m, ids, target)?.1))
}

/// `at(θ − η·g)` for each η of `lrs` (each finite and ≥ 0, at most [`MAX_STEP_SIZES`]):
/// whatever `at` measures of the model after one plain-SGD step of each size along `grads`
/// (the example's loss, the held-out text's…). `model` is not changed.
pub fn along_gradient<F: Real, T>(
    model: &DecoderOnly<F>,
    grads: &NamedGrads<F>,
    lrs: &[f64],
    mut at: impl FnMut(&DecoderOnly<F>) -> Result<T>,
) -> Result<Vec<T>> {
    check_lrs(lrs)?;
    let g = summed(model, grads)?;
    let mut m = model.clone();
    let mut out = Vec::with_capacity(lrs.len());
    for &lr in lrs {
        let eta = F::of(lr);
        for ((_, p), (_, q)) in m.params.iter_mut().zip(g.params.iter()) {
            ndarray::Zip::from(&mut p.value)
                .and(&q.value)
                .and(&q.grad)
                .for_each(|w, &w0, &gi| *w = w0 - eta * gi);
        }
        out.push(at(&m)?);
    }
    Ok(out)
}

/// Checks a list of learning rates: 1 to [`MAX_STEP_SIZES`], each finite and ≥ 0.
pub fn check_lrs(lrs: &[f64]) -> Result<()> {
    if lrs.is_empty() || lrs.len() > MAX_STEP_SIZES {
        return Err(Error::value(format!(
            "lrs has {} values; give 1 to {MAX_STEP_SIZES} learning rates",
            lrs.len()
        )));
    }
    for (i, &lr) in lrs.iter().enumerate() {
        check_lr(&format!("lrs[{i}]"), lr)?;
    }
    Ok(())
}

/// Refuses an example whose backward pass and `forwards` extra forward passes would take more
/// than [`crate::args::MAX_FLOPS`].
pub fn check_work<F: Real>(model: &DecoderOnly<F>, tokens: usize, forwards: usize) -> Result<()> {
    check_work_with(model, tokens, forwards, (0, 0))
}

/// [`check_work`] when each of the `forwards` also reads `also.0` windows of `also.1` tokens
/// (the held-out text, say).
pub fn check_work_with<F: Real>(
    model: &DecoderOnly<F>,
    tokens: usize,
    forwards: usize,
    also: (usize, usize),
) -> Result<()> {
    let step = step_flops(&model.config, 1, tokens.max(1));
    let extra = match also {
        (0, _) | (_, 0) => 0,
        (rows, t) => step_flops(&model.config, rows, t).div_ceil(3),
    };
    let total = step + (forwards as u128) * (step.div_ceil(3) + extra);
    if total > crate::args::MAX_FLOPS {
        return Err(Error::value(format!(
            "{forwards} forward passes of {tokens} tokens would take about {total} floating-point operations, more than the limit of {} for one call; give fewer learning rates or a shorter prompt",
            crate::args::MAX_FLOPS
        )));
    }
    Ok(())
}

/// The index of the smallest value (ties: the first; NaN skipped), None if there is none.
pub fn argmin<F: Real>(xs: &[F]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, x) in xs.iter().enumerate() {
        if !x.is_nan() && best.is_none_or(|b| *x < xs[b]) {
            best = Some(i);
        }
    }
    best
}

/// A prompt and its target as token ids of a session's tokenizer.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The prompt's pieces (its last max_len).
    pub pieces: Vec<String>,
    /// Their ids.
    pub ids: Vec<usize>,
    /// Pieces left out in front (the model reads at most max_len).
    pub dropped: usize,
    /// The target piece.
    pub target_piece: String,
    /// Its id.
    pub target: usize,
}

/// `prompt` and `target` cut by `tr`'s tokenizer. The target must be one piece of the
/// vocabulary, given as it is written there (surrounding spaces are ignored).
///
/// **Errors** (each naming the argument): an empty prompt or one without tokens, an empty
/// target, a target that is not one piece of the vocabulary (saying how it is cut), a model
/// without a tokenizer.
pub fn example(tr: &Trainer, prompt: &str, target: &str) -> Result<Example> {
    let tok = tr.tokenizer.as_ref().ok_or_else(|| {
        Error::value("this model has no tokenizer; create it with a corpus or a vocabulary")
    })?;
    if prompt.trim().is_empty() {
        return Err(Error::value(
            "the prompt is empty; type the words the model reads before the target",
        )
        .with_code(Code::PromptEmpty));
    }
    let t = target.trim();
    if t.is_empty() {
        return Err(
            Error::value("the target is empty; give the one token that should come next")
                .with_code(Code::TargetEmpty),
        );
    }
    let id = tok.id(t).ok_or_else(|| {
        let (pieces, ids) = tok.encode(t);
        let more = pieces.len().saturating_sub(8);
        let mut cut: Vec<String> = pieces
            .iter()
            .zip(&ids)
            .take(8)
            .map(|(p, &i)| {
                if i == crate::tokenizer::UNK {
                    format!("{p:?} (unknown)")
                } else {
                    format!("{p:?}")
                }
            })
            .collect();
        if more > 0 {
            cut.push(format!("{more} more"));
        }
        let t: String = if t.chars().count() > 40 {
            t.chars().take(40).chain("…".chars()).collect()
        } else {
            t.to_string()
        };
        // (for the translations: the pieces as written, without the English words)
        let written: Vec<String> = pieces.iter().take(8).map(|p| format!("“{p}”")).collect();
        Error::value(format!(
            "the target {t:?} is not one token of the vocabulary (it is cut into {}); give one token the model knows",
            if cut.is_empty() { "nothing".to_string() } else { cut.join(" + ") }
        ))
        .with_code(Code::TargetNotOneToken)
        .with_param("target", &t)
        .with_param("pieces", format!("{}{}", written.join(" + "), if more > 0 { " + …" } else { "" }))
    })?;
    let all = tok.encode(prompt).1.len();
    let (pieces, ids) = tr.encode(prompt).map_err(|e| e.context("prompt"))?;
    Ok(Example {
        dropped: all - ids.len(),
        pieces,
        ids,
        target_piece: t.to_string(),
        target: id,
    })
}

#[cfg(test)]
mod tests;
