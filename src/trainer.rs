//! A training session: a decoder-only model, its tokenizer, its data, its optimiser and the
//! record of what happened (losses, gradient norms, the last update of a watched weight).
//!
//! ```text
//! batch:   B windows of T + 1 consecutive tokens from the training text, at random offsets
//!          (from the session's own seeded generator, so a seed replays the same batches)
//!          ids = window[0..T], targets = window[1..T+1]
//! step:    loss = cross_entropy(model(ids), targets);  backward;  (clip);  optimiser step
//! ```
//!
//! The page's learning panel and the `Model` of the JS API are thin wrappers around this.

use crate::error::{Code, Error, Result};
use crate::models::decoder_only::{DecoderOnly, DecoderOnlyConfig};
use crate::ops::softmax;
use crate::optim::{clip_grad_norm, Optimizer, OptimizerConfig};
use crate::params::Metadata;
use crate::rng::Rng;
use crate::shards::{check_shards, Pending, Sharded};
use crate::tokenizer::{text_lexicon, Mode, Tokenizer};
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};
use std::ops::Range;

mod work;
pub use work::{
    check_batch, check_step, step_flops, steps_within, MAX_ACTIVATIONS, MAX_STEPS_PER_CALL,
};

/// The `k` largest entries of `p` (at least one), largest first (ties: the smaller index).
pub fn top_k(p: &[f32], k: usize) -> Vec<usize> {
    let mut order = crate::sorting::descending(p, f32::total_cmp);
    order.truncate(k.max(1));
    order
}

/// The tokenizer of a training text, as the learning panel and the `Model` of the JS API build
/// it: the pieces of `corpus` cut in `mode` (in word mode Chinese by [`text_lexicon`], other
/// scripts by spaces and punctuation), the `max_vocab − 4` most frequent after the specials.
/// The recipes of running text ([`crate::recipes::TextRecipe`]) use it too, so the page can
/// retrain what they trained.
///
/// **Errors** as [`Tokenizer::from_corpus`].
pub fn text_tokenizer(corpus: &str, mode: Mode, max_vocab: usize) -> Result<Tokenizer> {
    Tokenizer::from_corpus(corpus, mode, &text_lexicon(), max_vocab)
}

/// Training options besides the model's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Seed of the weights and of the batch sampler.
    pub seed: u64,
    /// Optimiser and learning rate.
    pub optimizer: OptimizerConfig,
    /// Sequences per batch, B.
    pub batch_size: usize,
    /// Tokens per sequence, T (at most the model's max_len).
    pub seq_len: usize,
    /// Clip the gradient's global norm to this, if set.
    pub clip: Option<f64>,
    /// Fraction of the text held out for evaluation (the end of the text).
    pub heldout: f64,
    /// Shards each batch is cut into ([`crate::shards`]: the step's numbers depend on this,
    /// not on how many workers compute the shards). 1 (the default) is the plain step.
    #[serde(default = "one")]
    pub shards: usize,
}

fn one() -> usize {
    1
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            seed: 1,
            optimizer: OptimizerConfig::adam(1e-2),
            batch_size: 16,
            seq_len: 16,
            clip: Some(1.0),
            heldout: 0.1,
            shards: 1,
        }
    }
}

/// The last update of the watched weight, with every number of the rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Update {
    /// Parameter name.
    pub name: String,
    /// Flat index in the parameter.
    pub index: usize,
    /// Value before the step.
    pub old: f32,
    /// Gradient used by the step (after clipping).
    pub grad: f32,
    /// Learning rate.
    pub lr: f64,
    /// Value after the step.
    pub new: f32,
    /// How far the step moved it: old − new.
    pub step: f32,
    /// Adam's bias-corrected first moment m̂ (None for SGD).
    pub m_hat: Option<f32>,
    /// Adam's bias-corrected second moment v̂ (None for SGD).
    pub v_hat: Option<f32>,
}

