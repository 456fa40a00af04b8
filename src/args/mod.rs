//! Declared arguments: what a function of the API accepts, checked in one place.
//!
//! Every function that takes named arguments (the ops of [`crate::ops::registry`], the live
//! models, the drawing helpers) declares them as a list of [`ArgSpec`]s: a name, a [`Kind`]
//! (tensor of a given rank, mask, additive bias, whole number in a range, number, flag, one of
//! some words) and whether it is required. A caller (the wasm binding from JS objects, a test from a
//! fixture) converts its inputs into [`Values`] through the checks here:
//!
//! ```text
//! 1. names:  every given name is declared           (else: "unknown argument …; accepted: …")
//! 2. shapes: each tensor's rank, and its length == ∏ shape ≤ MAX_ELEMENTS, before any copy
//! 3. work:   the op's largest intermediate and flops, from the shapes alone (registry)
//! 4. values: copied once; numbers finite and in range, never wrapped
//! ```
//!
//! so that a mistake is an [`Error`] naming the function, the argument and what was expected,
//! and nothing is allocated for an input that is going to be refused.

use crate::error::{Error, Result};
use crate::real::Real;
use ndarray::{ArrayD, ArrayView1, ArrayView2, ArrayView3, ArrayViewD, Ix1, Ix2, Ix3};
use std::collections::BTreeMap;

/// Largest tensor accepted from a caller, and largest intermediate an op may build, in
/// elements: 16 Mi values (64 MB of f32).
pub const MAX_ELEMENTS: usize = 1 << 24;

/// Largest number of floating-point operations one call may ask for (about half a second of
/// the wasm kernel), so that no call freezes the page.
pub const MAX_FLOPS: u128 = 10_000_000_000;

/// What an argument must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A tensor of this rank (values finite).
    Tensor(usize),
    /// A tensor of one of these ranks (values finite), for a function that takes a batch
    /// dimension or not (`headPatterns`: `[H, T, T]` or `[1, H, T, T]`).
    Tensors(&'static [usize]),
    /// A boolean mask of this rank (`true` = blocked).
    Mask(usize),
    /// An additive float bias (attention's `attnBias`) of one of these ranks, whose values are
    /// finite or −∞ (blocked); NaN and +∞ are refused.
    Bias(&'static [usize]),
    /// A whole number in `lo..=hi`.
    Int {
        /// Smallest accepted.
        lo: i64,
        /// Largest accepted.
        hi: i64,
    },
    /// A finite number; `> 0` when `positive`.
    Number {
        /// Must be greater than zero.
        positive: bool,
    },
    /// `true` or `false`.
    Flag,
    /// A string, one of these words (any string when empty).
    Text(&'static [&'static str]),
    /// A nested object of named arguments (checked by its own list).
    Object,
    /// Bytes (a `Uint8Array`) of at most this many.
    Bytes(usize),
    /// A parallel corpus: TSV text (`source<TAB>target` lines) or a list of `[source, target]`
    /// (read by the caller).
    Pairs,
}

/// One declared argument.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgSpec {
    /// Its name (PyTorch `state_dict` names for parameters, camelCase for options).
    pub name: String,
    /// What it must be.
    pub kind: Kind,
    /// Whether it must be given.
    pub required: bool,
}

