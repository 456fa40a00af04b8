//! Recipes on running text (the `stack-*` models): the learning panel's own training, so that
//! the page can retrain them step for step (see the parent module's header).

use super::keys;
use crate::corpus;
use crate::error::{Error, Result};
use crate::layers::LayerConfig;
use crate::models::decoder_only::DecoderOnlyConfig;
use crate::ops::Activation;
use crate::params::Metadata;
use crate::session::Family;
use crate::shards::PAGE_SHARDS;
use crate::tokenizer::{Mode, Segmenter};
use crate::trainer::{text_tokenizer, TrainOptions, Trainer};
use serde::{Deserialize, Serialize};

/// Steps of the `stack-*` recipes.
pub const STACK_STEPS: usize = 1000;

/// A committed way to train a decoder-only model on running text, exactly as the learning
/// panel does ([`Trainer`] on a built-in corpus, its last part held out, the panel's
/// tokenizer): what `#panel=learn&corpus=zh&size=deep&train=N` retrains in the page. Unlike
/// [`super::Recipe`] it has no pairs and no schedule (the panel's learning rate is constant).
///
/// Its file is self-describing: besides the weights, `__metadata__` holds the `model`
/// (`"decoder-only"`), `config`, `vocab` and `tokenizer` (as a one-sequence family's file,
/// [`crate::session::keys`]), the recipe's [`keys`] and, as `recipe_settings`, this struct
/// as JSON, so [`TextRecipe::load`] rebuilds the whole training session from the file alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextRecipe {
    /// Its name, which is also the file's (`stack-zh` → `stack-zh.safetensors`).
    pub name: String,
    /// The built-in corpus ([`corpus::builtin`]: `zh`, `en`, `code`).
    pub corpus: String,
    /// Words or characters ([`text_tokenizer`]).
    pub tokenizer: Mode,
    /// Most pieces in the vocabulary, specials included.
    pub max_vocab: usize,
    /// The model's sizes (its `vocab_size` comes from the tokenizer; 0 here).
    pub config: DecoderOnlyConfig,
    /// Seed, optimiser, batch, sequence length, clipping, held-out share.
    pub options: TrainOptions,
    /// Training steps.
    pub steps: usize,
}

impl TextRecipe {
    /// The learning panel's `deep` model on the Chinese corpus: 今天天气真好，适合去 → 散步.
    pub fn stack_zh() -> Self {
        TextRecipe::stack("stack-zh", "zh")
    }

    /// Its English twin: the weather is nice today , a good day for → a walk.
    pub fn stack_en() -> Self {
        TextRecipe::stack("stack-en", "en")
    }

    /// The learning panel's size `deep` (www/panels/learn.js `SIZES.deep`) and its default
    /// training options (word tokens, at most 2000 pieces, Adam 0.01, B = 16, T = 16, clip 1,
    /// 10 % held out, seed 1), its batches cut into the page's [`PAGE_SHARDS`] shards as the
    /// panel cuts them.
    fn stack(name: &str, corpus: &str) -> Self {
        TextRecipe {
            name: name.into(),
            corpus: corpus.into(),
            tokenizer: Mode::Word,
            max_vocab: 2000,
            config: DecoderOnlyConfig {
                vocab_size: 0,
                layer: LayerConfig {
                    d_model: 32,
                    n_heads: 4,
                    d_ff: 128,
                    activation: Activation::Gelu,
                    norm_first: true,
                    ..LayerConfig::default()
                },
                n_layers: 4,
                max_len: 16,
            },
            options: TrainOptions {
                shards: PAGE_SHARDS,
                ..TrainOptions::default()
            },
            steps: STACK_STEPS,
        }
    }

    /// Every recipe of running text `cargo xtask pretrain` runs.
    pub fn all() -> Vec<TextRecipe> {
        vec![TextRecipe::stack_zh(), TextRecipe::stack_en()]
    }

    /// The recipe called `name`, if there is one.
    pub fn by_name(name: &str) -> Option<TextRecipe> {
        TextRecipe::all().into_iter().find(|r| r.name == name)
    }

