//! SQL for the action ledger (two phases keyed by run and seq) and its echo lookups. The intent
//! is inserted with `ON CONFLICT DO NOTHING`, so concurrent begins of one (run, seq) record one
//! intent and the others see it.

use super::fail::{Res, exec, from_us, get, opt, rows, to_u32, to_us};
use crate::error::StoreError;
use crate::ids::RunId;
use crate::model::ledger::{LedgerBegin, LedgerEntry, LedgerIntent, LedgerRecord, LedgerResult};
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

/// Records the intent, or answers what an earlier record of (run, seq) says.
pub(crate) async fn begin(tx: &Transaction<'_>, i: &LedgerIntent) -> Res<LedgerBegin> {
    if insert(tx, i).await? {
        return Ok(LedgerBegin::Fresh);
    }
    lookup(tx, i).await
}

/// Inserts the intent unless (run, seq) is known; true when it was inserted.
async fn insert(tx: &Transaction<'_>, i: &LedgerIntent) -> Res<bool> {
    let (connection, chat) = i.chat.unzip();
    let inserted = exec(
        tx,
        "INSERT INTO ledger (run_id, seq, kind, fingerprint, request, connection_id, chat_id, intent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, seq) DO NOTHING",
        &[
            &i.run_id.0,
            &i64::from(i.seq),
            &i.kind,
            &i.fingerprint,
            &i.request,
            &connection,
            &chat,
            &to_us(i.at),
        ],
    )
    .await?;
    Ok(inserted == 1)
}

/// What an earlier record of (run, seq) says about `i`; `Fresh` when there is none.
pub(crate) async fn lookup(tx: &Transaction<'_>, i: &LedgerIntent) -> Res<LedgerBegin> {
    let found = opt(
        tx,
        "SELECT kind, fingerprint, result, effect_id, intent_at FROM ledger WHERE run_id = $1 AND seq = $2",
        &[&i.run_id.0, &i64::from(i.seq)],
    )
    .await?;
    let Some(row) = found else {
        return Ok(LedgerBegin::Fresh);
    };
    let (kind, fingerprint): (String, String) = (get(&row, 0)?, get(&row, 1)?);
    if kind != i.kind || fingerprint != i.fingerprint {
        return Ok(LedgerBegin::Mismatch {
            recorded_fingerprint: fingerprint,
            kind,
        });
    }
    Ok(match get::<Option<String>>(&row, 2)? {
        Some(result) => LedgerBegin::Completed {
            result,
            effect_id: get(&row, 3)?,
        },
        None => LedgerBegin::Pending {
            intent_at: from_us(get(&row, 4)?)?,
        },
    })
}

/// Writes deferred records, of any number of runs, in at most two statements: whole ones
/// (intent and result) unless (run, seq) is known, and results onto their recorded intents (each
/// must exist: `NotFound` otherwise).
pub(crate) async fn record<'r>(
    tx: &Transaction<'_>,
    records: impl IntoIterator<Item = &'r LedgerRecord>,
) -> Res<()> {
    let mut whole = Vec::new();
    let mut results = Vec::new();
    for r in records {
        match &r.intent {
            Some(intent) => whole.push((intent, &r.done)),
            None => results.push(&r.done),
        }
    }
    insert_whole(tx, &whole).await?;
    complete_all(tx, &results).await
}

/// Inserts whole records in one statement, skipping those whose (run, seq) is known.
async fn insert_whole(tx: &Transaction<'_>, whole: &[(&LedgerIntent, &LedgerResult)]) -> Res<()> {
    if whole.is_empty() {
        return Ok(());
    }
    let column = |f: &dyn Fn(&LedgerIntent, &LedgerResult) -> Option<i64>| -> Vec<Option<i64>> {
        whole.iter().map(|(i, d)| f(i, d)).collect()
    };
    let runs = column(&|i, _| Some(i.run_id.0));
    let seqs = column(&|i, _| Some(i64::from(i.seq)));
    let connections = column(&|i, _| i.chat.map(|(c, _)| c));
    let chats = column(&|i, _| i.chat.map(|(_, h)| h));
    let at = column(&|i, _| Some(to_us(i.at)));
    let kinds: Vec<&str> = whole.iter().map(|(i, _)| i.kind.as_str()).collect();
    let prints: Vec<&str> = whole.iter().map(|(i, _)| i.fingerprint.as_str()).collect();
    let requests: Vec<&str> = whole.iter().map(|(i, _)| i.request.as_str()).collect();
    let answers: Vec<&str> = whole.iter().map(|(_, d)| d.result.as_str()).collect();
    let effects: Vec<Option<&str>> = whole.iter().map(|(_, d)| d.effect_id.as_deref()).collect();
    exec(
        tx,
        "INSERT INTO ledger (run_id, seq, kind, fingerprint, request, connection_id, chat_id, intent_at,
             result, effect_id)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
             $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::text[])
         ON CONFLICT (run_id, seq) DO NOTHING",
        &[
            &runs,
            &seqs,
            &kinds,
            &prints,
            &requests,
            &connections,
            &chats,
            &at,
            &answers,
            &effects,
        ],
    )
    .await?;
    Ok(())
}

