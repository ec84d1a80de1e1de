//! The typed Radist v2 HTTP client: [`RadistClient`] built from a [`ClientConfig`].
//!
//! - [`config`]: configuration, the masked [`ApiKey`] and the [`RetryPolicy`].
//! - `request`: a call as data, rebuilt per attempt; URL joining.
//! - `transport`: the retry loop, status → [`RadistError`] mapping, decoding.
//! - `retry`: backoff with full jitter and `Retry-After` parsing.
//! - [`query`]: parameters of the list operations.
//! - `messaging`, `directory`, `paging`, `crm`: the operations, grouped like the API.
//!
//! Retries cover 429 (honouring `Retry-After`), 5xx, timeouts and connection failures,
//! never other 4xx. `send_message` runs the outgoing validators first and sends nothing
//! when they find a problem.

pub mod config;
mod crm;
mod directory;
mod messaging;
mod paging;
pub mod query;
mod request;
mod retry;
mod transport;

use std::sync::Arc;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

pub use config::{ApiKey, ClientConfig, DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, RetryPolicy};
pub use messaging::UPLOAD_LIMIT_BYTES;
pub use query::{
    ChatsQuery, ContactSearch, ContactsQuery, DialogsCounter, ListConnections, MAX_PAGE_SIZE,
    MessagesQuery,
};

use self::request::Call;
use crate::error::RadistError;
use crate::models::CompanyId;
use crate::validate::ValidateOptions;

/// Header carrying the API key.
const API_KEY_HEADER: &str = "x-api-key";

/// A Radist v2 client for one company. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct RadistClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// `config.base_url` with a trailing `/`.
    base_url: Url,
    api_key: ApiKey,
    company_id: CompanyId,
    retry: RetryPolicy,
    validation: ValidateOptions,
    max_response_bytes: u64,
}

impl RadistClient {
    /// Builds a client; fails on an unusable configuration (no request is made).
    pub fn new(config: ClientConfig) -> Result<Self, RadistError> {
        config.check()?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.as_str())
            .default_headers(auth_headers(&config.api_key)?)
            // FastAPI answers a wrong trailing slash with 307; following it could carry the key
            // to another host, and our paths are exact, so surface it instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| RadistError::Config(format!("cannot build the http client: {err}")))?;
        let inner = Inner {
            http,
            base_url: request::normalize_base(&config.base_url),
            api_key: config.api_key,
            company_id: config.company_id,
            retry: config.retry,
            validation: config.validation,
            max_response_bytes: config.max_response_bytes,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The company this client acts for.
    pub fn company_id(&self) -> CompanyId {
        self.inner.company_id
    }

    /// The normalized base URL (always ends with `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// `companies/{company_id}/{rest}`.
    fn company_path(&self, rest: &str) -> String {
        format!("companies/{}/{rest}", self.inner.company_id)
    }

    /// A call `op` on the company's `rest` (`companies/{company_id}/{rest}`).
    fn company_call(&self, op: &'static str, method: Method, rest: &str) -> Call {
        Call::new(op, method, self.company_path(rest))
    }
}

/// `X-Api-Key` as a sensitive default header (kept out of `Debug` output by `http`).
fn auth_headers(key: &ApiKey) -> Result<HeaderMap, RadistError> {
    let mut value = HeaderValue::from_str(key.expose()).map_err(|_| {
        RadistError::Config(
            "api_key contains characters not allowed in an http header; copy it again".into(),
        )
    })?;
    value.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(HeaderName::from_static(API_KEY_HEADER), value);
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_normalizes_the_base_and_hides_the_key() {
        let config = ClientConfig::new("sekret-key", CompanyId(7));
        let client = RadistClient::new(config).unwrap();
        assert_eq!(client.base_url().as_str(), "https://api.radist.online/v2/");
        assert_eq!(client.company_path("contacts/"), "companies/7/contacts/");
        let debug = format!("{client:?}");
        assert!(!debug.contains("sekret"), "{debug}");
    }

    #[test]
    fn a_key_that_cannot_be_a_header_is_a_config_error() {
        let err = RadistClient::new(ClientConfig::new("bad\nkey", CompanyId(1))).unwrap_err();
        assert!(matches!(err, RadistError::Config(_)), "{err}");
        assert!(!err.to_string().contains("bad\nkey"));
    }
}
