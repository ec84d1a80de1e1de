//! [`ConnectionDirectory`]: which messenger is behind each Radist connection, one directory per
//! runtime, shared by every run of every plugin and by the service's intake (which tells a WABA
//! chat from a WhatsApp one even when the webhook does not say) and dashboard. It learns from
//! Radist's connection list (read at start and at most every 30 s when an unknown connection
//! shows up) and from single lookups a run makes (`get_connection` before a WABA send). A
//! connection's messenger never changes, so entries never expire; one small entry per
//! connection id.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

use radist_connector::RadistClient;
use radist_connector::client::ListConnections;

use crate::event::SourceType;
use crate::messenger::{self, Messenger};

/// Radist's connection list is read at most this often when an unknown connection shows up.
const MIN_REFRESH: Duration = Duration::from_secs(30);
/// How long intake waits for a refresh before going on without the source type.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);
/// The most connections read (pages of 100); a company has a handful.
const MAX_CONNECTIONS: u32 = 10_000;

/// Messengers by connection id (`None`: a connection that is no known messenger).
#[derive(Default)]
pub struct ConnectionDirectory {
    client: OnceLock<RadistClient>,
    known: RwLock<HashMap<i64, Option<Messenger>>>,
    last_refresh: tokio::sync::Mutex<Option<Instant>>,
}

impl ConnectionDirectory {
    /// A directory that asks `client` (none: only what runs learn is known).
    pub fn new(client: Option<RadistClient>) -> Self {
        let directory = ConnectionDirectory::default();
        if let Some(client) = client {
            directory.ask(client);
        }
        directory
    }

    /// Reads the connection list from `client` from now on (the first client given stays).
    pub fn ask(&self, client: RadistClient) {
        let _ = self.client.set(client);
    }

    /// The source type of `connection`: from the cache, else after one refresh of the list
    /// (at most every 30 s, shared by concurrent callers, bounded by a 2 s timeout).
    pub async fn source_type(&self, connection: i64) -> Option<SourceType> {
        if let Some(found) = self.known(connection) {
            return Some(messenger::to_wit(found));
        }
        let _ = tokio::time::timeout(REFRESH_TIMEOUT, self.refresh_if_stale()).await;
        self.known(connection).map(messenger::to_wit)
    }

    /// Reads the whole connection list now. Returns how many connections are known.
    pub async fn refresh(&self) -> Result<usize, radist_connector::RadistError> {
        let Some(client) = self.client.get() else {
            return Ok(0);
        };
        let mut found = HashMap::new();
        let mut offset = 0;
        while offset < MAX_CONNECTIONS {
            let request = ListConnections {
                limit: 100,
                offset,
                types: Vec::new(),
            };
            let page = client.list_connections(request).await?;
            let n = u32::try_from(page.connections.len()).unwrap_or(u32::MAX);
            for c in page.connections {
                found.insert(c.id.0, messenger::of_connection(&c.kind));
            }
            offset = offset.saturating_add(n);
            if n < 100 || i64::from(offset) >= page.count {
                break;
            }
        }
        let count = found.len();
        *self.known.write().unwrap_or_else(|p| p.into_inner()) = found;
        Ok(count)
    }

    /// What is known of `connection` now, without asking Radist: `Some(None)` for a
    /// connection that is no known messenger.
    pub fn known(&self, connection: i64) -> Option<Option<Messenger>> {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        known.get(&connection).copied()
    }

    /// Remembers the messenger of `connection`, as a single lookup answered.
    pub fn learn(&self, connection: i64, messenger: Option<Messenger>) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        known.insert(connection, messenger);
    }

    async fn refresh_if_stale(&self) {
        let mut last = self.last_refresh.lock().await;
        if last.is_some_and(|at| at.elapsed() < MIN_REFRESH) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(err) = self.refresh().await {
            tracing::warn!(error = %err, "cannot read radist's connection list; source types stay unknown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_each_connection() {
        let directory = ConnectionDirectory::new(None);
        assert_eq!(directory.known(70001), None);
        directory.learn(70001, Some(Messenger::Waba));
        directory.learn(70003, None);
        assert_eq!(directory.known(70001), Some(Some(Messenger::Waba)));
        assert_eq!(directory.known(70003), Some(None));
        assert_eq!(directory.known(70002), None);
    }
}
