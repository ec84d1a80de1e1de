//! `http`: outbound requests to the origins in `capabilities.http.allow` only. Redirects are
//! followed by hand (at most [`MAX_REDIRECTS`]) and every `Location` is checked against the allow
//! list; `Authorization`, `Cookie` and `Proxy-Authorization` are dropped once a redirect leaves
//! the request's origin. Headers are checked and capped before any is built (`headers`);
//! connections only go to addresses the plugin may reach (`guard`); request and response
//! bodies are capped at `max_body_bytes` (a response is refused on its `Content-Length` before
//! it is read, or cut while streaming). Non-GET/HEAD requests are journaled so a retried run does
//! not post twice. The recorded request carries keyed digests of the headers and body, never
//! their values.

mod guard;
mod headers;

use std::time::Duration;

use hmac::Mac;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use switchboard_manifest::HttpGrant;
use url::Url;

#[cfg(test)]
pub(crate) use guard::AddressLookup;
pub(crate) use guard::{plugin_client, system_lookup};

use self::guard::{BlockedAddress, Exemptions};
use self::headers::{HeaderProblem, MAX_HEADERS, header_map, strip_credentials};
use super::upstream;
use super::wit::http::{Host, Method, Request, Response};
use super::wit::types::{Error, FieldError};
use crate::digest::DigestKey;
use crate::journal::Prior;
use crate::state::HostState;

/// Redirect hops followed before giving up.
pub(crate) const MAX_REDIRECTS: usize = 5;

impl Host for HostState {
    async fn send(&mut self, req: Request) -> wasmtime::Result<Result<Response, Error>> {
        let ctx = &mut self.ctx;
        let mut pending = ctx
            .recorder
            .begin("http.send", summary(&ctx.plugin.digest, &req));
        let (Some(grant), Some(client)) = (
            ctx.plugin.manifest.capabilities.http.clone(),
            ctx.plugin.http.clone(),
        ) else {
            return Ok(Err(ctx.not_granted(pending, "capabilities.http")));
        };
        let headers = match prepare(&grant, &req) {
            Ok(headers) => headers,
            Err(HttpFailure::Denied(message)) => return Ok(Err(ctx.deny(pending, message))),
            Err(HttpFailure::Guest(e)) => return Ok(Err(ctx.fail(pending, e))),
        };
        let effectful = !matches!(req.method, Method::Get | Method::Head);
        if effectful {
            match ctx.recorder.intent(&mut pending, None).await? {
                Prior::Completed { result, .. } => {
                    if let Some(response) = response_from_json(&result) {
                        ctx.succeed(pending, json!({ "status": response.status }), true);
                        return Ok(Ok(response));
                    }
                }
                Prior::Pending { .. } if !ctx.caches.ledger.resend_pending_http => {
                    let decision = "outcome unknown: an earlier attempt sent it and got no answer; not sent again";
                    ctx.recorder.decide_unknown(&mut pending, decision).await?;
                    let message = "outcome unknown: an earlier attempt of this run sent this request and got no answer; not repeated";
                    return Ok(Err(ctx.fail(pending, upstream(None, message, false))));
                }
                Prior::Pending { .. } => {
                    let decision = "outcome unknown: sent again (resend_pending_http)";
                    ctx.recorder.decide_unknown(&mut pending, decision).await?;
                }
                Prior::Fresh | Prior::Mismatch { .. } => {}
            }
        }
        // Once on the wire, the request and its journal entry finish in a task of their own,
        // even when the run's timeout drops this call. A request is never reconciled, so its
        // result is written at once rather than with the run's end.
        pending.write_at_once();
        let completer = effectful.then(|| ctx.recorder.completer(&pending));
        let task = tokio::spawn(async move {
            let outcome = perform(&client, &grant, req, headers).await;
            if let (Some(completer), Ok(response)) = (&completer, &outcome) {
                completer
                    .complete(&response_to_json(response), None)
                    .await?;
            }
            Ok::<_, crate::journal::JournalError>(outcome)
        });
        match task.await?? {
            Ok(response) => {
                let summary =
                    json!({ "status": response.status, "body_bytes": response.body.len() });
                ctx.succeed(pending, summary, false);
                Ok(Ok(response))
            }
            Err(HttpFailure::Denied(m)) => Ok(Err(ctx.deny(pending, m))),
            Err(HttpFailure::Guest(e)) => Ok(Err(ctx.fail(pending, e))),
        }
    }
}

enum HttpFailure {
    Denied(String),
    Guest(Error),
}

impl From<HeaderProblem> for HttpFailure {
    fn from(problem: HeaderProblem) -> Self {
        match problem {
            HeaderProblem::Denied(message) => HttpFailure::Denied(message),
            HeaderProblem::Invalid { path, message } => {
                HttpFailure::Guest(Error::Invalid(vec![FieldError { path, message }]))
            }
        }
    }
}

