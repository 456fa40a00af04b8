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

/// A trainer of the learning panel's tiny size on the Chinese corpus, its batch cut into
/// `shards`.
fn tiny_sharded(shards: usize) -> Trainer {
    let mut tr = learning_panel_tiny(corpus::ZH, 3).unwrap();
    tr.options.shards = shards;
    tr
}

/// With one shard the step is the plain one: the same bits as sampling a batch and stepping on
/// it whole.
#[test]
fn one_shard_is_the_plain_step() {
    let mut a = tiny_sharded(1);
    let mut b = a.clone();
    for _ in 0..5 {
        let la = a.train_step().unwrap();
        let (ids, targets) = b.sample_batch().unwrap();
        let lb = b.step_on(&ids, &targets).unwrap();
        assert_eq!(la.to_bits(), lb.to_bits());
    }
    assert_eq!(a.model.params, b.model.params);
}

/// Four shards whose parts are computed by other trainers (replicas sent the weights, as the
/// page's workers are), in any grouping, give the same bits as one trainer computing them all;
/// and the same loss as the plain step up to rounding.
#[test]
fn parts_computed_anywhere_give_the_same_bits() {
    let mut alone = tiny_sharded(4);
    let mut coordinator = tiny_sharded(4);
    let mut replicas = [tiny_sharded(4), tiny_sharded(4)];
    let mut plain = tiny_sharded(1);
    for step in 0..6 {
        let la = alone.train_step().unwrap();
        let batch = coordinator.begin_step().unwrap();
        let weights = coordinator.model.params.values_flat();
        // step 0..: this thread computes a prefix of the shards, replicas the rest
        let own = step % 4;
        for k in 0..own {
            coordinator.compute_part(k).unwrap();
        }
        for k in own..4 {
            let r = &mut replicas[k % 2];
            r.model.params.set_values_flat(&weights).unwrap();
            let part = r.part(&batch, k).unwrap();
            coordinator.add_part(k, part.loss, &part.grad).unwrap();
        }
        let lc = coordinator.finish_step().unwrap();
        assert_eq!(la.to_bits(), lc.to_bits(), "step {step}");
        let lp = plain.train_step().unwrap();
        assert!((lp - la).abs() <= 1e-5 * lp.abs(), "{lp} vs {la}");
    }
    assert_eq!(alone.model.params, coordinator.model.params);
    assert_eq!(alone.grad_norms, coordinator.grad_norms);
}

/// Parts out of order, of the wrong size, or a step finished early are refused.
#[test]
fn the_step_protocol_refuses_misuse() {
    let mut tr = tiny_sharded(4);
    assert!(tr.finish_step().is_err(), "no step begun");
    assert!(tr.compute_part(0).is_err(), "no step begun");
    let batch = tr.begin_step().unwrap();
    assert_eq!(batch.len(), 16);
    assert!(tr.compute_part(1).is_err(), "shard 0 comes first");
    tr.compute_part(0).unwrap();
    assert!(tr.add_part(1, 0.0, &[1.0]).is_err(), "wrong length");
    assert!(tr.part(&batch, 4).is_err(), "only 4 shards");
    assert!(
        tr.part(&[usize::MAX / 2], 0).is_err(),
        "a window past the text"
    );
    assert!(tr.finish_step().is_err(), "three parts missing");
    assert!(tr.losses.is_empty());
    let bad = TrainOptions {
        shards: 0,
        ..TrainOptions::default()
    };
    let cfg = tr.model.config;
    assert!(Trainer::new(cfg, None, None, bad).is_err());
}
