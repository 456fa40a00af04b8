//! What a call costs, checked before it runs so that no call freezes the page: a training
//! step, one forward pass (a trace) and a greedy decoding (one forward pass per token written).
//!
//! ```text
//! forward ≈ B·S·(2·L_enc·(4C² + 2CF) + L_enc·S·(4C + 5H))                      encoder
//!         + B·T·(2·L_dec·(6C² + 2CF) + L_dec·(T + S)·(4C + 5H) + 2VC)          decoder
//!         + B·S·L_dec·4C²                                   keys and values of the memory
//!         + B·(S + T)·(L_enc + L_dec + 1)·PER_TOKEN_LAYER   everything but the products
//! step    ≈ 3 · forward                                     (a backward ≈ two forwards)
//! greedy  = Σ forward(1, S, k)  for k = 1 … n               (no key/value cache)
//! ```
//!
//! The activations a step keeps grow with B·S·(C, F), B·T·(C, F, V), B·H·S² and B·H·T·(T + S);
//! both limits are the decoder-only trainer's ([`crate::trainer::check_step`]).

use super::Seq2Seq;
use crate::error::Result;
use crate::models::encoder_decoder::EncoderDecoderConfig;
use crate::session::stack::check_greedy;
use crate::trainer::{check_step, steps_within};

/// What each token costs in each layer besides the matrix products (layer norms, softmax
/// rows, residual sums, allocations), in floating-point operations of the same wall time.
/// Measured in wasm (Node 20): a step of a d_model 8 model spends about 2.5 µs per token and
/// layer, nearly all of it here, where [`crate::args::MAX_FLOPS`] is about half a second; without this term
/// a tiny model's `train(maxStepsPerCall)` ran for 8 s instead of under one.
pub const PER_TOKEN_LAYER: u128 = 16_000;

/// The sizes a cost depends on, as `u128` so that no product overflows.
struct Sizes {
    c: u128,
    f: u128,
    h: u128,
    v: u128,
    le: u128,
    ld: u128,
    b: u128,
    s: u128,
    t: u128,
}

impl Sizes {
    fn of(cfg: &EncoderDecoderConfig, b: usize, s: usize, t: usize) -> Sizes {
        let u = |x: usize| x as u128;
        Sizes {
            c: u(cfg.layer.d_model),
            f: u(cfg.layer.d_ff),
            h: u(cfg.layer.n_heads),
            v: u(cfg.vocab_size),
            le: u(cfg.n_encoder_layers),
            ld: u(cfg.n_decoder_layers),
            b: u(b),
            s: u(s),
            t: u(t),
        }
    }
}

/// Floating-point operations of one forward pass on `b` pairs of `s` source and `t` target
/// tokens (see the module's header).
pub fn forward_flops(cfg: &EncoderDecoderConfig, b: usize, s: usize, t: usize) -> u128 {
    let Sizes {
        c,
        f,
        h,
        v,
        le,
        ld,
        b,
        s,
        t,
    } = Sizes::of(cfg, b, s, t);
    let attend = |n: u128| n * (4 * c + 5 * h);
    let encoder = b * s * (2 * le * (4 * c * c + 2 * c * f) + le * attend(s));
    let decoder = b * t * (2 * ld * (6 * c * c + 2 * c * f) + ld * attend(t + s) + 2 * v * c);
    let overhead = b * (s + t) * (le + ld + 1) * PER_TOKEN_LAYER;
    encoder + decoder + b * s * ld * 4 * c * c + overhead
}

/// Values a training step on `b` pairs of `s` source and `t` target tokens keeps for its
/// backward pass (about).
pub fn activations(cfg: &EncoderDecoderConfig, b: usize, s: usize, t: usize) -> u128 {
    let Sizes {
        c,
        f,
        h,
        v,
        le,
        ld,
        b,
        s,
        t,
    } = Sizes::of(cfg, b, s, t);
    let encoder = le * (b * s * (12 * c + 3 * f) + 3 * b * h * s * s);
    let decoder = ld * (b * t * (20 * c + 3 * f) + 3 * b * h * t * (t + s) + 2 * b * s * c);
    encoder + decoder + 3 * b * t * v + b * s * c
}

/// The longest source and the longest decoder input (answer + `<bos>`) of pairs as ids: the
/// largest batch a step can draw is `batch_size` of those.
fn longest(pairs: &[(Vec<usize>, Vec<usize>)]) -> (usize, usize) {
    pairs
        .iter()
        .fold((0, 0), |(s, t), p| (s.max(p.0.len()), t.max(p.1.len() + 1)))
}

/// Refuses training pairs (as ids) whose largest batch of `b` would be too much for one step.
pub(super) fn check_batches(
    cfg: &EncoderDecoderConfig,
    b: usize,
    pairs: &[(Vec<usize>, Vec<usize>)],
) -> Result<()> {
    let (s, t) = longest(pairs);
    check_step(
        "seq2seq",
        &format!("a batch of {b} pairs of up to {s} source and {t} target tokens"),
        activations(cfg, b, s, t),
        3 * forward_flops(cfg, b, s, t),
    )
}

impl Seq2Seq {
    /// Most steps one call of the JS API's `train` runs on these pairs (at least 1).
    pub fn max_steps_per_call(&self) -> usize {
        let (s, t) = longest(&self.pairs);
        steps_within(3 * forward_flops(&self.model.config, self.options.batch_size, s, t))
    }

    /// Refuses one forward pass on `s` source and `t` target tokens that would be too much.
    pub(super) fn check_forward(&self, s: usize, t: usize) -> Result<()> {
        let cfg = &self.model.config;
        check_step(
            "seq2seq",
            &format!("{s} source and {t} target tokens"),
            activations(cfg, 1, s, t),
            forward_flops(cfg, 1, s, t),
        )
    }

    /// Refuses a greedy decoding of up to `n` tokens after a source of `s` tokens that would
    /// take more than [`crate::args::MAX_FLOPS`], naming the most tokens that would fit.
    pub(super) fn check_greedy(&self, s: usize, n: usize) -> Result<()> {
        let cfg = &self.model.config;
        check_greedy("seq2seq", &format!("a source of {s}"), n, |k| {
            forward_flops(cfg, 1, s, k)
        })?;
        self.check_forward(s, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::LayerConfig;

    #[test]
    fn costs_grow_with_every_size_and_a_huge_batch_is_refused() {
        let cfg = EncoderDecoderConfig {
            vocab_size: 100,
            layer: LayerConfig {
                d_model: 32,
                n_heads: 2,
                d_ff: 64,
                ..LayerConfig::default()
            },
            n_encoder_layers: 2,
            n_decoder_layers: 2,
            max_len: 4096,
        };
        let base = forward_flops(&cfg, 2, 5, 6);
        assert!(base > 0);
        for (b, s, t) in [(3, 5, 6), (2, 6, 6), (2, 5, 7)] {
            assert!(forward_flops(&cfg, b, s, t) > base);
            assert!(activations(&cfg, b, s, t) > activations(&cfg, 2, 5, 6));
        }
        // 4096 pairs of 4096 tokens: far beyond one call
        let e = check_step(
            "seq2seq",
            "x",
            activations(&cfg, 4096, 4096, 4096),
            3 * forward_flops(&cfg, 4096, 4096, 4096),
        )
        .unwrap_err();
        assert!(e.message.contains("MB of activations"), "{e}");
    }
}
