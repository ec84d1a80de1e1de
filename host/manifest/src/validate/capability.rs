//! Validation of `[capabilities]`: each grant with its scope (connections, message types, rates,
//! origins, sizes), and a hint for the interfaces that need no grant.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use toml::Spanned;

use super::fields::{
    MIB, connections_grant, distinct, grant_connections, int_field, int_opt, int_or, names,
};
use crate::manifest::{Capabilities, FilesGrant, HttpGrant, KvGrant, MessageType, MessagesGrant};
use crate::origin::Origin;
use crate::problem::{Report, key_path};
use crate::schema::v1::{CapabilitiesV1, FilesV1, HttpV1, KvV1, MessagesV1};

/// The grants in `[capabilities]`.
pub(crate) fn capabilities(report: &mut Report<'_>, raw: &Spanned<CapabilitiesV1>) -> Capabilities {
    let raw = raw.get_ref();
    for (key, value) in [
        ("log", &raw.log),
        ("config", &raw.config),
        ("clock", &raw.clock),
    ] {
        if let Some(value) = value {
            let message = format!("`{key}` is always granted; remove this key");
            report.error(value.span(), &format!("capabilities.{key}"), message);
        }
    }
    let crm = super::crm::crm_grants(report, raw);
    Capabilities {
        messages: raw.messages.as_ref().map(|grant| messages(report, grant)),
        chats: connections_grant(report, "capabilities.chats", &raw.chats),
        files: raw
            .files
            .as_ref()
            .map(|grant| files(report, grant.get_ref())),
        availability: connections_grant(report, "capabilities.availability", &raw.availability),
        templates: connections_grant(report, "capabilities.templates", &raw.templates),
        kv: raw
            .kv
            .as_ref()
            .and_then(|grant| kv(report, grant.get_ref())),
        http: raw.http.as_ref().map(|grant| http(report, grant)),
        contacts: crm.contacts,
        tags: crm.tags,
        notes: crm.notes,
        history: crm.history,
        inbox: crm.inbox,
        quick_replies: crm.quick_replies,
    }
}

fn messages(report: &mut Report<'_>, raw: &Spanned<MessagesV1>) -> MessagesGrant {
    let path = "capabilities.messages";
    let fields = raw.get_ref();
    let connections = grant_connections(report, path, raw.span(), &fields.connections);
    let types = match &fields.types {
        Some(list) => {
            let hint =
                "list message types such as `[\"text\"]`, or remove `types` to allow every type";
            names::<MessageType>(report, &key_path(path, "types"), list, hint)
        }
        None => MessageType::ALL.iter().copied().collect(),
    };
    let per_minute_path = key_path(path, "per_minute");
    let per_minute = int_opt(report, &per_minute_path, &fields.per_minute, 1..=100_000);
    let per_minute = per_minute.and_then(NonZeroU32::new);
    MessagesGrant {
        connections,
        types,
        per_minute,
    }
}

fn files(report: &mut Report<'_>, raw: &FilesV1) -> FilesGrant {
    let default = FilesGrant::default().max_bytes;
    let path = "capabilities.files.max_bytes";
    FilesGrant {
        max_bytes: int_or(report, path, &raw.max_bytes, 1..=100 * MIB, default),
    }
}

fn kv(report: &mut Report<'_>, raw: &KvV1) -> Option<KvGrant> {
    let limits = match raw {
        KvV1::Flag(false) => return None,
        KvV1::Flag(true) => return Some(KvGrant::default()),
        KvV1::Limits(limits) => limits,
    };
    let d = KvGrant::default();
    Some(KvGrant {
        max_value_bytes: int_field!(
            report,
            "capabilities.kv",
            limits,
            d,
            max_value_bytes,
            1..=MIB
        ),
        max_keys: int_field!(
            report,
            "capabilities.kv",
            limits,
            d,
            max_keys,
            1..=1_000_000
        ),
    })
}

