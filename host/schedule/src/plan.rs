//! Catch-up after downtime: given the last slot that fired and the time now, which slots run
//! (each flagged on time or catch-up) and how many are dropped as missed.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::schedule::{Schedule, just_before};

/// How late a slot may be and still count as on time rather than caught up.
pub const ON_TIME_GRACE: Duration = Duration::from_secs(60);
/// The most slots one plan returns; older ones are counted missed.
pub const MAX_DUE: usize = 1024;
/// Where [`Plan::missed`] stops counting (it saturates), so a plan after long downtime of a
/// dense schedule costs bounded work.
pub const MISSED_COUNT_LIMIT: u64 = 10_000;

/// Which slots missed while the host was down run when it comes back (within the window).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CatchUp {
    /// Only a slot due now runs; missed ones are counted.
    None,
    /// The latest missed slot within the window runs once (the default).
    #[default]
    One,
    /// Every missed slot within the window runs, oldest first.
    All,
}

/// One slot to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The slot's fire time, the key it is stored under.
    pub at: DateTime<Utc>,
    /// Whether it runs late, after downtime, rather than on time.
    pub catch_up: bool,
}

/// What to run now for one schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The slots to run, oldest first; at most [`MAX_DUE`].
    pub due: Vec<Slot>,
    /// Slots after the last fire that will not run; saturates at [`MISSED_COUNT_LIMIT`].
    pub missed: u64,
}

impl CatchUp {
    /// Every policy, in declaration order.
    pub const ALL: &'static [CatchUp] = &[CatchUp::None, CatchUp::One, CatchUp::All];

    /// The policy's name in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::None => "none",
            CatchUp::One => "one",
            CatchUp::All => "all",
        }
    }

    /// The most slots the policy runs at once.
    fn limit(self) -> usize {
        match self {
            CatchUp::None | CatchUp::One => 1,
            CatchUp::All => MAX_DUE,
        }
    }
}

impl std::fmt::Display for CatchUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Schedule {
    /// The slots to run at `now`, after the slot `last_fired` (`None`: the schedule never fired,
    /// so nothing was missed and only a slot due now runs). A slot is on time when it is at
    /// most [`ON_TIME_GRACE`] old; older slots run under `catch_up` when they are at most
    /// `window` old, and are counted missed otherwise.
    pub fn plan(
        &self,
        last_fired: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        catch_up: CatchUp,
        window: Duration,
    ) -> Plan {
        let on_time_from = earlier_by(now, ON_TIME_GRACE);
        let Some(last_fired) = last_fired else {
            let on_time = self.last_in(on_time_from, now);
            let due = on_time.map(|at| Slot {
                at,
                catch_up: false,
            });
            return Plan {
                due: due.into_iter().collect(),
                missed: 0,
            };
        };
        let after_last = last_fired.checked_add_signed(TimeDelta::nanoseconds(1));
        let after_last = after_last.unwrap_or(last_fired);
        let eligible_from = earlier_by(now, window.max(ON_TIME_GRACE)).max(after_last);
        let due = self.due(eligible_from, now, on_time_from, catch_up);
        let missed_before = due.first().map_or(now, |slot| just_before(slot.at));
        let missed = self.count_in(after_last, missed_before);
        Plan { due, missed }
    }

    /// The latest slots in `[from, now]` the policy runs, walking back from `now`.
    fn due(
        &self,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
        on_time_from: DateTime<Utc>,
        catch_up: CatchUp,
    ) -> Vec<Slot> {
        let mut due = Vec::new();
        let mut up_to = now;
        while due.len() < catch_up.limit() {
            let Some(at) = self.last_in(from, up_to) else {
                break;
            };
            let late = at < on_time_from;
            if late && catch_up == CatchUp::None {
                break;
            }
            due.push(Slot { at, catch_up: late });
            up_to = just_before(at);
        }
        due.reverse();
        due
    }

    /// How many slots fire in `[from, up_to]`, up to [`MISSED_COUNT_LIMIT`].
    fn count_in(&self, from: DateTime<Utc>, up_to: DateTime<Utc>) -> u64 {
        let fires = self.fires_after(just_before(from));
        let within = fires.take_while(|at| *at <= up_to);
        let limit = usize::try_from(MISSED_COUNT_LIMIT).unwrap_or(usize::MAX);
        u64::try_from(within.take(limit).count()).unwrap_or(MISSED_COUNT_LIMIT)
    }
}

/// `now` moved back by `by`, saturating at the earliest instant chrono represents.
fn earlier_by(now: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
    now.checked_sub_signed(by)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}
