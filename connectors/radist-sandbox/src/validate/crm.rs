//! Validation of the CRM bodies (`openapi-crm.json`): `TagIn` / `UpdateTag`, the tag-id array of
//! `PUT …/contacts/{id}/tags/`, notes and quick replies, with pydantic-shaped errors.

use serde_json::{Map, Value, json};

use super::{Lower, Report, at};
use crate::error::ApiError;

type Obj = Map<String, Value>;

/// `^#[0-9a-fA-F]{6}$`, the spec's colour pattern.
const COLOR_PATTERN: &str = "^#[0-9a-fA-F]{6}$";
/// Largest tag-id list accepted in one `PUT` (the spec sets none; bounds memory).
const MAX_TAG_IDS: usize = 1_000;

/// `TagIn` (`update` = `UpdateTag`, every field required).
#[derive(Debug, Clone)]
pub struct TagBody {
    pub name: String,
    pub description: String,
    pub background_color: String,
}

/// `MessageTemplateCreateRequest` / `MessageTemplateUpdateRequest` (text form).
#[derive(Debug, Clone, Default)]
pub struct QuickReplyBody {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub text: Option<String>,
    pub file_url: Option<String>,
}

fn body_loc() -> Vec<Value> {
    vec![json!("body")]
}

/// Validates `POST …/tags/` (`update` false) or `PUT …/tags/{id}` (`update` true).
pub fn tag_body(body: &Obj, update: bool) -> Result<TagBody, ApiError> {
    let loc = body_loc();
    let mut r = Report::default();
    let name = r.str(body, "name", &loc, true, 1, 15);
    let description = r.str(body, "description", &loc, update, 0, 256);
    let color = r.str(body, "background_color", &loc, update, 0, usize::MAX);
    if let Some(color) = color.as_deref().filter(|c| !is_color(c)) {
        let msg = format!("String should match pattern '{COLOR_PATTERN}'");
        let ctx = json!({"pattern": COLOR_PATTERN});
        r.push(
            "string_pattern_mismatch",
            at(&loc, "background_color"),
            &msg,
            json!(color),
            Some(ctx),
        );
    }
    r.finish()?;
    Ok(TagBody {
        name: name.unwrap_or_default(),
        description: description.unwrap_or_default(),
        background_color: color.unwrap_or_else(|| "#eeeeee".to_owned()),
    })
}

fn is_color(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// Validates the bare JSON array of tag ids (each `> 0`), deduplicated in order.
pub fn tag_ids(value: Value) -> Result<Vec<i64>, ApiError> {
    let mut r = Report::default();
    let mut wrapper = Obj::new();
    wrapper.insert("tag_ids".into(), value);
    let items = r.list(&wrapper, "tag_ids", &[], true, 0, MAX_TAG_IDS);
    let mut ids: Vec<i64> = Vec::new();
    for (i, item) in items.into_iter().flatten().enumerate() {
        let id = r.int_value(item, &[json!("body"), json!(i)], Lower::Gt(0), i64::MAX);
        if let Some(id) = id.filter(|id| !ids.contains(id)) {
            ids.push(id);
        }
    }
    r.finish().map_err(relocate_to_body)?;
    Ok(ids)
}

/// The list-level errors were reported at `["tag_ids"]`; FastAPI says `["body"]`.
fn relocate_to_body(error: ApiError) -> ApiError {
    match error {
        ApiError::Validation(items) => ApiError::Validation(
            items
                .into_iter()
                .map(|mut item| {
                    if item["loc"] == json!(["tag_ids"]) {
                        item["loc"] = json!(["body"]);
                    }
                    item
                })
                .collect(),
        ),
        other => other,
    }
}

/// Validates a note body (`ContactNoteCreateRequest` / `ContactNoteUpdateRequest`): the text.
pub fn note_body(body: &Obj) -> Result<String, ApiError> {
    let loc = body_loc();
    let mut r = Report::default();
    if body.get("type").is_some_and(|t| !t.is_null()) {
        r.enumeration(body, "type", &loc, false, &["text"]);
    }
    let text = r.str(body, "text", &loc, true, 1, 8192);
    r.finish()?;
    Ok(text.unwrap_or_default())
}

/// Validates a quick-reply body; `create` requires `type` and `name`.
pub fn quick_reply_body(body: &Obj, create: bool) -> Result<QuickReplyBody, ApiError> {
    let loc = body_loc();
    let mut r = Report::default();
    let kind = if create {
        r.enumeration(body, "type", &loc, true, &["text", "waba_interactive"])
    } else {
        None
    };
    let parsed = QuickReplyBody {
        kind,
        name: r.str(body, "name", &loc, create, 1, 128),
        text: r.str(body, "text", &loc, false, 1, 8192),
        file_url: r.str(body, "file_url", &loc, false, 0, 2083),
    };
    if create && parsed.kind.as_deref() == Some("text") && parsed.text.is_none() {
        let input = Value::Object(body.clone());
        r.value_error(loc.clone(), "`text` is required for a text template", input);
    }
    r.finish().map(|()| parsed)
}
