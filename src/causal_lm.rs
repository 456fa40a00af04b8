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

use crate::error::{Error, Result};
use crate::models::decoder_only::{DecoderOnly, DecoderOnlyConfig};
use crate::ops::cross_entropy::IGNORE_INDEX;
use crate::ops::softmax;
use crate::optim::Optimizer;
use crate::params::Metadata;
use crate::rng::Rng;
use crate::seq2seq::{ExactMatches, Missed};
use crate::session::{
    argmax, json, keys, update, Family, FileReader, JoinedTokenizer, SessionOptions,
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
    /// longer than `max_len` allows, or the batch size is 0.
    pub fn new(
        mut config: DecoderOnlyConfig,
        tokenizer: JoinedTokenizer,
        pairs: &[(&str, &str)],
        loss_on: LossOn,
        options: SessionOptions,
    ) -> Result<Self> {
        options.check("causal LM")?;
        if tokenizer.eos().is_none() {
            return Err(Error::config(
                "causal LM: the tokenizer has no <eos>, so the model could not end its answer",
            ));
        }
        config.vocab_size = tokenizer.vocab_size();
        let model = DecoderOnly::new(config, options.seed)?;
        let mut m = CausalLm {
            model,
            tokenizer,
            optimizer: Optimizer::new(options.optimizer)?,
            losses: vec![],
            sequences: vec![],
            rng: Rng::new(options.seed ^ 0x6_F72),
            loss_on,
            options,
        };
        m.set_pairs(pairs)?;
        Ok(m)
    }

    /// Replaces the training pairs (pieces unknown to the tokenizer become `<unk>`).
    ///
    /// **Errors**, naming the pair, if `<bos>` + its pieces is longer than `max_len` (the
    /// model reads every piece but the last, `<eos>`).
    pub fn set_pairs(&mut self, pairs: &[(&str, &str)]) -> Result<()> {
        self.sequences = self.encode_pairs(pairs)?;
        Ok(())
    }

    /// The sequences of `pairs`, `<bos>` … `<eos>`, with where each answer starts, each checked
    /// against `max_len`.
    fn encode_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<(Vec<usize>, usize)>> {
        let max = self.model.config.max_len;
        let eos = self.tokenizer.eos().expect("checked in new");
        pairs
            .iter()
            .map(|&(s, t)| {
                let mut ids = vec![BOS];
                ids.extend(self.tokenizer.encode_pair(s, t));
                ids.push(eos);
                if ids.len() - 1 > max {
                    return Err(Error::value(format!(
                        "causal LM: the pair {s:?} → {t:?} is {} tokens with <bos>; max_len is {max}",
                        ids.len() - 1
                    )));
                }
                let answer = self.tokenizer.encode(s).1.len() + 2;
                Ok((ids, answer))
            })
            .collect()
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
    /// **Errors** if `<bos>` and the prompt already fill the model's `max_len`.
    pub fn generate(&self, prompt: &str, max_len: usize) -> Result<CausalGeneration> {
        let cfg = &self.model.config;
        let (pieces, ids) = self.tokenizer.encode(prompt);
        if ids.len() + 1 >= cfg.max_len {
            return Err(Error::value(format!(
                "causal LM: the prompt has {} tokens; with <bos> and room to write it needs at most {}",
                ids.len(),
                cfg.max_len.saturating_sub(2)
            )));
        }
        let unknown = JoinedTokenizer::unknown(&pieces, &ids);
        let context: Vec<String> = std::iter::once(self.tokenizer.piece(BOS).to_string())
            .chain(pieces)
            .collect();
        let mut seq: Vec<usize> = std::iter::once(BOS).chain(ids).collect();
        let context_ids = seq.clone();
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
        let seqs = self.encode_pairs(pairs)?;
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
        let mut m = self.metadata();
        m.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.model.params.to_safetensors_with(&m)
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
        if tokenizer.vocab_size() != config.vocab_size {
            return Err(Error::format(format!(
                "causal LM file: the vocabulary has {} pieces but the config's vocab_size is {}",
                tokenizer.vocab_size(),
                config.vocab_size
            )));
        }
        let mut m = CausalLm::new(config, tokenizer, &[], loss_on, options)?;
        file.load_into(&mut m.model.params)?;
        Ok(m)
    }
}

/// The metadata key of a causal model's [`LossOn`], as JSON.
pub const LOSS_ON: &str = "loss_on";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::LayerConfig;
    use crate::tokenizer::{Mode, Segmenter};

    const PAIRS: &[(&str, &str)] = &[
        ("小明今天感冒了", "他应该多喝水"),
        ("小红饿了", "她应该吃点东西"),
        ("我累了", "我应该多休息"),
    ];

    fn tiny(seed: u64, loss_on: LossOn) -> CausalLm {
        let words = ["小明", "今天", "感冒", "小红", "应该", "东西", "休息"];
        let tok =
            JoinedTokenizer::from_pairs(PAIRS, Segmenter::new(Mode::Word, &words), "，", true)
                .unwrap();
        let config = DecoderOnlyConfig {
            vocab_size: 0,
            layer: LayerConfig {
                d_model: 16,
                n_heads: 2,
                d_ff: 32,
                ..LayerConfig::default()
            },
            n_layers: 2,
            max_len: 12,
        };
        let options = SessionOptions {
            seed,
            batch_size: 3,
            ..Default::default()
        };
        CausalLm::new(config, tok, PAIRS, loss_on, options).unwrap()
    }

    #[test]
    fn a_batch_shifts_by_one_and_can_score_only_the_answer() {
        let m = tiny(1, LossOn::Sequence);
        let t = &m.tokenizer;
        let (ids, targets) = m.batch(&[0, 2]);
        // <bos> 小明 今天 感冒 了 ， 他 应该 多 喝 水 → … 水 <eos>: 11 inputs
        assert_eq!(ids.dim(), (2, 11));
        let row: Vec<&str> = ids.row(0).iter().map(|&i| t.piece(i)).collect();
        assert_eq!(row[..6], ["<bos>", "小明", "今天", "感冒", "了", "，"]);
        assert_eq!(targets[[0, 0]], ids[[0, 1]] as i64);
        assert_eq!(targets[[0, 10]], t.eos().unwrap() as i64);
        // 我 累 了 ， 我 应该 多 休息 <eos>: 9 inputs, then padding with no target
        assert_eq!((ids[[1, 9]], targets[[1, 9]]), (PAD, IGNORE_INDEX));
        assert_eq!(targets[[1, 8]], t.eos().unwrap() as i64);
        // Answer only: nothing counted up to and including the separator's prediction.
        let a = tiny(1, LossOn::Answer);
        let (_, targets) = a.batch(&[0]);
        let counted: Vec<usize> = (0..11)
            .filter(|&k| targets[[0, k]] != IGNORE_INDEX)
            .collect();
        // inputs ， 他 应该 多 喝 水 (positions 5..=10) predict 他 … <eos>
        assert_eq!(counted, (5..=10).collect::<Vec<_>>());
        assert_eq!(t.piece(targets[[0, 5]] as usize), "他");
    }

    #[test]
    fn greedy_decoding_keeps_a_causal_row_per_layer_and_head() {
        let mut m = tiny(2, LossOn::Sequence);
        let first = m.train(60).unwrap()[0];
        assert!(m.losses[59] < first, "{:?}", m.losses);
        let g = m.generate("小明今天感冒了，", 6).unwrap();
        assert_eq!(g.context, ["<bos>", "小明", "今天", "感冒", "了", "，"]);
        assert!(!g.steps.is_empty() && g.steps.len() <= 6);
        for (k, step) in g.steps.iter().enumerate() {
            assert_eq!(step.attention.len(), 2);
            for head in &step.attention {
                assert_eq!(head.len(), 2);
                for row in head {
                    // over the 6 context pieces and the k written before it
                    assert_eq!(row.len(), 6 + k);
                    assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                }
            }
        }
        let written: Vec<usize> = g.steps.iter().map(|s| s.id).collect();
        assert_eq!(g.text, m.tokenizer.decode(&written));
        // From <bos> alone it writes too; unknown words are named; a long prompt is refused.
        assert!(!m.generate("", 3).unwrap().steps.is_empty());
        assert_eq!(m.generate("小明发烧了，", 2).unwrap().unknown, ["发", "烧"]);
        let e = m.generate(&"小明".repeat(11), 4).unwrap_err();
        assert!(e.message.contains("at most 10"), "{e}");
        // The generation never runs past the model's max_len.
        let g = m.generate(&"小明".repeat(9), 20).unwrap();
        assert!(g.context.len() + g.steps.len() <= 13, "{}", g.steps.len());
    }

    #[test]
    fn a_file_describes_its_model_and_reproduces_its_scores() {
        let mut m = tiny(3, LossOn::Answer);
        m.train(5).unwrap();
        let bytes = m.to_safetensors(&Metadata::new());
        let back = CausalLm::from_safetensors(&bytes, SessionOptions::default()).unwrap();
        assert_eq!(back.model.config, m.model.config);
        assert_eq!(back.tokenizer, m.tokenizer);
        assert_eq!(back.loss_on(), LossOn::Answer);
        assert_eq!(
            back.generate("小红饿了，", 8).unwrap(),
            m.generate("小红饿了，", 8).unwrap()
        );
        assert_eq!(back.eval_loss(PAIRS).unwrap(), m.eval_loss(PAIRS).unwrap());
        let mut meta = m.metadata();
        meta.insert(crate::session::keys::SEPARATOR.into(), "\"。\"".into());
        let e = CausalLm::from_safetensors(
            &m.model.params.to_safetensors_with(&meta),
            Default::default(),
        )
        .unwrap_err();
        assert!(e.message.contains("separator \"。\""), "{e}");
    }
}
