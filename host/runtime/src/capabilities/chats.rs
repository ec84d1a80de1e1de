//! `chats`: create (or find) a chat, granted by `capabilities.chats` for its connections.
//! Journaled in two phases; a create-chat an earlier attempt left without a result is simply
//! repeated (Radist's create-chat finds an existing chat, so it cannot create a second). The
//! created (connection, chat) pair is trusted by later sends in the run. Dry runs answer
//! synthetic, per-action chat (and contact) ids without calling Radist. A `contact` target is
//! resolved to the contact's phone (or a chat username) first, so it works on sources that
//! create chats by phone.

use serde_json::{Value, json};

use radist_connector::models::{
    ConnectionId as RConn, ContactId as RContact, CreateChatRequest as Wire,
};

use super::radist::{self, CallError};
use super::wit::chats::{ChatRef, ChatTarget, CreateChatRequest, Host};
use super::wit::types::Error;
use crate::recorder::Pending;
use crate::state::{HostState, RunContext};

impl Host for HostState {
    async fn create_chat(
        &mut self,
        req: CreateChatRequest,
    ) -> wasmtime::Result<Result<ChatRef, Error>> {
        let ctx = &mut self.ctx;
        let wire = to_wire(&req);
        let request = serde_json::to_value(&wire).unwrap_or(Value::Null);
        let mut pending = ctx.recorder.begin("chats.create-chat", request);
        let Some(grant) = ctx.plugin.manifest.capabilities.chats.clone() else {
            return Ok(Err(ctx.not_granted(pending, "capabilities.chats")));
        };
        if let Err(m) = crate::scope::check_connection(
            "capabilities.chats",
            &grant.connections,
            req.connection_id,
        ) {
            return Ok(Err(ctx.deny(pending, m)));
        }
        // Safe to repeat: Radist's create-chat finds the chat when it already exists.
        let repeat = "outcome unknown: created again (create-chat finds an existing chat)";
        let prior = ctx.recorder.intent_repeatable(&mut pending, None, repeat);
        if let Some(result) = prior.await? {
            let chat = from_json(&result).ok_or_else(|| super::unreadable("a created chat"))?;
            ctx.known_chats.insert((chat.connection_id, chat.chat_id));
            ctx.succeed(pending, result, true);
            return Ok(Ok(chat));
        }
        let result = if ctx.recorder.is_dry_run() {
            Ok(dry_run(ctx, &pending, &req))
        } else {
            create_detached(ctx, &pending, &req, wire).await?
        };
        match result {
            Ok(chat) => {
                ctx.known_chats.insert((chat.connection_id, chat.chat_id));
                ctx.recorder.effect(&mut pending, &chat.chat_id.to_string());
                ctx.succeed(pending, to_json(&chat), false);
                Ok(Ok(chat))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }
}

/// Creates the chat in a task of its own that also completes the journal, so a request on the
/// wire finishes and is recorded even when the run's timeout drops this call.
async fn create_detached(
    ctx: &RunContext,
    pending: &Pending,
    req: &CreateChatRequest,
    wire: Wire,
) -> wasmtime::Result<Result<ChatRef, CallError>> {
    let connection_id = req.connection_id;
    radist::detached(ctx, pending, |client, completer| async move {
        let chat = match create(&client, wire).await {
            Ok(r) => ChatRef {
                connection_id,
                chat_id: r.chat_id.0,
                contact_id: r.contact_id.map(|c| c.0),
                created_chat: r.created_chat,
                created_contact: r.created_contact,
            },
            Err(e) => return Ok(Err(CallError::from(e))),
        };
        let id = chat.chat_id.to_string();
        completer.complete(&to_json(&chat), Some(&id)).await?;
        Ok(Ok(chat))
    })
    .await
}

fn to_wire(req: &CreateChatRequest) -> Wire {
    let conn = RConn(req.connection_id);
    let mut wire = match &req.target {
        ChatTarget::Phone(p) => Wire::by_phone(conn, p.clone()),
        ChatTarget::Username(u) => Wire::by_username(conn, u.clone()),
        ChatTarget::MessengerChatId(id) => Wire::by_chat_id(conn, id.clone()),
        ChatTarget::Contact(c) => Wire::by_contact(conn, RContact(*c)),
    };
    if let Some(contact) = req.contact_id {
        wire.contact_id = Some(RContact(contact));
    }
    if let Some(name) = &req.name {
        wire = wire.with_name(name.clone());
    }
    wire
}

async fn create(
    client: &radist_connector::RadistClient,
    wire: Wire,
) -> Result<radist_connector::models::CreateChatResponse, radist_connector::RadistError> {
    let wire = resolve_contact(client, wire).await?;
    client.create_chat(&wire).await
}

/// A `contact` target names no messenger identifier, and Radist needs one for most sources:
/// use the contact's first phone, else the username of one of its chats; a contact with
/// neither is sent as is and Radist decides.
async fn resolve_contact(
    client: &radist_connector::RadistClient,
    mut wire: Wire,
) -> Result<Wire, radist_connector::RadistError> {
    let no_identifier = wire.phone.is_none() && wire.user_name.is_none() && wire.chat_id.is_none();
    let Some(contact) = wire.contact_id.filter(|_| no_identifier) else {
        return Ok(wire);
    };
    let found = client.get_contact(contact).await?;
    if let Some(phone) = found.phones.first() {
        wire.phone = Some(phone.value.clone());
    } else if let Some(username) = found.chats.iter().find_map(|c| c.username.clone()) {
        wire.user_name = Some(username);
    }
    Ok(wire)
}

fn dry_run(ctx: &RunContext, pending: &Pending, req: &CreateChatRequest) -> ChatRef {
    let contact = match &req.target {
        ChatTarget::Contact(c) => Some(*c),
        _ => req.contact_id,
    };
    let contact = contact.unwrap_or_else(|| radist::dry_run_number(ctx, pending, "contact"));
    ChatRef {
        connection_id: req.connection_id,
        chat_id: radist::dry_run_number(ctx, pending, "chat"),
        contact_id: Some(contact),
        created_chat: false,
        created_contact: false,
    }
}

fn to_json(c: &ChatRef) -> Value {
    json!({
        "connection_id": c.connection_id, "chat_id": c.chat_id, "contact_id": c.contact_id,
        "created_chat": c.created_chat, "created_contact": c.created_contact,
    })
}

fn from_json(v: &Value) -> Option<ChatRef> {
    Some(ChatRef {
        connection_id: v.get("connection_id")?.as_i64()?,
        chat_id: v.get("chat_id")?.as_i64()?,
        contact_id: v.get("contact_id").and_then(Value::as_i64),
        created_chat: v.get("created_chat")?.as_bool()?,
        created_contact: v.get("created_contact")?.as_bool()?,
    })
}
