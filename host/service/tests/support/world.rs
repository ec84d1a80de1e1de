//! The reliability suite's world: a Radist sandbox in the test process (it outlives the service,
//! and its sent log is the customer's phone), the real `switchboard serve` in remote mode pointed
//! at it on a fixed port (so it can be killed and restarted at the same webhook URL), customers
//! writing to it from a seeded load thread, and the census that counts from the store and from
//! the sandbox what must hold after any crash.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use radist_sandbox::control::{Inbound, SandboxControl};
use radist_sandbox::{
    DeliveryRecord, DeliveryState, Faults, Sandbox, SandboxConfig, SandboxHandle,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use switchboard_store::{EventDetail, EventSummary, LedgerEntry, RunDetail, RunStatus, RunSummary};
use switchboard_testing::build_plugins;

use crate::support::{Service, Workdir};

pub const WEBHOOK_TOKEN: &str = "reliability-test-webhook-token";
/// The plugin every customer message triggers (the only one enabled: `crm-sync` is optional
/// and its token is not set).
pub const PLUGIN: &str = "auto-reply";
/// A text auto-reply answers (its `hours` rule), and one it leaves alone.
const KEYWORD_TEXT: &str = "hours?";
const OTHER_TEXT: &str = "thanks, bye";
/// auto-reply's `timeout_ms` here (shipped: 2 s): a run makes up to four Radist calls, each of
/// which a latency spike slows by up to 1.5 s, on a shared 2-core machine in a debug build; a
/// deadline is not what these tests are about.
pub const RUN_TIMEOUT_MS: u32 = 10_000;
/// Page size of the admin API's lists (the store's largest).
const PAGE: usize = switchboard_store::MAX_PAGE;

/// A sandbox in this process and a service pointed at it, restartable on the same port.
pub struct World {
    pub rt: tokio::runtime::Runtime,
    sandbox: Option<SandboxHandle>,
    pub control: SandboxControl,
    pub work: Workdir,
    _manifests: tempfile::TempDir,
    /// Whether each stored event is a keyword message, by event id: read once, since a stored
    /// event never changes, so the checks after every kill do not fetch every payload again.
    keywords: Mutex<BTreeMap<i64, bool>>,
}

/// The knobs of one world.
pub struct WorldConfig {
    /// Attempts the sandbox makes per webhook (doubling from 100 ms): enough to outlast restarts.
    pub webhook_attempts: u32,
    /// `radist.max_retries` of the service's client (0: every fault reaches the run).
    pub client_retries: u32,
    /// auto-reply's `per_minute` send budget (the shipped 60 would make most runs wait).
    pub per_minute: u32,
}

impl World {
    pub fn new(config: &WorldConfig) -> World {
        World::with_manifests(config, manifests_with_budget(config.per_minute))
    }

    /// A world whose service loads the manifests in `manifests` (the plugins built from source).
    pub fn with_manifests(config: &WorldConfig, manifests: tempfile::TempDir) -> World {
        build_plugins().unwrap_or_else(|e| panic!("{e}"));
        let rt = tokio::runtime::Runtime::new().expect("tokio");
        let mut sandbox_config = SandboxConfig::default();
        sandbox_config.webhook_retry.attempts = config.webhook_attempts;
        sandbox_config.webhook_retry.base_delay = Duration::from_millis(100);
        // Room for the long form's every send and delivery: the counts need all of them.
        sandbox_config.limits.max_sent = 1_000_000;
        sandbox_config.limits.max_deliveries = 1_000_000;
        let sandbox = rt
            .block_on(Sandbox::start(sandbox_config))
            .expect("sandbox");
        let control = SandboxControl::new(sandbox.control_url());
        let port = free_port();
        let extra = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[webhook]\ntoken = {{ env = \"SB_WEBHOOK_TOKEN\" }}\n[radist]\nmode = \"remote\"\nbase_url = \"{}\"\napi_key = {{ env = \"SB_RADIST_KEY\" }}\ncompany_id = 1\nmax_retries = {}\n",
            sandbox.base_url(),
            config.client_retries,
        );
        let work = Workdir::with_manifests(manifests.path(), &extra);
        let world = World {
            rt,
            sandbox: Some(sandbox),
            control,
            work,
            _manifests: manifests,
            keywords: Mutex::default(),
        };
        world.sync_webhooks(port);
        world
    }

    fn sync_webhooks(&self, port: u16) {
        let public = format!("http://127.0.0.1:{port}");
        let out = self.switchboard(&["radist", "webhooks", "sync", "--public-url", &public]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let key = self.sandbox.as_ref().expect("sandbox").api_key().to_owned();
        vec![
            ("SB_WEBHOOK_TOKEN", WEBHOOK_TOKEN.to_owned()),
            ("SB_RADIST_KEY", key),
        ]
    }

    /// A one-shot CLI command against the same config and database.
    pub fn switchboard(&self, args: &[&str]) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .arg("--config")
            .arg(self.work.path("switchboard.toml"))
            .args(args)
            .env_remove("SWITCHBOARD_CONFIG")
            .env_remove("CRM_TOKEN")
            .envs(self.env());
        command.output().expect("switchboard runs")
    }

    /// Starts the service (on the config's fixed port) and waits for its announcement.
    pub fn serve(&self) -> Service {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.work.serve_with(&[], &env)
    }

    /// Replaces every sandbox fault setting.
    pub fn faults(&self, faults: &Faults) {
        self.rt
            .block_on(self.control.set_faults(faults))
            .expect("set faults");
    }

    /// Outbound sends per chat, as the sandbox (the customer) saw them.
    pub fn sends_per_chat(&self) -> BTreeMap<i64, usize> {
        let sent = self.rt.block_on(self.control.sent(None)).expect("sent");
        let mut per_chat = BTreeMap::new();
        for message in sent {
            *per_chat.entry(message.chat_id).or_default() += 1;
        }
        per_chat
    }

    /// Sends the sandbox accepted so far (cheap: its stats).
    pub fn sent_total(&self) -> usize {
        let stats = self.rt.block_on(self.control.stats()).expect("stats");
        stats.sent.kept
    }

    /// Every `messages.create` delivery of the sandbox.
    pub fn message_deliveries(&self) -> Vec<DeliveryRecord> {
        let deliveries = self.control.webhook_deliveries(Some("messages.create"));
        self.rt.block_on(deliveries).expect("deliveries")
    }

    /// Deliveries of any type still queued or between attempts.
    pub fn pending_deliveries(&self) -> usize {
        let all = self.rt.block_on(self.control.webhook_deliveries(None));
        let all = all.expect("deliveries");
        all.iter()
            .filter(|d| d.state == DeliveryState::Pending)
            .count()
    }

    /// Asserts the sandbox's bounded lists dropped nothing (the counts would be incomplete).
    pub fn assert_nothing_dropped(&self) {
        let stats = self.rt.block_on(self.control.stats()).expect("stats");
        assert_eq!(stats.sent.dropped, 0, "sent list overflowed: {stats:?}");
        assert_eq!(
            stats.webhook_deliveries.dropped, 0,
            "delivery log overflowed: {stats:?}"
        );
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            let _ = self.rt.block_on(sandbox.shutdown());
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The shipped auto-reply manifest with its wasm path made absolute, its send budget set and
/// its run deadline raised to [`RUN_TIMEOUT_MS`].
fn manifests_with_budget(per_minute: u32) -> tempfile::TempDir {
    let budget = format!("per_minute = {per_minute}");
    let timeout = format!("timeout_ms = {RUN_TIMEOUT_MS}");
    crate::support::shipped_auto_reply(&[
        ("per_minute = 60", &budget),
        ("timeout_ms = 2000", &timeout),
    ])
}

/// One customer message the load posted: its Radist id, chat and whether auto-reply answers it.
#[derive(Debug, Clone)]
pub struct Posted {
    pub message_id: String,
    pub chat_id: i64,
    pub keyword: bool,
}

/// Customers writing in: a thread posting messages to the sandbox at a steady rate (from a
/// pool of chats on two connections, so chats get several messages and lanes matter), plus
/// bursts posted on demand. Stopped (and joined) by [`Load::stop`] or on drop.
pub struct Load {
    posted: Arc<Mutex<Vec<Posted>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    customers: Customers,
}

/// Picks who writes what, from a seed.
#[derive(Clone)]
struct Customers {
    control: SandboxControl,
    handle: tokio::runtime::Handle,
    chats: u32,
}

impl Customers {
    fn post(&self, rng: &mut StdRng) -> Posted {
        let customer = rng.random_range(0..self.chats);
        let keyword = rng.random_bool(0.7);
        let text = if keyword { KEYWORD_TEXT } else { OTHER_TEXT };
        let inbound = if customer % 2 == 0 {
            Inbound::from_phone(70002, &format!("7905{customer:07}"), text)
        } else {
            Inbound::from_username(70003, &format!("customer_{customer}"), text)
        };
        let receipt = self.handle.block_on(self.control.inbound(&inbound));
        let receipt = receipt.expect("the sandbox takes an inbound message");
        Posted {
            message_id: receipt.message_id.to_string(),
            chat_id: receipt.chat_id,
            keyword,
        }
    }
}

impl Load {
    /// Starts posting `per_second` messages from `chats` customers.
    pub fn start(world: &World, seed: u64, chats: u32, per_second: f64) -> Load {
        let customers = Customers {
            control: world.control.clone(),
            handle: world.rt.handle().clone(),
            chats,
        };
        let posted = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (customers, posted, stop) = (customers.clone(), posted.clone(), stop.clone());
            std::thread::spawn(move || steady(&customers, seed, per_second, &posted, &stop))
        };
        Load {
            posted,
            stop,
            thread: Some(thread),
            customers,
        }
    }

    /// Posts `count` messages as fast as the sandbox takes them; `between` runs after each.
    pub fn burst(&self, rng: &mut StdRng, count: usize, mut between: impl FnMut(usize)) {
        for i in 0..count {
            let one = self.customers.post(rng);
            self.posted.lock().expect("posted").push(one);
            between(i);
        }
    }

    /// Everything posted so far.
    pub fn posted(&self) -> Vec<Posted> {
        self.posted.lock().expect("posted").clone()
    }

    /// Stops the steady thread; returns everything posted.
    pub fn stop(&mut self) -> Vec<Posted> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("load thread");
        }
        self.posted()
    }
}

impl Drop for Load {
    /// Stops and joins the thread, so no post is in flight when the sandbox shuts down.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Open-loop pacing: message `n` is due at `n / per_second` after the start (a pace, not a
/// synchronisation: the service is not waited for).
fn steady(
    customers: &Customers,
    seed: u64,
    per_second: f64,
    posted: &Mutex<Vec<Posted>>,
    stop: &AtomicBool,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = Instant::now();
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let due = start + Duration::from_secs_f64(f64::from(n) / per_second);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let one = customers.post(&mut rng);
        posted.lock().expect("posted").push(one);
        n += 1;
    }
}

/// What the store holds, read through the running service's admin API (every page).
pub struct Census {
    pub runs: Vec<RunSummary>,
    pub events: Vec<EventSummary>,
}

impl Census {
    pub fn take(service: &Service) -> Census {
        Census {
            runs: pages(service, "runs", |r: &RunSummary| r.run_id.0),
            events: pages(service, "events", |e: &EventSummary| e.id.0),
        }
    }

    pub fn unfinished(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.status.is_unfinished())
            .count()
    }

    /// Runs by status name.
    pub fn by_status(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for run in &self.runs {
            *counts.entry(run.status.as_str()).or_default() += 1;
        }
        counts
    }

    /// Attempts beyond the first, over every run.
    pub fn retries(&self) -> u64 {
        self.runs
            .iter()
            .map(|r| u64::from(r.attempt.saturating_sub(1)))
            .sum()
    }

    /// Stored `messages.create` events by Radist message id.
    pub fn message_events(&self) -> BTreeMap<String, i64> {
        self.events
            .iter()
            .filter_map(|e| {
                let id = e.dedupe_key.strip_prefix("radist:messages.create:")?;
                Some((id.to_owned(), e.id.0))
            })
            .collect()
    }

    /// auto-reply runs per event id.
    pub fn runs_per_event(&self) -> BTreeMap<i64, Vec<&RunSummary>> {
        let mut per_event: BTreeMap<i64, Vec<&RunSummary>> = BTreeMap::new();
        for run in self.runs.iter().filter(|r| r.plugin == PLUGIN) {
            per_event.entry(run.event_id.0).or_default().push(run);
        }
        per_event
    }
}

