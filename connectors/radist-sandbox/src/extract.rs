//! Request inputs the FastAPI way: query strings and path segments checked into pydantic-shaped
//! 422s, and JSON bodies (`json_invalid`, `missing`, `model_attributes_type`).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::state::State as Sandbox;
use crate::validate::{Lower, Report};

/// Largest value of Radist's integer path and query ids.
pub const MAX_ID: i64 = 2_147_483_647;

/// The raw query pairs of a request.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(Self(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

/// Path parameters by name.
pub type PathParams = Path<HashMap<String, String>>;

fn loc(place: &str, name: &str) -> Vec<Value> {
    vec![json!(place), json!(name)]
}

impl QueryParams {
    /// First value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (`types=a&types=b`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An integer query parameter with bounds; `default` when absent.
    pub fn int(
        &self,
        r: &mut Report,
        name: &str,
        default: Option<i64>,
        lower: Lower,
        max: i64,
    ) -> Option<i64> {
        match self.get(name) {
            None if default.is_none() => {
                r.missing(loc("query", name), Value::Null);
                None
            }
            None => default,
            Some(raw) => r.int_value(&json!(raw), &loc("query", name), lower, max),
        }
    }

    /// `offset` (from 0) and `limit` (1..=100, default 100) of a list, in that order.
    pub fn offset_limit(&self, r: &mut Report) -> (usize, usize) {
        let offset = self
            .int(r, "offset", Some(0), Lower::Ge(0), i64::MAX)
            .unwrap_or(0);
        let limit = self.int(r, "limit", Some(100), Lower::Ge(1), 100);
        (offset as usize, limit.unwrap_or(100) as usize)
    }

    /// An optional integer query parameter.
    pub fn opt_int(&self, r: &mut Report, name: &str, lower: Lower, max: i64) -> Option<i64> {
        let raw = self.get(name)?;
        r.int_value(&json!(raw), &loc("query", name), lower, max)
    }

    /// An optional string with a length range.
    pub fn opt_str(&self, r: &mut Report, name: &str, min: usize, max: usize) -> Option<String> {
        let raw = self.get(name)?;
        r.str_value(&json!(raw), &loc("query", name), min, max)
    }

    /// A boolean with a default.
    pub fn bool(&self, r: &mut Report, name: &str, default: bool) -> bool {
        match self.get(name) {
            None => default,
            Some(raw) => r
                .bool_value(&json!(raw), &loc("query", name))
                .unwrap_or(default),
        }
    }

    /// An optional date-time.
    pub fn opt_datetime(&self, r: &mut Report, name: &str) -> Option<DateTime<Utc>> {
        let raw = self.get(name)?;
        let parsed = crate::time::parse(raw);
        if parsed.is_none() {
            r.push(
                "datetime_from_date_parsing",
                loc("query", name),
                "Input should be a valid datetime or date, invalid character in year",
                json!(raw),
                None,
            );
        }
        parsed
    }
}

/// An integer path parameter in `1..=MAX_ID`, reported as `["path", name]`.
pub fn path_int(r: &mut Report, params: &HashMap<String, String>, name: &str) -> Option<i64> {
    let raw = params.get(name).map_or("", String::as_str);
    r.int_value(&json!(raw), &loc("path", name), Lower::Ge(1), MAX_ID)
}

/// The `company_id` path parameter alone, as a 422 on failure.
pub fn company_id(params: &HashMap<String, String>) -> Result<i64, ApiError> {
    let mut r = Report::default();
    let id = path_int(&mut r, params, "company_id");
    r.finish()?;
    id.ok_or_else(|| ApiError::not_found("Company not found"))
}

/// `(company, id)` of a `/companies/{company_id}/…/{name}` path: both integers (one 422
/// naming every bad segment), the company known (else 404). The id is not looked up.
pub fn company_and(
    state: &Sandbox,
    params: &HashMap<String, String>,
    name: &str,
) -> Result<(i64, i64), ApiError> {
    let mut r = Report::default();
    let company = path_int(&mut r, params, "company_id");
    let id = path_int(&mut r, params, name);
    r.finish()?;
    let company = state.company(company.unwrap_or_default())?.id;
    Ok((company, id.unwrap_or_default()))
}

/// Parses a JSON object body the way FastAPI reports problems with it.
pub fn json_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        let item = crate::error::error_item(
            "missing",
            vec![json!("body")],
            "Field required",
            Value::Null,
            None,
        );
        return Err(ApiError::Validation(vec![item]));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => {
            let msg = "Input should be a valid dictionary or object to extract fields from";
            Err(ApiError::Validation(vec![crate::error::error_item(
                "model_attributes_type",
                vec![json!("body")],
                msg,
                other,
                None,
            )]))
        }
        Err(err) => Err(json_invalid(body, &err)),
    }
}

/// Parses any JSON body (e.g. a bare array) the way FastAPI reports problems with it.
pub fn json_value(body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        let loc = vec![json!("body")];
        let item = crate::error::error_item("missing", loc, "Field required", Value::Null, None);
        return Err(ApiError::Validation(vec![item]));
    }
    serde_json::from_slice(body).map_err(|err| json_invalid(body, &err))
}

fn json_invalid(body: &Bytes, err: &serde_json::Error) -> ApiError {
    let text = String::from_utf8_lossy(body);
    let before: usize = text
        .split('\n')
        .take(err.line().saturating_sub(1))
        .map(|l| l.chars().count() + 1)
        .sum();
    let position = before + err.column().saturating_sub(1);
    let ctx = json!({"error": err.to_string()});
    let item = crate::error::error_item(
        "json_invalid",
        vec![json!("body"), json!(position)],
        "JSON decode error",
        json!({}),
        Some(ctx),
    );
    ApiError::Validation(vec![item])
}
