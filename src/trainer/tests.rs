//! Tests of the trainer: the learning panel's promises, the update rules, divergence.

use super::*;
use crate::corpus;
use crate::layers::LayerConfig;
use crate::tokenizer::Mode;

/// The learning panel's promise, natively: a tiny model trained on the Chinese corpus puts
/// 散步 first after 今天天气真好，适合去, well ahead of 打游戏.
#[test]
fn tiny_model_learns_the_walk() {
    let mut tr = learning_panel_tiny(corpus::ZH, 1).unwrap();
    let prompt = "今天天气真好，适合去";
    let before = tr.next_probs(prompt).unwrap();
    let v = before.len() as f32;
    assert!(
        before.iter().all(|&p| p < 10.0 / v),
        "near uniform at the start"
    );
    tr.watch("lm_head.weight", 5).unwrap();
    for _ in 0..300 {
        tr.train_step().unwrap();
    }
    let first = tr.losses[0];
    let last = tr.losses[290..].iter().sum::<f32>() / 10.0;
    assert!(last < 0.7 * first, "loss {first} → {last}");
    let top = tr.predict_next(prompt, 3).unwrap();
    assert_eq!(top[0].0, "散步", "{top:?}");
    let p = tr.next_probs(prompt).unwrap();
    let t = tr.tokenizer.as_ref().unwrap();
    assert!(p[t.id("散步").unwrap()] > 5.0 * p[t.id("打游戏").unwrap()]);
    assert!(tr.eval_loss().unwrap().is_finite());
    // The watched update follows Adam's rule with the recorded numbers.
    let u = tr.last_update.clone().unwrap();
    let step = u.lr as f32 * u.m_hat.unwrap() / (u.v_hat.unwrap().sqrt() + 1e-8);
    assert!((u.old - step - u.new).abs() < 1e-6, "{u:?}");
}

/// The learning panel's `tiny` size with its default options (www/panels/learn.js `SIZES`
/// and `spec()`: word tokens, at most 2000 pieces, Adam 0.01, B = 16, T = 16, clip 1).
fn tiny(text: &str, seed: u64) -> Trainer {
    learning_panel_tiny(text, seed).unwrap()
}

/// Greedy continuation of `prompt` by the `tiny` model after 400 steps on `text` gives the
/// pieces `want` for at least 9 of the seeds 1 to 10. Prints each seed's answer and the
/// probability of its last piece.
fn walks_for_almost_every_seed(text: &str, prompt: &str, want: &[&str]) {
    let mut hits = 0;
    for seed in 1..=10 {
        let mut tr = tiny(text, seed);
        tr.train(400).unwrap();
        let (mut got, mut p, mut prob) = (vec![], prompt.to_string(), 0.0);
        for _ in want {
            let top = tr.predict_next(&p, 1).unwrap();
            p = format!("{p} {}", top[0].0);
            prob = top[0].2;
            got.push(top[0].0.clone());
        }
        hits += got.iter().map(String::as_str).eq(want.iter().copied()) as usize;
        println!("{prompt} (seed {seed}): {got:?} ({prob:.2})");
    }
    assert!(hits >= 9, "{prompt}: {want:?} for only {hits} of 10 seeds");
}

/// Not only the default seed: after 400 steps of the `tiny` model, 散步 comes first after
/// 今天天气真好，适合去 for at least 9 of the seeds 1 to 10 (all 10 when measured).
#[test]
fn the_walk_comes_first_for_almost_every_seed() {
    walks_for_almost_every_seed(corpus::ZH, "今天天气真好，适合去", &["散步"]);
}

/// The English prompt of the panel (learn.js `PROMPTS`) is continued with `a` and then
/// `walk` for at least 9 of the seeds 1 to 10 (all 10 when measured).
#[test]
fn the_english_walk_comes_first_for_almost_every_seed() {
    walks_for_almost_every_seed(
        corpus::EN,
        "the weather is nice today , a good day for",
        &["a", "walk"],
    );
}

#[test]
fn sgd_update_is_old_minus_lr_times_grad_and_divergence_is_caught() {
    let tok = Tokenizer::from_corpus(corpus::EN, Mode::Word, &[], 2000).unwrap();
    let cfg = DecoderOnlyConfig {
        vocab_size: tok.vocab_size(),
        layer: LayerConfig {
            d_model: 16,
            n_heads: 2,
            d_ff: 32,
            ..Default::default()
        },
        n_layers: 1,
        max_len: 8,
    };
    let opts = TrainOptions {
        optimizer: OptimizerConfig::sgd(0.5),
        seq_len: 8,
        clip: None,
        ..Default::default()
    };
    let mut tr = Trainer::new(cfg, Some(tok.clone()), Some(corpus::EN), opts).unwrap();
    tr.watch("tok_emb.weight", 40).unwrap();
    tr.train_step().unwrap();
    let u = tr.last_update.clone().unwrap();
    assert_eq!(u.new, u.old - 0.5f32 * u.grad);
    assert!(u.m_hat.is_none());
    // A huge learning rate makes the loss explode: an error, not NaN weights.
    let mut bad = Trainer::new(
        cfg,
        Some(tok),
        Some(corpus::EN),
        TrainOptions {
            optimizer: OptimizerConfig::sgd(1000.0),
            seq_len: 8,
            clip: None,
            ..Default::default()
        },
    )
    .unwrap();
    let err = (0..50)
        .find_map(|_| bad.train_step().err())
        .expect("diverges");
    assert!(err.message.contains("diverged"), "{err}");
    assert!(bad.set_lr(f64::NAN).is_err());
    // A batch too large for a browser tab is refused up front.
    let huge = DecoderOnlyConfig {
        max_len: 4096,
        ..cfg
    };
    let e = Trainer::new(
        huge,
        None,
        None,
        TrainOptions {
            batch_size: 4096,
            seq_len: 4096,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.message.contains("MB of activations"), "{e}");
}
