//! `tags`: list company tags; add or remove tags on a contact, granted by `capabilities.tags`
//! (read and write separately, an allow-list of names, contacts in scope). Radist's only write
//! replaces a contact's whole set, so add and remove read the set, change only the named tags
//! and write it back: a tag a person added in between stays. The journal records the final set;
//! a pending action is simply done again, which converges (adding a present tag or removing an
//! absent one changes nothing). A missing tag is created only with `create_missing`, after
//! looking it up by name, so a repeated create finds the first; a create Radist refuses because
//! a concurrent run made the tag first reads that tag back.

use radist_connector::models::{ContactId, TagId, TagIn, TagOut};
use radist_connector::{RadistClient, RadistError};
use serde_json::{Value, json};

use super::crm_scope::{self, Refusal};
use super::radist::{self, CallError};
use super::wit::tags::{Host, Tag};
use super::wit::types::Error;
use crate::recorder::Pending;
use crate::state::{HostState, RunContext};

const KEY: &str = "capabilities.tags";
/// Most tag pages read (100 tags each).
const MAX_TAG_PAGES: u32 = 20;

impl Host for HostState {
    async fn list(&mut self) -> wasmtime::Result<Result<Vec<Tag>, Error>> {
        let ctx = &mut self.ctx;
        let pending = ctx.recorder.begin("tags.list", Value::Null);
        let Some(grant) = ctx.plugin.manifest.capabilities.tags.clone() else {
            return Ok(Err(ctx.not_granted(pending, KEY)));
        };
        if let Err(m) = crm_scope::check_access(KEY, grant.access, false) {
            return Ok(Err(ctx.deny(pending, m)));
        }
        let listed = match radist::client(ctx) {
            Ok(client) => all_tags(&client).await,
            Err(e) => Err(e),
        };
        match listed {
            Ok(tags) => {
                ctx.succeed(pending, json!({"count": tags.len()}), false);
                Ok(Ok(tags.into_iter().map(to_wit).collect()))
            }
            Err(e) => Ok(Err(ctx.fail(pending, radist::guest_error(&e)))),
        }
    }

    async fn add(
        &mut self,
        contact: i64,
        names: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        change(&mut self.ctx, "tags.add", contact, names, true).await
    }

    async fn remove(
        &mut self,
        contact: i64,
        names: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        change(&mut self.ctx, "tags.remove", contact, names, false).await
    }
}

/// Adds or removes `names` on `contact`; answers the contact's resulting tag names.
async fn change(
    ctx: &mut RunContext,
    kind: &'static str,
    contact: i64,
    names: Vec<String>,
    add: bool,
) -> wasmtime::Result<Result<Vec<String>, Error>> {
    let mut pending = ctx
        .recorder
        .begin(kind, json!({"contact_id": contact, "names": names}));
    if let Err(refusal) = precheck(ctx, contact, &names).await {
        return Ok(Err(match refusal {
            Refusal::Denied(m) => ctx.deny(pending, m),
            Refusal::Lookup(e) => ctx.fail(pending, radist::guest_error(&e)),
        }));
    }
    let repeat = "outcome unknown: read the set and changed it again (converges)";
    let prior = ctx.recorder.intent_repeatable(&mut pending, None, repeat);
    if let Some(result) = prior.await? {
        let set = names_of(&result);
        ctx.succeed(pending, result, true);
        return Ok(Ok(set));
    }
    let changed = if ctx.recorder.is_dry_run() {
        Ok(if add { names.clone() } else { Vec::new() })
    } else {
        apply(ctx, contact, &names, add).await
    };
    match changed {
        Ok(set) => Ok(Ok(finish(ctx, pending, set).await?)),
        Err(e) => Ok(Err(ctx.fail(pending, guest(&e)))),
    }
}

async fn finish(
    ctx: &mut RunContext,
    mut pending: Pending,
    set: Vec<String>,
) -> wasmtime::Result<Vec<String>> {
    let result = json!({"tags": set});
    ctx.recorder.complete(&mut pending, &result, None).await?;
    ctx.succeed(pending, result, false);
    Ok(set)
}