impl From<BlockedAddress> for HttpFailure {
    fn from(blocked: BlockedAddress) -> Self {
        HttpFailure::Denied(blocked.to_string())
    }
}

/// Everything checked before anything is sent: origin, literal address, body size, headers.
fn prepare(grant: &HttpGrant, req: &Request) -> Result<HeaderMap, HttpFailure> {
    check_request(grant, req).map_err(HttpFailure::Denied)?;
    Exemptions::of(Some(grant)).check_url(&req.url)?;
    Ok(header_map(&req.headers)?)
}

/// Checks the URL's origin and the request body size before anything is sent.
pub(crate) fn check_request(grant: &HttpGrant, req: &Request) -> Result<(), String> {
    check_url(grant, &req.url)?;
    let size = req.body.as_ref().map_or(0, Vec::len) as u64;
    if size > grant.max_body_bytes {
        return Err(format!(
            "request body of {size} bytes exceeds `capabilities.http.max_body_bytes` ({})",
            grant.max_body_bytes
        ));
    }
    Ok(())
}

/// Refuses a URL whose origin is not in `capabilities.http.allow`.
pub(crate) fn check_url(grant: &HttpGrant, url: &str) -> Result<(), String> {
    if grant.allows(url) {
        return Ok(());
    }
    let origin = Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| "an unparsable URL".to_owned());
    Err(format!(
        "{origin} is not in `capabilities.http.allow`; add it to the manifest"
    ))
}

async fn perform(
    client: &reqwest::Client,
    grant: &HttpGrant,
    req: Request,
    mut headers: HeaderMap,
) -> Result<Response, HttpFailure> {
    let timeout = Duration::from_millis(u64::from(grant.timeout_ms));
    let exemptions = Exemptions::of(Some(grant));
    let first_origin = origin_of(&req.url);
    let mut method = to_reqwest(req.method);
    let mut body = req.body;
    let mut url = req.url;
    for _ in 0..=MAX_REDIRECTS {
        let mut builder = client
            .request(method.clone(), &url)
            .timeout(timeout)
            .headers(headers.clone());
        if let Some(bytes) = &body {
            builder = builder.body(bytes.clone());
        }
        let response = builder.send().await.map_err(|e| send_failure(&e))?;
        let Some(next) = redirect_target(&url, &response) else {
            return read_response(response, grant.max_body_bytes).await;
        };
        check_url(grant, &next).map_err(|m| HttpFailure::Denied(format!("redirect to {m}")))?;
        exemptions.check_url(&next)?;
        if origin_of(&next) != first_origin {
            strip_credentials(&mut headers);
        }
        let status = response.status().as_u16();
        if status == 303 || (matches!(status, 301 | 302) && method == reqwest::Method::POST) {
            method = reqwest::Method::GET;
            body = None;
        }
        url = next;
    }
    Err(HttpFailure::Guest(upstream(
        None,
        "too many redirects",
        false,
    )))
}

/// `scheme://host:port` of `url`, for comparing hops.
fn origin_of(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

/// The absolute URL a 3xx response points to, if it is a redirect with a usable `Location`.
fn redirect_target(current: &str, response: &reqwest::Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()?;
    Url::parse(current)
        .ok()?
        .join(location)
        .ok()
        .map(String::from)
}

/// The body, refused on a `Content-Length` over `cap` before it is read, or cut past `cap`.
async fn read_response(mut response: reqwest::Response, cap: u64) -> Result<Response, HttpFailure> {
    let status = response.status().as_u16();
    if let Some(declared) = response.content_length().filter(|len| *len > cap) {
        return Err(too_large(
            status,
            &format!("{declared} bytes declared"),
            cap,
        ));
    }
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    // Reserve what the server declares, but no more than a first chunk's worth up front: the
    // bytes may never come.
    let expected = response
        .content_length()
        .unwrap_or(0)
        .min(cap)
        .min(64 * 1024);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|e| send_failure(&e))? {
        if (body.len() + chunk.len()) as u64 > cap {
            return Err(too_large(status, "the body was cut", cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn too_large(status: u16, detail: &str, cap: u64) -> HttpFailure {
    let message = format!(
        "response too large ({detail}): over `capabilities.http.max_body_bytes` ({cap}); raise it or ask for less"
    );
    HttpFailure::Guest(upstream(Some(status), &message, false))
}

/// A refused address is `denied`; anything else a transport failure.
fn send_failure(e: &reqwest::Error) -> HttpFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(blocked) = err.downcast_ref::<BlockedAddress>() {
            return HttpFailure::Denied(blocked.to_string());
        }
        source = err.source();
    }
    HttpFailure::Guest(transport_error(e))
}

fn transport_error(e: &reqwest::Error) -> Error {
    let message = if e.is_timeout() {
        "request timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_builder() {
        "invalid request"
    } else {
        "request failed"
    };
    upstream(None, message, e.is_timeout() || e.is_connect())
}

fn to_reqwest(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
        Method::Head => reqwest::Method::HEAD,
    }
}

/// The recorded request: header names (at most [`MAX_HEADERS`]) and keyed digests of the
/// header values and body, never the values themselves.
fn summary(key: &DigestKey, req: &Request) -> Value {
    let names: Vec<&str> = req
        .headers
        .iter()
        .take(MAX_HEADERS)
        .map(|(k, _)| k.as_str())
        .collect();
    let body = req
        .body
        .as_ref()
        .map(|b| json!({ "bytes": b.len(), "hmac_sha256": key.hex_mac(b) }));
    json!({
        "method": format!("{:?}", req.method).to_lowercase(),
        "url": req.url,
        "headers": names,
        "header_count": req.headers.len(),
        "headers_hmac_sha256": headers_digest(key, &req.headers),
        "body": body,
    })
}

/// A keyed digest of every header, length-prefixed so names and values cannot run together.
fn headers_digest(key: &DigestKey, headers: &[(String, String)]) -> String {
    let mut mac = key.hmac();
    for (name, value) in headers {
        for part in [name, value] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part.as_bytes());
        }
    }
    crate::digest::hex(&mac.finalize().into_bytes())
}

