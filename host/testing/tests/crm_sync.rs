//! The crm-sync example plugin end to end, with its shipped manifest pointed at a tiny CRM
//! served by this test on `127.0.0.1:0`, and the Radist sandbox, whose resulting state (tags,
//! notes, answered) the tests assert.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use switchboard_runtime::event::PluginEvent;
use switchboard_testing::{
    CrmSetup, Delivered, PluginHarness, RunStatus, Secrets, TestPlugin, events, repo_root,
};

const TOKEN: &str = "crm-secret-token";

/// What the CRM received.
#[derive(Default)]
struct CrmLog {
    contacts: Vec<Value>,
    contacted: Vec<(String, Value)>,
    unauthorized: usize,
}

#[derive(Clone)]
struct Crm {
    log: Arc<Mutex<CrmLog>>,
    leads: Arc<Mutex<Value>>,
    /// Whether a new contact's answer says the CRM answered the customer.
    answered: Arc<Mutex<bool>>,
}

impl Crm {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let ok = headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {TOKEN}"));
        if !ok {
            self.log.lock().unwrap().unauthorized += 1;
        }
        ok
    }
}

async fn create_contact(
    State(crm): State<Crm>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !crm.authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "token"})));
    }
    let answered = *crm.answered.lock().unwrap();
    let mut log = crm.log.lock().unwrap();
    log.contacts.push(body);
    let id = format!("crm-{}", log.contacts.len());
    (
        StatusCode::CREATED,
        Json(json!({"id": id, "stage": "new", "answered": answered})),
    )
}

async fn pending(State(crm): State<Crm>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    if !crm.authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "token"})));
    }
    (StatusCode::OK, Json(crm.leads.lock().unwrap().clone()))
}