/// Every page of `/api/{what}` (newest first), following `before`.
fn pages<T: DeserializeOwned>(service: &Service, what: &str, id: impl Fn(&T) -> i64) -> Vec<T> {
    let mut all: Vec<T> = Vec::new();
    loop {
        let before = all
            .last()
            .map(|t| format!("&before={}", id(t)))
            .unwrap_or_default();
        let page: Vec<T> = admin_get(service, &format!("{what}?limit={PAGE}{before}"));
        let full = page.len() == PAGE;
        all.extend(page);
        if !full {
            return all;
        }
    }
}

/// Radist message ids of inbound deliveries the service acknowledged (a 2xx reached Radist).
pub fn acknowledged_inbound(deliveries: &[DeliveryRecord]) -> BTreeSet<String> {
    deliveries
        .iter()
        .filter(|d| d.state == DeliveryState::Delivered)
        .filter(|d| d.payload["event"]["message"]["direction"] == "inbound")
        .filter_map(|d| d.message_id.clone())
        .collect()
}

/// What must hold at any moment, even right after a crash: nothing acknowledged is missing
/// from the store, no event has two runs of a plugin, and no chat got more replies than it
/// sent keyword messages. The sandbox is read before the store, so anything acknowledged or
/// sent before the read is already in what the store shows.
pub fn check_invariants(world: &World, service: &Service) {
    let acknowledged = acknowledged_inbound(&world.message_deliveries());
    let sends = world.sends_per_chat();
    let census = Census::take(service);
    let stored = census.message_events();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains_key(*id))
        .collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    let doubled: Vec<_> = census
        .runs_per_event()
        .into_iter()
        .filter(|(_, runs)| runs.len() > 1)
        .collect();
    assert!(
        doubled.is_empty(),
        "an event has two runs of {PLUGIN}: {doubled:?}"
    );
    let keyword = keyword_per_chat(world, service, &census);
    for (chat, n) in &sends {
        let asked = keyword.get(chat).copied().unwrap_or(0);
        assert!(
            *n <= asked,
            "chat {chat} got {n} replies for {asked} stored keyword messages: a reply was doubled"
        );
    }
}

