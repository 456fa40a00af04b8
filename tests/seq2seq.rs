//! The shipped encoder–decoders (`www/models/seq2seq-*.safetensors`) and the recipes that train
//! them (`src/recipes.rs`): the files describe themselves and are what the recipes write; the
//! Chinese model answers the seed article's 小明今天感冒了 with 他应该多喝水 and composes who
//! and what on pairs it never saw; and while it writes 喝 a head of its last decoder layer looks
//! most at 感冒 (at 小明 while it writes 他). Those facts must come from training, so they are
//! checked on three other seeds of the same recipe too.
//!
//! Run with `--nocapture` to see the measured figures.

use lm_playground::recipes::{self, Architecture, Recipe};
use lm_playground::seq2seq::{Seq2Seq, Seq2SeqOptions};
use lm_playground::session::Family;
use std::path::PathBuf;

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("www/models")
}

/// Said when a shipped file's bits or recorded loss are not reproduced: besides a changed
/// recipe, another f32 path (the files were written on `avx2+fma`) rounds differently.
fn path_note() -> String {
    format!(
        "the shipped files were written on the avx2+fma path; this machine's f32 product runs {}",
        lm_playground::kernel::sgemm_path()
    )
}

/// The shipped file of `recipe`.
fn shipped(recipe: &Recipe) -> Vec<u8> {
    let path = models_dir().join(recipe.file_name());
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `cargo xtask pretrain` to write it)",
            path.display()
        )
    })
}

/// What a trained model does with the article's example and the held-out pairs.
#[derive(Debug)]
struct Facts {
    /// Greedy answer to the article's source.
    answer: String,
    /// Heads of the last decoder layer looking most at the *what* while writing the advice's
    /// verb (喝 → 感冒), with their weights.
    verb_heads: Vec<(usize, f32)>,
    /// Heads of the last decoder layer looking most at the *who* while writing the pronoun
    /// (他 → 小明), with their weights.
    pronoun_heads: Vec<(usize, f32)>,
    /// Held-out pairs answered exactly, of how many.
    heldout: (usize, usize),
}

