//! Auth, routing (404, 405, 307 trailing-slash redirects), FastAPI-shaped 422s, and the
//! catalogue endpoints (companies, connections, sources, templates, counters, contacts).

mod common;

use axum::http::StatusCode;
use common::{Env, fast_config, pluck};
use serde_json::{Value, json};

#[tokio::test]
async fn auth_missing_key_is_401_and_wrong_key_is_403() {
    let env = Env::start().await;
    let url = env.company_url("/messaging/chats/sources/");
    let resp = env.raw(env.http.get(&url)).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"detail": "Not authenticated"})
    );
    let resp = env
        .raw(env.http.get(&url).header("X-Api-Key", "nope"))
        .await;
    assert_eq!(resp.status(), 403);
    assert!(resp.json::<Value>().await.unwrap()["detail"].is_string());
    let (status, body) = env.get("/messaging/chats/sources/").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn missing_key_status_is_configurable() {
    let mut config = fast_config();
    config.missing_key_status = StatusCode::FORBIDDEN;
    let env = Env::with(config).await;
    let resp = env.raw(env.http.get(env.company_url("/contacts/"))).await;
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn unknown_routes_companies_and_methods() {
    let env = Env::start().await;
    let (status, body) = env.get("/nope/").await;
    assert_eq!((status, body), (404, json!({"detail": "Not Found"})));
    let (status, body) = env
        .get_url(&format!("{}/companies/999/contacts/", env.sb.base_url()))
        .await;
    assert_eq!(
        (status, body),
        (404, json!({"detail": "Company not found"}))
    );
    let resp = env
        .raw(
            env.http
                .delete(env.company_url("/contacts/"))
                .header("X-Api-Key", "sandbox-key"),
        )
        .await;
    assert_eq!(resp.status(), 405);
}

#[tokio::test]
async fn trailing_slash_mismatch_redirects_307_to_the_canonical_path() {
    let env = Env::start().await;
    let (status, _) = env.get("/contacts?limit=5").await;
    assert_eq!(status, 307);
    let resp = env
        .raw(env.http.get(env.company_url("/contacts?limit=5")))
        .await;
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, env.company_url("/contacts/?limit=5"));
    let resp = env
        .raw(env.http.get(env.company_url("/connections/70001/")))
        .await;
    assert_eq!(resp.status(), 307);
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        env.company_url("/connections/70001")
    );
}

#[tokio::test]
async fn validation_errors_are_fastapi_shaped() {
    let env = Env::start().await;
    let (status, body) = env.get("/messaging/messages/?limit=0").await;
    assert_eq!(status, 422);
    let detail = body["detail"].as_array().unwrap();
    let locs: Vec<&Value> = detail.iter().map(|d| &d["loc"]).collect();
    assert_eq!(
        locs,
        [&json!(["query", "chat_id"]), &json!(["query", "limit"])]
    );
    assert_eq!(detail[0]["type"], "missing");
    assert_eq!(detail[1]["type"], "greater_than_equal");
    assert_eq!(detail[1]["input"], "0");
    let (status, body) = env
        .get_url(&format!("{}/companies/abc/contacts/", env.sb.base_url()))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["path", "company_id"]));
    assert_eq!(body["detail"][0]["type"], "int_parsing");
}

#[tokio::test]
async fn malformed_and_missing_json_bodies() {
    let env = Env::start().await;
    let url = env.company_url("/messaging/messages/");
    let resp = env
        .raw(
            env.http
                .post(&url)
                .header("X-Api-Key", "sandbox-key")
                .header("content-type", "application/json")
                .body("{\"chat_id\": "),
        )
        .await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    assert_eq!(body["detail"][0]["loc"][0], "body");
    let resp = env
        .raw(env.http.post(&url).header("X-Api-Key", "sandbox-key"))
        .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["detail"][0]["type"], "missing");
    assert_eq!(body["detail"][0]["loc"], json!(["body"]));
}

#[tokio::test]
async fn catalogue_endpoints_follow_the_default_seed() {
    let env = Env::start().await;
    let (_, companies) = env
        .get_url(&format!("{}/companies/", env.sb.base_url()))
        .await;
    assert_eq!(companies["count"], 1);
    assert_eq!(companies["companies"][0]["timezone"], "Europe/Moscow");
    let (_, conns) = env.get("/connections/?types=waba&types=telegram").await;
    let ids = pluck(&conns["connections"], "id");
    assert_eq!(ids, [&json!(70001), &json!(70003)]);
    let (_, page) = env.get("/connections/?limit=1&offset=1").await;
    assert_eq!(
        (page["count"].clone(), page["connections"][0]["id"].clone()),
        (json!(4), json!(70002))
    );
    let (_, sources) = env.get("/messaging/chats/sources/").await;
    let flags = pluck(&sources, "create_chat");
    assert_eq!(
        flags[2],
        &json!({"with_phone": true, "with_username": true, "with_chat_id": false})
    );
    assert_eq!(
        flags[3],
        &json!({"with_phone": false, "with_username": false, "with_chat_id": true})
    );
    let (_, templates) = env
        .get("/messaging/waba_templates/?connection_id=70001")
        .await;
    let names = pluck(&templates, "name");
    assert_eq!(names, [&json!("order_ready"), &json!("welcome")]);
    assert_eq!(templates[0]["components"]["body"]["params_count"], 2);
    let (_, all) = env
        .get("/messaging/waba_templates/?connection_id=70001&only_approved=false")
        .await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let (_, counters) = env.get("/messaging/dialogs/counters/").await;
    assert_eq!(counters, json!([{"type": "WABA_DIALOGS", "value": 1000}]));
}

#[tokio::test]
async fn contacts_create_get_patch_and_search() {
    let env = Env::start().await;
    let (status, created) = env
        .post(
            "/contacts/",
            json!({"name": "Ivan", "phones": [{"value": "+79001112233"}], "extra": 1}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["phones"][0]["type"], "work");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(id, 32000001);
    let (_, patched) = env
        .patch(&format!("/contacts/{id}"), json!({"name": "Ivan P"}))
        .await;
    assert_eq!(
        (
            patched["name"].clone(),
            patched["phones"][0]["value"].clone()
        ),
        (json!("Ivan P"), json!("+79001112233"))
    );
    let (_, found) = env.get("/contacts/?phone=%2B79001112233").await;
    assert_eq!(
        (found["count"].clone(), found["items"][0]["id"].clone()),
        (json!(1), json!(id))
    );
    let (_, listed) = env.get("/contacts/?query=ivan&order_by=name:desc").await;
    assert_eq!(
        (listed["order_by"].clone(), listed["total_count"].clone()),
        (json!("name:desc"), json!(1))
    );
    let (status, bad) = env
        .post("/contacts/", json!({"phones": [{"value": "123"}]}))
        .await;
    assert_eq!(status, 422);
    let locs = pluck(&bad["detail"], "loc");
    assert_eq!(
        locs,
        [
            &json!(["body", "name"]),
            &json!(["body", "phones", 0, "value"])
        ]
    );
    let (status, _) = env.get("/contacts/1").await;
    assert_eq!(status, 404);
}
