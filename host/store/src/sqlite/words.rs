//! The word index on SQLite, fed off the intake path (see [`crate::indexer`]): `word_index`
//! holds the watermark, the highest event id whose words are in `event_words`. A pass reads and
//! tokenises the events above it on a reader thread, then one writer job inserts their words
//! and moves the watermark, only if no other pass moved it meanwhile. Event ids grow in commit
//! order (one writer), so no event can appear below the watermark later.
//!
//! The text filter reads the watermark, the index and the events above the watermark in one
//! read transaction, so what it matches is one consistent state.

use super::SqliteStore;
use super::fail::Res;
use super::packing;
use super::worker::{Workers, Writer};
use crate::error::StoreError;
use crate::indexer::{CatchUp, TAIL_MAX, WordIndexPass, tail_matches};
use rusqlite::{Connection, params};

/// A tokenised batch, to be stored if the watermark is still `from`.
struct Batch {
    from: i64,
    words: Vec<(i64, String)>,
    more: bool,
}

pub(crate) fn watermark(conn: &Connection) -> Res<i64> {
    let mut stmt = conn.prepare_cached("SELECT watermark FROM word_index")?;
    Ok(stmt.query_row([], |r| r.get(0))?)
}

/// The events above `from` (id order), at most `limit`, with their payloads.
fn above(conn: &Connection, from: i64, limit: usize) -> Res<Vec<(i64, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, payload FROM events WHERE id > ?1 ORDER BY id LIMIT ?2")?;
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

/// Reads and tokenises the next batch (on a reader).
fn read_batch(conn: &Connection, limit: usize) -> Res<Batch> {
    let from = watermark(conn)?;
    let events = above(conn, from, limit)?;
    let more = limit > 0 && events.len() == limit;
    let words = events
        .into_iter()
        .map(|(id, payload)| (id, crate::search::event_words(&payload).join(" ")))
        .collect();
    Ok(Batch { from, words, more })
}

/// Stores a batch and moves the watermark past it (on the writer); `None` when another pass
/// moved the watermark first (the batch is then dropped, nothing written).
fn store_batch(w: &mut Writer, batch: &Batch) -> Res<Option<i64>> {
    let Some(&(to, _)) = batch.words.last() else {
        return Ok(Some(batch.from));
    };
    let moved = w
        .conn
        .prepare_cached("UPDATE word_index SET watermark = ?2 WHERE watermark = ?1")?
        .execute(params![batch.from, to])?;
    if moved != 1 {
        return Ok(None);
    }
    // An event deleted since it was read (retention) gets no words.
    let mut insert = w.conn.prepare_cached(
        "INSERT INTO event_words (rowid, words) SELECT ?1, ?2
         WHERE EXISTS (SELECT 1 FROM events WHERE id = ?1)",
    )?;
    for (id, words) in batch.words.iter().filter(|(_, w)| !w.is_empty()) {
        insert.execute(params![id, words])?;
    }
    Ok(Some(to))
}

/// One pass of the indexer: up to `limit` events.
pub(crate) async fn pass(workers: &Workers, limit: usize) -> Result<WordIndexPass, StoreError> {
    let batch = workers.read(move |conn| read_batch(conn, limit)).await?;
    let (indexed, more) = (batch.words.len(), batch.more);
    let stored = workers.write(move |w| store_batch(w, &batch)).await?;
    Ok(match stored {
        Some(watermark) => WordIndexPass {
            indexed,
            watermark,
            more,
        },
        None => WordIndexPass {
            indexed: 0,
            watermark: workers.read(watermark).await?,
            more: true,
        },
    })
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
            pass(&self.workers, crate::indexer::BATCH).await?;
        }
    }

    /// Like [`Self::read_indexed`], for a writer job.
    pub(super) async fn write_indexed<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut Writer) -> Res<Option<T>> + Clone + Send + 'static,
    {
        let catch_up = CatchUp::start();
        loop {
            if let Some(done) = self.workers.write(f.clone()).await? {
                return Ok(done);
            }
            catch_up.check()?;
            pass(&self.workers, crate::indexer::BATCH).await?;
        }
    }
}