async fn contacted(
    State(crm): State<Crm>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> StatusCode {
    if !crm.authorized(&headers) {
        return StatusCode::UNAUTHORIZED;
    }
    crm.log.lock().unwrap().contacted.push((id, body));
    StatusCode::NO_CONTENT
}

/// Starts the CRM; returns it and its origin (`http://127.0.0.1:PORT`).
async fn start_crm() -> (Crm, String) {
    let crm = Crm {
        log: Arc::default(),
        leads: Arc::new(Mutex::new(json!([]))),
        answered: Arc::new(Mutex::new(false)),
    };
    let app = Router::new()
        .route("/api/contacts", post(create_contact))
        .route("/api/leads/pending", get(pending))
        .route("/api/leads/{id}/contacted", post(contacted))
        .with_state(crm.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (crm, origin)
}

async fn start() -> (PluginHarness, TestPlugin, Crm) {
    let (crm, origin) = start_crm().await;
    let harness = PluginHarness::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let file = repo_root().join("manifests/crm-sync.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("https://crm.example.com", &origin);
    let secrets = Secrets::from([("crm_token".to_owned(), TOKEN.to_owned())]);
    let plugin = harness
        .load_with(&file, Some(&text), &secrets)
        .unwrap_or_else(|e| panic!("{e}"));
    (harness, plugin, crm)
}

/// A customer writes `text` from `phone` to the WABA connection: the sandbox's ids and the event.
async fn writes(h: &PluginHarness, phone: &str, text: &str) -> (Delivered, PluginEvent) {
    h.inbound_text(70001, phone, text)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_contact_is_posted_once() {
    let (h, plugin, crm) = start().await;
    let (delivered, first) = writes(&h, "79990003344", "Здравствуйте, хочу заказать").await;
    let outcome = h.run(&plugin, first).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let recorded =
        serde_json::to_string(&outcome.actions).unwrap() + &format!("{:?}", outcome.logs);
    assert!(
        !recorded.contains(TOKEN),
        "the token never reaches actions or logs"
    );
    {
        let log = crm.log.lock().unwrap();
        assert_eq!(log.unauthorized, 0);
        assert_eq!(log.contacts.len(), 1);
        assert_eq!(log.contacts[0]["contact_id"], json!(delivered.contact_id));
        assert_eq!(log.contacts[0]["phone"], json!("79990003344"));
        assert_eq!(
            log.contacts[0]["message"]["text"],
            json!("Здравствуйте, хочу заказать")
        );
    }
    let contact = h.sandbox().contact(delivered.contact_id).await.unwrap();
    assert_eq!(contact.tags, ["lead"]);
    assert_eq!(contact.notes.len(), 1, "{:?}", contact.notes);
    let chat = h.sandbox().chat(70001, delivered.chat_id).await.unwrap();
    assert_eq!(
        chat.unanswered_count, 1,
        "the crm did not answer: still unanswered"
    );
    let (_, second) = writes(&h, "79990003344", "Вы тут?").await;
    assert_eq!(h.run(&plugin, second).await.status, RunStatus::Succeeded);
    assert_eq!(
        crm.log.lock().unwrap().contacts.len(),
        1,
        "kv remembers the contact"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_leads_get_a_template_once() {
    let (h, plugin, crm) = start().await;
    let (known, _) = writes(&h, "79990005566", "old customer").await;
    *crm.leads.lock().unwrap() = json!([
        {"lead_id": 101, "contact_id": known.contact_id, "phone": "79990005566", "name": "Борис"},
        {"lead_id": "L-2", "phone": "79990007788", "name": "Анна"},
    ]);
    let slot = events::now().seconds;
    let outcome = h
        .run(&plugin, events::schedule("0 0 9 * * Mon-Fri", slot))
        .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let sent = h.sandbox().sent(None).await.unwrap();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent.iter().any(|s| s["chat_id"] == json!(known.chat_id)),
        "lead 101 is written to in its contact's chat"
    );
    for message in &sent {
        let request = message["request"].to_string();
        assert!(request.contains("order_ready"), "{request}");
    }
    assert!(
        sent.iter()
            .any(|s| s["request"].to_string().contains("Анна"))
    );
    let contacted: Vec<String> = crm
        .log
        .lock()
        .unwrap()
        .contacted
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(contacted, ["101", "L-2"]);

    let rerun = h
        .run(&plugin, events::schedule("0 0 9 * * Mon-Fri", slot))
        .await;
    assert_eq!(rerun.status, RunStatus::Succeeded, "{:?}", rerun.logs);
    assert_eq!(
        h.sandbox().sent(None).await.unwrap().len(),
        2,
        "a rerun sends nothing again"
    );
    assert_eq!(crm.log.lock().unwrap().contacted.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_message_leaves_a_lead_tag_a_note_and_an_answered_chat() {
    let (h, plugin, crm) = start().await;
    *crm.answered.lock().unwrap() = true;
    let (delivered, first) = writes(&h, "79990008899", "Нужна консультация").await;
    // A person tagged the customer `vip` (a seeded tag) before the run.
    let human = CrmSetup::new().contact_tags(delivered.contact_id, &["vip"]);
    h.sandbox().seed_crm(&human).await.unwrap();
    let outcome = h.run(&plugin, first).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let contact = h.sandbox().contact(delivered.contact_id).await.unwrap();
    assert_eq!(contact.tags, ["vip", "lead"], "the tag a person set stays");
    assert_eq!(contact.notes.len(), 1, "{:?}", contact.notes);
    assert!(
        contact.notes[0].starts_with("CRM crm-1: ")
            && contact.notes[0].contains("\"stage\":\"new\""),
        "the note holds what the crm answered: {}",
        contact.notes[0]
    );
    let chat = h.sandbox().chat(70001, delivered.chat_id).await.unwrap();
    assert_eq!(
        chat.unanswered_count, 0,
        "the crm answered: marked answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_without_a_radist_contact_gets_one_created_tagged_and_noted() {
    let (h, plugin, _crm) = start().await;
    let phone = "79990009911";
    assert!(
        h.sandbox()
            .contacts_with_phone(phone)
            .await
            .unwrap()
            .is_empty()
    );
    let event = events::text(70001, 38_000_999, "Добрый день")
        .phone(phone)
        .name("Вера")
        .received();
    let outcome = h.run(&plugin, event.clone()).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.logs);
    let created = h.sandbox().contacts_with_phone(phone).await.unwrap();
    assert_eq!(created.len(), 1, "one contact created");
    let contact = h.sandbox().contact(created[0]).await.unwrap();
    assert_eq!(
        (contact.name.as_str(), contact.tags.clone()),
        ("Вера", vec!["lead".to_owned()])
    );
    assert_eq!(contact.notes.len(), 1, "{:?}", contact.notes);
    let again = h.run(&plugin, event).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.logs);
    assert_eq!(
        h.sandbox().contacts_with_phone(phone).await.unwrap().len(),
        1
    );
}
