//! Validation of the CRM grants: `contacts`, `tags`, `notes`, `history`, `inbox` and
//! `quick_replies`. Read defaults to true and write to false; a grant allowing neither is
//! refused, and so is writing tags without an allow-list of names.

use std::num::NonZeroU32;
use std::ops::Range;

use toml::Spanned;

use super::fields::{connections_grant, distinct, grant_connections, int_opt, int_or};
use crate::manifest::{Access, ContactsGrant, HistoryGrant, NotesGrant, TagsGrant};
use crate::problem::{Report, key_path};
use crate::schema::v1::{CapabilitiesV1, ContactsV1, HistoryV1, NotesV1, TagsV1};

/// Longest tag name Radist accepts.
const TAG_NAME_MAX_CHARS: usize = 15;

/// The CRM grants of `[capabilities]`, in declaration order.
pub(crate) struct CrmGrants {
    pub contacts: Option<ContactsGrant>,
    pub tags: Option<TagsGrant>,
    pub notes: Option<NotesGrant>,
    pub history: Option<HistoryGrant>,
    pub inbox: Option<crate::manifest::ConnectionsGrant>,
    pub quick_replies: bool,
}

/// Validates every CRM grant present.
pub(crate) fn crm_grants(report: &mut Report<'_>, raw: &CapabilitiesV1) -> CrmGrants {
    CrmGrants {
        contacts: raw.contacts.as_ref().map(|grant| contacts(report, grant)),
        tags: raw.tags.as_ref().map(|grant| tags(report, grant)),
        notes: raw.notes.as_ref().map(|grant| notes(report, grant)),
        history: raw.history.as_ref().map(|grant| history(report, grant)),
        inbox: connections_grant(report, "capabilities.inbox", &raw.inbox),
        quick_replies: raw
            .quick_replies
            .as_ref()
            .is_some_and(|flag| *flag.get_ref()),
    }
}

/// `read` (default true) and `write` (default false); at least one must be true.
fn access(
    report: &mut Report<'_>,
    path: &str,
    at: Range<usize>,
    read: &Option<Spanned<bool>>,
    write: &Option<Spanned<bool>>,
) -> Access {
    let access = Access {
        read: read.as_ref().is_none_or(|r| *r.get_ref()),
        write: write.as_ref().is_some_and(|w| *w.get_ref()),
    };
    if !access.read && !access.write {
        let message = "the grant allows neither reading nor writing; set `read = true` or `write = true`, or remove it";
        report.error(at, path, message.to_owned());
    }
    access
}

fn contacts(report: &mut Report<'_>, raw: &Spanned<ContactsV1>) -> ContactsGrant {
    let path = "capabilities.contacts";
    let fields = raw.get_ref();
    ContactsGrant {
        access: access(report, path, raw.span(), &fields.read, &fields.write),
        connections: grant_connections(report, path, raw.span(), &fields.connections),
    }
}

fn tags(report: &mut Report<'_>, raw: &Spanned<TagsV1>) -> TagsGrant {
    let path = "capabilities.tags";
    let fields = raw.get_ref();
    let access = access(report, path, raw.span(), &fields.read, &fields.write);
    let allow_path = key_path(path, "allow");
    let allow = match &fields.allow {
        Some(list) => {
            let hint = "list the tag names the plugin may add or remove, e.g. `[\"lead\"]`";
            distinct(report, &allow_path, list, hint, |name| tag_name(name))
        }
        None if access.write => {
            let message = "required key is missing when `write = true`; list the tag names the plugin may add or remove, e.g. `allow = [\"lead\"]`";
            report.missing(raw.span(), &allow_path, message);
            Default::default()
        }
        None => Default::default(),
    };
    TagsGrant {
        access,
        connections: grant_connections(report, path, raw.span(), &fields.connections),
        allow,
        create_missing: fields.create_missing.as_ref().is_some_and(|c| *c.get_ref()),
    }
}

fn tag_name(name: &str) -> Result<String, String> {
    let chars = name.chars().count();
    if (1..=TAG_NAME_MAX_CHARS).contains(&chars) {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "`{name}` has {chars} characters; Radist tag names have 1 to {TAG_NAME_MAX_CHARS}"
        ))
    }
}

