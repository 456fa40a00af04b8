//! The one-sequence families, trained on the encoder–decoder's pairs (`src/recipes.rs`,
//! `www/models/{masked,causal}-*.safetensors`): what they learn, checked on the shipped weights
//! and on three other seeds.
//!
//! - The encoder-only model sees both sides of a mask. It fills in the situation from the advice
//!   on its right (小明今天[MASK]了，他应该多喝水 → 感冒, …多休息 → 累: the left side is the same,
//!   only the right side differs), the person from the pronoun on its right
//!   ([MASK]今天感冒了，她… → a woman), and the pronoun from the person on its left
//!   (妈妈今天感冒了，[MASK]… → 她).
//! - The decoder-only model continues 小明今天感冒了， with 他应该多喝水, and answers the held-out
//!   (who, what) combinations it never saw.
//! - The recipes are deterministic, rerunning the Chinese ones writes the shipped files byte for
//!   byte, and a shipped file reproduces the loss it records.
//!
//! Run with `--nocapture` to see the measured figures.

use lm_playground::causal_lm::CausalLm;
use lm_playground::masked_lm::MaskedLm;
use lm_playground::params::read_safetensors_with_metadata;
use lm_playground::recipes::{keys, Recipe};
use lm_playground::session::{Family, Session, SessionOptions};
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

/// The one-sequence recipes.
fn recipes() -> Vec<Recipe> {
    vec![
        Recipe::masked_zh(),
        Recipe::masked_en(),
        Recipe::causal_zh(),
        Recipe::causal_en(),
    ]
}

fn is_zh(r: &Recipe) -> bool {
    r.name.ends_with("-zh")
}

/// One thing a trained model should do: `input` gives `got`, which should be one of `want`.
#[derive(Debug)]
struct Fact {
    /// What it shows.
    kind: &'static str,
    input: String,
    want: &'static [&'static str],
    got: String,
    /// The model's probability of `got` (1 for a whole greedy answer).
    prob: f32,
}

impl Fact {
    fn holds(&self) -> bool {
        self.want.contains(&self.got.as_str())
    }
}

const MEN_ZH: &[&str] = &["小明", "爸爸", "哥哥", "爷爷"];
const WOMEN_ZH: &[&str] = &["小红", "妈妈", "姐姐", "奶奶"];
// "my brother" / "my sister" are two pieces: the one before the verb is brother / sister.
const MEN_EN: &[&str] = &["Tom", "Dad", "Grandpa", "brother"];
const WOMEN_EN: &[&str] = &["Lily", "Mom", "Grandma", "sister"];

/// Sentences with one mask and what may fill it.
fn masked_probes(zh: bool) -> Vec<(&'static str, &'static str, &'static [&'static str])> {
    const RIGHT: &str = "the situation, from the advice on its right";
    const LEFT: &str = "the pronoun, from the person on its left";
    const WHO: &str = "the person, from the pronoun on its right";
    if zh {
        vec![
            // The same left side, the answer on the right decides.
            (RIGHT, "小明今天[MASK]了，他应该多喝水", &["感冒"]),
            (RIGHT, "小明今天[MASK]了，他应该多休息", &["累"]),
            (RIGHT, "小明今天[MASK]了，他应该多穿衣服", &["冷"]),
            (RIGHT, "小明今天[MASK]了，他应该多运动", &["胖"]),
            (RIGHT, "小明今天[MASK]了，他应该吃点东西", &["饿"]),
            (RIGHT, "小明今天[MASK]了，他应该早点睡觉", &["困"]),
            (RIGHT, "小明今天[MASK]了，他应该去看医生", &["生病"]),
            (RIGHT, "小明今天[MASK]，他应该吃药", &["头疼"]),
            (LEFT, "小明今天感冒了，[MASK]应该多喝水", &["他"]),
            (LEFT, "妈妈今天感冒了，[MASK]应该多喝水", &["她"]),
            (LEFT, "我今天感冒了，[MASK]应该多喝水", &["我"]),
            (WHO, "[MASK]今天感冒了，他应该多喝水", MEN_ZH),
            (WHO, "[MASK]今天感冒了，她应该多喝水", WOMEN_ZH),
            (WHO, "[MASK]今天感冒了，我应该多喝水", &["我"]),
        ]
    } else {
        vec![
            (
                RIGHT,
                "Tom has a [MASK] today, he should drink more water",
                &["cold"],
            ),
            (
                RIGHT,
                "Tom has a [MASK] today, he should take medicine",
                &["headache"],
            ),
            (
                RIGHT,
                "Tom is [MASK] today, he should get more rest",
                &["tired"],
            ),
            (
                RIGHT,
                "Tom is [MASK] today, he should wear more clothes",
                &["cold"],
            ),
            (
                RIGHT,
                "Tom is [MASK] today, he should eat something",
                &["hungry"],
            ),
            (
                RIGHT,
                "Tom is [MASK] today, he should go to bed early",
                &["sleepy"],
            ),
            (
                RIGHT,
                "Tom is [MASK] today, he should see a doctor",
                &["ill"],
            ),
            (
                LEFT,
                "Tom has a cold today, [MASK] should drink more water",
                &["he"],
            ),
            (
                LEFT,
                "Mom has a cold today, [MASK] should drink more water",
                &["she"],
            ),
            (
                LEFT,
                "I have a cold today, [MASK] should drink more water",
                &["I"],
            ),
            (
                WHO,
                "[MASK] has a cold today, he should drink more water",
                MEN_EN,
            ),
            (
                WHO,
                "[MASK] has a cold today, she should drink more water",
                WOMEN_EN,
            ),
        ]
    }
}

