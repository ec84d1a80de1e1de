//! `SendMessageRequest` validation: every schema constraint of the spec, with `loc` as the
//! JSON path (`["body","waba_interactive","action","buttons",0,"reply","title"]`).

use serde_json::{Map, Value, json};

use super::{Loc, Lower, Report, at};
use crate::error::ApiError;

/// `MessageType` values.
pub const MESSAGE_TYPES: [&str; 10] = [
    "text",
    "file",
    "image",
    "voice",
    "audio",
    "video",
    "waba_template",
    "waba_interactive",
    "radist_order",
    "waba_order",
];
const MEDIA: [&str; 5] = ["file", "image", "audio", "video", "voice"];
const HEADER_FORMATS: [&str; 4] = ["text", "image", "video", "document"];

/// A valid send request.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub chat_id: i64,
    pub mode: String,
    pub message_type: String,
    /// The (validated) content object under the `message_type` key.
    pub content: Value,
}

type Obj = Map<String, Value>;

/// Validates the body of `POST /messaging/messages/`.
pub fn send_request(body: &Obj) -> Result<SendRequest, ApiError> {
    let loc = vec![json!("body")];
    let mut r = Report::default();
    let chat_id = r.int(body, "chat_id", &loc, true, Lower::Ge(1), 2_147_483_647);
    let mode = match body.get("mode") {
        None | Some(Value::Null) => Some("async".to_owned()),
        Some(_) => r.enumeration(body, "mode", &loc, false, &["sync", "async"]),
    };
    let message_type = r.enumeration(body, "message_type", &loc, true, &MESSAGE_TYPES);
    content_objects(&mut r, body, &loc);
    if let Some(kind) = &message_type {
        check_content_present(&mut r, body, kind, &loc);
    }
    r.finish()?;
    match (chat_id, mode, message_type) {
        (Some(chat_id), Some(mode), Some(message_type)) => {
            let content = body.get(&message_type).cloned().unwrap_or(Value::Null);
            Ok(SendRequest {
                chat_id,
                mode,
                message_type,
                content,
            })
        }
        _ => Err(ApiError::value_error(
            loc,
            "invalid request",
            Value::Object(body.clone()),
        )),
    }
}

fn content_objects(r: &mut Report, body: &Obj, loc: &Loc) {
    if let Some(text) = r.object(body, "text", loc, false) {
        r.str(text, "text", &at(loc, "text"), true, 1, 8192);
    }
    for key in MEDIA {
        if let Some(media) = r.object(body, key, loc, false) {
            let here = at(loc, key);
            r.str(media, "url", &here, true, 0, usize::MAX);
            r.str(media, "caption", &here, false, 0, 1024);
        }
    }
    if let Some(template) = r.object(body, "waba_template", loc, false) {
        waba_template(r, template, &at(loc, "waba_template"));
    }
    if let Some(interactive) = r.object(body, "waba_interactive", loc, false) {
        waba_interactive(r, interactive, &at(loc, "waba_interactive"));
    }
    if let Some(markup) = r.object(body, "markup", loc, false) {
        markup_in(r, markup, &at(loc, "markup"));
    }
}

fn check_content_present(r: &mut Report, body: &Obj, kind: &str, loc: &Loc) {
    if matches!(kind, "radist_order" | "waba_order") {
        let text = format!("messages of type {kind} cannot be sent through this endpoint");
        r.value_error(at(loc, "message_type"), &text, json!(kind));
    } else if body.get(kind).is_none_or(Value::is_null) {
        r.missing(at(loc, kind), Value::Object(body.clone()));
    }
}

fn str_items(r: &mut Report, obj: &Obj, key: &str, loc: &Loc, max_items: usize, max_len: usize) {
    if let Some(items) = r.list(obj, key, loc, false, 0, max_items) {
        for (i, item) in items.iter().enumerate() {
            r.str_value(item, &at(&at(loc, key), i), 1, max_len);
        }
    }
}

fn waba_template(r: &mut Report, t: &Obj, loc: &Loc) {
    r.str(t, "template_locale", loc, true, 2, 16);
    r.str(t, "template_name", loc, true, 1, 256);
    for (h, here) in r.objects(t, "header_params", loc, 256) {
        r.str(h, "text", &here, false, 1, 128);
        r.str(h, "url", &here, false, 0, usize::MAX);
    }
    str_items(r, t, "body_params", loc, 256, 8192);
    str_items(r, t, "button_params", loc, 2, 1024);
    for (card, here) in r.objects(t, "carousel_media_card_params", loc, 10) {
        r.str(card, "header_url", &here, true, 0, usize::MAX);
        str_items(r, card, "body_params", &here, 160, 160);
        str_items(r, card, "button_params", &here, 2, 1024);
    }
}

