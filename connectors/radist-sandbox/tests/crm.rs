//! CRM state of the sandbox: seeding through the seed file and `/_sandbox/crm`, tag-name rules
//! (case-sensitive uniqueness), reset, and `drop_response` on a note create (processed once,
//! answered never).

mod common;

use common::{Env, fast_config};
use radist_sandbox::control::{ContactTagsSeed, CrmSeed, NoteSeed};
use radist_sandbox::{Faults, Sandbox, SandboxConfig, Seed, TagSeed};
use serde_json::json;

#[tokio::test]
async fn the_seed_file_carries_tags_quick_replies_and_permissions() {
    let text = r#"{"api_key": "k", "permissions": ["messaging"], "companies": [{"id": 3,
        "name": "C", "tags": [{"name": "lead"}], "quick_replies": [{"name": "Hi", "text": "Hello"}]}]}"#;
    let seed = Seed::from_json_str(text).unwrap();
    let sb = Sandbox::start(SandboxConfig {
        seed,
        ..fast_config()
    })
    .await
    .unwrap();
    let snapshot = sb.control().crm().await.unwrap();
    assert_eq!(snapshot.permissions, ["messaging"]);
    assert_eq!(snapshot.tags, [(1001, "lead".to_owned())]);
    assert_eq!(snapshot.quick_replies, [(1, "Hi".to_owned())]);
    sb.shutdown().await.unwrap();
    let duplicate = r#"{"api_key": "k", "companies": [{"id": 3, "name": "C",
        "tags": [{"name": "a"}, {"name": "a"}, {"name": "sixteen-chars-xx"}]}]}"#;
    let err = Seed::from_json_str(duplicate).unwrap_err().to_string();
    assert!(
        err.contains("`a` appears twice") && err.contains("1 to 15 characters"),
        "{err}"
    );
}

#[tokio::test]
async fn control_seeding_is_visible_through_the_api_and_reset_forgets_it() {
    let env = Env::start().await;
    let inbound = env.text_from(70002, "79005550001", "hi").await;
    let contact = inbound["contact_id"].as_i64().unwrap();
    let seed = CrmSeed {
        tags: vec![TagSeed {
            name: "lead".into(),
            description: String::new(),
            background_color: "#000000".into(),
        }],
        notes: vec![NoteSeed {
            contact_id: contact,
            text: "called twice".into(),
        }],
        contact_tags: vec![ContactTagsSeed {
            contact_id: contact,
            tags: vec!["lead".into(), "vip".into()],
        }],
        permissions: Some(vec!["contacts_view".into()]),
        ..CrmSeed::default()
    };
    let snapshot = env.ctl().seed_crm(&seed).await.unwrap();
    let view = snapshot.contacts.iter().find(|c| c.id == contact).unwrap();
    assert_eq!(
        (view.tags.clone(), view.notes.clone()),
        (
            vec!["lead".into(), "vip".into()],
            vec!["called twice".into()]
        )
    );
    let (_, got) = env.get(&format!("/contacts/{contact}")).await;
    assert_eq!(got["tags"][0]["name"], "lead");
    let (_, me) = env
        .get_url(&format!("{}/users/me", env.sb.base_url()))
        .await;
    assert_eq!(me["permissions"], json!(["contacts_view"]));
    let unknown = CrmSeed {
        contact_tags: vec![ContactTagsSeed {
            contact_id: contact,
            tags: vec!["nope".into()],
        }],
        ..CrmSeed::default()
    };
    assert!(env.ctl().seed_crm(&unknown).await.is_err());
    env.ctl().reset().await.unwrap();
    let after = env.ctl().crm().await.unwrap();
    assert_eq!(after.tags, [(1001, "vip".to_owned())]);
    assert!(after.contacts.is_empty());
}

#[tokio::test]
async fn tag_names_are_unique_case_sensitively() {
    let env = Env::start().await;
    let (status, _) = env.post("/tags/", json!({"name": "VIP"})).await;
    assert_eq!(status, 200, "VIP differs from the seeded vip");
    let (status, body) = env.post("/tags/", json!({"name": "vip"})).await;
    assert_eq!(
        (status, &body["detail"][0]["loc"]),
        (422, &json!(["body", "name"]))
    );
    let (_, created) = env.post("/tags/", json!({"name": "x"})).await;
    let update = json!({"name": "VIP", "description": "", "background_color": "#ffffff"});
    let (status, _) = env.put(&format!("/tags/{}", created["id"]), update).await;
    assert_eq!(status, 422, "renaming onto a taken name is refused");
    let (status, body) = env.get("/tags/999999").await;
    assert_eq!((status, &body["detail"]), (404, &json!("Tag not found")));
}

#[tokio::test]
async fn a_dropped_note_create_is_stored_once() {
    let env = Env::start().await;
    let inbound = env.text_from(70002, "79005550002", "hi").await;
    let notes = format!("/contacts/{}/notes/", inbound["contact_id"]);
    env.ctl()
        .set_faults(&Faults::dropped_answers(1))
        .await
        .unwrap();
    let url = env.company_url(&notes);
    let sent = env
        .http
        .post(url)
        .header("X-Api-Key", env.sb.api_key())
        .json(&json!({"text": "n"}))
        .send()
        .await;
    assert!(sent.is_err(), "the answer never arrives");
    let (_, list) = env.get(&notes).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
}
