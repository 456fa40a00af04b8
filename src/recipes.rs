//! Recipes: the committed, deterministic ways the shipped models are trained, natively, by
//! `cargo xtask pretrain`. A recipe names everything — the data, how each side is cut into
//! tokens, the model's sizes, the optimiser, the schedule, the number of steps and the seed —
//! so the same recipe gives the same weights, byte for byte, and a file says which recipe and
//! seed made it.
//!
//! ```text
//! corpus (src/corpora/seq2seq_zh.tsv)
//!   → PairTokenizer   source: words (ZH_LEXICON: 小明 / 今天 / 感冒 / 了)
//!                     target: words of a lexicon without 多喝水 (他 / 应该 / 多 / 喝 / 水)
//!   → EncoderDecoder  C = 32, H = 2, F = 64, 2 encoder and 2 decoder layers, post-norm, ReLU
//!   → AdamW           lr 0.005 (5 % warm-up, cosine to 10 %), weight decay 0.01, clip 1, B = 32
//!   → 1000 steps from seed 1  → www/models/seq2seq-zh.safetensors with its metadata
//! ```
//!
//! About 46 000 parameters (186 kB in f32); 1000 steps take a few seconds on one core. With
//! these settings every seed tried so far answers the held-out pairs (≥ 98 % exact) and, while
//! writing 喝, has a head of the last decoder layer that looks most at 感冒 (`tests/seq2seq.rs`
//! checks the shipped weights and three other seeds).

use crate::corpus;
use crate::error::{Error, Result};
use crate::layers::LayerConfig;
use crate::models::encoder_decoder::EncoderDecoderConfig;
use crate::ops::Activation;
use crate::optim::{OptimizerConfig, Schedule};
use crate::params::Metadata;
use crate::seq2seq::{parse_tsv, Seq2Seq, Seq2SeqOptions};
use crate::tokenizer::{Mode, Segmenter, ZH_LEXICON};
use serde::Serialize;

/// The target side's lexicon for Chinese answers: whole words, except that 多喝水 is not one,
/// so that 喝 is a token of its own (the seed article's decoder writes 喝 while it looks at
/// 感冒).
pub const ZH_ANSWER_LEXICON: &[&str] = &[
    "应该", "休息", "衣服", "运动", "东西", "早点", "睡觉", "医生",
];

/// How sources are cut in `mode`: in word mode, Chinese by [`ZH_LEXICON`] (感冒 is one token),
/// other scripts by spaces and punctuation.
pub fn source_segmenter(mode: Mode) -> Segmenter {
    Segmenter::new(mode, ZH_LEXICON)
}

/// How answers are cut in `mode`: in word mode, Chinese by [`ZH_ANSWER_LEXICON`] (喝 is a token
/// of its own), other scripts by spaces and punctuation.
pub fn target_segmenter(mode: Mode) -> Segmenter {
    Segmenter::new(mode, ZH_ANSWER_LEXICON)
}

/// Keys a recipe adds to a file's metadata.
pub mod keys {
    /// The recipe's name (`"seq2seq-zh"`).
    pub const RECIPE: &str = "recipe";
    /// The seed, as decimal text.
    pub const SEED: &str = "seed";
    /// Training steps taken.
    pub const STEPS: &str = "steps";
    /// The training corpus's file (`"src/corpora/seq2seq_zh.tsv"`).
    pub const CORPUS: &str = "corpus";
    /// Every setting of the recipe, as JSON.
    pub const SETTINGS: &str = "recipe_settings";
}

/// A committed way to train an encoder–decoder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recipe {
    /// Its name, which is also the file's (`seq2seq-zh` → `seq2seq-zh.safetensors`).
    pub name: &'static str,
    /// Where the training pairs come from, for the record.
    pub corpus_file: &'static str,
    /// The training pairs, `source<TAB>target` a line.
    #[serde(skip)]
    pub corpus: &'static str,
    /// Pairs never trained on, to measure what the model composes.
    #[serde(skip)]
    pub heldout: &'static str,
    /// How sources are cut.
    pub source: Segmenter,
    /// How answers are cut.
    pub target: Segmenter,
    /// The model's sizes (its `vocab_size` comes from the tokenizer).
    pub config: EncoderDecoderConfig,
    /// Seed, optimiser, schedule, batch size, clipping.
    pub options: Seq2SeqOptions,
    /// Training steps.
    pub steps: usize,
}

