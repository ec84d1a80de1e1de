//! Identifiers handed out by the store: plain `i64`s that any backend (a SQLite rowid, a
//! PostgreSQL `BIGSERIAL`) can produce. Their order is creation order within one backend.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// An event stored by intake, the scheduler or a manual trigger.
    EventId
);
id_type!(
    /// One run of one plugin for one event.
    RunId
);
id_type!(
    /// A request intake could not decode, kept for inspection.
    QuarantineId
);
