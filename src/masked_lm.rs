//! An encoder-only model (BERT-like) that fills in masked pieces of a sentence: trained on the
//! encoder–decoder's pairs joined into one sequence, it reads `小明今天[MASK]了，他应该多喝水`
//! whole — both sides of the mask — and answers 感冒.
//!
//! ```text
//! pair     小明今天感冒了 → 他应该多喝水, joined:  小明 今天 感冒 了 ， 他 应该 多 喝 水    (T pieces)
//! masking  each position is chosen with probability p (at least one per sequence); a chosen
//!          position's input becomes [MASK] (share m), a random piece (share r) or stays as it
//!          is (the rest); its target is the original piece, every other target −100
//! batch    ids [B, T] (<pad> after each sequence's end)   padding [B, T] (true at <pad>)
//!          targets [B, T] (the original piece at chosen positions, −100 elsewhere)
//! step     loss = mean over chosen positions of −log softmax(EncoderOnly(ids, padding))[target]
//!          backward;  clip;  AdamW                     (the key padding mask: no one looks at <pad>)
//! fill     ids [1, T] with [MASK] where the text says so;  p = softmax(logits[0, t])  at each mask t
//! attention  a[l][h][i][j] = softmax_j(q_i · k_j / √d)   for every i, j: every token sees every token
//! ```
//!
//! The recipes use BERT's masking (p = 0.15; m = 0.8, r = 0.1), which teaches the model to
//! predict a piece from both sides; [`MaskedLm::eval_loss`] scores a trained model
//! deterministically by masking every piece of every pair alone, in turn.

use crate::error::{Code, Error, Result};
use crate::models::encoder_only::{EncoderOnly, EncoderOnlyConfig};
use crate::ops::cross_entropy::IGNORE_INDEX;
use crate::optim::Optimizer;
use crate::params::Metadata;
use crate::rng::Rng;
use crate::session::{
    json, keys, safetensors_with_extra, update, Family, FileReader, JoinedTokenizer, Prediction,
    SessionOptions, Stack, StackTrace,
};
use crate::tokenizer::{MASK, PAD};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// How a masked-token model hides pieces from itself during training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Masking {
    /// The probability that a position is chosen (at least one per sequence is, anyway).
    pub rate: f64,
    /// The share of chosen positions whose input becomes `[MASK]`.
    pub mask: f64,
    /// The share of chosen positions whose input becomes a random piece (the rest stay as they
    /// are, so the model cannot assume that an unmasked piece is right).
    pub random: f64,
}

impl Masking {
    /// BERT's masking (Devlin et al., 2019): 15 % of the positions, of which 80 % become
    /// `[MASK]`, 10 % a random piece and 10 % stay.
    pub const BERT: Masking = Masking {
        rate: 0.15,
        mask: 0.8,
        random: 0.1,
    };

    fn check(&self) -> Result<()> {
        let ok = |x: f64| (0.0..=1.0).contains(&x);
        if !(ok(self.rate) && ok(self.mask) && ok(self.random) && self.mask + self.random <= 1.0) {
            return Err(Error::config(format!(
                "masked LM: the masking {self:?} needs rate, mask and random in [0, 1] and mask + random ≤ 1"
            )));
        }
        Ok(())
    }
}

/// The `[MASK]` marker a text writes where a piece is to be filled in (`<mask>` works too).
pub const MASK_MARK: &str = "[MASK]";

/// What the model puts at one masked position: its position among the tokens and the most
/// probable pieces, most probable first (each with its id and probability).
pub type MaskFill = Prediction;

/// A filled-in sentence and every attention weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FillMask {
    /// The pieces the model read, `[MASK]` at each masked position.
    pub tokens: Vec<String>,
    /// Their ids (`<unk>` for a piece the model does not know).
    pub ids: Vec<usize>,
    /// The pieces the model does not know (each read as `<unk>`).
    pub unknown: Vec<String>,
    /// One fill per `[MASK]`, left to right.
    pub masks: Vec<MaskFill>,
    /// Self-attention weights `[layer][head][T][T]`: row i is what token i looked at, over all
    /// T tokens (no causal mask).
    pub attention: Vec<Vec<Vec<Vec<f32>>>>,
}

impl FillMask {
    /// The most probable piece at the `i`-th mask.
    pub fn top(&self, i: usize) -> Option<&str> {
        self.masks
            .get(i)?
            .candidates
            .first()
            .map(|c| c.token.as_str())
    }
}

