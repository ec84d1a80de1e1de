//! Errors: the crate-boundary [`SandboxError`] and the FastAPI-shaped HTTP errors ([`ApiError`])
//! the emulated API answers with (`{"detail": "..."}` or `{"detail": [ValidationError...]}`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Errors of the sandbox library at its public boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}; pick a free port or use 127.0.0.1:0")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The seed document is not valid.
    #[error("sandbox seed is invalid: {0}; see Seed::default() for the expected shape")]
    Seed(String),
    /// The seed file could not be read.
    #[error("cannot read seed file `{path}`: {source}")]
    SeedFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A control endpoint could not be reached or refused the request.
    #[error(
        "sandbox control `/_sandbox/{endpoint}` failed: {message}; check the control url and \
         the request"
    )]
    Control { endpoint: String, message: String },
    /// Any other I/O failure while starting or serving.
    #[error("sandbox i/o failed: {0}")]
    Io(#[from] std::io::Error),
}

/// An HTTP error answer shaped like FastAPI's.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// `{"detail": "<text>"}` with the given status.
    Detail(StatusCode, String),
    /// 422 `{"detail": [ ...pydantic errors... ]}`.
    Validation(Vec<Value>),
    /// 429 with a `Retry-After` header.
    RateLimited { retry_after_s: u64 },
}

impl ApiError {
    /// 404 `{"detail": text}`.
    pub fn not_found(text: &str) -> Self {
        Self::Detail(StatusCode::NOT_FOUND, text.to_owned())
    }

    /// One 422 `value_error` at `loc` (pydantic prefixes the text with "Value error, ").
    pub fn value_error(loc: Vec<Value>, text: &str, input: Value) -> Self {
        Self::Validation(vec![error_item(
            "value_error",
            loc,
            &format!("Value error, {text}"),
            input,
            None,
        )])
    }
}

/// One pydantic error object: `{type, loc, msg, input[, ctx]}`.
pub fn error_item(
    kind: &str,
    loc: Vec<Value>,
    msg: &str,
    input: Value,
    ctx: Option<Value>,
) -> Value {
    let mut item = json!({"type": kind, "loc": loc, "msg": msg, "input": input});
    if let (Some(ctx), Some(map)) = (ctx, item.as_object_mut()) {
        map.insert("ctx".into(), ctx);
    }
    item
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Detail(status, text) => {
                (status, axum::Json(json!({ "detail": text }))).into_response()
            }
            Self::Validation(items) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(json!({ "detail": items })),
            )
                .into_response(),
            Self::RateLimited { retry_after_s } => {
                let body = json!({"detail": "Too Many Requests"});
                let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                if let Ok(value) = HeaderValue::from_str(&retry_after_s.to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, value);
                }
                resp
            }
        }
    }
}

/// Handler result type.
pub type ApiResult<T> = Result<T, ApiError>;
