//! Client against the real sandbox: companies, connections, chat sources, contacts, webhook
//! subscriptions and dialog counters, plus 404s.

mod client_support;

use client_support::{Env, TELEGRAM, TELEGRAM_BOT, WABA, WHATSAPP};
use radist_connector::RadistError;
use radist_connector::client::{ContactSearch, ContactsQuery, ListConnections};
use radist_connector::models::{
    ChatSourceType, CompanyId, ConnectionId, ConnectionKind, ContactCreateRequest, ContactId,
    ContactSortingOptions, WebhookConfigConnectionMessaging, WebhookEventType, WebhookId,
};
use uuid::Uuid;

#[tokio::test]
async fn companies_and_connections() {
    let env = Env::start().await;
    let client = env.client();
    let companies = client.list_companies(100, 0).await.unwrap();
    assert_eq!(companies.companies.len(), 1);
    assert_eq!(companies.companies[0].id, CompanyId(1));
    assert!(
        client
            .list_companies(10, 5)
            .await
            .unwrap()
            .companies
            .is_empty()
    );

    let all = client
        .list_connections(ListConnections::default())
        .await
        .unwrap();
    let ids: Vec<ConnectionId> = all.connections.iter().map(|c| c.id).collect();
    assert_eq!(ids, [WABA, WHATSAPP, TELEGRAM, TELEGRAM_BOT]);

    let only = ListConnections {
        types: vec!["waba".into(), "telegram_bot".into()],
        ..ListConnections::default()
    };
    let filtered = client.list_connections(only).await.unwrap();
    let ids: Vec<ConnectionId> = filtered.connections.iter().map(|c| c.id).collect();
    assert_eq!(ids, [WABA, TELEGRAM_BOT]);

    let waba = client.get_connection(WABA).await.unwrap();
    assert!(
        matches!(waba.kind, ConnectionKind::Waba(_)),
        "{:?}",
        waba.kind
    );
}

#[tokio::test]
async fn unknown_ids_are_not_found_with_a_useful_message() {
    let env = Env::start().await;
    let client = env.client();
    let err = client
        .get_connection(ConnectionId(99999))
        .await
        .unwrap_err();
    assert!(matches!(err, RadistError::NotFound { .. }), "{err}");
    assert_eq!(err.status(), Some(404));
    assert!(
        err.to_string().starts_with("connection 99999 not found"),
        "{err}"
    );
    let err = client.get_contact(ContactId(123456)).await.unwrap_err();
    assert!(
        err.to_string().starts_with("contact 123456 not found"),
        "{err}"
    );
    let err = client
        .delete_webhook(WebhookId(Uuid::new_v4()))
        .await
        .unwrap_err();
    assert!(matches!(err, RadistError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn chat_sources_list_the_messaging_connections() {
    let env = Env::start().await;
    let sources = env.client().chat_sources().await.unwrap();
    let kinds: Vec<(ConnectionId, ChatSourceType)> =
        sources.iter().map(|s| (s.connection_id, s.kind)).collect();
    assert!(kinds.contains(&(WABA, ChatSourceType::Waba)), "{kinds:?}");
    assert!(
        kinds.contains(&(TELEGRAM_BOT, ChatSourceType::TelegramBot)),
        "{kinds:?}"
    );
    let waba = sources.iter().find(|s| s.connection_id == WABA).unwrap();
    assert!(waba.create_chat.with_phone);
}

#[tokio::test]
async fn contacts_create_get_list_and_search() {
    let env = Env::start().await;
    let client = env.client();
    let ivan = ContactCreateRequest::new("Ivan Petrov").with_phone("+79001112233");
    let created = client.create_contact(&ivan).await.unwrap();
    assert_eq!(created.name, "Ivan Petrov");
    let anna = client
        .create_contact(&ContactCreateRequest::new("Anna Smirnova"))
        .await
        .unwrap();

    let fetched = client.get_contact(created.id).await.unwrap();
    assert_eq!(
        fetched.phones[0].value.trim_start_matches('+'),
        "79001112233"
    );

    let list = client
        .list_contacts(ContactsQuery::default())
        .await
        .unwrap();
    let ids: Vec<ContactId> = list.items.iter().map(|c| c.id).collect();
    assert!(
        ids.contains(&created.id) && ids.contains(&anna.id),
        "{ids:?}"
    );

    let ordered = ContactsQuery {
        order_by: ContactSortingOptions::IdDesc,
        limit: 1,
        ..ContactsQuery::default()
    };
    let first = client.list_contacts(ordered).await.unwrap();
    assert_eq!(first.items.len(), 1);
    assert_eq!(first.items[0].id, anna.id.max(created.id));

    let found = async |search| {
        let page = client.search_contacts(search).await.unwrap();
        page.items.iter().map(|c| c.id).collect::<Vec<_>>()
    };
    let by_text = found(ContactSearch::Text("smirn".into())).await;
    assert_eq!(by_text, [anna.id]);
    let by_phone = found(ContactSearch::Phone("+79001112233".into())).await;
    assert_eq!(by_phone, [created.id]);
}

#[tokio::test]
async fn webhooks_create_list_delete() {
    let env = Env::start().await;
    let client = env.client();
    assert!(client.list_webhooks().await.unwrap().is_empty());
    let config = WebhookConfigConnectionMessaging {
        url: "http://127.0.0.1:9/hook".into(),
        events: vec![
            WebhookEventType::MessagesCreate,
            WebhookEventType::MessagesDeliveryRead,
        ],
        connection_id: WABA,
    };
    let created = client.create_webhook(&config).await.unwrap();
    assert_eq!(created.connection_id, WABA);
    assert_eq!(created.events, config.events);

    let listed = client.list_webhooks().await.unwrap();
    assert_eq!(listed, vec![created.clone()]);

    client.delete_webhook(created.id).await.unwrap();
    assert!(client.list_webhooks().await.unwrap().is_empty());
    let again = client.delete_webhook(created.id).await.unwrap_err();
    assert!(matches!(again, RadistError::NotFound { .. }), "{again}");
}

#[tokio::test]
async fn dialog_counters() {
    let env = Env::start().await;
    let counters = env.client().dialogs_counters().await.unwrap();
    assert_eq!(counters.len(), 1);
    assert_eq!(counters[0].kind, "WABA_DIALOGS");
    assert_eq!(counters[0].value, 1000);
}
