//! Transformer layers built from the ops, as `nn.TransformerEncoderLayer` and
//! `nn.TransformerDecoderLayer` with dropout 0 and `batch_first=True`.
//!
//! Every layer is a stack of residual sublayers. Each sublayer `S` (self-attention,
//! cross-attention or the feed-forward block) is wrapped with a LayerNorm in one of two ways:
//!
//! ```text
//! post-norm (norm_first = false, the original Transformer):   y = LN(x + S(x))
//! pre-norm  (norm_first = true,  GPT-2 and most LLMs):        y = x + S(LN(x))
//! ```
//!
//! Pre-norm keeps a clean residual path from input to output, which makes deep stacks easier
//! to train; post-norm is what the 2017 paper (and the seed article) describes.
//!
//! Each layer declares its weights once, in its `new`, through a [`Scope`] (`"layers.0."`) with
//! the PyTorch sub-names (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.bias`, …); the
//! handles it gets back read the weights from a [`ParamStore`] and name their gradients, so
//! forward and backward never spell a name.

pub mod decoder_layer;
pub mod encoder_layer;

use crate::error::{Error, Result};
use crate::ops::feed_forward::{self, FfnCache, FfnGrads, FfnParams};
use crate::ops::layer_norm::{self, LayerNormCache};
use crate::ops::multi_head::{self, MhaCache, MhaGrads, MhaParams};
use crate::ops::{linear, Activation};
use crate::params::{NamedGrads, ParamStore};
use crate::real::Real;
use crate::scope::{Init, Scope, Var1, Var2};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Deserializer, Serialize};

/// Largest `d_model` a layer accepts (GPT-3 uses 12288); `d_ff` may be up to 4× this.
pub const MAX_WIDTH: usize = 16_384;

/// Sizes and options shared by encoder and decoder layers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerConfig {
    /// Width of every token vector, C. The seed article's example uses 512.
    pub d_model: usize,
    /// Number of attention heads, H; must divide `d_model` (8 heads × 64 = 512).
    pub n_heads: usize,
    /// Width of the feed-forward block, F (usually 4 · d_model).
    pub d_ff: usize,
    /// Feed-forward activation.
    pub activation: Activation,
    /// Pre-norm (`true`) or post-norm (`false`).
    pub norm_first: bool,
    /// LayerNorm epsilon (1e-5 as in PyTorch).
    pub layer_norm_eps: f64,
}

impl Default for LayerConfig {
    fn default() -> Self {
        LayerConfig {
            d_model: 64,
            n_heads: 4,
            d_ff: 256,
            activation: Activation::Gelu,
            norm_first: true,
            layer_norm_eps: layer_norm::EPS,
        }
    }
}

impl LayerConfig {
    /// Checks the invariants: sizes positive, `d_model % n_heads == 0`, eps positive and finite.
    pub fn validate(&self) -> Result<()> {
        if self.d_model == 0 || self.n_heads == 0 || self.d_ff == 0 {
            return Err(Error::config(format!(
                "d_model ({}), n_heads ({}) and d_ff ({}) must all be at least 1",
                self.d_model, self.n_heads, self.d_ff
            )));
        }
        if self.d_model > MAX_WIDTH || self.d_ff > 4 * MAX_WIDTH {
            return Err(Error::config(format!(
                "d_model {} must be at most {MAX_WIDTH} and d_ff {} at most {}",
                self.d_model,
                self.d_ff,
                4 * MAX_WIDTH
            )));
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(Error::config(format!(
                "d_model {} is not divisible by n_heads {}",
                self.d_model, self.n_heads
            )));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return Err(Error::config(format!(
                "layer_norm_eps {} must be a positive number",
                self.layer_norm_eps
            )));
        }
        Ok(())
    }
}