/// Records results onto their intents in one statement; `NotFound` when an intent is missing.
async fn complete_all(tx: &Transaction<'_>, results: &[&LedgerResult]) -> Res<()> {
    match results {
        [] => Ok(()),
        [one] => complete(tx, one).await,
        _ => {
            let runs: Vec<i64> = results.iter().map(|d| d.run_id.0).collect();
            let seqs: Vec<i64> = results.iter().map(|d| i64::from(d.seq)).collect();
            let answers: Vec<&str> = results.iter().map(|d| d.result.as_str()).collect();
            let effects: Vec<Option<&str>> =
                results.iter().map(|d| d.effect_id.as_deref()).collect();
            let changed = exec(
                tx,
                "UPDATE ledger l SET result = t.result, effect_id = t.effect_id
                 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])
                     AS t(run_id, seq, result, effect_id)
                 WHERE l.run_id = t.run_id AND l.seq = t.seq",
                &[&runs, &seqs, &answers, &effects],
            )
            .await?;
            let mut keys: Vec<(i64, i64)> = runs.into_iter().zip(seqs).collect();
            keys.sort_unstable();
            keys.dedup();
            if changed as usize != keys.len() {
                // Some intent is missing: one by one, so the error names it (the transaction
                // fails either way).
                for done in results {
                    complete(tx, done).await?;
                }
            }
            Ok(())
        }
    }
}

/// Records the result of an intent.
pub(crate) async fn complete(tx: &Transaction<'_>, done: &LedgerResult) -> Res<()> {
    let (run, seq) = (done.run_id, done.seq);
    let changed = exec(
        tx,
        "UPDATE ledger SET result = $3, effect_id = $4 WHERE run_id = $1 AND seq = $2",
        &[&run.0, &i64::from(seq), &done.result, &done.effect_id],
    )
    .await?;
    expect_one(changed, run, seq)
}

/// Records a reconciliation decision.
pub(crate) async fn decide(tx: &Transaction<'_>, run: RunId, seq: u32, decision: &str) -> Res<()> {
    let changed = exec(
        tx,
        "UPDATE ledger SET decision = $3 WHERE run_id = $1 AND seq = $2",
        &[&run.0, &i64::from(seq), &decision],
    )
    .await?;
    expect_one(changed, run, seq)
}

fn expect_one(changed: u64, run: RunId, seq: u32) -> Res<()> {
    if changed == 0 {
        return Err(StoreError::not_found(format!("ledger intent (run {run}, seq {seq})")).into());
    }
    Ok(())
}

fn entry(run: RunId, r: &Row) -> Res<LedgerEntry> {
    let chat = match (get::<Option<i64>>(r, 4)?, get::<Option<i64>>(r, 5)?) {
        (Some(c), Some(h)) => Some((c, h)),
        _ => None,
    };
    Ok(LedgerEntry {
        intent: LedgerIntent {
            run_id: run,
            seq: to_u32(get(r, 0)?),
            kind: get(r, 1)?,
            fingerprint: get(r, 2)?,
            request: get(r, 3)?,
            chat,
            at: from_us(get(r, 6)?)?,
        },
        result: get(r, 7)?,
        effect_id: get(r, 8)?,
        decision: get(r, 9)?,
    })
}

pub(crate) async fn for_run(tx: &Transaction<'_>, run: RunId) -> Res<Vec<LedgerEntry>> {
    let found = rows(
        tx,
        "SELECT seq, kind, fingerprint, request, connection_id, chat_id, intent_at, result, effect_id, decision
         FROM ledger WHERE run_id = $1 ORDER BY seq",
        &[&run.0],
    )
    .await?;
    found.iter().map(|r| entry(run, r)).collect()
}

/// The ledger entries of several runs, newest run first, then by seq (one statement).
pub(crate) async fn for_runs(tx: &Transaction<'_>, runs: &[i64]) -> Res<Vec<LedgerEntry>> {
    let found = rows(
        tx,
        "SELECT seq, kind, fingerprint, request, connection_id, chat_id, intent_at, result, effect_id, decision, run_id
         FROM ledger WHERE run_id = ANY($1) ORDER BY run_id DESC, seq",
        &[&runs],
    )
    .await?;
    found.iter().map(|r| entry(RunId(get(r, 10)?), r)).collect()
}

pub(crate) async fn is_own_effect(tx: &Transaction<'_>, effect: &str) -> Res<bool> {
    let row = opt(
        tx,
        "SELECT 1 FROM ledger WHERE effect_id = $1 LIMIT 1",
        &[&effect],
    )
    .await?;
    Ok(row.is_some())
}

pub(crate) async fn pending_for_chat(
    tx: &Transaction<'_>,
    connection: i64,
    chat: i64,
    since: DateTime<Utc>,
) -> Res<bool> {
    let row = opt(
        tx,
        "SELECT 1 FROM ledger WHERE connection_id = $1 AND chat_id = $2
             AND result IS NULL AND kind = 'messages.send' AND intent_at >= $3 LIMIT 1",
        &[&connection, &chat, &to_us(since)],
    )
    .await?;
    Ok(row.is_some())
}