/// The sizes both seq2seq recipes use: small enough to train in seconds on one core, with two
/// layers on each side so that the page has layers to choose between.
fn small_config() -> EncoderDecoderConfig {
    EncoderDecoderConfig {
        vocab_size: 0,
        layer: LayerConfig {
            d_model: 32,
            n_heads: 2,
            d_ff: 64,
            activation: Activation::Relu,
            norm_first: false,
            ..LayerConfig::default()
        },
        n_encoder_layers: 2,
        n_decoder_layers: 2,
        max_len: 16,
    }
}

/// AdamW with a short warm-up and a cosine decay over `steps`.
fn options(seed: u64, steps: usize) -> Seq2SeqOptions {
    Seq2SeqOptions {
        seed,
        optimizer: OptimizerConfig::AdamW {
            lr: 5e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        },
        schedule: Schedule::WarmupCosine {
            warmup: (steps as u64 / 20).max(1),
            total: steps as u64,
            min_ratio: 0.1,
        },
        batch_size: 32,
        clip: Some(1.0),
    }
}

impl Recipe {
    /// 小明今天感冒了 → 他应该多喝水: Chinese situations and advice.
    pub fn seq2seq_zh() -> Self {
        let steps = 1000;
        Recipe {
            name: "seq2seq-zh",
            corpus_file: "src/corpora/seq2seq_zh.tsv",
            corpus: corpus::SEQ2SEQ_ZH,
            heldout: corpus::SEQ2SEQ_ZH_HELDOUT,
            source: source_segmenter(Mode::Word),
            target: target_segmenter(Mode::Word),
            config: small_config(),
            options: options(1, steps),
            steps,
        }
    }

    /// Tom has a cold today → he should drink more water: the English twin.
    pub fn seq2seq_en() -> Self {
        let steps = 1000;
        Recipe {
            name: "seq2seq-en",
            corpus_file: "src/corpora/seq2seq_en.tsv",
            corpus: corpus::SEQ2SEQ_EN,
            heldout: corpus::SEQ2SEQ_EN_HELDOUT,
            source: Segmenter::new(Mode::Word, &[]),
            target: Segmenter::new(Mode::Word, &[]),
            config: small_config(),
            options: options(1, steps),
            steps,
        }
    }

    /// Every recipe `cargo xtask pretrain` runs.
    pub fn all() -> Vec<Recipe> {
        vec![Recipe::seq2seq_zh(), Recipe::seq2seq_en()]
    }

    /// The recipe called `name`.
    pub fn by_name(name: &str) -> Result<Recipe> {
        Recipe::all()
            .into_iter()
            .find(|r| r.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Recipe::all().iter().map(|r| r.name).collect();
                Error::value(format!(
                    "no recipe named {name:?} (there are {})",
                    names.join(", ")
                ))
            })
    }

    /// The same recipe from another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.options.seed = seed;
        self
    }

    /// The same recipe shortened or lengthened to `steps` (the schedule follows).
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.options = Seq2SeqOptions {
            schedule: options(self.options.seed, steps).schedule,
            ..self.options
        };
        self.steps = steps;
        self
    }

    /// The file the recipe's weights are shipped in, under `www/models/`.
    pub fn file_name(&self) -> String {
        format!("{}.safetensors", self.name)
    }

    /// The training pairs.
    pub fn pairs(&self) -> Result<Vec<(&'static str, &'static str)>> {
        parse_tsv(self.corpus)
    }

    /// The held-out pairs.
    pub fn heldout_pairs(&self) -> Result<Vec<(&'static str, &'static str)>> {
        parse_tsv(self.heldout)
    }

    /// The untrained session: tokenizer from the corpus, weights from the seed.
    pub fn session(&self) -> Result<Seq2Seq> {
        Seq2Seq::from_pairs(
            self.config,
            &self.pairs()?,
            self.source.clone(),
            self.target.clone(),
            self.options,
        )
    }

    /// Runs the recipe: every step, from the seed.
    pub fn train(&self) -> Result<Seq2Seq> {
        let mut s = self.session()?;
        s.train(self.steps)?;
        Ok(s)
    }

    /// What the recipe adds to the file's metadata (see [`keys`]).
    pub fn metadata(&self) -> Metadata {
        Metadata::from([
            (keys::RECIPE.into(), self.name.into()),
            (keys::SEED.into(), self.options.seed.to_string()),
            (keys::STEPS.into(), self.steps.to_string()),
            (keys::CORPUS.into(), self.corpus_file.into()),
            (
                keys::SETTINGS.into(),
                serde_json::to_string(self).expect("plain data"),
            ),
        ])
    }

    /// Runs the recipe and returns the session and its file's bytes.
    pub fn run(&self) -> Result<(Seq2Seq, Vec<u8>)> {
        let s = self.train()?;
        let bytes = s.to_safetensors(&self.metadata());
        Ok((s, bytes))
    }
}
