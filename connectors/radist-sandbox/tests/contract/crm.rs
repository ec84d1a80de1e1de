//! The CRM half of the contract (`../shared/radist/openapi-crm.json`): every emulated CRM
//! endpoint's answers, successes and refusals, validate against the vendor's schemas.

use serde_json::{Value, json};

use crate::common::{Env, pluck};
use crate::spec::Spec;

const CRM: &str = "openapi-crm.json";
const C: &str = "/companies/{company_id}";

fn op(rest: &str) -> String {
    format!("{C}{rest}")
}

#[tokio::test]
async fn negative_check_wrong_crm_documents_fail_validation() {
    let Some(spec) = Spec::load(CRM) else {
        return;
    };
    let wrong_note = json!({"id": "1", "contact_id": 2, "type": "voice", "text": 3,
        "created_at": "yesterday"});
    assert!(spec.errors(&spec.component("NoteOut"), &wrong_note).len() >= 4);
    let wrong_pairs = json!([{"contact_id": 1}]);
    let schema = spec.response_schema(&op("/contacts/{contact_id}/tags/"), "put", "200");
    assert!(!spec.errors(&schema, &wrong_pairs).is_empty());
}

#[tokio::test]
async fn every_crm_endpoint_matches_the_spec() {
    let Some(spec) = Spec::load(CRM) else {
        return;
    };
    let env = Env::start().await;
    let (status, me) = env
        .get_url(&format!("{}/users/me", env.sb.base_url()))
        .await;
    spec.check("/users/me", "get", status, &me);
    let contact = contacts(&spec, &env).await;
    tags(&spec, &env, &contact).await;
    notes(&spec, &env, &contact).await;
    quick_replies(&spec, &env).await;
}

/// Contacts from both specs' view: create with notes, get, patch, chats, social profiles.
async fn contacts(spec: &Spec, env: &Env) -> Value {
    let inbound = env
        .inbound(
            json!({"connection_id": 70003, "phone": "79003334444", "text": "hi", "name": "Oleg"}),
        )
        .await;
    let id = inbound["contact_id"].clone();
    let body = json!({"name": "Oleg", "notes": [{"text": "met at the fair"}], "tags": [1001]});
    let (status, created) = env.post("/contacts/", body).await;
    spec.check(&op("/contacts/"), "post", status, &created);
    let reads = [
        (
            "/contacts/",
            "/contacts/?order_by=name:desc&with_groups=true".to_owned(),
        ),
        ("/contacts/{contact_id}", format!("/contacts/{id}")),
        (
            "/contacts/{contact_id}/chats/",
            format!("/contacts/{id}/chats/"),
        ),
        (
            "/contacts/{contact_id}/social_profiles/",
            format!("/contacts/{id}/social_profiles/"),
        ),
        (
            "/contacts/{contact_id}/notes/",
            format!("/contacts/{}/notes/", created["id"]),
        ),
    ];
    for (path, url) in reads {
        let (status, body) = env.get(&url).await;
        assert_eq!(status, 200, "{url}: {body}");
        spec.check(&op(path), "get", status, &body);
    }
    let (_, profiles) = env.get(&format!("/contacts/{id}/social_profiles/")).await;
    assert_eq!(profiles[0]["social_profile_type"], "telegram", "{profiles}");
    let (status, patched) = env
        .patch(&format!("/contacts/{id}"), json!({"name": "Oleg P"}))
        .await;
    spec.check(&op("/contacts/{contact_id}"), "patch", status, &patched);
    let (status, refused) = env
        .post("/contacts/", json!({"name": "", "tags": [0]}))
        .await;
    spec.check(&op("/contacts/"), "post", status, &refused);
    assert_eq!(
        refused["detail"].as_array().map(Vec::len),
        Some(2),
        "{refused}"
    );
    patched
}

