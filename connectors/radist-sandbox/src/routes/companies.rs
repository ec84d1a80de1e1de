//! Companies, connections, chat sources, WABA templates and the dialog counter.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::scope::{Company, Scoped, company_and_query};
use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{MAX_ID, QueryParams, path_int};
use crate::validate::{Lower, Report};

/// Connection types accepted by the `types` filter (`ConnectionTypesOut`).
const CONNECTION_TYPES: [&str; 19] = [
    "amocrm",
    "bitrix",
    "odnoklassniki",
    "whatsapp",
    "waba",
    "tinkoff",
    "modulbank",
    "sberbank",
    "chatapi_instagram",
    "paykeeper",
    "paypal",
    "bepaid",
    "telegram",
    "telegram_bot",
    "payselection",
    "yookassa",
    "robokassa",
    "max_personal",
    "max_bot",
];

fn page(q: &QueryParams, r: &mut Report) -> (usize, usize) {
    let limit = q
        .int(r, "limit", Some(100), Lower::Ge(1), 100)
        .unwrap_or(100);
    let offset = q
        .int(r, "offset", Some(0), Lower::Ge(0), i64::MAX)
        .unwrap_or(0);
    (limit as usize, offset as usize)
}

/// `GET /companies/` → `{count, companies}`.
pub async fn list(State(app): State<AppState>, q: QueryParams) -> ApiResult<Json<Value>> {
    let mut r = Report::default();
    let (limit, offset) = page(&q, &mut r);
    q.bool(&mut r, "with_partner_companies", true);
    r.finish()?;
    let state = app.state();
    let companies: Vec<Value> = state
        .companies
        .values()
        .skip(offset)
        .take(limit)
        .map(|c| c.to_json())
        .collect();
    Ok(Json(
        json!({"count": state.companies.len(), "companies": companies}),
    ))
}

/// The `types` (or `types[]`) filter, each one of [`CONNECTION_TYPES`].
fn connection_types<'q>(q: &'q QueryParams, r: &mut Report) -> Vec<&'q str> {
    let mut types = q.all("types");
    types.extend(q.all("types[]"));
    for (i, t) in types.iter().enumerate() {
        r.enum_value(
            &json!(t),
            &[json!("query"), json!("types"), json!(i)],
            &CONNECTION_TYPES,
        );
    }
    types
}

/// `GET /companies/{company_id}/connections/` → `{count, connections}`.
pub async fn connections(Scoped { app, p }: Scoped, q: QueryParams) -> ApiResult<Json<Value>> {
    let (state, company, ((limit, offset), types)) =
        company_and_query(&app, &p, |r| (page(&q, r), connection_types(&q, r)))?;
    let matching: Vec<Value> = state
        .connections
        .values()
        .filter(|c| {
            c.company_id == company && (types.is_empty() || types.contains(&c.kind.as_str()))
        })
        .map(|c| c.to_json())
        .collect();
    let items: Vec<Value> = matching.iter().skip(offset).take(limit).cloned().collect();
    Ok(Json(json!({"count": matching.len(), "connections": items})))
}

/// `GET /companies/{company_id}/connections/{connection_id}`.
pub async fn connection(Scoped { app, p }: Scoped) -> ApiResult<Json<Value>> {
    let (state, company, conn) = company_and_query(&app, &p, |r| path_int(r, &p, "connection_id"))?;
    Ok(Json(
        state
            .connection(company, conn.unwrap_or_default())?
            .to_json(),
    ))
}

/// `GET /companies/{company_id}/messaging/chats/sources/` → bare array of `ChatSource`.
pub async fn sources(company: Company) -> ApiResult<Json<Value>> {
    let state = company.state()?;
    let sources: Vec<Value> = state
        .connections
        .values()
        .filter(|c| c.company_id == company.id)
        .map(|c| c.to_source())
        .collect();
    Ok(Json(Value::Array(sources)))
}

/// `GET /companies/{company_id}/messaging/waba_templates/?connection_id=&only_approved=`.
pub async fn waba_templates(Scoped { app, p }: Scoped, q: QueryParams) -> ApiResult<Json<Value>> {
    let (state, company, (conn, only_approved)) = company_and_query(&app, &p, |r| {
        let conn = q.int(r, "connection_id", None, Lower::Ge(1), MAX_ID);
        (conn, q.bool(r, "only_approved", true))
    })?;
    let conn = state.connection(company, conn.unwrap_or_default())?;
    let templates: Vec<Value> = conn
        .templates
        .iter()
        .filter(|t| !only_approved || t.status == "APPROVED")
        .map(|t| t.to_json())
        .collect();
    Ok(Json(Value::Array(templates)))
}

/// `GET /companies/{company_id}/messaging/dialogs/counters/` → `[{type: "WABA_DIALOGS", value}]`.
pub async fn dialog_counters(company: Company) -> ApiResult<Json<Value>> {
    let value = company.app.state().company(company.id)?.waba_dialogs;
    Ok(Json(json!([{"type": "WABA_DIALOGS", "value": value}])))
}
