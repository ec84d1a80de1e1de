//! The CRM client against the real sandbox: `/users/me`, tags (create, refusals, the replaced
//! contact set, the `tags` filter), notes, quick replies, contact chats and social profiles, and
//! the retry class of each write (creates are never repeated after an ambiguous failure).

mod client_support;

use client_support::{Env, TELEGRAM, WHATSAPP};
use radist_connector::client::ContactsQuery;
use radist_connector::models::{
    ChatId, ConnectionId, ContactId, ContactNoteCreateRequest, ContactNoteUpdateRequest,
    ContactUpdateRequest, MessageTemplateCreateRequest, MessageTemplateUpdateRequest, NoteType,
    QuickReplyId, SocialProfileType, TagId, TagIn, UpdateTag,
};
use radist_connector::{RadistClient, RadistError};
use radist_sandbox::Faults;
use radist_sandbox::control::Inbound;

const NOW: &str = "2099-01-01T00:00:00Z";
/// The seeded `vip` tag.
const VIP: TagId = TagId(1001);

/// `(contact, chat)` of a new inbound message from `phone` on `connection`.
async fn inbound(env: &Env, connection: ConnectionId, phone: &str) -> (ContactId, ChatId) {
    let message = Inbound::from_phone(connection.0, phone, "hello").at(NOW);
    let receipt = env.ctl().inbound(&message).await.expect("inbound");
    (ContactId(receipt.contact_id), ChatId(receipt.chat_id))
}

async fn contact_of(env: &Env, phone: &str) -> ContactId {
    inbound(env, WHATSAPP, phone).await.0
}

/// A sandbox, its client, and the contact of a WhatsApp customer who just wrote from `phone`.
async fn with_contact(phone: &str) -> (Env, RadistClient, ContactId) {
    let env = Env::start().await;
    let client = env.client();
    let contact = contact_of(&env, phone).await;
    (env, client, contact)
}

fn note(text: &str) -> ContactNoteCreateRequest {
    ContactNoteCreateRequest {
        kind: NoteType::Text,
        text: text.to_owned(),
    }
}

async fn set_faults(env: &Env, faults: Faults) {
    env.ctl().set_faults(&faults).await.expect("faults");
}

#[tokio::test]
async fn the_current_user_lists_the_keys_permissions() {
    let env = Env::start().await;
    let user = env.client().current_user().await.unwrap();
    assert!(user.is_integration);
    assert!(user.allows("tags_create") && user.allows("contacts_edit"));
    assert_eq!(user.companies.len(), 1);
}

