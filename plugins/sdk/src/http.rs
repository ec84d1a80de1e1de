//! Outbound HTTP (`http` interface) to the origins listed in `capabilities.http.allow`; any other
//! origin answers [`Error::Denied`].
//!
//! ```
//! use switchboard_plugin::http::{Method, Request};
//!
//! let req = Request::post("https://crm.example.com/contacts")
//!     .bearer("token")
//!     .json(&serde_json::json!({ "phone": "79990001122" }));
//! assert!(matches!(req.method, Method::Post));
//! assert!(req.headers.iter().any(|(k, v)| k == "content-type" && v == "application/json"));
//! ```

use crate::bindings::switchboard::plugin::http as wit;
use crate::{Error, FieldError};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use wit::{Method, Request, Response};

/// Sends `req` and returns the response, whatever its status.
pub fn send(req: &Request) -> Result<Response, Error> {
    wit::send(req)
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Sets a JSON body and its content type.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        // Serializing plain data (maps, structs of strings and numbers) cannot fail.
        self.body = Some(serde_json::to_vec(body).unwrap_or_default());
        self.header("content-type", "application/json")
    }

    /// Sends the request.
    pub fn send(&self) -> Result<Response, Error> {
        send(self)
    }
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::Invalid(vec![FieldError {
                path: "body".into(),
                message: e.to_string(),
            }])
        })
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
