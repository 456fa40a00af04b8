//! The crate's one error type.
//!
//! Every fallible function in the core returns [`Result<T>`]. Messages name the operation and
//! the shapes or values involved, so that the page (and the JS API) can show them as they are:
//! `"linear: x has 7 features but weight [4, 8] expects 8"`.

use std::fmt;

/// What went wrong, in a few broad classes the page can react to differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Two tensors that must agree in shape do not.
    Shape,
    /// A configuration value is out of range or inconsistent (d_model not divisible by heads…).
    Config,
    /// A value is out of range: a token id ≥ vocab, a sequence longer than max_len, a NaN.
    Value,
    /// A named parameter is missing, unknown or mis-shaped.
    Param,
    /// Bytes or text that should be safetensors or JSON cannot be read.
    Format,
}

/// An error with its kind and a message written for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The broad class of the error.
    pub kind: ErrorKind,
    /// What happened, naming the op and the shapes or values.
    pub message: String,
}

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    /// Shorthand for a [`ErrorKind::Shape`] error.
    pub fn shape(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Shape, message)
    }
    /// Shorthand for a [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    /// Shorthand for a [`ErrorKind::Value`] error.
    pub fn value(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Value, message)
    }
    /// Shorthand for a [`ErrorKind::Param`] error.
    pub fn param(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Param, message)
    }
    /// Shorthand for a [`ErrorKind::Format`] error.
    pub fn format(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Format, message)
    }
    /// The same error with `context` put in front of the message ("layers.1: …").
    pub fn context(self, context: impl fmt::Display) -> Self {
        Error {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Returns early with an [`Error`] of the given kind, formatted like `format!`.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($arg)*)))
    };
}
