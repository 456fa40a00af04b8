//! An encoder–decoder that reads a sentence and writes an answer (the seed article's decoder
//! example, 小明今天感冒了 → 他应该多喝水): its pair tokenizer, its parallel data, training on
//! batches of pairs, greedy decoding that keeps every attention weight, and a self-describing
//! safetensors file.
//!
//! ```text
//! pair     source "小明今天感冒了"  target "他应该多喝水"
//! batch    src     [B, S]  小明 今天 感冒 了 <pad>…       src_padding [B, S] (true at <pad>)
//!          tgt_in  [B, T]  <bos> 他 应该 多 喝 水 <pad>…   (the answer shifted right)
//!          targets [B, T]  他 应该 多 喝 水 <eos> −100…     (−100: no loss at padding)
//! step     loss = cross_entropy(model(src, tgt_in), targets);  backward;  clip;  AdamW
//! greedy   y = [<bos>];  repeat: y.push(argmax model(src, y)[last])  until <eos> or max_len
//! ```
//!
//! While it writes each token, greedy decoding records what that token's query looked at in
//! every decoder layer and head: its masked self-attention row over the tokens written so far,
//! and its cross-attention row over the source tokens (queries from the decoder, keys and
//! values from the encoder's output). That is what the page draws, and what the tests check:
//! while writing 喝 a head of the last layer looks most at 感冒.

use crate::error::{Code, Error, Result};
use crate::models::encoder_decoder::{EncoderDecoder, EncoderDecoderConfig};
use crate::ops::softmax;
use crate::optim::Optimizer;
use crate::params::Metadata;
use crate::rng::Rng;
use crate::session::{
    argmax, json, safetensors_with_extra, update, Family, FileReader, SessionOptions,
};
use crate::shards::{Pending, Sharded};
use crate::tokenizer::{PairTokenizer, Segmenter, BOS, PAD, UNK};
use ndarray::{s, Array2, Axis};
use serde::Serialize;
use std::ops::Range;

mod trace;
mod work;

pub use trace::Trace;
pub use work::{activations, forward_flops, PER_TOKEN_LAYER};

/// A parallel corpus: one pair a line, `source<TAB>target`; blank lines are skipped.
///
/// **Errors** if a line has no tab, or an empty side, naming the line.
pub fn parse_tsv(text: &str) -> Result<Vec<(&str, &str)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match line.split_once('\t') {
            Some((s, t)) if !s.trim().is_empty() && !t.trim().is_empty() => {
                out.push((s.trim(), t.trim()))
            }
            _ => {
                return Err(Error::value(format!(
                    "parallel corpus, line {}: {line:?} is not source<TAB>target",
                    i + 1
                )))
            }
        }
    }
    Ok(out)
}

/// How an encoder–decoder is trained, besides its sizes: [`SessionOptions`], which the three
/// families share.
pub type Seq2SeqOptions = SessionOptions;

/// One token the decoder wrote and what its query looked at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerationStep {
    /// Its id.
    pub id: usize,
    /// Its piece (`<eos>` for the last step when the answer ended).
    pub token: String,
    /// Its probability, softmax of the last position's logits.
    pub prob: f32,
    /// Masked self-attention weights `[layer][head][k + 1]` of the position that wrote it, over
    /// the decoder's inputs so far: `<bos>` and the k tokens written before it.
    pub self_attn: Vec<Vec<Vec<f32>>>,
    /// Cross-attention weights `[layer][head][S]` of that position over the source tokens.
    pub cross_attn: Vec<Vec<Vec<f32>>>,
}

/// A greedy decoding and every attention weight along the way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generation {
    /// The source's pieces, as the encoder read them.
    pub source_tokens: Vec<String>,
    /// Their ids ([`UNK`] for a piece the model was not trained on).
    pub source_ids: Vec<usize>,
    /// The source pieces the model does not know (each read as `<unk>`).
    pub unknown: Vec<String>,
    /// The answer's text (without `<eos>`).
    pub text: String,
    /// Every token written, the last one `<eos>` when the answer ended before the limit.
    pub steps: Vec<GenerationStep>,
}

impl Generation {
    /// The first step that wrote `token`.
    pub fn step_writing(&self, token: &str) -> Option<&GenerationStep> {
        self.steps.iter().find(|s| s.token == token)
    }