impl ArgSpec {
    /// A required argument.
    pub fn req(name: impl Into<String>, kind: Kind) -> Self {
        ArgSpec {
            name: name.into(),
            kind,
            required: true,
        }
    }
    /// An optional argument.
    pub fn opt(name: impl Into<String>, kind: Kind) -> Self {
        ArgSpec {
            name: name.into(),
            kind,
            required: false,
        }
    }
    /// A whole number in `lo..=hi` (optional).
    pub fn int(name: &str, lo: i64, hi: i64) -> Self {
        Self::opt(name, Kind::Int { lo, hi })
    }
    /// A finite number (optional).
    pub fn number(name: &str) -> Self {
        Self::opt(name, Kind::Number { positive: false })
    }
    /// A flag (optional).
    pub fn flag(name: &str) -> Self {
        Self::opt(name, Kind::Flag)
    }
    /// One of `words` (optional).
    pub fn choice(name: &str, words: &'static [&'static str]) -> Self {
        Self::opt(name, Kind::Text(words))
    }

    /// Checks a tensor's, mask's or bias's shape against the declared rank(s) and the size
    /// limit (before its data is read).
    pub fn check_shape(&self, func: &str, shape: &[usize]) -> Result<()> {
        let ranks: &[usize] = match &self.kind {
            Kind::Tensor(r) | Kind::Mask(r) => std::slice::from_ref(r),
            Kind::Tensors(rs) | Kind::Bias(rs) => rs,
            _ => return Err(self.wrong(func, "a tensor {shape, data}")),
        };
        if !ranks.contains(&shape.len()) {
            let last = ranks.last().copied().unwrap_or(0);
            let want = match ranks {
                [r] => r.to_string(),
                _ => ranks
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            return Err(Error::shape(format!(
                "{func}: {} has shape {shape:?} but must have {want} dimension{}",
                self.name,
                if last == 1 { "" } else { "s" }
            )));
        }
        let n = numel(shape);
        if n > MAX_ELEMENTS as u128 {
            return Err(Error::shape(format!(
                "{func}: {} has shape {shape:?}, {n} values, more than the limit of {MAX_ELEMENTS}",
                self.name
            )));
        }
        Ok(())
    }

    /// Checks a [`Kind::Bias`]'s values: finite or −∞, an error naming the first that is not
    /// (NaN or +∞).
    pub fn check_bias_values<F: Real>(
        &self,
        func: &str,
        values: impl IntoIterator<Item = F>,
    ) -> Result<()> {
        let bad = values
            .into_iter()
            .enumerate()
            .find(|(_, x)| !(x.is_finite() || *x == F::neg_infinity()));
        match bad {
            None => Ok(()),
            Some((i, x)) => Err(Error::value(format!(
                "{func}: {} has {} at flat index {i}; a bias holds finite numbers, or -Infinity where blocked",
                self.name,
                show(x.f64())
            ))),
        }
    }

    /// Checks a number against the declared kind: whole and in range for [`Kind::Int`],
    /// finite (and positive) for [`Kind::Number`].
    pub fn check_number(&self, func: &str, x: f64) -> Result<f64> {
        let name = &self.name;
        match self.kind {
            Kind::Int { lo, hi } => {
                if !(x.is_finite() && x.fract() == 0.0 && x >= lo as f64 && x <= hi as f64) {
                    return Err(Error::value(format!(
                        "{func}: {name} is {}; it must be a whole number from {lo} to {hi}",
                        show(x)
                    )));
                }
                Ok(if x == 0.0 { 0.0 } else { x })
            }
            Kind::Number { positive } => {
                if !x.is_finite() {
                    return Err(Error::value(format!(
                        "{func}: {name} is {}; it must be a finite number",
                        show(x)
                    )));
                }
                if positive && x <= 0.0 {
                    return Err(Error::value(format!(
                        "{func}: {name} is {}; it must be greater than 0",
                        show(x)
                    )));
                }
                Ok(x)
            }
            _ => Err(self.wrong(func, "a number")),
        }
    }

    /// Checks a string against the declared words.
    pub fn check_text(&self, func: &str, s: &str) -> Result<()> {
        match self.kind {
            Kind::Text(words) if words.is_empty() || words.contains(&s) => Ok(()),
            Kind::Text(words) => Err(Error::value(format!(
                "{func}: {} is {s:?}; it must be one of {}",
                self.name,
                words.join(", ")
            ))),
            _ => Err(self.wrong(func, "a string")),
        }
    }

    /// What this argument is, for messages ("a whole number from 1 to 8", …).
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Tensor(r) => format!("a {r}-D tensor {{shape, data}}"),
            Kind::Tensors(rs) => format!(
                "a {}-D tensor {{shape, data}}",
                rs.iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join("- or ")
            ),
            Kind::Mask(r) => format!("a {r}-D boolean mask {{shape, data}}"),
            Kind::Bias(rs) => format!(
                "a {}-D float tensor {{shape, data}} (finite, or -Infinity where blocked)",
                rs.iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join("- or ")
            ),
            Kind::Int { lo, hi } => format!("a whole number from {lo} to {hi}"),
            Kind::Number { positive: true } => "a number greater than 0".into(),
            Kind::Number { positive: false } => "a finite number".into(),
            Kind::Flag => "true or false".into(),
            Kind::Text([]) => "a string".into(),
            Kind::Text(w) => format!("one of {}", w.join(", ")),
            Kind::Object => "an object".into(),
            Kind::Bytes(n) => format!("a Uint8Array of at most {n} bytes"),
            Kind::Pairs => {
                "TSV text (source<TAB>target lines) or an array of [source, target] strings".into()
            }
        }
    }

    /// "`func`: `name` must be `what` …" for a value of the wrong type.
    pub fn wrong(&self, func: &str, got: &str) -> Error {
        Error::value(format!(
            "{func}: {} must be {}, got {got}",
            self.name,
            self.describe()
        ))
    }
}

