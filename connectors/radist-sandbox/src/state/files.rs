//! [`FileStore`]: uploaded files by id, bounded by their total size; the oldest uploads are
//! dropped (and counted) when a new one would pass the limit.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::StoredFile;

/// Uploaded files, oldest dropped first past `limit_bytes`.
#[derive(Debug, Clone)]
pub struct FileStore {
    files: HashMap<Uuid, StoredFile>,
    order: VecDeque<Uuid>,
    bytes: usize,
    limit_bytes: usize,
    dropped: u64,
}

/// The size of the upload store as `GET /_sandbox/stats` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStats {
    /// Files kept now.
    pub kept: usize,
    /// Their total size.
    pub bytes: usize,
    /// Files dropped to stay within `limit_bytes` since the last reset.
    pub dropped: u64,
    /// The most bytes kept (a single larger upload is kept alone).
    pub limit_bytes: usize,
}

impl FileStore {
    /// An empty store keeping at most `limit_bytes` of file contents.
    pub fn new(limit_bytes: usize) -> Self {
        Self {
            files: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            limit_bytes,
            dropped: 0,
        }
    }

    /// Stores a file, first dropping the oldest ones until it fits (or the store is empty).
    pub fn insert(&mut self, id: Uuid, file: StoredFile) {
        let size = file.bytes.len();
        while self.bytes.saturating_add(size) > self.limit_bytes {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(gone) = self.files.remove(&oldest) {
                self.bytes -= gone.bytes.len();
                self.dropped += 1;
            }
        }
        if let Some(replaced) = self.files.insert(id, file) {
            self.bytes -= replaced.bytes.len();
        } else {
            self.order.push_back(id);
        }
        self.bytes += size;
    }

    /// A stored file.
    pub fn get(&self, id: &Uuid) -> Option<&StoredFile> {
        self.files.get(id)
    }

    /// Kept files, bytes, dropped and limit.
    pub fn stats(&self) -> FileStats {
        FileStats {
            kept: self.files.len(),
            bytes: self.bytes,
            dropped: self.dropped,
            limit_bytes: self.limit_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn file(size: usize) -> StoredFile {
        StoredFile {
            name: "f".into(),
            content_type: "application/octet-stream".into(),
            bytes: Bytes::from(vec![0; size]),
        }
    }

    #[test]
    fn drops_the_oldest_uploads_past_the_limit() {
        let mut store = FileStore::new(10);
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        store.insert(ids[0], file(4));
        store.insert(ids[1], file(4));
        store.insert(ids[2], file(4));
        assert!(store.get(&ids[0]).is_none());
        assert!(store.get(&ids[1]).is_some() && store.get(&ids[2]).is_some());
        let stats = FileStats {
            kept: 2,
            bytes: 8,
            dropped: 1,
            limit_bytes: 10,
        };
        assert_eq!(store.stats(), stats);
        let big = Uuid::new_v4();
        store.insert(big, file(11));
        assert_eq!((store.stats().kept, store.stats().dropped), (1, 3));
        assert!(store.get(&big).is_some());
    }
}
