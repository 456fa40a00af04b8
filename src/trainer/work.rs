//! How much work a training step is, and the bounds every session checks before it runs one:
//!
//! ```text
//! activations kept ≤ MAX_ACTIVATIONS floats,  flops ≤ crate::args::MAX_FLOPS per call
//! ```

use crate::error::{Error, Result};
use crate::models::decoder_only::DecoderOnlyConfig;

/// Most activation values one training step may keep (f32): 200 MB.
pub const MAX_ACTIVATIONS: usize = 50_000_000;

/// Most steps one [`super::Trainer::train`] call may run, whatever the model's size.
pub const MAX_STEPS_PER_CALL: usize = 10_000;

/// Floating-point operations of one training step (forward and backward, about three
/// forwards) of `config` on a batch of `b` sequences of `t` tokens:
///
/// ```text
/// forward per token ≈ 2 · (L · (4C² + 2CF) + VC)  (projections, FFN, output layer)
///                   + L · 4TC                      (scores and weighted sums)
/// step ≈ 3 · B · T · forward per token
/// ```
pub fn step_flops(config: &DecoderOnlyConfig, b: usize, t: usize) -> u128 {
    let (l, c, f, v) = (
        config.n_layers as u128,
        config.layer.d_model as u128,
        config.layer.d_ff as u128,
        config.vocab_size as u128,
    );
    let (b, t) = (b as u128, t as u128);
    let per_token = 2 * (l * (4 * c * c + 2 * c * f) + v * c) + l * 4 * t * c;
    3 * b * t * per_token
}

/// Refuses a batch of `b` × `t` tokens whose activations would exhaust a browser tab's memory
/// (they grow with B·T·(C, F, V) and with B·H·T² per layer) or whose step would take more than
/// [`crate::args::MAX_FLOPS`].
pub fn check_batch(config: &DecoderOnlyConfig, b: usize, t: usize) -> Result<()> {
    let (bb, tt) = (b as u128, t as u128);
    let per_layer = bb * tt * (12 * config.layer.d_model as u128 + 3 * config.layer.d_ff as u128)
        + 3 * bb * config.layer.n_heads as u128 * tt * tt;
    let floats =
        per_layer * config.n_layers.max(1) as u128 + 3 * bb * tt * config.vocab_size as u128;
    check_step(
        "trainer",
        &format!("a batch of {b} × {t} tokens"),
        floats,
        step_flops(config, b, t),
    )
}

/// Refuses a training step on `batch` (its description in messages) that would keep more than
/// [`MAX_ACTIVATIONS`] values or take more than [`crate::args::MAX_FLOPS`]; `who` names the
/// session. Every kind of session checks its batches with this.
pub fn check_step(who: &str, batch: &str, floats: u128, flops: u128) -> Result<()> {
    if floats > MAX_ACTIVATIONS as u128 {
        return Err(Error::config(format!(
            "{who}: {batch} would keep about {} MB of activations; the limit is {} MB (use a smaller batch, sequence or model)",
            floats * 4 / 1_000_000,
            MAX_ACTIVATIONS * 4 / 1_000_000
        )));
    }
    if flops > crate::args::MAX_FLOPS {
        return Err(Error::config(format!(
            "{who}: one step on {batch} would take about {flops} floating-point operations; the limit is {} (use a smaller batch, sequence or model)",
            crate::args::MAX_FLOPS
        )));
    }
    Ok(())
}

/// How many steps of `per_step` floating-point operations fit in one call: within
/// [`crate::args::MAX_FLOPS`], from 1 to [`MAX_STEPS_PER_CALL`].
pub fn steps_within(per_step: u128) -> usize {
    ((crate::args::MAX_FLOPS / per_step.max(1)) as usize).clamp(1, MAX_STEPS_PER_CALL)
}
