//! Run and attempt statuses, with their stable names (`as_str` / `FromStr`) as stored and shown.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a run stands. `queued`, `running` and `retrying` are unfinished; the rest are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Queued,
    Running,
    /// Waiting for its backoff (`not_before`) before the next attempt.
    Retrying,
    Succeeded,
    Failed,
    Trapped,
    TimedOut,
    Denied,
    /// Gave up: attempts exhausted or a permanent error.
    Dead,
}

/// How one attempt of a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptStatus {
    Succeeded,
    Failed,
    Trapped,
    TimedOut,
    Denied,
    /// The process died during the attempt (recorded by `recover`).
    Interrupted,
}

/// A status name that is not one of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`; use one of {1}")]
pub struct UnknownStatus(pub String, pub &'static str);

impl RunStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [RunStatus; 9] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Retrying,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Trapped,
        RunStatus::TimedOut,
        RunStatus::Denied,
        RunStatus::Dead,
    ];

    /// The stable name: `queued`, `running`, `retrying`, `succeeded`, `failed`, `trapped`,
    /// `timed-out`, `denied`, `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Retrying => "retrying",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Trapped => "trapped",
            RunStatus::TimedOut => "timed-out",
            RunStatus::Denied => "denied",
            RunStatus::Dead => "dead",
        }
    }

    /// True for `queued`, `running` and `retrying`.
    pub fn is_unfinished(self) -> bool {
        matches!(
            self,
            RunStatus::Queued | RunStatus::Running | RunStatus::Retrying
        )
    }
}

impl AttemptStatus {
    /// Every status.
    pub const ALL: [AttemptStatus; 6] = [
        AttemptStatus::Succeeded,
        AttemptStatus::Failed,
        AttemptStatus::Trapped,
        AttemptStatus::TimedOut,
        AttemptStatus::Denied,
        AttemptStatus::Interrupted,
    ];

    /// The stable name; the same as the run status of the same name, plus `interrupted`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Succeeded => "succeeded",
            AttemptStatus::Failed => "failed",
            AttemptStatus::Trapped => "trapped",
            AttemptStatus::TimedOut => "timed-out",
            AttemptStatus::Denied => "denied",
            AttemptStatus::Interrupted => "interrupted",
        }
    }

    /// The final run status an attempt with this status gives under `Next::Final`
    /// (`interrupted` is not final: it leaves the run `failed`).
    pub fn final_run_status(self) -> RunStatus {
        match self {
            AttemptStatus::Succeeded => RunStatus::Succeeded,
            AttemptStatus::Failed | AttemptStatus::Interrupted => RunStatus::Failed,
            AttemptStatus::Trapped => RunStatus::Trapped,
            AttemptStatus::TimedOut => RunStatus::TimedOut,
            AttemptStatus::Denied => RunStatus::Denied,
        }
    }
}

impl FromStr for RunStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let names =
            "queued, running, retrying, succeeded, failed, trapped, timed-out, denied, dead";
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned(), names))
    }
}

impl FromStr for AttemptStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let names = "succeeded, failed, trapped, timed-out, denied, interrupted";
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned(), names))
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for AttemptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in RunStatus::ALL {
            assert_eq!(s.as_str().parse::<RunStatus>(), Ok(s));
        }
        for s in AttemptStatus::ALL {
            assert_eq!(s.as_str().parse::<AttemptStatus>(), Ok(s));
        }
        assert!("timed_out".parse::<RunStatus>().is_err());
    }
}
