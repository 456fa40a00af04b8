//! Parameter scopes: where a layer declares each of its weights once (name, shape and
//! initialisation) and gets back a handle that reads the weight from a [`ParamStore`], its
//! shape checked, and names the weight's gradient. This is candle's `VarBuilder` idea
//! (`vb.pp("self_attn").get((3 * c, c), "in_proj_weight")`), split in two so that the same
//! declaration also serves when there is no store yet.
//!
//! ```text
//! let s = Scope::root().sub("layers").sub(0).sub("self_attn");
//! let w = s.var2("in_proj_weight", [3C, C], Init::XavierUniform);
//!     w.name()          "layers.0.self_attn.in_proj_weight"
//!     w.get(&store)     ArrayView2 [3C, C], or an error naming the key and both shapes
//!     w.grad(dw)        ("layers.0.self_attn.in_proj_weight", dw) for the NamedGrads
//!
//! declare("", |s| EncoderLayer::new(s, cfg))  → (the layer, every Decl in declaration order)
//! ```
//!
//! The declarations that [`declare`] collects are what a model is initialised from, what
//! `from_params` checks a file against and what the op table lists as an op's parameters, so
//! every parameter's name and shape is written in exactly one place: the layer's `new`.
//! Names are PyTorch `state_dict` names; a scope only ever appends `"{name}."`.

use crate::error::{Error, Result};
use crate::params::ParamStore;
use crate::real::Real;
use crate::rng::Rng;
use ndarray::{Array, ArrayD, ArrayView, Dimension, Ix1, Ix2};
use std::cell::RefCell;
use std::fmt::Display;
use std::rc::Rc;

/// How a parameter is initialised, as PyTorch's module defaults do it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// N(0, 1), as `nn.Embedding`.
    Normal,
    /// U(±1/√fan_in), as `nn.Linear`'s weight and bias (fan_in = in_features).
    Uniform {
        /// The number of inputs of the linear map the tensor belongs to.
        fan_in: usize,
    },
    /// U(±√(6 / (fan_out + fan_in))) for a `[fan_out, fan_in]` matrix, as
    /// `nn.MultiheadAttention`'s `in_proj_weight`.
    XavierUniform,
    /// All ones (a LayerNorm's γ).
    Ones,
    /// All zeros (a LayerNorm's β, the attention biases).
    Zeros,
}

impl Init {
    /// The values of a tensor of `shape`, in row-major order, drawn from `rng` (`Ones` and
    /// `Zeros` draw nothing, so they do not move the generator).
    pub fn draw<F: Real>(self, shape: &[usize], rng: &mut Rng) -> Vec<F> {
        let n: usize = shape.iter().product();
        let uniform =
            |a: f64, rng: &mut Rng| (0..n).map(|_| F::of(rng.uniform_in(-a, a))).collect();
        match self {
            Init::Normal => (0..n).map(|_| F::of(rng.normal())).collect(),
            Init::Uniform { fan_in } => uniform(1.0 / (fan_in as f64).sqrt(), rng),
            Init::XavierUniform => {
                let (fan_out, fan_in) = (shape[0], shape[1]);
                uniform((6.0 / (fan_out + fan_in) as f64).sqrt(), rng)
            }
            Init::Ones => vec![F::one(); n],
            Init::Zeros => vec![F::zero(); n],
        }
    }
}

/// One declared parameter: its full name, its shape and its initialisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    /// The PyTorch `state_dict` name (`"layers.0.norm1.weight"`).
    pub name: String,
    /// The shape, in PyTorch's layout.
    pub shape: Vec<usize>,
    /// How [`crate::models`] initialises it.
    pub init: Init,
}

/// The `(name, shape)` pairs of `decls`, in order.
pub fn shapes(decls: &[Decl]) -> Vec<(String, Vec<usize>)> {
    decls
        .iter()
        .map(|d| (d.name.clone(), d.shape.clone()))
        .collect()
}

/// A declared parameter of `D` dimensions: reads its value from a store, shape checked, and
/// names its gradient. Made by [`Scope::var1`] and [`Scope::var2`].
#[derive(Debug, Clone, PartialEq)]
pub struct Var<D> {
    name: String,
    shape: D,
}

/// A declared vector (a bias, a LayerNorm's γ or β).
pub type Var1 = Var<Ix1>;
/// A declared matrix (a weight, an embedding table).
pub type Var2 = Var<Ix2>;

impl<D: Dimension> Var<D> {
    /// The full name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The declared shape.
    pub fn shape(&self) -> &[usize] {
        self.shape.slice()
    }

    /// The value in `store`.
    ///
    /// **Errors** if the store has no such name, or holds it with another shape than declared.
    pub fn get<'a, F: Real>(&self, store: &'a ParamStore<F>) -> Result<ArrayView<'a, F, D>> {
        let v = store.get(&self.name)?;
        if v.shape() != self.shape() {
            return Err(Error::param(format!(
                "parameter {:?} has shape {:?}, expected {:?}",
                self.name,
                v.shape(),
                self.shape()
            )));
        }
        Ok(v.view().into_dimensionality().expect("shape checked"))
    }

    /// The gradient `g` under this parameter's name, for a [`crate::params::NamedGrads`].
    ///
    /// **Panics** (in debug builds) if `g` does not have the declared shape: that is a bug in
    /// a backward pass, not bad input.
    pub fn grad<F: Real>(&self, g: Array<F, D>) -> (String, ArrayD<F>) {
        debug_assert_eq!(g.shape(), self.shape(), "gradient of {}", self.name);
        (self.name.clone(), g.into_dyn())
    }
}

