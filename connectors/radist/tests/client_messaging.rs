//! Client against the real sandbox: chats, sending (validated first), 422 decoding, WABA
//! templates and availability, `mark_answered`, and file upload from bytes and from a path.

mod client_support;

use bytes::Bytes;
use client_support::{Env, WABA, WHATSAPP, config_at, dead_base_url};
use radist_connector::client::UPLOAD_LIMIT_BYTES;
use radist_connector::models::{
    ChatId, CreateChatRequest, MediaKind, SendMessageRequest, WabaTemplateIn,
};
use radist_connector::{RadistClient, RadistError};

const NOW: &str = "2099-01-01T00:00:00Z";

#[tokio::test]
async fn create_chat_is_idempotent_and_get_chat_reads_it() {
    let env = Env::start().await;
    let client = env.client();
    let request = CreateChatRequest::by_phone(WHATSAPP, "+79005550001").with_name("Olga");
    let first = client.create_chat(&request).await.unwrap();
    assert!(first.created_chat && first.created_contact);
    let second = client.create_chat(&request).await.unwrap();
    assert!(!second.created_chat);
    assert_eq!(second.chat_id, first.chat_id);

    let chat = client.get_chat(WHATSAPP, first.chat_id).await.unwrap();
    assert_eq!(chat.chat_id, first.chat_id);
    assert_eq!(chat.connection_id, WHATSAPP);
    assert_eq!(chat.phone.as_deref(), Some("79005550001"));

    let err = client.get_chat(WHATSAPP, ChatId(1)).await.unwrap_err();
    assert!(matches!(err, RadistError::NotFound { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("chat 1 on connection 70002 not found"),
        "{err}"
    );
}

#[tokio::test]
async fn send_text_and_template() {
    let env = Env::start().await;
    let client = env.client();
    let chat = env.inbound(WABA, "79005550002", "hello", NOW).await;

    let sent = client
        .send_message(&SendMessageRequest::text(chat, "Hi, how can we help?"))
        .await
        .unwrap();
    assert_eq!(sent.chat.id, chat);
    assert_eq!(sent.message.body_text(), Some("Hi, how can we help?"));

    let mut template = WabaTemplateIn::new("order_ready", "ru");
    template.body_params = vec!["A-17".into(), "18:00".into()];
    let sent = client
        .send_message(&SendMessageRequest::waba_template(chat, template))
        .await
        .unwrap();
    let content = sent.message.waba_template.expect("template content");
    assert!(content.text.contains("A-17"), "{}", content.text);
    assert_eq!(env.sent(Some(chat)).await.len(), 2);
}

#[tokio::test]
async fn a_template_with_the_wrong_params_count_decodes_the_422() {
    let env = Env::start().await;
    let client = env.client();
    let chat = env.inbound(WABA, "79005550003", "hello", NOW).await;
    let mut template = WabaTemplateIn::new("order_ready", "ru");
    template.body_params = vec!["only one".into()];
    let err = client
        .send_message(&SendMessageRequest::waba_template(chat, template))
        .await
        .unwrap_err();
    let RadistError::Unprocessable { detail } = &err else {
        panic!("expected 422, got {err}");
    };
    assert_eq!(detail[0].path(), "body.waba_template.body_params");
    assert!(
        detail[0].msg.contains("expects 2 body_params"),
        "{}",
        detail[0].msg
    );
    assert!(
        err.to_string().contains("body.waba_template.body_params: "),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert!(env.sent(Some(chat)).await.is_empty());
}

#[tokio::test]
async fn validators_reject_before_any_request() {
    let env = Env::start().await;
    let chat = env.inbound(WABA, "79005550004", "hello", NOW).await;
    let empty = SendMessageRequest::text(chat, "");
    let err = env.client().send_message(&empty).await.unwrap_err();
    let RadistError::Invalid(violations) = &err else {
        panic!("expected Invalid, got {err}");
    };
    assert!(
        violations.iter().any(|v| v.path.contains("text")),
        "{violations:?}"
    );
    assert!(env.sent(None).await.is_empty());

    // Nothing listens there: any request would fail with Connect, not Invalid.
    let offline = RadistClient::new(config_at(&dead_base_url().await, "k")).unwrap();
    let err = offline.send_message(&empty).await.unwrap_err();
    assert!(matches!(err, RadistError::Invalid(_)), "{err}");
}

#[tokio::test]
async fn templates_availability_and_mark_answered() {
    let env = Env::start().await;
    let client = env.client();
    let approved = client.waba_templates(WABA, true).await.unwrap();
    let names: Vec<&str> = approved.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"order_ready") && names.contains(&"welcome"),
        "{names:?}"
    );
    assert!(!names.contains(&"promo"), "{names:?}");
    let order_ready = approved.iter().find(|t| t.name == "order_ready").unwrap();
    assert_eq!(order_ready.components.body.params_count, 2);
    let all = client.waba_templates(WABA, false).await.unwrap();
    assert!(
        all.iter()
            .any(|t| t.name == "promo" && t.status == "SUBMITTED")
    );

    let chat = env.inbound(WABA, "79005550005", "hello", NOW).await;
    let availability = client.chat_availability(WABA, chat).await.unwrap();
    assert!(availability.is_available && availability.waba.dialogs_available);

    let personal = env.inbound(WHATSAPP, "79005550006", "hi", NOW).await;
    let err = client
        .chat_availability(WHATSAPP, personal)
        .await
        .unwrap_err();
    assert!(matches!(err, RadistError::Unprocessable { .. }), "{err}");

    client.mark_answered(WABA, chat).await.unwrap();
    assert_eq!(
        client.get_chat(WABA, chat).await.unwrap().unanswered_count,
        0
    );
}

#[tokio::test]
async fn upload_from_bytes_then_send_it() {
    let env = Env::start().await;
    let client = env.client();
    let bytes = Bytes::from_static(b"%PDF-1.4 invoice");
    let link = client
        .upload_file("invoice.pdf", "application/pdf", bytes.clone())
        .await
        .unwrap();
    assert!(link.url.ends_with("/invoice.pdf"), "{}", link.url);
    let served = env.http.get(&link.url).send().await.unwrap();
    assert_eq!(served.bytes().await.unwrap(), bytes);

    let chat = env.inbound(WABA, "79005550007", "send it", NOW).await;
    let media = SendMessageRequest::media(chat, MediaKind::File, link.url, "your invoice");
    let sent = client.send_message(&media).await.unwrap();
    assert_eq!(sent.message.file.expect("file").name, "invoice.pdf");
}

#[tokio::test]
async fn upload_from_a_path() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.png");
    std::fs::write(&path, b"\x89PNG fake").unwrap();
    let link = env.client().upload_file_path(&path).await.unwrap();
    assert!(link.url.ends_with("/photo.png"), "{}", link.url);
    let served = env.http.get(&link.url).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(&served.bytes().await.unwrap()[..], b"\x89PNG fake");
}

#[tokio::test]
async fn oversized_and_missing_files_fail_without_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.bin");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(UPLOAD_LIMIT_BYTES + 1).unwrap(); // sparse: no disk used
    // Nothing listens at this address, so a request would fail with Connect.
    let client = RadistClient::new(config_at(&dead_base_url().await, "k")).unwrap();
    let err = client.upload_file_path(&path).await.unwrap_err();
    let RadistError::TooLarge { size, limit } = err else {
        panic!("expected TooLarge, got {err}");
    };
    assert_eq!((size, limit), (UPLOAD_LIMIT_BYTES + 1, UPLOAD_LIMIT_BYTES));

    let missing = dir.path().join("nope.pdf");
    let err = client.upload_file_path(&missing).await.unwrap_err();
    assert!(matches!(err, RadistError::File { .. }), "{err}");
    assert!(err.to_string().contains("nope.pdf"), "{err}");
}
