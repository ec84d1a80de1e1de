//! One API call described as data ([`Call`]): method, path under the base URL, query,
//! a re-creatable body and a human name for 404s. Turned into a fresh `reqwest` request per
//! attempt, so retries never depend on a consumed body.

use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use reqwest::multipart::{Form, Part};
use reqwest::{Body, Method};
use serde::Serialize;
use url::Url;

use crate::error::RadistError;

/// A request to make, independent of any attempt.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// Operation name for logs, e.g. `send_message`.
    pub(crate) op: &'static str,
    pub(crate) method: Method,
    /// Path relative to the base URL, without a leading `/`.
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    /// What a 404 means, e.g. `chat 5 on connection 70001`.
    pub(crate) what: String,
    pub(crate) body: CallBody,
    /// Whether repeating the request after an ambiguous failure (500, 502, 504, a timeout, a
    /// connection lost mid-request) is harmless. False for sends: Radist may have delivered the
    /// message before the failure, and a customer must never get it twice.
    pub(crate) idempotent: bool,
}

/// A body that can be rebuilt for every attempt.
#[derive(Debug, Clone)]
pub(crate) enum CallBody {
    Empty,
    Json(Bytes),
    /// Multipart part `file` plus form field `filename`.
    File {
        name: String,
        mime: String,
        bytes: Bytes,
    },
}

impl Call {
    /// A call with no body; `what` defaults to the path.
    pub(crate) fn new(op: &'static str, method: Method, path: String) -> Self {
        Self {
            op,
            method,
            what: format!("`/{path}`"),
            path,
            query: Vec::new(),
            body: CallBody::Empty,
            idempotent: true,
        }
    }

    /// Marks the call as not safe to repeat: it is retried only after failures that prove
    /// Radist did not process it (429, 503, no connection made).
    pub(crate) fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    /// Adds a query parameter (repeat the key for lists).
    pub(crate) fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    /// Adds a query parameter when there is a value.
    pub(crate) fn query_opt(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.query(key, value),
            None => self,
        }
    }

    /// Names the resource for a 404 message.
    pub(crate) fn what(mut self, what: impl Into<String>) -> Self {
        self.what = what.into();
        self
    }

    /// Sets a JSON body, serialized once.
    pub(crate) fn json<B: Serialize>(mut self, body: &B) -> Result<Self, RadistError> {
        let bytes = serde_json::to_vec(body).map_err(|err| {
            RadistError::Config(format!("cannot serialize the {} request: {err}", self.op))
        })?;
        self.body = CallBody::Json(Bytes::from(bytes));
        Ok(self)
    }

    /// Sets a multipart file body; checks the MIME type now so attempts cannot fail on it.
    pub(crate) fn file(
        mut self,
        name: &str,
        mime: &str,
        bytes: Bytes,
    ) -> Result<Self, RadistError> {
        Part::bytes(Vec::new()).mime_str(mime).map_err(|_| {
            RadistError::Config(format!(
                "mime type `{mime}` is not valid; pass e.g. `application/pdf`"
            ))
        })?;
        self.body = CallBody::File {
            name: name.to_owned(),
            mime: mime.to_owned(),
            bytes,
        };
        Ok(self)
    }

    /// The full URL under `base` (which must end with `/`, see [`normalize_base`]).
    pub(crate) fn url(&self, base: &Url) -> Result<Url, RadistError> {
        join(base, &self.path, &self.query)
    }

    /// A fresh request for one attempt.
    pub(crate) fn build(
        &self,
        http: &reqwest::Client,
        base: &Url,
    ) -> Result<reqwest::RequestBuilder, RadistError> {
        let request = http.request(self.method.clone(), self.url(base)?);
        Ok(match &self.body {
            CallBody::Empty => request,
            CallBody::Json(bytes) => request
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            CallBody::File { name, mime, bytes } => request.multipart(file_form(name, mime, bytes)),
        })
    }
}

/// The base URL with a trailing `/` (so relative joins keep `/v2`) and no query or fragment.
pub(crate) fn normalize_base(base: &Url) -> Url {
    let mut url = base.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// Joins `path` (leading `/` ignored) and `query` onto a normalized base.
pub(crate) fn join(
    base: &Url,
    path: &str,
    query: &[(&'static str, String)],
) -> Result<Url, RadistError> {
    let mut url = base
        .join(path.trim_start_matches('/'))
        .map_err(|err| RadistError::Config(format!("cannot build a url for `{path}`: {err}")))?;
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query.iter());
    }
    Ok(url)
}

fn file_form(name: &str, mime: &str, bytes: &Bytes) -> Form {
    let length = bytes.len() as u64;
    let part =
        Part::stream_with_length(Body::from(bytes.clone()), length).file_name(name.to_owned());
    // `Call::file` checked this MIME type already; fall back to no type rather than panic.
    let part = match part.mime_str(mime) {
        Ok(part) => part,
        Err(_) => {
            Part::stream_with_length(Body::from(bytes.clone()), length).file_name(name.to_owned())
        }
    };
    Form::new()
        .part("file", part)
        .text("filename", name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(base: &str, path: &str, expected: &str) {
        let base = normalize_base(&Url::parse(base).unwrap());
        let url = join(&base, path, &[]).unwrap();
        assert_eq!(url.as_str(), expected, "base {base} path {path}");
    }

    #[test]
    fn joins_with_or_without_trailing_slashes() {
        let want = "https://api.radist.online/v2/companies/1/messaging/chats/";
        check(
            "https://api.radist.online/v2",
            "companies/1/messaging/chats/",
            want,
        );
        check(
            "https://api.radist.online/v2/",
            "companies/1/messaging/chats/",
            want,
        );
        check(
            "https://api.radist.online/v2/",
            "/companies/1/messaging/chats/",
            want,
        );
        check(
            "https://api.radist.online/v2?x=1#f",
            "companies/1/messaging/chats/",
            want,
        );
        check(
            "http://127.0.0.1:4000",
            "companies/1",
            "http://127.0.0.1:4000/companies/1",
        );
        check(
            "http://127.0.0.1:4000/",
            "companies/",
            "http://127.0.0.1:4000/companies/",
        );
        check("http://h/a/b", "users/me", "http://h/a/b/users/me");
    }

    #[test]
    fn query_keeps_repeated_keys_and_escapes() {
        let base = normalize_base(&Url::parse("https://h/v2").unwrap());
        let query = vec![
            ("types", "waba".to_owned()),
            ("types", "telegram".to_owned()),
            ("query", "Ivan & co".to_owned()),
        ];
        let url = join(&base, "companies/1/connections/", &query).unwrap();
        assert_eq!(
            url.as_str(),
            "https://h/v2/companies/1/connections/?types=waba&types=telegram&query=Ivan+%26+co"
        );
    }

    #[test]
    fn bad_mime_is_a_config_error() {
        let call = Call::new("upload_file", Method::POST, "x/".into());
        let err = call.file("a.txt", "not a mime", Bytes::new()).unwrap_err();
        assert!(matches!(err, RadistError::Config(_)), "{err}");
    }
}
