//! [`DecodeError`]: why a webhook body could not be decoded, naming the JSON path or the
//! line and column of the problem. Paths and messages quote at most
//! [`INPUT_EXCERPT_CHARS`](crate::error::INPUT_EXCERPT_CHARS) characters of the input each,
//! so a hostile body cannot make an error (or the log line and quarantine row built from it)
//! as large as itself.

use serde_json::error::Category;

use crate::error::input_excerpt;

/// A webhook body that is not a well-formed Radist event. Intake answers `400` with the
/// Display text and quarantines the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Zero bytes, or only whitespace.
    #[error("body is empty; expected a json object")]
    Empty,
    /// The body ends before the JSON value does.
    #[error("body is truncated: json ends at line {line} column {column}")]
    Truncated { line: usize, column: usize },
    /// Not JSON at all.
    #[error("body is not valid json: {message} at line {line} column {column}")]
    Syntax {
        message: String,
        line: usize,
        column: usize,
    },
    /// Valid JSON that is not a Radist event: `path` is `body` for the top level, else a
    /// JSON path such as `event.message.direction`.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl DecodeError {
    /// The JSON path of an [`Invalid`](Self::Invalid) body; `None` for syntax errors.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Invalid { path, .. } => Some(path),
            _ => None,
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: input_excerpt(&path.into()),
            message: input_excerpt(&message.into()),
        }
    }

    /// From a failed `serde_json` parse of the raw bytes.
    pub(crate) fn from_json(err: &serde_json::Error) -> Self {
        let (line, column) = (err.line(), err.column());
        if err.classify() == Category::Eof {
            return Self::Truncated { line, column };
        }
        let text = err.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = input_excerpt(text.strip_suffix(&suffix).unwrap_or(&text));
        Self::Syntax {
            message,
            line,
            column,
        }
    }

    /// From a typed decode that failed at a path.
    pub(crate) fn from_path(err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = err.path().to_string();
        let path = if path == "." { "body".to_owned() } else { path };
        Self::invalid(path, err.into_inner().to_string())
    }
}
