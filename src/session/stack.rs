//! What the two one-stack sessions share — the encoder-only [`crate::masked_lm::MaskedLm`] and
//! the decoder-only [`crate::causal_lm::CausalLm`], one stack of L layers over one sequence:
//! what a call costs, checked before it runs so that no call freezes the page, and one forward
//! pass laid open (what `trace` in the JS API returns).
//!
//! ```text
//! forward ≈ B·T·(2·L·(4C² + 2CF) + L·T·(4C + 5H) + 2VC)     projections, FFN, attention, lm_head
//!         + B·T·(L + 1)·PER_TOKEN_LAYER                       everything but the products
//! step    ≈ 3 · forward                                       (a backward ≈ two forwards)
//! greedy  = Σ forward(1, c + k)  for k = 0 … n − 1            (c pieces read first; no key/value cache)
//! ```
//!
//! A step keeps about L·(B·T·(12C + 3F) + 3·B·H·T²) + 3·B·T·V + B·T·C activations; both limits
//! are those of every session ([`crate::trainer::check_step`]).

use super::JoinedTokenizer;
use crate::args::MAX_FLOPS;
use crate::error::{Error, Result};
use crate::layers::encoder_layer::EncoderLayerCache;
use crate::layers::LayerConfig;
use crate::models::decoder_only::DecoderOnlyConfig;
use crate::models::encoder_only::EncoderOnlyConfig;
use crate::ops::softmax;
use crate::seq2seq::PER_TOKEN_LAYER;
use crate::trainer::{check_step, steps_within};
use ndarray::{Array2, Array3, ArrayView2, Axis};
use serde::Serialize;

/// The sizes the cost of a one-stack model depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stack {
    /// Every layer's sizes.
    pub layer: LayerConfig,
    /// Layers, L.
    pub n_layers: usize,
    /// Vocabulary, V (the width of the logits).
    pub vocab_size: usize,
}

impl From<&EncoderOnlyConfig> for Stack {
    fn from(c: &EncoderOnlyConfig) -> Self {
        Stack {
            layer: c.layer,
            n_layers: c.n_layers,
            vocab_size: c.vocab_size,
        }
    }
}

impl From<&DecoderOnlyConfig> for Stack {
    fn from(c: &DecoderOnlyConfig) -> Self {
        Stack {
            layer: c.layer,
            n_layers: c.n_layers,
            vocab_size: c.vocab_size,
        }
    }
}

impl Stack {
    /// `(C, F, H, V, L)` as `u128`, so that no product overflows.
    fn sizes(&self) -> (u128, u128, u128, u128, u128) {
        let u = |x: usize| x as u128;
        (
            u(self.layer.d_model),
            u(self.layer.d_ff),
            u(self.layer.n_heads),
            u(self.vocab_size),
            u(self.n_layers),
        )
    }

    /// Floating-point operations of one forward pass on `b` sequences of `t` pieces (see the
    /// module's header).
    pub fn forward_flops(&self, b: usize, t: usize) -> u128 {
        let (c, f, h, v, l) = self.sizes();
        let (b, t) = (b as u128, t as u128);
        let per_token = 2 * l * (4 * c * c + 2 * c * f) + l * t * (4 * c + 5 * h) + 2 * v * c;
        b * t * per_token + b * t * (l + 1) * PER_TOKEN_LAYER
    }

    /// Values a training step on `b` sequences of `t` pieces keeps for its backward pass
    /// (about).
    pub fn activations(&self, b: usize, t: usize) -> u128 {
        let (c, f, h, v, l) = self.sizes();
        let (b, t) = (b as u128, t as u128);
        l * (b * t * (12 * c + 3 * f) + 3 * b * h * t * t) + 3 * b * t * v + b * t * c
    }

    /// Refuses training sequences whose largest batch, `b` sequences of `t` pieces, would be
    /// too much for one step; `who` names the session.
    pub fn check_batch(&self, who: &str, b: usize, t: usize) -> Result<()> {
        check_step(
            who,
            &format!("a batch of {b} sequences of up to {t} tokens"),
            self.activations(b, t),
            3 * self.forward_flops(b, t),
        )
    }

    /// Most steps on batches of `b` sequences of `t` pieces one call may run (at least 1).
    pub fn steps_per_call(&self, b: usize, t: usize) -> usize {
        steps_within(3 * self.forward_flops(b, t))
    }

    /// Refuses one forward pass on `t` pieces that would be too much for one call.
    pub fn check_forward(&self, who: &str, t: usize) -> Result<()> {
        check_step(
            who,
            &format!("{t} tokens"),
            self.activations(1, t),
            self.forward_flops(1, t),
        )
    }

    /// Refuses writing up to `n` pieces after `c` read ones (one forward pass per piece) that
    /// would take more than [`MAX_FLOPS`], naming the most pieces that would fit.
    pub fn check_greedy(&self, who: &str, c: usize, n: usize) -> Result<()> {
        check_greedy(who, &format!("a prompt of {c}"), n, |k| {
            self.forward_flops(1, c + k - 1)
        })?;
        self.check_forward(who, c + n.max(1) - 1)
    }
}

