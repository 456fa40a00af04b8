//! What the three families' training sessions share: how a step updates the weights, how a
//! file's `__metadata__` is read, [`Session`] (a session of any family, as a recipe trains it),
//! and the tokenizer that joins a pair into one sequence for the models that read one sequence
//! (encoder-only, decoder-only).
//!
//! ```text
//! step     zero_grad;  loss, ∂loss/∂θ = the model's loss and backward on one batch
//!          ‖∂θ‖ > clip ⇒ ∂θ ·= clip / ‖∂θ‖;   lr = schedule(base lr, step);   θ ← AdamW(θ, ∂θ, lr)
//! joined   source + separator + target, cut by one tokenizer into one sequence of ids:
//!          小明今天感冒了 + ， + 他应该多喝水  →  小明 今天 感冒 了 ， 他 应该 多 喝 水
//! ```
//!
//! An encoder–decoder ([`crate::seq2seq`]) reads the source and writes the target with two
//! stacks; an encoder-only model ([`crate::masked_lm`]) reads the joined sequence whole and fills
//! in masked pieces; a decoder-only model ([`crate::causal_lm`]) reads it left to right and
//! writes the answer after the separator. The same pairs train all three.

use crate::causal_lm::CausalLm;
use crate::error::{Code, Error, Result};
use crate::masked_lm::MaskedLm;
use crate::optim::{clip_grad_norm, Optimizer, OptimizerConfig, Schedule};
use crate::params::{read_safetensors_with_metadata, Metadata, ParamStore, TensorMap};
use crate::seq2seq::Seq2Seq;
use crate::tokenizer::{by_frequency, Segmenter, Tokenizer, EOS, UNK};
use serde::{Deserialize, Serialize};

pub mod stack;

pub use stack::{Candidate, Prediction, Stack, StackTrace};

/// The three model families of the seed article's module 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// The original Transformer (T5, BART): an encoder reads the source, a decoder writes the
    /// target while looking at it.
    EncoderDecoder,
    /// BERT-like: every token sees every token; trained to fill in masked tokens.
    EncoderOnly,
    /// GPT-like: each token sees only the ones before it; trained to predict the next token.
    DecoderOnly,
}

impl Family {
    /// Its name, as a file's `model` metadata and the page write it (`"encoder-only"`).
    pub fn name(self) -> &'static str {
        match self {
            Family::EncoderDecoder => "encoder-decoder",
            Family::EncoderOnly => "encoder-only",
            Family::DecoderOnly => "decoder-only",
        }
    }
}

/// How a session is trained, besides the model's sizes: the same for every family.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SessionOptions {
    /// Seed of the weights and of the batch sampler (and of the masking, for a masked model).
    pub seed: u64,
    /// Optimiser and base learning rate.
    pub optimizer: OptimizerConfig,
    /// Learning rate by step.
    pub schedule: Schedule,
    /// Sequences (or pairs) per batch, B.
    pub batch_size: usize,
    /// Clip the gradient's global norm to this, if set.
    pub clip: Option<f64>,
    /// Shards each batch is cut into ([`crate::shards`]); the encoder–decoder honours it, the
    /// one-sequence sessions train on whole batches and accept only 1.
    pub shards: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            seed: 1,
            optimizer: OptimizerConfig::adamw(3e-3),
            schedule: Schedule::Constant,
            batch_size: 32,
            clip: Some(1.0),
            shards: 1,
        }
    }
}

impl SessionOptions {
    /// **Errors** if the batch size is 0 or the shard count out of range; `what` names the
    /// session in the message.
    pub(crate) fn check(&self, what: &str) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::config(format!(
                "{what}: the batch size must be at least 1"
            )));
        }
        crate::shards::check_shards(what, self.shards)
    }

    /// [`SessionOptions::check`], and **errors** unless the batch is whole (one shard): for
    /// the sessions that do not cut batches.
    pub(crate) fn check_unsharded(&self, what: &str) -> Result<()> {
        self.check(what)?;
        if self.shards != 1 {
            return Err(Error::config(format!(
                "{what}: trains on whole batches; shards must be 1, not {}",
                self.shards
            )));
        }
        Ok(())
    }
}

