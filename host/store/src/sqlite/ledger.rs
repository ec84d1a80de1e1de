//! SQL for the action ledger (two phases keyed by run and seq) and its echo lookups.
//!
//! The request and result texts are stored packed (see `packing`) like event payloads: the
//! request is the largest text of a run's history that was kept as it was (a third of a run's
//! bytes). The fingerprint (a hex SHA-256) and the effect id (a UUID) are stored as bytes (see
//! `digests`). Rows written before keep their TEXT and read back unchanged.

use super::digests;
use super::fail::{Res, from_us, to_u32, to_us};
use super::names::SEND_KIND;
use super::packing::{self, Packed};
use super::worker::Writer;
use crate::error::StoreError;
use crate::ids::RunId;
use crate::model::ledger::{LedgerBegin, LedgerEntry, LedgerIntent, LedgerRecord};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

/// Records the intent with its packed `request`, or answers what an earlier record of (run, seq)
/// says.
pub(crate) fn begin(w: &Writer, i: &LedgerIntent, request: &Packed) -> Res<LedgerBegin> {
    let found = lookup(&w.conn, i)?;
    if found == LedgerBegin::Fresh {
        insert(w, i, request, None)?;
    }
    Ok(found)
}

/// What an earlier record of (run, seq) says about `i`; `Fresh` when there is none.
pub(crate) fn lookup(conn: &Connection, i: &LedgerIntent) -> Res<LedgerBegin> {
    let mut stmt = conn.prepare_cached(
        "SELECT (SELECT name FROM names WHERE names.id = ledger.kind), fingerprint, result,
             effect_id, intent_at
         FROM ledger WHERE run_id = ?1 AND seq = ?2",
    )?;
    let found = stmt
        .query_row(params![i.run_id.0, i.seq], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Value>(1)?,
                r.get::<_, Value>(2)?,
                r.get::<_, Value>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .optional()?;
    let Some((kind, fingerprint, result, effect_id, intent_at)) = found else {
        return Ok(LedgerBegin::Fresh);
    };
    let fingerprint = digests::unpack_required("ledger fingerprint", fingerprint)?;
    let effect_id = digests::unpack("ledger effect id", effect_id)?;
    if kind != i.kind || fingerprint != i.fingerprint {
        return Ok(LedgerBegin::Mismatch {
            recorded_fingerprint: fingerprint,
            kind,
        });
    }
    Ok(match packing::unpack_value("ledger result", result)? {
        Some(result) => LedgerBegin::Completed { result, effect_id },
        None => LedgerBegin::Pending {
            intent_at: from_us(intent_at)?,
        },
    })
}

/// A [`LedgerRecord`] with its texts packed (off the writer thread).
pub(crate) struct PackedRecord {
    intent: Option<(LedgerIntent, Packed)>,
    run: RunId,
    seq: u32,
    result: Packed,
    effect: Option<String>,
}

impl PackedRecord {
    pub(crate) fn pack(r: LedgerRecord) -> PackedRecord {
        let LedgerRecord { intent, done } = r;
        PackedRecord {
            intent: intent.map(|i| {
                let request = packing::pack(i.request.clone());
                (i, request)
            }),
            run: done.run_id,
            seq: done.seq,
            result: packing::pack(done.result),
            effect: done.effect_id,
        }
    }

    pub(crate) fn pack_all(records: Vec<LedgerRecord>) -> Vec<PackedRecord> {
        records.into_iter().map(PackedRecord::pack).collect()
    }
}

/// Writes deferred records: a whole one (intent and result) unless (run, seq) is known, a result
/// onto its recorded intent.
pub(crate) fn record(w: &Writer, records: &[PackedRecord]) -> Res<()> {
    for r in records {
        let effect = r.effect.as_deref();
        match &r.intent {
            Some((intent, request)) => insert(w, intent, request, Some((&r.result, effect)))?,
            None => complete(&w.conn, r.run, r.seq, &r.result, effect)?,
        }
    }
    Ok(())
}

/// Inserts the intent, with its result when `done` is given, unless (run, seq) is known.
fn insert(
    w: &Writer,
    i: &LedgerIntent,
    request: &Packed,
    done: Option<(&Packed, Option<&str>)>,
) -> Res<()> {
    let mut stmt = w.conn.prepare_cached(
        "INSERT INTO ledger (run_id, seq, kind, fingerprint, request, connection_id, chat_id, intent_at,
             result, effect_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (run_id, seq) DO NOTHING",
    )?;
    let (connection, chat) = i.chat.unzip();
    let kind = w.name_id(&i.kind)?;
    let (result, effect) = done.unzip();
    stmt.execute(params![
        i.run_id.0,
        i.seq,
        kind,
        digests::pack(&i.fingerprint),
        request,
        connection,
        chat,
        to_us(i.at),
        result,
        digests::pack_opt(effect.flatten())
    ])?;
    Ok(())
}

/// Records the (packed) result of an intent.
pub(crate) fn complete(
    conn: &Connection,
    run: RunId,
    seq: u32,
    result: &Packed,
    effect: Option<&str>,
) -> Res<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE ledger SET result = ?3, effect_id = ?4 WHERE run_id = ?1 AND seq = ?2",
    )?;
    let effect = digests::pack_opt(effect);
    expect_one(stmt.execute(params![run.0, seq, result, effect])?, run, seq)
}

