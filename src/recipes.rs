//! Recipes: the committed, deterministic ways the shipped models are trained, natively, by
//! `cargo xtask pretrain`. A recipe names everything — the data, how text is cut into tokens,
//! the model's family and sizes, the optimiser, the schedule, the number of steps and the seed
//! — so the same recipe gives the same weights, byte for byte, on machines whose f32 product
//! takes the same path (the shipped files were written on x86-64 with AVX2 and FMA; see
//! [`crate::kernel::SgemmPath`]), and a file says which recipe and seed made it.
//!
//! The three families learn from the same pairs (situation → advice), each as it is meant to:
//!
//! ```text
//! seq2seq-*   encoder–decoder   source → target                 小明今天感冒了 → 他应该多喝水
//! masked-*    encoder-only      source，target with [MASK]s      小明今天[MASK]了，他应该多喝水 → 感冒
//! causal-*    decoder-only      <bos> source，target <eos>       小明今天感冒了， → 他应该多喝水
//! ```
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
//!
//! The one-sequence families cut source and answer with one tokenizer ([`zh_joined_lexicon`]:
//! 小明 and 感冒 whole, 喝 alone) and have C = 32, H = 2, F = 64, 2 layers, GELU and each
//! family's usual norm placement (BERT post-norm, GPT-2 pre-norm), with the same AdamW and
//! schedule: 2000 steps of BERT masking for `masked-*`, 1000 steps with the loss on every piece
//! for `causal-*`. About 21 000 parameters (≈ 89 kB files), a few seconds each on one core;
//! `tests/families.rs` checks what they learn, for the shipped weights and three other seeds.
//!
//! The `stack-*` recipes ([`TextRecipe`]) are of another kind: the learning panel's own
//! training ([`crate::trainer::Trainer`]) on running text, so that the page can retrain them step for step:
//!
//! ```text
//! corpus::ZH (src/corpora/zh.txt), the last 10 % held out
//!   → text_tokenizer   words (ZH_LEXICON), at most 2000 pieces, as the learning panel's
//!   → DecoderOnly      C = 32, H = 4, F = 128, 4 layers, max_len 16, GELU, pre-norm
//!   → Adam             lr 0.01 (constant), clip 1, B = 16 windows of T = 16 tokens
//!   → STACK_STEPS steps from seed 1  → www/models/stack-zh.safetensors with its metadata
//! ```
//!
//! `tests/stack.rs` checks what it learns (散步 after 今天天气真好，适合去) and that its heads
//! have patterns [`crate::heads`] can name, for the shipped weights and other seeds.

use crate::causal_lm::{CausalLm, LossOn};
use crate::corpus;
use crate::error::{Error, Result};
use crate::layers::LayerConfig;
use crate::masked_lm::{MaskedLm, Masking};
use crate::models::decoder_only::DecoderOnlyConfig;
use crate::models::encoder_decoder::EncoderDecoderConfig;
use crate::models::encoder_only::EncoderOnlyConfig;
use crate::ops::Activation;
use crate::optim::{OptimizerConfig, Schedule};
use crate::params::Metadata;
use crate::seq2seq::{parse_tsv, Seq2Seq};
use crate::session::{Family, JoinedTokenizer, Session, SessionOptions};
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

/// How a pair joined into one sequence is cut in `mode`: in word mode, Chinese by
/// [`zh_joined_lexicon`] (小明 and 感冒 whole, 喝 alone), other scripts by spaces and
/// punctuation.
pub fn joined_segmenter(mode: Mode) -> Segmenter {
    Segmenter::new(mode, &zh_joined_lexicon())
}

/// The lexicon of the one-sequence families in Chinese: [`ZH_LEXICON`] without the words that
/// would swallow an answer's pieces (多喝水, 喝水, 多穿, 吃药), and with the answers' words
/// ([`ZH_ANSWER_LEXICON`]), so that 小明 and 感冒 are pieces and 喝 is a piece of its own, as in
/// the encoder–decoder's source and target.
pub fn zh_joined_lexicon() -> Vec<&'static str> {
    let mut words: Vec<&str> = ZH_LEXICON
        .iter()
        .copied()
        .filter(|w| !["多喝水", "喝水", "多穿", "吃药"].contains(w))
        .collect();
    for w in ZH_ANSWER_LEXICON {
        if !words.contains(w) {
            words.push(w);
        }
    }
    words
}

/// Keys a recipe adds to a file's metadata.
pub mod keys {
    /// The recipe's name (`"seq2seq-zh"`).
    pub const RECIPE: &str = "recipe";
    /// The seed, as decimal text.
    pub const SEED: &str = "seed";
    /// Training steps taken.
    pub const STEPS: &str = "steps";
    /// The training corpus's file (`"src/corpora/seq2seq_zh.tsv"`, `"src/corpora/zh.txt"`).
    pub const CORPUS: &str = "corpus";
    /// Every setting of the recipe, as JSON.
    pub const SETTINGS: &str = "recipe_settings";
    /// The trained model's mean loss on its training pairs, scored deterministically (see
    /// [`crate::masked_lm::MaskedLm::eval_loss`], [`crate::causal_lm::CausalLm::eval_loss`]), as
    /// decimal text. Encoder-only and decoder-only files have it (the seq2seq files, written
    /// before it, do not). A [`super::TextRecipe`]'s file records its held-out loss instead
    /// ([`crate::trainer::Trainer::eval_loss`]).
    pub const FINAL_LOSS: &str = "final_loss";
}

