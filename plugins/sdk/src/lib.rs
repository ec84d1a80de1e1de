//! `switchboard-plugin`: write Switchboard plugins in Rust.
//!
//! A plugin is a WebAssembly component (`wasm32-wasip2`) that exports one function, `handle`,
//! called once per event the manifest subscribes it to. It talks to the world only through the
//! host interfaces of `host/wit/plugin.wit`, each granted by a `[capabilities]` key of its
//! manifest: the host refuses to load a plugin that imports an interface its manifest does not
//! grant, and checks scopes (connections, message types, HTTP origins) on every call. Only the
//! interfaces a plugin actually calls become imports of its component.
//!
//! What this crate gives you:
//!
//! - the event and error types at the crate root ([`Event`], [`MessageEvent`], [`Error`], ...)
//!   with accessors such as [`Event::message_text`] and [`Event::chat`];
//! - the [`Plugin`] trait and the [`export!`] macro;
//! - one module per capability: [`log`] (and the [`info!`] family of macros), [`config`],
//!   [`messages`] (with [`messages::reply_text`] and builders for interactive messages and
//!   templates), [`chats`], [`availability`], [`templates`], [`kv`] (with JSON helpers),
//!   [`http`], [`files`], [`clock`];
//! - the CRM under [`crm`]: [`crm::contacts`] (find by id, phone or text; create; update),
//!   [`crm::tags`], [`crm::notes`], [`crm::history`], [`crm::inbox`] (mark answered) and
//!   [`crm::quick_replies`];
//! - `?` turns a host [`Error`] into the `String` that `handle` returns.
//!
//! # A complete plugin
//!
//! `Cargo.toml` (in the `plugins/` workspace, which builds for `wasm32-wasip2`):
//!
//! ```toml
//! [package]
//! name = "greeter"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! switchboard-plugin = { path = "../sdk" }
//! ```
//!
//! `src/lib.rs`:
//!
//! ```no_run
//! use switchboard_plugin::{Event, Plugin, RunInfo, config, messages};
//!
//! struct Greeter;
//!
//! impl Plugin for Greeter {
//!     fn handle(event: Event, _run: RunInfo) -> Result<(), String> {
//!         // Only what customers write; never our own echoes.
//!         let Some(msg) = event.received() else { return Ok(()) };
//!         let text = msg.text().unwrap_or_default().to_lowercase();
//!         if text.contains("hello") || text.contains("привет") {
//!             let greeting = config::get_or("greeting", "Hello!");
//!             messages::reply_text(msg, greeting)?;
//!             switchboard_plugin::info!("greeted chat {}", msg.chat_id);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! switchboard_plugin::export!(Greeter);
//! # fn main() {}
//! ```
//!
//! `manifests/greeter.toml` (the `wasm` path is relative to the manifest file):
//!
//! ```toml
//! manifest_version = 1
//!
//! [plugin]
//! name = "greeter"
//! wasm = "../plugins/target/wasm32-wasip2/release/greeter.wasm"
//!
//! [[trigger]]
//! on = ["message.received"]
//! connections = [70001]
//!
//! [capabilities]
//! messages = { connections = [70001], types = ["text"], per_minute = 60 }
//!
//! [limits]
//! memory_mib = 16
//! timeout_ms = 1000
//!
//! [config]
//! greeting = "Здравствуйте! Чем можем помочь?"
//! ```
//!
//! Build with `cargo build --release` in `plugins/`, test with the `switchboard-testing` harness
//! (it runs the plugin against an embedded Radist sandbox), and run it with
//! `switchboard run greeter --event event.json`.

extern crate self as switchboard_plugin;

pub mod bindings;
mod capabilities;
pub mod config;
pub mod crm;
mod error;
mod event;
pub mod http;
pub mod kv;
pub mod log;
pub mod messages;

pub use capabilities::{availability, chats, clock, files, templates};

pub use bindings::switchboard::plugin::types::{
    ChatId, ChatInfo, ConnectionId, ConnectionStatusEvent, ContactId, Datetime, DeliveryEvent,
    Direction, Error, Event, FieldError, InteractiveContent, Media, Message, MessageContent,
    MessageEvent, RunInfo, ScheduleEvent, SourceType, TemplateContent, UpstreamError, WindowClosed,
};

/// What a plugin implements: handle one event.
///
/// Return `Ok(())` when done (including "nothing to do for this event"); an `Err` ends the run
/// `failed` with that message, and the host retries it up to the manifest's `max_attempts`.
/// Register the type with [`export!`].
pub trait Plugin {
    /// Handles one event of the kinds the manifest subscribes to.
    fn handle(event: Event, run: RunInfo) -> Result<(), String>;
}

impl<T: Plugin> bindings::Guest for T {
    fn handle(event: Event, run: RunInfo) -> Result<(), String> {
        <T as Plugin>::handle(event, run)
    }
}

/// Exports a [`Plugin`] implementation as the component's `handle`: `export!(MyPlugin);` once,
/// at the crate root of a `cdylib` crate.
#[macro_export]
macro_rules! export {
    ($ty:ident) => {
        $crate::bindings::__export_plugin!($ty with_types_in $crate::bindings);
    };
}
