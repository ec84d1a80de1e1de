//! The word index on SQLite, fed off the intake path (see [`crate::indexer`]) in a file of its
//! own (`words_file`): `word_index` there holds the watermark, the highest event id whose words
//! are in `event_words`. A pass first copies, on a reader of the database, the events above the
//! watermark and the ids of the events retention deleted (queued in the database's
//! `words_forgotten`); then, on the index file's thread and in one write transaction of that
//! file, it tokenises the events, inserts their words, moves the watermark and deletes the words
//! of the forgotten events. The database's writer is used only to take those ids off the queue
//! afterwards. Event ids grow in commit order (one writer), so no event can appear below the
//! watermark later.
//!
//! The text filter reads the watermark and the index (attached as `words`) and the events above
//! the watermark in one read transaction. The two files are two snapshots, but an indexed event
//! is only ever found through its row in `events`, so an index ahead of the snapshot of the
//! events matches nothing extra, and one behind it leaves more events to the tail.

use super::SqliteStore;
use super::fail::Res;
use super::packing;
use super::words_file::WordsThread;
use super::worker::Workers;
use crate::error::StoreError;
use crate::indexer::{CatchUp, TAIL_MAX, WordIndexPass, tail_matches};
use rusqlite::types::Value;
use rusqlite::{Connection, TransactionBehavior, params};

/// The watermark, read on a connection with the index file attached as `words`.
pub(crate) fn watermark(conn: &Connection) -> Res<i64> {
    let mut stmt = conn.prepare_cached("SELECT watermark FROM words.word_index")?;
    Ok(stmt.query_row([], |r| r.get(0))?)
}

/// The events above `from` (id order), at most `limit`, with their payloads.
fn above(conn: &Connection, from: i64, limit: usize) -> Res<Vec<(i64, String)>> {
    unpacked(above_packed(conn, from, limit)?)
}

/// [`above`] with the payloads as stored (packed).
fn above_packed(conn: &Connection, from: i64, limit: usize) -> Res<Vec<(i64, Value)>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, payload FROM main.events WHERE id > ?1 ORDER BY id LIMIT ?2")?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![from, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The payloads of [`above_packed`] unpacked.
fn unpacked(events: Vec<(i64, Value)>) -> Res<Vec<(i64, String)>> {
    events
        .into_iter()
        .map(|(id, payload)| Ok((id, packing::unpack_required("event payload", payload)?)))
        .collect()
}

/// What a pass did, and the forgotten ids it deleted the words of (to take off the queue).
struct Done {
    pass: WordIndexPass,
    forgotten: Vec<i64>,
}

/// What a reader of the database copies for a pass, from one snapshot: the events above the
/// index's watermark (packed, in id order) and the queue of forgotten ids, at most `limit` each.
struct Unindexed {
    events: Vec<(i64, Value)>,
    forgotten: Vec<i64>,
    limit: usize,
}

/// Copies what a pass needs, in one read transaction (the events and the queue are one state
/// of the database). It runs on a reader, at the service's priority: the index thread runs at a
/// lower one (`words_file`), and a snapshot it held while the cores were busy would keep the WAL
/// from starting over, until the writer waited for it.
fn unindexed(conn: &Connection, limit: usize) -> Res<Unindexed> {
    let read = conn.unchecked_transaction()?;
    let from = watermark(&read)?;
    let events = above_packed(&read, from, limit)?;
    let forgotten: Vec<i64> = read
        .prepare_cached("SELECT id FROM words_forgotten ORDER BY id LIMIT ?1")?
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    read.commit()?;
    Ok(Unindexed {
        events,
        forgotten,
        limit,
    })
}

/// The rest of a pass, on the index thread, in one transaction of the index file: the copied
/// events tokenised and inserted, the watermark moved, the forgotten events' words deleted.
fn index_on(words: &mut Connection, copied: Unindexed) -> Res<Done> {
    let Unindexed {
        events,
        forgotten,
        limit,
    } = copied;
    let more = limit > 0 && (events.len() == limit || forgotten.len() == limit);
    let tx = words.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let from: i64 = tx
        .prepare_cached("SELECT watermark FROM word_index")?
        .query_row([], |r| r.get(0))?;
    // Another pass (a text filter's) may have indexed some of them since they were copied.
    let found = unpacked(events.into_iter().filter(|(id, _)| *id > from).collect())?;
    let watermark = found.last().map_or(from, |(id, _)| *id);
    {
        let mut insert =
            tx.prepare_cached("INSERT INTO event_words (rowid, words) VALUES (?1, ?2)")?;
        for (id, payload) in &found {
            let words = crate::search::event_words(payload);
            if !words.is_empty() {
                insert.execute(params![id, words.join(" ")])?;
            }
        }
        // An id above the watermark was deleted before it was indexed: it has no words.
        let mut forget = tx.prepare_cached("DELETE FROM event_words WHERE rowid = ?1")?;
        for id in forgotten.iter().filter(|id| **id <= watermark) {
            forget.execute([id])?;
        }
    }
    tx.prepare_cached("UPDATE word_index SET watermark = ?1")?
        .execute([watermark])?;
    tx.commit()?;
    Ok(Done {
        pass: WordIndexPass {
            indexed: found.len(),
            watermark,
            more,
        },
        forgotten,
    })
}