#[tokio::test]
async fn tags_are_unique_per_company_and_a_contact_set_is_replaced() {
    let env = Env::start().await;
    let client = env.client();
    let lead = client.create_tag(&TagIn::named("lead")).await.unwrap();
    assert_eq!(lead.background_color, "#eeeeee");
    let err = client.create_tag(&TagIn::named("lead")).await.unwrap_err();
    assert!(matches!(err, RadistError::Unprocessable { .. }), "{err}");
    let err = client
        .create_tag(&TagIn::named("sixteen-chars-xx"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
    let names: Vec<String> = client
        .list_tags(100, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["vip", "lead"]);
    let update = UpdateTag {
        name: "Lead".into(),
        description: "ads".into(),
        background_color: "#112233".into(),
    };
    assert_eq!(
        client.update_tag(lead.id, &update).await.unwrap().name,
        "Lead"
    );
    assert_eq!(client.get_tag(lead.id).await.unwrap().description, "ads");

    let ivan = contact_of(&env, "79001110001").await;
    let maria = contact_of(&env, "79001110002").await;
    let pairs = client
        .set_contact_tags(ivan, &[lead.id, VIP])
        .await
        .unwrap();
    assert_eq!(pairs.len(), 2);
    client.set_contact_tags(maria, &[VIP]).await.unwrap();
    client.set_contact_tags(ivan, &[lead.id]).await.unwrap();
    let tags: Vec<TagId> = client
        .get_contact(ivan)
        .await
        .unwrap()
        .tags
        .iter()
        .map(|t| TagId(t.id))
        .collect();
    assert_eq!(tags, [lead.id], "the PUT replaced the set");
    let only_vip = ContactsQuery {
        tags: vec![VIP.0],
        ..ContactsQuery::default()
    };
    let found = client.list_contacts(only_vip).await.unwrap();
    assert_eq!(
        found.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [maria]
    );
    let err = client
        .set_contact_tags(ivan, &[TagId(999_999)])
        .await
        .unwrap_err();
    assert!(matches!(err, RadistError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn notes_belong_to_their_contact() {
    let (env, client, ivan) = with_contact("79001110003").await;
    let other = contact_of(&env, "79001110004").await;
    let created = client.create_note(ivan, &note("order #42")).await.unwrap();
    let edit = ContactNoteUpdateRequest {
        text: "order #43".into(),
    };
    assert_eq!(
        client
            .update_note(ivan, created.id, &edit)
            .await
            .unwrap()
            .text,
        "order #43"
    );
    assert_eq!(client.list_notes(ivan).await.unwrap().len(), 1);
    assert!(client.list_notes(other).await.unwrap().is_empty());
    let err = client.get_note(other, created.id).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("note {} of contact {other} not found", created.id)),
        "{err}"
    );
    client.delete_note(ivan, created.id).await.unwrap();
    assert!(client.list_notes(ivan).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_tag_or_quick_reply_is_named_in_the_error() {
    let env = Env::start().await;
    let client = env.client();
    let tag = client.get_tag(TagId(999_999)).await.unwrap_err();
    assert!(tag.to_string().starts_with("tag 999999 not found"), "{tag}");
    let edit = MessageTemplateUpdateRequest {
        text: Some("never stored".into()),
        ..MessageTemplateUpdateRequest::default()
    };
    let missing = QuickReplyId(999_999);
    let update = client.update_quick_reply(missing, &edit).await.unwrap_err();
    let delete = client.delete_quick_reply(missing).await.unwrap_err();
    for err in [update, delete] {
        assert!(
            err.to_string().starts_with("quick reply 999999 not found"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn quick_replies_chats_and_social_profiles() {
    let env = Env::start().await;
    let client = env.client();
    let seeded = client.list_quick_replies().await.unwrap();
    assert_eq!(seeded[0].name, "Hours");
    let created = client
        .create_quick_reply(&MessageTemplateCreateRequest::text("Prices", "From 10 EUR"))
        .await
        .unwrap();
    let change = MessageTemplateUpdateRequest {
        text: Some("From 12 EUR".into()),
        ..Default::default()
    };
    let updated = client
        .update_quick_reply(created.id, &change)
        .await
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.text.as_deref()),
        ("Prices", Some("From 12 EUR"))
    );
    client.delete_quick_reply(created.id).await.unwrap();
    assert_eq!(client.list_quick_replies().await.unwrap().len(), 1);

    let (contact, chat) = inbound(&env, TELEGRAM, "79001110005").await;
    let chats = client.contact_chats(contact).await.unwrap();
    assert_eq!(chats[0].chat_id, chat);
    let profiles = client.contact_social_profiles(contact).await.unwrap();
    assert_eq!(profiles[0].social_profile_type, SocialProfileType::Telegram);
    let patch = ContactUpdateRequest {
        name: Some("Petr".into()),
        ..Default::default()
    };
    assert_eq!(
        client.update_contact(contact, &patch).await.unwrap().name,
        "Petr"
    );
}

#[tokio::test]
async fn an_ambiguous_note_create_is_not_repeated_and_reads_back_once() {
    let (env, client, ivan) = with_contact("79001110006").await;
    let five_hundred = Faults::server_errors(2, 500).on_paths(&["/notes/"]);
    set_faults(&env, five_hundred).await;
    let err = client.create_note(ivan, &note("once")).await.unwrap_err();
    assert!(matches!(err, RadistError::Server { status: 500 }), "{err}");
    let left = env
        .ctl()
        .faults()
        .await
        .unwrap()
        .server_error
        .map(|f| f.count);
    assert_eq!(left, Some(1), "one attempt, no blind retry");
    assert_eq!(
        client.list_notes(ivan).await.unwrap().len(),
        0,
        "the read is retried past the 500"
    );

    let drop_one = Faults::dropped_answers(1).on_paths(&["/notes/"]);
    set_faults(&env, drop_one).await;
    let err = client.create_note(ivan, &note("maybe")).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let notes = client.list_notes(ivan).await.unwrap();
    assert_eq!(
        notes.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(),
        ["maybe"]
    );
}

#[tokio::test]
async fn a_tag_set_put_is_retried_after_an_ambiguous_failure() {
    let (env, client, ivan) = with_contact("79001110007").await;
    let faults = Faults::server_errors(2, 502).on_paths(&["/tags/"]);
    set_faults(&env, faults).await;
    client.set_contact_tags(ivan, &[VIP]).await.unwrap();
    let tags = client.get_contact(ivan).await.unwrap().tags;
    assert_eq!(
        tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["vip"]
    );
}