/// The second half of a training step, once `loss` and its gradients are in `params`: refuse a
/// diverged loss, clip, take the scheduled learning rate for step `losses.len()`, step the
/// optimiser, record the loss.
pub(crate) fn update(
    params: &mut ParamStore<f32>,
    optimizer: &mut Optimizer<f32>,
    options: &SessionOptions,
    losses: &mut Vec<f32>,
    loss: f32,
) -> Result<f32> {
    if !loss.is_finite() {
        return Err(Error::value(format!(
            "training diverged: the loss is {loss}; lower the learning rate and reset"
        ))
        .with_code(Code::Diverged));
    }
    if let Some(c) = options.clip {
        clip_grad_norm(params, c)?;
    }
    let base = optimizer.config.lr();
    let lr = options.schedule.lr(base, losses.len() as u64);
    optimizer.step_with_lr(params, lr)?;
    losses.push(loss);
    Ok(loss)
}

/// The index of the largest value (the first one on ties).
pub(crate) fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate() {
        if x > row[best] {
            best = i;
        }
    }
    best
}

/// The indices of the `k` largest values, largest first (lower index first on ties).
pub(crate) fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut order = crate::sorting::descending(row, f32::total_cmp);
    order.truncate(k);
    order
}

/// JSON text of plain data, for a metadata value.
pub(crate) fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

/// `params` as safetensors (F32) whose `__metadata__` is `meta` plus `extra` (a recipe's name
/// and seed, say; `extra` wins on a shared key).
pub(crate) fn safetensors_with_extra(
    params: &ParamStore<f32>,
    mut meta: Metadata,
    extra: &Metadata,
) -> Vec<u8> {
    meta.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    params.to_safetensors_with(&meta)
}

/// A file's weights and `__metadata__`, read with messages that name the file's kind.
pub(crate) struct FileReader {
    /// The file's kind in messages (`"seq2seq file"`).
    pub what: &'static str,
    /// Its tensors.
    pub tensors: TensorMap,
    /// Its metadata.
    pub meta: Metadata,
}

impl FileReader {
    /// Reads `bytes` and checks that the file's `model` is `family`.
    pub fn open(bytes: &[u8], what: &'static str, family: Family) -> Result<Self> {
        let (tensors, meta) = read_safetensors_with_metadata(bytes)?;
        let r = FileReader {
            what,
            tensors,
            meta,
        };
        let model = r.field("model")?;
        if model != family.name() {
            return Err(Error::format(format!(
                "{what}: the model is {model:?}, not {:?}",
                family.name()
            )));
        }
        Ok(r)
    }

    /// The text under `key`. **Errors** naming the key if it is missing.
    pub fn field(&self, key: &str) -> Result<&str> {
        self.meta.get(key).map(|s| s.as_str()).ok_or_else(|| {
            Error::format(format!(
                "{}: __metadata__ has no {key:?} (files written by `cargo xtask pretrain` have it)",
                self.what
            ))
        })
    }

    /// The JSON under `key`. **Errors** naming the key if it is missing or not valid.
    pub fn parse<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T> {
        serde_json::from_str(self.field(key)?).map_err(|e| {
            Error::format(format!(
                "{}: __metadata__ {key:?} is not valid: {e}",
                self.what
            ))
        })
    }

    /// **Errors** if the file's vocabulary (`vocab` pieces) does not match its config's
    /// `vocab_size`.
    pub fn check_vocab(&self, vocab: usize, vocab_size: usize) -> Result<()> {
        if vocab != vocab_size {
            return Err(Error::format(format!(
                "{}: the vocabulary has {vocab} pieces but the config's vocab_size is {vocab_size}",
                self.what
            )));
        }
        Ok(())
    }

    /// Loads the tensors into `params`, strictly.
    pub fn load_into(&self, params: &mut ParamStore<f32>) -> Result<()> {
        params
            .load_map(&self.tensors)
            .map_err(|e| e.context(self.what))
    }
}

// ---------------------------------------------------------------------------------------------
// Any of the three

/// A session of any of the three families (what a recipe trains).
#[derive(Debug, Clone)]
pub enum Session {
    /// An encoder–decoder.
    Seq2Seq(Seq2Seq),
    /// An encoder-only model filling in masks.
    Masked(MaskedLm),
    /// A decoder-only language model.
    Causal(CausalLm),
}

