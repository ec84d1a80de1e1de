//! Send-side checks that need state (template existence, status and `params_count`; WABA-only
//! types; the 24-hour window and dialog balance) and the stored read-side content objects.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::config::WindowPolicy;
use crate::error::{ApiError, error_item};
use crate::receipts::Fate;
use crate::state::State;
use crate::state::model::{Chat, Connection};
use crate::validate::SendRequest;

/// Error text of a non-template send outside the window (Meta 131047).
pub const WINDOW_CLOSED_TEXT: &str = "Re-engagement message (131047): message failed to send because more than 24 hours have passed since the customer last replied to this number";

fn loc(path: &[&str]) -> Vec<Value> {
    std::iter::once("body")
        .chain(path.iter().copied())
        .map(|s| json!(s))
        .collect()
}

/// The read-side content object of the message to store, or a 422.
pub fn build(state: &State, conn: &Connection, req: &SendRequest) -> Result<Value, ApiError> {
    let waba = conn.kind == "waba";
    let c = &req.content;
    let kind = req.message_type.as_str();
    if kind.starts_with("waba_") && !waba {
        let text = format!(
            "{kind} messages can only be sent to WABA chats, this chat is on a {} connection",
            conn.kind
        );
        return Err(ApiError::value_error(
            loc(&["message_type"]),
            &text,
            json!(kind),
        ));
    }
    Ok(match kind {
        "text" if waba => json!({"text": c["text"], "waba_referred_product": null}),
        "text" => json!({"text": c["text"]}),
        "waba_template" => template(state, conn, c)?,
        "waba_interactive" => interactive(c),
        _ => media(state, c),
    })
}

fn template(state: &State, conn: &Connection, c: &Value) -> Result<Value, ApiError> {
    let name = c["template_name"].as_str().unwrap_or_default();
    let locale = c["template_locale"].as_str().unwrap_or_default();
    let refused = |text: String| {
        let at = loc(&["waba_template", "template_name"]);
        Err(ApiError::value_error(at, &text, json!(name)))
    };
    let Some(t) = state.template(conn.id, name, locale) else {
        let id = conn.id;
        return refused(format!(
            "template `{name}` with locale `{locale}` does not exist on connection {id}"
        ));
    };
    if t.status != "APPROVED" {
        let status = &t.status;
        return refused(format!(
            "template `{name}` ({locale}) is {status}, only APPROVED templates can be sent"
        ));
    }
    let params: Vec<String> = c["body_params"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let expected = crate::state::template_params(t);
    if params.len() != expected {
        let text = format!(
            "template `{name}` ({locale}) expects {expected} body_params, got {}",
            params.len()
        );
        return Err(ApiError::value_error(
            loc(&["waba_template", "body_params"]),
            &text,
            c["body_params"].clone(),
        ));
    }
    Ok(
        json!({"text": t.render(&params), "template_locale": locale, "template_name": name,
              "media_header": null, "buttons": [], "carousel": []}),
    )
}

/// The stored (WhatsApp-Cloud-like) shape of an interactive message.
fn interactive(c: &Value) -> Value {
    let mut out = json!({"type": c["type"], "body": {"text": c["body"]}});
    if let Some(footer) = c.get("footer").filter(|f| !f.is_null()) {
        out["footer"] = json!({"text": footer});
    }
    if let Some(header) = c.get("header").filter(|h| !h.is_null()) {
        out["header"] = header.clone();
    }
    let mut action = c["action"].clone();
    if let Some(buttons) = action.get_mut("buttons").and_then(Value::as_array_mut) {
        for button in buttons {
            button["type"] = json!("reply");
            if button["reply"].get("id").is_none_or(Value::is_null) {
                button["reply"]["id"] = json!(uuid::Uuid::new_v4().simple().to_string());
            }
        }
    }
    out["action"] = action;
    out
}

fn media(state: &State, c: &Value) -> Value {
    let url = c["url"].as_str().unwrap_or_default();
    let caption = c["caption"].as_str().unwrap_or_default();
    let (name, size, mime) = match crate::routes::files::lookup(state, url) {
        Some(file) => (
            file.name.clone(),
            file.bytes.len(),
            file.content_type.clone(),
        ),
        None => {
            let name = url
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .split('?')
                .next()
                .unwrap_or_default()
                .to_owned();
            let mime = crate::routes::files::content_type_for(&name).to_owned();
            (name, 0, mime)
        }
    };
    json!({"caption": caption, "name": name, "size": size, "mime_type": mime, "url": url})
}

/// What will happen to the message after it is accepted, or a synchronous rejection.
pub fn fate(
    state: &mut State,
    conn: &Connection,
    chat: &Chat,
    req: &SendRequest,
    at: DateTime<Utc>,
) -> Result<Fate, ApiError> {
    if conn.kind != "waba" {
        return Ok(Fate::Deliver);
    }
    let template = req.message_type == "waba_template";
    if !template && !State::window_open(chat, at) {
        match state.window_policy {
            WindowPolicy::Reject => {
                let item = error_item(
                    "window_closed",
                    loc(&["chat_id"]),
                    WINDOW_CLOSED_TEXT,
                    json!(chat.id),
                    None,
                );
                return Err(ApiError::Validation(vec![item]));
            }
            WindowPolicy::Accept => {
                return Ok(Fate::Fail("GENERIC_ERROR", WINDOW_CLOSED_TEXT.to_owned()));
            }
            WindowPolicy::Allow => {}
        }
    }
    Ok(take_dialog(state, chat, at))
}

/// Opens a paid 24-hour dialog when none is open; fails when the balance is exhausted.
fn take_dialog(state: &mut State, chat: &Chat, at: DateTime<Utc>) -> Fate {
    if chat
        .dialog_opened_at
        .is_some_and(|opened| at - opened < Duration::hours(24))
    {
        return Fate::Deliver;
    }
    let Some(company) = state.companies.get_mut(&chat.company_id) else {
        return Fate::Deliver;
    };
    if company.waba_dialogs <= 0 {
        return Fate::Fail(
            "WABA_DIALOGS_LIMIT_EXCEEDED",
            "WABA dialogs limit exceeded; top up the dialog balance".to_owned(),
        );
    }
    company.waba_dialogs -= 1;
    if let Some(chat) = state.chats.get_mut(&chat.id) {
        chat.dialog_opened_at = Some(at);
    }
    Fate::Deliver
}
