//! Company tags (`/tags/`, name 1..=15 characters, unique per company, case-sensitive) and a
//! contact's tag set (`PUT /contacts/{id}/tags/` replaces the whole set).

use axum::Json;
use axum::extract::{Path, State};
use bytes::Bytes;
use serde_json::{Value, json};

use super::scope::{Company, Scoped, company_and_query};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{PathParams, QueryParams, company_and, json_object, json_value};
use crate::state::State as Sandbox;
use crate::validate::{TagBody, tag_body, tag_ids};

/// `(company, tag)` of a `…/tags/{tag_id}` path, both checked.
fn tag_at(state: &Sandbox, p: &std::collections::HashMap<String, String>) -> ApiResult<(i64, i64)> {
    let (company, tag) = company_and(state, p, "tag_id")?;
    Ok((company, state.crm.tag(company, tag)?.id))
}

/// 422 when another tag of the company already has the name (the spec: unique, case-sensitive).
fn check_free(state: &Sandbox, company: i64, body: &TagBody, except: Option<i64>) -> ApiResult<()> {
    match state.crm.tag_named(company, &body.name) {
        Some(tag) if Some(tag.id) != except => Err(ApiError::value_error(
            vec![json!("body"), json!("name")],
            &format!(
                "tag with name `{}` already exists in this company",
                body.name
            ),
            json!(body.name),
        )),
        _ => Ok(()),
    }
}

/// `GET /companies/{company_id}/tags/` → array of `TagOut`, by id.
pub async fn list(Scoped { app, p }: Scoped, q: QueryParams) -> ApiResult<Json<Value>> {
    let (state, company, (offset, limit)) = company_and_query(&app, &p, |r| q.offset_limit(r))?;
    let tags = state.crm.tags.values().filter(|t| t.company_id == company);
    let page = tags.skip(offset).take(limit);
    Ok(Json(Value::Array(page.map(|t| t.to_json()).collect())))
}

/// `POST /companies/{company_id}/tags/` → `TagOut`.
pub async fn create(company: Company, body: Bytes) -> ApiResult<Json<Value>> {
    let req = tag_body(&json_object(&body)?, false)?;
    let mut state = company.state()?;
    check_free(&state, company.id, &req, None)?;
    let id = state.crm.insert_tag(
        company.id,
        &req.name,
        &req.description,
        &req.background_color,
    );
    Ok(Json(state.crm.tag(company.id, id)?.to_json()))
}

/// `GET /companies/{company_id}/tags/{tag_id}` → `TagOut`.
pub async fn get(State(app): State<AppState>, Path(p): PathParams) -> ApiResult<Json<Value>> {
    let state = app.state();
    let (company, id) = tag_at(&state, &p)?;
    Ok(Json(state.crm.tag(company, id)?.to_json()))
}

/// `PUT /companies/{company_id}/tags/{tag_id}` → `TagOut` (every field replaced).
pub async fn update(Scoped { app, p }: Scoped, body: Bytes) -> ApiResult<Json<Value>> {
    let req = tag_body(&json_object(&body)?, true)?;
    let mut state = app.state();
    let (company, id) = tag_at(&state, &p)?;
    check_free(&state, company, &req, Some(id))?;
    if let Some(tag) = state.crm.tags.get_mut(&id) {
        tag.name = req.name;
        tag.description = req.description;
        tag.background_color = req.background_color;
    }
    Ok(Json(state.crm.tag(company, id)?.to_json()))
}

/// `PUT /companies/{company_id}/contacts/{contact_id}/tags/` with a bare array of tag ids:
/// replaces the contact's set → array of `ContactTagsOut`.
pub async fn set_contact_tags(Scoped { app, p }: Scoped, body: Bytes) -> ApiResult<Json<Value>> {
    let ids = tag_ids(json_value(&body)?)?;
    let mut state = app.state();
    let (company, contact) = super::contacts::contact_at(&state, &p)?;
    state.check_tags(company, &ids)?;
    if let Some(record) = state.contacts.get_mut(&contact) {
        record.tags.clone_from(&ids);
    }
    let pairs = ids
        .iter()
        .map(|tag| json!({"contact_id": contact, "tag_id": tag}));
    Ok(Json(Value::Array(pairs.collect())))
}