/// The article's example in the recipe's language: source, answer, (verb, what), (pronoun, who).
fn example(
    recipe: &Recipe,
) -> (
    &'static str,
    &'static str,
    [&'static str; 2],
    [&'static str; 2],
) {
    if recipe.name.ends_with("-zh") {
        (
            "小明今天感冒了",
            "他应该多喝水",
            ["喝", "感冒"],
            ["他", "小明"],
        )
    } else {
        (
            "Tom has a cold today",
            "he should drink more water",
            ["drink", "cold"],
            ["he", "Tom"],
        )
    }
}

fn facts(recipe: &Recipe, s: &Seq2Seq) -> Facts {
    let (source, _, [verb, what], [pronoun, who]) = example(recipe);
    let g = s.generate(source, 16).unwrap();
    let last = s.model.config.n_decoder_layers - 1;
    let held = recipe.heldout_pairs().unwrap();
    let scored = s.exact_matches(&held).unwrap();
    Facts {
        answer: g.text.clone(),
        verb_heads: g.heads_looking_at(last, verb, what),
        pronoun_heads: g.heads_looking_at(last, pronoun, who),
        heldout: (scored.right, scored.total),
    }
}

impl Facts {
    /// Every fact the issue asks for: the right answer, ≥ 90 % held-out exact matches, a head
    /// on the *what* while writing the verb and a head on the *who* while writing the pronoun.
    fn hold(&self, answer: &str) -> bool {
        self.answer == answer
            && self.heldout.0 * 10 >= self.heldout.1 * 9
            && !self.verb_heads.is_empty()
            && !self.pronoun_heads.is_empty()
    }
}

#[test]
fn the_recipe_is_deterministic() {
    // A shortened run: the same seed gives the same bytes, another seed other bytes.
    let r = Recipe::seq2seq_zh().with_steps(20);
    let (a, bytes) = r.run().unwrap();
    let a = a.into_seq2seq().unwrap();
    let (_, again) = r.run().unwrap();
    assert!(bytes == again, "same recipe and seed, different bytes");
    let (_, other) = r.clone().with_seed(2).run().unwrap();
    assert!(bytes != other, "another seed gave the same bytes");
    assert_eq!(a.losses.len(), 20);
    // The file names the recipe, its seed and its steps.
    let back = Seq2Seq::from_safetensors(&bytes, Seq2SeqOptions::default()).unwrap();
    assert_eq!(back.model.params.to_map(), a.model.params.to_map());
    let (_, meta) = lm_playground::params::read_safetensors_with_metadata(&bytes).unwrap();
    assert_eq!(meta[recipes::keys::RECIPE], "seq2seq-zh");
    assert_eq!(meta[recipes::keys::SEED], "1");
    assert_eq!(meta[recipes::keys::STEPS], "20");
}

#[test]
fn shipped_files_are_small_and_made_by_todays_recipes() {
    // All the page's weights together stay under 2 MB.
    let mut total = 0;
    for entry in std::fs::read_dir(models_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "safetensors") {
            total += std::fs::metadata(&path).unwrap().len();
        }
    }
    println!("www/models: {total} bytes of weights");
    assert!(total < 2_000_000, "{total} bytes of weights");
    for r in Recipe::all()
        .into_iter()
        .filter(|r| r.family() == Family::EncoderDecoder)
    {
        let bytes = shipped(&r);
        let (_, meta) = lm_playground::params::read_safetensors_with_metadata(&bytes).unwrap();
        // The recipe's record in the file is today's recipe, setting for setting: a changed
        // recipe needs `cargo xtask pretrain` again.
        for (key, want) in r.metadata() {
            assert_eq!(
                meta.get(&key),
                Some(&want),
                "{}: metadata {key:?} differs from the recipe (run `cargo xtask pretrain`)",
                r.name
            );
        }
        let s = Seq2Seq::from_safetensors(&bytes, Seq2SeqOptions::default()).unwrap();
        let Architecture::EncoderDecoder { config, .. } = r.model else {
            unreachable!("filtered")
        };
        assert_eq!(s.model.config.n_decoder_layers, config.n_decoder_layers);
        let fresh = r.session().unwrap().into_seq2seq().unwrap();
        assert_eq!(s.tokenizer, fresh.tokenizer, "{}", r.name);
    }
}

/// The shipped model of `recipe` and its facts, which must all hold.
fn check_shipped(recipe: Recipe) {
    let s = Seq2Seq::from_safetensors(&shipped(&recipe), Seq2SeqOptions::default()).unwrap();
    let f = facts(&recipe, &s);
    let (source, answer, [verb, what], [pronoun, who]) = example(&recipe);
    println!(
        "{} (shipped): {source} → {}; held-out {}/{}; last layer writing {verb}, heads on {what}: {:?}; writing {pronoun}, heads on {who}: {:?}",
        recipe.name, f.answer, f.heldout.0, f.heldout.1, f.verb_heads, f.pronoun_heads
    );
    assert_eq!(f.answer, answer);
    assert!(
        f.heldout.0 * 10 >= f.heldout.1 * 9,
        "held-out exact matches {}/{} are under 90 %",
        f.heldout.0,
        f.heldout.1
    );
    assert!(
        !f.verb_heads.is_empty(),
        "no head looks most at {what}: {f:?}"
    );
    assert!(
        !f.pronoun_heads.is_empty(),
        "no head looks most at {who}: {f:?}"
    );
}

#[test]
fn the_shipped_chinese_model_answers_the_article_looking_at_the_cold() {
    check_shipped(Recipe::seq2seq_zh());
}

#[test]
fn the_shipped_english_model_answers_looking_at_the_cold() {
    check_shipped(Recipe::seq2seq_en());
}

#[test]
fn the_facts_come_from_training_three_other_seeds() {
    // The same recipe from seeds 2, 3 and 4, every step: at least two of the three must show
    // every fact (every one has so far).
    let r = Recipe::seq2seq_zh();
    let (_, answer, _, _) = example(&r);
    // One thread per seed: the runs are independent, and this is the suite's longest test.
    let facts: Vec<(u64, Facts)> = std::thread::scope(|scope| {
        let runs: Vec<_> = [2, 3, 4]
            .map(|seed| {
                let r = r.clone().with_seed(seed);
                scope.spawn(move || {
                    let s = r.train().unwrap().into_seq2seq().unwrap();
                    (seed, facts(&r, &s))
                })
            })
            .into_iter()
            .collect();
        runs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut holding = 0;
    for (seed, f) in &facts {
        println!("seed {seed}: {f:?}");
        holding += f.hold(answer) as usize;
    }
    assert!(holding >= 2, "the facts held for {holding} of 3 seeds");
}

#[test]
fn the_recipe_reproduces_the_shipped_chinese_file() {
    // Bit for bit: no fast-math anywhere in the engine, and one f32 product per machine (the
    // AVX2 + FMA kernel where the CPU has it, as where the files were written), so a run of
    // the committed recipe writes exactly the committed file.
    let r = Recipe::seq2seq_zh();
    let (_, bytes) = r.run().unwrap();
    assert!(
        bytes == shipped(&r),
        "the recipe no longer writes the shipped file (run `cargo xtask pretrain`; {})",
        path_note()
    );
}
