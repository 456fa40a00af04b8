//! The spec entries every live model class shares (`Model`, `Seq2Seq`, `MaskedLM`,
//! `CausalLM`), one name per concept: a layer's sizes (`dModel`, `nHeads`, `dFf`,
//! `activation`, `normFirst`), how a model trains (`seed`, `batchSize`, `optimizer`, `clip`),
//! how text is cut (`"word"` or `"char"`), the training pairs (`pairs`), and what the two
//! one-sequence classes share (`tokenizer`, `separator`, `nLayers`, `maxLen`). A class declares
//! its own entries beside these and reads all of them from one [`Obj`], so an unknown name is
//! refused with the whole list.

use super::convert::{self, core_err, JsResult, Obj};
use super::session::MAX_CORPUS_CHARS;
use crate::args::{ArgSpec, Kind, Values};
use crate::layers::{LayerConfig, MAX_WIDTH};
use crate::models::{MAX_LAYERS, MAX_LEN};
use crate::ops::Activation;
use crate::optim::OptimizerConfig;
use crate::recipes::joined_segmenter;
use crate::session::{JoinedTokenizer, SessionOptions};
use crate::tokenizer::Mode;
use wasm_bindgen::JsValue;

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

/// `shards`: how many parts each batch is cut into (for the classes that train in shards).
pub fn shards_arg() -> ArgSpec {
    ArgSpec::int("shards", 1, crate::shards::MAX_SHARDS as i64)
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
    /// Shards a batch is cut into (1: whole batches).
    pub shards: usize,
}

/// The settings of [`training_args`] (and `shards`, where [`shards_arg`] is accepted), each
/// missing one from `default`.
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
        shards: a.usize_or("shards", default.shards).map_err(e)?,
    })
}

/// How the text named `name` is cut (`"word"` unless it says `"char"`).
pub fn mode_from(a: &Values<f32>, name: &str) -> JsResult<Mode> {
    Ok(match a.text_or(name, "word").map_err(core_err)? {
        "char" => Mode::Char,
        _ => Mode::Word,
    })
}

/// `pairs`: TSV text (`source<TAB>target` a line) or an array of `[source, target]`; required
/// in a spec, optional when a model is read from a file.
pub fn pairs_arg(required: bool) -> ArgSpec {
    if required {
        ArgSpec::req("pairs", Kind::Pairs)
    } else {
        ArgSpec::opt("pairs", Kind::Pairs)
    }
}

/// The `pairs` field of `obj`, if given (at most [`MAX_CORPUS_CHARS`] characters).
pub fn pairs_from(func: &str, obj: &Obj) -> JsResult<Option<Vec<(String, String)>>> {
    obj.raw("pairs")
        .map(|v| convert::pairs(func, "pairs", v, MAX_CORPUS_CHARS))
        .transpose()
}

/// Pairs as the core takes them.
pub fn as_refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(s, t)| (s.as_str(), t.as_str()))
        .collect()
}

/// `seed`, `batchSize`, `optimizer`, `clip` of a session on pairs, with the core's defaults
/// (seed 1, AdamW 3e-3, 32 pairs a batch, clip 1, a constant learning rate).
pub fn options_from(func: &str, obj: &Obj, a: &Values<f32>) -> JsResult<SessionOptions> {
    let d = SessionOptions::default();
    let t = training_from(
        func,
        obj,
        a,
        Training {
            seed: d.seed,
            optimizer: d.optimizer,
            batch_size: d.batch_size,
            clip: d.clip,
            shards: d.shards,
        },
    )?;
    Ok(SessionOptions {
        seed: t.seed,
        optimizer: t.optimizer,
        batch_size: t.batch_size,
        clip: t.clip,
        shards: t.shards,
        ..d
    })
}

/// The spec of a one-sequence class (`MaskedLM`, `CausalLM`): `pairs` (required), `tokenizer`,
/// `separator`, `nLayers`, `maxLen`, the layer's sizes and how it trains; the class adds its
/// own entries (`extra`).
pub fn joined_args(extra: Vec<ArgSpec>) -> Vec<ArgSpec> {
    let mut specs = vec![
        pairs_arg(true),
        ArgSpec::choice("tokenizer", TOKENIZERS),
        ArgSpec::choice("separator", &[]),
        ArgSpec::int("nLayers", 0, MAX_LAYERS as i64),
        ArgSpec::int("maxLen", 2, MAX_LEN as i64),
    ];
    specs.extend(layer_args());
    specs.extend(training_args());
    specs.extend(extra);
    specs
}

/// A one-sequence class's spec, read: its tokenizer, pairs, sizes and training options, and
/// every value (for the class's own entries).
pub struct Joined {
    /// One vocabulary for the joined pairs, cut as `tokenizer` says (in words, Chinese by the
    /// joined lexicon: 感冒 whole, 喝 alone), joined by `separator` (default `"，"` for Chinese
    /// pairs, `","` otherwise).
    pub tokenizer: JoinedTokenizer,
    /// The training pairs.
    pub pairs: Vec<(String, String)>,
    /// Every layer's sizes.
    pub layer: LayerConfig,
    /// Layers.
    pub n_layers: usize,
    /// Longest sequence.
    pub max_len: usize,
    /// How it trains.
    pub options: SessionOptions,
    /// Every value of the spec.
    pub values: Values<f32>,
}

/// Reads the spec `v` of a one-sequence class against `specs` ([`joined_args`]); sizes not
/// given are `default`'s (`layer`, `n_layers`, `max_len`); `eos`: the vocabulary has `<eos>`.
pub fn joined_from(
    func: &str,
    v: &JsValue,
    specs: &[ArgSpec],
    default: (LayerConfig, usize, usize),
    eos: bool,
) -> JsResult<Joined> {
    let obj = Obj::read(func, v, specs)?;
    let a = obj.convert(specs, |_, _| Ok(()))?;
    let pairs = pairs_from(func, &obj)?.unwrap_or_default();
    let e = core_err;
    let refs = as_refs(&pairs);
    let separator = a
        .text_or("separator", JoinedTokenizer::default_separator(&refs))
        .map_err(e)?;
    let rules = joined_segmenter(mode_from(&a, "tokenizer")?);
    let tokenizer = JoinedTokenizer::from_pairs(&refs, rules, separator, eos)
        .map_err(|x| e(x.context(func)))?;
    Ok(Joined {
        tokenizer,
        layer: layer_from(&a, default.0)?,
        n_layers: a.usize_or("nLayers", default.1).map_err(e)?,
        max_len: a.usize_or("maxLen", default.2).map_err(e)?,
        options: options_from(func, &obj, &a)?,
        pairs,
        values: a,
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