/// The final count after a test drained, gathered before anything is asserted so the figures
/// print even when a check fails.
pub struct Reckoning {
    pub census: Census,
    pub posted: usize,
    pub acknowledged: usize,
    /// Acknowledged inbound messages the store does not hold.
    pub lost: Vec<String>,
    /// Stored customer messages without exactly one auto-reply run: `(message, runs)`.
    pub runs_off: Vec<(String, usize)>,
    /// Replies per chat (the sandbox), keyword messages stored per chat, and those whose run
    /// succeeded (each of which must have its reply).
    pub sends: BTreeMap<i64, usize>,
    pub keyword: BTreeMap<i64, usize>,
    pub answered: BTreeMap<i64, usize>,
    /// Messages that are the recorded effect of more than one action.
    pub claimed_twice: Vec<String>,
    /// Ledger entries decided by reading the chat back.
    pub reconciled: usize,
}

impl Reckoning {
    pub fn take(world: &World, service: &Service, posted: &[Posted]) -> Reckoning {
        world.assert_nothing_dropped();
        let acknowledged = acknowledged_inbound(&world.message_deliveries());
        let sends = world.sends_per_chat();
        let census = Census::take(service);
        let stored = census.message_events();
        let ledger = ledger(service, &census.runs);
        let runs_off = runs_off(posted, &stored, &census);
        let answered = answered_per_chat(posted, &stored, &census);
        Reckoning {
            posted: posted.len(),
            acknowledged: acknowledged.len(),
            lost: acknowledged
                .into_iter()
                .filter(|id| !stored.contains_key(id))
                .collect(),
            runs_off,
            keyword: keyword_per_chat(world, service, &census),
            answered,
            sends,
            claimed_twice: claimed_twice(&ledger),
            reconciled: ledger.iter().filter(|e| e.decision.is_some()).count(),
            census,
        }
    }

