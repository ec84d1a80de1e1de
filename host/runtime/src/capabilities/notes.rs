//! `notes`: list and add notes on a contact, granted by `capabilities.notes` (read and write
//! separately, contacts in scope, a length and a per-minute bound). An add is journaled in two
//! phases; one an earlier attempt left without a result (timeout, ambiguous 5xx, crash) is
//! reconciled by listing the contact's notes: a note with the same text created since the
//! intent is the one it made, and nothing is added again.

use chrono::{DateTime, Duration, Utc};
use radist_connector::models::{ContactId, ContactNoteCreateRequest, NoteOut, NoteType};
use serde_json::{Value, json};

use super::crm_scope::{self, Refusal};
use super::radist::{self, CallError};
use super::wit::notes::{Host, Note};
use super::wit::types::{Datetime, Error, FieldError};
use crate::journal::Prior;
use crate::recorder::Pending;
use crate::state::{HostState, RunContext};

const KEY: &str = "capabilities.notes";
/// Clock skew allowed between the journal's intent time and Radist's `created_at`.
const SKEW_S: i64 = 5;

impl Host for HostState {
    async fn list(&mut self, contact: i64) -> wasmtime::Result<Result<Vec<Note>, Error>> {
        let ctx = &mut self.ctx;
        let pending = ctx
            .recorder
            .begin("notes.list", json!({"contact_id": contact}));
        if let Err(e) = precheck(ctx, contact, false).await {
            return Ok(Err(refuse(ctx, pending, e)));
        }
        match list(ctx, contact).await {
            Ok(notes) => {
                ctx.succeed(pending, json!({"count": notes.len()}), false);
                Ok(Ok(notes.iter().map(to_wit).collect()))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }

    async fn add(&mut self, contact: i64, text: String) -> wasmtime::Result<Result<Note, Error>> {
        let ctx = &mut self.ctx;
        let request = json!({"contact_id": contact, "text": text});
        let mut pending = ctx.recorder.begin("notes.add", request);
        if let Err(e) = precheck(ctx, contact, true).await {
            return Ok(Err(refuse(ctx, pending, e)));
        }
        if let Err(e) = check_text(ctx, &text) {
            return Ok(Err(ctx.fail(pending, e)));
        }
        match ctx.recorder.intent(&mut pending, None).await? {
            Prior::Completed { result, .. } => {
                let note = from_json(&result).ok_or_else(|| {
                    wasmtime::Error::msg("action journal: an added note has an unreadable result")
                })?;
                ctx.succeed(pending, result, true);
                return Ok(Ok(note));
            }
            Prior::Pending { intent_at } => {
                match reconcile(ctx, &mut pending, contact, &text, intent_at).await? {
                    Ok(Some(note)) => return Ok(Ok(finish_add(ctx, pending, note, true).await?)),
                    Ok(None) => {}
                    Err(e) => return Ok(Err(ctx.fail(pending, e))),
                }
            }
            Prior::Fresh | Prior::Mismatch { .. } => {}
        }
        if let Err(wait_ms) = crm_scope::take_note_token(ctx) {
            return Ok(Err(ctx.fail(pending, Error::RateLimited(wait_ms))));
        }
        let added = if ctx.recorder.is_dry_run() {
            Ok(dry_run(ctx, &pending, contact, &text))
        } else {
            create(ctx, contact, &text).await
        };
        match added {
            Ok(note) => Ok(Ok(finish_add(ctx, pending, note, false).await?)),
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }
}

/// Grant, access and contact scope.
async fn precheck(ctx: &RunContext, contact: i64, write: bool) -> Result<(), Refusal> {
    let Some(grant) = ctx.plugin.manifest.capabilities.notes.clone() else {
        return Err(Refusal::Denied(format!(
            "`{KEY}` is not granted in {}",
            ctx.plugin.manifest_file
        )));
    };
    crm_scope::check_access(KEY, grant.access, write).map_err(Refusal::Denied)?;
    crm_scope::check_contact(ctx, KEY, &grant.connections, contact).await
}

fn refuse(ctx: &mut RunContext, pending: Pending, refusal: Refusal) -> Error {
    match refusal {
        Refusal::Denied(m) => ctx.deny(pending, m),
        Refusal::Lookup(e) => ctx.fail(pending, radist::guest_error(&e)),
    }
}

/// 1 to `max_chars` characters.
fn check_text(ctx: &RunContext, text: &str) -> Result<(), Error> {
    let max = ctx
        .plugin
        .manifest
        .capabilities
        .notes
        .as_ref()
        .map_or(0, |n| n.max_chars);
    let chars = text.chars().count();
    if chars >= 1 && chars <= max as usize {
        return Ok(());
    }
    let message = format!("a note has 1 to {max} characters (`{KEY}.max_chars`), not {chars}");
    Err(Error::Invalid(vec![FieldError {
        path: "text".to_owned(),
        message,
    }]))
}

/// Looks for the note an earlier attempt may have added: same text, created since the intent.
async fn reconcile(
    ctx: &mut RunContext,
    pending: &mut Pending,
    contact: i64,
    text: &str,
    intent_at: DateTime<Utc>,
) -> wasmtime::Result<Result<Option<NoteOut>, Error>> {
    let notes = match list(ctx, contact).await {
        Ok(notes) => notes,
        Err(e) => return Ok(Err(radist::guest_error(&e))),
    };
    let since = intent_at - Duration::seconds(SKEW_S);
    let found = notes
        .into_iter()
        .find(|n| n.text == text && n.created_at >= since);
    let delivered = |n: &NoteOut| format!("outcome unknown: note {} found; not added again", n.id);
    let missing = "outcome unknown: no such note since the intent; adding it";
    let decided = ctx
        .recorder
        .decide_found(pending, found, delivered, missing);
    Ok(Ok(decided.await?))
}

async fn list(ctx: &RunContext, contact: i64) -> Result<Vec<NoteOut>, CallError> {
    Ok(radist::client(ctx)?.list_notes(ContactId(contact)).await?)
}

async fn create(ctx: &RunContext, contact: i64, text: &str) -> Result<NoteOut, CallError> {
    let note = ContactNoteCreateRequest {
        kind: NoteType::Text,
        text: text.to_owned(),
    };
    Ok(radist::client(ctx)?
        .create_note(ContactId(contact), &note)
        .await?)
}

/// Completes the journal entry and the record.
async fn finish_add(
    ctx: &mut RunContext,
    mut pending: Pending,
    note: NoteOut,
    replayed: bool,
) -> wasmtime::Result<Note> {
    let result = to_json(&note);
    let id = note.id.to_string();
    ctx.recorder
        .complete(&mut pending, &result, Some(&id))
        .await?;
    ctx.succeed(pending, result, replayed);
    Ok(to_wit(&note))
}

fn dry_run(ctx: &RunContext, pending: &Pending, contact: i64, text: &str) -> NoteOut {
    let now = Utc::now();
    NoteOut {
        id: radist_connector::models::NoteId(radist::dry_run_number(ctx, pending, "note")),
        contact_id: ContactId(contact),
        kind: NoteType::Text,
        text: text.to_owned(),
        created_at: now,
        updated_at: now,
        created_by: None,
        updated_by: None,
    }
}

fn to_wit(note: &NoteOut) -> Note {
    Note {
        id: note.id.0,
        text: note.text.clone(),
        created_at: Datetime {
            seconds: note.created_at.timestamp(),
            nanoseconds: note.created_at.timestamp_subsec_nanos(),
        },
    }
}

fn to_json(note: &NoteOut) -> Value {
    serde_json::to_value(note).unwrap_or(Value::Null)
}

fn from_json(value: &Value) -> Option<Note> {
    serde_json::from_value::<NoteOut>(value.clone())
        .ok()
        .map(|n| to_wit(&n))
}
