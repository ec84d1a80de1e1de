//! Client configuration: base URL, the API key (never printed), company, timeouts, retries
//! and the outgoing-message validation options.

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::error::RadistError;
use crate::models::CompanyId;
use crate::validate::ValidateOptions;

/// The production base URL (`https://api.radist.online/v2`).
pub const DEFAULT_BASE_URL: &str = "https://api.radist.online/v2";

/// The default cap on a response body: 8 MiB (a 100-message page is well under 1 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

/// Everything [`RadistClient::new`](super::RadistClient::new) needs.
///
/// `Debug` is safe to log: the key prints as `ApiKey(***)`.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API root including the `/v2` prefix; a trailing `/` is optional.
    pub base_url: Url,
    /// Sent as the `X-Api-Key` header.
    pub api_key: ApiKey,
    /// The company every `/companies/{company_id}/…` call acts for.
    pub company_id: CompanyId,
    /// Whole-request timeout, per attempt.
    pub timeout: Duration,
    /// TCP/TLS connect timeout, per attempt.
    pub connect_timeout: Duration,
    /// When and how long to wait before trying a request again.
    pub retry: RetryPolicy,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Options for the validators `send_message` runs before any request.
    pub validation: ValidateOptions,
    /// The largest response body read, 2xx included (default [`DEFAULT_MAX_RESPONSE_BYTES`]).
    /// A larger `Content-Length` is refused before reading; a streamed body is cut off as it
    /// passes the cap. Either way the call fails with
    /// [`RadistError::ResponseTooLarge`](crate::RadistError::ResponseTooLarge).
    pub max_response_bytes: u64,
}

/// A Radist API key. `Debug` and `Display` print `ApiKey(***)`; use [`ApiKey::expose`]
/// only to build the header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

/// Retry policy: exponential backoff with full jitter on 429, 5xx, timeouts and connect
/// errors; never on other 4xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Backoff ceiling of the first retry; doubles each retry.
    pub base_delay: Duration,
    /// Upper bound of any backoff delay.
    pub max_delay: Duration,
    /// Upper bound applied to a server's `Retry-After`.
    pub honor_retry_after_max: Duration,
}

/// Builder setters `with_<field>(value)`: each replaces one field and returns the value.
macro_rules! with_setters {
    ($($(#[$doc:meta])* $name:ident($field:ident: $ty:ty);)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $field: $ty) -> Self {
                self.$field = $field;
                self
            }
        )*
    };
}

impl ClientConfig {
    /// A configuration for the production API with default timeouts and retries.
    pub fn new(api_key: impl Into<ApiKey>, company_id: CompanyId) -> Self {
        Self {
            // The constant is a valid absolute URL; parsing it cannot fail.
            base_url: Url::parse(DEFAULT_BASE_URL).expect("DEFAULT_BASE_URL is a valid URL"),
            api_key: api_key.into(),
            company_id,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            user_agent: concat!("switchboard-radist/", env!("CARGO_PKG_VERSION")).to_owned(),
            validation: ValidateOptions::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    with_setters! {
        /// Replaces the base URL (e.g. `https://api-ru.radist.online/v2` or a sandbox).
        with_base_url(base_url: Url);
        /// Replaces the retry policy.
        with_retry(retry: RetryPolicy);
        /// Replaces the per-attempt request timeout.
        with_timeout(timeout: Duration);
        /// Replaces the cap on response bodies.
        with_max_response_bytes(max_response_bytes: u64);
        /// Replaces the outgoing-message validation options.
        with_validation(validation: ValidateOptions);
    }

    /// Checks what `reqwest` would not: scheme, base-ability, non-zero timeouts, the key.
    pub(crate) fn check(&self) -> Result<(), RadistError> {
        let url = &self.base_url;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(config(format!(
                "base_url `{url}` must be an http(s) URL such as {DEFAULT_BASE_URL}"
            )));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(config(
                "timeout and connect_timeout must be greater than zero",
            ));
        }
        if self.max_response_bytes == 0 {
            return Err(config(
                "max_response_bytes must be greater than zero; the default is 8388608",
            ));
        }
        if self.api_key.0.trim().is_empty() {
            return Err(config(
                "api_key is empty; set the key from the Radist company settings",
            ));
        }
        Ok(())
    }
}

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The raw key, for the `X-Api-Key` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        Self(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        Self(key.to_owned())
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            honor_retry_after_max: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }
}

fn config(message: impl Into<String>) -> RadistError {
    RadistError::Config(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_prints() {
        let cfg = ClientConfig::new("-secret-key-123", CompanyId(1));
        assert_eq!(cfg.api_key.to_string(), "ApiKey(***)");
        let debug = format!("{cfg:?}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("ApiKey(***)"), "{debug}");
        assert_eq!(cfg.api_key.expose(), "-secret-key-123");
    }

    #[test]
    fn each_setter_replaces_its_field() {
        let url = Url::parse("http://127.0.0.1:9/v2/").unwrap();
        let validation = ValidateOptions {
            list_body_max: 4096,
            ..ValidateOptions::default()
        };
        let cfg = ClientConfig::new("k", CompanyId(1))
            .with_base_url(url.clone())
            .with_retry(RetryPolicy::none())
            .with_timeout(Duration::from_millis(250))
            .with_max_response_bytes(1024)
            .with_validation(validation.clone());
        assert_eq!(cfg.base_url, url);
        assert_eq!(cfg.retry, RetryPolicy::none());
        assert_eq!(cfg.timeout, Duration::from_millis(250));
        assert_eq!(cfg.max_response_bytes, 1024);
        assert_eq!(cfg.validation, validation);
        assert_eq!(cfg.connect_timeout, Duration::from_secs(5));
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let cfg = ClientConfig::new("k", CompanyId(1));
        assert_eq!(cfg.base_url.as_str(), "https://api.radist.online/v2");
        assert_eq!(cfg.timeout, Duration::from_secs(10));
        assert_eq!(cfg.retry.max_retries, 4);
        assert_eq!(cfg.retry.base_delay, Duration::from_millis(200));
        assert_eq!(cfg.retry.max_delay, Duration::from_secs(10));
        assert_eq!(cfg.retry.honor_retry_after_max, Duration::from_secs(60));
        assert_eq!(cfg.max_response_bytes, 8 * 1024 * 1024);
        assert!(cfg.check().is_ok());
        let zero_cap = cfg.with_max_response_bytes(0).check().unwrap_err();
        assert!(
            zero_cap.to_string().contains("max_response_bytes"),
            "{zero_cap}"
        );
    }

    #[test]
    fn check_rejects_bad_settings_without_echoing_the_key() {
        let bad_scheme = ClientConfig::new("k", CompanyId(1))
            .with_base_url(Url::parse("ftp://example.invalid/v2").unwrap());
        assert!(matches!(bad_scheme.check(), Err(RadistError::Config(_))));
        let zero = ClientConfig::new("k", CompanyId(1)).with_timeout(Duration::ZERO);
        assert!(matches!(zero.check(), Err(RadistError::Config(_))));
        let empty = ClientConfig::new("  ", CompanyId(1));
        let err = empty.check().unwrap_err().to_string();
        assert!(err.contains("api_key is empty"), "{err}");
    }
}