/// A number for messages: `NaN`, `Infinity`, `-0` shown as JS would.
pub fn show(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{x}")
    }
}

/// `∏ shape` without overflow.
pub fn numel(shape: &[usize]) -> u128 {
    shape
        .iter()
        .try_fold(1u128, |a, &d| a.checked_mul(d as u128))
        .unwrap_or(u128::MAX)
}

/// Checks that every given name is declared: otherwise an error naming it and listing the
/// accepted ones. `given` is the caller's names in its own order.
pub fn check_names<'a>(
    func: &str,
    specs: &[ArgSpec],
    given: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    for name in given {
        if !specs.iter().any(|s| s.name == name) {
            let accepted: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::value(format!(
                "{func}: unknown argument {name:?}; accepted: {}",
                accepted.join(", ")
            )));
        }
    }
    Ok(())
}

/// Checks that the required arguments are present (`has(name)`).
pub fn check_required(func: &str, specs: &[ArgSpec], has: impl Fn(&str) -> bool) -> Result<()> {
    for s in specs.iter().filter(|s| s.required) {
        if !has(&s.name) {
            return Err(Error::value(format!(
                "{func}: missing argument {} ({})",
                s.name,
                s.describe()
            )));
        }
    }
    Ok(())
}

/// Checks the work a call asks for: its largest intermediate (`elements`) and its `flops`.
pub fn check_work(func: &str, what: &str, elements: u128, flops: u128) -> Result<()> {
    if elements > MAX_ELEMENTS as u128 {
        return Err(Error::value(format!(
            "{func}: {what} would hold {elements} values, more than the limit of {MAX_ELEMENTS}; use smaller inputs"
        )));
    }
    if flops > MAX_FLOPS {
        return Err(Error::value(format!(
            "{func}: this call would take about {flops} floating-point operations, more than the limit of {MAX_FLOPS} for one call; use smaller inputs"
        )));
    }
    Ok(())
}

/// One converted argument value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<F> {
    /// A tensor.
    Tensor(ArrayD<F>),
    /// A boolean mask (`true` = blocked).
    Mask(ArrayD<bool>),
    /// A number (whole numbers were checked by their [`Kind::Int`]).
    Number(f64),
    /// A flag.
    Flag(bool),
    /// A string.
    Text(String),
}

/// The converted arguments of one call, by name, with typed accessors whose errors name the
/// function and the argument.
#[derive(Debug, Clone)]
pub struct Values<F> {
    /// The function's name, for messages (`forward(linear)`).
    pub func: String,
    map: BTreeMap<String, Value<F>>,
}