impl Session {
    /// Its family.
    pub fn family(&self) -> Family {
        match self {
            Session::Seq2Seq(_) => Family::EncoderDecoder,
            Session::Masked(_) => Family::EncoderOnly,
            Session::Causal(_) => Family::DecoderOnly,
        }
    }

    /// Every training loss so far.
    pub fn losses(&self) -> &[f32] {
        match self {
            Session::Seq2Seq(s) => &s.losses,
            Session::Masked(s) => &s.losses,
            Session::Causal(s) => &s.losses,
        }
    }

    /// The number of scalar parameters.
    pub fn param_count(&self) -> usize {
        match self {
            Session::Seq2Seq(s) => s.model.params.numel(),
            Session::Masked(s) => s.model.params.numel(),
            Session::Causal(s) => s.model.params.numel(),
        }
    }

    /// The vocabulary's size.
    pub fn vocab_size(&self) -> usize {
        match self {
            Session::Seq2Seq(s) => s.tokenizer.vocab_size(),
            Session::Masked(s) => s.tokenizer.vocab_size(),
            Session::Causal(s) => s.tokenizer.vocab_size(),
        }
    }

    /// `n` training steps; their losses.
    pub fn train(&mut self, n: usize) -> Result<Vec<f32>> {
        match self {
            Session::Seq2Seq(s) => s.train(n),
            Session::Masked(s) => s.train(n),
            Session::Causal(s) => s.train(n),
        }
    }

    /// The weights as safetensors with the session's metadata and `extra`.
    pub fn to_safetensors(&self, extra: &Metadata) -> Vec<u8> {
        match self {
            Session::Seq2Seq(s) => s.to_safetensors(extra),
            Session::Masked(s) => s.to_safetensors(extra),
            Session::Causal(s) => s.to_safetensors(extra),
        }
    }

    fn not(&self, want: Family) -> Error {
        Error::value(format!(
            "the session is {}, not {}",
            self.family().name(),
            want.name()
        ))
    }

    /// The encoder–decoder. **Errors** for another family.
    pub fn into_seq2seq(self) -> Result<Seq2Seq> {
        match self {
            Session::Seq2Seq(s) => Ok(s),
            other => Err(other.not(Family::EncoderDecoder)),
        }
    }

    /// The encoder-only model. **Errors** for another family.
    pub fn into_masked(self) -> Result<MaskedLm> {
        match self {
            Session::Masked(s) => Ok(s),
            other => Err(other.not(Family::EncoderOnly)),
        }
    }

