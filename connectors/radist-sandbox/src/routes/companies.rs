//! Companies, connections, chat sources, WABA templates and the dialog counter.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{MAX_ID, PathParams, QueryParams, company_id, path_int};
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

/// `GET /companies/{company_id}/connections/` → `{count, connections}`.
pub async fn connections(
    State(app): State<AppState>,
    Path(p): PathParams,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let mut r = Report::default();
    let company = path_int(&mut r, &p, "company_id");
    let (limit, offset) = page(&q, &mut r);
    let mut types = q.all("types");
    types.extend(q.all("types[]"));
    for (i, t) in types.iter().enumerate() {
        r.enum_value(
            &json!(t),
            &[json!("query"), json!("types"), json!(i)],
            &CONNECTION_TYPES,
        );
    }
    r.finish()?;
    let state = app.state();
    let company = state.company(company.unwrap_or_default())?.id;
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
pub async fn connection(
    State(app): State<AppState>,
    Path(p): PathParams,
) -> ApiResult<Json<Value>> {
    let mut r = Report::default();
    let (company, conn) = (
        path_int(&mut r, &p, "company_id"),
        path_int(&mut r, &p, "connection_id"),
    );
    r.finish()?;
    let state = app.state();
    let company = state.company(company.unwrap_or_default())?.id;
    Ok(Json(
        state
            .connection(company, conn.unwrap_or_default())?
            .to_json(),
    ))
}

/// `GET /companies/{company_id}/messaging/chats/sources/` → bare array of `ChatSource`.
pub async fn sources(State(app): State<AppState>, Path(p): PathParams) -> ApiResult<Json<Value>> {
    let company = company_id(&p)?;
    let state = app.state();
    state.company(company)?;
    let sources: Vec<Value> = state
        .connections
        .values()
        .filter(|c| c.company_id == company)
        .map(|c| c.to_source())
        .collect();
    Ok(Json(Value::Array(sources)))
}

/// `GET /companies/{company_id}/messaging/waba_templates/?connection_id=&only_approved=`.
pub async fn waba_templates(
    State(app): State<AppState>,
    Path(p): PathParams,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let mut r = Report::default();
    let company = path_int(&mut r, &p, "company_id");
    let conn = q.int(&mut r, "connection_id", None, Lower::Ge(1), MAX_ID);
    let only_approved = q.bool(&mut r, "only_approved", true);
    r.finish()?;
    let state = app.state();
    let company = state.company(company.unwrap_or_default())?.id;
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
pub async fn dialog_counters(
    State(app): State<AppState>,
    Path(p): PathParams,
) -> ApiResult<Json<Value>> {
    let company = company_id(&p)?;
    let state = app.state();
    let value = state.company(company)?.waba_dialogs;
    Ok(Json(json!([{"type": "WABA_DIALOGS", "value": value}])))
}