impl<F: Real> Values<F> {
    /// No arguments yet.
    pub fn new(func: impl Into<String>) -> Self {
        Values {
            func: func.into(),
            map: BTreeMap::new(),
        }
    }

    /// Adds an argument (replacing one of the same name).
    pub fn insert(&mut self, name: impl Into<String>, v: Value<F>) {
        self.map.insert(name.into(), v);
    }

    /// Builder form of [`Values::insert`].
    pub fn with(mut self, name: impl Into<String>, v: Value<F>) -> Self {
        self.insert(name, v);
        self
    }

    /// Removes and returns a value.
    pub fn remove(&mut self, name: &str) -> Option<Value<F>> {
        self.map.remove(name)
    }

    /// Whether `name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The names given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// The shape of every tensor and mask given.
    pub fn shapes(&self) -> BTreeMap<String, Vec<usize>> {
        // (extend, not collect: collecting into a BTreeMap sorts first, in one more copy of the
        // standard sort in the wasm module)
        let mut out = BTreeMap::new();
        out.extend(self.map.iter().filter_map(|(k, v)| match v {
            Value::Tensor(t) => Some((k.clone(), t.shape().to_vec())),
            Value::Mask(m) => Some((k.clone(), m.shape().to_vec())),
            _ => None,
        }));
        out
    }

    /// Checks every value against `specs`: names declared, required ones present, kinds,
    /// ranks, ranges and words as declared.
    pub fn check(&self, specs: &[ArgSpec]) -> Result<()> {
        let f = &self.func;
        check_names(f, specs, self.names())?;
        check_required(f, specs, |n| self.has(n))?;
        for s in specs {
            match (self.map.get(&s.name), s.kind) {
                (None, _) => {}
                (Some(Value::Tensor(t)), Kind::Tensor(_) | Kind::Tensors(_)) => {
                    s.check_shape(f, t.shape())?;
                    if let Some(i) = t.iter().position(|x| !x.is_finite()) {
                        return Err(Error::value(format!(
                            "{f}: {} has a non-finite value at flat index {i}",
                            s.name
                        )));
                    }
                }
                (Some(Value::Tensor(t)), Kind::Bias(_)) => {
                    s.check_shape(f, t.shape())?;
                    s.check_bias_values(f, t.iter().copied())?;
                }
                (Some(Value::Mask(m)), Kind::Mask(_)) => s.check_shape(f, m.shape())?,
                (Some(Value::Number(x)), Kind::Int { .. } | Kind::Number { .. }) => {
                    s.check_number(f, *x)?;
                }
                (Some(Value::Flag(_)), Kind::Flag) => {}
                (Some(Value::Text(t)), Kind::Text(_)) => s.check_text(f, t)?,
                (Some(_), _) => return Err(s.wrong(f, "a value of another kind")),
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<&Value<F>> {
        self.map.get(name)
    }

    fn missing(&self, name: &str, what: &str) -> Error {
        Error::value(format!("{}: missing argument {name} ({what})", self.func))
    }

    /// A tensor of any rank, if given.
    pub fn opt_tensor(&self, name: &str) -> Result<Option<ArrayViewD<'_, F>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Tensor(t)) => Ok(Some(t.view())),
            Some(_) => Err(Error::value(format!(
                "{}: {name} must be a tensor",
                self.func
            ))),
        }
    }

    /// A required tensor of any rank.
    pub fn tensor(&self, name: &str) -> Result<ArrayViewD<'_, F>> {
        self.opt_tensor(name)?
            .ok_or_else(|| self.missing(name, "a tensor {shape, data}"))
    }

    fn rank_err(&self, name: &str, shape: &[usize], rank: &str) -> Error {
        Error::shape(format!(
            "{}: {name} has shape {shape:?} but must be {rank}",
            self.func
        ))
    }