fn notes(report: &mut Report<'_>, raw: &Spanned<NotesV1>) -> NotesGrant {
    let path = "capabilities.notes";
    let fields = raw.get_ref();
    let chars_path = key_path(path, "max_chars");
    let default_chars = NotesGrant::DEFAULT_MAX_CHARS;
    let per_minute_path = key_path(path, "per_minute");
    let per_minute = int_opt(report, &per_minute_path, &fields.per_minute, 1..=10_000);
    NotesGrant {
        access: access(report, path, raw.span(), &fields.read, &fields.write),
        connections: grant_connections(report, path, raw.span(), &fields.connections),
        max_chars: int_or(
            report,
            &chars_path,
            &fields.max_chars,
            1..=8192,
            default_chars,
        ),
        per_minute: per_minute.and_then(NonZeroU32::new),
    }
}

fn history(report: &mut Report<'_>, raw: &Spanned<HistoryV1>) -> HistoryGrant {
    let path = "capabilities.history";
    let fields = raw.get_ref();
    let max_path = key_path(path, "max_messages");
    let default = HistoryGrant::DEFAULT_MAX_MESSAGES;
    HistoryGrant {
        connections: grant_connections(report, path, raw.span(), &fields.connections),
        max_messages: int_or(report, &max_path, &fields.max_messages, 1..=1000, default),
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::{Access, CapabilityKind, ConnectionId, ContactsGrant};
    use crate::test_support::{TRIGGER, check_problems, check_valid, parse};

    #[test]
    fn crm_grants_get_their_defaults() {
        let manifest = check_valid(&format!(
            "{TRIGGER}[capabilities]\ncontacts = {{ connections = [7] }}\n\
             tags = {{ write = true, connections = [7], allow = [\"lead\", \"vip\"] }}\n\
             notes = {{ write = true, connections = [7] }}\nhistory = {{ connections = [7] }}\n\
             inbox = {{ connections = [7] }}\nquick_replies = true\n"
        ));
        let grants = &manifest.capabilities;
        let read_only = Access {
            read: true,
            write: false,
        };
        let seven = [ConnectionId::new(7).expect("positive")]
            .into_iter()
            .collect();
        let contacts = ContactsGrant {
            access: read_only,
            connections: seven,
        };
        assert_eq!(grants.contacts, Some(contacts));
        let tags = grants.tags.as_ref().expect("tags granted");
        assert!(tags.may_assign("lead") && !tags.may_assign("Lead") && !tags.create_missing);
        let notes = grants.notes.as_ref().expect("notes granted");
        assert_eq!(
            (notes.access.read, notes.max_chars, notes.per_minute),
            (true, 2000, None)
        );
        assert_eq!(grants.history.as_ref().map(|h| h.max_messages), Some(100));
        for kind in [CapabilityKind::Inbox, CapabilityKind::QuickReplies] {
            assert!(grants.grants(kind), "{kind}");
        }
    }

    #[test]
    fn quick_replies_false_and_absent_grant_nothing() {
        let manifest = check_valid(&format!("{TRIGGER}[capabilities]\nquick_replies = false\n"));
        assert!(!manifest.capabilities.grants(CapabilityKind::QuickReplies));
        assert!(!manifest.capabilities.grants(CapabilityKind::Tags));
    }

    #[test]
    fn crm_scopes_are_required_and_checked() {
        check_problems(
            &format!(
                "{TRIGGER}[capabilities]\ncontacts = {{ read = false, connections = [7] }}\n\
                 tags = {{ write = true, connections = [7] }}\n"
            ),
            "t.toml:8:12: capabilities.contacts: the grant allows neither reading nor writing; set `read = true` or `write = true`, or remove it\n\
             t.toml:9:8: capabilities.tags.allow: required key is missing when `write = true`; list the tag names the plugin may add or remove, e.g. `allow = [\"lead\"]`",
        );
        let problems = parse(&format!(
            "{TRIGGER}[capabilities]\ntags = {{ connections = [7], allow = [\"\", \"sixteen-chars-xx\"] }}\n\
             notes = {{ connections = [7], max_chars = 9000, per_minute = 0 }}\nhistory = {{ max_messages = 0 }}\n"
        ))
        .expect_err("refused");
        for expected in [
            "capabilities.tags.allow[0]: `` has 0 characters; Radist tag names have 1 to 15",
            "capabilities.tags.allow[1]: `sixteen-chars-xx` has 16 characters",
            "capabilities.notes.max_chars: 9000 is out of range; use a value from 1 to 8192",
            "capabilities.notes.per_minute: 0 is out of range",
            "capabilities.history.connections: required key is missing",
            "capabilities.history.max_messages: 0 is out of range; use a value from 1 to 1000",
        ] {
            assert!(
                problems.contains(expected),
                "{expected}\nnot in\n{problems}"
            );
        }
    }
}
