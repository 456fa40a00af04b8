//! A decoder-only language model (GPT-like) on the encoder–decoder's pairs joined into one
//! sequence: given 小明今天感冒了， it writes 他应该多喝水 one piece at a time, each piece seeing
//! only the ones before it.
//!
//! ```text
//! sequence  <bos> 小明 今天 感冒 了 ， 他 应该 多 喝 水 <eos>                   (n pieces)
//! batch     ids     [B, T] = sequence[0 .. n−1]   (<pad> after each sequence's end)
//!           targets [B, T] = sequence[1 .. n]      (−100 at padding; with LossOn::Answer also
//!                                                   up to and including the separator)
//! step      loss = mean of −log softmax(DecoderOnly(ids))[target];  backward;  clip;  AdamW
//! greedy    y = <bos> prompt;  repeat: y.push(argmax DecoderOnly(y)[last])  until <eos> or max_len
//! attention the writing position k's row a[l][h][j] = softmax_j(q_k · k_j / √d),  j ≤ k
//! ```
//!
//! The causal mask is what makes padding harmless without a padding mask: a real position never
//! sees the `<pad>` after it, and padded positions have no target. The recipes put the loss on
//! every piece ([`LossOn::Sequence`]), as a language model is pretrained: the model learns the
//! situations too, and can write one from `<bos>` alone.

use crate::error::{Code, Error, Result};
use crate::models::decoder_only::{DecoderOnly, DecoderOnlyConfig};
use crate::ops::cross_entropy::IGNORE_INDEX;
use crate::ops::softmax;
use crate::optim::Optimizer;
use crate::params::Metadata;
use crate::rng::Rng;
use crate::seq2seq::{ExactMatches, Missed};
use crate::session::{
    argmax, json, keys, safetensors_with_extra, update, Family, FileReader, JoinedTokenizer,
    SessionOptions, Stack, StackTrace,
};
use crate::tokenizer::{BOS, PAD};
use ndarray::{s, Array2, Axis};
use serde::{Deserialize, Serialize};

/// Which next-token predictions the loss counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossOn {
    /// Every piece after `<bos>`, `<eos>` included (language-model pretraining).
    Sequence,
    /// Only the answer's pieces and `<eos>` (the pieces after the separator).
    Answer,
}

/// One piece the model wrote and what its query looked at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CausalStep {
    /// Its id.
    pub id: usize,
    /// Its piece (`<eos>` for the last step when the answer ended).
    pub token: String,
    /// Its probability, softmax of the last position's logits.
    pub prob: f32,
    /// Self-attention weights `[layer][head][n]` of the position that wrote it, over the n
    /// pieces read so far: [`CausalGeneration::context`] and the pieces written before it.
    pub attention: Vec<Vec<Vec<f32>>>,
}

/// A greedy continuation and every attention row along the way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CausalGeneration {
    /// The pieces read before writing: `<bos>` and the prompt's pieces.
    pub context: Vec<String>,
    /// Their ids.
    pub context_ids: Vec<usize>,
    /// The prompt's pieces the model does not know (each read as `<unk>`).
    pub unknown: Vec<String>,
    /// The continuation's text (without `<eos>`).
    pub text: String,
    /// Every piece written, the last one `<eos>` when the answer ended before the limit.
    pub steps: Vec<CausalStep>,
}

impl CausalGeneration {
    /// The first step that wrote `token`.
    pub fn step_writing(&self, token: &str) -> Option<&CausalStep> {
        self.steps.iter().find(|s| s.token == token)
    }
}

/// A decoder-only model, its tokenizer, its training sequences and its optimiser.
#[derive(Debug, Clone)]
pub struct CausalLm {
    /// The model (f32, as the page runs it).
    pub model: DecoderOnly<f32>,
    /// The tokenizer of joined pairs (with `<eos>`).
    pub tokenizer: JoinedTokenizer,
    /// Its optimiser.
    pub optimizer: Optimizer<f32>,
    /// Every training loss so far.
    pub losses: Vec<f32>,
    /// Training sequences as ids, `<bos>` … `<eos>`, and where the answer starts.
    sequences: Vec<(Vec<usize>, usize)>,
    rng: Rng,
    loss_on: LossOn,
    options: SessionOptions,
}

