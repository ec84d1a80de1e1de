//! Capability tests (STYLE.md layer 3): each interface's host side called directly on a store's
//! data built for a manifest snippet — no guest — against the real Radist sandbox and real
//! loopback HTTP servers. Each asserts `denied` when the grant or scope is missing.

mod chats;
mod crm;
mod crm_contacts;
mod dry_run;
mod http;
mod journal;
mod messages;
mod reads;
mod reconcile;
mod reuse;
mod support;
mod window;