/// Tags: list, create, get, update, refusals, the contact's set and the `tags` filter.
async fn tags(spec: &Spec, env: &Env, contact: &Value) {
    let (status, list) = env.get("/tags/?limit=10").await;
    spec.check(&op("/tags/"), "get", status, &list);
    let (status, lead) = env.post("/tags/", json!({"name": "lead"})).await;
    spec.check(&op("/tags/"), "post", status, &lead);
    assert_eq!(lead["background_color"], "#eeeeee");
    let tag = format!("/tags/{}", lead["id"]);
    let (status, got) = env.get(&tag).await;
    spec.check(&op("/tags/{tag_id}"), "get", status, &got);
    let update = json!({"name": "Lead", "description": "from ads", "background_color": "#00FF00"});
    let (status, updated) = env.put(&tag, update).await;
    spec.check(&op("/tags/{tag_id}"), "put", status, &updated);
    for bad in [
        json!({"name": "vip"}),
        json!({"name": "a-name-too-long-x"}),
        json!({"name": "ok", "background_color": "red"}),
    ] {
        let (status, refused) = env.post("/tags/", bad.clone()).await;
        assert_eq!(status, 422, "{bad}: {refused}");
        spec.check(&op("/tags/"), "post", status, &refused);
    }
    let set = format!("/contacts/{}/tags/", contact["id"]);
    let (status, pairs) = env.put(&set, json!([lead["id"], 1001])).await;
    spec.check(&op("/contacts/{contact_id}/tags/"), "put", status, &pairs);
    let (status, refused) = env.put(&set, json!([0, "x"])).await;
    spec.check(&op("/contacts/{contact_id}/tags/"), "put", status, &refused);
    let (status, refused) = env.put(&set, json!({"tags": [1]})).await;
    spec.check(&op("/contacts/{contact_id}/tags/"), "put", status, &refused);
    let (_, filtered) = env
        .get(&format!("/contacts/?tags={}&tags=1001", lead["id"]))
        .await;
    spec.check(&op("/contacts/"), "get", 200, &filtered);
    let ids = pluck(&filtered["items"], "id");
    assert_eq!(ids, [&contact["id"]], "{filtered}");
}

/// Notes: create, get, patch, delete (204), refusals.
async fn notes(spec: &Spec, env: &Env, contact: &Value) {
    let notes = format!("/contacts/{}/notes/", contact["id"]);
    let (status, note) = env.post(&notes, json!({"text": "wants a quote"})).await;
    spec.check(&op("/contacts/{contact_id}/notes/"), "post", status, &note);
    let one = format!("{notes}{}", note["id"]);
    let path = op("/contacts/{contact_id}/notes/{note_id}");
    let (status, got) = env.get(&one).await;
    spec.check(&path, "get", status, &got);
    let (status, patched) = env.patch(&one, json!({"text": "sent a quote"})).await;
    spec.check(&path, "patch", status, &patched);
    let (status, refused) = env.post(&notes, json!({"text": ""})).await;
    spec.check(
        &op("/contacts/{contact_id}/notes/"),
        "post",
        status,
        &refused,
    );
    let (status, _) = env.delete(&one).await;
    assert_eq!(status, 204);
    spec.check_empty(&path, "delete", status);
    let (status, gone) = env.get(&one).await;
    assert_eq!((status, &gone["detail"]), (404, &json!("Note not found")));
}

/// Quick replies: list, create, patch, delete, refusals.
async fn quick_replies(spec: &Spec, env: &Env) {
    let path = op("/messaging/templates/");
    let (status, list) = env.get("/messaging/templates/").await;
    spec.check(&path, "get", status, &list);
    let body = json!({"type": "text", "name": "Prices", "text": "See our prices at …"});
    let (status, created) = env.post("/messaging/templates/", body).await;
    spec.check(&path, "post", status, &created);
    let (status, refused) = env
        .post("/messaging/templates/", json!({"name": "x"}))
        .await;
    spec.check(&path, "post", status, &refused);
    let one = format!("/messaging/templates/{}", created["id"]);
    let item = op("/messaging/templates/{template_id}");
    let (status, patched) = env.patch(&one, json!({"text": "New prices"})).await;
    spec.check(&item, "patch", status, &patched);
    let (status, _) = env.delete(&one).await;
    spec.check_empty(&item, "delete", status);
}