    /// The decoder-only model. **Errors** for another family.
    pub fn into_causal(self) -> Result<CausalLm> {
        match self {
            Session::Causal(s) => Ok(s),
            other => Err(other.not(Family::DecoderOnly)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One sequence from a pair

/// Keys of a joined-sequence model's `__metadata__` (encoder-only and decoder-only files), each
/// holding text; `model` and `config` are as in a seq2seq file.
pub mod keys {
    /// `"encoder-only"` or `"decoder-only"`.
    pub const MODEL: &str = "model";
    /// The model's configuration, as flat JSON.
    pub const CONFIG: &str = "config";
    /// Every piece by id, a JSON array.
    pub const VOCAB: &str = "vocab";
    /// How text is cut: `{"mode", "lexicon"}`.
    pub const TOKENIZER: &str = "tokenizer";
    /// The piece between source and target (`"，"`, `","`), as JSON text.
    pub const SEPARATOR: &str = "separator";
}

/// One tokenizer for pairs joined into one sequence, `source + separator + target`, for the
/// families that read one sequence. Both sides are cut by the same rules (in Chinese a lexicon
/// that keeps 小明 and 感冒 whole and leaves 喝 a piece of its own), into one vocabulary.
///
/// ```text
/// ids:  0 <pad>  1 <unk>  2 <bos>  3 <mask>  [4 <eos>]  | pieces of the joined pairs
///       by descending frequency, ties by first appearance
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct JoinedTokenizer {
    tokenizer: Tokenizer,
    rules: Segmenter,
    separator: String,
    separator_id: usize,
}

impl JoinedTokenizer {
    /// The vocabulary of `pairs` joined by `separator` and cut by `rules`; with `eos`, [`EOS`]
    /// (id 4) for a model that must say where its answer ends.
    ///
    /// **Errors** if the pairs have no pieces, the separator is not one piece, or the vocabulary
    /// is too large.
    pub fn from_pairs(
        pairs: &[(&str, &str)],
        rules: Segmenter,
        separator: &str,
        eos: bool,
    ) -> Result<Self> {
        let texts: Vec<String> = pairs
            .iter()
            .map(|(s, t)| format!("{s}{separator}{t}"))
            .collect();
        let texts: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let pieces = by_frequency(&rules.tokenizer(&[]), &texts);
        if pieces.is_empty() {
            return Err(Error::value("joined tokenizer: the pairs have no tokens"));
        }
        let vocab: Vec<String> = eos
            .then(|| EOS.to_string())
            .into_iter()
            .chain(pieces)
            .collect();
        Self::from_parts(&vocab, rules, separator)
    }

    /// The separator pairs are joined with when none is given, as the recipes join them:
    /// `"，"` when the pairs are written in Chinese (have a CJK character), `","` otherwise.
    pub fn default_separator(pairs: &[(&str, &str)]) -> &'static str {
        let cjk = |t: &str| t.chars().any(crate::tokenizer::is_cjk);
        if pairs.iter().any(|(s, t)| cjk(s) || cjk(t)) {
            "，"
        } else {
            ","
        }
    }

    /// The tokenizer from what [`JoinedTokenizer::vocab`], [`JoinedTokenizer::rules`] and
    /// [`JoinedTokenizer::separator`] return, as a file stores them. `vocab` may start with the
    /// four specials or leave them out.
    ///
    /// **Errors** if the separator is not one piece of the vocabulary, or the vocabulary is too
    /// large.
    pub fn from_parts(vocab: &[String], rules: Segmenter, separator: &str) -> Result<Self> {
        let tokenizer = rules.tokenizer(vocab);
        if tokenizer.vocab_size() > crate::models::MAX_VOCAB {
            return Err(Error::config(format!(
                "joined tokenizer: {} pieces is more than the largest vocabulary, {}",
                tokenizer.vocab_size(),
                crate::models::MAX_VOCAB
            )));
        }
        let cut = tokenizer.segment(separator);
        let separator_id = match cut.as_slice() {
            [one] if one == separator => tokenizer.id(one),
            _ => None,
        }
        .ok_or_else(|| {
            Error::value(format!(
                "joined tokenizer: the separator {separator:?} is not one piece of the vocabulary"
            ))
        })?;
        Ok(JoinedTokenizer {
            tokenizer,
            rules,
            separator: separator.to_string(),
            separator_id,
        })
    }

    /// Number of ids, V (specials included): the model's `vocab_size`.
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.vocab_size()
    }

    /// Every piece, by id.
    pub fn vocab(&self) -> &[String] {
        self.tokenizer.vocab()
    }

    /// How text is cut.
    pub fn rules(&self) -> &Segmenter {
        &self.rules
    }

    /// The piece between source and target.
    pub fn separator(&self) -> &str {
        &self.separator
    }

    /// The separator's id.
    pub fn separator_id(&self) -> usize {
        self.separator_id
    }

    /// The id of [`EOS`], if the vocabulary has it.
    pub fn eos(&self) -> Option<usize> {
        self.tokenizer.id(EOS)
    }

    /// The piece of `id` (`<unk>` for an id out of range).
    pub fn piece(&self, id: usize) -> &str {
        self.tokenizer.piece(id)
    }

    /// The id of `piece`, if it is in the vocabulary.
    pub fn id(&self, piece: &str) -> Option<usize> {
        self.tokenizer.id(piece)
    }

    /// The pieces of `text` and their ids ([`UNK`] for a piece not in the vocabulary).
    pub fn encode(&self, text: &str) -> (Vec<String>, Vec<usize>) {
        self.tokenizer.encode(text)
    }

    /// The ids of a pair: `source`'s, the separator's, `target`'s (each side cut on its own, so
    /// no word spans the separator).
    pub fn encode_pair(&self, source: &str, target: &str) -> Vec<usize> {
        let mut ids = self.encode(source).1;
        ids.push(self.separator_id);
        ids.extend(self.encode(target).1);
        ids
    }

    /// Text for `ids`, up to the first [`EOS`]: Chinese pieces joined, Latin words spaced.
    pub fn decode(&self, ids: &[usize]) -> String {
        let end = match self.eos() {
            Some(eos) => ids.iter().position(|&i| i == eos).unwrap_or(ids.len()),
            None => ids.len(),
        };
        self.tokenizer.decode(&ids[..end])
    }

    /// The pieces in `pieces` whose id is [`UNK`].
    pub(crate) fn unknown(pieces: &[String], ids: &[usize]) -> Vec<String> {
        pieces
            .iter()
            .zip(ids)
            .filter(|(_, &id)| id == UNK)
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// The metadata that describes the tokenizer (see [`keys`]).
    pub(crate) fn metadata(&self) -> Metadata {
        crate::params::metadata([
            (keys::VOCAB.into(), json(self.vocab())),
            (keys::TOKENIZER.into(), json(&self.rules)),
            (keys::SEPARATOR.into(), json(&self.separator)),
        ])
    }

    /// The tokenizer a file's metadata describes.
    pub(crate) fn from_file(file: &FileReader) -> Result<Self> {
        let vocab: Vec<String> = file.parse(keys::VOCAB)?;
        let rules: Segmenter = file.parse(keys::TOKENIZER)?;
        let separator: String = file.parse(keys::SEPARATOR)?;
        Self::from_parts(&vocab, rules, &separator).map_err(|e| e.context(file.what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::{Mode, ZH_LEXICON};

    #[test]
    fn a_pair_is_one_sequence_with_the_separator_between() {
        let pairs = [
            ("小明今天感冒了", "他应该多喝水"),
            ("小红饿了", "她应该吃点东西"),
        ];
        let rules = Segmenter::new(
            Mode::Word,
            &["小明", "今天", "感冒", "小红", "应该", "东西"],
        );
        let t = JoinedTokenizer::from_pairs(&pairs, rules.clone(), "，", true).unwrap();
        assert_eq!((t.eos(), t.piece(4)), (Some(4), EOS));
        let ids = t.encode_pair("小明今天感冒了", "他应该多喝水");
        let pieces: Vec<&str> = ids.iter().map(|&i| t.piece(i)).collect();
        assert_eq!(
            pieces,
            ["小明", "今天", "感冒", "了", "，", "他", "应该", "多", "喝", "水"]
        );
        assert_eq!(t.piece(t.separator_id()), "，");
        let mut with_end = ids.clone();
        with_end.extend([4, ids[0]]);
        assert_eq!(t.decode(&with_end), "小明今天感冒了，他应该多喝水");
        // What a file stores rebuilds it; without <eos> there is no id 4 for it.
        let back = JoinedTokenizer::from_parts(t.vocab(), rules.clone(), "，").unwrap();
        assert_eq!(back, t);
        let no_eos = JoinedTokenizer::from_pairs(&pairs, rules.clone(), "，", false).unwrap();
        assert_eq!(JoinedTokenizer::default_separator(&pairs), "，");
        assert_eq!(
            JoinedTokenizer::default_separator(&[("I am cold", "wear more")]),
            ","
        );
        assert_eq!(no_eos.eos(), None);
        assert_eq!(no_eos.vocab_size() + 1, t.vocab_size());
        // An unknown word is <unk>; a separator that is no piece is refused.
        let (p, i) = t.encode("小明发烧了");
        assert_eq!(JoinedTokenizer::unknown(&p, &i), ["发", "烧"]);
        let z = Segmenter::new(Mode::Word, ZH_LEXICON);
        let e = JoinedTokenizer::from_pairs(&pairs, z, "今天天气", false).unwrap_err();
        assert!(e.message.contains("separator \"今天天气\""), "{e}");
    }

    #[test]
    fn top_k_is_largest_first_and_stable_on_ties() {
        assert_eq!(top_k(&[0.1, 0.5, 0.2, 0.5], 3), [1, 3, 2]);
        assert_eq!(argmax(&[0.1, 0.5, 0.2, 0.5]), 1);
        assert_eq!(top_k(&[0.3], 5), [0]);
    }
}
