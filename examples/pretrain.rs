//! `cargo xtask pretrain`: runs the committed recipes natively and writes their weights to
//! `www/models/`, then reports what each model learned: for an encoder–decoder, held-out exact
//! matches and where the last decoder layer's cross-attention looks while writing the article's
//! answer; for an encoder-only model, what it fills in; for a decoder-only one, how it continues
//! the article's sentence and how many held-out pairs it answers exactly.
//!
//! ```text
//! cargo run --release --example pretrain -- [--recipe NAME] [--seed S] [--steps N] [--out DIR | --no-write]
//! ```
//!
//! The `stack-*` recipes (a decoder-only model on running text, the learning panel's training)
//! report their next-token predictions and every head's pattern ([`lm_playground::heads`]).
//!
//! Without `--recipe` every recipe runs. `--seed` and `--steps` try a variant (written only
//! with `--out`, so the shipped files are never overwritten by an experiment).

use lm_playground::causal_lm::CausalLm;
use lm_playground::heads::head_pattern;
use lm_playground::masked_lm::MaskedLm;
use lm_playground::recipes::{Recipe, TextRecipe};
use lm_playground::seq2seq::Seq2Seq;
use lm_playground::session::Session;
use lm_playground::trainer::Trainer;
use std::path::PathBuf;
use std::time::Instant;

/// The article's example in each language: the source, the token the answer writes, what the
/// head should look at while writing it.
fn probes(name: &str) -> (&'static str, [(&'static str, &'static str); 2]) {
    if name.ends_with("-zh") {
        ("小明今天感冒了", [("喝", "感冒"), ("他", "小明")])
    } else {
        ("Tom has a cold today", [("drink", "cold"), ("he", "Tom")])
    }
}

/// Prints what a model of any family learned.
fn report(r: &Recipe, s: &Session) -> Result<(), String> {
    match s {
        Session::Seq2Seq(s) => report_seq2seq(r, s),
        Session::Masked(m) => report_masked(r, m),
        Session::Causal(c) => report_causal(r, c),
    }
}

/// Sentences to fill in: the situation decided by the answer on the right, the pronoun by the
/// person on the left, the person by the pronoun on the right.
fn masked_probes(name: &str) -> &'static [&'static str] {
    if name.ends_with("-zh") {
        &[
            "小明今天[MASK]了，他应该多喝水",
            "小明今天[MASK]了，他应该多休息",
            "小明今天[MASK]，他应该吃药",
            "小明今天感冒了，[MASK]应该多喝水",
            "[MASK]今天感冒了，她应该多喝水",
            "小红今天感冒了，[MASK]应该多喝水",
        ]
    } else {
        &[
            "Tom has a [MASK] today, he should drink more water",
            "Tom has a [MASK] today, he should take medicine",
            "Tom is [MASK] today, he should wear more clothes",
            "Tom has a cold today, [MASK] should drink more water",
            "[MASK] has a cold today, she should drink more water",
            "Lily has a cold today, [MASK] should drink more water",
        ]
    }
}

fn report_masked(r: &Recipe, m: &MaskedLm) -> Result<(), String> {
    for text in masked_probes(r.name) {
        let f = m.fill_mask_top(text, 3).map_err(|e| e.to_string())?;
        let c: Vec<String> = f.masks[0]
            .candidates
            .iter()
            .map(|c| format!("{} {:.2}", c.token, c.prob))
            .collect();
        println!("  {text} → {}", c.join(", "));
    }
    // The pronoun of every held-out pair, masked: (who, what) combinations never seen together.
    let held = r.heldout_pairs().map_err(|e| e.to_string())?;
    let mut right = 0;
    for (source, target) in &held {
        let pronoun = m.tokenizer.encode(target).0[0].clone();
        let rest = target.strip_prefix(pronoun.as_str()).unwrap_or(target);
        let text = format!("{source}{}[MASK]{rest}", m.tokenizer.separator());
        let f = m.fill_mask(&text).map_err(|e| e.to_string())?;
        right += (f.top(0) == Some(pronoun.as_str())) as usize;
    }
    println!(
        "  held-out pairs whose masked pronoun it fills in right: {right}/{}",
        held.len()
    );
    Ok(())
}