/// Reads a [`LayerConfig`] flattened into a model's configuration, taking every field the input
/// lacks from `default`: the model's own default, as `#[serde(default)]` did when the model
/// spelled the fields out (a missing `activation` is ReLU for the encoder–decoder, GELU for the
/// others). Other keys are the model's and are ignored here.
pub(crate) fn deserialize_layer<'de, D: Deserializer<'de>>(
    d: D,
    default: LayerConfig,
) -> std::result::Result<LayerConfig, D::Error> {
    use serde::de::Error as _;
    use serde_json::{Map, Value};
    let given = Map::<String, Value>::deserialize(d)?;
    let Ok(Value::Object(mut fields)) = serde_json::to_value(default) else {
        unreachable!("a LayerConfig serialises to an object")
    };
    for (key, value) in given {
        if let Some(field) = fields.get_mut(&key) {
            *field = value;
        }
    }
    LayerConfig::deserialize(Value::Object(fields)).map_err(D::Error::custom)
}

// ---------------------------------------------------------------------------------------------
// The parameters of the blocks, each declared once (see [`crate::scope`])

/// `nn.MultiheadAttention`'s four tensors under its scope (`self_attn`, `multihead_attn`).
#[derive(Debug, Clone)]
pub struct MhaWeights {
    /// `in_proj_weight` `[3C, C]`: W_q, W_k, W_v stacked, Xavier-uniform.
    pub in_proj_weight: Var2,
    /// `in_proj_bias` `[3C]`, zeros.
    pub in_proj_bias: Var1,
    /// `out_proj.weight` `[C, C]`, as `nn.Linear`.
    pub out_proj_weight: Var2,
    /// `out_proj.bias` `[C]`, zeros.
    pub out_proj_bias: Var1,
}

impl MhaWeights {
    /// Declares the tensors of attention over width `c` under `s`.
    pub fn new(s: &Scope, c: usize) -> Self {
        let out = s.sub("out_proj");
        MhaWeights {
            in_proj_weight: s.var2("in_proj_weight", [3 * c, c], Init::XavierUniform),
            in_proj_bias: s.var1("in_proj_bias", 3 * c, Init::Zeros),
            out_proj_weight: out.var2("weight", [c, c], Init::Uniform { fan_in: c }),
            out_proj_bias: out.var1("bias", c, Init::Zeros),
        }
    }

    /// The four views from `store`, shapes checked.
    pub fn load<'a, F: Real>(&self, store: &'a ParamStore<F>) -> Result<MhaParams<'a, F>> {
        Ok(MhaParams {
            in_proj_weight: self.in_proj_weight.get(store)?,
            in_proj_bias: self.in_proj_bias.get(store)?,
            out_proj_weight: self.out_proj_weight.get(store)?,
            out_proj_bias: self.out_proj_bias.get(store)?,
        })
    }

    /// Pushes the four parameter gradients of `g` under their names, in declaration order.
    pub fn push_grads<F: Real>(&self, grads: &mut NamedGrads<F>, g: MhaGrads<F>) {
        grads.push(self.in_proj_weight.grad(g.in_proj_weight));
        grads.push(self.in_proj_bias.grad(g.in_proj_bias));
        grads.push(self.out_proj_weight.grad(g.out_proj_weight));
        grads.push(self.out_proj_bias.grad(g.out_proj_bias));
    }
}

/// The feed-forward block's tensors, `linear1.{weight,bias}` and `linear2.{weight,bias}`,
/// directly under the layer's scope (as in `nn.TransformerEncoderLayer`).
#[derive(Debug, Clone)]
pub struct FfnWeights {
    /// `linear1.weight` `[F, C]`
    pub w1: Var2,
    /// `linear1.bias` `[F]`
    pub b1: Var1,
    /// `linear2.weight` `[C, F]`
    pub w2: Var2,
    /// `linear2.bias` `[C]`
    pub b2: Var1,
}