    /// The heads of cross-attention layer `layer` that, while the decoder wrote `written`,
    /// put their largest weight on source token `source`: `(head, that weight)`, by head.
    /// Empty if `written` was never written or `source` is not in the source.
    pub fn heads_looking_at(&self, layer: usize, written: &str, source: &str) -> Vec<(usize, f32)> {
        let Some(step) = self.step_writing(written) else {
            return vec![];
        };
        let Some(heads) = step.cross_attn.get(layer) else {
            return vec![];
        };
        heads
            .iter()
            .enumerate()
            .filter_map(|(h, row)| {
                let top = argmax(row);
                (self.source_tokens[top] == source).then_some((h, row[top]))
            })
            .collect()
    }
}

/// A pair greedy decoding did not answer exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Missed<'a> {
    /// The source.
    pub source: &'a str,
    /// The expected answer.
    pub target: &'a str,
    /// The model's answer.
    pub got: String,
}

/// How many pairs greedy decoding answered exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactMatches<'a> {
    /// Answered exactly.
    pub right: usize,
    /// Pairs tried.
    pub total: usize,
    /// The others.
    pub missed: Vec<Missed<'a>>,
}

impl ExactMatches<'_> {
    /// The share answered exactly, from 0 to 1 (1 for no pairs).
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.right as f64 / self.total as f64
        }
    }
}

/// Keys of a seq2seq file's `__metadata__`, each holding JSON text.
pub mod keys {
    /// `"encoder-decoder"`.
    pub const MODEL: &str = "model";
    /// The [`crate::models::encoder_decoder::EncoderDecoderConfig`], as flat JSON.
    pub const CONFIG: &str = "config";
    /// Every piece by id (the shared vocabulary), a JSON array.
    pub const VOCAB: &str = "vocab";
    /// The pieces the source side was built from.
    pub const SOURCE_VOCAB: &str = "source_vocab";
    /// The pieces the target side was built from, `<eos>` included.
    pub const TARGET_VOCAB: &str = "target_vocab";
    /// How the source is cut: `{"mode", "lexicon"}`.
    pub const SOURCE_TOKENIZER: &str = "source_tokenizer";
    /// How the target is cut: `{"mode", "lexicon"}`.
    pub const TARGET_TOKENIZER: &str = "target_tokenizer";
}

/// An encoder–decoder, its tokenizer, its training pairs and its optimiser.
#[derive(Debug, Clone)]
pub struct Seq2Seq {
    /// The model (f32, as the page runs it).
    pub model: EncoderDecoder<f32>,
    /// Source and target tokenizers over the model's vocabulary.
    pub tokenizer: PairTokenizer,
    /// Its optimiser.
    pub optimizer: Optimizer<f32>,
    /// Every training loss so far.
    pub losses: Vec<f32>,
    /// Training pairs as ids: source, target (without `<bos>` or `<eos>`).
    pairs: Vec<(Vec<usize>, Vec<usize>)>,
    rng: Rng,
    options: Seq2SeqOptions,
    pending: Option<Box<Pending>>,
}

impl Seq2Seq {
    /// A model of `config` (its `vocab_size` is set from the tokenizer) with weights from
    /// `options.seed`, to be trained on `pairs`.
    ///
    /// **Errors** if the configuration is invalid, a pair is longer than `max_len` allows, the
    /// batch size is 0, or a batch of the longest pairs would be too much work for one step
    /// (checked before the model is built).
    pub fn new(
        mut config: EncoderDecoderConfig,
        tokenizer: PairTokenizer,
        pairs: &[(&str, &str)],
        options: Seq2SeqOptions,
    ) -> Result<Self> {
        options.check("seq2seq")?;
        config.vocab_size = tokenizer.vocab_size();
        config.validate()?;
        // the pairs and the work of their largest batch are checked before the model exists
        let pairs = encode_pairs(&tokenizer, config.max_len, pairs)?;
        work::check_batches(&config, options.batch_size, &pairs)?;
        Ok(Seq2Seq {
            model: EncoderDecoder::new(config, options.seed)?,
            tokenizer,
            optimizer: Optimizer::new(options.optimizer)?,
            losses: vec![],
            pairs,
            rng: Rng::new(options.seed ^ 0x5E0_5E0),
            options,
            pending: None,
        })
    }

    /// A model of `config` trained on `pairs`, whose vocabulary is built from the pairs, each
    /// side cut by its own rules (see [`PairTokenizer::from_pairs`]).
    ///
    /// **Errors** as [`PairTokenizer::from_pairs`] and [`Seq2Seq::new`] do.
    pub fn from_pairs(
        config: EncoderDecoderConfig,
        pairs: &[(&str, &str)],
        source: Segmenter,
        target: Segmenter,
        options: Seq2SeqOptions,
    ) -> Result<Self> {
        let tokenizer = PairTokenizer::from_pairs(pairs, source, target)?;
        Seq2Seq::new(config, tokenizer, pairs, options)
    }

