//! The upload-link cache: Radist's guide asks integrations to reuse an uploaded file's link for
//! mass sends instead of uploading the same file again. `files.upload` asks an optional
//! [`UploadCache`] (in [`HostServices`](crate::HostServices)) by company id and the content's
//! sha256 before uploading, and answers a cached link without uploading (the action record says
//! `reused`). [`InMemoryUploadCache`] serves the CLI and tests; the service may plug in a durable one.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Uploaded-file links by (company id, sha256 of the content as lowercase hex).
///
/// Infallible by design: a cache that cannot answer answers `None` (the file is uploaded again)
/// and a failed `put` is only logged by the implementation.
#[async_trait::async_trait]
pub trait UploadCache: Send + Sync {
    /// The link an earlier upload of this content to this company returned, if known.
    async fn get(&self, company_id: i64, sha256: &str) -> Option<String>;
    /// Remembers the link of an upload.
    async fn put(&self, company_id: i64, sha256: &str, url: &str);
}

/// A bounded process-local cache: past [`InMemoryUploadCache::MAX_ENTRIES`] links the oldest
/// is forgotten.
#[derive(Debug, Default)]
pub struct InMemoryUploadCache {
    state: Mutex<Links>,
}

#[derive(Debug, Default)]
struct Links {
    urls: HashMap<(i64, String), String>,
    order: VecDeque<(i64, String)>,
}

impl InMemoryUploadCache {
    /// Links kept before the oldest is forgotten.
    pub const MAX_ENTRIES: usize = 10_000;

    /// How many links are held.
    pub fn len(&self) -> usize {
        self.lock().urls.len()
    }

    /// Whether no link is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Links> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl UploadCache for InMemoryUploadCache {
    async fn get(&self, company_id: i64, sha256: &str) -> Option<String> {
        self.lock()
            .urls
            .get(&(company_id, sha256.to_owned()))
            .cloned()
    }

    async fn put(&self, company_id: i64, sha256: &str, url: &str) {
        let mut links = self.lock();
        let key = (company_id, sha256.to_owned());
        if links.urls.insert(key.clone(), url.to_owned()).is_some() {
            return;
        }
        links.order.push_back(key);
        if links.order.len() > Self::MAX_ENTRIES
            && let Some(oldest) = links.order.pop_front()
        {
            links.urls.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn links_are_per_company_and_content() {
        let cache = InMemoryUploadCache::default();
        cache.put(1, "abc", "https://f/1").await;
        assert_eq!(cache.get(1, "abc").await.as_deref(), Some("https://f/1"));
        assert_eq!(cache.get(2, "abc").await, None);
        assert_eq!(cache.get(1, "abd").await, None);
    }

    #[tokio::test]
    async fn the_oldest_link_is_forgotten_past_the_bound() {
        let cache = InMemoryUploadCache::default();
        for n in 0..=InMemoryUploadCache::MAX_ENTRIES {
            cache.put(1, &n.to_string(), "u").await;
        }
        assert_eq!(cache.len(), InMemoryUploadCache::MAX_ENTRIES);
        assert_eq!(cache.get(1, "0").await, None);
        assert!(cache.get(1, "1").await.is_some());
    }
}
