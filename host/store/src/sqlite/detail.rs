//! The compact encoding of an attempt's actions and logs: one JSON value per attempt instead of a
//! row per line (`{"a":[[seq,kind,request,outcome,latency_us,replayed,decision]],"l":[[level,source,message]]}`),
//! `NULL` when the attempt recorded nothing.
//!
//! An effectful action's request and result are already in the run's ledger row (same run, same
//! seq). When the action's text equals the ledger's, the detail stores `null` in its place and
//! reading fills it back in from the ledger, so history keeps one copy. Retention deletes a run's
//! attempts and ledger rows together.

use super::fail::{Fail, Res};
use crate::error::StoreError;
use crate::ids::RunId;
use crate::model::dispatch::{ActionRow, LogRow};
use rusqlite::Connection;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

type ActionTuple = (
    u32,
    String,
    Option<String>,
    Option<String>,
    u64,
    bool,
    Option<String>,
);

/// The run's ledger texts by seq: (request, result).
pub(crate) type LedgerTexts = HashMap<u32, (String, Option<String>)>;

/// The ledger's request and result texts of a run, for [`encode`] and [`decode`].
pub(crate) fn ledger_texts(conn: &Connection, run: RunId) -> Res<LedgerTexts> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, request, result FROM ledger WHERE run_id = ?1")?;
    let rows = stmt.query_map([run.0], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, Value>(1)?,
            r.get::<_, Value>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (seq, request, result) = row?;
        let request = super::packing::unpack_required("ledger request", request)?;
        Ok((
            seq,
            (
                request,
                super::packing::unpack_value("ledger result", result)?,
            ),
        ))
    })
    .collect()
}

/// `None` when `text` is what the ledger holds (stored once, there).
fn unless_in_ledger(text: String, ledger: Option<&str>) -> Option<String> {
    (ledger != Some(text.as_str())).then_some(text)
}
type LogTuple = (String, String, String);

#[derive(Serialize, Deserialize, Default)]
struct Detail {
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    actions: Vec<ActionTuple>,
    #[serde(rename = "l", default, skip_serializing_if = "Vec::is_empty")]
    logs: Vec<LogTuple>,
}

/// Encodes actions and logs; `None` when both are empty.
pub(crate) fn encode(
    actions: &[ActionRow],
    logs: &[LogRow],
    ledger: &LedgerTexts,
) -> Res<Option<String>> {
    if actions.is_empty() && logs.is_empty() {
        return Ok(None);
    }
    let detail = Detail {
        actions: actions
            .iter()
            .map(|a| {
                let ActionRow {
                    seq,
                    kind,
                    request,
                    outcome,
                    latency_us,
                    replayed,
                    decision,
                } = a.clone();
                let known = ledger.get(&seq);
                let request = unless_in_ledger(request, known.map(|(r, _)| r.as_str()));
                let outcome = unless_in_ledger(outcome, known.and_then(|(_, o)| o.as_deref()));
                (seq, kind, request, outcome, latency_us, replayed, decision)
            })
            .collect(),
        logs: logs
            .iter()
            .map(|l| (l.level.clone(), l.source.clone(), l.message.clone()))
            .collect(),
    };
    let text = serde_json::to_string(&detail).map_err(|e| {
        Fail::Store(StoreError::Database {
            message: format!("cannot encode attempt detail: {e}"),
        })
    })?;
    Ok(Some(text))
}

/// Decodes what [`encode`] wrote; damaged text is reported as corrupt.
pub(crate) fn decode(
    text: Option<&str>,
    ledger: &LedgerTexts,
) -> Res<(Vec<ActionRow>, Vec<LogRow>)> {
    let Some(text) = text else {
        return Ok((Vec::new(), Vec::new()));
    };
    let detail: Detail = serde_json::from_str(text).map_err(|e| {
        Fail::Store(StoreError::Corrupt {
            what: "attempt detail",
            detail: e.to_string(),
        })
    })?;
    let actions = detail
        .actions
        .into_iter()
        .map(
            |(seq, kind, request, outcome, latency_us, replayed, decision)| {
                let known = ledger.get(&seq);
                let from_ledger = |pick: fn(&(String, Option<String>)) -> Option<&String>| {
                    known.and_then(pick).cloned().unwrap_or_default()
                };
                ActionRow {
                    seq,
                    kind,
                    request: request.unwrap_or_else(|| from_ledger(|(r, _)| Some(r))),
                    outcome: outcome.unwrap_or_else(|| from_ledger(|(_, o)| o.as_ref())),
                    latency_us,
                    replayed,
                    decision,
                }
            },
        )
        .collect();
    let logs = detail
        .logs
        .into_iter()
        .map(|(level, source, message)| LogRow {
            level,
            source,
            message,
        })
        .collect();
    Ok((actions, logs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let actions = vec![ActionRow {
            seq: 1,
            kind: "messages.send".into(),
            request: r#"{"text":"hi \"you\""}"#.into(),
            outcome: "{}".into(),
            latency_us: 7,
            replayed: false,
            decision: None,
        }];
        let logs = vec![LogRow {
            level: "info".into(),
            source: "plugin".into(),
            message: "ok".into(),
        }];
        let none = LedgerTexts::new();
        let text = encode(&actions, &logs, &none).ok().flatten();
        let back = decode(text.as_deref(), &none).ok();
        assert_eq!(back, Some((actions.clone(), logs.clone())));
        assert!(matches!(encode(&[], &[], &none), Ok(None)));
        assert!(decode(Some("{\"a\":[[1]]}"), &none).is_err());
        let mut ledger = LedgerTexts::new();
        ledger.insert(1, (actions[0].request.clone(), Some("{}".into())));
        let text = encode(&actions, &logs, &ledger)
            .ok()
            .flatten()
            .unwrap_or_default();
        assert!(
            !text.contains("you"),
            "the request is kept once, in the ledger: {text}"
        );
        assert_eq!(decode(Some(&text), &ledger).ok(), Some((actions, logs)));
    }
}
