//! The session's tests: pairs, batches, greedy decoding, files (the trace and the work
//! bounds are tested beside their code).

use super::*;
use crate::layers::LayerConfig;
use crate::tokenizer::{Mode, ZH_LEXICON};

const PAIRS: &str =
    "小明今天感冒了\t他应该多喝水\n\n小红饿了\t她应该吃点东西\n我累了\t我应该多休息\n";

/// A tiny untrained session on three pairs.
pub(super) fn tiny(seed: u64) -> Seq2Seq {
    let pairs = parse_tsv(PAIRS).unwrap();
    let tok = PairTokenizer::from_pairs(
        &pairs,
        Segmenter::new(Mode::Word, ZH_LEXICON),
        Segmenter::new(Mode::Word, &["应该", "东西", "休息"]),
    )
    .unwrap();
    let config = EncoderDecoderConfig {
        vocab_size: 0,
        layer: LayerConfig {
            d_model: 8,
            n_heads: 2,
            d_ff: 16,
            ..EncoderDecoderConfig::default().layer
        },
        n_encoder_layers: 1,
        n_decoder_layers: 2,
        max_len: 8,
    };
    let options = Seq2SeqOptions {
        seed,
        batch_size: 3,
        ..Default::default()
    };
    Seq2Seq::new(config, tok, &pairs, options).unwrap()
}

#[test]
fn tsv_lines_are_pairs_and_a_bad_line_is_named() {
    assert_eq!(parse_tsv(PAIRS).unwrap()[1], ("小红饿了", "她应该吃点东西"));
    let e = parse_tsv("a\tb\nno tab here\n").unwrap_err();
    assert!(
        e.message.contains("line 2") && e.message.contains("no tab here"),
        "{e}"
    );
    assert!(parse_tsv("a\t \n").is_err());
}

#[test]
fn a_batch_pads_the_source_and_shifts_the_answer() {
    let s = tiny(1);
    assert_eq!(s.model.config.vocab_size, s.tokenizer.vocab_size());
    let (src, padding, tgt_in, targets) = s.batch(&[1, 0]);
    let t = &s.tokenizer;
    // 小红 / 饿 / 了 is one token shorter than 小明 / 今天 / 感冒 / 了: padded and masked.
    assert_eq!(src.dim(), (2, 4));
    assert_eq!(
        (src[[0, 3]], padding[[0, 3]], padding[[0, 2]]),
        (PAD, true, false)
    );
    assert_eq!(t.piece(src[[1, 2]]), "感冒");
    // <bos> 他 应该 多 喝 水  →  他 应该 多 喝 水 <eos>
    let row: Vec<&str> = tgt_in.row(1).iter().map(|&i| t.piece(i)).collect();
    assert_eq!(row, ["<bos>", "他", "应该", "多", "喝", "水"]);
    let want: Vec<i64> = ["他", "应该", "多", "喝", "水", "<eos>"]
        .iter()
        .map(|p| t.vocab().iter().position(|v| v == p).unwrap() as i64)
        .collect();
    assert_eq!(targets.row(1).to_vec(), want);
    // 她 应该 吃 点 东西 <eos>: as long as the longest, so no −100 in this batch's last column
    assert_eq!(targets[[0, 5]], t.eos() as i64);
}

#[test]
fn greedy_decoding_keeps_a_row_of_weights_per_layer_and_head() {
    let mut s = tiny(3);
    let first = s.train(30).unwrap()[0];
    assert!(s.losses[29] < first, "{:?}", s.losses);
    let g = s.generate("小明今天感冒了", 5).unwrap();
    assert_eq!(g.source_tokens, ["小明", "今天", "感冒", "了"]);
    assert!(g.unknown.is_empty());
    assert!(!g.steps.is_empty() && g.steps.len() <= 5);
    for (k, step) in g.steps.iter().enumerate() {
        assert_eq!((step.self_attn.len(), step.cross_attn.len()), (2, 2));
        for l in 0..2 {
            for h in 0..2 {
                // over <bos> and the k tokens before it; over the 4 source tokens
                let (sa, ca) = (&step.self_attn[l][h], &step.cross_attn[l][h]);
                assert_eq!((sa.len(), ca.len()), (k + 1, 4));
                for row in [sa, ca] {
                    let sum: f32 = row.iter().sum();
                    assert!(
                        (sum - 1.0).abs() < 1e-5,
                        "step {k} layer {l} head {h}: {row:?}"
                    );
                }
            }
        }
        assert!(step.prob > 0.0 && step.prob <= 1.0);
    }
    // The text is the steps' tokens up to <eos>.
    let written: Vec<usize> = g.steps.iter().map(|st| st.id).collect();
    assert_eq!(g.text, s.tokenizer.decode_target(&written));
    // An unknown word is read as <unk>, named, and the model still answers.
    let g = s.generate("小明发烧了", 4).unwrap();
    assert_eq!(
        (g.unknown.clone(), g.source_ids[1]),
        (vec!["发烧".to_string()], UNK)
    );
    assert!(!g.steps.is_empty());
    assert!(s
        .generate("", 4)
        .unwrap_err()
        .message
        .contains("source has 0 tokens"));
}