impl CausalLm {
    /// A model of `config` (its `vocab_size` is set from the tokenizer) with weights from
    /// `options.seed`, to be trained on `pairs` joined into sequences.
    ///
    /// **Errors** if the configuration is invalid, the tokenizer has no `<eos>`, a sequence is
    /// longer than `max_len` allows, the batch size is 0, or a batch of the longest sequences
    /// would be too much work for one step (all checked before the model is built).
    pub fn new(
        mut config: DecoderOnlyConfig,
        tokenizer: JoinedTokenizer,
        pairs: &[(&str, &str)],
        loss_on: LossOn,
        options: SessionOptions,
    ) -> Result<Self> {
        options.check_unsharded("causal LM")?;
        if tokenizer.eos().is_none() {
            return Err(Error::config(
                "causal LM: the tokenizer has no <eos>, so the model could not end its answer",
            ));
        }
        config.vocab_size = tokenizer.vocab_size();
        config.validate()?;
        let sequences = encode_pairs(&tokenizer, &config, options.batch_size, pairs)?;
        Ok(CausalLm {
            model: DecoderOnly::new(config, options.seed)?,
            tokenizer,
            optimizer: Optimizer::new(options.optimizer)?,
            losses: vec![],
            sequences,
            rng: Rng::new(options.seed ^ 0x6_F72),
            loss_on,
            options,
        })
    }

    /// Replaces the training pairs (pieces unknown to the tokenizer become `<unk>`).
    ///
    /// **Errors**, naming the pair, if `<bos>` + its pieces is longer than `max_len` (the
    /// model reads every piece but the last, `<eos>`), or if a batch of the longest sequences
    /// would be too much work for one step (the pairs are then unchanged).
    pub fn set_pairs(&mut self, pairs: &[(&str, &str)]) -> Result<()> {
        let (cfg, b) = (&self.model.config, self.options.batch_size);
        self.sequences = encode_pairs(&self.tokenizer, cfg, b, pairs)?;
        Ok(())
    }

