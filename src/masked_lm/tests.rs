//! Tests of the masked LM: masking, fill-mask, trace, files.

use super::*;
use crate::layers::LayerConfig;
use crate::tokenizer::{Mode, Segmenter};

const PAIRS: &[(&str, &str)] = &[
    ("小明今天感冒了", "他应该多喝水"),
    ("小红饿了", "她应该吃点东西"),
    ("我累了", "我应该多休息"),
];

fn tiny(seed: u64, masking: Masking) -> MaskedLm {
    let tok = JoinedTokenizer::from_pairs(
        PAIRS,
        Segmenter::new(
            Mode::Word,
            &["小明", "今天", "感冒", "小红", "应该", "东西", "休息"],
        ),
        "，",
        false,
    )
    .unwrap();
    let config = EncoderOnlyConfig {
        vocab_size: 0,
        layer: LayerConfig {
            d_model: 8,
            n_heads: 2,
            d_ff: 16,
            ..EncoderOnlyConfig::default().layer
        },
        n_layers: 2,
        max_len: 12,
    };
    let options = SessionOptions {
        seed,
        batch_size: 3,
        ..Default::default()
    };
    MaskedLm::new(config, tok, PAIRS, masking, options).unwrap()
}

#[test]
fn a_masked_batch_hides_chosen_pieces_and_scores_only_them() {
    let m = tiny(1, Masking::BERT);
    let mut rng = Rng::new(4);
    let (ids, padding, targets) = m.masked_batch(&[1, 0, 2], &mut rng);
    // 小红 饿 了 ， 她 应该 吃 点 东西 is 9 pieces, 小明 今天 感冒 了 ， 他 应该 多 喝 水 10
    assert_eq!(ids.dim(), (3, 10));
    assert!(padding[[0, 9]] && !padding[[0, 8]] && !padding[[1, 9]]);
    for b in 0..3 {
        let chosen = (0..10).filter(|&t| targets[[b, t]] != IGNORE_INDEX).count();
        assert!(chosen >= 1, "at least one position per sequence");
    }
    // Padding is never chosen; a chosen position's target is the piece the sequence had.
    assert_eq!(targets[[0, 9]], IGNORE_INDEX);
    let seqs: Vec<&[usize]> = [1, 0, 2].map(|i| &m.sequences[i][..]).to_vec();
    let (clean, _) = padded(&seqs);
    for ((b, t), &y) in targets.indexed_iter() {
        if y != IGNORE_INDEX {
            assert_eq!(y, clean[[b, t]] as i64);
        } else {
            assert_eq!(ids[[b, t]], clean[[b, t]], "unchosen pieces stay");
        }
    }
    // Always [MASK] at rate 1: every piece is hidden.
    let all = Masking {
        rate: 1.0,
        mask: 1.0,
        random: 0.0,
    };
    let (ids, _, _) = tiny(1, all).masked_batch(&[0], &mut rng);
    assert!(ids.iter().all(|&i| i == MASK));
    let bad = Masking {
        rate: 0.5,
        mask: 0.8,
        random: 0.3,
    };
    let e =
        MaskedLm::new(m.model.config, m.tokenizer.clone(), PAIRS, bad, m.options()).unwrap_err();
    assert!(e.message.contains("mask + random"), "{e}");
}

#[test]
fn fill_mask_ranks_candidates_and_keeps_every_attention_row() {
    let mut m = tiny(2, Masking::BERT);
    m.train(40).unwrap();
    // masking is random, so the loss is noisy: compare the first and last ten
    let mean = |l: &[f32]| l.iter().sum::<f32>() / l.len() as f32;
    assert!(
        mean(&m.losses[30..]) < mean(&m.losses[..10]),
        "{:?}",
        m.losses
    );
    let f = m
        .fill_mask_top("小明今天[MASK]了，<mask>应该多喝水", 3)
        .unwrap();
    assert_eq!(
        f.tokens,
        ["小明", "今天", "[MASK]", "了", "，", "[MASK]", "应该", "多", "喝", "水"]
    );
    assert_eq!(f.masks.len(), 2);
    assert_eq!((f.masks[0].position, f.masks[1].position), (2, 5));
    for fill in &f.masks {
        assert_eq!(fill.candidates.len(), 3);
        let p: Vec<f32> = fill.candidates.iter().map(|c| c.prob).collect();
        assert!(p[0] >= p[1] && p[1] >= p[2] && p[2] > 0.0, "{p:?}");
        assert_eq!(
            fill.candidates[0].token,
            m.tokenizer.piece(fill.candidates[0].id)
        );
    }
    assert_eq!(f.attention.len(), 2);
    for layer in &f.attention {
        assert_eq!(layer.len(), 2);
        for head in layer {
            assert_eq!(head.len(), 10);
            for row in head {
                assert_eq!(row.len(), 10);
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                // every token sees every token: no weight is exactly zero
                assert!(row.iter().all(|&w| w > 0.0));
            }
        }
    }
    // Unknown words are named, not refused; no mask or too long is refused.
    let f = m.fill_mask("小明发烧了，他应该[MASK]").unwrap();
    assert_eq!(f.unknown, ["发", "烧"]);
    let e = m.fill_mask("小明今天感冒了").unwrap_err();
    assert!(e.message.contains("no [MASK]"), "{e}");
    let e = m
        .fill_mask(&format!("{}[MASK]", "小明".repeat(12)))
        .unwrap_err();
    assert!(
        e.message.contains("has 13 tokens; the model reads 1 to 12"),
        "{e}"
    );
}

