//! Tests of the causal LM: batches, greedy decoding, trace, files.

use super::*;
use crate::layers::LayerConfig;
use crate::tokenizer::{Mode, Segmenter};

const PAIRS: &[(&str, &str)] = &[
    ("小明今天感冒了", "他应该多喝水"),
    ("小红饿了", "她应该吃点东西"),
    ("我累了", "我应该多休息"),
];

fn tiny(seed: u64, loss_on: LossOn) -> CausalLm {
    let words = ["小明", "今天", "感冒", "小红", "应该", "东西", "休息"];
    let tok =
        JoinedTokenizer::from_pairs(PAIRS, Segmenter::new(Mode::Word, &words), "，", true).unwrap();
    let config = DecoderOnlyConfig {
        vocab_size: 0,
        layer: LayerConfig {
            d_model: 16,
            n_heads: 2,
            d_ff: 32,
            ..LayerConfig::default()
        },
        n_layers: 2,
        max_len: 12,
    };
    let options = SessionOptions {
        seed,
        batch_size: 3,
        ..Default::default()
    };
    CausalLm::new(config, tok, PAIRS, loss_on, options).unwrap()
}

#[test]
fn a_batch_shifts_by_one_and_can_score_only_the_answer() {
    let m = tiny(1, LossOn::Sequence);
    let t = &m.tokenizer;
    let (ids, targets) = m.batch(&[0, 2]);
    // <bos> 小明 今天 感冒 了 ， 他 应该 多 喝 水 → … 水 <eos>: 11 inputs
    assert_eq!(ids.dim(), (2, 11));
    let row: Vec<&str> = ids.row(0).iter().map(|&i| t.piece(i)).collect();
    assert_eq!(row[..6], ["<bos>", "小明", "今天", "感冒", "了", "，"]);
    assert_eq!(targets[[0, 0]], ids[[0, 1]] as i64);
    assert_eq!(targets[[0, 10]], t.eos().unwrap() as i64);
    // 我 累 了 ， 我 应该 多 休息 <eos>: 9 inputs, then padding with no target
    assert_eq!((ids[[1, 9]], targets[[1, 9]]), (PAD, IGNORE_INDEX));
    assert_eq!(targets[[1, 8]], t.eos().unwrap() as i64);
    // Answer only: nothing counted up to and including the separator's prediction.
    let a = tiny(1, LossOn::Answer);
    let (_, targets) = a.batch(&[0]);
    let counted: Vec<usize> = (0..11)
        .filter(|&k| targets[[0, k]] != IGNORE_INDEX)
        .collect();
    // inputs ， 他 应该 多 喝 水 (positions 5..=10) predict 他 … <eos>
    assert_eq!(counted, (5..=10).collect::<Vec<_>>());
    assert_eq!(t.piece(targets[[0, 5]] as usize), "他");
}

