//! Contract test: the sandbox's real responses for every emulated endpoint validate against the
//! vendor spec's response schemas (`../shared/radist/openapi.json` for messaging, `crm` below for
//! `openapi-crm.json`; JSON Schema 2020-12 with formats asserted). Skips (and says so) when a
//! spec is absent, but fails in CI (`CI` set); a negative check proves the validation can fail.

mod common;
#[path = "contract/crm.rs"]
mod crm;
#[path = "common/spec.rs"]
mod spec;

use common::{Env, Receiver};
use serde_json::{Value, json};
use spec::Spec;

/// The messaging spec.
const MESSAGING: &str = "openapi.json";

#[tokio::test]
async fn negative_check_wrong_documents_fail_validation() {
    let Some(spec) = Spec::load(MESSAGING) else {
        return;
    };
    let wrong_message = json!({"message_id": "not-a-uuid", "chat_id": 38000001, "direction": "sideways",
        "message_type": "text", "created_at": "yesterday"});
    assert!(
        spec.errors(&spec.component("Message"), &wrong_message)
            .len()
            >= 4
    );
    let wrong_page = json!({"count": "1", "companies": [{"id": 1}]});
    assert!(
        !spec
            .errors(
                &spec.response_schema("/companies/", "get", "200"),
                &wrong_page
            )
            .is_empty()
    );
}

#[tokio::test]
async fn every_endpoint_matches_the_spec() {
    let Some(spec) = Spec::load(MESSAGING) else {
        return;
    };
    let env = Env::start().await;
    let rx = Receiver::start(0).await;
    let c = "/companies/{company_id}";
    let (_, hook) = env
        .post(
            "/webhooks/",
            json!({"url": rx.url(), "events": ["messages.create"], "connection_id": 70001}),
        )
        .await;
    spec.check(&format!("{c}/webhooks/"), "post", 200, &hook);
    let inbound = env
        .inbound(
            json!({"connection_id": 70001, "phone": "79003330000", "text": "hi", "name": "Ivan"}),
        )
        .await;
    let chat = inbound["chat_id"].clone();
    let (status, created) = env
        .post_chat(json!({"connection_id": 70003, "user_name": "someone_tg"}))
        .await;
    spec.check(&format!("{c}/messaging/chats/"), "post", status, &created);
    let (status, upload) = upload(&env).await;
    spec.check(&format!("{c}/messaging/files/"), "post", status, &upload);
    for body in sends(&chat, upload["url"].as_str().unwrap_or_default()) {
        let (status, sent) = env.send_message(body).await;
        assert_eq!(status, 200, "{sent}");
        spec.check(&format!("{c}/messaging/messages/"), "post", status, &sent);
    }
    let (_, contact) = env.post("/contacts/", json!({"name": "Maria", "phones": [{"type": "mobile", "value": "+79003331111"}], "emails": [{"value": "m@example.com"}], "tags": [1001]})).await;
    spec.check(&format!("{c}/contacts/"), "post", 200, &contact);
    let gets = [
        (
            "/companies/".to_owned(),
            format!("{}/companies/", env.sb.base_url()),
        ),
        (
            format!("{c}/connections/"),
            env.company_url("/connections/"),
        ),
        (
            format!("{c}/connections/{{connection_id}}"),
            env.company_url("/connections/70001"),
        ),
        (
            format!("{c}/messaging/chats/sources/"),
            env.company_url("/messaging/chats/sources/"),
        ),
        (
            format!("{c}/messaging/chats/{{connection_id}}/{{chat_id}}"),
            env.company_url(&format!("/messaging/chats/70001/{chat}")),
        ),
        (
            format!("{c}/messaging/chats/with_contacts/"),
            env.company_url("/messaging/chats/with_contacts/?limit=1"),
        ),
        (
            format!("{c}/messaging/messages/"),
            env.company_url(&format!("/messaging/messages/?chat_id={chat}")),
        ),
        (
            format!("{c}/messaging/chats/{{connection_id}}/{{chat_id}}/availability"),
            env.company_url(&format!("/messaging/chats/70001/{chat}/availability")),
        ),
        (
            format!("{c}/messaging/waba_templates/"),
            env.company_url("/messaging/waba_templates/?connection_id=70001&only_approved=false"),
        ),
        (
            format!("{c}/messaging/dialogs/counters/"),
            env.company_url("/messaging/dialogs/counters/"),
        ),
        (format!("{c}/webhooks/"), env.company_url("/webhooks/")),
        (format!("{c}/contacts/"), env.company_url("/contacts/")),
        (
            format!("{c}/contacts/{{contact_id}}"),
            env.company_url(&format!("/contacts/{}", contact["id"])),
        ),
        (
            format!("{c}/contacts/{{contact_id}}/chats/"),
            env.company_url(&format!("/contacts/{}/chats/", inbound["contact_id"])),
        ),
    ];
    for (path, url) in gets {
        let (status, body) = env.get_url(&url).await;
        assert_eq!(status, 200, "{url}: {body}");
        spec.check(&path, "get", status, &body);
    }
    let (status, patched) = env
        .patch(
            &format!("/contacts/{}", contact["id"]),
            json!({"name": "Maria P"}),
        )
        .await;
    spec.check(
        &format!("{c}/contacts/{{contact_id}}"),
        "patch",
        status,
        &patched,
    );
    let (status, answered) = env
        .post(
            &format!("/messaging/chats/mark_answered/70001/{chat}"),
            json!(null),
        )
        .await;
    spec.check(
        &format!("{c}/messaging/chats/mark_answered/{{connection_id}}/{{chat_id}}"),
        "post",
        status,
        &answered,
    );
    let (status, _) = env.send_message(json!({"chat_id": "x"})).await;
    assert_eq!(status, 422);
    let (_, invalid) = env
        .send_message(json!({"chat_id": 0, "message_type": "nope"}))
        .await;
    spec.check(&format!("{c}/messaging/messages/"), "post", 422, &invalid);
    // The webhook's message is a spec Message too.
    let events = rx.wait("messages.create", 2).await;
    let errors = spec.errors(&spec.component("Message"), &events[1]["event"]["message"]);
    assert!(errors.is_empty(), "{errors:#?}");
}

fn sends(chat: &Value, file_url: &str) -> Vec<Value> {
    vec![
        json!({"chat_id": chat, "message_type": "text", "text": {"text": "plain"}}),
        json!({"chat_id": chat, "message_type": "image", "image": {"url": file_url, "caption": "pic"}}),
        json!({"chat_id": chat, "message_type": "file", "file": {"url": "https://example.com/doc.pdf"}}),
        json!({"chat_id": chat, "message_type": "waba_template", "waba_template": {"template_name": "order_ready", "template_locale": "ru", "body_params": ["1", "2"]}}),
        json!({"chat_id": chat, "message_type": "waba_interactive", "waba_interactive": {"type": "list", "body": "Choose",
            "header": {"type": "text", "text": "Menu"}, "footer": "f",
            "action": {"sections": {"button": "Open", "sections": [{"title": "S", "rows": [{"id": "r1", "title": "Row", "description": "d"}]}]}}}}),
    ]
}

async fn upload(env: &Env) -> (u16, Value) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"abc".to_vec()).file_name("a.jpg"),
    );
    env.upload(form).await
}
