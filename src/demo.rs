//! The attention panel's computation: a sentence through one multi-head self-attention layer
//! with random weights drawn from a seed.
//!
//! ```text
//! tokens   = tokenize(text)                                     T tokens (≤ MAX_TOKENS)
//! x[t]     = e(token_t) + PE(t)                                 [T, C]
//!   e(w)   = C samples of N(0, 1) from a generator seeded by hash(w) and the seed, so a
//!            word has the same vector in every sentence
//!   PE(t)  = sin(t / 10000^(2i/C)) at 2i, cos(t / 10000^(2i/C)) at 2i+1    (Vaswani et al.)
//! out, heads = MultiheadAttention(x, x, x, H heads, causal?)    [T, C]; per head Q, K, V [T, D],
//!                                                                scores and weights [T, T]
//! ```
//!
//! The weights (`in_proj_weight` [3C, C], `out_proj.weight` [C, C], zero biases) depend only on
//! the seed and the sizes, never on the text, so a shared link reproduces them exactly.

use crate::error::{Error, Result};
use crate::ops::attention::causal_mask;
use crate::ops::multi_head::{self, MhaCache, MhaParams};
use crate::rng::Rng;
use crate::tokenizer::{Mode, Tokenizer, ZH_LEXICON};
use ndarray::{Array1, Array2, Array3};

/// Most tokens the panel shows (a longer text is cut, and the page says so).
pub const MAX_TOKENS: usize = 24;
/// Longest text the panel takes (characters); only the first [`MAX_TOKENS`] tokens are shown.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Largest d_model the panel offers.
pub const MAX_D_MODEL: usize = 512;
/// Most heads the panel offers.
pub const MAX_HEADS: usize = 8;

/// Everything the attention panel draws.
#[derive(Debug, Clone)]
pub struct AttentionDemo {
    /// The tokens shown (after cutting to [`MAX_TOKENS`]).
    pub tokens: Vec<String>,
    /// True when the text had more than [`MAX_TOKENS`] tokens.
    pub truncated: bool,
    /// Token vectors before positions are added, `[T, C]`.
    pub token_vectors: Array2<f32>,
    /// Positional encodings, `[T, C]`.
    pub positions: Array2<f32>,
    /// The layer's input x = e + PE, `[T, C]`.
    pub embeddings: Array2<f32>,
    /// `[3C, C]`
    pub in_proj_weight: Array2<f32>,
    /// `[C, C]`
    pub out_proj_weight: Array2<f32>,
    /// Per-head Q, K, V, scores, weights and the concatenation.
    pub cache: MhaCache<f32>,
    /// The layer's output, `[T, C]`.
    pub output: Array2<f32>,
}

/// FNV-1a, 64-bit: a stable hash of a token's text.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The sinusoidal positional encoding `[T, C]`.
pub fn positional_encoding(t: usize, c: usize) -> Array2<f32> {
    Array2::from_shape_fn((t, c), |(pos, j)| {
        let i = (j / 2) as f64;
        let angle = pos as f64 / 10000f64.powf(2.0 * i / c as f64);
        (if j % 2 == 0 { angle.sin() } else { angle.cos() }) as f32
    })
}

