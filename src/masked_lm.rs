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

use crate::error::{Error, Result};
use crate::models::encoder_only::{EncoderOnly, EncoderOnlyConfig};
use crate::ops::cross_entropy::IGNORE_INDEX;
use crate::ops::softmax;
use crate::optim::Optimizer;
use crate::params::Metadata;
use crate::rng::Rng;
use crate::session::{
    json, keys, top_k, update, Family, FileReader, JoinedTokenizer, SessionOptions,
};
use crate::tokenizer::{MASK, PAD};
use ndarray::{s, Array2};
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

/// One candidate for a masked position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Its id.
    pub id: usize,
    /// Its piece.
    pub token: String,
    /// Its probability, softmax of the position's logits over the whole vocabulary.
    pub prob: f32,
}

/// What the model puts at one masked position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaskFill {
    /// The position among the tokens.
    pub position: usize,
    /// The most probable pieces, most probable first.
    pub candidates: Vec<Candidate>,
}

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
    /// `max_len`, or the batch size is 0.
    pub fn new(
        mut config: EncoderOnlyConfig,
        tokenizer: JoinedTokenizer,
        pairs: &[(&str, &str)],
        masking: Masking,
        options: SessionOptions,
    ) -> Result<Self> {
        options.check("masked LM")?;
        masking.check()?;
        config.vocab_size = tokenizer.vocab_size();
        let model = EncoderOnly::new(config, options.seed)?;
        let mut m = MaskedLm {
            model,
            tokenizer,
            optimizer: Optimizer::new(options.optimizer)?,
            losses: vec![],
            sequences: vec![],
            rng: Rng::new(options.seed ^ 0xB_E27),
            masking,
            options,
        };
        m.set_pairs(pairs)?;
        Ok(m)
    }

    /// Replaces the training pairs (pieces unknown to the tokenizer become `<unk>`).
    ///
    /// **Errors**, naming the pair, if its sequence is longer than `max_len`.
    pub fn set_pairs(&mut self, pairs: &[(&str, &str)]) -> Result<()> {
        self.sequences = self.encode_pairs(pairs)?;
        Ok(())
    }

    /// The ids of `pairs` joined, each checked against `max_len`.
    fn encode_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<Vec<usize>>> {
        let max = self.model.config.max_len;
        pairs
            .iter()
            .map(|&(s, t)| {
                let ids = self.tokenizer.encode_pair(s, t);
                if ids.len() > max {
                    return Err(Error::value(format!(
                        "masked LM: the pair {s:?} → {t:?} is {} tokens joined; max_len is {max}",
                        ids.len()
                    )));
                }
                Ok(ids)
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
    /// **Errors** if the text has no `[MASK]`, or more tokens than the model's `max_len`.
    pub fn fill_mask_top(&self, text: &str, k: usize) -> Result<FillMask> {
        let (tokens, ids) = self.encode(text);
        let positions: Vec<usize> = (0..ids.len()).filter(|&t| ids[t] == MASK).collect();
        if positions.is_empty() {
            return Err(Error::value(format!(
                "fill-mask: the text {text:?} has no {MASK_MARK}; write {MASK_MARK} where a word should be filled in"
            )));
        }
        let max = self.model.config.max_len;
        if ids.len() > max {
            return Err(Error::value(format!(
                "fill-mask: the text has {} tokens; the model reads at most {max}",
                ids.len()
            )));
        }
        let t_len = ids.len();
        let input = Array2::from_shape_vec((1, t_len), ids.clone()).expect("1×T");
        let (logits, cache) = self.model.forward(input.view(), None)?;
        let probs = softmax::forward(logits.slice(s![0, .., ..]));
        let masks = positions
            .into_iter()
            .map(|t| {
                let row = probs.row(t);
                let row = row.as_slice().expect("contiguous");
                let candidates = top_k(row, k)
                    .into_iter()
                    .map(|id| Candidate {
                        id,
                        token: self.tokenizer.piece(id).to_string(),
                        prob: row[id],
                    })
                    .collect();
                MaskFill {
                    position: t,
                    candidates,
                }
            })
            .collect();
        let heads = self.model.config.layer.n_heads;
        let attention = cache
            .layers
            .iter()
            .map(|layer| {
                let a = layer.attention();
                (0..heads)
                    .map(|h| {
                        a.head(0, h)
                            .weights
                            .rows()
                            .into_iter()
                            .map(|r| r.to_vec())
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let unknown = JoinedTokenizer::unknown(&tokens, &ids);
        Ok(FillMask {
            tokens,
            ids,
            unknown,
            masks,
            attention,
        })
    }

    /// The mean cross-entropy of every piece of every pair, each masked alone in its sequence
    /// (as `[MASK]`): a deterministic score of a trained model, which a file records.
    ///
    /// **Errors** if a pair is longer than `max_len`, or `pairs` is empty.
    pub fn eval_loss(&self, pairs: &[(&str, &str)]) -> Result<f32> {
        let seqs = self.encode_pairs(pairs)?;
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
        let mut m = self.metadata();
        m.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.model.params.to_safetensors_with(&m)
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
        if tokenizer.vocab_size() != config.vocab_size {
            return Err(Error::format(format!(
                "masked LM file: the vocabulary has {} pieces but the config's vocab_size is {}",
                tokenizer.vocab_size(),
                config.vocab_size
            )));
        }
        let mut m = MaskedLm::new(config, tokenizer, &[], masking, options)?;
        file.load_into(&mut m.model.params)?;
        Ok(m)
    }
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
mod tests {
    use super::*;
    use crate::layers::LayerConfig;
    use crate::tokenizer::{Mode, Segmenter};

    const PAIRS: &[(&str, &str)] = &[
        ("小明今天感冒了", "他应该多喝水"),
        ("小红饿了", "她应该吃点东西"),
        ("我累了", "我应该多休息"),
    ];

    fn tiny(seed: u64, masking: Masking) -> MaskedLm {
        let tok = JoinedTokenizer::from_pairs(
            PAIRS,
            Segmenter::new(
                Mode::Word,
                &["小明", "今天", "感冒", "小红", "应该", "东西", "休息"],
            ),
            "，",
            false,
        )
        .unwrap();
        let config = EncoderOnlyConfig {
            vocab_size: 0,
            layer: LayerConfig {
                d_model: 8,
                n_heads: 2,
                d_ff: 16,
                ..EncoderOnlyConfig::default().layer
            },
            n_layers: 2,
            max_len: 12,
        };
        let options = SessionOptions {
            seed,
            batch_size: 3,
            ..Default::default()
        };
        MaskedLm::new(config, tok, PAIRS, masking, options).unwrap()
    }

    #[test]
    fn a_masked_batch_hides_chosen_pieces_and_scores_only_them() {
        let m = tiny(1, Masking::BERT);
        let mut rng = Rng::new(4);
        let (ids, padding, targets) = m.masked_batch(&[1, 0, 2], &mut rng);
        // 小红 饿 了 ， 她 应该 吃 点 东西 is 9 pieces, 小明 今天 感冒 了 ， 他 应该 多 喝 水 10
        assert_eq!(ids.dim(), (3, 10));
        assert!(padding[[0, 9]] && !padding[[0, 8]] && !padding[[1, 9]]);
        for b in 0..3 {
            let chosen = (0..10).filter(|&t| targets[[b, t]] != IGNORE_INDEX).count();
            assert!(chosen >= 1, "at least one position per sequence");
        }
        // Padding is never chosen; a chosen position's target is the piece the sequence had.
        assert_eq!(targets[[0, 9]], IGNORE_INDEX);
        let seqs: Vec<&[usize]> = [1, 0, 2].map(|i| &m.sequences[i][..]).to_vec();
        let (clean, _) = padded(&seqs);
        for ((b, t), &y) in targets.indexed_iter() {
            if y != IGNORE_INDEX {
                assert_eq!(y, clean[[b, t]] as i64);
            } else {
                assert_eq!(ids[[b, t]], clean[[b, t]], "unchosen pieces stay");
            }
        }
        // Always [MASK] at rate 1: every piece is hidden.
        let all = Masking {
            rate: 1.0,
            mask: 1.0,
            random: 0.0,
        };
        let (ids, _, _) = tiny(1, all).masked_batch(&[0], &mut rng);
        assert!(ids.iter().all(|&i| i == MASK));
        let bad = Masking {
            rate: 0.5,
            mask: 0.8,
            random: 0.3,
        };
        let e = MaskedLm::new(m.model.config, m.tokenizer.clone(), PAIRS, bad, m.options())
            .unwrap_err();
        assert!(e.message.contains("mask + random"), "{e}");
    }

    #[test]
    fn fill_mask_ranks_candidates_and_keeps_every_attention_row() {
        let mut m = tiny(2, Masking::BERT);
        m.train(40).unwrap();
        // masking is random, so the loss is noisy: compare the first and last ten
        let mean = |l: &[f32]| l.iter().sum::<f32>() / l.len() as f32;
        assert!(
            mean(&m.losses[30..]) < mean(&m.losses[..10]),
            "{:?}",
            m.losses
        );
        let f = m
            .fill_mask_top("小明今天[MASK]了，<mask>应该多喝水", 3)
            .unwrap();
        assert_eq!(
            f.tokens,
            ["小明", "今天", "[MASK]", "了", "，", "[MASK]", "应该", "多", "喝", "水"]
        );
        assert_eq!(f.masks.len(), 2);
        assert_eq!((f.masks[0].position, f.masks[1].position), (2, 5));
        for fill in &f.masks {
            assert_eq!(fill.candidates.len(), 3);
            let p: Vec<f32> = fill.candidates.iter().map(|c| c.prob).collect();
            assert!(p[0] >= p[1] && p[1] >= p[2] && p[2] > 0.0, "{p:?}");
            assert_eq!(
                fill.candidates[0].token,
                m.tokenizer.piece(fill.candidates[0].id)
            );
        }
        assert_eq!(f.attention.len(), 2);
        for layer in &f.attention {
            assert_eq!(layer.len(), 2);
            for head in layer {
                assert_eq!(head.len(), 10);
                for row in head {
                    assert_eq!(row.len(), 10);
                    assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                    // every token sees every token: no weight is exactly zero
                    assert!(row.iter().all(|&w| w > 0.0));
                }
            }
        }
        // Unknown words are named, not refused; no mask or too long is refused.
        let f = m.fill_mask("小明发烧了，他应该[MASK]").unwrap();
        assert_eq!(f.unknown, ["发", "烧"]);
        let e = m.fill_mask("小明今天感冒了").unwrap_err();
        assert!(e.message.contains("no [MASK]"), "{e}");
        let e = m
            .fill_mask(&format!("{}[MASK]", "小明".repeat(12)))
            .unwrap_err();
        assert!(e.message.contains("at most 12"), "{e}");
    }

    #[test]
    fn a_file_describes_its_model_and_reproduces_its_scores() {
        let mut m = tiny(3, Masking::BERT);
        m.train(5).unwrap();
        let bytes = m.to_safetensors(&Metadata::new());
        let back = MaskedLm::from_safetensors(&bytes, SessionOptions::default()).unwrap();
        assert_eq!(back.model.config, m.model.config);
        assert_eq!(back.tokenizer, m.tokenizer);
        assert_eq!(back.masking(), Masking::BERT);
        assert_eq!(back.sequence_count(), 0);
        let text = "小红[MASK]了，她应该吃点东西";
        assert_eq!(back.fill_mask(text).unwrap(), m.fill_mask(text).unwrap());
        assert_eq!(back.eval_loss(PAIRS).unwrap(), m.eval_loss(PAIRS).unwrap());
        let e = back.clone().train_step().unwrap_err();
        assert!(e.message.contains("no training pairs"), "{e}");
        let mut meta = m.metadata();
        meta.remove(MASKING);
        let e = MaskedLm::from_safetensors(
            &m.model.params.to_safetensors_with(&meta),
            Default::default(),
        )
        .unwrap_err();
        assert!(e.message.contains("no \"masking\""), "{e}");
        meta.insert(keys::MODEL.into(), "decoder-only".into());
        let e = MaskedLm::from_safetensors(
            &m.model.params.to_safetensors_with(&meta),
            Default::default(),
        )
        .unwrap_err();
        assert!(e.message.contains("not \"encoder-only\""), "{e}");
    }
}
