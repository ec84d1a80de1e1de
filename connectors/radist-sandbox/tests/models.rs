//! The sandbox's answers decode into the typed models of `radist-connector` (the client's view).

mod common;

use common::Env;
use radist_connector::models::{
    ChatAvailability, ChatSource, CompaniesOut, ConnectionsOut, ContactsWithChatsResponse,
    CreateChatResponse, Message, MessageSentResponse, WabaTemplateMessageOut,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn decode<T: DeserializeOwned>(what: &str, value: Value) -> T {
    serde_json::from_value(value.clone()).unwrap_or_else(|err| panic!("{what}: {err}\n{value:#}"))
}

#[tokio::test]
async fn responses_decode_into_connector_models() {
    let env = Env::start().await;
    let rx = env.subscribed(70001, 0).await;
    let (_, companies) = env
        .get_url(&format!("{}/companies/", env.sb.base_url()))
        .await;
    decode::<CompaniesOut>("companies", companies);
    decode::<ConnectionsOut>("connections", env.get("/connections/").await.1);
    decode::<Vec<ChatSource>>("sources", env.get("/messaging/chats/sources/").await.1);
    let (_, created) = env
        .post_chat(json!({"connection_id": 70001, "phone": "79004440000"}))
        .await;
    let created: CreateChatResponse = decode("create chat", created);
    let chat = json!(created.chat_id);
    env.text_from(70001, "79004440000", "hi").await;
    let (_, sent) = env.send_text(&chat, "hello").await;
    decode::<MessageSentResponse>("send", sent);
    decode::<Vec<Message>>(
        "messages",
        env.get(&format!("/messaging/messages/?chat_id={chat}"))
            .await
            .1,
    );
    decode::<ContactsWithChatsResponse>(
        "inbox",
        env.get("/messaging/chats/with_contacts/").await.1,
    );
    decode::<ChatAvailability>(
        "availability",
        env.get(&format!("/messaging/chats/70001/{chat}/availability"))
            .await
            .1,
    );
    decode::<Vec<WabaTemplateMessageOut>>(
        "templates",
        env.get("/messaging/waba_templates/?connection_id=70001")
            .await
            .1,
    );
    let read = rx.wait("messages.delivery.read", 1).await;
    decode::<Message>("webhook message", read[0]["event"]["message"].clone());
}
