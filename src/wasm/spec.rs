//! The spec entries every live model class shares (`Model`, `Seq2Seq`, and the classes to
//! come), one name per concept: a layer's sizes (`dModel`, `nHeads`, `dFf`, `activation`,
//! `normFirst`), how a model trains (`seed`, `batchSize`, `optimizer`, `clip`) and how text is
//! cut (`"word"` or `"char"`). A class declares its own entries beside these and reads all of
//! them from one [`Obj`], so an unknown name is refused with the whole list.

use super::convert::{core_err, JsResult, Obj};
use crate::args::{ArgSpec, Kind, Values};
use crate::layers::{LayerConfig, MAX_WIDTH};
use crate::ops::Activation;
use crate::optim::OptimizerConfig;
use crate::tokenizer::Mode;

/// The words a tokenizer setting accepts.
pub const TOKENIZERS: &[&str] = &["word", "char"];

/// `dModel`, `nHeads`, `dFf`, `activation` (`"relu"`, `"gelu"` or `"gelu_tanh"`), `normFirst`.
pub fn layer_args() -> Vec<ArgSpec> {
    vec![
        ArgSpec::int("dModel", 1, MAX_WIDTH as i64),
        ArgSpec::int("nHeads", 1, 4096),
        ArgSpec::int("dFf", 1, 4 * MAX_WIDTH as i64),
        ArgSpec::choice("activation", Activation::NAMES),
        ArgSpec::flag("normFirst"),
    ]
}

/// A layer's sizes from [`layer_args`], each missing one from `default` (`dFf`: 4 · `dModel`).
pub fn layer_from(a: &Values<f32>, default: LayerConfig) -> JsResult<LayerConfig> {
    let e = core_err;
    // (the word was checked against Activation::NAMES; absent, it is the model's default)
    let activation = Activation::from_name(a.text_or("activation", "").map_err(e)?)
        .unwrap_or(default.activation);
    let d_model = a.usize_or("dModel", default.d_model).map_err(e)?;
    Ok(LayerConfig {
        d_model,
        n_heads: a.usize_or("nHeads", default.n_heads).map_err(e)?,
        d_ff: a.usize_or("dFf", 4 * d_model).map_err(e)?,
        activation,
        norm_first: a.flag_or("normFirst", default.norm_first).map_err(e)?,
        layer_norm_eps: default.layer_norm_eps,
    })
}

/// `seed`, `batchSize`, `optimizer`, `clip`.
pub fn training_args() -> Vec<ArgSpec> {
    vec![
        ArgSpec::opt(
            "seed",
            Kind::Int {
                lo: 0,
                hi: (1 << 53) - 1,
            },
        ),
        ArgSpec::int("batchSize", 1, 4096),
        ArgSpec::opt("optimizer", Kind::Object),
        ArgSpec::number("clip"),
    ]
}

/// How a model trains, besides its data.
#[derive(Debug, Clone, Copy)]
pub struct Training {
    /// Seed of the weights and of the batches.
    pub seed: u64,
    /// The optimiser and its learning rate.
    pub optimizer: OptimizerConfig,
    /// Sequences (or pairs) per batch.
    pub batch_size: usize,
    /// Clip the gradient's norm to this (`clip: 0` or less: no clipping).
    pub clip: Option<f64>,
}

/// The settings of [`training_args`], each missing one from `default`.
pub fn training_from(
    func: &str,
    obj: &Obj,
    a: &Values<f32>,
    default: Training,
) -> JsResult<Training> {
    let e = core_err;
    let optimizer = match obj.raw("optimizer") {
        Some(v) => optimizer_from(func, v)?,
        None => default.optimizer,
    };
    let clip = if a.has("clip") {
        Some(a.number_or("clip", 1.0).map_err(e)?).filter(|c| *c > 0.0)
    } else {
        default.clip
    };
    Ok(Training {
        seed: a.int_or("seed", default.seed as i64).map_err(e)? as u64,
        optimizer,
        batch_size: a.usize_or("batchSize", default.batch_size).map_err(e)?,
        clip,
    })
}

/// How the text named `name` is cut (`"word"` unless it says `"char"`).
pub fn mode_from(a: &Values<f32>, name: &str) -> JsResult<Mode> {
    Ok(match a.text_or(name, "word").map_err(core_err)? {
        "char" => Mode::Char,
        _ => Mode::Word,
    })
}

fn optimizer_args() -> Vec<ArgSpec> {
    vec![
        ArgSpec::choice("kind", &["sgd", "adam", "adamw"]),
        ArgSpec::number("lr"),
        ArgSpec::number("momentum"),
        ArgSpec::number("dampening"),
        ArgSpec::number("weightDecay"),
        ArgSpec::flag("nesterov"),
        ArgSpec::number("beta1"),
        ArgSpec::number("beta2"),
        ArgSpec::number("eps"),
    ]
}

/// `{kind: "sgd"|"adam"|"adamw", lr, momentum, dampening, weightDecay, nesterov, beta1, beta2,
/// eps}`, with PyTorch's defaults (AdamW at 3e-3 when `kind` is missing).
fn optimizer_from(func: &str, v: &wasm_bindgen::JsValue) -> JsResult<OptimizerConfig> {
    let f = format!("{func}: optimizer");
    let specs = optimizer_args();
    let a = Obj::read(&f, v, &specs)?.convert(&specs, |_, _| Ok(()))?;
    let e = |x: crate::Result<f64>| x.map_err(core_err);
    let kind = a.text_or("kind", "adamw").map_err(core_err)?;
    let lr = e(a.number_or("lr", 3e-3))?;
    let cfg = match kind {
        "sgd" => OptimizerConfig::Sgd {
            lr,
            momentum: e(a.number_or("momentum", 0.0))?,
            dampening: e(a.number_or("dampening", 0.0))?,
            weight_decay: e(a.number_or("weightDecay", 0.0))?,
            nesterov: a.flag_or("nesterov", false).map_err(core_err)?,
        },
        _ => {
            let (beta1, beta2, eps) = (
                e(a.number_or("beta1", 0.9))?,
                e(a.number_or("beta2", 0.999))?,
                e(a.number_or("eps", 1e-8))?,
            );
            if kind == "adam" {
                OptimizerConfig::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay: e(a.number_or("weightDecay", 0.0))?,
                }
            } else {
                OptimizerConfig::AdamW {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay: e(a.number_or("weightDecay", 0.01))?,
                }
            }
        }
    };
    cfg.validate().map_err(|e| core_err(e.context(func)))?;
    Ok(cfg)
}