    /// Most steps one call of the JS API's `train` runs on these sequences (at least 1).
    pub fn max_steps_per_call(&self) -> usize {
        let longest = self
            .sequences
            .iter()
            .map(|s| s.0.len() - 1)
            .max()
            .unwrap_or(0);
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

    /// Which predictions the loss counts.
    pub fn loss_on(&self) -> LossOn {
        self.loss_on
    }

    /// The batch of the sequences at `indices`: `(ids [B, T], targets [B, T])`, as the module
    /// header shows.
    pub fn batch(&self, indices: &[usize]) -> (Array2<usize>, Array2<i64>) {
        let seqs: Vec<&(Vec<usize>, usize)> = indices.iter().map(|&i| &self.sequences[i]).collect();
        self.shifted(&seqs)
    }

    /// `seqs` as inputs and shifted targets, padded.
    fn shifted(&self, seqs: &[&(Vec<usize>, usize)]) -> (Array2<usize>, Array2<i64>) {
        let t_len = seqs.iter().map(|s| s.0.len() - 1).max().unwrap_or(1);
        let mut ids = Array2::from_elem((seqs.len(), t_len), PAD);
        let mut targets = Array2::from_elem((seqs.len(), t_len), IGNORE_INDEX);
        for (b, (seq, answer)) in seqs.iter().map(|s| (&s.0, s.1)).enumerate() {
            for t in 0..seq.len() - 1 {
                ids[[b, t]] = seq[t];
                if self.loss_on == LossOn::Sequence || t + 1 >= answer {
                    targets[[b, t]] = seq[t + 1] as i64;
                }
            }
        }
        (ids, targets)
    }

    /// One step on `batch_size` sequences drawn at random (with replacement, from the session's
    /// seeded generator); returns the loss before the step.
    ///
    /// **Errors** without training sequences, or when training diverges.
    pub fn train_step(&mut self) -> Result<f32> {
        let n = self.sequences.len();
        if n == 0 {
            return Err(Error::value(
                "causal LM: the model has no training pairs; give it a parallel corpus",
            ));
        }
        let indices: Vec<usize> = (0..self.options.batch_size)
            .map(|_| self.rng.below(n))
            .collect();
        let (ids, targets) = self.batch(&indices);
        let m = &mut self.model;
        m.params.zero_grad();
        let loss = m.loss_and_backward(ids.view(), targets.view())?;
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

    /// Greedy continuation of `prompt`: at most `max_len` pieces, and no further than the
    /// model's `max_len`, stopping after `<eos>`. The prompt may be empty (the model starts from
    /// `<bos>` alone). Unknown pieces are read as `<unk>` and listed in
    /// [`CausalGeneration::unknown`]; the model still writes.
    ///
    /// **Errors** if `<bos>` and the prompt already fill the model's `max_len`, or if writing
    /// that many pieces would be too much work for one call (the message says how many fit).
    pub fn generate(&self, prompt: &str, max_len: usize) -> Result<CausalGeneration> {
        let cfg = &self.model.config;
        let (pieces, ids) = self.tokenizer.encode(prompt);
        if ids.len() + 1 >= cfg.max_len {
            return Err(Error::value(format!(
                "causal LM: the prompt has {} tokens; with <bos> and room to write it needs at most {}",
                ids.len(),
                cfg.max_len.saturating_sub(2)
            ))
            .with_code(Code::PromptTooLong)
            .with_param("n", ids.len())
            .with_param("max", cfg.max_len.saturating_sub(2)));
        }
        let unknown = JoinedTokenizer::unknown(&pieces, &ids);
        let context: Vec<String> = std::iter::once(self.tokenizer.piece(BOS).to_string())
            .chain(pieces)
            .collect();
        let mut seq: Vec<usize> = std::iter::once(BOS).chain(ids).collect();
        let context_ids = seq.clone();
        let most = max_len.min(cfg.max_len + 1 - seq.len());
        Stack::from(cfg).check_greedy("causal LM", seq.len(), most)?;
        let eos = self.tokenizer.eos().expect("checked in new");
        let heads = cfg.layer.n_heads;
        let mut steps = Vec::new();
        // Each step runs the whole model again on the sequence so far (no key/value cache): the
        // sequences are short, and one forward path is what training checked.
        while steps.len() < max_len && seq.len() <= cfg.max_len {
            let k = seq.len() - 1;
            let input = Array2::from_shape_vec((1, k + 1), seq.clone()).expect("1×T");
            let (logits, cache) = self.model.forward(input.view())?;
            let last = logits.slice(s![0, k, ..]).to_owned().insert_axis(Axis(0));
            let probs = softmax::forward(last.view());
            let probs = probs.row(0);
            let id = argmax(probs.as_slice().expect("contiguous"));
            let attention = cache
                .layers
                .iter()
                .map(|l| {
                    (0..heads)
                        .map(|h| l.attention().head(0, h).weights.row(k).to_vec())
                        .collect()
                })
                .collect();
            steps.push(CausalStep {
                id,
                token: self.tokenizer.piece(id).to_string(),
                prob: probs[id],
                attention,
            });
            if id == eos {
                break;
            }
            seq.push(id);
        }
        let written: Vec<usize> = steps.iter().map(|s| s.id).collect();
        Ok(CausalGeneration {
            context,
            context_ids,
            unknown,
            text: self.tokenizer.decode(&written),
            steps,
        })
    }

    /// One forward pass on `<bos>` + `text` laid open: the embeddings, every layer's cache, the
    /// logits and the `k` most probable pieces after the last one.
    ///
    /// **Errors** if `<bos>` + the text is longer than the model's `max_len`, or if the pass
    /// would be too much work for one call.
    pub fn trace(&self, text: &str, k: usize) -> Result<StackTrace> {
        let cfg = &self.model.config;
        let (pieces, ids) = self.tokenizer.encode(text);
        if ids.len() + 1 > cfg.max_len {
            return Err(Error::value(format!(
                "causal LM: the text has {} tokens; with <bos> it may have at most {}",
                ids.len(),
                cfg.max_len - 1
            )));
        }
        let tokens: Vec<String> = std::iter::once(self.tokenizer.piece(BOS).to_string())
            .chain(pieces)
            .collect();
        let ids: Vec<usize> = std::iter::once(BOS).chain(ids).collect();
        let last = [ids.len() - 1];
        StackTrace::run(
            "causal LM",
            Stack::from(cfg),
            &self.tokenizer,
            (tokens, ids),
            &last,
            k,
            |x| {
                let (logits, cache) = self.model.forward(x)?;
                Ok((logits, cache.embeddings, cache.layers))
            },
        )
    }

    /// The answer greedy decoding writes after `source` and the separator.
    pub fn answer(&self, source: &str) -> Result<String> {
        let prompt = format!("{source}{}", self.tokenizer.separator());
        Ok(self.generate(&prompt, self.model.config.max_len)?.text)
    }

    /// How many of `pairs` greedy decoding answers exactly, and the pairs it missed.
    pub fn exact_matches<'a>(&self, pairs: &[(&'a str, &'a str)]) -> Result<ExactMatches<'a>> {
        let mut scored = ExactMatches {
            right: 0,
            total: pairs.len(),
            missed: vec![],
        };
        for &(source, target) in pairs {
            let want = self.tokenizer.decode(&self.tokenizer.encode(target).1);
            let got = self.answer(source)?;
            if got == want {
                scored.right += 1;
            } else {
                scored.missed.push(Missed {
                    source,
                    target,
                    got,
                });
            }
        }
        Ok(scored)
    }

    /// The mean cross-entropy of `pairs` as training scores them (every piece, or the answer's,
    /// after `<bos>`): a deterministic score of a trained model, which a file records.
    ///
    /// **Errors** if a pair is longer than `max_len` allows, or `pairs` is empty.
    pub fn eval_loss(&self, pairs: &[(&str, &str)]) -> Result<f32> {
        let seqs = encode_pairs(&self.tokenizer, &self.model.config, 1, pairs)?;
        if seqs.is_empty() {
            return Err(Error::value("causal LM: no pairs to score"));
        }
        let (mut total, mut count) = (0.0f64, 0usize);
        let all: Vec<&(Vec<usize>, usize)> = seqs.iter().collect();
        for chunk in all.chunks(256) {
            let (ids, targets) = self.shifted(chunk);
            let counted = targets.iter().filter(|&&t| t != IGNORE_INDEX).count();
            let loss = self.model.loss(ids.view(), targets.view())?;
            total += loss as f64 * counted as f64;
            count += counted;
        }
        Ok((total / count.max(1) as f64) as f32)
    }

    /// The metadata that makes a file self-describing: the model's kind and configuration, the
    /// vocabulary, how text is cut and joined, and what the loss counts (see [`keys`]).
    pub fn metadata(&self) -> Metadata {
        let mut m = self.tokenizer.metadata();
        m.insert(keys::MODEL.into(), Family::DecoderOnly.name().into());
        m.insert(keys::CONFIG.into(), json(&self.model.config));
        m.insert(LOSS_ON.into(), json(&self.loss_on));
        m
    }

    /// The weights as safetensors (F32) whose `__metadata__` is [`CausalLm::metadata`] plus
    /// `extra` (a recipe's name and seed, say).
    pub fn to_safetensors(&self, extra: &Metadata) -> Vec<u8> {
        safetensors_with_extra(&self.model.params, self.metadata(), extra)
    }

    /// A model read from a file [`CausalLm::to_safetensors`] wrote: configuration, tokenizer
    /// and what the loss counts from its metadata, the weights loaded strictly. It has no
    /// training pairs (see [`CausalLm::set_pairs`]) and trains with `options`.
    ///
    /// **Errors** naming the metadata key that is missing or unreadable, or the parameter that
    /// does not fit the configuration.
    pub fn from_safetensors(bytes: &[u8], options: SessionOptions) -> Result<Self> {
        let file = FileReader::open(bytes, "causal LM file", Family::DecoderOnly)?;
        let config: DecoderOnlyConfig = file.parse(keys::CONFIG)?;
        let loss_on: LossOn = file.parse(LOSS_ON)?;
        let tokenizer = JoinedTokenizer::from_file(&file)?;
        file.check_vocab(tokenizer.vocab_size(), config.vocab_size)?;
        let mut m = CausalLm::new(config, tokenizer, &[], loss_on, options)?;
        file.load_into(&mut m.model.params)?;
        Ok(m)
    }
}

/// The sequences of `pairs`, `<bos>` … `<eos>`, with where each answer starts, each checked
/// against `max_len`, and the work of a batch of `b` of the longest checked against the limits
/// of one step.
fn encode_pairs(
    tokenizer: &JoinedTokenizer,
    config: &DecoderOnlyConfig,
    b: usize,
    pairs: &[(&str, &str)],
) -> Result<Vec<(Vec<usize>, usize)>> {
    let max = config.max_len;
    let eos = tokenizer.eos().expect("checked in new");
    let seqs = pairs
        .iter()
        .map(|&(s, t)| {
            let mut ids = vec![BOS];
            ids.extend(tokenizer.encode_pair(s, t));
            ids.push(eos);
            if ids.len() - 1 > max {
                return Err(Error::value(format!(
                    "causal LM: the pair {s:?} → {t:?} is {} tokens with <bos>; max_len is {max}",
                    ids.len() - 1
                )));
            }
            let answer = tokenizer.encode(s).1.len() + 2;
            Ok((ids, answer))
        })
        .collect::<Result<Vec<_>>>()?;
    let longest = seqs.iter().map(|s| s.0.len() - 1).max().unwrap_or(0);
    Stack::from(config).check_batch("causal LM", b, longest)?;
    Ok(seqs)
}

/// The metadata key of a causal model's [`LossOn`], as JSON.
pub const LOSS_ON: &str = "loss_on";

#[cfg(test)]
mod tests;
