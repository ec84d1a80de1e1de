//! Human-readable host errors, and the `?` conversion into the `String` that `handle` returns.

use crate::Error;

impl Error {
    /// One line saying what went wrong, for logs and for the run's error.
    pub fn describe(&self) -> String {
        match self {
            Error::Denied(why) => format!("denied: {why}"),
            Error::Invalid(fields) => {
                let list: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{}: {}", f.path, f.message))
                    .collect();
                format!("invalid request: {}", list.join("; "))
            }
            Error::WindowClosed(_) => {
                "the WABA 24-hour window is closed; send a template".to_owned()
            }
            Error::RateLimited(ms) => format!("rate limited; retry after {ms} ms"),
            Error::NotFound(what) => format!("not found: {what}"),
            Error::Upstream(e) => match e.status {
                Some(status) => format!("upstream error {status}: {}", e.message),
                None => format!("upstream error: {}", e.message),
            },
        }
    }

    /// Whether this is a closed WABA window (a template would go through).
    pub fn is_window_closed(&self) -> bool {
        matches!(self, Error::WindowClosed(_))
    }

    /// Whether the manifest does not grant the call.
    pub fn is_denied(&self) -> bool {
        matches!(self, Error::Denied(_))
    }
}

impl From<Error> for String {
    fn from(error: Error) -> Self {
        error.describe()
    }
}
