//! The `stack-*` models (`src/recipes.rs` [`TextRecipe`], `www/models/stack-*.safetensors`): a
//! 4-layer decoder-only model trained on the built-in corpora exactly as the learning panel
//! trains its `deep` size.
//!
//! - The recipe is deterministic, and rerunning the Chinese one writes the shipped file byte
//!   for byte.
//! - A shipped file describes itself (every metadata key, the recipe's settings), loads from
//!   its bytes alone and reproduces the held-out loss it records.
//! - The shipped models put 散步 first after 今天天气真好，适合去 (walk after the English twin).
//! - Trained heads have patterns [`lm_playground::heads`] can name, for several seeds, and the
//!   shipped Chinese model has one on the sentences the page opens it on.
//!
//! Run with `--nocapture` to see the measured figures.

use lm_playground::heads::{head_pattern, HeadPattern};
use lm_playground::params::read_safetensors_with_metadata;
use lm_playground::recipes::{keys, TextRecipe, STACK_STEPS};
use lm_playground::session::keys as file;
use lm_playground::trainer::Trainer;
use std::path::PathBuf;

/// Said when a shipped file's bits or recorded loss are not reproduced: besides a changed
/// recipe, another f32 path (the files were written on `avx2+fma`) rounds differently.
fn path_note() -> String {
    format!(
        "the shipped files were written on the avx2+fma path; this machine's f32 product runs {}",
        lm_playground::kernel::sgemm_path()
    )
}

/// The shipped file of `recipe`.
fn shipped(recipe: &TextRecipe) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("www/models")
        .join(recipe.file_name());
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `cargo xtask pretrain --recipe {}` to write it)",
            path.display(),
            recipe.name
        )
    })
}

/// Every key a `stack-*` file's `__metadata__` has.
const KEYS: &[&str] = &[
    file::MODEL,
    file::CONFIG,
    file::VOCAB,
    file::TOKENIZER,
    keys::RECIPE,
    keys::SEED,
    keys::STEPS,
    keys::CORPUS,
    keys::SETTINGS,
    keys::FINAL_LOSS,
];

/// The article's sentences of the recipe's language.
fn sentences(r: &TextRecipe) -> [&'static str; 2] {
    if r.corpus == "zh" {
        ["今天天气真好，适合去散步", "小明今天感冒了，他应该多喝水"]
    } else {
        [
            "the weather is nice today , a good day for a walk",
            "Tom has a cold today , so he should drink more water",
        ]
    }
}

/// Every head's clear pattern on `text`: `(layer, head, pattern)`.
fn clear_heads(t: &Trainer, text: &str) -> Vec<(usize, usize, HeadPattern)> {
    let (_, layers) = t.attention(text).unwrap();
    let mut out = vec![];
    for (l, w) in layers.iter().enumerate() {
        for (h, a) in w.outer_iter().enumerate() {
            if let Some(p) = head_pattern(a, true).unwrap() {
                out.push((l, h, p));
            }
        }
    }
    out
}

#[test]
fn recipe_is_deterministic_and_its_file_loads_back() {
    let r = TextRecipe::stack_en().with_steps(20);
    let (t1, a) = r.run().unwrap();
    let (_, b) = r.run().unwrap();
    assert!(a == b, "two runs of the same recipe wrote different bytes");
    assert_eq!(t1.step_count(), 20);
    // The file alone gives back the recipe and a session with the same weights and data.
    let (back, t2) = TextRecipe::load(&a).unwrap();
    assert_eq!(back, r);
    assert_eq!(
        t2.model.params.to_safetensors(),
        t1.model.params.to_safetensors()
    );
    assert_eq!(t2.eval_loss().unwrap(), t1.eval_loss().unwrap());
    assert_eq!(t2.step_count(), 0, "the optimiser starts afresh");
    // A file without the metadata is refused, naming what is missing.
    let e = TextRecipe::load(&t1.model.params.to_safetensors()).unwrap_err();
    assert!(e.message.contains("no \"model\""), "{e}");
}

#[test]
fn shipped_files_describe_themselves_and_reproduce_their_loss() {
    for r in TextRecipe::all() {
        let bytes = shipped(&r);
        let (_, meta) = read_safetensors_with_metadata(&bytes).unwrap();
        for k in KEYS {
            assert!(meta.contains_key(*k), "{}: no {k:?} in {meta:?}", r.name);
        }
        assert_eq!(meta[file::MODEL], "decoder-only");
        assert_eq!(meta[keys::RECIPE], r.name);
        assert_eq!(meta[keys::SEED], "1");
        assert_eq!(meta[keys::STEPS], STACK_STEPS.to_string());
        assert_eq!(meta[keys::CORPUS], format!("src/corpora/{}.txt", r.corpus));
        let (recipe, t) = TextRecipe::load(&bytes).unwrap();
        assert_eq!(recipe, r, "the file's settings are the committed recipe's");
        assert_eq!(t.model.config.layer, r.config.layer);
        assert_eq!(t.model.config.n_layers, 4);
        // The same tokenizer as the learning panel builds from the corpus.
        let fresh = r.trainer().unwrap();
        assert_eq!(
            t.tokenizer.as_ref().unwrap().vocab(),
            fresh.tokenizer.as_ref().unwrap().vocab()
        );
        let recorded: f32 = meta[keys::FINAL_LOSS].parse().unwrap();
        let loss = t.eval_loss().unwrap();
        println!("{}: held-out loss {loss} (recorded {recorded})", r.name);
        assert_eq!(loss, recorded, "{} ({})", r.name, path_note());
        assert!(loss < 0.5 * fresh.eval_loss().unwrap(), "it learned");
    }
}