    /// Replaces the training pairs (a pair's pieces unknown to the tokenizer become `<unk>`).
    ///
    /// **Errors**, naming the pair, if a source or an answer (with `<bos>`) is longer than
    /// `max_len`, or has no tokens; and if a batch of the longest pairs would be too much work
    /// for one step (the pairs are then unchanged).
    pub fn set_pairs(&mut self, pairs: &[(&str, &str)]) -> Result<()> {
        let cfg = &self.model.config;
        let pairs = encode_pairs(&self.tokenizer, cfg.max_len, pairs)?;
        work::check_batches(cfg, self.options.batch_size, &pairs)?;
        self.pairs = pairs;
        Ok(())
    }

    /// Number of training pairs.
    pub fn pair_count(&self) -> usize {
        self.pairs.len()
    }

    /// The options it was made with.
    pub fn options(&self) -> Seq2SeqOptions {
        self.options
    }

    /// The batch of the pairs at `indices`: `(src [B, S], src_padding [B, S], tgt_in [B, T],
    /// targets [B, T])`, padded as the module header shows.
    pub fn batch(
        &self,
        indices: &[usize],
    ) -> (Array2<usize>, Array2<bool>, Array2<usize>, Array2<i64>) {
        let pairs: Vec<&(Vec<usize>, Vec<usize>)> =
            indices.iter().map(|&i| &self.pairs[i]).collect();
        let b = pairs.len();
        let s_len = pairs.iter().map(|p| p.0.len()).max().unwrap_or(1);
        let t_len = pairs.iter().map(|p| p.1.len() + 1).max().unwrap_or(1);
        let mut src = Array2::from_elem((b, s_len), PAD);
        let mut padding = Array2::from_elem((b, s_len), true);
        let mut tgt_in = Array2::from_elem((b, t_len), PAD);
        let mut targets = Array2::from_elem((b, t_len), crate::ops::cross_entropy::IGNORE_INDEX);
        let eos = self.tokenizer.eos();
        for (i, (s, t)) in pairs.into_iter().enumerate() {
            for (j, &id) in s.iter().enumerate() {
                src[[i, j]] = id;
                padding[[i, j]] = false;
            }
            tgt_in[[i, 0]] = BOS;
            for (j, &id) in t.iter().enumerate() {
                tgt_in[[i, j + 1]] = id;
                targets[[i, j]] = id as i64;
            }
            targets[[i, t.len()]] = eos as i64;
        }
        (src, padding, tgt_in, targets)
    }

    /// One step on `batch_size` pairs drawn at random (with replacement, from the session's
    /// seeded generator); returns the loss before the step.
    ///
    /// **Errors** without training pairs, or when training diverges.
    pub fn train_step(&mut self) -> Result<f32> {
        self.sharded_step()
    }

    /// **Errors** unless every index names a training pair.
    fn check_indices(&self, indices: &[usize]) -> Result<()> {
        let n = self.pairs.len();
        match indices.iter().find(|&&i| i >= n) {
            Some(i) => Err(Error::value(format!(
                "seq2seq: pair {i} does not exist; there are {n} training pairs"
            ))),
            None => Ok(()),
        }
    }

    /// `n` training steps; their losses.
    pub fn train(&mut self, n: usize) -> Result<Vec<f32>> {
        (0..n).map(|_| self.train_step()).collect()
    }

