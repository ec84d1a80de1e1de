//! What reconciling a send of unknown outcome relies on, against the real sandbox: a send whose
//! answer is lost (`drop_response`) fails ambiguously, is not repeated, and the message exists
//! exactly once; a reset connection creates nothing; and `latest_messages` reads the chat's
//! newest messages back with their exact content (text, template, interactive).

mod client_support;

use client_support::{Env, WABA, WHATSAPP};
use radist_connector::models::{
    ChatId, Direction, InteractiveActionIn, InteractiveButtonIn, InteractiveButtonType,
    InteractiveReplyIn, SendMessageRequest, WabaInteractiveIn, WabaInteractiveType, WabaTemplateIn,
};
use radist_connector::{RadistClient, RadistError};
use radist_sandbox::{CountFault, Faults};

const NOW: &str = "2099-01-01T00:00:00Z";

async fn set_faults(env: &Env, faults: Faults) {
    env.sb.control().set_faults(&faults).await.expect("faults");
}

/// The outbound messages of `chat` with `text`, newest first, as the API lists them.
async fn outbound_texts(client: &RadistClient, chat: ChatId, text: &str) -> usize {
    let latest = client.latest_messages(chat, 100).await.expect("messages");
    latest
        .iter()
        .filter(|m| m.direction == Direction::Outbound && m.body_text() == Some(text))
        .count()
}

#[tokio::test]
async fn a_dropped_answer_is_an_ambiguous_error_and_the_message_exists_once() {
    let env = Env::start().await;
    let client = env.client();
    let chat = env.inbound(WHATSAPP, "79005551001", "hello", NOW).await;
    set_faults(&env, Faults::dropped_answers(1)).await;

    let err = client
        .send_message(&SendMessageRequest::text(chat, "exactly once"))
        .await
        .expect_err("the answer never arrives");
    assert!(matches!(err, RadistError::Connect(_)), "{err}");

    let sent = env.sb.control().sent(Some(chat.0)).await.expect("sent");
    assert_eq!(sent.len(), 1, "the send was processed once, not repeated");
    assert_eq!(sent[0].request["text"]["text"], "exactly once");
    assert_eq!(outbound_texts(&client, chat, "exactly once").await, 1);
    let left = env.sb.control().faults().await.expect("faults");
    assert_eq!(left.drop_response, Some(CountFault { count: 0 }));

    client
        .send_message(&SendMessageRequest::text(chat, "answered"))
        .await
        .expect("the fault is used up");
    assert_eq!(outbound_texts(&client, chat, "answered").await, 1);
}

#[tokio::test]
async fn a_reset_connection_creates_nothing_and_reads_are_retried() {
    let env = Env::start().await;
    let client = env.client();
    let chat = env.inbound(WHATSAPP, "79005551002", "hello", NOW).await;
    let reset_one = Faults::resets(1);
    set_faults(&env, reset_one.clone()).await;
    let err = client
        .send_message(&SendMessageRequest::text(chat, "never stored"))
        .await
        .expect_err("the connection is reset");
    assert!(matches!(err, RadistError::Connect(_)), "{err}");
    assert!(env.sb.control().sent(None).await.expect("sent").is_empty());
    assert_eq!(outbound_texts(&client, chat, "never stored").await, 0);

    set_faults(&env, reset_one).await;
    let read = client.get_chat(WHATSAPP, chat).await.expect("retried");
    assert_eq!(read.chat_id, chat);
    let left = env.sb.control().faults().await.expect("faults");
    assert_eq!(left.reset, Some(CountFault { count: 0 }));
}

fn buttons(body: &str) -> WabaInteractiveIn {
    let button = |id: &str, title: &str| InteractiveButtonIn {
        kind: InteractiveButtonType::Reply,
        reply: InteractiveReplyIn {
            id: Some(id.into()),
            title: title.into(),
        },
    };
    WabaInteractiveIn {
        kind: WabaInteractiveType::Button,
        header: None,
        body: body.into(),
        footer: Some("footer".into()),
        action: InteractiveActionIn {
            buttons: Some(vec![button("yes", "Yes"), button("no", "No")]),
            sections: None,
        },
    }
}

#[tokio::test]
async fn latest_messages_read_back_sends_with_their_content_newest_first() {
    let env = Env::start().await;
    let client = env.client();
    // Five minutes ago: the WABA window is open and the sends are newer.
    let earlier = (chrono::Utc::now() - chrono::TimeDelta::minutes(5)).to_rfc3339();
    let chat = env.inbound(WABA, "79005551003", "hello", &earlier).await;
    let text = SendMessageRequest::text(chat, "plain text");
    let mut template = WabaTemplateIn::new("order_ready", "ru");
    template.body_params = vec!["A-17".into(), "18:00".into()];
    let template = SendMessageRequest::waba_template(chat, template);
    let interactive = SendMessageRequest::waba_interactive(chat, buttons("Confirm?"));
    for request in [&text, &template, &interactive] {
        client.send_message(request).await.expect("sent");
    }

    let latest = client.latest_messages(chat, 3).await.expect("messages");
    assert_eq!(latest.len(), 3);
    assert!(latest.iter().all(|m| m.direction == Direction::Outbound));
    let shown = latest[0].waba_interactive.as_ref().expect("interactive");
    assert_eq!(shown.body["text"], "Confirm?");
    assert_eq!(shown.footer.as_ref().expect("footer")["text"], "footer");
    let action = serde_json::to_value(&shown.action).expect("action");
    assert_eq!(action["buttons"][0]["reply"]["id"], "yes");
    assert_eq!(action["buttons"][1]["reply"]["title"], "No");
    let rendered = latest[1].waba_template.as_ref().expect("template");
    assert_eq!(
        (
            rendered.template_name.as_str(),
            rendered.template_locale.as_str()
        ),
        ("order_ready", "ru")
    );
    assert!(rendered.text.contains("A-17") && rendered.text.contains("18:00"));
    assert_eq!(latest[2].body_text(), Some("plain text"));

    let all = client.latest_messages(chat, 10).await.expect("messages");
    assert_eq!(all.len(), 4, "three sends and the inbound");
    assert!(
        client
            .latest_messages(chat, 0)
            .await
            .expect("none")
            .is_empty()
    );
}