fn waba_interactive(r: &mut Report, w: &Obj, loc: &Loc) {
    let kind = r.enumeration(w, "type", loc, true, &["list", "button"]);
    if let Some(header) = r.object(w, "header", loc, false) {
        let here = at(loc, "header");
        r.enumeration(header, "type", &here, true, &HEADER_FORMATS);
        r.str(header, "text", &here, false, 1, 60);
        r.str(header, "url", &here, false, 0, usize::MAX);
        r.str(header, "filename", &here, false, 1, 128);
    }
    r.str(w, "body", loc, true, 1, 1024);
    r.str(w, "footer", loc, false, 1, 60);
    let Some(action) = r.object(w, "action", loc, true) else {
        return;
    };
    let here = at(loc, "action");
    let has_buttons = buttons(r, action, &here);
    let has_sections = sections(r, action, &here);
    match kind.as_deref() {
        Some("button") if !has_buttons => r.value_error(
            here,
            "interactive type button needs action.buttons",
            Value::Object(action.clone()),
        ),
        Some("list") if !has_sections => r.value_error(
            here,
            "interactive type list needs action.sections",
            Value::Object(action.clone()),
        ),
        _ => {}
    }
}

fn buttons(r: &mut Report, action: &Obj, loc: &Loc) -> bool {
    let Some(items) = r.list(action, "buttons", loc, false, 1, 3) else {
        return false;
    };
    for (i, item) in items.iter().enumerate() {
        let here = at(&at(loc, "buttons"), i);
        let Some(button) = r.object_value(item, &here) else {
            continue;
        };
        if let Some(kind) = button.get("type").filter(|v| !v.is_null())
            && kind != "reply"
        {
            r.push(
                "literal_error",
                at(&here, "type"),
                "Input should be 'reply'",
                kind.clone(),
                Some(json!({"expected": "'reply'"})),
            );
        }
        if let Some(reply) = r.object(button, "reply", &here, true) {
            let reply_loc = at(&here, "reply");
            r.str(reply, "id", &reply_loc, false, 1, 200);
            r.str(reply, "title", &reply_loc, true, 1, 20);
        }
    }
    true
}

fn sections(r: &mut Report, action: &Obj, loc: &Loc) -> bool {
    let Some(with) = r.object(action, "sections", loc, false) else {
        return false;
    };
    let loc = at(loc, "sections");
    r.str(with, "button", &loc, true, 1, 20);
    let Some(list) = r.list(with, "sections", &loc, true, 1, 10) else {
        return true;
    };
    for (i, item) in list.iter().enumerate() {
        let here = at(&at(&loc, "sections"), i);
        let Some(section) = r.object_value(item, &here) else {
            continue;
        };
        r.str(section, "title", &here, false, 1, 24);
        let Some(rows) = r.list(section, "rows", &here, true, 1, 10) else {
            continue;
        };
        for (j, row) in rows.iter().enumerate() {
            let row_loc = at(&at(&here, "rows"), j);
            if let Some(row) = r.object_value(row, &row_loc) {
                r.str(row, "id", &row_loc, false, 1, 200);
                r.str(row, "title", &row_loc, true, 1, 24);
                r.str(row, "description", &row_loc, false, 0, 72);
            }
        }
    }
    true
}

fn markup_in(r: &mut Report, m: &Obj, loc: &Loc) {
    r.enumeration(m, "type", loc, true, &["inline_buttons"]);
    for (button, here) in r.objects(m, "inline_buttons", loc, 100) {
        r.str(button, "text", &here, true, 1, 64);
        r.str(button, "url", &here, false, 0, usize::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locs(body: Value) -> Vec<Value> {
        let obj = body.as_object().cloned().unwrap_or_default();
        match send_request(&obj) {
            Ok(_) => Vec::new(),
            Err(ApiError::Validation(items)) => {
                items.into_iter().map(|i| i["loc"].clone()).collect()
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn interactive_locs_are_json_paths() {
        let body = json!({"chat_id": 1, "message_type": "waba_interactive", "waba_interactive": {
            "type": "button", "body": "hi", "footer": "x".repeat(61),
            "action": {"buttons": [{"reply": {"title": "ok"}}, {"reply": {"title": "y".repeat(21)}}]}}});
        assert_eq!(
            locs(body),
            vec![
                json!(["body", "waba_interactive", "footer"]),
                json!([
                    "body",
                    "waba_interactive",
                    "action",
                    "buttons",
                    1,
                    "reply",
                    "title"
                ]),
            ]
        );
    }

    #[test]
    fn content_for_message_type_is_required_and_text_is_bounded() {
        assert_eq!(
            locs(json!({"chat_id": 1, "message_type": "text"})),
            vec![json!(["body", "text"])]
        );
        let long =
            json!({"chat_id": 1, "message_type": "text", "text": {"text": "a".repeat(8193)}});
        assert_eq!(locs(long), vec![json!(["body", "text", "text"])]);
        let ok = json!({"chat_id": 1, "message_type": "text", "text": {"text": "hi"}, "connection_id": 5});
        assert!(locs(ok).is_empty());
        let list = json!({"chat_id": 1, "message_type": "waba_interactive", "waba_interactive": {
            "type": "list", "body": "b", "action": {"sections": {"button": "go", "sections": [
                {"title": "t", "rows": [{"title": "r", "description": "d".repeat(73)}]}]}}}});
        assert_eq!(
            locs(list),
            vec![json!([
                "body",
                "waba_interactive",
                "action",
                "sections",
                "sections",
                0,
                "rows",
                0,
                "description"
            ])]
        );
    }
}
