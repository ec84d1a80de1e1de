//! The scheduler driven by an injected clock over a real SQLite store: DST changes in three
//! zones, a restart mid-schedule, downtime longer than the catch-up window, overlap policies.

use std::sync::Mutex;

use chrono::{Datelike, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;
use switchboard_store::{SqliteConfig, SqliteStore, Store};

use super::*;

/// A clock the test moves by hand.
struct FakeClock(Mutex<DateTime<Utc>>);

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

impl FakeClock {
    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock") = at;
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    clock: Arc<FakeClock>,
}

async fn fixture(start: DateTime<Utc>) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(SqliteConfig::new(dir.path().join("s.db")))
        .await
        .expect("store");
    Fixture {
        _dir: dir,
        store: Arc::new(store),
        clock: Arc::new(FakeClock(Mutex::new(start))),
    }
}

impl Fixture {
    fn scheduler(&self) -> Scheduler {
        Scheduler::new(self.store.clone(), self.clock.clone())
    }
}

fn entries(triggers: &str) -> Vec<Entry> {
    let text = format!(
        "manifest_version = 1\n[plugin]\nname = \"cron\"\nwasm = \"c.wasm\"\n{triggers}\n[capabilities]\n"
    );
    let manifest = switchboard_manifest::parse_manifest("cron.toml", &text).expect("manifest");
    entries_of(&manifest)
}

fn utc(zone: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    let local = NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(h, min, 0))
        .expect("date");
    zone.from_local_datetime(&local)
        .earliest()
        .expect("exists")
        .with_timezone(&Utc)
}

/// Wakes the scheduler at every instant it asks for, from the clock's time until `until`,
/// finishing every run right away; returns every fire.
async fn drive(
    f: &Fixture,
    s: &mut Scheduler,
    e: &[Entry],
    until: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    drive_keyed(f, s, e, until)
        .await
        .into_iter()
        .map(|(_, at)| at)
        .collect()
}

async fn drive_keyed(
    f: &Fixture,
    s: &mut Scheduler,
    e: &[Entry],
    until: DateTime<Utc>,
) -> Vec<(String, DateTime<Utc>)> {
    let mut fired = Vec::new();
    loop {
        let pass = s.tick(e).await.expect("tick");
        fired.extend(pass.fired.iter().map(|(key, at, _)| (key.clone(), *at)));
        finish_all(f).await;
        let Some(next) = pass.next.filter(|n| *n <= until) else {
            return fired;
        };
        f.clock.set(next);
    }
}

async fn finish_all(f: &Fixture) {
    use switchboard_store::{AttemptStatus, FinishedAttempt, Next};
    let claimed = f
        .store
        .claim("t", 1000, Utc::now() + chrono::Duration::days(10000))
        .await
        .expect("claim");
    for c in claimed {
        let attempt = FinishedAttempt {
            attempt: c.attempt,
            status: AttemptStatus::Succeeded,
            error: None,
            started_at: Utc::now(),
            duration_us: 1,
            node: "t".into(),
            plugin_digest: None,
            actions: Vec::new(),
            logs: Vec::new(),
        };
        f.store
            .finish(c.run_id, attempt, Next::Final)
            .await
            .expect("finish");
    }
}

fn local_times(zone: Tz, fired: &[DateTime<Utc>]) -> Vec<String> {
    fired
        .iter()
        .map(|t| t.with_timezone(&zone).format("%m-%d %H:%M %Z").to_string())
        .collect()
}

/// A date as (year, month, day).
type Date = (i32, u32, u32);
/// A wall time as (hour, minute).
type Wall = (u32, u32);

/// A DST change in one zone: the daily slot `gap` (a local time the spring-forward skips)
/// fires once, at `first_valid`; the daily slot `repeated` (a local time the fall-back repeats)
/// fires once; an every-30-minutes job never goes back and never fires twice.
struct Zone {
    zone: Tz,
    spring: Date,
    gap: Wall,
    first_valid: &'static str,
    autumn: Date,
    repeated: Wall,
}

async fn check_zone(z: Zone) {
    let (zone, tz) = (z.zone, z.zone.name());
    let (h, min) = z.gap;
    let daily = format!("[[trigger]]\ncron = \"0 {min} {h} * * *\"\ntimezone = \"{tz}\"");
    let (_, keyed) = two_days_around(zone, z.spring, &daily).await;
    let fired: Vec<_> = keyed.into_iter().map(|(_, at)| at).collect();
    let local = local_times(zone, &fired);
    assert_eq!(fired.len(), 2, "{tz}: {local:?}");
    assert!(
        local[0].contains(&format!(" {}", z.first_valid)),
        "{tz}: the skipped {h:02}:{min:02} fires at {}: {local:?}",
        z.first_valid
    );
    assert!(
        local[1].contains(&format!(" {h:02}:{min:02}")),
        "{tz}: {local:?}"
    );
    check_fall_back(zone, z.autumn, z.repeated).await;
}

