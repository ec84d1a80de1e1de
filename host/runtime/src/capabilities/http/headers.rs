//! The guest's request headers, checked and bounded before any is built: at most
//! [`MAX_HEADERS`] headers of [`MAX_HEADER_BYTES`] in total, no header the host owns (`Host`,
//! hop-by-hop and framing headers), every name and value well-formed. Only then is a
//! `HeaderMap` made, so no guest input reaches an API that panics on it (`HeaderMap::append`
//! panics past about 24,000 entries).

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};

/// The most headers a request may carry.
pub(crate) const MAX_HEADERS: usize = 64;
/// The most bytes of header names and values a request may carry, in total.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Headers dropped when a redirect leaves the origin the request was sent to.
const CREDENTIALS: [HeaderName; 3] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
];

/// Why the guest's headers cannot be sent.
#[derive(Debug, PartialEq)]
pub(crate) enum HeaderProblem {
    /// Refused by policy (too many, too large, owned by the host): the guest gets `denied`.
    Denied(String),
    /// Malformed: the guest gets `invalid` for `path` (e.g. `headers[3]`).
    Invalid { path: String, message: String },
}

/// The guest's headers as a `HeaderMap`, or the first reason they cannot be sent.
pub(crate) fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, HeaderProblem> {
    check_size(headers)?;
    let mut map = HeaderMap::with_capacity(headers.len());
    for (i, (name, value)) in headers.iter().enumerate() {
        let (name, value) = header(i, name, value)?;
        map.append(name, value);
    }
    Ok(map)
}

/// Removes `Authorization`, `Cookie` and `Proxy-Authorization` (for a cross-origin redirect).
pub(crate) fn strip_credentials(map: &mut HeaderMap) {
    for name in &CREDENTIALS {
        map.remove(name);
    }
}

fn check_size(headers: &[(String, String)]) -> Result<(), HeaderProblem> {
    if headers.len() > MAX_HEADERS {
        return Err(HeaderProblem::Denied(format!(
            "{} request headers are more than the {MAX_HEADERS} allowed; send fewer headers",
            headers.len()
        )));
    }
    let bytes = headers
        .iter()
        .fold(0usize, |sum, (k, v)| sum.saturating_add(k.len() + v.len()));
    if bytes > MAX_HEADER_BYTES {
        return Err(HeaderProblem::Denied(format!(
            "request headers of {bytes} bytes are more than the {MAX_HEADER_BYTES} allowed; send smaller headers"
        )));
    }
    Ok(())
}

fn header(i: usize, name: &str, value: &str) -> Result<(HeaderName, HeaderValue), HeaderProblem> {
    let invalid = |message: String| HeaderProblem::Invalid {
        path: format!("headers[{i}]"),
        message,
    };
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        invalid(format!(
            "{name:?} is not a valid header name; use a token such as `x-api-key`"
        ))
    })?;
    if let Some(reason) = host_owned(&name) {
        return Err(HeaderProblem::Denied(format!(
            "request header `{name}` {reason}; remove it"
        )));
    }
    // The value is never echoed: it may be a secret.
    let value = HeaderValue::from_str(value).map_err(|_| {
        invalid(format!(
            "the value of `{name}` is not a valid header value; use visible ASCII without line breaks"
        ))
    })?;
    Ok((name, value))
}