/// A training session.
#[derive(Debug, Clone)]
pub struct Trainer {
    /// The model.
    pub model: DecoderOnly<f32>,
    /// Its optimiser.
    pub optimizer: Optimizer<f32>,
    /// Its tokenizer, when it was built from text.
    pub tokenizer: Option<Tokenizer>,
    train_ids: Vec<usize>,
    heldout_ids: Vec<usize>,
    rng: Rng,
    options: TrainOptions,
    /// Every training loss so far.
    pub losses: Vec<f32>,
    /// ‖∂L/∂θ‖ per parameter tensor at the last step (before clipping).
    pub grad_norms: Vec<(String, f64)>,
    watch: Option<(String, usize)>,
    /// The last update of the watched weight.
    pub last_update: Option<Update>,
    pending: Option<Box<Pending>>,
}

impl Trainer {
    /// A session with weights from `options.seed`. With a tokenizer and a corpus, the corpus is
    /// split into training and held-out text.
    pub fn new(
        config: DecoderOnlyConfig,
        tokenizer: Option<Tokenizer>,
        corpus: Option<&str>,
        options: TrainOptions,
    ) -> Result<Self> {
        if options.batch_size == 0 || options.seq_len == 0 || options.seq_len > config.max_len {
            return Err(Error::config(format!("trainer: batch size {} and sequence length {} must be at least 1, and the length at most max_len {}", options.batch_size, options.seq_len, config.max_len)));
        }
        check_batch(&config, options.batch_size, options.seq_len)?;
        check_shards("trainer", options.shards)?;
        let model = DecoderOnly::new(config, options.seed)?;
        let optimizer = Optimizer::new(options.optimizer)?;
        let (mut train_ids, mut heldout_ids) = (vec![], vec![]);
        if let (Some(t), Some(text)) = (&tokenizer, corpus) {
            let ids = t.encode(text).1;
            let cut =
                ((ids.len() as f64) * (1.0 - options.heldout.clamp(0.0, 0.5))).round() as usize;
            train_ids = ids[..cut].to_vec();
            heldout_ids = ids[cut..].to_vec();
        }
        Ok(Trainer {
            model,
            optimizer,
            tokenizer,
            train_ids,
            heldout_ids,
            rng: Rng::new(options.seed ^ 0xDA7A),
            options,
            losses: vec![],
            grad_norms: vec![],
            watch: None,
            last_update: None,
            pending: None,
        })
    }

    /// Steps taken.
    pub fn step_count(&self) -> usize {
        self.losses.len()
    }

    /// The options the session was made with.
    pub fn options(&self) -> TrainOptions {
        self.options
    }

    /// Watches weight `index` of parameter `name`: each step records its update.
    pub fn watch(&mut self, name: &str, index: usize) -> Result<()> {
        let p = self.model.params.get(name)?;
        if index >= p.len() {
            return Err(Error::value(format!(
                "{name:?} has {} values; index {index} is out of range",
                p.len()
            )));
        }
        self.watch = Some((name.to_string(), index));
        self.last_update = None;
        Ok(())
    }