/// Drives `triggers` (TOML) for two days from noon before `date`'s local midnight in `zone`: the
/// fixture and what fired, by schedule key.
async fn two_days_around(
    zone: Tz,
    date: Date,
    triggers: &str,
) -> (Fixture, Vec<(String, DateTime<Utc>)>) {
    let (y, m, d) = date;
    let start = utc(zone, y, m, d, 0, 0) - chrono::Duration::hours(12);
    let f = fixture(start).await;
    let until = start + chrono::Duration::days(2);
    let fired = drive_keyed(&f, &mut f.scheduler(), &entries(triggers), until).await;
    (f, fired)
}

/// The fall-back on `date`: the daily slot at `repeated` fires once, and an every-30-minutes job
/// never goes back and never fires twice.
async fn check_fall_back(zone: Tz, date: Date, (h, min): Wall) {
    let tz = zone.name();
    let triggers = format!(
        "[[trigger]]\ncron = \"0 {min} {h} * * *\"\ntimezone = \"{tz}\"\n[[trigger]]\ncron = \"0 */30 * * * *\"\ntimezone = \"{tz}\"\noverlap = \"allow\""
    );
    let (f, keyed) = two_days_around(zone, date, &triggers).await;
    let wall = format!("{h:02}:{min:02}");
    let daily: Vec<_> = keyed
        .iter()
        .filter(|(key, _)| !key.contains("*/30"))
        .map(|(_, t)| t)
        .collect();
    assert!(
        daily
            .iter()
            .all(|t| t.with_timezone(&zone).format("%H:%M").to_string() == wall),
        "{tz}: {daily:?}"
    );
    let dates: std::collections::BTreeSet<_> = daily
        .iter()
        .map(|t| t.with_timezone(&zone).date_naive())
        .collect();
    let states = f.store.schedule_states().await.expect("states");
    let daily_state = states
        .iter()
        .find(|s| !s.schedule_key.contains("*/30"))
        .expect("state");
    assert_eq!(
        daily_state.fired, 2,
        "{tz}: the repeated {wall} fires once per day"
    );
    assert_eq!(daily.len(), dates.len(), "{tz}: once per day: {daily:?}");
    let mut sorted = keyed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), keyed.len(), "{tz}: no slot fires twice");
    let keys: std::collections::BTreeSet<&String> = keyed.iter().map(|(k, _)| k).collect();
    for key in keys {
        let times: Vec<_> = keyed
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, t)| *t)
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] < w[1]),
            "{tz}: fire times never go back"
        );
    }
    let half_hourly = states
        .iter()
        .find(|s| s.schedule_key.contains("*/30"))
        .expect("state");
    assert_eq!(
        half_hourly.fired, 95,
        "{tz}: 97 half hours in 48 real hours, less the 2 of the repeated hour"
    );
}

/// Per zone: its name, spring-forward date, a wall time in that gap, the first valid time after
/// it, fall-back date, and a wall time that night repeats. Moscow has had no DST since 2014: its
/// last changes were 2010-10-31 and 2011-03-27.
const ZONES: [&str; 3] = [
    "Europe/London    2026-03-29 01:30 02:00 2026-10-25 01:30",
    "America/New_York 2026-03-08 02:30 03:00 2026-11-01 01:30",
    "Europe/Moscow    2011-03-27 02:30 03:00 2010-10-31 02:30",
];

#[tokio::test]
async fn dst_changes_in_london_new_york_and_moscow_fire_each_slot_once() {
    for row in ZONES {
        check_zone(Zone::parse(row)).await;
    }
}

impl Zone {
    /// One row of [`ZONES`].
    fn parse(row: &'static str) -> Zone {
        let columns: Vec<&'static str> = row.split_whitespace().collect();
        let &[zone, spring, gap, first_valid, autumn, repeated] = columns.as_slice() else {
            panic!("a zone row has six columns: {row}");
        };
        Zone {
            zone: zone.parse().unwrap_or_else(|e| panic!("{row}: {e}")),
            spring: date(spring),
            gap: wall(gap),
            first_valid,
            autumn: date(autumn),
            repeated: wall(repeated),
        }
    }
}