    /// Chats that got more replies than keyword messages: `(chat, replies, keyword messages)`.
    pub fn doubled(&self) -> Vec<(i64, usize, usize)> {
        self.sends
            .iter()
            .map(|(chat, n)| (*chat, *n, self.keyword.get(chat).copied().unwrap_or(0)))
            .filter(|(_, n, asked)| n > asked)
            .collect()
    }

    /// Chats with fewer replies than succeeded keyword runs: `(chat, replies, succeeded)`.
    pub fn unanswered(&self) -> Vec<(i64, usize, usize)> {
        self.answered
            .iter()
            .map(|(chat, ok)| (*chat, self.sends.get(chat).copied().unwrap_or(0), *ok))
            .filter(|(_, n, ok)| n < ok)
            .collect()
    }

    /// The summary line (copied into BENCHMARKS.md for the long form): `doubled` counts replies
    /// beyond the keyword messages, `unanswered` succeeded runs whose reply is missing.
    pub fn line(&self) -> String {
        format!(
            "posted {}, acknowledged {}, events {}, runs {} {:?}, retries {}, reconciliations {}, \
             replies {}, lost {}, doubled {}, unanswered {}, effects claimed twice {}",
            self.posted,
            self.acknowledged,
            self.census.events.len(),
            self.census.runs.len(),
            self.census.by_status(),
            self.census.retries(),
            self.reconciled,
            self.sends.values().sum::<usize>(),
            self.lost.len(),
            self.doubled()
                .iter()
                .map(|(_, n, asked)| n - asked)
                .sum::<usize>(),
            self.unanswered()
                .iter()
                .map(|(_, n, ok)| ok - n)
                .sum::<usize>(),
            self.claimed_twice.len(),
        )
    }