    /// A required 1-D tensor.
    pub fn t1(&self, name: &str) -> Result<ArrayView1<'_, F>> {
        let t = self.tensor(name)?;
        let s = t.shape().to_vec();
        t.into_dimensionality::<Ix1>()
            .map_err(|_| self.rank_err(name, &s, "1-D"))
    }

    /// A required 2-D tensor.
    pub fn t2(&self, name: &str) -> Result<ArrayView2<'_, F>> {
        let t = self.tensor(name)?;
        let s = t.shape().to_vec();
        t.into_dimensionality::<Ix2>()
            .map_err(|_| self.rank_err(name, &s, "2-D"))
    }

    /// A required 3-D tensor `[B, T, C]`.
    pub fn t3(&self, name: &str) -> Result<ArrayView3<'_, F>> {
        let t = self.tensor(name)?;
        let s = t.shape().to_vec();
        t.into_dimensionality::<Ix3>()
            .map_err(|_| self.rank_err(name, &s, "3-D [B, T, C]"))
    }

    /// An optional 1-D tensor.
    pub fn opt_t1(&self, name: &str) -> Result<Option<ArrayView1<'_, F>>> {
        if self.has(name) {
            self.t1(name).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A mask of rank `rank`, if given.
    pub fn mask(&self, name: &str, rank: usize) -> Result<Option<ArrayViewD<'_, bool>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Mask(m)) if m.ndim() == rank => Ok(Some(m.view())),
            Some(Value::Mask(m)) => Err(self.rank_err(name, m.shape(), &format!("{rank}-D"))),
            Some(_) => Err(Error::value(format!(
                "{}: {name} must be a boolean mask",
                self.func
            ))),
        }
    }

    /// A 2-D mask, if given.
    pub fn mask2(&self, name: &str) -> Result<Option<ArrayView2<'_, bool>>> {
        Ok(self
            .mask(name, 2)?
            .map(|m| m.into_dimensionality::<Ix2>().expect("rank checked")))
    }

    /// A 1-D mask, if given.
    pub fn mask1(&self, name: &str) -> Result<Option<ArrayView1<'_, bool>>> {
        Ok(self
            .mask(name, 1)?
            .map(|m| m.into_dimensionality::<Ix1>().expect("rank checked")))
    }

    /// A number, or `default` when absent.
    pub fn number_or(&self, name: &str, default: f64) -> Result<f64> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Number(x)) => Ok(*x),
            Some(_) => Err(Error::value(format!(
                "{}: {name} must be a number",
                self.func
            ))),
        }
    }

    /// A whole number, or `default` when absent (its range was checked by [`Values::check`]).
    pub fn int_or(&self, name: &str, default: i64) -> Result<i64> {
        let x = self.number_or(name, default as f64)?;
        if x.fract() != 0.0 || !x.is_finite() {
            return Err(Error::value(format!(
                "{}: {name} is {x}; it must be a whole number",
                self.func
            )));
        }
        Ok(x as i64)
    }

    /// A whole number ≥ 0, or `default` when absent.
    pub fn usize_or(&self, name: &str, default: usize) -> Result<usize> {
        let x = self.int_or(name, default as i64)?;
        usize::try_from(x).map_err(|_| {
            Error::value(format!(
                "{}: {name} is {x}; it must be 0 or more",
                self.func
            ))
        })
    }

    /// A flag, or `default` when absent.
    pub fn flag_or(&self, name: &str, default: bool) -> Result<bool> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Flag(b)) => Ok(*b),
            Some(_) => Err(Error::value(format!(
                "{}: {name} must be true or false",
                self.func
            ))),
        }
    }

    /// A string, or `default` when absent.
    pub fn text_or<'a>(&'a self, name: &str, default: &'a str) -> Result<&'a str> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Text(s)) => Ok(s),
            Some(_) => Err(Error::value(format!(
                "{}: {name} must be a string",
                self.func
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
