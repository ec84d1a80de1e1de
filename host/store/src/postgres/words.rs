//! The word index on PostgreSQL, fed off the intake path (see [`crate::indexer`]): every
//! indexed event has a row in `event_words` (its words, GIN indexed, possibly none), and
//! `word_index.watermark` is an id at or below which every event has one. A pass indexes the
//! lowest events above the watermark that have no row yet, then moves the watermark.
//!
//! Ids come from a sequence, so a transaction holding a lower id can commit after one holding a
//! higher id: the watermark may only pass ids that no running transaction can still commit. A
//! pass notes the sequence's value and then takes a transaction id of its own, before it writes
//! anything (`events.id`'s default takes the transaction's id before its event id, so every id
//! up to that value belongs to a transaction below the pass's); once no transaction of this
//! database below that xid is still running, every event up to the noted id is committed or
//! never will be, and the watermark may move up to it. (A snapshot's `xmax` would not do: it is
//! one past the latest *completed* xid, and a writer that took its xid after that one, and is
//! still running, is above it.)
//!
//! The text filter reads, in one snapshot, the watermark, the index and the unindexed events
//! above the watermark (tokenised in the query), so its answer never depends on the indexer.

use super::fail::{Res, exec, get, one, rows};
use crate::indexer::{TAIL_MAX, WordIndexPass, tail_matches};
use deadpool_postgres::Transaction;
use std::sync::Mutex;

/// A point noted by a pass: every event id up to `seq` belongs to a transaction below `xid`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Noted {
    seq: i64,
    xid: i64,
}

/// The last noted point, kept between passes (any node's point is true for every node).
#[derive(Debug, Default)]
pub(crate) struct Progress(Mutex<Option<Noted>>);

impl Progress {
    fn take(&self) -> Option<Noted> {
        self.0.lock().map_or(None, |mut n| n.take())
    }

    fn put(&self, noted: Option<Noted>) {
        if let Ok(mut n) = self.0.lock() {
            *n = noted;
        }
    }
}

/// The advisory lock key passes hold (any constant unique to switchboard's word index).
const INDEXER_LOCK: i64 = 0x5357_4244_574f_5244; // "SWBDWORD"

/// Events above the watermark without words yet: (id, payload), lowest first.
const UNINDEXED: &str = "SELECT e.id, e.payload FROM events e WHERE e.id > $1
     AND NOT EXISTS (SELECT 1 FROM event_words w WHERE w.event_id = e.id) ORDER BY e.id LIMIT $2";

async fn unindexed(tx: &Transaction<'_>, from: i64, limit: usize) -> Res<Vec<(i64, String)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let found = rows(tx, UNINDEXED, &[&from, &limit]).await?;
    found.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?))).collect()
}

/// One pass: indexes up to `limit` events and moves the watermark as far as it safely can.
pub(crate) async fn pass(
    tx: &Transaction<'_>,
    limit: usize,
    progress: &Progress,
) -> Res<WordIndexPass> {
    // Passes of several nodes take turns. An advisory lock, not `FOR UPDATE` on the row: that
    // would give this transaction its xid before `note` reads the sequence.
    exec(tx, "SELECT pg_advisory_xact_lock($1)", &[&INDEXER_LOCK]).await?;
    let row = one(tx, "SELECT watermark FROM word_index", &[]).await?;
    let from: i64 = get(&row, 0)?;
    let noted = progress.take();
    let settled = match noted {
        Some(n) if ended_before(tx, n.xid).await? => Some(n.seq),
        _ => None,
    };
    // A new point, unless the last one is still to settle; taken before this pass writes.
    let fresh = match (noted, settled) {
        (Some(_), None) => None,
        _ => Some(note(tx).await?),
    };
    let events = unindexed(tx, from, limit).await?;
    store(tx, &events).await?;
    let more = limit > 0 && events.len() == limit;
    let mut watermark = from;
    if let Some(seq) = settled {
        // A full batch may have left unindexed events above its last one.
        let reached = match events.last() {
            Some((last, _)) if more => seq.min(*last),
            _ => seq,
        };
        watermark = watermark.max(reached);
    }
    if watermark != from {
        exec(tx, "UPDATE word_index SET watermark = $1", &[&watermark]).await?;
    }
    // A settled point the batch stopped short of stays settled: keep it.
    let keep = noted.filter(|n| n.seq > watermark);
    progress.put(keep.or(fresh));
    Ok(WordIndexPass {
        indexed: events.len(),
        watermark,
        more,
    })
}