/// An encoder-only model, its tokenizer, its training sequences and its optimiser.
#[derive(Debug, Clone)]
pub struct MaskedLm {
    /// The model (f32, as the page runs it).
    pub model: EncoderOnly<f32>,
    /// The tokenizer of joined pairs.
    pub tokenizer: JoinedTokenizer,
    /// Its optimiser.
    pub optimizer: Optimizer<f32>,
    /// Every training loss so far.
    pub losses: Vec<f32>,
    /// Training sequences as ids (source, separator, target).
    sequences: Vec<Vec<usize>>,
    rng: Rng,
    masking: Masking,
    options: SessionOptions,
}

impl MaskedLm {
    /// A model of `config` (its `vocab_size` is set from the tokenizer) with weights from
    /// `options.seed`, to be trained on `pairs` joined into sequences.
    ///
    /// **Errors** if the configuration or the masking is invalid, a sequence is longer than
    /// `max_len`, the batch size is 0, or a batch of the longest sequences would be too much
    /// work for one step (all checked before the model is built).
    pub fn new(
        mut config: EncoderOnlyConfig,
        tokenizer: JoinedTokenizer,
        pairs: &[(&str, &str)],
        masking: Masking,
        options: SessionOptions,
    ) -> Result<Self> {
        options.check_unsharded("masked LM")?;
        masking.check()?;
        config.vocab_size = tokenizer.vocab_size();
        config.validate()?;
        let sequences = encode_pairs(&tokenizer, &config, options.batch_size, pairs)?;
        Ok(MaskedLm {
            model: EncoderOnly::new(config, options.seed)?,
            tokenizer,
            optimizer: Optimizer::new(options.optimizer)?,
            losses: vec![],
            sequences,
            rng: Rng::new(options.seed ^ 0xB_E27),
            masking,
            options,
        })
    }

    /// Replaces the training pairs (pieces unknown to the tokenizer become `<unk>`).
    ///
    /// **Errors**, naming the pair, if its sequence is longer than `max_len`, or if a batch of
    /// the longest sequences would be too much work for one step (the pairs are then
    /// unchanged).
    pub fn set_pairs(&mut self, pairs: &[(&str, &str)]) -> Result<()> {
        let (cfg, b) = (&self.model.config, self.options.batch_size);
        self.sequences = encode_pairs(&self.tokenizer, cfg, b, pairs)?;
        Ok(())
    }

    /// Most steps one call of the JS API's `train` runs on these sequences (at least 1).
    pub fn max_steps_per_call(&self) -> usize {
        let longest = self.sequences.iter().map(Vec::len).max().unwrap_or(0);
        Stack::from(&self.model.config).steps_per_call(self.options.batch_size, longest)
    }

    /// Number of training sequences.
    pub fn sequence_count(&self) -> usize {
        self.sequences.len()
    }

    /// The options it was made with.
    pub fn options(&self) -> SessionOptions {
        self.options
    }

    /// How it masks its training sequences.
    pub fn masking(&self) -> Masking {
        self.masking
    }

    /// The sequences at `indices`, masked with `rng`: `(ids [B, T], padding [B, T],
    /// targets [B, T])` as the module header shows.
    pub fn masked_batch(
        &self,
        indices: &[usize],
        rng: &mut Rng,
    ) -> (Array2<usize>, Array2<bool>, Array2<i64>) {
        let seqs: Vec<&[usize]> = indices.iter().map(|&i| &self.sequences[i][..]).collect();
        let (mut ids, padding) = padded(&seqs);
        let mut targets = Array2::from_elem(ids.raw_dim(), IGNORE_INDEX);
        let first = MASK + 1; // random pieces are drawn from the ordinary pieces
        let v = self.tokenizer.vocab_size();
        for (b, &i) in indices.iter().enumerate() {
            let n = self.sequences[i].len();
            let forced = rng.below(n);
            for t in 0..n {
                if !(t == forced || rng.uniform() < self.masking.rate) {
                    continue;
                }
                targets[[b, t]] = ids[[b, t]] as i64;
                let u = rng.uniform();
                if u < self.masking.mask {
                    ids[[b, t]] = MASK;
                } else if u < self.masking.mask + self.masking.random && v > first {
                    ids[[b, t]] = first + rng.below(v - first);
                }
            }
        }
        (ids, padding, targets)
    }