/// What a recipe trains: the family, its tokenizer and its sizes. In a file's
/// `recipe_settings` the variant's fields sit beside the recipe's (as a seq2seq recipe's
/// `source`, `target` and `config` always have).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Architecture {
    /// An encoder–decoder ([`Seq2Seq`]).
    EncoderDecoder {
        /// How sources are cut.
        source: Segmenter,
        /// How answers are cut.
        target: Segmenter,
        /// The model's sizes (its `vocab_size` comes from the tokenizer).
        config: EncoderDecoderConfig,
    },
    /// An encoder-only model filling in masks ([`MaskedLm`]) on the joined pairs.
    EncoderOnly {
        /// How the joined pairs are cut.
        tokenizer: Segmenter,
        /// The piece between source and target.
        separator: &'static str,
        /// How training hides pieces.
        masking: Masking,
        /// The model's sizes (its `vocab_size` comes from the tokenizer).
        config: EncoderOnlyConfig,
    },
    /// A decoder-only language model ([`CausalLm`]) on the joined pairs.
    DecoderOnly {
        /// How the joined pairs are cut.
        tokenizer: Segmenter,
        /// The piece between source and target.
        separator: &'static str,
        /// Which predictions the loss counts.
        loss_on: LossOn,
        /// The model's sizes (its `vocab_size` comes from the tokenizer).
        config: DecoderOnlyConfig,
    },
}

impl Architecture {
    /// The family it belongs to.
    pub fn family(&self) -> Family {
        match self {
            Architecture::EncoderDecoder { .. } => Family::EncoderDecoder,
            Architecture::EncoderOnly { .. } => Family::EncoderOnly,
            Architecture::DecoderOnly { .. } => Family::DecoderOnly,
        }
    }
}

/// A committed way to train a model of one of the three families.
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
    /// The family, its tokenizer and its sizes.
    #[serde(flatten)]
    pub model: Architecture,
    /// Seed, optimiser, schedule, batch size, clipping.
    pub options: SessionOptions,
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
fn options(seed: u64, steps: usize) -> SessionOptions {
    SessionOptions {
        seed,
        optimizer: OptimizerConfig::AdamW {
            lr: 5e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        },
        schedule: warmup_cosine(steps, 0.1),
        batch_size: 32,
        clip: Some(1.0),
        shards: 1,
    }
}

/// 5 % of `steps` of linear warm-up, then a cosine down to `min_ratio` × the base rate.
fn warmup_cosine(steps: usize, min_ratio: f64) -> Schedule {
    Schedule::WarmupCosine {
        warmup: (steps as u64 / 20).max(1),
        total: steps as u64,
        min_ratio,
    }
}