#[test]
fn shipped_zh_file_is_what_the_recipe_writes() {
    let r = TextRecipe::stack_zh();
    let (_, bytes) = r.run().unwrap();
    assert!(
        bytes == shipped(&r),
        "rerunning stack-zh did not write www/models/stack-zh.safetensors byte for byte (run `cargo xtask pretrain --recipe stack-zh` after changing the recipe; {})",
        path_note()
    );
}

#[test]
fn shipped_models_go_for_a_walk() {
    for (r, prompt, want) in [
        (TextRecipe::stack_zh(), "今天天气真好，适合去", "散步"),
        (
            TextRecipe::stack_en(),
            "the weather is nice today , a good day for a",
            "walk",
        ),
    ] {
        let (_, t) = TextRecipe::load(&shipped(&r)).unwrap();
        let top = t.predict_next(prompt, 3).unwrap();
        println!("{}: {prompt} → {top:?}", r.name);
        assert_eq!(top[0].0, want, "{}: {top:?}", r.name);
        for s in sentences(&r) {
            println!("  {s}: clear heads {:?}", clear_heads(&t, s));
        }
    }
}

/// The browser tests of the attention and layer panels open the shipped Chinese model on the
/// attention panel's preset 今天天气真好 and on the layer panel's sentence 今天天气真好，适合去
/// (www/panels/layer.js `LAYER_TEXTS`) and expect at least one head they can name: checked
/// here natively. (Not a law of training: of seeds 1 to 6, all have one on the layer panel's
/// sentence with the present corpus; with a 900-line draft of it seed 1 had none.)
#[test]
fn shipped_chinese_model_has_a_clear_head_where_the_page_opens_it() {
    let (_, t) = TextRecipe::load(&shipped(&TextRecipe::stack_zh())).unwrap();
    for s in ["今天天气真好", "今天天气真好，适合去"] {
        let clear = clear_heads(&t, s);
        println!("stack-zh {s}: clear heads {clear:?}");
        assert!(!clear.is_empty(), "{s}: no clear head");
    }
}

/// The largest strength of each kind (Previous, Current, First) over every head and both of
/// the language's sentences.
fn strongest(t: &Trainer, r: &TextRecipe) -> [f32; 3] {
    let mut best = [0f32; 3];
    for s in sentences(r) {
        let (_, layers) = t.attention(s).unwrap();
        for w in &layers {
            for a in w.outer_iter() {
                let s = lm_playground::heads::strengths(a, true).unwrap();
                for (b, (_, x)) in best.iter_mut().zip(s) {
                    *b = b.max(x);
                }
            }
        }
    }
    best
}

/// In Chinese, every seed tried (1 to 6, full recipe with its 4 shards, on the AVX2 + FMA path,
/// measured with `--nocapture`) gives a trained model with at least one clear head on the two
/// sentences — for all six both kinds occur, heads that look at the previous token and heads
/// that look at the first. Checked here for the shipped file and two other seeds of the full
/// recipe.
#[test]
fn chinese_models_have_a_clear_head_for_every_seed() {
    let r = TextRecipe::stack_zh();
    let (_, shipped) = TextRecipe::load(&shipped(&r)).unwrap();
    let mut models = vec![(1, shipped)];
    for seed in [2, 3] {
        models.push((seed, r.clone().with_seed(seed).train().unwrap()));
    }
    for (seed, t) in &models {
        let clear: Vec<_> = sentences(&r)
            .iter()
            .flat_map(|s| clear_heads(t, s))
            .collect();
        println!("stack-zh seed {seed}: clear heads (layer, head, pattern) {clear:?}");
        assert!(!clear.is_empty(), "seed {seed}: no clear head");
    }
}

/// In English the claim above does NOT hold: of seeds 1 to 6 only four have a head over the
/// threshold, each of one kind only — seeds 2 and 6 look at the first token (0.63 and 0.55),
/// seeds 3 and 4 at the previous one (0.53 and 0.54) — and the strongest heads of the other
/// two, the shipped model (seed 1, 0.46) and seed 5 (0.45), stay under it (measured with the
/// full recipe with its 4 shards, on the AVX2 + FMA path). What does hold for every seed tried,
/// and is checked here, is weaker: training makes the strongest previous-token head stronger
/// than the untrained model's (by 0.15 to 0.31 for seeds 1 to 6).
#[test]
fn english_models_grow_previous_token_heads_but_not_always_clear_ones() {
    for seed in [1, 2] {
        let r = TextRecipe::stack_en().with_seed(seed);
        let before = strongest(&r.trainer().unwrap(), &r);
        let t = r.train().unwrap();
        let after = strongest(&t, &r);
        let clear: Vec<_> = sentences(&r)
            .iter()
            .flat_map(|s| clear_heads(&t, s))
            .collect();
        println!(
            "stack-en seed {seed}: strongest (previous, current, first) before {before:?}, after {after:?}; clear heads {clear:?}"
        );
        assert!(
            after[0] > before[0] + 0.05,
            "seed {seed}: previous-token strength {} → {}",
            before[0],
            after[0]
        );
    }
}
