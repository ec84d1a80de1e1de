//! `auto-reply`: answers customers' messages by keyword rules.
//!
//! Configuration (`[config]` of the manifest):
//!
//! - `rules`: a JSON array of `{"match": "price|цена", "reply": "…", "buttons": ["Yes", "No"]}`
//!   or `{"match": "…", "reply": "…", "list": {"button": "Sizes", "section": "…", "rows": ["S"]}}`
//!   (see [`rules`]). The first rule whose alternatives occur in the text wins. A rule with
//!   `"tag": "name"` also tags the customer's contact (needs `capabilities.tags` allowing it).
//! - `fallback_template`, `fallback_locale` (default `ru`), `fallback_params` (a JSON array of
//!   strings; `{name}` and `{phone}` are replaced from the chat): sent instead when a WABA chat's
//!   24-hour window is closed and the free-form reply is refused with `window-closed`.
//!
//! On WABA chats buttons and lists go out as interactive messages; on other messengers the reply
//! is text with the options listed under it. Only `message.received` from the customer is
//! answered: `message.sent` (including Switchboard's own echoes) and outbound messages are not.
//! Imports: `log`, `config`, `messages`, and `tags` (only called for a rule with a `tag`).

pub mod rules;

use rules::Rule;
use switchboard_plugin::crm::tags;
use switchboard_plugin::messages::{self, Content, InteractiveMessage, TemplateMessage};
use switchboard_plugin::{Error, Event, MessageEvent, Plugin, RunInfo, SourceType, config};

struct AutoReply;

impl Plugin for AutoReply {
    fn handle(event: Event, _run: RunInfo) -> Result<(), String> {
        let Some(msg) = event.received().filter(|m| m.is_inbound()) else {
            return Ok(());
        };
        let Some(text) = msg.text() else {
            return Ok(());
        };
        let rules = rules::parse(&config::require("rules")?)?;
        let Some(rule) = rules::first_match(&rules, text) else {
            switchboard_plugin::debug!("no rule matches in chat {}", msg.chat_id);
            return Ok(());
        };
        answer(msg, rule)?;
        tag_contact(msg, rule)
    }
}

/// Adds the rule's tag to the customer's contact, when the rule has one.
fn tag_contact(msg: &MessageEvent, rule: &Rule) -> Result<(), String> {
    let (Some(tag), Some(contact)) = (&rule.tag, msg.contact_id) else {
        return Ok(());
    };
    tags::add(contact, &[tag.as_str()])?;
    switchboard_plugin::info!("tagged contact {contact} `{tag}`");
    Ok(())
}

switchboard_plugin::export!(AutoReply);

fn answer(msg: &MessageEvent, rule: &Rule) -> Result<(), String> {
    match messages::reply(msg, reply_content(msg, rule)) {
        Ok(sent) => {
            switchboard_plugin::info!("replied in chat {} ({})", msg.chat_id, sent.message_id);
            Ok(())
        }
        Err(Error::WindowClosed(_)) => send_fallback_template(msg),
        Err(e) => Err(e.into()),
    }
}

fn reply_content(msg: &MessageEvent, rule: &Rule) -> Content {
    let waba = matches!(msg.source_type, Some(SourceType::Waba));
    match (&rule.list, rule.buttons.is_empty()) {
        (Some(list), _) if waba => {
            let rows = list.rows.iter().map(|r| (r.clone(), r.clone()));
            InteractiveMessage::list(&rule.reply, &list.button)
                .section(list.section.as_deref(), rows)
                .into()
        }
        (None, false) if waba => InteractiveMessage::buttons(&rule.reply, &rule.buttons).into(),
        _ => Content::Text(text_with_options(rule)),
    }
}

fn text_with_options(rule: &Rule) -> String {
    let options = rule.list.as_ref().map_or(&rule.buttons, |l| &l.rows);
    let mut text = rule.reply.clone();
    for (i, option) in options.iter().enumerate() {
        text.push_str(&format!("\n{}. {option}", i + 1));
    }
    text
}

fn send_fallback_template(msg: &MessageEvent) -> Result<(), String> {
    let Some(name) = config::get("fallback_template") else {
        switchboard_plugin::warn!(
            "window closed in chat {} and no `fallback_template` configured",
            msg.chat_id
        );
        return Ok(());
    };
    let locale = config::get_or("fallback_locale", "ru");
    let params: Vec<String> = config::get_json("fallback_params")?.unwrap_or_default();
    let name_or_phone = msg
        .chat
        .name
        .clone()
        .or_else(|| msg.chat.phone.clone())
        .unwrap_or_default();
    let phone = msg.chat.phone.clone().unwrap_or_default();
    let params = params.iter().map(|p| {
        p.replace("{name}", &name_or_phone)
            .replace("{phone}", &phone)
    });
    let template = TemplateMessage::new(&name, locale).body_params(params);
    let sent = messages::reply(msg, template)?;
    switchboard_plugin::info!(
        "window closed in chat {}: sent template {name} ({})",
        msg.chat_id,
        sent.message_id
    );
    Ok(())
}