/// Grant, write access, the allow-list and the contact's scope.
async fn precheck(ctx: &RunContext, contact: i64, names: &[String]) -> Result<(), Refusal> {
    let Some(grant) = ctx.plugin.manifest.capabilities.tags.clone() else {
        return Err(Refusal::Denied(format!(
            "`{KEY}` is not granted in {}",
            ctx.plugin.manifest_file
        )));
    };
    crm_scope::check_access(KEY, grant.access, true).map_err(Refusal::Denied)?;
    if let Some(name) = names.iter().find(|n| !grant.may_assign(n)) {
        let m = format!("tag `{name}` is not in `{KEY}.allow`; add it to the manifest");
        return Err(Refusal::Denied(m));
    }
    crm_scope::check_contact(ctx, KEY, &grant.connections, contact).await
}

/// Why a change did not happen: Radist failed, or a named tag does not exist.
enum ChangeError {
    Call(CallError),
    Missing(String),
}

impl From<CallError> for ChangeError {
    fn from(e: CallError) -> Self {
        ChangeError::Call(e)
    }
}

impl From<radist_connector::RadistError> for ChangeError {
    fn from(e: radist_connector::RadistError) -> Self {
        ChangeError::Call(CallError::from(e))
    }
}

fn guest(e: &ChangeError) -> Error {
    match e {
        ChangeError::Call(e) => radist::guest_error(e),
        ChangeError::Missing(name) => Error::NotFound(format!(
            "tag `{name}` does not exist; create it in Radist or set `create_missing = true` in `{KEY}`"
        )),
    }
}

/// Read, modify, write: the contact's set with `names` added or removed; the resulting names.
async fn apply(
    ctx: &RunContext,
    contact: i64,
    names: &[String],
    add: bool,
) -> Result<Vec<String>, ChangeError> {
    let client = radist::client(ctx)?;
    let create_missing = ctx
        .plugin
        .manifest
        .capabilities
        .tags
        .as_ref()
        .is_some_and(|g| g.create_missing);
    let mut tags = all_tags(&client).await?;
    let mut wanted = Vec::new();
    for name in names {
        match tags.iter().find(|t| &t.name == name) {
            Some(tag) => wanted.push(tag.id),
            None if add && create_missing => {
                let created = create_or_find(&client, name).await?;
                wanted.push(created.id);
                tags.push(created);
            }
            None if add => return Err(ChangeError::Missing(name.clone())),
            None => {}
        }
    }
    let current: Vec<TagId> = client
        .get_contact(ContactId(contact))
        .await?
        .tags
        .iter()
        .map(|t| TagId(t.id))
        .collect();
    let mut next: Vec<TagId> = current
        .iter()
        .copied()
        .filter(|id| add || !wanted.contains(id))
        .collect();
    if add {
        next.extend(wanted.iter().filter(|id| !current.contains(id)));
    }
    if next != current {
        client.set_contact_tags(ContactId(contact), &next).await?;
    }
    let name_of = |id: &TagId| tags.iter().find(|t| t.id == *id).map(|t| t.name.clone());
    Ok(next.iter().filter_map(name_of).collect())
}

/// Creates the company tag `name`. When Radist refuses it as invalid (names are unique: another
/// run created it since the list was read), reads it back by name instead of failing.
async fn create_or_find(client: &RadistClient, name: &str) -> Result<TagOut, ChangeError> {
    let refused = match client.create_tag(&TagIn::named(name.to_owned())).await {
        Ok(tag) => return Ok(tag),
        Err(e @ (RadistError::Unprocessable { .. } | RadistError::Invalid(_))) => e,
        Err(e) => return Err(e.into()),
    };
    let found = all_tags(client).await?.into_iter().find(|t| t.name == name);
    found.ok_or_else(|| refused.into())
}

/// Every company tag (bounded to [`MAX_TAG_PAGES`] pages).
async fn all_tags(client: &RadistClient) -> Result<Vec<TagOut>, CallError> {
    let mut all = Vec::new();
    for page in 0..MAX_TAG_PAGES {
        let tags = client.list_tags(100, page * 100).await?;
        let full = tags.len() == 100;
        all.extend(tags);
        if !full {
            break;
        }
    }
    Ok(all)
}

fn to_wit(tag: TagOut) -> Tag {
    Tag {
        id: tag.id.0,
        name: tag.name,
        description: tag.description,
        color: tag.background_color,
    }
}

fn names_of(result: &Value) -> Vec<String> {
    let list = result.get("tags").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}
