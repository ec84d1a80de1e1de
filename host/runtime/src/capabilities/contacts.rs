//! `contacts`: find (by id, phone or text), create and update contacts, granted by
//! `capabilities.contacts` (read and write separately). A plugin sees and changes only contacts
//! in scope: the event's own contact, contacts with a chat on a granted connection, and contacts
//! this run created. Create and update are journaled in two phases; a create an earlier attempt
//! left without a result (timeout, ambiguous 5xx, crash) is reconciled by searching Radist for
//! the contact (by its first phone, else by its name) before anything is created again. An
//! update is a PATCH of the same body, so a pending one is simply repeated.

use radist_connector::RadistClient;
use radist_connector::client::ContactSearch;
use radist_connector::models::{
    ContactCreateRequest, ContactId, ContactOut, ContactUpdateRequest, EmailIn, EmailType, PhoneIn,
    PhoneType,
};
use serde_json::{Value, json};

use super::crm_scope::{self, Refusal};
use super::radist::{self, CallError};
use super::wit::contacts::{Contact, ContactChat, ContactUpdate, Host, Lookup, NewContact};
use super::wit::types::{Error, FieldError};
use crate::journal::Prior;
use crate::recorder::Pending;
use crate::state::{HostState, RunContext};

const KEY: &str = "capabilities.contacts";
/// Most phones or e-mails one create or update may carry.
const MAX_VALUES: usize = 10;

