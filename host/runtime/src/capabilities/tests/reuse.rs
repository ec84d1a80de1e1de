//! Upload-link reuse and the kv quota, through the capabilities: a file this company uploaded
//! before is answered from the upload-link cache without uploading (recorded `reused`), and a
//! kv `set` past `max_keys` is denied by the store in the same step as the write.

use std::sync::Arc;

use super::support::*;
use crate::capabilities::wit::files::Host as _;
use crate::capabilities::wit::kv::Host as _;
use crate::{InMemoryUploadCache, RunStatus};

#[tokio::test]
async fn the_same_file_is_uploaded_once_and_its_link_reused() {
    let h = Harness::start().await;
    let cache = Arc::new(InMemoryUploadCache::default());
    let mut services = h.services();
    services.upload_cache = Some(cache.clone());
    let plugin = plugin_with("files = { max_bytes = 1024 }", services);
    let data = b"price list".to_vec();
    let mut urls = Vec::new();
    for run in ["u1", "u2"] {
        let mut state = h.run(&plugin, run, manual(), false);
        let url = no_trap(
            state
                .upload("prices.txt".into(), "text/plain".into(), data.clone())
                .await,
        );
        urls.push(url.expect("uploaded"));
        let record = &state.ctx.recorder.into_records()[0];
        assert_eq!(record.reused, run == "u2", "{record:?}");
        assert_eq!(record.effect_id.as_deref(), urls.last().map(String::as_str));
    }
    assert_eq!(urls[0], urls[1]);
    let uploads = h
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST") && r.ends_with("/files/"))
        .count();
    assert_eq!(uploads, 1, "{:?}", h.requests());
    assert_eq!(h.get(&urls[1]).await, (200, data));
    assert_eq!(cache.len(), 1);
    let mut other = h.run(&plugin, "u3", manual(), false);
    no_trap(
        other
            .upload("b.txt".into(), "text/plain".into(), b"other".to_vec())
            .await,
    )
    .expect("uploaded");
    assert_eq!(cache.len(), 2, "different content is uploaded");
}

#[tokio::test]
async fn a_set_past_max_keys_is_denied_and_overwrites_still_fit() {
    let h = Harness::start().await;
    let plugin = h.plugin("kv = { max_keys = 2 }");
    let mut state = h.run(&plugin, "k1", manual(), false);
    for key in ["a", "b", "a"] {
        no_trap(state.set(key.into(), vec![1]).await).expect("fits");
    }
    let err = no_trap(state.set("c".into(), vec![1]).await).expect_err("over the quota");
    assert!(
        matches!(&err, Error::Denied(m) if m.contains("`capabilities.kv.max_keys`")),
        "{err:?}"
    );
    assert!(matches!(status_of(&state), RunStatus::Denied(_)));
    let keys = no_trap(state.list_keys(String::new()).await).expect("listed");
    assert_eq!(keys, ["a", "b"]);
}