/// Where a layer's parameters live: a dotted name prefix (`"layers.0.self_attn."`), and, when
/// made by [`declare`], the list every declaration under it is recorded in.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Empty, or ending with `.`.
    prefix: String,
    /// Shared by every scope derived from the one [`declare`] made.
    record: Option<Rc<RefCell<Vec<Decl>>>>,
}

impl Scope {
    /// The top-level scope: names are used as given (`"tok_emb.weight"`).
    pub fn root() -> Self {
        Scope::default()
    }

    /// The scope under `prefix`, written with or without its final dot (`"layers.0."` and
    /// `"layers.0"` are the same scope; `""` is the root).
    pub fn at(prefix: &str) -> Self {
        Scope {
            prefix: dotted(prefix),
            record: None,
        }
    }

    /// The scope of a submodule: `layers` → `layers.0` → `layers.0.self_attn`.
    pub fn sub(&self, name: impl Display) -> Scope {
        Scope {
            prefix: format!("{}{name}.", self.prefix),
            record: self.record.clone(),
        }
    }

    /// The scope's own name, without the final dot (`"layers.0.norm1"`; `""` at the root).
    pub fn path(&self) -> &str {
        self.prefix.strip_suffix('.').unwrap_or("")
    }

    /// The full name of `leaf` in this scope.
    pub fn name(&self, leaf: &str) -> String {
        format!("{}{leaf}", self.prefix)
    }

    /// Declares a vector `[n]` named `leaf` here.
    pub fn var1(&self, leaf: &str, n: usize, init: Init) -> Var1 {
        Var {
            name: self.record(leaf, &[n], init),
            shape: Ix1(n),
        }
    }

    /// Declares a matrix `[rows, cols]` named `leaf` here.
    pub fn var2(&self, leaf: &str, [rows, cols]: [usize; 2], init: Init) -> Var2 {
        Var {
            name: self.record(leaf, &[rows, cols], init),
            shape: Ix2(rows, cols),
        }
    }

    fn record(&self, leaf: &str, shape: &[usize], init: Init) -> String {
        let name = self.name(leaf);
        if let Some(r) = &self.record {
            r.borrow_mut().push(Decl {
                name: name.clone(),
                shape: shape.to_vec(),
                init,
            });
        }
        name
    }
}

fn dotted(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('.') {
        prefix.to_string()
    } else {
        format!("{prefix}.")
    }
}

/// Runs `f` (a layer's or a model's `new`) in a recording scope under `prefix` and returns
/// what it built together with every parameter it declared, in declaration order.
///
/// **Panics** if a name is declared twice: two parameters would share one tensor.
pub fn declare<T>(prefix: &str, f: impl FnOnce(&Scope) -> T) -> (T, Vec<Decl>) {
    let record = Rc::new(RefCell::new(Vec::new()));
    let scope = Scope {
        prefix: dotted(prefix),
        record: Some(record.clone()),
    };
    let built = f(&scope);
    let decls = record.take();
    let mut names: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
    crate::sorting::sort_by(&mut names, |a, b| a.cmp(b));
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        panic!("parameter {:?} is declared twice", w[0]);
    }
    (built, decls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, Array2};

    #[test]
    fn scopes_build_state_dict_names() {
        let s = Scope::root().sub("layers").sub(0).sub("self_attn");
        assert_eq!(s.path(), "layers.0.self_attn");
        assert_eq!(
            s.name("in_proj_weight"),
            "layers.0.self_attn.in_proj_weight"
        );
        assert_eq!(Scope::at("l").name("x"), "l.x");
        assert_eq!(Scope::at("l.").name("x"), "l.x");
        assert_eq!(Scope::at("").name("x"), "x");
        assert_eq!(Scope::root().path(), "");
    }

    #[test]
    fn declare_records_in_order_and_get_checks_the_shape() {
        let ((w, b), decls) = declare("lin", |s| {
            (
                s.var2("weight", [2, 3], Init::Uniform { fan_in: 3 }),
                s.sub("inner").var1("bias", 2, Init::Zeros),
            )
        });
        assert_eq!(
            shapes(&decls),
            vec![
                ("lin.weight".to_string(), vec![2, 3]),
                ("lin.inner.bias".to_string(), vec![2])
            ]
        );
        assert_eq!(decls[0].init, Init::Uniform { fan_in: 3 });
        let mut store = ParamStore::<f64>::new();
        store.insert("lin.weight", Array2::zeros((3, 2)).into_dyn());
        let e = w.get(&store).unwrap_err();
        assert!(
            e.message
                .contains("\"lin.weight\" has shape [3, 2], expected [2, 3]"),
            "{e}"
        );
        assert!(b
            .get(&store)
            .unwrap_err()
            .message
            .contains("lin.inner.bias"));
        store.insert("lin.inner.bias", arr1(&[1.0, 2.0]).into_dyn());
        assert_eq!(b.get(&store).unwrap(), arr1(&[1.0, 2.0]));
        assert_eq!(b.grad(arr1(&[3.0, 4.0])).0, "lin.inner.bias");
    }

    #[test]
    #[should_panic(expected = "\"x.w\" is declared twice")]
    fn a_name_declared_twice_is_a_bug() {
        declare("x", |s| {
            s.var1("w", 1, Init::Ones);
            s.var1("w", 1, Init::Ones);
        });
    }

    #[test]
    fn ones_and_zeros_do_not_move_the_generator() {
        let mut a = Rng::new(3);
        let mut b = Rng::new(3);
        let _: Vec<f64> = Init::Ones.draw(&[4], &mut a);
        let _: Vec<f64> = Init::Zeros.draw(&[4], &mut a);
        assert_eq!(a.next_u64(), b.next_u64());
    }
}
