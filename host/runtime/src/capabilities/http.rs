//! `http`: outbound requests to the origins in `capabilities.http.allow` only. Redirects are
//! followed by hand (at most [`MAX_REDIRECTS`]) and every `Location` is checked against the allow
//! list; request and response bodies are capped at `max_body_bytes`. Non-GET/HEAD requests are
//! journaled so a retried run does not post twice.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_manifest::HttpGrant;
use url::Url;

use super::upstream;
use super::wit::http::{Host, Method, Request, Response};
use super::wit::types::Error;
use crate::state::{HostState, RunContext};

/// Redirect hops followed before giving up.
pub(crate) const MAX_REDIRECTS: usize = 5;

impl Host for HostState {
    async fn send(&mut self, req: Request) -> wasmtime::Result<Result<Response, Error>> {
        let ctx = &mut self.ctx;
        let pending = ctx.recorder.begin("http.send", summary(&req));
        let Some(grant) = ctx.plugin.manifest.capabilities.http.clone() else {
            return Ok(Err(ctx.not_granted(pending, "capabilities.http")));
        };
        if let Err(message) = check_request(&grant, &req) {
            return Ok(Err(ctx.deny(pending, message)));
        }
        let effectful = !matches!(req.method, Method::Get | Method::Head);
        if effectful
            && let Some(prior) = ctx.recorder.prior(&pending).await?
            && let Some(response) = response_from_json(&prior)
        {
            ctx.succeed(pending, json!({ "status": response.status }), true);
            return Ok(Ok(response));
        }
        match perform(ctx, &grant, req).await {
            Ok(response) => {
                if effectful {
                    ctx.recorder
                        .complete(&pending, &response_to_json(&response))
                        .await?;
                }
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
    ctx: &RunContext,
    grant: &HttpGrant,
    req: Request,
) -> Result<Response, HttpFailure> {
    let client = &ctx.plugin.http;
    let timeout = Duration::from_millis(u64::from(grant.timeout_ms));
    let mut method = to_reqwest(req.method);
    let mut body = req.body;
    let mut url = req.url;
    for _ in 0..=MAX_REDIRECTS {
        let mut builder = client.request(method.clone(), &url).timeout(timeout);
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(bytes) = &body {
            builder = builder.body(bytes.clone());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| HttpFailure::Guest(transport_error(&e)))?;
        let Some(next) = redirect_target(&url, &response) else {
            return read_response(response, grant.max_body_bytes).await;
        };
        check_url(grant, &next).map_err(|m| HttpFailure::Denied(format!("redirect to {m}")))?;
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

async fn read_response(mut response: reqwest::Response, cap: u64) -> Result<Response, HttpFailure> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| HttpFailure::Guest(transport_error(&e)))?
    {
        if (body.len() + chunk.len()) as u64 > cap {
            let message =
                format!("response body exceeds `capabilities.http.max_body_bytes` ({cap})");
            return Err(HttpFailure::Guest(upstream(Some(status), &message, false)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
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

/// The recorded request: header values and bodies are summarised, never stored whole.
fn summary(req: &Request) -> Value {
    let headers: Vec<&str> = req.headers.iter().map(|(k, _)| k.as_str()).collect();
    let body = req
        .body
        .as_ref()
        .map(|b| json!({ "bytes": b.len(), "sha256": crate::cache::sha256_hex(b) }));
    let header_digest = crate::cache::sha256_hex(format!("{:?}", req.headers).as_bytes());
    json!({
        "method": format!("{:?}", req.method).to_lowercase(),
        "url": req.url,
        "headers": headers,
        "headers_sha256": header_digest,
        "body": body,
    })
}

fn response_to_json(r: &Response) -> Value {
    json!({ "status": r.status, "headers": r.headers, "body": r.body })
}

fn response_from_json(v: &Value) -> Option<Response> {
    serde_json::from_value::<(u16, Vec<(String, String)>, Vec<u8>)>(json!([
        v["status"],
        v["headers"],
        v["body"]
    ]))
    .ok()
    .map(|(status, headers, body)| Response {
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
}
