//! One forward pass laid open: for a source and the beginning of its answer, the embeddings,
//! every layer's cache (its input and output, every head's Q, K, V, scores and weights), the
//! logits and the most probable next tokens — what `Seq2Seq.trace` in the JS API returns.
//!
//! ```text
//! source  小明 今天 感冒 了          → encoder layers → memory [S, C]
//! target  <bos> 他 应该 多           → decoder layers (self-attention over the target so far,
//!                                      cross-attention over the memory) → logits [T, V]
//! next    the top tokens after 多 (喝 for a trained model)
//! ```

use super::Seq2Seq;
use crate::error::{Error, Result};
use crate::models::encoder_decoder::{EncoderDecoderCache, EncoderDecoderWeights};
use crate::ops::softmax;
use crate::scope::Scope;
use crate::tokenizer::BOS;
use crate::trainer::top_k;
use ndarray::{s, Array2, Axis};

/// Everything one forward pass computed for a source and a target prefix (batch of one).
#[derive(Debug, Clone)]
pub struct Trace {
    /// The source's pieces.
    pub source_tokens: Vec<String>,
    /// Their ids (`<unk>` for a piece the model does not know).
    pub source_ids: Vec<usize>,
    /// The source pieces read as `<unk>`.
    pub unknown: Vec<String>,
    /// The decoder's input: `<bos>`, then the target prefix's pieces.
    pub target_tokens: Vec<String>,
    /// Their ids.
    pub target_ids: Vec<usize>,
    /// Token + position embeddings of the source, `[S, C]` (the first encoder layer's input).
    pub source_embeddings: Array2<f32>,
    /// Token + position embeddings of the decoder's input, `[T, C]`.
    pub target_embeddings: Array2<f32>,
    /// Every layer's cache; `cache.memory` is the encoder's output `[1, S, C]`.
    pub cache: EncoderDecoderCache<f32>,
    /// Logits `[T, V]`: row `i` scores the token after `target_tokens[i]`.
    pub logits: Array2<f32>,
    /// The most probable tokens after the whole prefix: `(piece, id, probability)`.
    pub next: Vec<(String, usize, f32)>,
}

impl Seq2Seq {
    /// Runs the model on `source` and `<bos>` + `target` (a prefix of an answer, possibly
    /// empty) and keeps everything; `next` holds the `top` most probable next tokens.
    ///
    /// **Errors** if the source has no tokens or more than `max_len`, if `<bos>` + the prefix
    /// is longer than `max_len`, or if the pass would be too much work for one call.
    pub fn trace(&self, source: &str, target: &str, top: usize) -> Result<Trace> {
        let cfg = &self.model.config;
        let (source_tokens, source_ids, unknown) = self.read_source(source)?;
        let (pieces, ids) = self.tokenizer.encode_target(target);
        if ids.len() + 1 > cfg.max_len {
            return Err(Error::value(format!(
                "seq2seq: the answer so far has {} tokens; with <bos> it may have at most {}",
                ids.len(),
                cfg.max_len - 1
            )));
        }
        let target_tokens: Vec<String> = std::iter::once(self.tokenizer.piece(BOS).to_string())
            .chain(pieces)
            .collect();
        let target_ids: Vec<usize> = std::iter::once(BOS).chain(ids).collect();
        let (s_len, t_len) = (source_ids.len(), target_ids.len());
        self.check_forward(s_len, t_len)?;
        let src = Array2::from_shape_vec((1, s_len), source_ids.clone()).expect("1×S");
        let tgt = Array2::from_shape_vec((1, t_len), target_ids.clone()).expect("1×T");
        let (logits, cache) = self.model.forward(src.view(), tgt.view(), None)?;
        let embeddings = EncoderDecoderWeights::new(&Scope::root(), cfg).embeddings;
        let embed = |ids: &Array2<usize>| -> Result<Array2<f32>> {
            Ok(embeddings
                .forward(&self.model.params, ids.view())?
                .index_axis_move(Axis(0), 0))
        };
        let logits = logits.index_axis_move(Axis(0), 0);
        let last = logits.slice(s![t_len - 1..t_len, ..]);
        let probs = softmax::forward(last).row(0).to_vec();
        let next = top_k(&probs, top)
            .into_iter()
            .map(|id| (self.tokenizer.piece(id).to_string(), id, probs[id]))
            .collect();
        Ok(Trace {
            source_embeddings: embed(&src)?,
            target_embeddings: embed(&tgt)?,
            source_tokens,
            source_ids,
            unknown,
            target_tokens,
            target_ids,
            cache,
            logits,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::tiny;

    #[test]
    fn a_trace_matches_greedy_decoding_and_its_shapes() {
        let mut s = tiny(3);
        s.train(30).unwrap();
        let g = s.generate("小明今天感冒了", 4).unwrap();
        let first = &g.steps[0].token;
        let t = s.trace("小明今天感冒了", first, 3).unwrap();
        assert_eq!(t.target_tokens, ["<bos>", first.as_str()]);
        assert_eq!(t.source_embeddings.dim(), (4, 8));
        assert_eq!(t.target_embeddings.dim(), (2, 8));
        assert_eq!(t.logits.dim(), (2, s.tokenizer.vocab_size()));
        assert_eq!(t.cache.memory.dim(), (1, 4, 8));
        assert_eq!((t.cache.encoder.len(), t.cache.decoder.len()), (1, 2));
        // The cross-attention row of the last position is the one greedy decoding recorded
        // while writing the second token (same prefix, same computation).
        let cross = t.cache.decoder[1]
            .cross_attention()
            .head(0, 1)
            .weights
            .row(1)
            .to_vec();
        assert_eq!(cross, g.steps[1].cross_attn[1][1]);
        assert_eq!(t.next.len(), 3);
        assert_eq!(t.next[0].1, g.steps[1].id);
        assert!(t.next[0].2 >= t.next[1].2);
        // An empty prefix is <bos> alone; a prefix as long as max_len is refused.
        assert_eq!(s.trace("小红饿了", "", 1).unwrap().target_ids.len(), 1);
        let e = s.trace("小红饿了", "多多多多多多多多", 1).unwrap_err();
        assert!(e.message.contains("at most 7"), "{e}");
    }
}