    /// One step on `batch_size` sequences drawn at random (with replacement) and masked, both
    /// from the session's seeded generator; returns the loss before the step.
    ///
    /// **Errors** without training sequences, or when training diverges.
    pub fn train_step(&mut self) -> Result<f32> {
        let n = self.sequences.len();
        if n == 0 {
            return Err(Error::value(
                "masked LM: the model has no training pairs; give it a parallel corpus",
            ));
        }
        let mut rng = self.rng.clone();
        let indices: Vec<usize> = (0..self.options.batch_size).map(|_| rng.below(n)).collect();
        let (ids, padding, targets) = self.masked_batch(&indices, &mut rng);
        self.rng = rng;
        let m = &mut self.model;
        m.params.zero_grad();
        let loss = m.loss_and_backward(ids.view(), targets.view(), Some(padding.view()))?;
        update(
            &mut m.params,
            &mut self.optimizer,
            &self.options,
            &mut self.losses,
            loss,
        )
    }

    /// `n` training steps; their losses.
    pub fn train(&mut self, n: usize) -> Result<Vec<f32>> {
        (0..n).map(|_| self.train_step()).collect()
    }

    /// The pieces of `text` and their ids, `[MASK]` (or `<mask>`) read as the mask token.
    pub fn encode(&self, text: &str) -> (Vec<String>, Vec<usize>) {
        let (mut pieces, mut ids) = (vec![], vec![]);
        let normal = text.replace("<mask>", MASK_MARK);
        for (i, part) in normal.split(MASK_MARK).enumerate() {
            if i > 0 {
                pieces.push(MASK_MARK.to_string());
                ids.push(MASK);
            }
            let (p, d) = self.tokenizer.encode(part);
            pieces.extend(p);
            ids.extend(d);
        }
        (pieces, ids)
    }

    /// Fills in every `[MASK]` of `text` with the five most probable pieces (see
    /// [`MaskedLm::fill_mask_top`]).
    pub fn fill_mask(&self, text: &str) -> Result<FillMask> {
        self.fill_mask_top(text, 5)
    }

    /// Fills in every `[MASK]` of `text` (or `<mask>`) with its `k` most probable pieces, and
    /// keeps every attention weight. Unknown pieces are read as `<unk>` and listed in
    /// [`FillMask::unknown`]; the model still answers.
    ///
    /// **Errors** if the text has no `[MASK]`, no tokens or more than the model's `max_len`,
    /// or if the pass would be too much work for one call.
    pub fn fill_mask_top(&self, text: &str, k: usize) -> Result<FillMask> {
        let (tokens, ids) = self.encode(text);
        if !ids.contains(&MASK) {
            return Err(Error::value(format!(
                "masked LM: the text {text:?} has no {MASK_MARK}; write {MASK_MARK} where a word should be filled in"
            ))
            .with_code(Code::MaskMissing)
            .with_param("text", text));
        }
        let t = self.trace_pieces(tokens, ids, k)?;
        Ok(FillMask {
            attention: t.attention(),
            tokens: t.tokens,
            ids: t.ids,
            unknown: t.unknown,
            masks: t.predictions,
        })
    }

    /// One forward pass on `text` (with or without `[MASK]`s) laid open: the embeddings, every
    /// layer's cache, the logits and, at each `[MASK]`, the `k` most probable pieces.
    ///
    /// **Errors** if the text has no tokens or more than the model's `max_len`, or if the pass
    /// would be too much work for one call.
    pub fn trace(&self, text: &str, k: usize) -> Result<StackTrace> {
        let (tokens, ids) = self.encode(text);
        self.trace_pieces(tokens, ids, k)
    }

    fn trace_pieces(&self, tokens: Vec<String>, ids: Vec<usize>, k: usize) -> Result<StackTrace> {
        let max = self.model.config.max_len;
        let n = ids.len();
        if n == 0 || n > max {
            return Err(Error::value(format!(
                "masked LM: the text has {n} tokens; the model reads 1 to {max}"
            ))
            .with_code(Code::TextLength)
            .with_param("n", n)
            .with_param("max", max));
        }
        let masks: Vec<usize> = (0..n).filter(|&t| ids[t] == MASK).collect();
        StackTrace::run(
            "masked LM",
            Stack::from(&self.model.config),
            &self.tokenizer,
            (tokens, ids),
            &masks,
            k,
            |x| {
                let (logits, cache) = self.model.forward(x, None)?;
                Ok((logits, cache.embeddings, cache.layers))
            },
        )
    }