#[test]
fn greedy_decoding_keeps_a_causal_row_per_layer_and_head() {
    let mut m = tiny(2, LossOn::Sequence);
    let first = m.train(60).unwrap()[0];
    assert!(m.losses[59] < first, "{:?}", m.losses);
    let g = m.generate("小明今天感冒了，", 6).unwrap();
    assert_eq!(g.context, ["<bos>", "小明", "今天", "感冒", "了", "，"]);
    assert!(!g.steps.is_empty() && g.steps.len() <= 6);
    for (k, step) in g.steps.iter().enumerate() {
        assert_eq!(step.attention.len(), 2);
        for head in &step.attention {
            assert_eq!(head.len(), 2);
            for row in head {
                // over the 6 context pieces and the k written before it
                assert_eq!(row.len(), 6 + k);
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
    }
    let written: Vec<usize> = g.steps.iter().map(|s| s.id).collect();
    assert_eq!(g.text, m.tokenizer.decode(&written));
    // From <bos> alone it writes too; unknown words are named; a long prompt is refused.
    assert!(!m.generate("", 3).unwrap().steps.is_empty());
    assert_eq!(m.generate("小明发烧了，", 2).unwrap().unknown, ["发", "烧"]);
    let e = m.generate(&"小明".repeat(11), 4).unwrap_err();
    assert!(e.message.contains("at most 10"), "{e}");
    // The generation never runs past the model's max_len.
    let g = m.generate(&"小明".repeat(9), 20).unwrap();
    assert!(g.context.len() + g.steps.len() <= 13, "{}", g.steps.len());
}

#[test]
fn a_file_describes_its_model_and_reproduces_its_scores() {
    let mut m = tiny(3, LossOn::Answer);
    m.train(5).unwrap();
    let bytes = m.to_safetensors(&Metadata::new());
    let back = CausalLm::from_safetensors(&bytes, SessionOptions::default()).unwrap();
    assert_eq!(back.model.config, m.model.config);
    assert_eq!(back.tokenizer, m.tokenizer);
    assert_eq!(back.loss_on(), LossOn::Answer);
    assert_eq!(
        back.generate("小红饿了，", 8).unwrap(),
        m.generate("小红饿了，", 8).unwrap()
    );
    assert_eq!(back.eval_loss(PAIRS).unwrap(), m.eval_loss(PAIRS).unwrap());
    let mut meta = m.metadata();
    meta.insert(crate::session::keys::SEPARATOR.into(), "\"。\"".into());
    let e = CausalLm::from_safetensors(
        &m.model.params.to_safetensors_with(&meta),
        Default::default(),
    )
    .unwrap_err();
    assert!(e.message.contains("separator \"。\""), "{e}");
}

#[test]
fn a_trace_matches_greedy_decoding() {
    let mut m = tiny(4, LossOn::Sequence);
    m.train(20).unwrap();
    let g = m.generate("小明今天感冒了，", 3).unwrap();
    let written: String = g.steps[..2].iter().map(|s| s.token.as_str()).collect();
    let t = m.trace(&format!("小明今天感冒了，{written}"), 3).unwrap();
    // <bos>, 6 pieces of the prompt, the 2 written
    assert_eq!(t.tokens.len(), 8);
    assert_eq!(t.tokens[..6], g.context[..]);
    assert_eq!(t.embeddings.dim(), (8, 16));
    assert_eq!(t.logits.dim(), (8, m.tokenizer.vocab_size()));
    let next = &t.predictions[0];
    assert_eq!((next.position, next.candidates.len()), (7, 3));
    assert_eq!(next.candidates[0].id, g.steps[2].id);
    // The last row of each head is what greedy decoding recorded while writing the third piece.
    let rows = t.attention();
    for (l, layer) in rows.iter().enumerate() {
        for (h, head) in layer.iter().enumerate() {
            assert_eq!(head[7], g.steps[2].attention[l][h], "layer {l}, head {h}");
            assert_eq!(head[0][1], 0.0, "the causal mask blocks the future");
        }
    }
    assert_eq!(m.trace("", 1).unwrap().tokens, ["<bos>"]);
    let e = m.trace(&"小明".repeat(12), 1).unwrap_err();
    assert!(
        e.message
            .contains("the text has 12 tokens; with <bos> it may have at most 11"),
        "{e}"
    );
}

#[test]
fn greedy_decoding_too_long_for_one_call_is_refused_saying_how_many_tokens_fit() {
    let m = tiny(5, LossOn::Sequence);
    assert!(m.max_steps_per_call() > 100);
    // A wide model asked to write thousands of tokens: refused, saying how many fit.
    let wide = DecoderOnlyConfig {
        max_len: 4096,
        layer: LayerConfig {
            d_model: 256,
            n_heads: 4,
            d_ff: 1024,
            ..LayerConfig::default()
        },
        ..m.model.config
    };
    let w = CausalLm::new(
        wide,
        m.tokenizer.clone(),
        PAIRS,
        LossOn::Sequence,
        m.options(),
    )
    .unwrap();
    let e = w.generate("小明", 4000).unwrap_err();
    assert!(
        e.message
            .contains("writing up to 4000 tokens after a prompt of 2 would take"),
        "{e}"
    );
    let fits: usize = e.message.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(w.generate("小明", fits).is_ok());
}
