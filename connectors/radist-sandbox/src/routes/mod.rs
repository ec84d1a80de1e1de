//! The `/v2` router: every emulated path exactly as the spec spells it, API-key auth on matched
//! routes, FastAPI's 307 trailing-slash redirect, and JSON 404/405 answers.

mod chats;
mod companies;
mod contacts;
mod faulted;
pub mod files;
mod inbox;
mod messages;
mod notes;
mod quick_replies;
mod scope;
mod tags;
mod webhooks;

use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};

use crate::app::AppState;
use crate::error::ApiError;

/// API prefix.
pub const API_PREFIX: &str = "/v2";

/// Every emulated path (for the trailing-slash redirect), relative to `/v2`.
pub const ROUTES: [&str; 19] = [
    "/companies/",
    "/companies/{company_id}/connections/",
    "/companies/{company_id}/connections/{connection_id}",
    "/companies/{company_id}/messaging/chats/",
    "/companies/{company_id}/messaging/chats/sources/",
    "/companies/{company_id}/messaging/chats/with_contacts/",
    "/companies/{company_id}/messaging/chats/{connection_id}/{chat_id}",
    "/companies/{company_id}/messaging/chats/{connection_id}/{chat_id}/availability",
    "/companies/{company_id}/messaging/chats/mark_answered/{connection_id}/{chat_id}",
    "/companies/{company_id}/messaging/chats/mark_answered/{connection_id}",
    "/companies/{company_id}/messaging/messages/",
    "/companies/{company_id}/messaging/files/",
    "/companies/{company_id}/messaging/waba_templates/",
    "/companies/{company_id}/messaging/dialogs/counters/",
    "/companies/{company_id}/webhooks/",
    "/companies/{company_id}/webhooks/{webhook_id}",
    "/companies/{company_id}/contacts/",
    "/companies/{company_id}/contacts/{contact_id}",
    "/companies/{company_id}/contacts/{contact_id}/chats/",
];

/// The CRM paths of `openapi-crm.json`, relative to `/v2`.
pub const CRM_ROUTES: [&str; 9] = [
    "/users/me",
    "/companies/{company_id}/tags/",
    "/companies/{company_id}/tags/{tag_id}",
    "/companies/{company_id}/contacts/{contact_id}/tags/",
    "/companies/{company_id}/contacts/{contact_id}/notes/",
    "/companies/{company_id}/contacts/{contact_id}/notes/{note_id}",
    "/companies/{company_id}/contacts/{contact_id}/social_profiles/",
    "/companies/{company_id}/messaging/templates/",
    "/companies/{company_id}/messaging/templates/{template_id}",
];

/// The CRM routes (tags, notes, quick replies, `/users/me`), without auth.
fn crm() -> Router<AppState> {
    let [
        me,
        tags,
        tag,
        contact_tags,
        notes,
        note,
        profiles,
        replies,
        reply,
    ] = CRM_ROUTES;
    Router::new()
        .route(me, get(quick_replies::me))
        .route(tags, get(tags::list).post(tags::create))
        .route(tag, get(tags::get).put(tags::update))
        .route(contact_tags, put(tags::set_contact_tags))
        .route(notes, get(notes::list).post(notes::create))
        .route(
            note,
            get(notes::get).patch(notes::patch).delete(notes::delete),
        )
        .route(profiles, get(quick_replies::social_profiles))
        .route(
            replies,
            get(quick_replies::list).post(quick_replies::create),
        )
        .route(
            reply,
            patch(quick_replies::patch).delete(quick_replies::delete),
        )
}

/// The `/v2` API routes (auth and faults applied), without state.
pub fn api(app: &AppState) -> Router<AppState> {
    let upload_limit = app.config().max_upload_bytes.saturating_add(1024 * 1024);
    let [
        companies,
        connections,
        connection,
        create_chat,
        sources,
        inbox,
        chat,
        availability,
        answered,
        answered_all,
        messages,
        files,
        templates,
        counters,
        hooks,
        hook,
        contacts,
        contact,
        contact_chats,
    ] = ROUTES;
    Router::new()
        .route(companies, get(companies::list))
        .route(connections, get(companies::connections))
        .route(connection, get(companies::connection))
        .route(create_chat, post(chats::create))
        .route(sources, get(companies::sources))
        .route(inbox, get(inbox::with_contacts))
        .route(chat, get(chats::get_chat))
        .route(availability, get(chats::availability))
        .route(answered, post(chats::mark_answered))
        .route(answered_all, post(chats::mark_connection_answered))
        .route(messages, get(messages::list).post(messages::send))
        .route(
            files,
            post(files::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(templates, get(companies::waba_templates))
        .route(counters, get(companies::dialog_counters))
        .route(hooks, get(webhooks::list).post(webhooks::create))
        .route(hook, axum::routing::delete(webhooks::delete))
        .route(contacts, get(contacts::list).post(contacts::create))
        .route(contact, get(contacts::get).patch(contacts::patch))
        .route(contact_chats, get(contacts::chats))
        .merge(crm())
        .route_layer(middleware::from_fn_with_state(app.clone(), auth))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), faulted::apply))
}

/// `X-Api-Key` check: missing → configured status (401) "Not authenticated"; wrong → 403.
async fn auth(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get("x-api-key")
        .map(|v| v.as_bytes().to_vec());
    let expected = app.state().api_key.clone();
    match given {
        None => ApiError::Detail(
            app.config().missing_key_status,
            "Not authenticated".to_owned(),
        )
        .into_response(),
        Some(key) if key != expected.as_bytes() => ApiError::Detail(
            StatusCode::FORBIDDEN,
            "Could not validate credentials".to_owned(),
        )
        .into_response(),
        Some(_) => next.run(request).await,
    }
}

async fn method_not_allowed() -> Response {
    ApiError::Detail(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed".to_owned(),
    )
    .into_response()
}

/// Unknown path: 307 to the path with its trailing slash toggled when that is a route, else 404.
pub async fn fallback(OriginalUri(uri): OriginalUri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let toggled = match path.strip_suffix('/') {
        Some(stripped) => stripped.to_owned(),
        None => format!("{path}/"),
    };
    let is_route = toggled
        .strip_prefix(API_PREFIX)
        .is_some_and(|rel| ROUTES.iter().chain(&CRM_ROUTES).any(|r| matches(r, rel)));
    if !is_route {
        return ApiError::not_found("Not Found").into_response();
    }
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let location = match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) => format!("http://{host}{toggled}{query}"),
        None => format!("{toggled}{query}"),
    };
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

/// Whether `path` fits `template` (`{x}` matches one non-empty segment).
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn templates_match_segments() {
        assert!(matches(
            "/companies/{company_id}/contacts/",
            "/companies/1/contacts/"
        ));
        assert!(!matches(
            "/companies/{company_id}/contacts/",
            "/companies/1/contacts"
        ));
        assert!(!matches(
            "/companies/{company_id}/contacts/{contact_id}",
            "/companies/1/contacts/"
        ));
        assert!(matches(
            "/companies/{company_id}/contacts/{contact_id}",
            "/companies/1/contacts/5"
        ));
    }
}