/// The sizes of the one-sequence recipes: as the encoder–decoder's layers, one stack of two.
fn one_stack_layer(norm_first: bool) -> LayerConfig {
    LayerConfig {
        d_model: 32,
        n_heads: 2,
        d_ff: 64,
        activation: Activation::Gelu,
        norm_first,
        ..LayerConfig::default()
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
            model: Architecture::EncoderDecoder {
                source: source_segmenter(Mode::Word),
                target: target_segmenter(Mode::Word),
                config: small_config(),
            },
            options: SessionOptions {
                shards: crate::shards::PAGE_SHARDS,
                ..options(1, steps)
            },
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
            model: Architecture::EncoderDecoder {
                source: Segmenter::new(Mode::Word, &[]),
                target: Segmenter::new(Mode::Word, &[]),
                config: small_config(),
            },
            options: SessionOptions {
                shards: crate::shards::PAGE_SHARDS,
                ..options(1, steps)
            },
            steps,
        }
    }

    /// An encoder-only model that fills in `小明今天[MASK]了，他应该多喝水` (→ 感冒).
    pub fn masked_zh() -> Self {
        Recipe::masked("masked-zh", Language::Zh, MASKED_STEPS)
    }

    /// Its English twin: `Tom has a [MASK] today, he should drink more water` (→ cold).
    pub fn masked_en() -> Self {
        Recipe::masked("masked-en", Language::En, MASKED_STEPS)
    }

    /// A decoder-only model that continues 小明今天感冒了， with 他应该多喝水.
    pub fn causal_zh() -> Self {
        Recipe::causal("causal-zh", Language::Zh, CAUSAL_STEPS)
    }

    /// Its English twin: Tom has a cold today, → he should drink more water.
    pub fn causal_en() -> Self {
        Recipe::causal("causal-en", Language::En, CAUSAL_STEPS)
    }

    fn masked(name: &'static str, lang: Language, steps: usize) -> Self {
        let (corpus_file, corpus, heldout, tokenizer, separator) = lang.joined();
        Recipe {
            name,
            corpus_file,
            corpus,
            heldout,
            model: Architecture::EncoderOnly {
                tokenizer,
                separator,
                masking: Masking::BERT,
                config: EncoderOnlyConfig {
                    vocab_size: 0,
                    layer: one_stack_layer(false),
                    n_layers: 2,
                    max_len: 16,
                },
            },
            options: options(1, steps),
            steps,
        }
    }

    fn causal(name: &'static str, lang: Language, steps: usize) -> Self {
        let (corpus_file, corpus, heldout, tokenizer, separator) = lang.joined();
        Recipe {
            name,
            corpus_file,
            corpus,
            heldout,
            model: Architecture::DecoderOnly {
                tokenizer,
                separator,
                loss_on: LossOn::Sequence,
                config: DecoderOnlyConfig {
                    vocab_size: 0,
                    layer: one_stack_layer(true),
                    n_layers: 2,
                    max_len: 16,
                },
            },
            options: options(1, steps),
            steps,
        }
    }

    /// Every recipe `cargo xtask pretrain` runs.
    pub fn all() -> Vec<Recipe> {
        vec![
            Recipe::seq2seq_zh(),
            Recipe::seq2seq_en(),
            Recipe::masked_zh(),
            Recipe::masked_en(),
            Recipe::causal_zh(),
            Recipe::causal_en(),
        ]
    }

    /// The family it trains.
    pub fn family(&self) -> Family {
        self.model.family()
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
        if let Schedule::WarmupCosine { min_ratio, .. } = self.options.schedule {
            self.options.schedule = warmup_cosine(steps, min_ratio);
        }
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
    pub fn session(&self) -> Result<Session> {
        let pairs = self.pairs()?;
        let o = self.options;
        Ok(match &self.model {
            Architecture::EncoderDecoder {
                source,
                target,
                config,
            } => Session::Seq2Seq(Seq2Seq::from_pairs(
                *config,
                &pairs,
                source.clone(),
                target.clone(),
                o,
            )?),
            Architecture::EncoderOnly {
                tokenizer,
                separator,
                masking,
                config,
            } => {
                let t = JoinedTokenizer::from_pairs(&pairs, tokenizer.clone(), separator, false)?;
                Session::Masked(MaskedLm::new(*config, t, &pairs, *masking, o)?)
            }
            Architecture::DecoderOnly {
                tokenizer,
                separator,
                loss_on,
                config,
            } => {
                let t = JoinedTokenizer::from_pairs(&pairs, tokenizer.clone(), separator, true)?;
                Session::Causal(CausalLm::new(*config, t, &pairs, *loss_on, o)?)
            }
        })
    }

    /// Runs the recipe: every step, from the seed.
    pub fn train(&self) -> Result<Session> {
        let mut s = self.session()?;
        s.train(self.steps)?;
        Ok(s)
    }

    /// What the recipe adds to the file's metadata (see [`keys`]).
    pub fn metadata(&self) -> Metadata {
        crate::params::metadata([
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

    /// The mean loss of `session` on the recipe's training pairs, scored deterministically
    /// ([`keys::FINAL_LOSS`]); `None` for an encoder–decoder, whose files do not record it.
    pub fn final_loss(&self, session: &Session) -> Result<Option<f32>> {
        let pairs = self.pairs()?;
        Ok(match session {
            Session::Seq2Seq(_) => None,
            Session::Masked(m) => Some(m.eval_loss(&pairs)?),
            Session::Causal(c) => Some(c.eval_loss(&pairs)?),
        })
    }

    /// Runs the recipe and returns the session and its file's bytes: the session's metadata,
    /// the recipe's and, for the one-sequence families, the final loss.
    pub fn run(&self) -> Result<(Session, Vec<u8>)> {
        let s = self.train()?;
        let mut meta = self.metadata();
        if let Some(loss) = self.final_loss(&s)? {
            meta.insert(keys::FINAL_LOSS.into(), loss.to_string());
        }
        let bytes = s.to_safetensors(&meta);
        Ok((s, bytes))
    }
}

/// Steps of the masked recipes.
const MASKED_STEPS: usize = 2000;
/// Steps of the causal recipes.
const CAUSAL_STEPS: usize = 1000;

/// The two languages of the corpus.
#[derive(Debug, Clone, Copy)]
enum Language {
    Zh,
    En,
}

impl Language {
    /// The corpus file, the pairs, the held-out pairs, how joined pairs are cut and the
    /// separator.
    fn joined(
        self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        Segmenter,
        &'static str,
    ) {
        match self {
            Language::Zh => (
                "src/corpora/seq2seq_zh.tsv",
                corpus::SEQ2SEQ_ZH,
                corpus::SEQ2SEQ_ZH_HELDOUT,
                joined_segmenter(Mode::Word),
                "，",
            ),
            Language::En => (
                "src/corpora/seq2seq_en.tsv",
                corpus::SEQ2SEQ_EN,
                corpus::SEQ2SEQ_EN_HELDOUT,
                Segmenter::new(Mode::Word, &[]),
                ",",
            ),
        }
    }
}

mod text;
pub use text::{TextRecipe, STACK_STEPS};