impl FfnWeights {
    /// Declares the block `C → F → C` under `s`, each linear initialised as `nn.Linear`.
    pub fn new(s: &Scope, c: usize, f: usize) -> Self {
        let (l1, l2) = (s.sub("linear1"), s.sub("linear2"));
        FfnWeights {
            w1: l1.var2("weight", [f, c], Init::Uniform { fan_in: c }),
            b1: l1.var1("bias", f, Init::Uniform { fan_in: c }),
            w2: l2.var2("weight", [c, f], Init::Uniform { fan_in: f }),
            b2: l2.var1("bias", c, Init::Uniform { fan_in: f }),
        }
    }

    /// The four views from `store`, shapes checked.
    pub fn load<'a, F: Real>(&self, store: &'a ParamStore<F>) -> Result<FfnParams<'a, F>> {
        Ok(FfnParams {
            w1: self.w1.get(store)?,
            b1: self.b1.get(store)?,
            w2: self.w2.get(store)?,
            b2: self.b2.get(store)?,
        })
    }

    /// Pushes the four parameter gradients of `g` under their names, in declaration order.
    pub fn push_grads<F: Real>(&self, grads: &mut NamedGrads<F>, g: FfnGrads<F>) {
        grads.push(self.w1.grad(g.dw1));
        grads.push(self.b1.grad(g.db1));
        grads.push(self.w2.grad(g.dw2));
        grads.push(self.b2.grad(g.db2));
    }
}

/// A LayerNorm's γ (`weight`, ones) and β (`bias`, zeros), `[C]` each.
#[derive(Debug, Clone)]
pub struct NormWeights {
    /// The norm's full name (`"layers.0.norm1"`), as the page shows it.
    pub name: String,
    /// γ `[C]`
    pub weight: Var1,
    /// β `[C]`
    pub bias: Var1,
}

impl NormWeights {
    /// Declares a LayerNorm over width `c` under `s`.
    pub fn new(s: &Scope, c: usize) -> Self {
        NormWeights {
            name: s.path().to_string(),
            weight: s.var1("weight", c, Init::Ones),
            bias: s.var1("bias", c, Init::Zeros),
        }
    }

    /// `y = LN(x)` on rows `[N, C]`.
    pub fn forward<F: Real>(
        &self,
        store: &ParamStore<F>,
        x: ArrayView2<F>,
        eps: f64,
    ) -> Result<(Array2<F>, LayerNormCache<F>)> {
        layer_norm::forward(x, self.weight.get(store)?, self.bias.get(store)?, eps)
    }

    /// Backward of [`NormWeights::forward`]: pushes ∂γ and ∂β, returns ∂x.
    pub fn backward<F: Real>(
        &self,
        store: &ParamStore<F>,
        dy: ArrayView2<F>,
        cache: &LayerNormCache<F>,
        grads: &mut NamedGrads<F>,
    ) -> Result<Array2<F>> {
        let g = layer_norm::backward(dy, cache, self.weight.get(store)?)?;
        grads.push(self.weight.grad(g.dgamma));
        grads.push(self.bias.grad(g.dbeta));
        Ok(g.dx)
    }
}

/// An `nn.Linear(in, out, bias)`: `weight` `[out, in]` and maybe `bias` `[out]`, both U(±1/√in).
#[derive(Debug, Clone)]
pub struct LinearWeights {
    /// `weight` `[Out, In]`
    pub weight: Var2,
    /// `bias` `[Out]`, if the layer has one.
    pub bias: Option<Var1>,
}

impl LinearWeights {
    /// Declares a linear map `d_in → d_out` under `s`.
    pub fn new(s: &Scope, d_in: usize, d_out: usize, bias: bool) -> Self {
        let init = Init::Uniform { fan_in: d_in };
        LinearWeights {
            weight: s.var2("weight", [d_out, d_in], init),
            bias: bias.then(|| s.var1("bias", d_out, init)),
        }
    }