/// One pass of the indexer: up to `limit` events, and the words of up to `limit` deleted
/// events deleted.
pub(crate) async fn pass(
    words: &WordsThread,
    workers: &Workers,
    limit: usize,
) -> Result<WordIndexPass, StoreError> {
    let copied = workers.read(move |conn| unindexed(conn, limit)).await?;
    let done = words.run(move |words| index_on(words, copied)).await?;
    if !done.forgotten.is_empty() {
        let ids = serde_json::json!(done.forgotten).to_string();
        workers
            .write(move |w| {
                let mut stmt = w.conn.prepare_cached(
                    "DELETE FROM words_forgotten WHERE id IN (SELECT value FROM json_each(?1))",
                )?;
                Ok(stmt.execute([&ids])?)
            })
            .await?;
    }
    Ok(done.pass)
}

/// How a text filter finds events: the FTS5 query of its words (`None`: the text has no word
/// and matches nothing), and the matching events above the watermark (a JSON array of ids, and
/// how many there are).
#[derive(Clone)]
pub(crate) struct Found {
    pub(crate) fts: Option<String>,
    pub(crate) tail: Option<String>,
    pub(crate) tail_len: i64,
}

/// Resolves a text filter; `None` when more than [`TAIL_MAX`] events wait for the indexer.
pub(crate) fn find(conn: &Connection, text: &str) -> Res<Option<Found>> {
    let Some(fts) = fts_query(text) else {
        return Ok(Some(Found {
            fts: None,
            tail: None,
            tail_len: 0,
        }));
    };
    let events = above(conn, watermark(conn)?, TAIL_MAX + 1)?;
    if events.len() > TAIL_MAX {
        return Ok(None);
    }
    let ids = tail_matches(text, &events);
    let tail = (!ids.is_empty()).then(|| serde_json::json!(ids).to_string());
    Ok(Some(Found {
        fts: Some(fts),
        tail,
        tail_len: i64::try_from(ids.len()).unwrap_or(i64::MAX),
    }))
}

impl SqliteStore {
    /// Reads with `f` in one read transaction; while `f` answers `None` (the word index is too
    /// far behind for a text filter), indexes a batch and reads again.
    pub(super) async fn read_indexed<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Res<Option<T>> + Clone + Send + 'static,
    {
        let catch_up = CatchUp::start();
        loop {
            let read = f.clone();
            let found = self
                .workers
                .read(move |conn| {
                    let tx = conn.unchecked_transaction()?;
                    let found = read(&tx)?;
                    tx.commit()?;
                    Ok(found)
                })
                .await?;
            if let Some(found) = found {
                return Ok(found);
            }
            catch_up.check()?;
            pass(&self.words, &self.workers, crate::indexer::BATCH).await?;
        }
    }
}

/// The FTS5 query of a text filter: its words, each quoted (words hold only letters and
/// digits, so each is one token), juxtaposed (all must match); `None` without words.
fn fts_query(text: &str) -> Option<String> {
    let words = crate::search::query_words(text);
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    (!quoted.is_empty()).then(|| quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::{NewEvent, SqliteConfig};

    /// Two passes copied from the same state (the background indexer's and a text filter's)
    /// index each event once, whichever commits first, and never move the watermark back.
    #[tokio::test]
    async fn overlapping_passes_index_each_event_once() {
        let dir = tempfile::tempdir().expect("dir");
        let mut config = SqliteConfig::new(dir.path().join("switchboard.db"));
        config.index_words = false;
        let store = SqliteStore::open(config).await.expect("open");
        for key in ["a", "b", "c"] {
            let event = NewEvent {
                dedupe_key: key.into(),
                kind: "message.received".into(),
                connection_id: None,
                chat_id: None,
                payload: format!(r#"{{"text":"слово {key}"}}"#),
                received_at: chrono::Utc::now(),
            };
            store.ingest(event, Vec::new()).await.expect("ingest");
        }
        let copy = || store.workers.read(|conn| unindexed(conn, 500));
        let (first, second) = (copy().await.expect("copy"), copy().await.expect("copy"));
        let later = store.words.run(|w| index_on(w, second)).await;
        let later = later.expect("pass").pass;
        assert_eq!((later.indexed, later.more), (3, false));
        let earlier = store.words.run(|w| index_on(w, first)).await;
        let earlier = earlier.expect("pass").pass;
        assert_eq!(earlier.indexed, 0);
        assert_eq!(earlier.watermark, later.watermark);
    }
}