    /// Greedy decoding of `source`: at most `max_len` tokens (and at most the model's
    /// `max_len`), stopping after `<eos>`. Unknown source pieces are read as `<unk>` and listed
    /// in [`Generation::unknown`]; the model still answers.
    ///
    /// **Errors** if the source has no tokens or more than the model's `max_len`, or if writing
    /// that many tokens would be too much work for one call (the message says how many fit).
    pub fn generate(&self, source: &str, max_len: usize) -> Result<Generation> {
        let cfg = &self.model.config;
        let (source_tokens, source_ids, unknown) = self.read_source(source)?;
        let s_len = source_ids.len();
        self.check_greedy(s_len, max_len.min(cfg.max_len))?;
        let src = Array2::from_shape_vec((1, s_len), source_ids.clone()).expect("1×S");
        let eos = self.tokenizer.eos();
        let mut written = vec![BOS];
        let mut steps = Vec::new();
        // Each step runs the whole model again on the tokens written so far (no key/value
        // cache): answers are a few tokens long, and one forward path is what training checked.
        while steps.len() < max_len.min(cfg.max_len) {
            let k = written.len() - 1;
            let tgt = Array2::from_shape_vec((1, k + 1), written.clone()).expect("1×T");
            let (logits, cache) = self.model.forward(src.view(), tgt.view(), None)?;
            let last = logits.slice(s![0, k, ..]).to_owned().insert_axis(Axis(0));
            let probs = softmax::forward(last.view());
            let probs = probs.row(0);
            let id = argmax(probs.as_slice().expect("contiguous"));
            let rows = |f: &dyn Fn(usize) -> Vec<Vec<f32>>| -> Vec<Vec<Vec<f32>>> {
                (0..cache.decoder.len()).map(f).collect()
            };
            let heads = cfg.layer.n_heads;
            let self_attn = rows(&|l| {
                let c = cache.decoder[l].self_attention();
                (0..heads)
                    .map(|h| c.head(0, h).weights.row(k).to_vec())
                    .collect()
            });
            let cross_attn = rows(&|l| {
                let c = cache.decoder[l].cross_attention();
                (0..heads)
                    .map(|h| c.head(0, h).weights.row(k).to_vec())
                    .collect()
            });
            steps.push(GenerationStep {
                id,
                token: self.tokenizer.piece(id).to_string(),
                prob: probs[id],
                self_attn,
                cross_attn,
            });
            if id == eos {
                break;
            }
            written.push(id);
        }
        Ok(Generation {
            source_tokens,
            source_ids,
            unknown,
            text: self.tokenizer.decode_target(&written[1..]),
            steps,
        })
    }

    /// The source's pieces, their ids and the pieces the model does not know (read as
    /// `<unk>`).
    ///
    /// **Errors** if the source has no tokens or more than the model's `max_len`.
    fn read_source(&self, source: &str) -> Result<(Vec<String>, Vec<usize>, Vec<String>)> {
        let max = self.model.config.max_len;
        let (tokens, ids) = self.tokenizer.encode_source(source);
        if ids.is_empty() || ids.len() > max {
            return Err(Error::value(format!(
                "seq2seq: the source has {} tokens; it needs 1 to {max}",
                ids.len()
            ))
            .with_code(Code::SourceLength)
            .with_param("n", ids.len())
            .with_param("max", max));
        }
        let unknown = tokens
            .iter()
            .zip(&ids)
            .filter(|(_, &id)| id == UNK)
            .map(|(p, _)| p.clone())
            .collect();
        Ok((tokens, ids, unknown))
    }

    /// The answer greedy decoding gives for `source` (at most the model's `max_len` tokens).
    pub fn answer(&self, source: &str) -> Result<String> {
        Ok(self.generate(source, self.model.config.max_len)?.text)
    }

