//! Webhook subscriptions: `GET/POST /companies/{id}/webhooks/`, `DELETE .../webhooks/{uuid}` → 204.
//! Changes apply at once (the real service says "up to 5 minutes").

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Value, json};
use uuid::Uuid;

use super::scope::Company;
use crate::error::{ApiError, ApiResult, error_item};
use crate::extract::{PathParams, json_object};
use crate::state::model::Subscription;
use crate::validate::webhook_body;

/// `GET /companies/{company_id}/webhooks/` → bare array.
pub async fn list(company: Company) -> ApiResult<Json<Value>> {
    let state = company.state()?;
    let subs = state
        .subscriptions
        .iter()
        .filter(|s| s.company_id == company.id)
        .map(Subscription::to_json);
    Ok(Json(Value::Array(subs.collect())))
}

/// `POST /companies/{company_id}/webhooks/` → the subscription with its `id`.
pub async fn create(company: Company, body: Bytes) -> ApiResult<Json<Value>> {
    let req = webhook_body(&json_object(&body)?)?;
    let mut state = company.state()?;
    state.connection(company.id, req.connection_id)?;
    let sub = Subscription {
        id: Uuid::new_v4(),
        company_id: company.id,
        connection_id: req.connection_id,
        url: req.url,
        events: req.events,
    };
    let out = sub.to_json();
    state.subscriptions.push(sub);
    Ok(Json(out))
}

/// `DELETE /companies/{company_id}/webhooks/{webhook_id}` → 204.
pub async fn delete(company: Company, Path(p): PathParams) -> ApiResult<StatusCode> {
    let raw = p.get("webhook_id").cloned().unwrap_or_default();
    let Ok(id) = Uuid::parse_str(&raw) else {
        let msg = "Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-]";
        return Err(ApiError::Validation(vec![error_item(
            "uuid_parsing",
            vec![json!("path"), json!("webhook_id")],
            msg,
            json!(raw),
            None,
        )]));
    };
    let mut state = company.state()?;
    let before = state.subscriptions.len();
    state
        .subscriptions
        .retain(|s| !(s.id == id && s.company_id == company.id));
    if state.subscriptions.len() == before {
        return Err(ApiError::not_found("Webhook not found"));
    }
    Ok(StatusCode::NO_CONTENT)
}
