//! The compact encoding of an attempt's actions and logs: one JSON value per attempt instead of a
//! row per line (`{"a":[[seq,kind,request,outcome,latency_us,replayed,decision]],"l":[[level,source,message]]}`),
//! `NULL` when the attempt recorded nothing.

use super::fail::{Fail, Res};
use crate::error::StoreError;
use crate::model::dispatch::{ActionRow, LogRow};
use serde::{Deserialize, Serialize};

type ActionTuple = (u32, String, String, String, u64, bool, Option<String>);
type LogTuple = (String, String, String);

#[derive(Serialize, Deserialize, Default)]
struct Detail {
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    actions: Vec<ActionTuple>,
    #[serde(rename = "l", default, skip_serializing_if = "Vec::is_empty")]
    logs: Vec<LogTuple>,
}

/// Encodes actions and logs; `None` when both are empty.
pub(crate) fn encode(actions: &[ActionRow], logs: &[LogRow]) -> Res<Option<String>> {
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
pub(crate) fn decode(text: Option<&str>) -> Res<(Vec<ActionRow>, Vec<LogRow>)> {
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
            |(seq, kind, request, outcome, latency_us, replayed, decision)| ActionRow {
                seq,
                kind,
                request,
                outcome,
                latency_us,
                replayed,
                decision,
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
        let text = encode(&actions, &logs).ok().flatten();
        let back = decode(text.as_deref()).ok();
        assert_eq!(back, Some((actions, logs)));
        assert!(matches!(encode(&[], &[]), Ok(None)));
        assert!(decode(Some("{\"a\":[[1]]}")).is_err());
    }
}