fn http(report: &mut Report<'_>, raw: &Spanned<HttpV1>) -> HttpGrant {
    let fields = raw.get_ref();
    let path = "capabilities.http.allow";
    let hint = "add the origin the plugin calls, e.g. `[\"https://crm.example.com\"]`";
    let allow = match &fields.allow {
        Some(list) => distinct(report, path, list, hint, |origin| Origin::parse(origin)),
        None => {
            let message = "required key is missing; add the origins the plugin calls, e.g. `allow = [\"https://crm.example.com\"]`";
            report.missing(raw.span(), path, message);
            BTreeSet::new()
        }
    };
    let body_path = "capabilities.http.max_body_bytes";
    let default_body = HttpGrant::DEFAULT_MAX_BODY_BYTES;
    let max_body_bytes = int_or(
        report,
        body_path,
        &fields.max_body_bytes,
        1..=100 * MIB,
        default_body,
    );
    let timeout_path = "capabilities.http.timeout_ms";
    let default_timeout = HttpGrant::DEFAULT_TIMEOUT_MS;
    let timeout_ms = int_or(
        report,
        timeout_path,
        &fields.timeout_ms,
        1..=300_000,
        default_timeout,
    );
    HttpGrant {
        allow,
        max_body_bytes,
        timeout_ms,
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::{CapabilityKind, KvGrant, MessageType};
    use crate::test_support::{TRIGGER, check_problems, check_valid};

    #[test]
    fn grants_get_their_defaults() {
        let manifest = check_valid(&format!(
            "{TRIGGER}[capabilities]\nmessages = {{ connections = [7] }}\nkv = true\nfiles = {{}}\n\
             http = {{ allow = [\"https://crm.example.com\"] }}\n"
        ));
        let grants = &manifest.capabilities;
        let messages = grants.messages.as_ref().expect("messages granted");
        assert_eq!(messages.types.len(), MessageType::ALL.len());
        assert_eq!(messages.per_minute, None);
        assert_eq!(grants.kv, Some(KvGrant::default()));
        assert_eq!(
            grants.files.as_ref().map(|f| f.max_bytes),
            Some(100 * 1024 * 1024)
        );
        let http = grants.http.as_ref().expect("http granted");
        assert!(http.allows("https://crm.example.com/api/leads"));
        assert!(!http.allows("https://evil.example.com/"));
        assert_eq!((http.max_body_bytes, http.timeout_ms), (1024 * 1024, 5000));
        assert!(!grants.grants(CapabilityKind::Chats));
    }

    #[test]
    fn kv_false_grants_nothing() {
        let manifest = check_valid(&format!("{TRIGGER}[capabilities]\nkv = false\n"));
        assert_eq!(manifest.capabilities.kv, None);
    }

    #[test]
    fn scopes_are_required_and_checked() {
        check_problems(
            &format!(
                "{TRIGGER}[capabilities]\nmessages = {{ types = [\"txt\", \"sticker\"], per_minute = 0 }}\n\
                 chats = {{ connections = [] }}\nfiles = {{ max_bytes = 104857601 }}\nlog = true\n"
            ),
            "t.toml:8:12: capabilities.messages.connections: required key is missing; list the connection ids the plugin may use, e.g. `connections = [70001]`\n\
             t.toml:8:23: capabilities.messages.types[0]: unknown message type `txt`; did you mean `text`?\n\
             t.toml:8:30: capabilities.messages.types[1]: unknown message type `sticker`; use one of `text`, `file`, `image`, `audio`, `video`, `voice`, `waba_template`, `waba_interactive`, `markup`\n\
             t.toml:8:55: capabilities.messages.per_minute: 0 is out of range; use a value from 1 to 100000\n\
             t.toml:9:25: capabilities.chats.connections: the list is empty; list the connection ids the plugin may use, e.g. `[70001]`\n\
             t.toml:10:23: capabilities.files.max_bytes: 104857601 is out of range; use a value from 1 to 104857600\n\
             t.toml:11:7: capabilities.log: `log` is always granted; remove this key",
        );
    }

    #[test]
    fn http_origins_are_checked() {
        check_problems(
            &format!(
                "{TRIGGER}[capabilities.http]\nallow = [\"https://crm.example.com/api\", \"https://a.example\", \"https://a.example:443\"]\n\
                 [capabilities.kv]\nmax_keys = 0\n"
            ),
            "t.toml:8:10: capabilities.http.allow[0]: `https://crm.example.com/api` has a path; list the origin `https://crm.example.com`\n\
             t.toml:8:62: capabilities.http.allow[2]: `https://a.example:443` repeats an earlier entry; remove it\n\
             t.toml:10:12: capabilities.kv.max_keys: 0 is out of range; use a value from 1 to 1000000",
        );
        check_problems(
            &format!("{TRIGGER}[capabilities]\nhttp = {{ allow = [] }}\n"),
            "t.toml:8:18: capabilities.http.allow: the list is empty; add the origin the plugin calls, e.g. `[\"https://crm.example.com\"]`",
        );
    }
}