    /// What holds under any fault: nothing acknowledged lost, one run per message, no reply
    /// doubled, every succeeded run's reply delivered, no message claimed by two actions.
    pub fn assert_exactly_once(&self) {
        assert!(
            self.lost.is_empty(),
            "acknowledged but not stored: {:?}",
            self.lost
        );
        assert!(
            self.runs_off.is_empty(),
            "messages without exactly one {PLUGIN} run: {:?}",
            self.runs_off
        );
        let doubled = self.doubled();
        assert!(
            doubled.is_empty(),
            "replies doubled (chat, replies, asked): {doubled:?}"
        );
        assert!(
            self.claimed_twice.is_empty(),
            "a reconciliation took another run's reply as its own, so its customer got no reply:\n{}",
            self.claimed_twice.join("\n")
        );
        let missing = self.unanswered();
        assert!(
            missing.is_empty(),
            "succeeded runs without their reply (chat, replies, succeeded): {missing:?}"
        );
    }
}

/// Every run's ledger entries (through the admin API's run detail).
fn ledger(service: &Service, runs: &[RunSummary]) -> Vec<LedgerEntry> {
    runs.iter()
        .flat_map(|r| run_detail(service, r.run_id.0).ledger)
        .collect()
}

/// A run with its attempts and ledger, from the admin API.
pub fn run_detail(service: &Service, id: i64) -> RunDetail {
    let url = format!("{}runs/{id}", service.api);
    let response = service.http.get(&url).send().expect("admin API");
    response.json().expect("run detail")
}

fn runs_off(
    posted: &[Posted],
    stored: &BTreeMap<String, i64>,
    census: &Census,
) -> Vec<(String, usize)> {
    let per_event = census.runs_per_event();
    posted
        .iter()
        .filter_map(|p| Some((p, stored.get(&p.message_id)?)))
        .map(|(p, event)| {
            (
                p.message_id.clone(),
                per_event.get(event).map_or(0, Vec::len),
            )
        })
        .filter(|(_, runs)| *runs != 1)
        .collect()
}

/// Keyword messages per chat whose auto-reply run succeeded.
fn answered_per_chat(
    posted: &[Posted],
    stored: &BTreeMap<String, i64>,
    census: &Census,
) -> BTreeMap<i64, usize> {
    let per_event = census.runs_per_event();
    let mut per_chat = BTreeMap::new();
    for p in posted.iter().filter(|p| p.keyword) {
        let runs = stored.get(&p.message_id).and_then(|e| per_event.get(e));
        if runs.is_some_and(|runs| runs.iter().any(|r| r.status == RunStatus::Succeeded)) {
            *per_chat.entry(p.chat_id).or_default() += 1;
        }
    }
    per_chat
}