/// Records a reconciliation decision.
pub(crate) fn decide(conn: &Connection, run: RunId, seq: u32, decision: &str) -> Res<()> {
    let mut stmt =
        conn.prepare_cached("UPDATE ledger SET decision = ?3 WHERE run_id = ?1 AND seq = ?2")?;
    expect_one(stmt.execute(params![run.0, seq, decision])?, run, seq)
}

fn expect_one(changed: usize, run: RunId, seq: u32) -> Res<()> {
    if changed == 0 {
        return Err(StoreError::not_found(format!("ledger intent (run {run}, seq {seq})")).into());
    }
    Ok(())
}

pub(crate) fn for_run(conn: &Connection, run: RunId) -> Res<Vec<LedgerEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, (SELECT name FROM names WHERE names.id = ledger.kind), fingerprint, request,
             connection_id, chat_id, intent_at, result, effect_id, decision
         FROM ledger WHERE run_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([run.0], |r| {
        let chat = match (r.get::<_, Option<i64>>(4)?, r.get::<_, Option<i64>>(5)?) {
            (Some(c), Some(h)) => Some((c, h)),
            _ => None,
        };
        let head = (
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Value>(2)?,
            r.get::<_, Value>(3)?,
        );
        Ok((
            head,
            chat,
            r.get::<_, i64>(6)?,
            (r.get::<_, Value>(7)?, r.get::<_, Value>(8)?, r.get(9)?),
        ))
    })?;
    rows.map(|row| {
        let ((seq, kind, fingerprint, request), chat, at, (result, effect_id, decision)) = row?;
        let intent = LedgerIntent {
            run_id: run,
            seq: to_u32(seq),
            kind,
            fingerprint: digests::unpack_required("ledger fingerprint", fingerprint)?,
            request: packing::unpack_required("ledger request", request)?,
            chat,
            at: from_us(at)?,
        };
        let result = packing::unpack_value("ledger result", result)?;
        let effect_id = digests::unpack("ledger effect id", effect_id)?;
        Ok(LedgerEntry {
            intent,
            result,
            effect_id,
            decision,
        })
    })
    .collect()
}

/// Whether `?1` (the stored form) or `?2` (the text, as rows from before schema version 6 hold
/// it) is an effect id in the ledger: two seeks of `ledger_effect`.
pub(crate) const OWN_EFFECT: &str =
    "SELECT EXISTS (SELECT 1 FROM ledger WHERE effect_id = ?1 OR effect_id = ?2)";

pub(crate) fn is_own_effect(conn: &Connection, effect: &str) -> Res<bool> {
    let mut stmt = conn.prepare_cached(OWN_EFFECT)?;
    Ok(stmt.query_row(params![digests::pack(effect), effect], |r| r.get(0))?)
}

pub(crate) fn pending_for_chat(
    conn: &Connection,
    connection: i64,
    chat: i64,
    since: DateTime<Utc>,
) -> Res<bool> {
    let mut stmt = conn.prepare_cached(&pending_send_sql())?;
    Ok(stmt.query_row(params![connection, chat, to_us(since)], |r| r.get(0))?)
}

/// Whether a send to a chat is pending, from `ledger_pending` (its condition repeated word for
/// word: the kind's id, a constant).
pub(super) fn pending_send_sql() -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM ledger WHERE connection_id = ?1 AND chat_id = ?2
             AND result IS NULL AND kind = {SEND_KIND} AND intent_at >= ?3)"
    )
}
