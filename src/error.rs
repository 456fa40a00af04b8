//! The crate's one error type.
//!
//! Every fallible function in the core returns [`Result<T>`]. Messages name the operation and
//! the shapes or values involved, so that the page (and the JS API) can show them as they are:
//! `"linear: x has 7 features but weight [4, 8] expects 8"`.
//!
//! An error a person can cause from the page (a text without tokens, a target that is not one
//! token, a run that diverged…) also carries a [`Code`] and the values its message names
//! ([`Error::params`]): the page says it in its own language from those (www/strings.js,
//! `err.<code>`), and the English message stays what the JS API gives.

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

/// The errors a person can cause from the page, each with a stable name ([`Code::name`]) that
/// the page translates. An error without a code is a caller's mistake (a wrong shape, an
/// unknown option), described in English by its message alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// A text (or prompt) with no tokens at all.
    TextNoTokens,
    /// A text with more tokens than the model reads, or none (`n`, `max`).
    TextLength,
    /// A masked model's text without `[MASK]` (`text`).
    MaskMissing,
    /// An encoder–decoder's source with no tokens or more than it reads (`n`, `max`).
    SourceLength,
    /// An empty prompt.
    PromptEmpty,
    /// A prompt longer than the model can read and still write after (`n`, `max`).
    PromptTooLong,
    /// An empty target.
    TargetEmpty,
    /// A target that is not one token of the vocabulary (`target`, `pieces`: how it is cut).
    TargetNotOneToken,
    /// A corpus that is empty or only spaces.
    CorpusEmpty,
    /// A corpus over the length limit (`n`, `max` characters).
    CorpusTooLong,
    /// A learning rate that is not a finite number ≥ 0 (`lr`).
    LearningRate,
    /// Training diverged: a loss or gradient that is not finite, or a loss far past its start.
    Diverged,
    /// Bytes that are not a model file this engine reads (`detail`: why, in English).
    FileUnreadable,
}

impl Code {
    /// Every code, in declaration order.
    pub const ALL: [Code; 13] = [
        Code::TextNoTokens,
        Code::TextLength,
        Code::MaskMissing,
        Code::SourceLength,
        Code::PromptEmpty,
        Code::PromptTooLong,
        Code::TargetEmpty,
        Code::TargetNotOneToken,
        Code::CorpusEmpty,
        Code::CorpusTooLong,
        Code::LearningRate,
        Code::Diverged,
        Code::FileUnreadable,
    ];

    /// The code's stable name, as the JS `Error`'s `code` (and the page's string `err.<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Code::TextNoTokens => "text.noTokens",
            Code::TextLength => "text.length",
            Code::MaskMissing => "mask.missing",
            Code::SourceLength => "source.length",
            Code::PromptEmpty => "prompt.empty",
            Code::PromptTooLong => "prompt.tooLong",
            Code::TargetEmpty => "target.empty",
            Code::TargetNotOneToken => "target.notOneToken",
            Code::CorpusEmpty => "corpus.empty",
            Code::CorpusTooLong => "corpus.tooLong",
            Code::LearningRate => "lr.invalid",
            Code::Diverged => "train.diverged",
            Code::FileUnreadable => "file.unreadable",
        }
    }
}

/// An error with its kind and a message written for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The broad class of the error.
    pub kind: ErrorKind,
    /// What happened, naming the op and the shapes or values.
    pub message: String,
    /// For an error a person can cause from the page: what it is, for the page to translate.
    pub code: Option<Code>,
    /// The values the message names, by name (`("n", "23")`), for the code's translations.
    pub params: Vec<(&'static str, String)>,
}

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            code: None,
            params: Vec::new(),
        }
    }
    /// The same error with code `code` (see [`Code`]).
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = Some(code);
        self
    }
    /// The same error with the value `value` of its message named `name`, for the code's
    /// translations.
    pub fn with_param(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.params.push((name, value.to_string()));
        self
    }
    /// The same error, as the reason bytes could not be read as a model file: an error
    /// without a code gets [`Code::FileUnreadable`], its message as the `detail`.
    pub fn unreadable_file(self) -> Self {
        if self.code.is_some() {
            return self;
        }
        let detail = self.message.clone();
        self.with_code(Code::FileUnreadable)
            .with_param("detail", detail)
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
            message: format!("{context}: {}", self.message),
            ..self
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_listed_once_with_distinct_names() {
        // ALL holds every variant in order (a variant added without it breaks the indices).
        for (i, c) in Code::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "{c:?}");
        }
        let mut names: Vec<_> = Code::ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
    }

    #[test]
    fn context_keeps_the_code_and_its_params() {
        let e = Error::value("the source has 0 tokens")
            .with_code(Code::SourceLength)
            .with_param("n", 0)
            .with_param("max", 16)
            .context("generate");
        assert_eq!(e.message, "generate: the source has 0 tokens");
        assert_eq!(e.code, Some(Code::SourceLength));
        assert_eq!(
            e.params,
            vec![("n", "0".to_string()), ("max", "16".to_string())]
        );
        let f = Error::format("safetensors: too short").unreadable_file();
        assert_eq!(f.code, Some(Code::FileUnreadable));
        assert_eq!(f.params[0].1, "safetensors: too short");
        assert_eq!(
            e.clone().unreadable_file(),
            e,
            "a coded error keeps its code"
        );
    }
}
