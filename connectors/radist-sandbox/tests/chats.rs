//! Create chat (the four contact-binding rules, idempotency, identifier checks), get chat,
//! the `with_contacts` inbox (order, cursor, search) and `until` paging of messages.

mod common;

use common::Env;
use serde_json::{Value, json};

#[tokio::test]
async fn create_chat_is_idempotent_and_binds_by_phone() {
    let env = Env::start().await;
    // The first call creates the chat and its contact; the same phone again (written another
    // way) finds both.
    let ids = json!({"chat_id": 38000001, "contact_id": 32000001});
    for (body, created) in [
        (
            json!({"connection_id": 70001, "phone": "+7 900 000-00-01", "name": "Ivan"}),
            true,
        ),
        (
            json!({"connection_id": 70001, "phone": "79000000001"}),
            false,
        ),
    ] {
        let mut expected = ids.clone();
        expected["created_chat"] = json!(created);
        expected["created_contact"] = json!(created);
        assert_eq!(env.create_chat(body).await, expected);
    }
    // Rule 1: same phone on another connection → same contact.
    let other = env
        .create_chat(json!({"connection_id": 70002, "phone": "79000000001"}))
        .await;
    assert_eq!(
        (
            other["created_chat"].clone(),
            other["created_contact"].clone(),
            other["contact_id"].clone()
        ),
        (json!(true), json!(false), json!(32000001))
    );
    let (_, chat) = env
        .get(&format!("/messaging/chats/70002/{}", other["chat_id"]))
        .await;
    assert_eq!(chat["source_chat_id"], "79000000001@c.us");
    assert_eq!(chat["last_message"], Value::Null);
    // Wrong connection for the chat → 404.
    let (status, _) = env
        .get(&format!("/messaging/chats/70001/{}", other["chat_id"]))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn telegram_user_and_explicit_contact_rules() {
    let env = Env::start().await;
    // A bot chat with @example (inbound from the bot connection).
    let bot = env.inbound(json!({"connection_id": 70004, "chat_id": "555000111", "username": "example", "text": "hi", "name": "Ex"})).await;
    // Rule 2: personal Telegram chat with the same user → the bot chat's contact.
    let tg = env
        .create_chat(json!({"connection_id": 70003, "user_name": "@example"}))
        .await;
    assert_eq!(
        (tg["created_contact"].clone(), tg["contact_id"].clone()),
        (json!(false), bot["contact_id"].clone())
    );
    // Rule 3: explicit contact_id.
    let (_, contact) = env.post("/contacts/", json!({"name": "Maria"})).await;
    let bound = env
        .create_chat(
            json!({"connection_id": 70001, "phone": "79005550000", "contact_id": contact["id"]}),
        )
        .await;
    assert_eq!(
        (
            bound["created_contact"].clone(),
            bound["contact_id"].clone()
        ),
        (json!(false), contact["id"].clone())
    );
    // Rule 1 beats rule 3: the phone is already Ivan's.
    env.create_chat(json!({"connection_id": 70001, "phone": "79001234567", "name": "Ivan"}))
        .await;
    let by_phone = env
        .create_chat(
            json!({"connection_id": 70002, "phone": "79001234567", "contact_id": contact["id"]}),
        )
        .await;
    assert_ne!(by_phone["contact_id"], contact["id"]);
    // Unknown contact_id → 404.
    let (status, _) = env
        .post_chat(json!({"connection_id": 70001, "phone": "79009999999", "contact_id": 1}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn identifiers_the_source_does_not_accept_are_422() {
    let env = Env::start().await;
    let (status, body) = env
        .post_chat(json!({"connection_id": 70001, "user_name": "someone"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body", "user_name"]));
    let (status, body) = env
        .post_chat(json!({"connection_id": 70004, "phone": "79001234567"}))
        .await;
    assert_eq!(
        (status, body["detail"][0]["loc"].clone()),
        (422, json!(["body", "phone"]))
    );
    for (body, error) in [
        (json!({"connection_id": 70001}), "value_error"),
        (
            json!({"connection_id": 70001, "phone": "123"}),
            "string_too_short",
        ),
    ] {
        let (status, out) = env.post_chat(body).await;
        assert_eq!((status, &out["detail"][0]["type"]), (422, &json!(error)));
    }
    let (status, _) = env
        .post_chat(json!({"connection_id": 12345, "phone": "79001234567"}))
        .await;
    assert_eq!(status, 404);
    let ok = env
        .create_chat(json!({"connection_id": 70004, "chat_id": "123456789"}))
        .await;
    assert_eq!(ok["created_chat"], true);
}

#[tokio::test]
async fn with_contacts_orders_unanswered_first_and_pages_by_cursor() {
    let env = Env::start().await;
    for i in 0..5 {
        env.inbound(json!({"connection_id": 70001, "phone": format!("7900000010{i}"), "text": format!("m{i}")})).await;
    }
    let answered = env.text_from(70001, "79000000109", "late").await;
    let (status, _) = env
        .post(
            &format!(
                "/messaging/chats/mark_answered/70001/{}",
                answered["chat_id"]
            ),
            json!(null),
        )
        .await;
    assert_eq!(status, 202);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let (status, page) = env
            .get(&format!(
                "/messaging/chats/with_contacts/?limit=2&cursor={cursor}"
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["contact_id"].as_i64().unwrap()),
        );
        cursor = page["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    // Unanswered newest first, the answered one last.
    assert_eq!(
        seen,
        [32000005, 32000004, 32000003, 32000002, 32000001, 32000006]
    );
    let (_, one) = env
        .get("/messaging/chats/with_contacts/?query=79000000103")
        .await;
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    let chat = &one["data"][0]["chats"][0];
    assert_eq!(chat["last_message"]["text"]["text"], "m3");
    assert!(
        chat["last_message"]
            .as_object()
            .unwrap()
            .contains_key("waba_template"),
        "all content keys present"
    );
    assert_eq!(one["data"][0]["unanswered_count"], 1);
    let (_, by_id) = env
        .get("/messaging/chats/with_contacts/?contact_id=32000002&query=zzz")
        .await;
    assert_eq!(by_id["data"][0]["contact_id"], 32000002);
    let (status, _) = env
        .get("/messaging/chats/with_contacts/?cursor=garbage!")
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn messages_are_newest_first_and_page_with_until() {
    let env = Env::start().await;
    let mut chat = Value::Null;
    for i in 0..5 {
        let at = format!("2026-02-19T13:0{i}:00Z");
        chat = env.inbound(json!({"connection_id": 70002, "phone": "79001230000", "text": format!("t{i}"), "created_at": at})).await["chat_id"].clone();
    }
    let (_, first) = env
        .get(&format!("/messaging/messages/?chat_id={chat}&limit=2"))
        .await;
    let texts = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"]["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(texts(&first), ["t4", "t3"]);
    assert!(
        !first[0].as_object().unwrap().contains_key("image"),
        "unused content keys omitted"
    );
    assert_eq!(first[0]["chat_id"], "79001230000@c.us");
    let until = first[1]["created_at"].as_str().unwrap();
    let (_, second) = env
        .get(&format!(
            "/messaging/messages/?chat_id={chat}&limit=2&until={until}"
        ))
        .await;
    assert_eq!(texts(&second), ["t2", "t1"]);
    let (status, _) = env.get("/messaging/messages/?chat_id=38999999").await;
    assert_eq!(status, 404);
}