impl Host for HostState {
    async fn find(&mut self, by: Lookup) -> wasmtime::Result<Result<Vec<Contact>, Error>> {
        let ctx = &mut self.ctx;
        let pending = ctx.recorder.begin("contacts.find", lookup_json(&by));
        if let Err(m) = access(ctx, false) {
            return Ok(Err(ctx.deny(pending, m)));
        }
        if let Err(e) = check_lookup(&by) {
            return Ok(Err(ctx.fail(pending, e)));
        }
        match search(ctx, by).await {
            Ok(found) => {
                let visible: Vec<Contact> = found
                    .iter()
                    .filter(|c| in_scope(ctx, c))
                    .map(to_wit)
                    .collect();
                ctx.succeed(pending, json!({"count": visible.len()}), false);
                Ok(Ok(visible))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }

    async fn create(&mut self, contact: NewContact) -> wasmtime::Result<Result<Contact, Error>> {
        let ctx = &mut self.ctx;
        let request =
            json!({"name": contact.name, "phones": contact.phones, "emails": contact.emails});
        let mut pending = ctx.recorder.begin("contacts.create", request);
        if let Err(m) = access(ctx, true) {
            return Ok(Err(ctx.deny(pending, m)));
        }
        let checked = check_name(&contact.name)
            .and_then(|()| check_values("phones", &contact.phones, Some((10, 16))))
            .and_then(|()| check_values("emails", &contact.emails, None));
        if let Err(e) = checked {
            return Ok(Err(ctx.fail(pending, e)));
        }
        match ctx.recorder.intent(&mut pending, None).await? {
            Prior::Completed { result, .. } => return Ok(replayed(ctx, pending, result)),
            Prior::Pending { .. } => match reconcile(ctx, &mut pending, &contact).await? {
                Ok(Some(found)) => return Ok(Ok(finish(ctx, pending, found, true).await?)),
                Ok(None) => {}
                Err(e) => return Ok(Err(ctx.fail(pending, e))),
            },
            Prior::Fresh | Prior::Mismatch { .. } => {}
        }
        let created = if ctx.recorder.is_dry_run() {
            Ok(dry_run(ctx, &pending, &contact))
        } else {
            create(ctx, &contact).await
        };
        match created {
            Ok(found) => Ok(Ok(finish(ctx, pending, found, false).await?)),
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }

    async fn update(
        &mut self,
        id: i64,
        change: ContactUpdate,
    ) -> wasmtime::Result<Result<Contact, Error>> {
        let ctx = &mut self.ctx;
        let request = json!({"contact_id": id, "name": change.name, "phones": change.phones,
            "emails": change.emails});
        let mut pending = ctx.recorder.begin("contacts.update", request);
        if let Err(refusal) = precheck_update(ctx, id, &change).await {
            return Ok(Err(refuse(ctx, pending, refusal)));
        }
        let repeat = "outcome unknown: updated again (the same change leaves the same contact)";
        let prior = ctx.recorder.intent_repeatable(&mut pending, None, repeat);
        if let Some(result) = prior.await? {
            return Ok(replayed(ctx, pending, result));
        }
        let updated = if ctx.recorder.is_dry_run() {
            Ok(dry_run_update(id, &change))
        } else {
            update(ctx, id, &change).await
        };
        match updated {
            Ok(found) => Ok(Ok(finish(ctx, pending, found, false).await?)),
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }
}

/// Why a check refused: outside the grant, invalid input, or Radist could not say.
fn refuse(ctx: &mut RunContext, pending: Pending, refusal: UpdateRefusal) -> Error {
    match refusal {
        UpdateRefusal::Scope(Refusal::Denied(m)) => ctx.deny(pending, m),
        UpdateRefusal::Scope(Refusal::Lookup(e)) => ctx.fail(pending, radist::guest_error(&e)),
        UpdateRefusal::Invalid(e) => ctx.fail(pending, e),
    }
}

enum UpdateRefusal {
    Scope(Refusal),
    Invalid(Error),
}

/// The grant's read or write access.
fn access(ctx: &RunContext, write: bool) -> Result<(), String> {
    let Some(grant) = &ctx.plugin.manifest.capabilities.contacts else {
        return Err(format!(
            "`{KEY}` is not granted in {}",
            ctx.plugin.manifest_file
        ));
    };
    crm_scope::check_access(KEY, grant.access, write)
}

/// Write access, the change's fields, and the contact in scope.
async fn precheck_update(
    ctx: &RunContext,
    id: i64,
    change: &ContactUpdate,
) -> Result<(), UpdateRefusal> {
    access(ctx, true).map_err(|m| UpdateRefusal::Scope(Refusal::Denied(m)))?;
    let checked = change
        .name
        .as_deref()
        .map_or(Ok(()), check_name)
        .and_then(|()| check_opt("phones", change.phones.as_deref(), Some((10, 16))))
        .and_then(|()| check_opt("emails", change.emails.as_deref(), None));
    checked.map_err(UpdateRefusal::Invalid)?;
    let connections = ctx
        .plugin
        .manifest
        .capabilities
        .contacts
        .as_ref()
        .map(|g| g.connections.clone())
        .unwrap_or_default();
    crm_scope::check_contact(ctx, KEY, &connections, id)
        .await
        .map_err(UpdateRefusal::Scope)
}

/// Whether the plugin may see `contact`: the event's, created by this run, or with a chat on a
/// granted connection.
fn in_scope(ctx: &RunContext, contact: &ContactOut) -> bool {
    let id = contact.id.0;
    if ctx.event_contact == Some(id) || ctx.created_contacts.contains(&id) {
        return true;
    }
    let Some(grant) = &ctx.plugin.manifest.capabilities.contacts else {
        return false;
    };
    contact.chats.iter().any(|chat| {
        grant
            .connections
            .iter()
            .any(|c| c.get() == chat.connection_id.0)
    })
}

async fn search(ctx: &RunContext, by: Lookup) -> Result<Vec<ContactOut>, CallError> {
    let client = radist::client(ctx)?;
    let found = match by {
        Lookup::Id(id) => match client.get_contact(ContactId(id)).await {
            Ok(contact) => vec![contact],
            Err(radist_connector::RadistError::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        },
        Lookup::Phone(phone) => search_by(&client, ContactSearch::Phone(phone)).await?,
        Lookup::Text(text) => search_by(&client, ContactSearch::Text(text)).await?,
    };
    Ok(found)
}

async fn search_by(
    client: &RadistClient,
    search: ContactSearch,
) -> Result<Vec<ContactOut>, CallError> {
    Ok(client.search_contacts(search).await?.items)
}

/// A phone of 10 to 16 characters; a text of 1 to 128.
fn check_lookup(by: &Lookup) -> Result<(), Error> {
    match by {
        Lookup::Id(_) => Ok(()),
        Lookup::Phone(p) => check_len("phone", p, 10, 16),
        Lookup::Text(t) => check_len("text", t, 1, 128),
    }
}

fn check_name(name: &str) -> Result<(), Error> {
    check_len("name", name, 1, 256)
}

fn check_opt(
    field: &str,
    values: Option<&[String]>,
    len: Option<(usize, usize)>,
) -> Result<(), Error> {
    values.map_or(Ok(()), |v| check_values(field, v, len))
}

/// At most [`MAX_VALUES`] values, each within `len` (characters) when given, else 1 to 256.
fn check_values(field: &str, values: &[String], len: Option<(usize, usize)>) -> Result<(), Error> {
    if values.len() > MAX_VALUES {
        let message = format!("at most {MAX_VALUES} values, not {}", values.len());
        return Err(invalid(field, message));
    }
    let (min, max) = len.unwrap_or((1, 256));
    values
        .iter()
        .enumerate()
        .try_for_each(|(i, v)| check_len(&format!("{field}[{i}]"), v, min, max))
}

fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), Error> {
    let chars = value.chars().count();
    if (min..=max).contains(&chars) {
        return Ok(());
    }
    Err(invalid(
        field,
        format!("{min} to {max} characters, not {chars}"),
    ))
}

fn invalid(field: &str, message: String) -> Error {
    Error::Invalid(vec![FieldError {
        path: field.to_owned(),
        message,
    }])
}

/// Looks for the contact an earlier attempt may have created: by its first phone (the same
/// name), else by its name (the same name and e-mails).
async fn reconcile(
    ctx: &mut RunContext,
    pending: &mut Pending,
    contact: &NewContact,
) -> wasmtime::Result<Result<Option<ContactOut>, Error>> {
    let search = match contact.phones.first() {
        Some(phone) => ContactSearch::Phone(phone.clone()),
        None => ContactSearch::Text(contact.name.clone()),
    };
    let found = match radist::client(ctx) {
        Ok(client) => search_by(&client, search).await,
        Err(e) => Err(e),
    };
    let found = match found {
        Ok(found) => found.into_iter().find(|c| same(c, contact)),
        Err(e) => return Ok(Err(radist::guest_error(&e))),
    };
    let delivered =
        |c: &ContactOut| format!("outcome unknown: contact {} found; not created again", c.id);
    let missing = "outcome unknown: no such contact found; creating it";
    let decided = ctx
        .recorder
        .decide_found(pending, found, delivered, missing);
    Ok(Ok(decided.await?))
}

/// The same name, and (without phones) the same e-mails.
fn same(found: &ContactOut, wanted: &NewContact) -> bool {
    if found.name != wanted.name {
        return false;
    }
    if !wanted.phones.is_empty() {
        return true;
    }
    let emails: Vec<&str> = found.emails.iter().map(|e| e.value.as_str()).collect();
    emails == wanted.emails.iter().map(String::as_str).collect::<Vec<_>>()
}

async fn create(ctx: &RunContext, contact: &NewContact) -> Result<ContactOut, CallError> {
    let request = ContactCreateRequest {
        phones: phones(&contact.phones),
        emails: emails(&contact.emails),
        ..ContactCreateRequest::new(contact.name.clone())
    };
    Ok(radist::client(ctx)?.create_contact(&request).await?)
}

async fn update(
    ctx: &RunContext,
    id: i64,
    change: &ContactUpdate,
) -> Result<ContactOut, CallError> {
    let request = ContactUpdateRequest {
        name: change.name.clone(),
        phones: change.phones.as_deref().map(phones),
        emails: change.emails.as_deref().map(emails),
        tags: None,
    };
    Ok(radist::client(ctx)?
        .update_contact(ContactId(id), &request)
        .await?)
}

fn phones(values: &[String]) -> Vec<PhoneIn> {
    values
        .iter()
        .map(|v| PhoneIn {
            kind: PhoneType::Work,
            value: v.clone(),
        })
        .collect()
}

fn emails(values: &[String]) -> Vec<EmailIn> {
    values
        .iter()
        .map(|v| EmailIn {
            kind: EmailType::Work,
            value: v.clone(),
        })
        .collect()
}

/// Answers from the ledger's recorded contact.
fn replayed(ctx: &mut RunContext, pending: Pending, result: Value) -> Result<Contact, Error> {
    match serde_json::from_value::<ContactOut>(result.clone()) {
        Ok(found) => {
            ctx.created_contacts.insert(found.id.0);
            ctx.succeed(pending, result, true);
            Ok(to_wit(&found))
        }
        Err(_) => Err(ctx.fail(
            pending,
            super::upstream(
                None,
                "the ledger's record of this contact is unreadable",
                false,
            ),
        )),
    }
}

/// Completes the journal entry and the record; the contact is in scope for the rest of the run.
async fn finish(
    ctx: &mut RunContext,
    mut pending: Pending,
    contact: ContactOut,
    replayed: bool,
) -> wasmtime::Result<Contact> {
    let result = serde_json::to_value(&contact).unwrap_or(Value::Null);
    let id = contact.id.to_string();
    ctx.recorder
        .complete(&mut pending, &result, Some(&id))
        .await?;
    ctx.succeed(pending, result, replayed);
    ctx.created_contacts.insert(contact.id.0);
    Ok(to_wit(&contact))
}

fn dry_run(ctx: &RunContext, pending: &Pending, contact: &NewContact) -> ContactOut {
    let id = radist::dry_run_number(ctx, pending, "contact");
    let mut out = dry_run_update(
        id,
        &ContactUpdate {
            name: Some(contact.name.clone()),
            phones: None,
            emails: None,
        },
    );
    out.phones = contact
        .phones
        .iter()
        .enumerate()
        .map(|(i, v)| radist_connector::models::Phone {
            id: i64::try_from(i).unwrap_or(0),
            kind: PhoneType::Work,
            value: v.clone(),
        })
        .collect();
    out
}

fn dry_run_update(id: i64, change: &ContactUpdate) -> ContactOut {
    ContactOut {
        id: ContactId(id),
        company_id: radist_connector::models::CompanyId(0),
        name: change.name.clone().unwrap_or_default(),
        avatar_url: None,
        is_group: false,
        phones: Vec::new(),
        emails: Vec::new(),
        tags: Vec::new(),
        chats: Vec::new(),
    }
}

fn to_wit(contact: &ContactOut) -> Contact {
    Contact {
        id: contact.id.0,
        name: contact.name.clone(),
        phones: contact.phones.iter().map(|p| p.value.clone()).collect(),
        emails: contact.emails.iter().map(|e| e.value.clone()).collect(),
        tags: contact.tags.iter().map(|t| t.name.clone()).collect(),
        chats: contact
            .chats
            .iter()
            .map(|c| ContactChat {
                connection_id: c.connection_id.0,
                chat_id: c.chat_id.0,
                name: c.name.clone(),
                phone: c.phone.clone(),
                username: c.username.clone(),
            })
            .collect(),
    }
}

fn lookup_json(by: &Lookup) -> Value {
    match by {
        Lookup::Id(id) => json!({"id": id}),
        Lookup::Phone(p) => json!({"phone": p}),
        Lookup::Text(t) => json!({"text": t}),
    }
}