#[test]
fn heads_looking_at_reads_the_argmax_of_each_head() {
    let step = GenerationStep {
        id: 7,
        token: "喝".into(),
        prob: 0.9,
        self_attn: vec![],
        cross_attn: vec![vec![vec![0.1, 0.2, 0.6, 0.1], vec![0.5, 0.2, 0.2, 0.1]]],
    };
    let g = Generation {
        source_tokens: ["小明", "今天", "感冒", "了"].map(String::from).to_vec(),
        source_ids: vec![5, 6, 7, 8],
        unknown: vec![],
        text: "喝".into(),
        steps: vec![step],
    };
    assert_eq!(g.heads_looking_at(0, "喝", "感冒"), [(0, 0.6)]);
    assert_eq!(g.heads_looking_at(0, "喝", "小明"), [(1, 0.5)]);
    assert!(g.heads_looking_at(0, "水", "感冒").is_empty());
    assert!(g.heads_looking_at(1, "喝", "感冒").is_empty());
}

#[test]
fn a_file_describes_its_model_and_loads_strictly() {
    let mut s = tiny(5);
    s.train(3).unwrap();
    let extra = Metadata::from([("recipe".to_string(), "tiny".to_string())]);
    let bytes = s.to_safetensors(&extra);
    let back = Seq2Seq::from_safetensors(&bytes, Seq2SeqOptions::default()).unwrap();
    assert_eq!(back.model.config, s.model.config);
    assert_eq!(back.tokenizer, s.tokenizer);
    assert_eq!(back.model.params.to_map(), s.model.params.to_map());
    assert_eq!(
        back.generate("小红饿了", 6).unwrap(),
        s.generate("小红饿了", 6).unwrap()
    );
    assert_eq!(back.pair_count(), 0);
    assert!(back
        .clone()
        .train_step()
        .unwrap_err()
        .message
        .contains("no training pairs"));
    // A missing key, a wrong kind of model and a vocabulary that does not fit are named.
    let without = |key: &str, value: Option<&str>| {
        let mut m = s.metadata();
        match value {
            Some(v) => m.insert(key.to_string(), v.to_string()),
            None => m.remove(key),
        };
        let b = s.model.params.to_safetensors_with(&m);
        Seq2Seq::from_safetensors(&b, Seq2SeqOptions::default()).unwrap_err()
    };
    let e = without(keys::TARGET_VOCAB, None);
    assert!(e.message.contains("no \"target_vocab\""), "{e}");
    let e = without(keys::MODEL, Some("decoder-only"));
    assert!(e.message.contains("\"decoder-only\""), "{e}");
    let e = without(keys::VOCAB, Some(r#"["<pad>"]"#));
    assert!(e.message.contains("not in the vocabulary"), "{e}");
    let e = without(keys::CONFIG, Some("{"));
    assert!(e.message.contains("\"config\" is not valid"), "{e}");
    // Plain weights without the metadata are refused, not guessed at.
    let e = Seq2Seq::from_safetensors(&s.model.params.to_safetensors(), Default::default())
        .unwrap_err();
    assert!(e.message.contains("no \"model\""), "{e}");
}

/// The tiny session with its batch of 3 cut into `shards`.
fn tiny_sharded(shards: usize) -> Seq2Seq {
    let mut m = tiny(4);
    m.options.shards = shards;
    m
}

/// Shards of pairs of different lengths are weighted by the tokens they count: the sharded
/// loss is the whole batch's up to rounding; parts computed by replicas sent the weights give
/// the same bits as one session computing them all; one shard is the plain step.
#[test]
fn sharded_steps_are_the_batch_step_and_the_same_anywhere() {
    let mut alone = tiny_sharded(3);
    let mut coordinator = tiny_sharded(3);
    let mut replica = tiny_sharded(3);
    let mut plain = tiny_sharded(1);
    for step in 0..5 {
        let la = alone.train_step().unwrap();
        let batch = coordinator.begin_step().unwrap();
        let weights = coordinator.model.params.values_flat();
        coordinator.compute_part(0).unwrap();
        replica.model.params.set_values_flat(&weights).unwrap();
        for k in 1..3 {
            let part = replica.part(&batch, k).unwrap();
            coordinator.add_part(k, part.loss, &part.grad).unwrap();
        }
        assert_eq!(
            la.to_bits(),
            coordinator.finish_step().unwrap().to_bits(),
            "step {step}"
        );
        let lp = plain.train_step().unwrap();
        assert!((lp - la).abs() <= 1e-5 * lp.abs(), "{lp} vs {la}");
    }
    assert_eq!(alone.model.params, coordinator.model.params);
    assert!(
        replica.part(&[0, 1, 99], 0).is_err(),
        "pair 99 does not exist"
    );
}