/// A token's vector: the same for the same (token, seed, C) everywhere.
pub fn token_vector(token: &str, seed: u64, c: usize) -> Array1<f32> {
    let mut rng = Rng::new(fnv1a(token) ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    Array1::from_shape_fn(c, |_| rng.normal() as f32)
}

/// Runs the panel's computation. Sizes outside the panel's ranges are errors (the page clamps
/// them first and says so).
pub fn attention_demo(
    text: &str,
    d_model: usize,
    heads: usize,
    seed: u64,
    causal: bool,
) -> Result<AttentionDemo> {
    if !(1..=MAX_HEADS).contains(&heads) {
        return Err(Error::config(format!(
            "heads {heads} must be from 1 to {MAX_HEADS}"
        )));
    }
    if d_model == 0 || d_model > MAX_D_MODEL || !d_model.is_multiple_of(heads) {
        return Err(Error::config(format!(
            "d_model {d_model} must be from 1 to {MAX_D_MODEL} and divisible by {heads} heads"
        )));
    }
    let tok = Tokenizer::from_vocab(&[], Mode::Word, ZH_LEXICON);
    let mut tokens = tok.segment(text);
    if tokens.is_empty() {
        return Err(Error::value("the text has no tokens; type a sentence"));
    }
    let truncated = tokens.len() > MAX_TOKENS;
    tokens.truncate(MAX_TOKENS);
    let t = tokens.len();
    let c = d_model;
    let mut token_vectors = Array2::zeros((t, c));
    for (i, w) in tokens.iter().enumerate() {
        token_vectors.row_mut(i).assign(&token_vector(w, seed, c));
    }
    let positions = positional_encoding(t, c);
    let embeddings = &token_vectors + &positions;
    // Weights from the seed alone: Xavier-uniform in_proj, U(±1/√C) out_proj (PyTorch's defaults).
    let mut rng = Rng::new(seed);
    let a = (6.0 / (4 * c) as f64).sqrt();
    let in_proj_weight = Array2::from_shape_fn((3 * c, c), |_| rng.uniform_in(-a, a) as f32);
    let b = 1.0 / (c as f64).sqrt();
    let out_proj_weight = Array2::from_shape_fn((c, c), |_| rng.uniform_in(-b, b) as f32);
    let in_b = Array1::zeros(3 * c);
    let out_b = Array1::zeros(c);
    let p = MhaParams {
        in_proj_weight: in_proj_weight.view(),
        in_proj_bias: in_b.view(),
        out_proj_weight: out_proj_weight.view(),
        out_proj_bias: out_b.view(),
    };
    let x3: Array3<f32> = embeddings
        .clone()
        .into_shape_with_order((1, t, c))
        .expect("rows");
    let mask = causal.then(|| causal_mask(t));
    let (out, cache) = multi_head::forward(
        x3.view(),
        x3.view(),
        x3.view(),
        &p,
        heads,
        mask.as_ref().map(|m| m.view()),
        None,
        None,
    )?;
    let output = out.into_shape_with_order((t, c)).expect("rows");
    Ok(AttentionDemo {
        tokens,
        truncated,
        token_vectors,
        positions,
        embeddings,
        in_proj_weight,
        out_proj_weight,
        cache,
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panel_numbers_hold_together() {
        let d = attention_demo("今天天气真好", 16, 4, 7, false).unwrap();
        assert_eq!(d.tokens, vec!["今天", "天气", "真", "好"]);
        // Same seed → same weights whatever the text; a word keeps its vector across sentences.
        let e = attention_demo("天气 真 冷", 16, 4, 7, true).unwrap();
        assert_eq!(d.in_proj_weight, e.in_proj_weight);
        assert_eq!(d.token_vectors.row(1), e.token_vectors.row(0));
        // Every row of every head's weights sums to 1; the causal mask zeroes the upper triangle.
        for h in 0..4 {
            for row in d.cache.head(0, h).weights.rows() {
                assert!((row.sum() - 1.0).abs() < 1e-5);
            }
            let w = &e.cache.head(0, h).weights;
            for i in 0..w.nrows() {
                for j in i + 1..w.ncols() {
                    assert_eq!(w[[i, j]], 0.0);
                }
            }
        }
        // The output row of token i is the out-projection of the concatenated Σ_j w_ij V_j.
        let h0 = d.cache.head(0, 0);
        let manual: Vec<f32> = (0..4)
            .map(|col| (0..4).map(|j| h0.weights[[1, j]] * h0.v[[j, col]]).sum())
            .collect();
        for (col, m) in manual.iter().enumerate() {
            assert!((d.cache.concat[[1, col]] - m).abs() < 1e-5);
        }
        // PE(0) = [sin 0, cos 0, …] = [0, 1, 0, 1, …]
        assert_eq!(
            d.positions
                .row(0)
                .iter()
                .take(4)
                .copied()
                .collect::<Vec<_>>(),
            vec![0.0, 1.0, 0.0, 1.0]
        );
        assert!(attention_demo("   ", 16, 4, 7, false).is_err());
        assert!(attention_demo("a", 12, 8, 7, false)
            .unwrap_err()
            .message
            .contains("divisible"));
        let long = attention_demo(&"a ".repeat(40), 8, 2, 1, false).unwrap();
        assert!(long.truncated && long.tokens.len() == MAX_TOKENS);
    }
}