fn date(text: &str) -> Date {
    let d = NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date like 2026-03-29");
    (d.year(), d.month(), d.day())
}

fn wall(text: &str) -> Wall {
    let t = chrono::NaiveTime::parse_from_str(text, "%H:%M").expect("a wall time like 01:30");
    (t.hour(), t.minute())
}

#[tokio::test]
async fn a_restart_mid_schedule_fires_nothing_twice() {
    let start = utc(chrono_tz::UTC, 2026, 12, 1, 8, 0);
    let f = fixture(start).await;
    let e = entries("[[trigger]]\ncron = \"0 */10 * * * *\"");
    let first = drive(
        &f,
        &mut f.scheduler(),
        &e,
        start + chrono::Duration::hours(1),
    )
    .await;
    assert_eq!(first.len(), 7, "{first:?}");
    // A new process: nothing cached; the same instant again, then on.
    let mut again = f.scheduler();
    let second = drive(&f, &mut again, &e, start + chrono::Duration::hours(2)).await;
    assert!(
        second.iter().all(|t| !first.contains(t)),
        "{first:?} {second:?}"
    );
    assert_eq!(second.len(), 6, "{second:?}");
}

#[tokio::test]
async fn downtime_longer_than_the_window_catches_up_as_each_policy_says() {
    let start = utc(chrono_tz::UTC, 2026, 12, 1, 0, 0);
    for (policy, expect_late) in [("none", 0), ("one", 1), ("all", 2)] {
        let f = fixture(start).await;
        let e = entries(&format!(
            "[[trigger]]\ncron = \"0 0 * * * *\"\ncatch_up = \"{policy}\"\ncatch_up_window_s = 7200\noverlap = \"allow\""
        ));
        let mut s = f.scheduler();
        let fired = drive(&f, &mut s, &e, start).await;
        assert_eq!(fired.len(), 1, "{policy}: the on-time slot at 00:00");
        // Down from 00:00 to 05:30: 01..05 missed; the window (2 h) covers 04:00 and 05:00.
        f.clock.set(start + chrono::Duration::minutes(330));
        let pass = s.tick(&e).await.expect("tick");
        let late: Vec<_> = pass.fired.iter().filter(|(_, _, late)| *late).collect();
        assert_eq!(late.len(), expect_late, "{policy}: {pass:?}");
        assert_eq!(pass.missed as usize, 5 - expect_late, "{policy}: {pass:?}");
        let again = s.tick(&e).await.expect("tick");
        assert!(
            again.fired.is_empty() && again.missed == 0,
            "{policy}: counted once: {again:?}"
        );
        let states = f.store.schedule_states().await.expect("states");
        assert_eq!(states[0].missed as usize, 5 - expect_late, "{policy}");
    }
}

#[tokio::test]
async fn overlap_skip_and_queue_one_hold_back_slots_while_runs_are_unfinished() {
    let start = utc(chrono_tz::UTC, 2026, 12, 1, 0, 0);
    for (policy, expected_runs) in [("skip", 1), ("queue-one", 2), ("allow", 4)] {
        let f = fixture(start).await;
        let e = entries(&format!(
            "[[trigger]]\ncron = \"0 * * * * *\"\noverlap = \"{policy}\""
        ));
        let mut s = f.scheduler();
        let mut fired = 0;
        let mut skipped = 0;
        for minute in 0..4 {
            f.clock.set(start + chrono::Duration::minutes(minute));
            let pass = s.tick(&e).await.expect("tick");
            fired += pass.fired.len();
            skipped += pass.skipped;
        }
        assert_eq!(fired, expected_runs, "{policy}");
        assert_eq!(skipped as usize, 4 - expected_runs, "{policy}");
        // The skipped slots are handled: a restart does not catch them up.
        let mut restarted = f.scheduler();
        let pass = restarted.tick(&e).await.expect("tick");
        assert!(pass.fired.is_empty(), "{policy}: {pass:?}");
    }
}

#[tokio::test]
async fn jitter_delays_a_schedule_by_the_same_offset_within_its_window() {
    let start = utc(chrono_tz::UTC, 2026, 12, 1, 9, 0);
    let f = fixture(start).await;
    let e = entries("[[trigger]]\ncron = \"0 0 * * * *\"\njitter_s = 600");
    let offset = e[0].jitter();
    assert!(offset > chrono::Duration::zero() && offset < chrono::Duration::seconds(600));
    let mut s = f.scheduler();
    f.clock.set(start - chrono::Duration::seconds(1));
    let pass = s.tick(&e).await.expect("tick");
    assert_eq!(
        pass.next,
        Some(start + offset),
        "the 09:00 slot waits for its offset"
    );
    f.clock.set(start);
    assert!(s.tick(&e).await.expect("tick").fired.is_empty(), "not yet");
    f.clock.set(start + offset);
    let pass = s.tick(&e).await.expect("tick");
    assert_eq!(pass.fired.len(), 1);
    assert_eq!(pass.fired[0].1, start, "the run stands for the 09:00 slot");
}