/// Writes the words of `events` (rows even for events without words: they are indexed too),
/// of those still stored. An event deleted after this reads it but before this commits leaves
/// a row no event matches (ids are never reused), never a wrong match.
async fn store(tx: &Transaction<'_>, events: &[(i64, String)]) -> Res<()> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = events.iter().map(|(id, _)| *id).collect();
    let words: Vec<String> = events
        .iter()
        .map(|(_, payload)| crate::search::event_words(payload).join(" "))
        .collect();
    exec(
        tx,
        "INSERT INTO event_words (event_id, words)
         SELECT t.id, string_to_array(t.words, ' ') FROM unnest($1::bigint[], $2::text[]) AS t(id, words)
         JOIN events e ON e.id = t.id
         ON CONFLICT (event_id) DO NOTHING",
        &[&ids, &words],
    )
    .await?;
    Ok(())
}

/// True when every transaction of this database older than `xid` has ended. Only this
/// database's sessions count (the cluster-wide snapshot horizon would wait for any long
/// transaction of another database); `backend_xid` is 32 bits, compared modulo 2^32.
async fn ended_before(tx: &Transaction<'_>, xid: i64) -> Res<bool> {
    let running = rows(
        tx,
        "SELECT backend_xid::text::bigint FROM pg_stat_activity
         WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
        &[],
    )
    .await?;
    // Truncation intended: the low 32 bits of a 64-bit transaction id are its `xid`.
    let noted = xid as u32;
    running.iter().try_fold(true, |all, row| {
        let other = get::<i64>(row, 0)? as u32;
        Ok(all && other.wrapping_sub(noted) < 1 << 31)
    })
}

/// Notes the sequence's value, then takes this transaction's id, in two statements (in that
/// order); the transaction must not have an xid yet (it must not have written or locked a row).
async fn note(tx: &Transaction<'_>) -> Res<Noted> {
    let sql = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq";
    let seq = get(&one(tx, sql, &[]).await?, 0)?;
    let sql = "SELECT pg_current_xact_id()::text::bigint";
    let xid = get(&one(tx, sql, &[]).await?, 0)?;
    Ok(Noted { seq, xid })
}

/// The unindexed events matching a text filter (one snapshot with the query that uses them);
/// `None` when more than [`TAIL_MAX`] events wait for the indexer.
pub(crate) async fn tail(tx: &Transaction<'_>, text: &str) -> Res<Option<Vec<i64>>> {
    let row = one(tx, "SELECT watermark FROM word_index", &[]).await?;
    let events = unindexed(tx, get(&row, 0)?, TAIL_MAX + 1).await?;
    if events.len() > TAIL_MAX {
        return Ok(None);
    }
    Ok(Some(tail_matches(text, &events)))
}

/// One pass in a transaction of its own.
pub(crate) async fn run_pass(
    pool: &deadpool_postgres::Pool,
    progress: &Progress,
    limit: usize,
) -> Result<WordIndexPass, crate::error::StoreError> {
    use super::fail::Fail;
    let mut client = pool
        .get()
        .await
        .map_err(|e| crate::error::StoreError::Unavailable {
            reason: format!("no postgresql connection: {e}"),
        })?;
    let tx = client.transaction().await.map_err(Fail::from)?;
    let done = pass(&tx, limit, progress).await?;
    tx.commit().await.map_err(Fail::from)?;
    Ok(done)
}
