//! `crm-sync`: keeps a CRM in step with Radist conversations.
//!
//! - On `message.received` from a contact it has not seen (kv key `contact:{contact_id}`, or
//!   `chat:{connection_id}:{chat_id}` without a contact), POSTs the contact and the message to
//!   `{crm_url}/contacts` and remembers the CRM id the CRM answers. Later messages from the same
//!   contact post nothing. In Radist it then finds the contact (the event's, else by the
//!   chat's phone, creating it when missing), tags it `lead_tag` (default `lead`), adds a note
//!   with what the CRM answered, and marks the chat answered when the CRM says `answered`.
//! - On `schedule.fired`, GETs `{crm_url}/leads/pending`, and for each lead not yet done (kv key
//!   `lead:{lead_id}`) opens a chat on `connection_id` (by the lead's `phone`, bound to its
//!   `contact_id` when given; by the contact alone when there is no phone), sends the configured template, remembers the lead as done and reports it to
//!   `{crm_url}/leads/{lead_id}/contacted`. A rerun of the same slot sends nothing twice.
//!
//! Configuration: `crm_url` (origin granted in `capabilities.http.allow`), `connection_id`,
//! `template`, `template_locale` (default `ru`), `template_params` (JSON array of strings, `{name}`
//! replaced by the lead's name); secret `crm_token` (sent as a Bearer token, never logged).
//! Imports: `log`, `config`, `http`, `kv`, `chats`, `messages`, `contacts`, `tags`, `notes`,
//! `inbox`.

pub mod crm;

use crm::{Contacted, Created, FirstMessage, Lead, NewContact, Remembered};
use switchboard_plugin::chats::{self, CreateChatRequest};
use switchboard_plugin::crm::{contacts, inbox, notes, tags};
use switchboard_plugin::http::{Request, Response};
use switchboard_plugin::messages::{self, TemplateMessage};
use switchboard_plugin::{Event, MessageEvent, Plugin, RunInfo, config, kv};

struct CrmSync;

impl Plugin for CrmSync {
    fn handle(event: Event, _run: RunInfo) -> Result<(), String> {
        match &event {
            Event::MessageReceived(msg) if msg.is_inbound() => sync_contact(msg),
            Event::ScheduleFired(_) => contact_pending_leads(),
            _ => Ok(()),
        }
    }
}

switchboard_plugin::export!(CrmSync);

/// The CRM endpoint and credentials from the manifest.
struct Crm {
    url: String,
    token: String,
}

impl Crm {
    fn from_config() -> Result<Self, String> {
        let url = config::require("crm_url")?.trim_end_matches('/').to_owned();
        Ok(Self {
            url,
            token: config::require_secret("crm_token")?,
        })
    }

    fn send(&self, req: Request) -> Result<Response, String> {
        let resp = req.bearer(&self.token).send()?;
        if resp.is_success() {
            Ok(resp)
        } else {
            Err(format!(
                "crm answered {}: {}",
                resp.status,
                truncate(&resp.text(), 200)
            ))
        }
    }
}

fn sync_contact(msg: &MessageEvent) -> Result<(), String> {
    let key = match msg.contact_id {
        Some(contact) => format!("contact:{contact}"),
        None => format!("chat:{}:{}", msg.connection_id, msg.chat_id),
    };
    if kv::get(&key)?.is_some() {
        switchboard_plugin::debug!("{key} already in the crm");
        return Ok(());
    }
    let crm = Crm::from_config()?;
    let body = NewContact {
        contact_id: msg.contact_id,
        connection_id: msg.connection_id,
        chat_id: msg.chat_id,
        name: msg.chat.name.as_deref(),
        phone: msg.chat.phone.as_deref(),
        username: msg.chat.username.as_deref(),
        message: FirstMessage {
            id: &msg.message.message_id,
            text: msg.text(),
            created_at: msg.message.created_at.seconds,
        },
    };
    let answer = crm
        .send(Request::post(format!("{}/contacts", crm.url)).json(&body))?
        .text();
    let created: Created =
        serde_json::from_str(&answer).map_err(|e| format!("the crm's answer is not json: {e}"))?;
    let crm_id = crm::id_string(&created.id);
    record_in_radist(msg, &crm_id, &answer, created.answered)?;
    kv::set_json(
        &key,
        &Remembered {
            crm_id: crm_id.clone(),
            chat_id: Some(msg.chat_id),
            message_id: None,
        },
    )?;
    switchboard_plugin::info!("{key} posted to the crm as {crm_id}");
    Ok(())
}

/// Most characters of a note (the manifest's `notes.max_chars` must allow it).
const NOTE_CHARS: usize = 1000;