/// Refuses a greedy decoding of up to `n` tokens whose passes, `cost(k)` floating-point
/// operations for the `k`-th token (k = 1 … n), would take more than [`MAX_FLOPS`] together;
/// the message says what they follow (`after`, "a source of 4") and how many tokens would fit.
pub(crate) fn check_greedy(
    who: &str,
    after: &str,
    n: usize,
    cost: impl Fn(usize) -> u128,
) -> Result<()> {
    let (mut total, mut fits) = (0u128, 0);
    for k in 1..=n {
        total += cost(k);
        if total <= MAX_FLOPS {
            fits = k;
        }
    }
    if total > MAX_FLOPS {
        return Err(Error::config(format!(
            "{who}: writing up to {n} tokens after {after} would take about {total} floating-point operations, more than the limit of {MAX_FLOPS} for one call; ask for at most {fits}"
        )));
    }
    Ok(())
}

/// One candidate piece at a position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Its id.
    pub id: usize,
    /// Its piece.
    pub token: String,
    /// Its probability, softmax of the position's logits over the whole vocabulary.
    pub prob: f32,
}

/// The most probable pieces at one position (at a `[MASK]`, or after the last piece).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The position among the tokens.
    pub position: usize,
    /// The most probable pieces, most probable first.
    pub candidates: Vec<Candidate>,
}

/// What a one-stack model's forward pass gives a trace: logits `[1, T, V]`, embeddings
/// `[1, T, C]` and every layer's cache.
pub(crate) type Pass = (Array3<f32>, Array3<f32>, Vec<EncoderLayerCache<f32>>);

/// One forward pass of a one-stack model on one sequence (batch of one), laid open.
#[derive(Debug, Clone)]
pub struct StackTrace {
    /// The pieces the model read.
    pub tokens: Vec<String>,
    /// Their ids (`<unk>` for a piece the model does not know).
    pub ids: Vec<usize>,
    /// The pieces read as `<unk>`.
    pub unknown: Vec<String>,
    /// Token + position embeddings `[T, C]`: the first layer's input.
    pub embeddings: Array2<f32>,
    /// Every layer's cache: its output, every head's Q, K, V, scores and weights.
    pub layers: Vec<EncoderLayerCache<f32>>,
    /// Logits `[T, V]`.
    pub logits: Array2<f32>,
    /// The most probable pieces at the positions asked for.
    pub predictions: Vec<Prediction>,
}

impl StackTrace {
    /// Runs `forward` — `who`'s model, of sizes `stack` — on `read`, its pieces and their ids
    /// (batch of one), once the work of the pass is checked, and lays the pass open with the
    /// `k` most probable pieces at each of `positions`.
    pub(crate) fn run(
        who: &str,
        stack: Stack,
        tokenizer: &JoinedTokenizer,
        read: (Vec<String>, Vec<usize>),
        positions: &[usize],
        k: usize,
        forward: impl FnOnce(ArrayView2<usize>) -> Result<Pass>,
    ) -> Result<StackTrace> {
        let (tokens, ids) = read;
        stack.check_forward(who, ids.len())?;
        let input = Array2::from_shape_vec((1, ids.len()), ids.clone()).expect("1×T");
        let (logits, embeddings, layers) = forward(input.view())?;
        let logits = logits.index_axis_move(Axis(0), 0);
        let predictions = positions
            .iter()
            .map(|&t| {
                let probs = softmax::forward(logits.slice(ndarray::s![t..t + 1, ..]));
                let row = probs.row(0);
                let row = row.as_slice().expect("contiguous");
                let candidates = super::top_k(row, k)
                    .into_iter()
                    .map(|id| Candidate {
                        id,
                        token: tokenizer.piece(id).to_string(),
                        prob: row[id],
                    })
                    .collect();
                Prediction {
                    position: t,
                    candidates,
                }
            })
            .collect();
        Ok(StackTrace {
            unknown: JoinedTokenizer::unknown(&tokens, &ids),
            tokens,
            ids,
            embeddings: embeddings.index_axis_move(Axis(0), 0),
            layers,
            logits,
            predictions,
        })
    }

    /// Every self-attention weight, `[layer][head][i][j]`: what token i looked at.
    pub fn attention(&self) -> Vec<Vec<Vec<Vec<f32>>>> {
        self.layers
            .iter()
            .map(|layer| {
                let a = layer.attention();
                (0..a.heads)
                    .map(|h| {
                        let w = &a.head(0, h).weights;
                        w.rows().into_iter().map(|r| r.to_vec()).collect()
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_grow_with_every_size_and_greedy_says_how_many_tokens_fit() {
        let s = Stack {
            layer: LayerConfig {
                d_model: 32,
                n_heads: 2,
                d_ff: 64,
                ..LayerConfig::default()
            },
            n_layers: 2,
            vocab_size: 100,
        };
        let base = s.forward_flops(2, 5);
        assert!(base > 0 && s.activations(2, 5) > 0);
        assert!(s.forward_flops(3, 5) > base && s.forward_flops(2, 6) > base);
        assert!(s.activations(2, 6) > s.activations(2, 5));
        let e = s.check_batch("masked LM", 4096, 4096).unwrap_err();
        assert!(
            e.message
                .contains("masked LM: a batch of 4096 sequences of up to 4096 tokens"),
            "{e}"
        );
        assert!(s.steps_per_call(1_000_000, 4096) == 1 && s.steps_per_call(1, 1) > 1);
        let e = s.check_greedy("causal LM", 4, 1_000_000).unwrap_err();
        assert!(e.message.contains("after a prompt of 4 would take"), "{e}");
        let fits: usize = e.message.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(fits > 10 && fits < 1_000_000, "{fits}");
        s.check_greedy("causal LM", 4, fits).unwrap();
    }
}