#[test]
fn a_file_describes_its_model_and_reproduces_its_scores() {
    let mut m = tiny(3, Masking::BERT);
    m.train(5).unwrap();
    let bytes = m.to_safetensors(&Metadata::new());
    let back = MaskedLm::from_safetensors(&bytes, SessionOptions::default()).unwrap();
    assert_eq!(back.model.config, m.model.config);
    assert_eq!(back.tokenizer, m.tokenizer);
    assert_eq!(back.masking(), Masking::BERT);
    assert_eq!(back.sequence_count(), 0);
    let text = "小红[MASK]了，她应该吃点东西";
    assert_eq!(back.fill_mask(text).unwrap(), m.fill_mask(text).unwrap());
    assert_eq!(back.eval_loss(PAIRS).unwrap(), m.eval_loss(PAIRS).unwrap());
    let e = back.clone().train_step().unwrap_err();
    assert!(e.message.contains("no training pairs"), "{e}");
    let mut meta = m.metadata();
    meta.remove(MASKING);
    let e = MaskedLm::from_safetensors(
        &m.model.params.to_safetensors_with(&meta),
        Default::default(),
    )
    .unwrap_err();
    assert!(e.message.contains("no \"masking\""), "{e}");
    meta.insert(keys::MODEL.into(), "decoder-only".into());
    let e = MaskedLm::from_safetensors(
        &m.model.params.to_safetensors_with(&meta),
        Default::default(),
    )
    .unwrap_err();
    assert!(e.message.contains("not \"encoder-only\""), "{e}");
}

#[test]
fn a_trace_lays_open_the_pass_fill_mask_makes() {
    let mut m = tiny(4, Masking::BERT);
    m.train(10).unwrap();
    let text = "小明今天[MASK]了，他应该多喝水";
    let t = m.trace(text, 3).unwrap();
    let f = m.fill_mask_top(text, 3).unwrap();
    assert_eq!(
        (t.tokens.clone(), t.ids.clone()),
        (f.tokens.clone(), f.ids.clone())
    );
    assert_eq!(t.predictions, f.masks);
    assert_eq!(t.attention(), f.attention);
    assert_eq!(t.embeddings.dim(), (10, 8));
    assert_eq!(t.logits.dim(), (10, m.tokenizer.vocab_size()));
    assert_eq!(t.layers.len(), 2);
    assert_eq!(t.layers[1].output().dim(), (10, 8));
    // Without a mask a trace still runs (nothing to fill); an empty text is refused.
    let plain = m.trace("小明今天感冒了", 3).unwrap();
    assert!(plain.predictions.is_empty() && plain.tokens.len() == 4);
    let e = m.trace("", 3).unwrap_err();
    assert!(
        e.message
            .contains("the text has 0 tokens; the model reads 1 to 12"),
        "{e}"
    );
}

#[test]
fn training_sequences_too_large_for_one_step_are_refused_before_the_model_is_built() {
    let m = tiny(5, Masking::BERT);
    let mut config = m.model.config;
    config.max_len = 4096;
    let long = "小明".repeat(2000);
    let pairs = [(long.as_str(), long.as_str())];
    let options = SessionOptions {
        batch_size: 4096,
        ..m.options()
    };
    let e = MaskedLm::new(config, m.tokenizer.clone(), &pairs, Masking::BERT, options).unwrap_err();
    assert!(
        e.message
            .contains("masked LM: a batch of 4096 sequences of up to 4001 tokens"),
        "{e}"
    );
    let mut small = tiny(5, Masking::BERT);
    let n = small.sequence_count();
    assert!(small.max_steps_per_call() > 100);
    let huge = "小明".repeat(20);
    assert!(small.set_pairs(&[(huge.as_str(), "他")]).is_err());
    assert_eq!(small.sequence_count(), n, "the pairs are unchanged");
}