    /// `y = x Wᵀ (+ b)` on rows `[N, In]`, without a cache (backward needs only `x`).
    pub fn forward<F: Real>(&self, store: &ParamStore<F>, x: ArrayView2<F>) -> Result<Array2<F>> {
        let b = self.bias.as_ref().map(|b| b.get(store)).transpose()?;
        linear::apply(x, self.weight.get(store)?, b)
    }

    /// Backward of [`LinearWeights::forward`] given its input `x`: pushes ∂W (and ∂b),
    /// returns ∂x.
    pub fn backward<F: Real>(
        &self,
        store: &ParamStore<F>,
        dy: ArrayView2<F>,
        x: ArrayView2<F>,
        grads: &mut NamedGrads<F>,
    ) -> Result<Array2<F>> {
        let g = linear::backward_from_input(dy, x, self.weight.get(store)?, self.bias.is_some())?;
        grads.push(self.weight.grad(g.dw));
        if let (Some(b), Some(db)) = (&self.bias, g.db) {
            grads.push(b.grad(db));
        }
        Ok(g.dx)
    }
}

/// What a sublayer computed: attention (with every head's Q, K, V, scores, weights) or FFN.
#[derive(Debug, Clone)]
pub enum SubCache<F> {
    /// Self- or cross-attention.
    Attention(MhaCache<F>),
    /// The feed-forward block.
    FeedForward(FfnCache<F>),
}

/// One residual sublayer: its LayerNorm, its inner cache, and its input and output rows.
#[derive(Debug, Clone)]
pub struct ResidualCache<F> {
    /// The full name of the LayerNorm (`"layers.0.norm1"`).
    pub norm_name: String,
    /// The LayerNorm's cache.
    pub norm: LayerNormCache<F>,
    /// The sublayer's cache.
    pub sub: SubCache<F>,
    /// Output of the residual block, `[B·T, C]` (what the next block reads).
    pub output: Array2<F>,
}

/// `y = LN(x + S(x))` or `y = x + S(LN(x))`, with `S` given as a closure on rows `[B·T, C]`.
pub(crate) fn residual_forward<F: Real>(
    x: ArrayView2<F>,
    store: &ParamStore<F>,
    norm: &NormWeights,
    cfg: &LayerConfig,
    sub: impl FnOnce(ArrayView2<F>) -> Result<(Array2<F>, SubCache<F>)>,
) -> Result<ResidualCache<F>> {
    let (output, norm_cache, sub) = if cfg.norm_first {
        let (n, nc) = norm.forward(store, x, cfg.layer_norm_eps)?;
        let (s, sub) = sub(n.view())?;
        (&x + &s, nc, sub)
    } else {
        let (s, sub) = sub(x)?;
        let (y, nc) = norm.forward(store, (&x + &s).view(), cfg.layer_norm_eps)?;
        (y, nc, sub)
    };
    Ok(ResidualCache {
        norm_name: norm.name.clone(),
        norm: norm_cache,
        sub,
        output,
    })
}

/// Backward of [`residual_forward`]; `sub_back(dS, cache) -> dInput of S`.
pub(crate) fn residual_backward<F: Real>(
    dy: ArrayView2<F>,
    c: &ResidualCache<F>,
    store: &ParamStore<F>,
    norm: &NormWeights,
    cfg: &LayerConfig,
    grads: &mut NamedGrads<F>,
    sub_back: impl FnOnce(ArrayView2<F>, &SubCache<F>) -> Result<Array2<F>>,
) -> Result<Array2<F>> {
    if cfg.norm_first {
        // y = x + S(n), n = LN(x): the residual carries dy straight to x, S's path adds to it.
        let dn = sub_back(dy, &c.sub)?;
        let dx = norm.backward(store, dn.view(), &c.norm, grads)?;
        Ok(&dy + &dx)
    } else {
        // y = LN(x + S(x)): both x and S(x) receive the LayerNorm's input gradient.
        let dn = norm.backward(store, dy, &c.norm, grads)?;
        let ds = sub_back(dn.view(), &c.sub)?;
        Ok(&dn + &ds)
    }
}