fn masked_facts(zh: bool, m: &MaskedLm) -> Vec<Fact> {
    masked_probes(zh)
        .into_iter()
        .map(|(kind, text, want)| {
            let f = m.fill_mask(text).unwrap();
            let top = &f.masks[0].candidates[0];
            Fact {
                kind,
                input: text.to_string(),
                want,
                got: top.token.clone(),
                prob: top.prob,
            }
        })
        .collect()
}

/// The article's example: the prompt and its continuation.
fn causal_example(zh: bool) -> (&'static str, &'static [&'static str]) {
    if zh {
        ("小明今天感冒了，", &["他应该多喝水"])
    } else {
        ("Tom has a cold today,", &["he should drink more water"])
    }
}

fn causal_facts(zh: bool, c: &CausalLm) -> Vec<Fact> {
    let (prompt, want) = causal_example(zh);
    let g = c.generate(prompt, 16).unwrap();
    vec![Fact {
        kind: "the article's continuation",
        input: prompt.to_string(),
        want,
        got: g.text,
        prob: g.steps.iter().map(|s| s.prob).product(),
    }]
}

/// Every fact of a trained session, and for a causal model its held-out exact matches.
fn facts(r: &Recipe, s: &Session) -> (Vec<Fact>, Option<(usize, usize)>) {
    match s {
        Session::Masked(m) => (masked_facts(is_zh(r), m), None),
        Session::Causal(c) => {
            let scored = c.exact_matches(&r.heldout_pairs().unwrap()).unwrap();
            (
                causal_facts(is_zh(r), c),
                Some((scored.right, scored.total)),
            )
        }
        Session::Seq2Seq(_) => unreachable!("not a one-sequence recipe"),
    }
}

/// Prints the facts; true when every one holds (and ≥ 90 % held-out exact matches).
fn report(what: &str, facts: &[Fact], heldout: Option<(usize, usize)>) -> bool {
    let mut ok = true;
    for f in facts {
        let mark = if f.holds() { "ok" } else { "NO" };
        println!(
            "{what}: {mark} {}: {} → {} ({:.2}; want {:?})",
            f.kind, f.input, f.got, f.prob, f.want
        );
        ok &= f.holds();
    }
    if let Some((right, total)) = heldout {
        println!("{what}: held-out exact matches {right}/{total}");
        ok &= right * 10 >= total * 9;
    }
    ok
}

fn load(r: &Recipe, bytes: &[u8]) -> Session {
    let o = SessionOptions::default();
    match r.family() {
        Family::EncoderOnly => Session::Masked(MaskedLm::from_safetensors(bytes, o).unwrap()),
        Family::DecoderOnly => Session::Causal(CausalLm::from_safetensors(bytes, o).unwrap()),
        Family::EncoderDecoder => unreachable!("not a one-sequence recipe"),
    }
}

#[test]
fn the_shipped_models_show_every_fact() {
    for r in recipes() {
        let s = load(&r, &shipped(&r));
        let (f, heldout) = facts(&r, &s);
        assert!(
            report(&format!("{} (shipped)", r.name), &f, heldout),
            "{}: a fact does not hold for the shipped weights",
            r.name
        );
    }
}

#[test]
fn the_shipped_files_are_todays_recipes_and_reproduce_their_loss() {
    let mut total = 0;
    for r in recipes() {
        let bytes = shipped(&r);
        total += bytes.len();
        let (_, meta) = read_safetensors_with_metadata(&bytes).unwrap();
        for (key, want) in r.metadata() {
            assert_eq!(
                meta.get(&key),
                Some(&want),
                "{}: metadata {key:?} differs from the recipe (run `cargo xtask pretrain`)",
                r.name
            );
        }
        assert_eq!(meta["model"], r.family().name());
        // The recorded final loss is what the loaded weights score on the training pairs.
        let recorded: f32 = meta[keys::FINAL_LOSS].parse().unwrap();
        let s = load(&r, &bytes);
        let again = r.final_loss(&s).unwrap().unwrap();
        println!(
            "{}: {} bytes, final loss {recorded} (recomputed {again})",
            r.name,
            bytes.len()
        );
        assert_eq!(recorded, again, "{} ({})", r.name, path_note());
        // The tokenizer in the file is the one the recipe builds from the corpus.
        let fresh = r.session().unwrap();
        match (s, fresh) {
            (Session::Masked(a), Session::Masked(b)) => assert_eq!(a.tokenizer, b.tokenizer),
            (Session::Causal(a), Session::Causal(b)) => assert_eq!(a.tokenizer, b.tokenizer),
            _ => panic!("{}: the file's family is not the recipe's", r.name),
        }
    }
    println!("the four one-sequence files: {total} bytes");
}

#[test]
fn the_recipes_are_deterministic() {
    for r in [Recipe::masked_zh(), Recipe::causal_en()] {
        let r = r.with_steps(10);
        let (a, bytes) = r.run().unwrap();
        let (_, again) = r.run().unwrap();
        assert!(
            bytes == again,
            "{}: same recipe and seed, different bytes",
            r.name
        );
        let (_, other) = r.clone().with_seed(2).run().unwrap();
        assert!(
            bytes != other,
            "{}: another seed gave the same bytes",
            r.name
        );
        assert_eq!(a.losses().len(), 10);
        let (_, meta) = read_safetensors_with_metadata(&bytes).unwrap();
        assert_eq!(
            (meta[keys::RECIPE].as_str(), meta[keys::SEED].as_str()),
            (r.name, "1")
        );
        assert_eq!(meta[keys::STEPS], "10");
    }
}

#[test]
fn the_recipes_reproduce_the_shipped_chinese_files() {
    // Bit for bit, as the seq2seq recipe does (`tests/seq2seq.rs`); the English files are
    // checked setting for setting above (a full run of each would double this file's time).
    for r in [Recipe::masked_zh(), Recipe::causal_zh()] {
        let (_, bytes) = r.run().unwrap();
        assert!(
            bytes == shipped(&r),
            "{}: the recipe no longer writes the shipped file (run `cargo xtask pretrain`; {})",
            r.name,
            path_note()
        );
    }
}

#[test]
fn the_facts_come_from_training_three_other_seeds() {
    // Each one-sequence recipe from seeds 2, 3 and 4, shortened (see `steps`): at least two of
    // the three must show every fact. Two threads, each every other one of the twelve runs.
    let runs: Vec<(Recipe, u64)> = recipes()
        .into_iter()
        .flat_map(|r| [2, 3, 4].map(|seed| (r.clone(), seed)))
        .collect();
    let results: Vec<(String, u64, bool)> = std::thread::scope(|scope| {
        let runs = &runs;
        let handles: Vec<_> = (0..2)
            .map(|k| {
                scope.spawn(move || {
                    runs.iter()
                        .skip(k)
                        .step_by(2)
                        .map(|(r, seed)| {
                            let r = r.clone().with_seed(*seed).with_steps(steps(r));
                            let s = r.train().unwrap();
                            let (f, heldout) = facts(&r, &s);
                            let what = format!("{} seed {seed} ({} steps)", r.name, r.steps);
                            (r.name.to_string(), *seed, report(&what, &f, heldout))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for r in recipes() {
        let mut held: Vec<u64> = results
            .iter()
            .filter(|(n, _, ok)| n == r.name && *ok)
            .map(|(_, s, _)| *s)
            .collect();
        held.sort_unstable();
        println!(
            "{}: every fact holds for seeds {held:?} of [2, 3, 4]",
            r.name
        );
        assert!(
            held.len() >= 2,
            "{}: the facts held for {held:?} only",
            r.name
        );
    }
}

/// The steps the other seeds train for: a little above the fewest with which, when this was
/// written, every fact held for all three seeds — masked-zh 400 (all held from 300), masked-en
/// 800 (from 600; at 400 the English pronoun facts held for one seed of three), causal-zh 200
/// (from 150), causal-en 300 (from 200; at 150 a seed answered 89 of the 96 held-out pairs).
/// The shipped recipes train longer (2000 masked, 1000 causal steps). `cargo xtask test` runs
/// this file in the test profile, several times slower than release, so every step counts.
fn steps(r: &Recipe) -> usize {
    match r.name {
        "masked-zh" => 400,
        "masked-en" => 800,
        "causal-zh" => 200,
        _ => 300,
    }
}
