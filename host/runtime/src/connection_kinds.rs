//! Which connections are WABA connections, learned from Radist (`get_connection`) and kept for
//! the runtime's lifetime, shared by every run of every plugin. A connection's messenger never
//! changes, so entries never expire; the map holds one small entry per connection id.

use std::collections::HashMap;
use std::sync::Mutex;

/// The messenger family of a connection, as far as the host's checks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionKind {
    /// WhatsApp Business API: free-form messages need the 24-hour window.
    Waba,
    /// Any other messenger: no window.
    Other,
}

/// connection id → kind, as Radist answered.
#[derive(Default)]
pub(crate) struct ConnectionKinds {
    entries: Mutex<HashMap<i64, ConnectionKind>>,
}

impl ConnectionKinds {
    pub(crate) fn get(&self, connection: i64) -> Option<ConnectionKind> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&connection).copied()
    }

    pub(crate) fn put(&self, connection: i64, kind: ConnectionKind) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(connection, kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_each_connection() {
        let kinds = ConnectionKinds::default();
        assert_eq!(kinds.get(70001), None);
        kinds.put(70001, ConnectionKind::Waba);
        kinds.put(70003, ConnectionKind::Other);
        assert_eq!(kinds.get(70001), Some(ConnectionKind::Waba));
        assert_eq!(kinds.get(70003), Some(ConnectionKind::Other));
        assert_eq!(kinds.get(70002), None);
    }
}