    /// The mean cross-entropy of every piece of every pair, each masked alone in its sequence
    /// (as `[MASK]`): a deterministic score of a trained model, which a file records.
    ///
    /// **Errors** if a pair is longer than `max_len`, or `pairs` is empty.
    pub fn eval_loss(&self, pairs: &[(&str, &str)]) -> Result<f32> {
        let seqs = encode_pairs(&self.tokenizer, &self.model.config, 1, pairs)?;
        let rows: Vec<(&[usize], usize)> = seqs
            .iter()
            .flat_map(|s| (0..s.len()).map(move |t| (&s[..], t)))
            .collect();
        if rows.is_empty() {
            return Err(Error::value("masked LM: no pairs to score"));
        }
        let mut total = 0.0f64;
        for chunk in rows.chunks(256) {
            let chunk_seqs: Vec<&[usize]> = chunk.iter().map(|&(s, _)| s).collect();
            let (mut ids, padding) = padded(&chunk_seqs);
            let mut targets = Array2::from_elem(ids.raw_dim(), IGNORE_INDEX);
            for (b, &(_, t)) in chunk.iter().enumerate() {
                targets[[b, t]] = ids[[b, t]] as i64;
                ids[[b, t]] = MASK;
            }
            let loss = self
                .model
                .loss(ids.view(), targets.view(), Some(padding.view()))?;
            total += loss as f64 * chunk.len() as f64;
        }
        Ok((total / rows.len() as f64) as f32)
    }

    /// The metadata that makes a file self-describing: the model's kind and configuration, the
    /// vocabulary, how text is cut and joined, and the masking (see [`keys`]).
    pub fn metadata(&self) -> Metadata {
        let mut m = self.tokenizer.metadata();
        m.insert(keys::MODEL.into(), Family::EncoderOnly.name().into());
        m.insert(keys::CONFIG.into(), json(&self.model.config));
        m.insert(MASKING.into(), json(&self.masking));
        m
    }

    /// The weights as safetensors (F32) whose `__metadata__` is [`MaskedLm::metadata`] plus
    /// `extra` (a recipe's name and seed, say).
    pub fn to_safetensors(&self, extra: &Metadata) -> Vec<u8> {
        safetensors_with_extra(&self.model.params, self.metadata(), extra)
    }

    /// A model read from a file [`MaskedLm::to_safetensors`] wrote: configuration, tokenizer
    /// and masking from its metadata, the weights loaded strictly. It has no training pairs
    /// (see [`MaskedLm::set_pairs`]) and trains with `options`.
    ///
    /// **Errors** naming the metadata key that is missing or unreadable, or the parameter that
    /// does not fit the configuration.
    pub fn from_safetensors(bytes: &[u8], options: SessionOptions) -> Result<Self> {
        let file = FileReader::open(bytes, "masked LM file", Family::EncoderOnly)?;
        let config: EncoderOnlyConfig = file.parse(keys::CONFIG)?;
        let masking: Masking = file.parse(MASKING)?;
        let tokenizer = JoinedTokenizer::from_file(&file)?;
        file.check_vocab(tokenizer.vocab_size(), config.vocab_size)?;
        let mut m = MaskedLm::new(config, tokenizer, &[], masking, options)?;
        file.load_into(&mut m.model.params)?;
        Ok(m)
    }
}

/// The ids of `pairs` joined, each checked against `max_len`, and the work of a batch of `b`
/// of the longest checked against the limits of one step.
fn encode_pairs(
    tokenizer: &JoinedTokenizer,
    config: &EncoderOnlyConfig,
    b: usize,
    pairs: &[(&str, &str)],
) -> Result<Vec<Vec<usize>>> {
    let max = config.max_len;
    let seqs = pairs
        .iter()
        .map(|&(s, t)| {
            let ids = tokenizer.encode_pair(s, t);
            if ids.len() > max {
                return Err(Error::value(format!(
                    "masked LM: the pair {s:?} → {t:?} is {} tokens joined; max_len is {max}",
                    ids.len()
                )));
            }
            Ok(ids)
        })
        .collect::<Result<Vec<_>>>()?;
    let longest = seqs.iter().map(Vec::len).max().unwrap_or(0);
    Stack::from(config).check_batch("masked LM", b, longest)?;
    Ok(seqs)
}

/// `seqs` padded: `(ids [B, T], padding [B, T])`, T the longest.
fn padded(seqs: &[&[usize]]) -> (Array2<usize>, Array2<bool>) {
    let t_len = seqs.iter().map(|s| s.len()).max().unwrap_or(1);
    let mut ids = Array2::from_elem((seqs.len(), t_len), PAD);
    let mut padding = Array2::from_elem((seqs.len(), t_len), true);
    for (b, seq) in seqs.iter().enumerate() {
        for (t, &id) in seq.iter().enumerate() {
            ids[[b, t]] = id;
            padding[[b, t]] = false;
        }
    }
    (ids, padding)
}

/// The metadata key of a masked model's [`Masking`], as JSON.
pub const MASKING: &str = "masking";

#[cfg(test)]
mod tests;
