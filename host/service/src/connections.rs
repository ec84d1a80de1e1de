//! [`ConnectionDirectory`]: which messenger is behind each Radist connection, learned from
//! Radist's connection list and kept fresh, so intake can tell a WABA chat from a WhatsApp one
//! even when the webhook does not say (DESIGN.md "Normalized triggers": events are enriched).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use radist_connector::RadistClient;
use radist_connector::client::ListConnections;
use radist_connector::models::ConnectionKind;
use switchboard_runtime::event::SourceType;

/// Radist's connection list is read at most this often when an unknown connection shows up.
const MIN_REFRESH: Duration = Duration::from_secs(30);
/// How long intake waits for a refresh before going on without the source type.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);
/// The most connections read (pages of 100); a company has a handful.
const MAX_CONNECTIONS: u32 = 10_000;

/// Source types by connection id, shared by intake and the dispatcher.
pub struct ConnectionDirectory {
    client: Option<RadistClient>,
    known: RwLock<HashMap<i64, SourceType>>,
    last_refresh: tokio::sync::Mutex<Option<Instant>>,
}

impl ConnectionDirectory {
    /// A directory that asks `client` (none: every source type stays unknown).
    pub fn new(client: Option<RadistClient>) -> Self {
        ConnectionDirectory {
            client,
            known: RwLock::new(HashMap::new()),
            last_refresh: tokio::sync::Mutex::new(None),
        }
    }

    /// The source type of `connection`: from the cache, else after one refresh of the list
    /// (at most every 30 s, shared by concurrent callers, bounded by a 2 s timeout).
    pub async fn source_type(&self, connection: i64) -> Option<SourceType> {
        if let Some(found) = self.cached(connection) {
            return Some(found);
        }
        let _ = tokio::time::timeout(REFRESH_TIMEOUT, self.refresh_if_stale()).await;
        self.cached(connection)
    }

    /// Reads the whole connection list now. Returns how many connections are known.
    pub async fn refresh(&self) -> anyhow::Result<usize> {
        let Some(client) = &self.client else {
            return Ok(0);
        };
        let mut found = HashMap::new();
        let mut offset = 0;
        while offset < MAX_CONNECTIONS {
            let page = client
                .list_connections(ListConnections {
                    limit: 100,
                    offset,
                    types: Vec::new(),
                })
                .await?;
            let n = page.connections.len() as u32;
            for c in page.connections {
                found.insert(c.id.0, source_of(&c.kind));
            }
            offset += n;
            if n < 100 || i64::from(offset) >= page.count {
                break;
            }
        }
        let count = found.len();
        *self.known.write().unwrap_or_else(|p| p.into_inner()) = found;
        Ok(count)
    }

    fn cached(&self, connection: i64) -> Option<SourceType> {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        known.get(&connection).copied()
    }

    async fn refresh_if_stale(&self) {
        let mut last = self.last_refresh.lock().await;
        if last.is_some_and(|at| at.elapsed() < MIN_REFRESH) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(err) = self.refresh().await {
            tracing::warn!(error = %format!("{err:#}"), "cannot read radist's connection list; source types stay unknown");
        }
    }
}

/// The WIT source type of a connection's kind.
pub fn source_of(kind: &ConnectionKind) -> SourceType {
    match kind {
        ConnectionKind::Whatsapp(_) => SourceType::Whatsapp,
        ConnectionKind::Waba(_) => SourceType::Waba,
        ConnectionKind::Telegram(_) => SourceType::Telegram,
        ConnectionKind::TelegramBot(_) => SourceType::TelegramBot,
        ConnectionKind::MaxPersonal(_) => SourceType::MaxPersonal,
        ConnectionKind::MaxBot(_) => SourceType::MaxBot,
        ConnectionKind::Other { kind, .. } if kind == "odnoklassniki" => SourceType::Odnoklassniki,
        _ => SourceType::Other,
    }
}