/// Tags the customer's Radist contact as a lead, notes what the CRM answered, and marks the
/// chat answered when the CRM says so. A customer without a contact or a phone is only logged.
fn record_in_radist(
    msg: &MessageEvent,
    crm_id: &str,
    answer: &str,
    answered: bool,
) -> Result<(), String> {
    let Some(contact) = radist_contact(msg)? else {
        switchboard_plugin::warn!(
            "chat {} has no contact and no phone; not tagged",
            msg.chat_id
        );
        return Ok(());
    };
    let tag = config::get_or("lead_tag", "lead");
    tags::add(contact.id, &[tag.as_str()])?;
    let note = notes::clip(&format!("CRM {crm_id}: {}", answer.trim()), NOTE_CHARS);
    notes::add(contact.id, &note)?;
    if answered {
        inbox::mark_answered_for(msg)?;
    }
    Ok(())
}

/// The event's contact; else the first contact with the chat's phone, created when missing.
fn radist_contact(msg: &MessageEvent) -> Result<Option<contacts::Contact>, String> {
    if let Some(found) = contacts::for_event(msg)? {
        return Ok(Some(found));
    }
    let Some(phone) = msg.chat.phone.as_deref() else {
        return Ok(None);
    };
    let name = msg.chat.name.as_deref().unwrap_or(phone);
    Ok(Some(contacts::find_or_create(name, phone)?))
}

fn contact_pending_leads() -> Result<(), String> {
    let crm = Crm::from_config()?;
    let connection_id: i64 =
        config::get_parsed("connection_id")?.ok_or("config `connection_id` is not set")?;
    let leads: Vec<Lead> = crm
        .send(Request::get(format!("{}/leads/pending", crm.url)))?
        .json()?;
    let mut failures = Vec::new();
    for lead in &leads {
        if let Err(e) = contact_lead(&crm, connection_id, lead) {
            switchboard_plugin::warn!("lead {}: {e}", crm::id_string(&lead.lead_id));
            failures.push(crm::id_string(&lead.lead_id));
        }
    }
    switchboard_plugin::info!("{} pending leads, {} failed", leads.len(), failures.len());
    if failures.is_empty() {
        return Ok(());
    }
    Err(format!("leads not contacted: {}", failures.join(", ")))
}

fn contact_lead(crm: &Crm, connection_id: i64, lead: &Lead) -> Result<(), String> {
    let lead_id = crm::id_string(&lead.lead_id);
    let key = format!("lead:{lead_id}");
    if kv::get(&key)?.is_some() {
        return Ok(());
    }
    let chat = chats::create(&new_chat(connection_id, lead)?)?;
    let sent = messages::send_to(connection_id, chat.chat_id, lead_template(lead)?)?;
    let done = Remembered {
        crm_id: lead_id.clone(),
        chat_id: Some(chat.chat_id),
        message_id: Some(sent.message_id),
    };
    kv::set_json(&key, &done)?;
    let report = Contacted {
        connection_id,
        chat_id: chat.chat_id,
        message_id: done.message_id.as_deref().unwrap_or(""),
    };
    if let Err(e) =
        crm.send(Request::post(format!("{}/leads/{lead_id}/contacted", crm.url)).json(&report))
    {
        switchboard_plugin::warn!("lead {lead_id} contacted but not reported: {e}");
    }
    Ok(())
}

fn new_chat(connection_id: i64, lead: &Lead) -> Result<CreateChatRequest, String> {
    // WhatsApp and WABA connections need the phone; the contact id binds the chat to the contact.
    let chat = match (lead.contact_id, &lead.phone) {
        (Some(contact), Some(phone)) => {
            CreateChatRequest::with_phone(connection_id, phone.clone()).bind_contact(contact)
        }
        (None, Some(phone)) => CreateChatRequest::with_phone(connection_id, phone.clone()),
        (Some(contact), None) => CreateChatRequest::with_contact(connection_id, contact),
        (None, None) => return Err("has neither `contact_id` nor `phone`".to_owned()),
    };
    Ok(match &lead.name {
        Some(name) => chat.name(name.clone()),
        None => chat,
    })
}

fn lead_template(lead: &Lead) -> Result<TemplateMessage, String> {
    let name = config::require("template")?;
    let locale = config::get_or("template_locale", "ru");
    let params: Vec<String> = config::get_json("template_params")?.unwrap_or_default();
    let lead_name = lead.name.clone().unwrap_or_default();
    Ok(TemplateMessage::new(name, locale)
        .body_params(params.iter().map(|p| p.replace("{name}", &lead_name))))
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}