    /// The same recipe from another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.options.seed = seed;
        self
    }

    /// The same recipe shortened or lengthened to `steps`.
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }

    /// The file the recipe's weights are shipped in, under `www/models/`.
    pub fn file_name(&self) -> String {
        format!("{}.safetensors", self.name)
    }

    /// The corpus's file, for the record (`src/corpora/zh.txt`).
    pub fn corpus_file(&self) -> String {
        format!("src/corpora/{}.txt", self.corpus)
    }

    /// The untrained session: tokenizer from the corpus, weights and batches from the seed.
    pub fn trainer(&self) -> Result<Trainer> {
        let text = corpus::builtin(&self.corpus)?;
        let tokenizer = text_tokenizer(text, self.tokenizer, self.max_vocab)?;
        let config = DecoderOnlyConfig {
            vocab_size: tokenizer.vocab_size(),
            ..self.config
        };
        Trainer::new(config, Some(tokenizer), Some(text), self.options)
    }

    /// Runs the recipe: every step, from the seed.
    pub fn train(&self) -> Result<Trainer> {
        let mut t = self.trainer()?;
        for _ in 0..self.steps {
            t.train_step()?;
        }
        Ok(t)
    }

    /// The file's `__metadata__` for `trainer` (trained by this recipe), with `final_loss` its
    /// held-out loss.
    pub fn metadata(&self, trainer: &Trainer) -> Result<Metadata> {
        use crate::session::{json, keys as file};
        let tok = trainer
            .tokenizer
            .as_ref()
            .ok_or_else(|| Error::value("text recipe: the session has no tokenizer"))?;
        let rules = Segmenter {
            mode: tok.mode(),
            lexicon: tok.lexicon(),
        };
        Ok(crate::params::metadata([
            (file::MODEL.into(), Family::DecoderOnly.name().into()),
            (file::CONFIG.into(), json(&trainer.model.config)),
            (file::VOCAB.into(), json(tok.vocab())),
            (file::TOKENIZER.into(), json(&rules)),
            (keys::RECIPE.into(), self.name.clone()),
            (keys::SEED.into(), self.options.seed.to_string()),
            (keys::STEPS.into(), trainer.step_count().to_string()),
            (keys::CORPUS.into(), self.corpus_file()),
            (keys::SETTINGS.into(), json(self)),
            (keys::FINAL_LOSS.into(), trainer.eval_loss()?.to_string()),
        ]))
    }

    /// Runs the recipe and returns the session and its file's bytes.
    pub fn run(&self) -> Result<(Trainer, Vec<u8>)> {
        let t = self.train()?;
        let bytes = t.to_safetensors(&self.metadata(&t)?);
        Ok((t, bytes))
    }

    /// The recipe and its trained session from a file [`TextRecipe::run`] wrote, and nothing
    /// else: sizes, vocabulary and tokenizer from `__metadata__`, the corpus and training
    /// options from `recipe_settings`, the weights from the tensors. The optimiser starts
    /// afresh (step 0).
    ///
    /// **Errors** naming the missing or invalid metadata key (a file without metadata, such as
    /// `saveWeights` writes, has no `model`), or a vocabulary that does not match the config.
    pub fn load(bytes: &[u8]) -> Result<(TextRecipe, Trainer)> {
        use crate::session::{keys as file, FileReader};
        let r = FileReader::open(bytes, "model file", Family::DecoderOnly)?;
        let recipe: TextRecipe = r.parse(keys::SETTINGS)?;
        let config: DecoderOnlyConfig = r.parse(file::CONFIG)?;
        config.validate().map_err(|e| e.context(r.what))?;
        let vocab: Vec<String> = r.parse(file::VOCAB)?;
        let rules: Segmenter = r.parse(file::TOKENIZER)?;
        r.check_vocab(vocab.len(), config.vocab_size)?;
        let tokenizer = rules.tokenizer(&vocab);
        r.check_vocab(tokenizer.vocab_size(), config.vocab_size)?;
        let text = corpus::builtin(&recipe.corpus).map_err(|e| e.context(r.what))?;
        let mut t = Trainer::new(config, Some(tokenizer), Some(text), recipe.options)?;
        r.load_into(&mut t.model.params)?;
        Ok((recipe, t))
    }
}
