//! `files.upload`, `availability.check` and `templates.list` against the sandbox, each with its
//! grant, and refused without it or outside its scope.

use serde_json::json;

use super::support::*;
use crate::RunStatus;
use crate::capabilities::wit::availability::Host as _;
use crate::capabilities::wit::files::Host as _;
use crate::capabilities::wit::templates::Host as _;

#[tokio::test]
async fn an_uploaded_file_is_served_at_the_returned_url() {
    let h = Harness::start().await;
    let mut state = h.manual_run("files = { max_bytes = 1024 }");
    let data = b"invoice #17".to_vec();
    let url = no_trap(
        state
            .upload("invoice.txt".into(), "text/plain".into(), data.clone())
            .await,
    );
    let url = url.expect("uploaded");
    assert_eq!(h.get(&url).await, (200, data));
}

#[tokio::test]
async fn uploads_without_the_grant_or_over_max_bytes_are_denied() {
    let h = Harness::start().await;
    for (caps, size, expected) in [
        ("kv = true", 10, "`capabilities.files` is not granted"),
        (
            "files = { max_bytes = 1024 }",
            1025,
            "exceeds `capabilities.files.max_bytes`",
        ),
    ] {
        let mut state = h.manual_run(caps);
        let err = no_trap(
            state
                .upload(
                    "a.bin".into(),
                    "application/octet-stream".into(),
                    vec![7; size],
                )
                .await,
        );
        assert!(
            matches!(&err, Err(Error::Denied(m)) if m.contains(expected)),
            "{err:?}"
        );
        assert!(matches!(status_of(&state), RunStatus::Denied(_)));
    }
    assert_eq!(h.requests(), Vec::<String>::new());
}

#[tokio::test]
async fn availability_reports_the_waba_window() {
    let h = Harness::start().await;
    let open = h.chat_with(WABA, json!({"phone": "79001110001"}), 1).await;
    let closed = h.chat_with(WABA, json!({"phone": "79001110002"}), 25).await;
    let mut state = h.manual_run("availability = { connections = [70001] }");
    let now = chrono::Utc::now().timestamp();
    let a = no_trap(state.check(WABA, open).await).expect("open");
    assert!(a.is_available && a.dialogs_available, "{a:?}");
    assert!(
        (a.expires_at.seconds - (now + 23 * 3600)).abs() < 120,
        "{a:?}"
    );
    let c = no_trap(state.check(WABA, closed).await).expect("closed");
    assert!(!c.is_available, "{c:?}");
    let err = no_trap(state.check(WABA, 99_999_999).await).expect_err("unknown chat");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(status_of(&state), RunStatus::Succeeded);
    h.clear_requests();
    let err = no_trap(state.check(WHATSAPP, open).await).expect_err("not granted");
    assert!(
        matches!(&err, Error::Denied(m) if m.contains("capabilities.availability.connections")),
        "{err:?}"
    );
    let plugin = h.plugin("kv = true");
    let mut ungranted = h.run(&plugin, "r2", manual(), false);
    let err = no_trap(ungranted.check(WABA, open).await).expect_err("no grant");
    assert!(matches!(err, Error::Denied(_)), "{err:?}");
    assert_eq!(h.requests(), Vec::<String>::new());
}

#[tokio::test]
async fn templates_lists_only_approved_ones() {
    let h = Harness::start().await;
    let mut state = h.manual_run("templates = { connections = [70001] }");
    let list = no_trap(state.list(WABA).await).expect("listed");
    let mut names: Vec<(&str, &str, u32)> = list
        .iter()
        .map(|t| (t.name.as_str(), t.status.as_str(), t.body_params))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("order_ready", "APPROVED", 2), ("welcome", "APPROVED", 0)]
    );
    h.clear_requests();
    let err = no_trap(state.list(WHATSAPP).await).expect_err("not granted");
    assert!(matches!(err, Error::Denied(_)), "{err:?}");
    let plugin = h.plugin("kv = true");
    let mut ungranted = h.run(&plugin, "r2", manual(), false);
    let err = no_trap(ungranted.list(WABA).await).expect_err("no grant");
    assert!(matches!(err, Error::Denied(_)), "{err:?}");
    assert_eq!(h.requests(), Vec::<String>::new());
}