fn report_causal(r: &Recipe, c: &CausalLm) -> Result<(), String> {
    let (source, _) = probes(r.name);
    let prompt = format!("{source}{}", c.tokenizer.separator());
    let g = c.generate(&prompt, 16).map_err(|e| e.to_string())?;
    println!("  {prompt} → {}", g.text);
    let held = r.heldout_pairs().map_err(|e| e.to_string())?;
    let scored = c.exact_matches(&held).map_err(|e| e.to_string())?;
    println!(
        "  held-out exact matches: {}/{} = {:.1} %",
        scored.right,
        scored.total,
        100.0 * scored.rate()
    );
    for m in scored.missed.iter().take(5) {
        println!("    {} → {} (expected {})", m.source, m.got, m.target);
    }
    Ok(())
}

/// Prints what the model does with the article's example and the held-out pairs.
fn report_seq2seq(r: &Recipe, s: &Seq2Seq) -> Result<(), String> {
    let (source, facts) = probes(r.name);
    let g = s.generate(source, 16).map_err(|e| e.to_string())?;
    println!("  {source} → {}", g.text);
    let last = s.model.config.n_decoder_layers - 1;
    for (written, at) in facts {
        match g.step_writing(written) {
            None => println!("  never wrote {written}"),
            Some(step) => {
                for (h, row) in step.cross_attn[last].iter().enumerate() {
                    let cells: Vec<String> = g
                        .source_tokens
                        .iter()
                        .zip(row)
                        .map(|(t, w)| format!("{t} {w:.2}"))
                        .collect();
                    println!(
                        "  writing {written}: layer {last} head {h}: {}",
                        cells.join(", ")
                    );
                }
                let heads = g.heads_looking_at(last, written, at);
                println!("  writing {written}, heads looking most at {at}: {heads:?}");
            }
        }
    }
    // Beyond the one example: every source (trained on or held out) with the same who or what.
    let mut all = r.pairs().map_err(|e| e.to_string())?;
    all.extend(r.heldout_pairs().map_err(|e| e.to_string())?);
    for (written, at) in facts {
        let with: Vec<&str> = all
            .iter()
            .filter(|(src, tgt)| {
                let words = |t: &str| s.tokenizer.encode_source(t).0;
                words(src).iter().any(|w| w == at)
                    && s.tokenizer
                        .encode_target(tgt)
                        .0
                        .iter()
                        .any(|w| w == written)
            })
            .map(|(src, _)| *src)
            .collect();
        let mut looking = 0;
        for src in &with {
            let g = s.generate(src, 16).map_err(|e| e.to_string())?;
            looking += !g.heads_looking_at(last, written, at).is_empty() as usize;
        }
        println!(
            "  of the {} sources with {at}, writing {written} a last-layer head looks most at {at} in {looking}",
            with.len()
        );
    }
    let held = r.heldout_pairs().map_err(|e| e.to_string())?;
    let scored = s.exact_matches(&held).map_err(|e| e.to_string())?;
    println!(
        "  held-out exact matches: {}/{} = {:.1} %",
        scored.right,
        scored.total,
        100.0 * scored.rate()
    );
    for m in scored.missed.iter().take(5) {
        println!("    {} → {} (expected {})", m.source, m.got, m.target);
    }
    Ok(())
}

/// Prompts and sentences of a `stack-*` recipe's language: what should come next, and the
/// sentences whose heads are described.
fn text_probes(
    zh: bool,
) -> (
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
) {
    if zh {
        (
            &[
                ("今天天气真好，适合去", "散步"),
                ("小明今天感冒了，他应该多", "喝水"),
            ],
            &["今天天气真好，适合去散步", "小明今天感冒了，他应该多喝水"],
        )
    } else {
        (
            &[("the weather is nice today , a good day for a", "walk")],
            &[
                "the weather is nice today , a good day for a walk",
                "Tom has a cold today , so he should drink more water",
            ],
        )
    }
}

