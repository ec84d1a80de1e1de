//! `chats.create-chat` against the sandbox: by phone, by username, bound to a contact; refused
//! without the grant or outside its connections; created chats are trusted by later sends.

use super::support::*;
use crate::RunStatus;
use crate::capabilities::wit::chats::{ChatTarget, CreateChatRequest, Host as _};
use crate::capabilities::wit::messages::Host as _;

const CAPS: &str = "chats = { connections = [70001, 70002, 70003] }\n\
                    messages = { connections = [70003], types = [\"text\"] }";

fn request(connection: i64, target: ChatTarget, contact: Option<i64>) -> CreateChatRequest {
    CreateChatRequest {
        connection_id: connection,
        target,
        contact_id: contact,
        name: Some("Ivan".to_owned()),
    }
}

fn phone(p: &str) -> ChatTarget {
    ChatTarget::Phone(p.to_owned())
}

#[tokio::test]
async fn chats_are_created_by_phone_username_and_bound_to_contacts() {
    let h = Harness::start().await;
    let mut state = h.manual_run(CAPS);
    let waba = no_trap(
        state
            .create_chat(request(WABA, phone("+79005550001"), None))
            .await,
    );
    let waba = waba.expect("by phone");
    assert!(waba.created_chat && waba.created_contact, "{waba:?}");
    let contact = waba.contact_id.expect("contact");
    let again = no_trap(
        state
            .create_chat(request(WABA, phone("79005550001"), None))
            .await,
    );
    let again = again.expect("idempotent");
    assert_eq!((again.chat_id, again.created_chat), (waba.chat_id, false));
    let wa = no_trap(
        state
            .create_chat(request(WHATSAPP, phone("79005550001"), None))
            .await,
    );
    let wa = wa.expect("same phone on whatsapp");
    assert_ne!(wa.chat_id, waba.chat_id);
    assert_eq!((wa.contact_id, wa.created_contact), (Some(contact), false));
    let user = ChatTarget::Username("@petr".to_owned());
    let tg = no_trap(
        state
            .create_chat(request(TELEGRAM, user, Some(contact)))
            .await,
    );
    let tg = tg.expect("by username");
    assert_eq!(tg.contact_id, Some(contact), "bound to the given contact");
    let alone = no_trap(
        state
            .create_chat(request(WABA, ChatTarget::Contact(contact), None))
            .await,
    );
    // A contact target is resolved to the contact's phone: the WABA chat opened above.
    let alone = alone.expect("by contact");
    assert_eq!(
        (alone.chat_id, alone.contact_id, alone.created_chat),
        (waba.chat_id, Some(contact), false)
    );
    // The created telegram chat is trusted: the send needs no ownership lookup.
    h.clear_requests();
    no_trap(state.send(text(TELEGRAM, tg.chat_id, "hi")).await).expect("sent");
    let requests = h.requests();
    assert!(
        requests
            .iter()
            .all(|r| !r.starts_with("GET") || r.contains("/connections/")),
        "{requests:?}"
    );
    assert_eq!(h.sent(tg.chat_id).await.len(), 1);
    assert_eq!(status_of(&state), RunStatus::Succeeded);
}

#[tokio::test]
async fn create_chat_is_denied_without_the_grant_or_outside_its_connections() {
    let h = Harness::start().await;
    let cases = [
        ("kv = true", WABA, "`capabilities.chats` is not granted"),
        (
            CAPS,
            TELEGRAM_BOT,
            "connection 70004 is not in `capabilities.chats.connections`",
        ),
    ];
    for (caps, connection, expected) in cases {
        let mut state = h.manual_run(caps);
        let req = request(
            connection,
            ChatTarget::Username("bot_user".to_owned()),
            None,
        );
        let err = no_trap(state.create_chat(req).await).expect_err("denied");
        assert!(
            matches!(&err, Error::Denied(m) if m.contains(expected)),
            "{err:?}"
        );
        assert!(matches!(status_of(&state), RunStatus::Denied(_)));
    }
    assert_eq!(h.requests(), Vec::<String>::new());
}
