//! `switchboard radist webhooks sync`: registers (or updates) a Radist webhook for every
//! connection a manifest subscribes to, pointing at our intake URL, and removes the ones we
//! created earlier that no manifest needs any more. `serve` does the same against the embedded
//! sandbox at start-up.
//!
//! Ours are recognised by URL: every webhook whose URL starts with `<public url>/hooks/radist/`.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use radist_connector::RadistClient;
use radist_connector::client::ListConnections;
use radist_connector::models::{
    ConnectionId, WebhookConfigConnectionMessaging, WebhookConfigConnectionMessagingOut,
    WebhookEventType,
};
use switchboard_manifest::{EventKind, Manifest, Trigger};

/// The Radist webhook events each connection needs.
type Wanted = BTreeMap<i64, BTreeSet<WebhookEventType>>;

/// Makes Radist's webhooks match what the manifests subscribe to. Returns one line per change.
pub async fn sync(
    client: &RadistClient,
    manifests: &[&Manifest],
    public_url: &str,
    token: &str,
) -> anyhow::Result<Vec<String>> {
    let base = format!("{}/hooks/radist/", public_url.trim_end_matches('/'));
    let url = format!("{base}{token}");
    let wanted = wanted(client, manifests).await?;
    let existing = client
        .list_webhooks()
        .await
        .context("cannot list radist's webhooks")?;
    let (ours, _theirs): (Vec<_>, Vec<_>) =
        existing.into_iter().partition(|w| w.url.starts_with(&base));
    let mut report = Vec::new();
    let mut kept = BTreeSet::new();
    for (connection, events) in &wanted {
        if let Some(same) = ours.iter().find(|w| covers(w, *connection, &url, events)) {
            kept.insert(same.id);
            continue;
        }
        let config = WebhookConfigConnectionMessaging {
            url: url.clone(),
            events: events.iter().copied().collect(),
            connection_id: ConnectionId(*connection),
        };
        let created = client
            .create_webhook(&config)
            .await
            .with_context(|| format!("cannot create the webhook for connection {connection}"))?;
        kept.insert(created.id);
        report.push(format!(
            "registered webhook {} for connection {connection} ({})",
            created.id,
            names(events)
        ));
    }
    for stale in ours.iter().filter(|w| !kept.contains(&w.id)) {
        client
            .delete_webhook(stale.id)
            .await
            .with_context(|| format!("cannot remove the stale webhook {}", stale.id))?;
        report.push(format!(
            "removed webhook {} of connection {} (no manifest needs it, or it was replaced)",
            stale.id, stale.connection_id
        ));
    }
    Ok(report)
}

/// Per connection, the Radist events the manifests' event triggers need. A trigger without a
/// `connections` filter needs every connection of the company.
async fn wanted(client: &RadistClient, manifests: &[&Manifest]) -> anyhow::Result<Wanted> {
    let mut all: Option<Vec<i64>> = None;
    let mut wanted = Wanted::new();
    for trigger in manifests.iter().flat_map(|m| &m.triggers) {
        let Trigger::Event(t) = trigger else { continue };
        let events: BTreeSet<_> = t.on.iter().filter_map(|k| radist_event(*k)).collect();
        if events.is_empty() {
            continue;
        }
        let connections = match &t.connections {
            Some(list) => list.iter().map(|c| c.get()).collect(),
            None => match &all {
                Some(ids) => ids.clone(),
                None => all.insert(every_connection(client).await?).clone(),
            },
        };
        for connection in connections {
            wanted.entry(connection).or_default().extend(events.iter());
        }
    }
    Ok(wanted)
}

async fn every_connection(client: &RadistClient) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::new();
    loop {
        let page = client
            .list_connections(ListConnections {
                limit: 100,
                offset: u32::try_from(ids.len()).unwrap_or(u32::MAX),
                types: Vec::new(),
            })
            .await
            .context("cannot list radist's connections")?;
        let n = page.connections.len();
        ids.extend(page.connections.iter().map(|c| c.id.0));
        if n < 100 || ids.len() as i64 >= page.count || ids.len() >= 10_000 {
            return Ok(ids);
        }
    }
}

/// The Radist webhook event behind a trigger kind (`manual` has none).
pub fn radist_event(kind: EventKind) -> Option<WebhookEventType> {
    Some(match kind {
        EventKind::MessageReceived | EventKind::MessageSent => WebhookEventType::MessagesCreate,
        EventKind::MessageDelivered => WebhookEventType::MessagesDeliveryDelivered,
        EventKind::MessageRead => WebhookEventType::MessagesDeliveryRead,
        EventKind::MessageFailed => WebhookEventType::MessagesDeliveryError,
        EventKind::ConnectionStatusChanged => WebhookEventType::ConnectionsStatusChanged,
        _ => return None,
    })
}

fn covers(
    w: &WebhookConfigConnectionMessagingOut,
    connection: i64,
    url: &str,
    events: &BTreeSet<WebhookEventType>,
) -> bool {
    w.connection_id.0 == connection
        && w.url == url
        && events.iter().all(|e| w.events.contains(e))
        && w.events.len() == events.len()
}

fn names(events: &BTreeSet<WebhookEventType>) -> String {
    let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    names.join(", ")
}