/// Prints what a model trained on running text predicts and every head's pattern.
fn report_text(r: &TextRecipe, t: &Trainer) -> Result<(), String> {
    let e = |e: lm_playground::Error| e.to_string();
    let (prompts, sentences) = text_probes(r.corpus == "zh");
    for (prompt, want) in prompts {
        let top = t.predict_next(prompt, 3).map_err(e)?;
        let c: Vec<String> = top.iter().map(|(p, _, q)| format!("{p} {q:.2}")).collect();
        println!("  {prompt} → {} (want {want})", c.join(", "));
    }
    for s in sentences {
        let (pieces, layers) = t.attention(s).map_err(e)?;
        println!("  {}", pieces.join(" "));
        for (l, w) in layers.iter().enumerate() {
            let mut cells = vec![];
            for a in w.outer_iter() {
                cells.push(match head_pattern(a, true).map_err(e)? {
                    Some(p) => format!("{} {:.2}", p.kind.name(), p.strength),
                    None => "—".into(),
                });
            }
            println!("    layer {l}: {}", cells.join(" | "));
        }
    }
    Ok(())
}

/// Runs one recipe of running text as `main` runs the others.
fn run_text(
    mut r: TextRecipe,
    seed: Option<u64>,
    steps: Option<usize>,
    out: &Option<PathBuf>,
) -> Result<(), String> {
    if let Some(seed) = seed {
        r = r.with_seed(seed);
    }
    if let Some(steps) = steps {
        r = r.with_steps(steps);
    }
    let t0 = Instant::now();
    let (t, bytes) = r.run().map_err(|e| e.to_string())?;
    let secs = t0.elapsed().as_secs_f64();
    let tail = &t.losses[t.losses.len().saturating_sub(50)..];
    println!(
        "{} (decoder-only on running text) seed {}: {} steps in {secs:.1} s, {} parameters, vocabulary {}, loss {:.3} → {:.4} (mean of the last {}); held-out loss (recorded in the file) {}",
        r.name,
        r.options.seed,
        r.steps,
        t.model.params.numel(),
        t.model.config.vocab_size,
        t.losses[0],
        tail.iter().sum::<f32>() / tail.len() as f32,
        tail.len(),
        t.eval_loss().map_err(|e| e.to_string())?
    );
    report_text(&r, &t)?;
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(r.file_name());
        std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("  wrote {} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut recipes = Recipe::all();
    let mut texts = TextRecipe::all();
    let (mut seed, mut steps, mut out, mut write) = (None, None, None, true);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--recipe" => {
                let name = value()?;
                match TextRecipe::by_name(&name) {
                    Some(t) => (recipes, texts) = (vec![], vec![t]),
                    None => {
                        let r = Recipe::by_name(&name).map_err(|e| {
                            format!("{e}, and the recipes of running text stack-zh, stack-en")
                        })?;
                        (recipes, texts) = (vec![r], vec![]);
                    }
                }
            }
            "--seed" => seed = Some(value()?.parse::<u64>().map_err(|e| e.to_string())?),
            "--steps" => steps = Some(value()?.parse::<usize>().map_err(|e| e.to_string())?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--no-write" => write = false,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let variant = seed.is_some() || steps.is_some();
    let out = match out {
        Some(o) => Some(o),
        None if write && !variant => {
            Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("www/models"))
        }
        None => None,
    };
    for mut r in recipes {
        if let Some(seed) = seed {
            r = r.with_seed(seed);
        }
        if let Some(steps) = steps {
            r = r.with_steps(steps);
        }
        let t0 = Instant::now();
        let (s, bytes) = r.run().map_err(|e| e.to_string())?;
        let secs = t0.elapsed().as_secs_f64();
        let losses = s.losses();
        let tail = &losses[losses.len().saturating_sub(50)..];
        println!(
            "{} ({}) seed {}: {} steps in {secs:.1} s, {} parameters, vocabulary {}, loss {:.3} → {:.4} (mean of the last {})",
            r.name,
            r.family().name(),
            r.options.seed,
            r.steps,
            s.param_count(),
            s.vocab_size(),
            losses[0],
            tail.iter().sum::<f32>() / tail.len() as f32,
            tail.len()
        );
        if let Some(loss) = r.final_loss(&s).map_err(|e| e.to_string())? {
            println!("  final loss on the training pairs (recorded in the file): {loss}");
        }
        report(&r, &s)?;
        if let Some(dir) = &out {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let path = dir.join(r.file_name());
            std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("  wrote {} ({} bytes)", path.display(), bytes.len());
        }
    }
    for r in texts {
        run_text(r, seed, steps, &out)?;
    }
    Ok(())
}
