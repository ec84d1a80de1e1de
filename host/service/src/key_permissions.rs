//! The start-up check of the Radist API key against the plugins' grants (remote mode only):
//! `GET /users/me` answers the key's permissions, and every grant the key cannot satisfy is
//! reported on stderr with its manifest, its key and the missing permission. Reported, not
//! refused: Radist's permission model may grant more than `/users/me` shows, and a plugin whose
//! calls fail gets Radist's own answer anyway.

use radist_connector::RadistClient;
use radist_connector::models::User;
use switchboard_manifest::Manifest;

use crate::wiring::LoadedPlugin;

/// What a grant needs of the key: its manifest key and the Radist permissions it calls with.
struct Need {
    key: &'static str,
    permissions: Vec<&'static str>,
}

/// Asks Radist who the key is and prints one line per grant it cannot satisfy (or why it could
/// not ask). Returns the lines printed.
pub async fn report(client: &RadistClient, plugins: &[LoadedPlugin]) -> Vec<String> {
    let user = match client.current_user().await {
        Ok(user) => user,
        Err(err) => {
            let line = format!(
                "cannot read the radist api key's permissions (GET /users/me: {err}); \
                 grants are not checked against the key"
            );
            crate::output::note(&line);
            return vec![line];
        }
    };
    let lines: Vec<String> = plugins
        .iter()
        .flat_map(|p| missing(&user, &p.file, &p.manifest))
        .collect();
    for line in &lines {
        crate::output::note(line);
    }
    lines
}

/// One line per permission a grant of `manifest` needs and the key lacks.
fn missing(user: &User, file: &str, manifest: &Manifest) -> Vec<String> {
    needs(manifest)
        .into_iter()
        .flat_map(|need| {
            need.permissions
                .into_iter()
                .filter(|p| !user.allows(p))
                .map(move |p| {
                    format!(
                        "warning: {file}: `{}` needs the radist permission `{p}`, which the api \
                         key lacks; give the key `{p}` in Radist or remove the grant",
                        need.key
                    )
                })
        })
        .collect()
}

/// The permissions each granted Radist capability calls with.
fn needs(manifest: &Manifest) -> Vec<Need> {
    let caps = &manifest.capabilities;
    let mut needs = Vec::new();
    let mut add = |key, permissions: Vec<&'static str>| needs.push(Need { key, permissions });
    if caps.messages.is_some() {
        add("capabilities.messages", vec!["messaging"]);
    }
    if caps.chats.is_some() {
        add("capabilities.chats", vec!["messaging_chat_create"]);
    }
    if let Some(g) = &caps.contacts {
        add(
            "capabilities.contacts",
            access(
                g.access,
                &["contacts_view"],
                &["contacts_create", "contacts_edit"],
            ),
        );
    }
    if let Some(g) = &caps.tags {
        let mut p = access(g.access, &["tags_view"], &["tags_view", "contacts_edit"]);
        if g.create_missing {
            p.push("tags_create");
        }
        p.dedup();
        add("capabilities.tags", p);
    }
    if let Some(g) = &caps.notes {
        add(
            "capabilities.notes",
            access(g.access, &["contacts_view"], &["contacts_edit"]),
        );
    }
    if caps.history.is_some() {
        add("capabilities.history", vec!["messaging_chat_view"]);
    }
    if caps.inbox.is_some() {
        add("capabilities.inbox", vec!["messaging"]);
    }
    if caps.quick_replies {
        add("capabilities.quick_replies", vec!["templates_view"]);
    }
    needs
}

fn access(
    access: switchboard_manifest::Access,
    read: &[&'static str],
    write: &[&'static str],
) -> Vec<&'static str> {
    let mut all = Vec::new();
    if access.read {
        all.extend_from_slice(read);
    }
    if access.write {
        all.extend(
            write
                .iter()
                .filter(|p| !all.contains(p))
                .collect::<Vec<_>>(),
        );
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(permissions: &[&str]) -> User {
        serde_json::from_value(serde_json::json!({
            "id": "6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b", "scopes": [], "roles": [],
            "permissions": permissions,
        }))
        .expect("user")
    }

    #[test]
    fn each_grant_names_the_permission_the_key_lacks() {
        let m = crate::test_manifest::granting(
            "p",
            "tags = { write = true, connections = [7], allow = [\"lead\"], create_missing = true }\n\
             notes = { connections = [7] }\nhistory = { connections = [7] }",
        );
        let lines = missing(
            &user(&["contacts", "tags_view", "messaging"]),
            "m/p.toml",
            &m,
        );
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains(
                "m/p.toml: `capabilities.tags` needs the radist permission `tags_create`"
            )
        );
        assert!(missing(&user(&["contacts", "tags", "messaging"]), "m/p.toml", &m).is_empty());
    }
}
