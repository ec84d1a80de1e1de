//! Switchboard plugin manifests and the host config: parse, validate, upgrade. Pure data.
//!
//! This crate does no I/O: callers read files and pass `(file_name, text)`; the name only appears
//! in problem reports. Nothing here reads environment variables either: secrets are recorded as
//! the name of the variable that holds them.
//!
//! Both entry points read the version field first (`manifest_version`, `config_version`), decode
//! with that version's schema (`deny_unknown_fields`, every key optional), upgrade to the latest
//! schema, then validate. Every problem is collected, with file, line, column and key path:
//!
//! ```
//! let text = "manifest_version = 1\n[plugin]\nname = \"echo\"\nwasm = \"echo.wasm\"\n\
//!             [[trigger]]\non = [\"message.received\"]\n[limits]\ntimout_ms = 500\n";
//! let problems = switchboard_manifest::parse_manifest("echo.toml", text).unwrap_err();
//! assert_eq!(
//!     problems.to_string(),
//!     "echo.toml:8:1: limits.timout_ms: unknown key; did you mean `timeout_ms`?"
//! );
//! ```
//!
//! Module map: `document` (TOML text to raw schema, syntax and serde problems), `schema` (raw
//! schemas per version), `upgrade` (older versions to the latest), `validate` (latest raw schema
//! to [`Manifest`]), `manifest` and `origin` (the validated types), `host_config` (the host's own
//! config file, same pipeline), `problem` (reports), `named` (string enums, suggestions).

mod document;
mod host_config;
mod manifest;
mod named;
mod origin;
mod problem;
mod schema;
mod secret_conflicts;
mod upgrade;
mod validate;

pub use host_config::{
    HostConfig, PluginsConfig, RadistConfig, RadistMode, RetentionConfig, RuntimeConfig,
    ServerConfig, StoreConfig, StoreDurability, WebhookConfig, admin_exposure, parse_host_config,
};
pub use manifest::{
    Access, Capabilities, CapabilityKind, CatchUp, ConnectionId, ConnectionsGrant, ContactsGrant,
    CronSpec, EventKind, EventTrigger, FilesGrant, HOST_WIT_VERSIONS, HistoryGrant, HttpGrant,
    KvGrant, Limits, Manifest, MessageType, MessagesGrant, NotesGrant, Overlap, PluginName,
    PluginSection, ScheduleTrigger, SecretSource, SourceType, TagsGrant, TextPattern, Trigger,
};
pub use origin::Origin;
pub use problem::{Problem, Problems};
pub use secret_conflicts::secret_conflicts;

use problem::Report;

/// The `manifest_version` values this crate reads, oldest first.
pub const SUPPORTED_MANIFEST_VERSIONS: &[i64] = schema::SUPPORTED_VERSIONS;

/// Parses and validates the plugin manifest `text`; `file` names it in problem reports.
///
/// # Errors
///
/// Every problem found: TOML syntax, a missing or unsupported `manifest_version`, unknown keys
/// (with a "did you mean"), wrong types, and invalid values.
pub fn parse_manifest(file: &str, text: &str) -> Result<Manifest, Problems> {
    let mut report = Report::new(file, text);
    let manifest = read_manifest(text, &mut report);
    report.finish(manifest)
}

fn read_manifest(text: &str, report: &mut Report<'_>) -> Option<Manifest> {
    let document = document::parse(text, report)?;
    let version = document::read_version(
        &document,
        "manifest_version",
        SUPPORTED_MANIFEST_VERSIONS,
        report,
    )?;
    let versioned = schema::decode(version, document, report)?;
    let latest = upgrade::to_latest(versioned);
    validate::manifest(report, &latest)
}

/// Helpers for the unit tests of every module.
#[cfg(test)]
mod test_support {
    /// A valid manifest head (version and `[plugin]`): 4 lines, so bodies start on line 5.
    pub(crate) const HEAD: &str =
        "manifest_version = 1\n[plugin]\nname = \"t\"\nwasm = \"t.wasm\"\n";

    /// The smallest valid trigger, for bodies about other sections.
    pub(crate) const TRIGGER: &str = "[[trigger]]\non = [\"manual\"]\n";

    /// Parses `HEAD` + `body` as `t.toml`; the manifest, or the rendered problems.
    pub(crate) fn parse(body: &str) -> Result<crate::Manifest, String> {
        crate::parse_manifest("t.toml", &format!("{HEAD}{body}")).map_err(|p| p.to_string())
    }

    /// Asserts that `HEAD` + `body` is refused with exactly `expected` (one problem per line).
    pub(crate) fn check_problems(body: &str, expected: &str) {
        match parse(body) {
            Ok(manifest) => panic!("expected problems, got {manifest:#?}"),
            Err(problems) => assert_eq!(problems, expected.trim()),
        }
    }

    /// Asserts that `HEAD` + `body` is valid, and returns the manifest.
    pub(crate) fn check_valid(body: &str) -> crate::Manifest {
        parse(body).unwrap_or_else(|problems| panic!("expected a valid manifest:\n{problems}"))
    }
}
