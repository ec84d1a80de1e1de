//! The word index on SQLite, fed off the intake path (see [`crate::indexer`]) in a file of its
//! own (`words_file`): `word_index` there holds the watermark, the highest event id whose words
//! are in `event_words`. A pass runs on the index file's thread: in one write transaction of
//! that file it reads the events above the watermark (from a reader of the database), tokenises
//! them, inserts their words and moves the watermark; then it deletes the words of the events
//! retention deleted (queued in the database's `words_forgotten`). The database's writer is
//! used only to take those ids off the queue afterwards. Event ids grow in commit order (one
//! writer), so no event can appear below the watermark later.
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
use rusqlite::{Connection, TransactionBehavior, params};

/// The watermark, read on a connection with the index file attached as `words`.
pub(crate) fn watermark(conn: &Connection) -> Res<i64> {
    let mut stmt = conn.prepare_cached("SELECT watermark FROM words.word_index")?;
    Ok(stmt.query_row([], |r| r.get(0))?)
}

/// The events above `from` (id order), at most `limit`, with their payloads.
fn above(conn: &Connection, from: i64, limit: usize) -> Res<Vec<(i64, String)>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, payload FROM main.events WHERE id > ?1 ORDER BY id LIMIT ?2")?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![from, limit], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, rusqlite::types::Value>(1)?))
    })?;
    rows.map(|row| {
        let (id, payload) = row?;
        Ok((id, packing::unpack_required("event payload", payload)?))
    })
    .collect()
}

/// What a pass did, and the forgotten ids it deleted the words of (to take off the queue).
struct Done {
    pass: WordIndexPass,
    forgotten: Vec<i64>,
}

/// One pass on the index thread: up to `limit` events indexed and `limit` forgotten ids
/// handled, committed in one transaction of the index file.
fn pass_on(words: &mut Connection, events: &Connection, limit: usize) -> Res<Done> {
    let tx = words.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let from: i64 = tx
        .prepare_cached("SELECT watermark FROM word_index")?
        .query_row([], |r| r.get(0))?;
    // One read transaction of the database: the events and the queue are one state of it.
    let read = events.unchecked_transaction()?;
    let found = above(&read, from, limit)?;
    let forgotten: Vec<i64> = read
        .prepare_cached("SELECT id FROM words_forgotten ORDER BY id LIMIT ?1")?
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    read.commit()?;
    let more = limit > 0 && (found.len() == limit || forgotten.len() == limit);
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
    let done = words
        .run(move |words, events| pass_on(words, events, limit))
        .await?;
    if !done.forgotten.is_empty() {
        let ids = serde_json::json!(done.forgotten).to_string();
        workers
            .write(move |w| {
                let mut stmt = w.conn.prepare_cached(
                    "DELETE FROM words_forgotten WHERE id IN (SELECT value FROM json_each(?1))",
                )?;
                Ok(stmt.execute([ids])?)
            })
            .await?;
    }
    Ok(done.pass)
}

/// How a text filter finds events: the FTS5 query of its words (`None`: the text has no word
/// and matches nothing), and the matching events above the watermark (a JSON array of ids).
#[derive(Clone)]
pub(crate) struct Found {
    pub(crate) fts: Option<String>,
    pub(crate) tail: Option<String>,
}

/// Resolves a text filter; `None` when more than [`TAIL_MAX`] events wait for the indexer.
pub(crate) fn find(conn: &Connection, text: &str) -> Res<Option<Found>> {
    let Some(fts) = super::history::fts_query(text) else {
        return Ok(Some(Found {
            fts: None,
            tail: None,
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