#[tokio::test]
async fn start_and_end_bound_the_fires() {
    let start = utc(chrono_tz::UTC, 2026, 12, 1, 0, 0);
    let f = fixture(start).await;
    let e = entries(
        "[[trigger]]\ncron = \"0 0 * * * *\"\nstart = \"2026-12-01T03:00:00Z\"\nend = \"2026-12-01T06:00:00Z\"",
    );
    let fired = drive(
        &f,
        &mut f.scheduler(),
        &e,
        start + chrono::Duration::hours(10),
    )
    .await;
    let hours: Vec<u32> = fired.iter().map(chrono::Timelike::hour).collect();
    assert_eq!(hours, [3, 4, 5]);
}

/// One daily trigger each for `n` plugins (`cron-000` …): `n` schedule keys due together.
fn fleet(n: usize) -> Vec<Entry> {
    (0..n)
        .flat_map(|i| {
            let text = format!(
                "manifest_version = 1\n[plugin]\nname = \"cron-{i:03}\"\nwasm = \"c.wasm\"\n\
                 [[trigger]]\ncron = \"0 0 9 * * *\"\n[capabilities]\n"
            );
            let manifest = switchboard_manifest::parse_manifest("c.toml", &text).expect("manifest");
            entries_of(&manifest)
        })
        .collect()
}

#[tokio::test]
async fn nodes_fire_only_the_schedules_they_own_and_take_over_a_late_owners() {
    let slot = utc(chrono_tz::UTC, 2026, 12, 1, 9, 0);
    let f = fixture(slot).await;
    let now = f.store.clock().await.expect("clock");
    for node in ["node-a", "node-b"] {
        let lease = std::time::Duration::from_secs(600);
        f.store.take_lease(node, lease, now).await.expect("lease");
    }
    let e = fleet(60);
    let mut a = f.scheduler().on_node("node-a".into(), f.store.clone());
    let mut b = f.scheduler().on_node("node-b".into(), f.store.clone());
    let by_a = a.tick(&e).await.expect("tick a").fired;
    let by_b = b.tick(&e).await.expect("tick b").fired;
    assert!(
        !by_a.is_empty() && !by_b.is_empty(),
        "{} / {}",
        by_a.len(),
        by_b.len()
    );
    assert_eq!(
        by_a.len() + by_b.len(),
        60,
        "each schedule fired by its owner alone"
    );
    finish_all(&f).await;

    // The next day node-b is stuck: node-a fires its own at once and node-b's after the grace.
    let next = slot + chrono::Duration::days(1);
    f.clock.set(next);
    let pass = a.tick(&e).await.expect("tick a");
    assert_eq!(pass.fired.len(), by_a.len(), "only its own at first");
    assert_eq!(
        pass.next,
        Some(next + TAKEOVER_GRACE),
        "wakes when the grace ends"
    );
    f.clock.set(next + TAKEOVER_GRACE);
    let late = a.tick(&e).await.expect("tick a late");
    assert_eq!(
        late.fired.len(),
        by_b.len(),
        "the late owner's slots, taken over"
    );
    // node-b wakes up: everything is handled, nothing fires twice.
    assert!(b.tick(&e).await.expect("tick b").fired.is_empty());
    let states = f.store.schedule_states().await.expect("states");
    assert_eq!(states.len(), 60);
    assert!(states.iter().all(|s| s.fired == 2), "{states:?}");
}

#[tokio::test]
async fn a_storm_of_slots_in_several_transactions_fires_each_once() {
    let slot = utc(chrono_tz::UTC, 2026, 12, 1, 9, 0);
    let f = fixture(slot).await;
    let e = fleet(300);
    let mut s = f.scheduler();
    let pass = s.tick(&e).await.expect("tick");
    assert_eq!(pass.fired.len(), 300, "in three transactions");
    assert!(s.tick(&e).await.expect("again").fired.is_empty());
    let states = f.store.schedule_states().await.expect("states");
    assert_eq!(states.len(), 300);
    assert!(
        states
            .iter()
            .all(|s| s.fired == 1 && s.last_slot == Some(slot))
    );
}