/// Why the host, not the guest, sets this header; `None` when the guest may.
fn host_owned(name: &HeaderName) -> Option<&'static str> {
    match name.as_str() {
        "host" => Some("is set by the host from the URL"),
        "content-length" | "transfer-encoding" => Some("frames the body and is set by the host"),
        "connection" | "keep-alive" | "te" | "trailer" | "upgrade" => {
            Some("is a hop-by-hop header managed by the host")
        }
        n if n.starts_with("proxy-") => Some("is for proxies, which plugins do not use"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn check(pairs: &[(&str, &str)], expected: Result<usize, HeaderProblem>) {
        let got = header_map(&headers(pairs)).map(|m| m.len());
        assert_eq!(got, expected, "{pairs:?}");
    }

    fn denied(message: &str) -> Result<usize, HeaderProblem> {
        Err(HeaderProblem::Denied(message.to_owned()))
    }

    fn invalid(path: &str, message: &str) -> Result<usize, HeaderProblem> {
        Err(HeaderProblem::Invalid {
            path: path.to_owned(),
            message: message.to_owned(),
        })
    }

    #[test]
    fn ordinary_headers_pass_repeated_names_included() {
        check(&[("x-token", "t"), ("Accept", "a"), ("accept", "b")], Ok(3));
        check(&[], Ok(0));
    }

    #[test]
    fn host_hop_by_hop_and_framing_headers_are_refused_by_name() {
        let cases = [
            (
                "Host",
                "request header `host` is set by the host from the URL; remove it",
            ),
            (
                "Content-Length",
                "request header `content-length` frames the body and is set by the host; remove it",
            ),
            (
                "transfer-encoding",
                "request header `transfer-encoding` frames the body and is set by the host; remove it",
            ),
            (
                "Connection",
                "request header `connection` is a hop-by-hop header managed by the host; remove it",
            ),
            (
                "keep-alive",
                "request header `keep-alive` is a hop-by-hop header managed by the host; remove it",
            ),
            (
                "TE",
                "request header `te` is a hop-by-hop header managed by the host; remove it",
            ),
            (
                "Trailer",
                "request header `trailer` is a hop-by-hop header managed by the host; remove it",
            ),
            (
                "Upgrade",
                "request header `upgrade` is a hop-by-hop header managed by the host; remove it",
            ),
            (
                "Proxy-Authorization",
                "request header `proxy-authorization` is for proxies, which plugins do not use; remove it",
            ),
        ];
        for (name, message) in cases {
            check(&[("x-ok", "1"), (name, "v")], denied(message));
        }
    }

    #[test]
    fn malformed_names_and_values_are_invalid_and_values_are_not_echoed() {
        check(
            &[("x-ok", "1"), ("bad name", "v")],
            invalid(
                "headers[1]",
                "\"bad name\" is not a valid header name; use a token such as `x-api-key`",
            ),
        );
        check(
            &[("", "v")],
            invalid(
                "headers[0]",
                "\"\" is not a valid header name; use a token such as `x-api-key`",
            ),
        );
        let bad_value = "invalid: the value of `x-a` is not a valid header value; use visible ASCII without line breaks";
        for value in ["secret\r\nx-injected: 1", "nul\0", "del\u{7f}"] {
            check(
                &[("x-a", value)],
                invalid("headers[0]", &bad_value["invalid: ".len()..]),
            );
        }
    }

    #[test]
    fn count_and_total_size_are_capped() {
        let many: Vec<(String, String)> = (0..=MAX_HEADERS)
            .map(|i| (format!("x-{i}"), "v".into()))
            .collect();
        assert!(header_map(&many[..MAX_HEADERS]).is_ok());
        assert_eq!(
            header_map(&many).map(|m| m.len()),
            denied("65 request headers are more than the 64 allowed; send fewer headers")
        );
        let big = "v".repeat(MAX_HEADER_BYTES - 1);
        check(&[("x", &big)], Ok(1));
        check(
            &[("xy", &big)],
            denied(
                "request headers of 16385 bytes are more than the 16384 allowed; send smaller headers",
            ),
        );
    }

    #[test]
    fn a_header_flood_is_refused_without_panicking() {
        // 25,000 distinct names made `HeaderMap::append` panic the host before the cap.
        let flood: Vec<(String, String)> = (0..25_000)
            .map(|i| (format!("x-{i}"), String::new()))
            .collect();
        assert!(matches!(header_map(&flood), Err(HeaderProblem::Denied(_))));
    }

    #[test]
    fn credentials_are_stripped() {
        let mut map = header_map(&headers(&[
            ("authorization", "Bearer t"),
            ("cookie", "a=b"),
            ("x-token", "t"),
        ]))
        .expect("valid");
        strip_credentials(&mut map);
        let names: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-token"]);
    }
}
