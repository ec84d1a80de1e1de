//! HTTP origins (`scheme://host[:port]`) that a plugin may call, and matching request URLs
//! against them. Pure string logic on top of the `url` crate's parser.

use std::fmt;

use url::Url;

/// An HTTP origin: scheme (`http` or `https`), host and port, with no path.
///
/// Displays as `https://crm.example.com`, with the port only when it is not the scheme's default.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host as the URL parser normalises it (lowercase, IDNA-encoded).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, the scheme's default when the manifest gave none.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether `url` is on this origin: same scheme, host and port. Unparsable URLs match nothing.
    pub fn matches(&self, url: &str) -> bool {
        let origin = Url::parse(url).ok().and_then(|url| Self::of(&url));
        origin.is_some_and(|origin| origin == *self)
    }

    /// Parses an origin as written in `capabilities.http.allow`; the error says what to write.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let example = "write it as `https://host` or `https://host:port`";
        if text.contains('*') {
            return Err(format!(
                "`{text}` has a wildcard; list each origin, e.g. `https://api.example.com`"
            ));
        }
        if !text.contains("://") {
            return Err(format!("`{text}` has no scheme; write `https://{text}`"));
        }
        let url = Url::parse(text)
            .map_err(|e| format!("`{text}` is not a valid origin ({e}); {example}"))?;
        let Some(origin) = Self::of(&url) else {
            return Err(format!(
                "`{text}` is not an http or https origin; {example}"
            ));
        };
        match extra_part(&url) {
            Some(part) => Err(format!("`{text}` has {part}; list the origin `{origin}`")),
            None => Ok(origin),
        }
    }

    fn of(url: &Url) -> Option<Self> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        Some(Self {
            scheme: scheme.to_owned(),
            host: url.host_str()?.to_owned(),
            port: url.port_or_known_default()?,
        })
    }

    fn default_port(&self) -> u16 {
        if self.scheme == "http" { 80 } else { 443 }
    }
}

/// What a URL has beyond an origin, if anything.
fn extra_part(url: &Url) -> Option<&'static str> {
    if !url.username().is_empty() || url.password().is_some() {
        Some("credentials")
    } else if url.path() != "/" {
        Some("a path")
    } else if url.query().is_some() {
        Some("a query")
    } else if url.fragment().is_some() {
        Some("a fragment")
    } else {
        None
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if self.port != self.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Origin(\"{self}\")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<&str, &str>) {
        let parsed = Origin::parse(text).map(|origin| origin.to_string());
        assert_eq!(
            parsed,
            expected.map(str::to_owned).map_err(str::to_owned),
            "{text}"
        );
    }

    #[test]
    fn origins_parse_and_normalise() {
        check("https://crm.example.com", Ok("https://crm.example.com"));
        check("https://CRM.Example.com/", Ok("https://crm.example.com"));
        check("https://crm.example.com:443", Ok("https://crm.example.com"));
        check("http://127.0.0.1:8080", Ok("http://127.0.0.1:8080"));
    }

    #[test]
    fn origins_with_more_than_an_origin_are_refused() {
        check(
            "https://crm.example.com/api",
            Err(
                "`https://crm.example.com/api` has a path; list the origin `https://crm.example.com`",
            ),
        );
        check(
            "https://a.example?x=1",
            Err("`https://a.example?x=1` has a query; list the origin `https://a.example`"),
        );
        check(
            "https://u:p@a.example",
            Err("`https://u:p@a.example` has credentials; list the origin `https://a.example`"),
        );
        check(
            "crm.example.com",
            Err("`crm.example.com` has no scheme; write `https://crm.example.com`"),
        );
        check(
            "ftp://a.example",
            Err(
                "`ftp://a.example` is not an http or https origin; write it as `https://host` or `https://host:port`",
            ),
        );
        check(
            "https://*.example.com",
            Err(
                "`https://*.example.com` has a wildcard; list each origin, e.g. `https://api.example.com`",
            ),
        );
    }

    #[test]
    fn urls_match_their_origin_only() {
        let origin = Origin::parse("https://crm.example.com").expect("valid origin");
        assert!(origin.matches("https://crm.example.com/api/v1/leads?x=1"));
        assert!(origin.matches("https://CRM.example.com:443/"));
        assert!(!origin.matches("http://crm.example.com/"));
        assert!(!origin.matches("https://crm.example.com:8443/"));
        assert!(!origin.matches("https://crm.example.com.evil.net/"));
        assert!(!origin.matches("not a url"));
    }
}
