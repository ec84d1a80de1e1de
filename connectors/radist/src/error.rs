//! [`RadistError`]: the one error type at this crate's boundary, with
//! [`is_retryable`](RadistError::is_retryable), [`status`](RadistError::status) and
//! [`retry_after`](RadistError::retry_after) for callers that schedule work.
//!
//! Messages never contain the API key or a whole response body: excerpts are at most
//! [`BODY_EXCERPT_LIMIT`] bytes and the key is masked in them.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::models::ValidationError;
use crate::validate::Violation;

/// The longest response-body excerpt kept in an error, in bytes.
pub const BODY_EXCERPT_LIMIT: usize = 512;

/// The most characters of outside input (a value, a name, a JSON path) an error message
/// quotes; longer input is cut and ends with `…`.
pub const INPUT_EXCERPT_CHARS: usize = 200;

/// Everything that can go wrong talking to Radist.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RadistError {
    /// Local validation failed; no request was sent.
    #[error("message rejected before sending: {}; fix these fields", violations(.0))]
    Invalid(Vec<Violation>),
    /// HTTP 422: the API rejected the request body or parameters.
    #[error("radist rejected the request (422): {}; fix these fields", details(.detail))]
    Unprocessable { detail: Vec<ValidationError> },
    /// HTTP 401.
    #[error("radist refused the api key (401); check the X-Api-Key")]
    Unauthorized,
    /// HTTP 403.
    #[error(
        "radist denied access (403); check the X-Api-Key, its messaging, connections and \
         webhooks scopes, and that it belongs to this company"
    )]
    Forbidden,
    /// HTTP 404.
    #[error("{what} not found (404); check the id, the company_id and the base_url")]
    NotFound { what: String },
    /// HTTP 429 after every retry.
    #[error("radist rate limit hit (429) and retries are exhausted{}; slow down or retry later", After(.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    /// HTTP 5xx after every retry.
    #[error("radist server error ({status}) after retries; retry later")]
    Server { status: u16 },
    /// The request timed out (after every retry).
    #[error("request to radist timed out; retry later or raise the timeout")]
    Timeout,
    /// Could not connect or the connection broke (after every retry).
    #[error("cannot reach radist: {0}; check the network and the base_url")]
    Connect(String),
    /// A status this client does not expect.
    #[error("unexpected http status {status} from radist: {body_excerpt}")]
    UnexpectedStatus { status: u16, body_excerpt: String },
    /// A response body passed `max_response_bytes` (by its `Content-Length` or as it
    /// streamed). Not retryable: the same request would get the same answer. For a send the
    /// message may have been created.
    #[error(
        "radist response exceeds {limit} bytes; raise `max_response_bytes` if this is expected"
    )]
    ResponseTooLarge { limit: u64 },
    /// A response did not match the model.
    #[error("radist response did not match the model at `{path}`: {message}; report this")]
    Decode { path: String, message: String },
    /// A file is over the upload limit; nothing was sent.
    #[error("file is {size} bytes, over the {limit}-byte upload limit; send a smaller file")]
    TooLarge { size: u64, limit: u64 },
    /// A local file could not be read; nothing was sent.
    #[error("cannot read `{}`: {source}; check the path and permissions", .path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The client configuration or a call argument is unusable.
    #[error("radist client configuration: {0}")]
    Config(String),
}

impl RadistError {
    /// Whether trying the same request again may succeed: 429, 5xx, timeouts, connect errors.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Timeout | Self::Connect(_)
        )
    }

    /// The HTTP status behind this error, if one was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unprocessable { .. } => Some(422),
            Self::Unauthorized => Some(401),
            Self::Forbidden => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::RateLimited { .. } => Some(429),
            Self::Server { status } | Self::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `Retry-After` on a 429, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// Cuts `body` to at most [`BODY_EXCERPT_LIMIT`] bytes (on a char boundary), masks `secret`
/// and collapses whitespace, for use in error messages.
pub(crate) fn body_excerpt(body: &[u8], secret: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let masked = if secret.is_empty() {
        text.into_owned()
    } else {
        text.replace(secret, "***")
    };
    let flat = masked.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.len() <= BODY_EXCERPT_LIMIT {
        return flat;
    }
    let mut end = BODY_EXCERPT_LIMIT - '…'.len_utf8();
    while !flat.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &flat[..end])
}

/// `text` cut to at most `max_chars` characters, on a char boundary, with `…` appended when
/// anything was cut.
pub(crate) fn cut_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// `text` cut to [`INPUT_EXCERPT_CHARS`] for quoting in an error.
pub(crate) fn input_excerpt(text: &str) -> String {
    cut_chars(text, INPUT_EXCERPT_CHARS)
}