/// Messages recorded as the effect of more than one ledger entry, with who claims them.
fn claimed_twice(ledger: &[LedgerEntry]) -> Vec<String> {
    let mut claims: BTreeMap<&str, Vec<&LedgerEntry>> = BTreeMap::new();
    for entry in ledger {
        if let Some(effect) = entry.effect_id.as_deref() {
            claims.entry(effect).or_default().push(entry);
        }
    }
    claims
        .into_iter()
        .filter(|(_, entries)| entries.len() > 1)
        .map(|(effect, entries)| {
            let who: Vec<String> = entries
                .iter()
                .map(|e| {
                    format!(
                        "run {} seq {} ({:?})",
                        e.intent.run_id.0, e.intent.seq, e.decision
                    )
                })
                .collect();
            format!("message {effect} claimed by {}", who.join(" and "))
        })
        .collect()
}

/// Keyword messages per chat, from the store: stored customer messages carrying the keyword
/// (read from the store, not from what the load thread has noted so far, which may lag). Lists
/// carry no payloads, so each message event's detail is read.
pub fn keyword_per_chat(world: &World, service: &Service, census: &Census) -> BTreeMap<i64, usize> {
    let mut known = world.keywords.lock().expect("keyword cache");
    let mut per_chat = BTreeMap::new();
    for event in &census.events {
        let keyword = *known.entry(event.id.0).or_insert_with(|| {
            event.dedupe_key.starts_with("radist:messages.create:")
                && event_payload(service, event.id.0).contains(KEYWORD_TEXT)
        });
        if let Some(chat) = event.chat_id.filter(|_| keyword) {
            *per_chat.entry(chat).or_default() += 1;
        }
    }
    per_chat
}

/// The stored payload of one event, from its detail view.
fn event_payload(service: &Service, id: i64) -> String {
    let detail: EventDetail = admin_get(service, &format!("events/{id}"));
    detail.event.event.payload
}

/// `GET /api/{path}`, which must succeed, as `T`.
fn admin_get<T: DeserializeOwned>(service: &Service, path: &str) -> T {
    let url = format!("{}{path}", service.api);
    let response = service.http.get(&url).send().expect("admin API");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response
        .json()
        .unwrap_or_else(|e| panic!("{url}: not the expected JSON: {e}"))
}

/// Polls `probe` until it returns `Ok`, within `bound` (a bound on a condition, not a timing
/// assertion); on time-out the panic names `what` and shows the probe's last `Err` (what it saw).
pub fn wait<T>(bound: Duration, what: &str, mut probe: impl FnMut() -> Result<T, String>) -> T {
    crate::support::cluster::wait_for(bound, || {
        probe().map_err(|seen| format!("{what}; last seen: {seen}"))
    })
}

/// Waits until the sandbox has no delivery pending and the store no unfinished run.
pub fn settle(world: &World, service: &Service, bound: Duration) -> Census {
    wait(bound, "no delivery pending and no run unfinished", || {
        let pending = world.pending_deliveries();
        let census = Census::take(service);
        if pending == 0 && census.unfinished() == 0 {
            return Ok(census);
        }
        let unfinished: Vec<&RunSummary> = census
            .runs
            .iter()
            .filter(|r| r.status.is_unfinished())
            .take(5)
            .collect();
        Err(format!(
            "{pending} deliveries pending; unfinished runs (first 5): {unfinished:?}"
        ))
    })
}

/// Clears every fault.
pub fn calm(world: &World) {
    world.faults(&Faults::default());
}

/// Sends in flight: a latency on every send (so a kill lands mid-request) and a few sends
/// whose answers are lost after Radist processed them.
pub fn slow_sends(rng: &mut StdRng) -> Faults {
    Faults {
        latency_ms: Some(rng.random_range(50..=400)),
        drop_response: Some(radist_sandbox::CountFault {
            count: rng.random_range(1..=6),
        }),
        paths: Some(vec!["/messages/".to_owned()]),
        ..Faults::default()
    }
}