    /// Sets the learning rate (a NaN or negative rate is an error).
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        crate::optim::check_lr(lr)?;
        let c = &mut self.optimizer.config;
        *c = match *c {
            OptimizerConfig::Sgd {
                momentum,
                dampening,
                weight_decay,
                nesterov,
                ..
            } => OptimizerConfig::Sgd {
                lr,
                momentum,
                dampening,
                weight_decay,
                nesterov,
            },
            OptimizerConfig::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => OptimizerConfig::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            },
            OptimizerConfig::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => OptimizerConfig::AdamW {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            },
        };
        Ok(())
    }

    /// One step on an explicit batch. A non-finite loss or gradient, or a loss that has grown
    /// past 4× the first one, is an error saying training diverged (weights not updated).
    pub fn step_on(&mut self, ids: &Array2<usize>, targets: &Array2<i64>) -> Result<f32> {
        let (b, t) = ids.dim();
        check_batch(&self.model.config, b, t)?;
        let m = &mut self.model;
        m.params.zero_grad();
        let loss = m.loss_and_backward(ids.view(), targets.view())?;
        self.update(loss)
    }

    /// The second half of a step, `loss` and its gradients in the parameters: refuse a
    /// diverged loss, record the gradient norms, clip, step the optimiser, record the watched
    /// weight's update and the loss.
    fn update(&mut self, loss: f32) -> Result<f32> {
        let m = &mut self.model;
        let first = self.losses.first().copied();
        if !loss.is_finite() || first.is_some_and(|f| loss > 4.0 * f.max(0.5)) {
            return Err(Error::value(format!(
                "training diverged: the loss is {loss} (it started at {}); lower the learning rate and reset",
                first.map(|f| f.to_string()).unwrap_or_else(|| "—".into())
            ))
            .with_code(Code::Diverged));
        }
        self.grad_norms = m
            .params
            .iter()
            .map(|(n, p)| {
                (
                    n.to_string(),
                    p.grad
                        .iter()
                        .map(|g| (*g as f64) * (*g as f64))
                        .sum::<f64>()
                        .sqrt(),
                )
            })
            .collect();
        if let Some(c) = self.options.clip {
            clip_grad_norm(&mut m.params, c)?;
        }
        let watched = self.watch.as_ref().map(|(n, i)| {
            let p = m.params.param(n).expect("watched name checked");
            (
                n.clone(),
                *i,
                p.value.as_slice().expect("contiguous")[*i],
                p.grad.as_slice().expect("contiguous")[*i],
            )
        });
        self.optimizer.step(&mut m.params)?;
        if let Some((name, index, old, grad)) = watched {
            let new = m
                .params
                .get(&name)
                .expect("checked")
                .as_slice()
                .expect("contiguous")[index];
            let (m_hat, v_hat) = match self.optimizer.moments(&name, index) {
                Some((mm, vv)) => {
                    let (b1, b2) = match self.optimizer.config {
                        OptimizerConfig::Adam { beta1, beta2, .. }
                        | OptimizerConfig::AdamW { beta1, beta2, .. } => (beta1, beta2),
                        OptimizerConfig::Sgd { .. } => (0.0, 0.0),
                    };
                    let t = self.optimizer.steps as i32;
                    (
                        Some((mm as f64 / (1.0 - b1.powi(t))) as f32),
                        Some((vv as f64 / (1.0 - b2.powi(t))) as f32),
                    )
                }
                None => (None, None),
            };
            self.last_update = Some(Update {
                name,
                index,
                old,
                grad,
                lr: self.optimizer.config.lr(),
                new,
                step: old - new,
                m_hat,
                v_hat,
            });
        }
        self.losses.push(loss);
        Ok(loss)
    }

    /// Tokens per window: the sequence length, or less on a short text.
    ///
    /// **Errors** without at least two tokens of training text.
    fn window(&self) -> Result<usize> {
        let n = self.train_ids.len();
        if n < 2 {
            return Err(Error::value(
                "the model has no training text; give it a corpus of at least two tokens",
            ));
        }
        Ok(self.options.seq_len.min(n - 1))
    }

    /// The start offsets of `batch_size` random windows of the training text.
    fn draw_starts(&mut self) -> Result<Vec<usize>> {
        let t = self.window()?;
        let n = self.train_ids.len();
        Ok((0..self.options.batch_size)
            .map(|_| self.rng.below(n - t))
            .collect())
    }

    /// The windows starting at `starts`: `(ids, targets)`, `[starts.len(), T]`.
    ///
    /// **Errors** if a window would run past the training text.
    pub fn windows(&self, starts: &[usize]) -> Result<(Array2<usize>, Array2<i64>)> {
        let t = self.window()?;
        let n = self.train_ids.len();
        if let Some(s) = starts.iter().find(|&&s| s + t >= n) {
            return Err(Error::value(format!(
                "a window at {s} runs past the training text ({n} tokens, windows of {t})"
            )));
        }
        let mut ids = Array2::zeros((starts.len(), t));
        let mut targets = Array2::zeros((starts.len(), t));
        for (bi, &start) in starts.iter().enumerate() {
            for j in 0..t {
                ids[[bi, j]] = self.train_ids[start + j];
                targets[[bi, j]] = self.train_ids[start + j + 1] as i64;
            }
        }
        Ok((ids, targets))
    }

    /// A batch of random windows of the training text.
    pub fn sample_batch(&mut self) -> Result<(Array2<usize>, Array2<i64>)> {
        let starts = self.draw_starts()?;
        self.windows(&starts)
    }

    /// One step on a sampled batch, cut into the options' shards ([`Sharded::sharded_step`]).
    pub fn train_step(&mut self) -> Result<f32> {
        self.sharded_step()
    }

    /// Most steps one [`Trainer::train`] call may run: [`MAX_STEPS_PER_CALL`], fewer for a
    /// model whose steps together would exceed [`crate::args::MAX_FLOPS`].
    pub fn max_steps_per_call(&self) -> usize {
        steps_within(step_flops(
            &self.model.config,
            self.options.batch_size,
            self.options.seq_len,
        ))
    }

    /// `n` steps on sampled batches; their losses. More than [`Trainer::max_steps_per_call`]
    /// is refused up front (call it in slices), so that no call freezes the page.
    pub fn train(&mut self, n: usize) -> Result<Vec<f32>> {
        let max = self.max_steps_per_call();
        if n > max {
            return Err(Error::value(format!(
                "{n} steps in one call is more than {max} for this model; call it in slices"
            )));
        }
        (0..n).map(|_| self.train_step()).collect()
    }

    /// Mean loss on evenly spaced windows of the held-out text (the same every call); NaN
    /// without held-out text.
    pub fn eval_loss(&self) -> Result<f32> {
        self.eval_loss_of(&self.model)
    }

    /// The windows [`Trainer::eval_loss`] reads, `(windows, tokens)`; `(0, 0)` without
    /// held-out text.
    pub fn eval_shape(&self) -> (usize, usize) {
        let n = self.heldout_ids.len();
        if n < 2 {
            return (0, 0);
        }
        let t = self.options.seq_len.min(n - 1);
        (8.min(n - t), t)
    }

    /// [`Trainer::eval_loss`] of another model with this session's config (the held-out text
    /// read by `model`: a model changed by a trial step, say).
    pub fn eval_loss_of(&self, model: &DecoderOnly<f32>) -> Result<f32> {
        let n = self.heldout_ids.len();
        let (windows, t) = self.eval_shape();
        if windows == 0 {
            return Ok(f32::NAN);
        }
        let mut ids = Array2::zeros((windows, t));
        let mut targets = Array2::zeros((windows, t));
        for w in 0..windows {
            let start = w * (n - t - 1) / windows.max(1);
            for j in 0..t {
                ids[[w, j]] = self.heldout_ids[start + j];
                targets[[w, j]] = self.heldout_ids[start + j + 1] as i64;
            }
        }
        model.loss(ids.view(), targets.view())
    }

    /// The weights as safetensors (F32) with `meta` as `__metadata__`.
    pub fn to_safetensors(&self, meta: &Metadata) -> Vec<u8> {
        self.model.params.to_safetensors_with(meta)
    }

    /// Tokens and ids of `text`, keeping the last max_len tokens (the context window).
    pub fn encode(&self, text: &str) -> Result<(Vec<String>, Vec<usize>)> {
        let t = self.tokenizer.as_ref().ok_or_else(|| {
            Error::value("this model has no tokenizer; create it with a corpus or a vocabulary")
        })?;
        let (mut pieces, mut ids) = t.encode(text);
        if ids.is_empty() {
            return Err(Error::value("the text has no tokens; type a few words")
                .with_code(Code::TextNoTokens));
        }
        let max = self.model.config.max_len;
        if ids.len() > max {
            pieces.drain(..ids.len() - max);
            ids.drain(..ids.len() - max);
        }
        Ok((pieces, ids))
    }

    /// The probability of every token coming next after `text`, `[V]`.
    pub fn next_probs(&self, text: &str) -> Result<Vec<f32>> {
        let (_, ids) = self.encode(text)?;
        let t = ids.len();
        let (logits, _) = self
            .model
            .forward(Array2::from_shape_vec((1, t), ids).expect("1×T").view())?;
        let row = logits
            .slice(ndarray::s![0, t - 1, ..])
            .to_owned()
            .insert_axis(Axis(0));
        Ok(softmax::forward(row.view()).row(0).to_vec())
    }

    /// Every layer's attention weights on `text`: its pieces (the last max_len) and, per layer,
    /// `[H, T, T]` (row i: what token i looked at; causal, so zero right of the diagonal).
    pub fn attention(&self, text: &str) -> Result<(Vec<String>, Vec<ndarray::Array3<f32>>)> {
        let (pieces, ids) = self.encode(text)?;
        let t = ids.len();
        let (_, cache) = self
            .model
            .forward(Array2::from_shape_vec((1, t), ids).expect("1×T").view())?;
        let layers = cache
            .layers
            .iter()
            .map(|l| {
                let heads: Vec<_> = l.attention().heads_cache[..self.model.config.layer.n_heads]
                    .iter()
                    .map(|h| h.weights.view())
                    .collect();
                ndarray::stack(Axis(0), &heads).expect("equal shapes")
            })
            .collect();
        Ok((pieces, layers))
    }

    /// The `k` most probable next tokens: `(piece, id, probability)`, most probable first.
    pub fn predict_next(&self, text: &str, k: usize) -> Result<Vec<(String, usize, f32)>> {
        let p = self.next_probs(text)?;
        let tok = self.tokenizer.as_ref();
        Ok(top_k(&p, k)
            .into_iter()
            .map(|id| {
                (
                    tok.map(|t| t.piece(id).to_string())
                        .unwrap_or_else(|| id.to_string()),
                    id,
                    p[id],
                )
            })
            .collect())
    }
}