    /// How many of `pairs` greedy decoding answers exactly (the text equal to the target, as
    /// the target tokenizer writes it), and the pairs it missed with its answers.
    pub fn exact_matches<'a>(&self, pairs: &[(&'a str, &'a str)]) -> Result<ExactMatches<'a>> {
        let mut scored = ExactMatches {
            right: 0,
            total: pairs.len(),
            missed: vec![],
        };
        for &(source, target) in pairs {
            let want = self
                .tokenizer
                .decode_target(&self.tokenizer.encode_target(target).1);
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

    /// The metadata that makes a file self-describing: the model's kind and configuration, the
    /// three vocabularies and how each side is cut (see [`keys`]).
    pub fn metadata(&self) -> Metadata {
        let t = &self.tokenizer;
        crate::params::metadata([
            (keys::MODEL.into(), Family::EncoderDecoder.name().into()),
            (keys::CONFIG.into(), json(&self.model.config)),
            (keys::VOCAB.into(), json(t.vocab())),
            (keys::SOURCE_VOCAB.into(), json(&t.source_vocab())),
            (keys::TARGET_VOCAB.into(), json(&t.target_vocab())),
            (keys::SOURCE_TOKENIZER.into(), json(t.source_rules())),
            (keys::TARGET_TOKENIZER.into(), json(t.target_rules())),
        ])
    }

    /// The weights as safetensors (F32) whose `__metadata__` is [`Seq2Seq::metadata`] plus
    /// `extra` (a recipe's name and seed, say).
    pub fn to_safetensors(&self, extra: &Metadata) -> Vec<u8> {
        safetensors_with_extra(&self.model.params, self.metadata(), extra)
    }

    /// A model read from a file [`Seq2Seq::to_safetensors`] wrote: the configuration and the
    /// tokenizer from its metadata, the weights loaded strictly. It has no training pairs (see
    /// [`Seq2Seq::set_pairs`]) and trains with `options` (its seed draws the batches).
    ///
    /// **Errors** naming the metadata key that is missing or unreadable, or the parameter that
    /// does not fit the configuration.
    pub fn from_safetensors(bytes: &[u8], options: Seq2SeqOptions) -> Result<Self> {
        let file = FileReader::open(bytes, "seq2seq file", Family::EncoderDecoder)?;
        let config: EncoderDecoderConfig = file.parse(keys::CONFIG)?;
        let vocab: Vec<String> = file.parse(keys::VOCAB)?;
        let source_vocab: Vec<String> = file.parse(keys::SOURCE_VOCAB)?;
        let target_vocab: Vec<String> = file.parse(keys::TARGET_VOCAB)?;
        let source: Segmenter = file.parse(keys::SOURCE_TOKENIZER)?;
        let target: Segmenter = file.parse(keys::TARGET_TOKENIZER)?;
        let tokenizer =
            PairTokenizer::from_parts(&vocab, source, target, &source_vocab, &target_vocab)?;
        file.check_vocab(tokenizer.vocab_size(), config.vocab_size)?;
        let mut s = Seq2Seq::new(config, tokenizer, &[], options)?;
        file.load_into(&mut s.model.params)?;
        Ok(s)
    }
}

/// Pairs as ids: source, target (without `<bos>` or `<eos>`); a piece unknown to the tokenizer
/// becomes `<unk>`.
///
/// **Errors**, naming the pair, if a source or an answer (with `<bos>`) is longer than
/// `max_len`, or has no tokens.
fn encode_pairs(
    tokenizer: &PairTokenizer,
    max: usize,
    pairs: &[(&str, &str)],
) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    let mut out = Vec::with_capacity(pairs.len());
    for &(s, t) in pairs {
        let src = tokenizer.encode_source(s).1;
        let tgt = tokenizer.encode_target(t).1;
        if src.is_empty() || tgt.is_empty() || src.len() > max || tgt.len() + 1 > max {
            return Err(Error::value(format!(
                "seq2seq: the pair {s:?} → {t:?} has {} source and {} target tokens; each needs 1 to {max} (the answer one fewer, for <bos>)",
                src.len(),
                tgt.len()
            )));
        }
        out.push((src, tgt));
    }
    Ok(out)
}

/// A step's batch is the indices of its pairs (drawn with replacement); shard k is rows
/// [k·B/S, (k+1)·B/S) of the batch padded as a whole, and it counts the answer tokens and the
/// `<eos>` of its pairs.
impl Sharded for Seq2Seq {
    crate::shards::sharded_plumbing!();
    fn draw_batch(&mut self) -> Result<Vec<usize>> {
        let n = self.pairs.len();
        if n == 0 {
            return Err(Error::value(
                "seq2seq: the model has no training pairs; give it a parallel corpus",
            ));
        }
        Ok((0..self.options.batch_size)
            .map(|_| self.rng.below(n))
            .collect())
    }
    fn counted(&self, batch: &[usize], rows: Range<usize>) -> Result<usize> {
        self.check_indices(batch)?;
        Ok(batch[rows].iter().map(|&i| self.pairs[i].1.len() + 1).sum())
    }
    fn backward_rows(&mut self, batch: &[usize], rows: Range<usize>) -> Result<f32> {
        self.check_indices(batch)?;
        let (src, padding, tgt_in, targets) = self.batch(batch);
        let whole = rows.len() == batch.len();
        let r = s![rows, ..];
        let (src, padding, tgt_in, targets) = if whole {
            (src, padding, tgt_in, targets)
        } else {
            (
                src.slice(r).to_owned(),
                padding.slice(r).to_owned(),
                tgt_in.slice(r).to_owned(),
                targets.slice(r).to_owned(),
            )
        };
        let m = &mut self.model;
        m.params.zero_grad();
        m.loss_and_backward(
            src.view(),
            tgt_in.view(),
            targets.view(),
            Some(padding.view()),
        )
    }
    fn apply(&mut self, loss: f32) -> Result<f32> {
        update(
            &mut self.model.params,
            &mut self.optimizer,
            &self.options,
            &mut self.losses,
            loss,
        )
    }
}

#[cfg(test)]
mod tests;