/// The self-attention sublayer of either layer kind, on rows `[B·T, C]`: attention `w` over
/// the (normalised) rows themselves, with `norm` around it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn self_attn_forward<F: Real>(
    x: ArrayView2<F>,
    (b, t): (usize, usize),
    store: &ParamStore<F>,
    w: &MhaWeights,
    norm: &NormWeights,
    cfg: &LayerConfig,
    attn_mask: Option<ArrayView2<bool>>,
    key_padding_mask: Option<ArrayView2<bool>>,
) -> Result<ResidualCache<F>> {
    let sa = w.load(store)?;
    residual_forward(x, store, norm, cfg, |inp| {
        let x3 = inp
            .into_shape_with_order((b, t, cfg.d_model))
            .expect("rows");
        let (o, cache) =
            multi_head::forward_self(x3, &sa, cfg.n_heads, attn_mask, key_padding_mask, None)?;
        Ok((multi_head::rows(o.view()), SubCache::Attention(cache)))
    })
}

/// Backward of [`self_attn_forward`]: query, key and value were the same rows, so the one
/// input gradient from [`multi_head::backward`] is already their sum. Returns the gradient of
/// the sublayer's input.
#[allow(clippy::too_many_arguments)]
pub(crate) fn self_attn_backward<F: Real>(
    dy: ArrayView2<F>,
    rc: &ResidualCache<F>,
    (b, t): (usize, usize),
    store: &ParamStore<F>,
    w: &MhaWeights,
    norm: &NormWeights,
    cfg: &LayerConfig,
    grads: &mut NamedGrads<F>,
) -> Result<Array2<F>> {
    let sa = w.load(store)?;
    let mut mha_g = None;
    let dx = residual_backward(dy, rc, store, norm, cfg, grads, |ds, sub| {
        let SubCache::Attention(mc) = sub else {
            unreachable!("an attention sublayer")
        };
        let g = multi_head::backward(
            ds.into_shape_with_order((b, t, cfg.d_model)).expect("rows"),
            mc,
            &sa,
        )?;
        let d = multi_head::rows(g.dquery.view());
        mha_g = Some(g);
        Ok(d)
    })?;
    w.push_grads(grads, mha_g.expect("ran"));
    Ok(dx)
}

/// The feed-forward sublayer of either layer kind, `w` with `norm` around it.
pub(crate) fn ffn_forward<F: Real>(
    x: ArrayView2<F>,
    store: &ParamStore<F>,
    w: &FfnWeights,
    norm: &NormWeights,
    cfg: &LayerConfig,
) -> Result<ResidualCache<F>> {
    let fp = w.load(store)?;
    residual_forward(x, store, norm, cfg, |inp| {
        let (o, cache) = feed_forward::forward(inp, &fp, cfg.activation)?;
        Ok((o, SubCache::FeedForward(cache)))
    })
}

/// Backward of [`ffn_forward`]; returns the gradient of the sublayer's input.
pub(crate) fn ffn_backward<F: Real>(
    dy: ArrayView2<F>,
    rc: &ResidualCache<F>,
    store: &ParamStore<F>,
    w: &FfnWeights,
    norm: &NormWeights,
    cfg: &LayerConfig,
    grads: &mut NamedGrads<F>,
) -> Result<Array2<F>> {
    let fp = w.load(store)?;
    let mut ffn_g = None;
    let dx = residual_backward(dy, rc, store, norm, cfg, grads, |ds, sub| {
        let SubCache::FeedForward(fc) = sub else {
            unreachable!("a feed-forward sublayer")
        };
        let g = feed_forward::backward(ds, fc, &fp)?;
        let dx = g.dx.clone();
        ffn_g = Some(g);
        Ok(dx)
    })?;
    w.push_grads(grads, ffn_g.expect("ran"));
    Ok(dx)
}