impl Sharded for Trainer {
    crate::shards::sharded_plumbing!();
    fn draw_batch(&mut self) -> Result<Vec<usize>> {
        self.draw_starts()
    }
    fn counted(&self, _batch: &[usize], rows: Range<usize>) -> Result<usize> {
        Ok(rows.len() * self.window()?)
    }
    fn backward_rows(&mut self, batch: &[usize], rows: Range<usize>) -> Result<f32> {
        let (ids, targets) = self.windows(batch.get(rows).unwrap_or(&[]))?;
        let m = &mut self.model;
        m.params.zero_grad();
        m.loss_and_backward(ids.view(), targets.view())
    }
    fn apply(&mut self, loss: f32) -> Result<f32> {
        self.update(loss)
    }
}

/// The learning panel's `tiny` model on `text` (www/panels/learn.js `SIZES.tiny` and `spec()`:
/// word tokens, at most 2000 pieces, C = 32, 2 heads, F = 64, 1 layer, context 16, with the
/// default options — Adam 0.01, B = 16, T = 16, clip 1 — from `seed`).
pub fn learning_panel_tiny(text: &str, seed: u64) -> Result<Trainer> {
    let tok = text_tokenizer(text, Mode::Word, 2000)?;
    let cfg = DecoderOnlyConfig {
        vocab_size: tok.vocab_size(),
        layer: crate::layers::LayerConfig {
            d_model: 32,
            n_heads: 2,
            d_ff: 64,
            ..Default::default()
        },
        n_layers: 1,
        max_len: 16,
    };
    let opts = TrainOptions {
        seed,
        ..Default::default()
    };
    Trainer::new(cfg, Some(tok), Some(text), opts)
}

#[cfg(test)]
mod tests;
