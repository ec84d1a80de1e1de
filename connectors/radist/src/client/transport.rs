//! Sending a [`Call`]: the retry loop, HTTP status → [`RadistError`] mapping, bounded body
//! reads and JSON decoding with the failing path (`serde_path_to_error`).

use std::error::Error as _;

use bytes::{Bytes, BytesMut};
use chrono::Utc;
use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;

use super::RadistClient;
use super::request::Call;
use super::retry::{delay_for, parse_retry_after};
use crate::error::{RadistError, body_excerpt, input_excerpt};
use crate::models::HTTPValidationError;

/// The most of an error body read into memory (a 422 detail list fits easily).
const ERROR_BODY_LIMIT: usize = 256 * 1024;

impl RadistClient {
    /// Sends `call`, retrying what is retryable, and decodes a 2xx JSON body (read up to
    /// `max_response_bytes`) as `T`.
    pub(crate) async fn fetch<T: DeserializeOwned>(&self, call: Call) -> Result<T, RadistError> {
        let response = self.execute(&call).await?;
        let body = read_capped(response, self.inner.max_response_bytes).await?;
        decode(&body)
    }

    /// Sends `call` like [`fetch`](Self::fetch) but ignores the 2xx body (204, 202, `null`).
    pub(crate) async fn fetch_empty(&self, call: Call) -> Result<(), RadistError> {
        self.execute(&call).await.map(drop)
    }