/// The most response-body bytes kept in the journal; a replay of a longer body gets the first
/// this many bytes and a [`BODY_CUT_HEADER`] saying how many were dropped.
pub(crate) const MAX_JOURNAL_BODY_BYTES: usize = 64 * 1024;
/// Added to a replayed response whose journaled body was cut: the number of bytes dropped.
pub(crate) const BODY_CUT_HEADER: &str = "x-switchboard-body-cut";

fn response_to_json(r: &Response) -> Value {
    json!({
        "status": r.status,
        "headers": r.headers,
        "body": crate::compact::bytes_to_json(&r.body, MAX_JOURNAL_BODY_BYTES),
    })
}

fn response_from_json(v: &Value) -> Option<Response> {
    let (status, mut headers) =
        serde_json::from_value::<(u16, Vec<(String, String)>)>(json!([v["status"], v["headers"]]))
            .ok()?;
    let (body, cut) = crate::compact::bytes_from_json(&v["body"])?;
    if cut > 0 {
        headers.push((BODY_CUT_HEADER.to_owned(), cut.to_string()));
    }
    Some(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> HttpGrant {
        let caps = "http = { allow = [\"https://crm.example.com\", \"http://127.0.0.1:8080\"], max_body_bytes = 10 }";
        crate::test_support::manifest(caps)
            .capabilities
            .http
            .expect("http grant")
    }

    fn check(url: &str, allowed: bool) {
        assert_eq!(check_url(&grant(), url).is_ok(), allowed, "{url}");
    }

    #[test]
    fn only_listed_origins_are_allowed() {
        check("https://crm.example.com/api/v1?x=1", true);
        check("https://crm.example.com:443/", true);
        check("http://crm.example.com/", false);
        check("https://crm.example.com.evil.io/", false);
        check("https://evil.io/?https://crm.example.com", false);
        check("http://127.0.0.1:8080/x", true);
        check("http://127.0.0.1:8081/x", false);
        check("not a url", false);
        let err = check_url(&grant(), "https://evil.io/a").expect_err("denied");
        assert_eq!(
            err,
            "https://evil.io is not in `capabilities.http.allow`; add it to the manifest"
        );
    }

    #[test]
    fn request_bodies_are_capped() {
        let mut req = Request {
            method: Method::Post,
            url: "https://crm.example.com/".into(),
            headers: vec![],
            body: Some(vec![0; 10]),
        };
        assert!(check_request(&grant(), &req).is_ok());
        req.body = Some(vec![0; 11]);
        let err = check_request(&grant(), &req).expect_err("too big");
        assert!(err.contains("capabilities.http.max_body_bytes"), "{err}");
    }

    #[test]
    fn a_journaled_response_is_base64_capped_and_a_cut_body_replays_marked() {
        let response = Response {
            status: 201,
            headers: vec![("content-type".into(), "application/json".into())],
            body: vec![b'x'; 1 << 20],
        };
        let stored = response_to_json(&response);
        let size = stored.to_string().len();
        assert!(size < 100 * 1024, "1 MiB body stored in {size} bytes");
        let replayed = response_from_json(&stored).expect("replays");
        assert_eq!(replayed.status, 201);
        assert_eq!(replayed.body.len(), MAX_JOURNAL_BODY_BYTES);
        let cut = (1 << 20) - MAX_JOURNAL_BODY_BYTES;
        assert_eq!(
            replayed.headers.last(),
            Some(&(BODY_CUT_HEADER.to_owned(), cut.to_string()))
        );
        let small = Response {
            body: b"{}".to_vec(),
            ..response
        };
        let replayed = response_from_json(&response_to_json(&small)).expect("replays");
        assert_eq!(
            (replayed.body, replayed.headers),
            (small.body, small.headers)
        );
    }
}
