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

use crate::error::{Code, Error, Result};
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
        return Err(
            Error::value("the text has no tokens; type a sentence").with_code(Code::TextNoTokens)
        );
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
    run(
        tokens,
        truncated,
        token_vectors,
        positions,
        embeddings,
        in_proj_weight,
        out_proj_weight,
        heads,
        causal,
    )
}

/// The tokens of the article's example, in order.
pub const ARTICLE_TOKENS: [&str; 3] = ["你", "是", "谁"];
/// d_model of the article's example.
pub const ARTICLE_D_MODEL: usize = 4;

/// The hand-set vectors of 你, 是 and 谁, `[3, 4]`, chosen so that with Q = K = V = x (identity
/// projections, one head, d_k = 4, √d_k = 2) the weights of 你 over 你, 是, 谁 are exactly the
/// article's [0.1, 0.7, 0.2]:
///
/// ```text
/// x(你) = (2,        1, 0, 0)    q(你)·k(你) / 2 = (2·2 + 1·1) / 2     = 2.5
/// x(是) = (2.5 + ln 7, 0, 1, 0)  q(你)·k(是) / 2 = 2·(2.5 + ln 7) / 2 = 2.5 + ln 7
/// x(谁) = (2.5 + ln 2, 0, 0, 1)  q(你)·k(谁) / 2 = 2·(2.5 + ln 2) / 2 = 2.5 + ln 2
/// softmax = e^2.5 · (1, 7, 2) / (e^2.5 · 10) = (0.1, 0.7, 0.2)
/// ```
///
/// The last three numbers mark each word, so 你's output, 0.1·x(你) + 0.7·x(是) + 0.2·x(谁),
/// carries its three weights in plain sight: (…, 0.1, 0.7, 0.2).
pub fn article_vectors() -> Array2<f32> {
    let (l7, l2) = (7f64.ln(), 2f64.ln());
    let rows: [[f64; 4]; 3] = [
        [2.0, 1.0, 0.0, 0.0],
        [2.5 + l7, 0.0, 1.0, 0.0],
        [2.5 + l2, 0.0, 0.0, 1.0],
    ];
    Array2::from_shape_fn((3, ARTICLE_D_MODEL), |(i, j)| rows[i][j] as f32)
}

/// The seed article's example, 你是谁, with everything set by hand to reproduce its numbers:
/// the vectors of [`article_vectors`] (no positional encoding), d_model 4, one head, and
/// identity matrices for W_Q, W_K, W_V and the output projection. The engine computes the rest
/// as for any sentence. `text` must be the three tokens 你, 是, 谁.
pub fn article_demo(text: &str, causal: bool) -> Result<AttentionDemo> {
    let tok = Tokenizer::from_vocab(&[], Mode::Word, ZH_LEXICON);
    let tokens = tok.segment(text);
    if tokens != ARTICLE_TOKENS {
        return Err(Error::value(format!(
            "the article's example is 你是谁 (the tokens 你, 是, 谁), its vectors set by hand; got {} token(s): {}",
            tokens.len(),
            tokens.join(" ")
        )));
    }
    let c = ARTICLE_D_MODEL;
    let token_vectors = article_vectors();
    let positions = Array2::zeros((3, c));
    let embeddings = token_vectors.clone();
    let eye = Array2::<f32>::eye(c);
    let in_proj_weight =
        ndarray::concatenate(ndarray::Axis(0), &[eye.view(), eye.view(), eye.view()])
            .expect("same widths");
    run(
        tokens,
        false,
        token_vectors,
        positions,
        embeddings,
        in_proj_weight,
        eye,
        1,
        causal,
    )
}

/// One multi-head self-attention layer (zero biases) over `embeddings`.
#[allow(clippy::too_many_arguments)]
fn run(
    tokens: Vec<String>,
    truncated: bool,
    token_vectors: Array2<f32>,
    positions: Array2<f32>,
    embeddings: Array2<f32>,
    in_proj_weight: Array2<f32>,
    out_proj_weight: Array2<f32>,
    heads: usize,
    causal: bool,
) -> Result<AttentionDemo> {
    let (t, c) = embeddings.dim();
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

    #[test]
    fn the_article_example_gives_exactly_its_weights() {
        // By hand (see article_vectors): with Q = K = V = x and √d_k = √4 = 2, the scores of 你
        // are x(你)·x(j) / 2 = (2.5, 2.5 + ln 7, 2.5 + ln 2); softmax divides e^2.5·(1, 7, 2) by
        // their sum e^2.5·10, so the weights are (0.1, 0.7, 0.2).
        let d = article_demo("你是谁", false).unwrap();
        assert_eq!(d.tokens, ARTICLE_TOKENS);
        let h = d.cache.head(0, 0);
        let (l7, l2) = (7f32.ln(), 2f32.ln());
        for (j, want) in [2.5, 2.5 + l7, 2.5 + l2].iter().enumerate() {
            assert!((h.scores[[0, j]] - want).abs() < 1e-6, "score {j}");
        }
        for (j, want) in [0.1f32, 0.7, 0.2].iter().enumerate() {
            assert!(
                (h.weights[[0, j]] - want).abs() < 1e-6,
                "weight {j}: {}",
                h.weights[[0, j]]
            );
        }
        // Identity projections: Q = K = V = x, and the output is the weighted sum itself,
        // 0.1·x(你) + 0.7·x(是) + 0.2·x(谁) = (0.2 + 0.7(2.5 + ln 7) + 0.2(2.5 + ln 2), 0.1, 0.7, 0.2).
        assert_eq!(h.v, d.embeddings);
        assert_eq!(d.positions, Array2::<f32>::zeros((3, 4)));
        let first = 0.2 + 0.7 * (2.5 + l7) + 0.2 * (2.5 + l2);
        for (j, want) in [first, 0.1, 0.7, 0.2].iter().enumerate() {
            assert!((d.output[[0, j]] - want).abs() < 1e-5, "output {j}");
            assert!((d.cache.concat[[0, j]] - want).abs() < 1e-5, "concat {j}");
        }
        // Only 你是谁 has hand-set vectors.
        assert!(article_demo("你是谁呀", false).is_err());
        assert!(article_demo("谁是你", false).is_err());
        // The causal mask still applies: 你 can only look at itself.
        let m = article_demo("你 是 谁", true).unwrap();
        assert_eq!(m.cache.head(0, 0).weights[[0, 0]], 1.0);
    }
}