    /// The retry loop: one fresh request per attempt until success, a final error or the
    /// retry budget is spent.
    async fn execute(&self, call: &Call) -> Result<Response, RadistError> {
        let policy = self.inner.retry;
        let mut retry = 0;
        loop {
            let Failed { error, unprocessed } = match self.attempt(call).await {
                Ok(response) => return Ok(response),
                Err(failed) => failed,
            };
            if !repeatable(call.idempotent, &error, unprocessed) || retry >= policy.max_retries {
                return Err(error);
            }
            let delay = delay_for(&policy, retry, error.retry_after());
            tracing::warn!(
                op = call.op,
                retry = retry + 1,
                max_retries = policy.max_retries,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "radist request failed; retrying",
            );
            metrics::counter!("switchboard_radist_retries_total", "operation" => call.op)
                .increment(1);
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    /// One attempt: a 2xx response, or the error it amounts to.
    async fn attempt(&self, call: &Call) -> Result<Response, Failed> {
        let request = call
            .build(&self.inner.http, &self.inner.base_url)
            .map_err(Failed::final_)?;
        let started = std::time::Instant::now();
        let sent = request.send().await;
        let outcome = match &sent {
            Ok(r) if r.status().is_success() => "ok",
            Ok(r) if r.status().as_u16() == 429 => "rate-limited",
            Ok(r) if r.status().is_server_error() => "server-error",
            Ok(_) => "client-error",
            Err(_) => "transport-error",
        };
        metrics::histogram!("switchboard_radist_request_seconds", "operation" => call.op, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        let response = match sent {
            Ok(response) => response,
            Err(err) => {
                // A failed connect never sent the request; anything later may have been processed.
                let unprocessed = err.is_connect();
                return Err(Failed {
                    error: transport_error(err),
                    unprocessed,
                });
            }
        };
        if response.status().is_success() {
            return Ok(response);
        }
        // 429 and 503 say the request was turned away, not processed.
        let unprocessed = matches!(response.status().as_u16(), 429 | 503);
        let error = self.status_error(call, response).await;
        Err(Failed { error, unprocessed })
    }

    /// Maps a non-2xx response to its error variant.
    async fn status_error(&self, call: &Call, response: Response) -> RadistError {
        let status = response.status();
        match status {
            StatusCode::UNAUTHORIZED => RadistError::Unauthorized,
            StatusCode::FORBIDDEN => RadistError::Forbidden,
            StatusCode::NOT_FOUND => RadistError::NotFound {
                what: call.what.clone(),
            },
            StatusCode::TOO_MANY_REQUESTS => RadistError::RateLimited {
                retry_after: retry_after(&response)
                    .map(|wait| wait.min(self.inner.retry.honor_retry_after_max)),
            },
            _ if status.is_server_error() => RadistError::Server {
                status: status.as_u16(),
            },
            StatusCode::UNPROCESSABLE_ENTITY => self.unprocessable(response).await,
            _ => self.unexpected(response).await,
        }
    }

    async fn unprocessable(&self, response: Response) -> RadistError {
        let status = response.status().as_u16();
        let body = read_limited(response, ERROR_BODY_LIMIT).await;
        match serde_json::from_slice::<HTTPValidationError>(&body) {
            Ok(parsed) if !parsed.detail.is_empty() => RadistError::Unprocessable {
                detail: parsed.detail,
            },
            _ => RadistError::UnexpectedStatus {
                status,
                body_excerpt: body_excerpt(&body, self.inner.api_key.expose()),
            },
        }
    }

    async fn unexpected(&self, response: Response) -> RadistError {
        let status = response.status().as_u16();
        let body = read_limited(response, ERROR_BODY_LIMIT).await;
        RadistError::UnexpectedStatus {
            status,
            body_excerpt: body_excerpt(&body, self.inner.api_key.expose()),
        }
    }
}

/// Decodes JSON, naming the path of the first mismatch.
/// Whether a failed attempt may be repeated: any retryable failure for an idempotent call; for
/// one that is not (a send), only a failure that proves Radist did not process the request.
fn repeatable(idempotent: bool, error: &RadistError, unprocessed: bool) -> bool {
    error.is_retryable() && (idempotent || unprocessed)
}

/// A failed attempt and whether it provably never reached Radist's handler.
struct Failed {
    error: RadistError,
    unprocessed: bool,
}

impl Failed {
    /// A failure before anything was sent that no retry can mend (e.g. a bad URL).
    fn final_(error: RadistError) -> Self {
        Failed {
            error,
            unprocessed: false,
        }
    }
}

/// Decodes a response body. The plain decoder goes first: tracking the path costs on every
/// response (1.6% of the service's CPU at `e2e --max`), and only a failure needs it, so a body
/// the plain decoder refuses is decoded again to say where.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, RadistError> {
    serde_json::from_slice(body).or_else(|_| {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|err| RadistError::Decode {
            path: input_excerpt(&err.path().to_string()),
            message: input_excerpt(&err.into_inner().to_string()),
        })
    })
}

/// Reads a whole body of at most `cap` bytes: a larger `Content-Length` is refused before
/// reading, and a body that streams past the cap is abandoned there (dropping the response
/// closes the connection), so at most `cap` bytes plus one chunk are ever held.
async fn read_capped(mut response: Response, cap: u64) -> Result<Bytes, RadistError> {
    let too_large = RadistError::ResponseTooLarge { limit: cap };
    if response.content_length().is_some_and(|length| length > cap) {
        return Err(too_large);
    }
    let expected = response.content_length().unwrap_or(0);
    let mut buf = BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if (buf.len() + chunk.len()) as u64 > cap {
            return Err(too_large);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Maps a transport failure: timeouts, connect/IO failures, or a request we could not build.
pub(crate) fn transport_error(err: reqwest::Error) -> RadistError {
    let err = err.without_url();
    if err.is_timeout() {
        return RadistError::Timeout;
    }
    if err.is_builder() {
        return RadistError::Config(chain(&err));
    }
    RadistError::Connect(chain(&err))
}

/// The error and its sources joined by `: `, without repeats.
fn chain(err: &reqwest::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// `Retry-After` of a response, if present and parseable.
fn retry_after(response: &Response) -> Option<std::time::Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, Utc::now())
}

/// Reads at most `limit` bytes of a body; a broken body yields what arrived.
async fn read_limited(mut response: Response, limit: usize) -> Bytes {
    let mut buf = BytesMut::new();
    while buf.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    buf.truncate(limit);
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::repeatable;
    use crate::RadistError;

    #[test]
    fn sends_are_repeated_only_after_failures_that_prove_nothing_happened() {
        let server = |status| RadistError::Server { status };
        let limited = RadistError::RateLimited { retry_after: None };
        // (error, unprocessed) → (idempotent call repeats, send repeats)
        let cases = [
            (RadistError::Timeout, false, true, false),
            (server(500), false, true, false),
            (server(502), false, true, false),
            (server(503), true, true, true),
            (limited, true, true, true),
            (RadistError::Connect("refused".into()), true, true, true),
            (
                RadistError::Connect("reset mid-request".into()),
                false,
                true,
                false,
            ),
            (RadistError::Forbidden, false, false, false),
        ];
        for (error, unprocessed, idempotent_repeats, send_repeats) in cases {
            assert_eq!(
                repeatable(true, &error, unprocessed),
                idempotent_repeats,
                "{error}"
            );
            assert_eq!(
                repeatable(false, &error, unprocessed),
                send_repeats,
                "{error}"
            );
        }
    }

    use super::*;
    use crate::models::CompaniesOut;

    #[test]
    fn decode_names_the_failing_path() {
        let body = br#"{"count": 1, "companies": [{"id": "x", "name": "A"}]}"#;
        let err = decode::<CompaniesOut>(body).unwrap_err();
        let RadistError::Decode { path, message } = &err else {
            panic!("not a decode error: {err}");
        };
        assert_eq!(path, "companies[0].id");
        assert!(message.contains("invalid type"), "{message}");
        assert!(err.to_string().contains("`companies[0].id`"), "{err}");
    }

    #[test]
    fn decode_reports_syntax_errors() {
        let err = decode::<CompaniesOut>(b"<html>").unwrap_err();
        assert!(matches!(err, RadistError::Decode { .. }), "{err}");
    }
}