/// `path: message; path: message` for local violations.
fn violations(list: &[Violation]) -> String {
    let parts: Vec<String> = list
        .iter()
        .map(|v| format!("{}: {}", v.path, v.message))
        .collect();
    parts.join("; ")
}

/// `body.text.text: String should have at most 8192 characters; …` for a 422 body.
fn details(list: &[ValidationError]) -> String {
    let parts: Vec<String> = list
        .iter()
        .map(|e| format!("{}: {}", e.path(), e.msg))
        .collect();
    parts.join("; ")
}

/// Displays ` (retry after 3s)` or nothing.
struct After<'a>(&'a Option<Duration>);

impl fmt::Display for After<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(wait) => write!(f, " (retry after {}s)", wait.as_secs_f64()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::LocItem;

    fn check(error: RadistError, expected: &str) {
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn unprocessable_lists_fastapi_locations() {
        let detail = vec![
            ValidationError::new(
                vec!["body".into(), "text".into(), "text".into()],
                "String should have at most 8192 characters",
                "string_too_long",
            ),
            ValidationError::new(
                vec!["body".into(), "waba_template".into(), LocItem::Index(0)],
                "Field required",
                "missing",
            ),
        ];
        check(
            RadistError::Unprocessable { detail },
            "radist rejected the request (422): body.text.text: String should have at most \
             8192 characters; body.waba_template.0: Field required; fix these fields",
        );
    }

    #[test]
    fn invalid_lists_local_violations() {
        let list = vec![Violation {
            path: "text.text".into(),
            message: "must not be empty".into(),
        }];
        check(
            RadistError::Invalid(list),
            "message rejected before sending: text.text: must not be empty; fix these fields",
        );
    }

    #[test]
    fn messages_say_what_to_do() {
        check(
            RadistError::Unauthorized,
            "radist refused the api key (401); check the X-Api-Key",
        );
        check(
            RadistError::NotFound {
                what: "chat 5 on connection 70001".into(),
            },
            "chat 5 on connection 70001 not found (404); check the id, the company_id and the \
             base_url",
        );
        check(
            RadistError::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
            },
            "radist rate limit hit (429) and retries are exhausted (retry after 2s); slow down \
             or retry later",
        );
        check(
            RadistError::ResponseTooLarge { limit: 8_388_608 },
            "radist response exceeds 8388608 bytes; raise `max_response_bytes` if this is expected",
        );
        check(
            RadistError::TooLarge { size: 7, limit: 5 },
            "file is 7 bytes, over the 5-byte upload limit; send a smaller file",
        );
    }

    #[test]
    fn classification() {
        let retryable = [
            RadistError::RateLimited { retry_after: None },
            RadistError::Server { status: 503 },
            RadistError::Timeout,
            RadistError::Connect("refused".into()),
        ];
        assert!(retryable.iter().all(RadistError::is_retryable));
        let final_ = [
            RadistError::Unauthorized,
            RadistError::Forbidden,
            RadistError::Unprocessable { detail: vec![] },
            RadistError::UnexpectedStatus {
                status: 409,
                body_excerpt: String::new(),
            },
            RadistError::Config("x".into()),
            RadistError::ResponseTooLarge { limit: 1 },
        ];
        assert!(!final_.iter().any(RadistError::is_retryable));
        assert_eq!(RadistError::Server { status: 502 }.status(), Some(502));
        assert_eq!(RadistError::Timeout.status(), None);
        let limited = RadistError::RateLimited {
            retry_after: Some(Duration::from_secs(1)),
        };
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(1)));
        assert_eq!(limited.status(), Some(429));
    }

    #[test]
    fn cut_chars_keeps_short_text_and_cuts_on_char_boundaries() {
        assert_eq!(cut_chars("abc", 3), "abc");
        assert_eq!(cut_chars("abcd", 3), "abc…");
        assert_eq!(cut_chars("йцукен", 2), "йц…");
        assert_eq!(cut_chars("", 0), "");
        let long = "ж".repeat(1 << 20);
        assert_eq!(
            input_excerpt(&long).chars().count(),
            INPUT_EXCERPT_CHARS + 1
        );
    }

    #[test]
    fn excerpts_are_bounded_and_masked() {
        assert_eq!(
            body_excerpt(b"{\"detail\":\n \"k-123 bad\"}", "k-123"),
            "{\"detail\": \"*** bad\"}"
        );
        let long = "й".repeat(1000);
        let cut = body_excerpt(long.as_bytes(), "");
        assert!(cut.len() <= BODY_EXCERPT_LIMIT, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert_eq!(body_excerpt(&[0xff, b'a'], "key"), "\u{fffd}a");
    }
}
