//! The PostgreSQL backend: [`PostgresStore`] serves the [`Store`](crate::Store) trait from a
//! pool of tokio-postgres connections, one transaction per trait call.
//!
//! Concurrency comes from PostgreSQL, not from a single writer: claiming locks lane rows with
//! `FOR UPDATE SKIP LOCKED`; dedupe, the action ledger and cron slots rely on unique keys
//! (`INSERT .. ON CONFLICT DO NOTHING`), so several nodes can share one database without a
//! leader. After a transaction that may have added or released work commits, the store wakes its
//! own dispatchers and asks the announcer (see `announce`) to `NOTIFY switchboard_work` from a
//! connection of its own — never inside the work transaction, where PostgreSQL would serialize
//! every commit behind the notification queue's lock; a dedicated listening connection (see
//! `listen`) turns the other nodes' notifications into wake-ups of [`Store::work_notify`].
//! While the database is young, the store analyses its busy tables itself (see `stats`), so the
//! plans its pooled connections cached over near-empty tables do not outlive them.

mod announce;
mod counts;
mod dispatch;
mod fail;
mod fence;
mod group;
mod history;
mod intake;
mod kv;
mod lanes;
mod ledger;
mod listen;
mod nodes;
mod ops;
mod schedule;
mod schema;
mod stats;
mod store_impl;
mod tls;
mod views;
mod words;

use crate::error::StoreError;
use crate::model::ops::Durability;
use chrono::{DateTime, TimeDelta, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// The channel work notifications are sent on.
pub(crate) const CHANNEL: &str = "switchboard_work";

/// How many times a transaction that hit a deadlock or serialization failure is run again.
const RETRIES: u32 = 8;

/// Where and how to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database` (or a `key=value` connection string).
    pub url: String,
    /// Pooled connections, besides the one that listens for work notifications. At least 1.
    pub pool_size: usize,
    /// How long opening one connection (or waiting for a free one) may take.
    pub connect_timeout: Duration,
    /// `synchronous_commit` of the pooled connections (the work transactions).
    pub durability: Durability,
    /// Feed the payload word index in the background (see [`crate::indexer`]). Off, it is fed
    /// only by text filters that find too many events unindexed and by `index_words`.
    pub index_words: bool,
}

impl PostgresConfig {
    /// Defaults for `url`: 16 pooled connections, a 10 s connect timeout, the word index fed in
    /// the background.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: url.into(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(10),
            durability: Durability::Full,
            index_words: true,
        }
    }
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &redact(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("durability", &self.durability)
            .field("index_words", &self.index_words)
            .finish()
    }
}

/// The PostgreSQL implementation of [`Store`](crate::Store). Share it as `Arc<dyn Store>`; the
/// listening task stops when it is dropped.
pub struct PostgresStore {
    pool: Pool,
    /// The database's clock minus this process's, in microseconds, as `clock` last measured it
    /// (0 until then): `claim` judges this node's own lease on the database's clock with it.
    clock_offset_us: AtomicI64,
    /// This instance's lease-holder token (one per process in practice): `take_lease` and
    /// `heartbeat` record it, and `claim` is refused when another holder took the node's lease.
    holder: String,
    notify: Arc<Notify>,
    target: String,
    announcer: announce::Announcer,
    /// Commits the ingests, `finish`es and ledger writes of concurrent runs together.
    group: group::Group,
    _listener: listen::Listener,
    /// The word indexer's noted point, shared by its passes.
    words: Arc<words::Progress>,
    /// Notified after ingests: wakes the background word indexer.
    words_wake: Arc<Notify>,
    _indexer: Option<crate::indexer::Background>,
    /// Analyses the busy tables while the database is young.
    statistics: stats::Statistics,
}

/// How far (microseconds) this machine's clock may be off the database's before `clock` warns.
const CLOCK_WARN_US: u64 = 2_000_000;

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// A token unique to this store instance: the process id, the time and 64 random bits (std's
/// per-process random hash seed), so two processes on two machines never share one.
fn holder_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut random = std::collections::hash_map::RandomState::new().build_hasher();
    random.write_u32(std::process::id());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos:x}-{:016x}", std::process::id(), random.finish())
}

impl PostgresStore {
    /// Connects, migrates the schema to the latest version and starts listening for work
    /// notifications. Fails with `Open` when the URL is malformed or the server unreachable.
    pub async fn connect(config: PostgresConfig) -> Result<PostgresStore, StoreError> {
        let target = redact(&config.url);
        let pg = tls::parse(&config.url).map_err(|e| StoreError::Open {
            path: target.clone(),
            reason: format!("not a usable postgres url: {e}"),
        })?;
        let pooled = tls::Endpoint {
            config: with_durability(pg.config.clone(), config.durability),
            ..pg.clone()
        };
        let pool = build_pool(pooled, &config, &target)?;
        let mut client = pool.get().await.map_err(|e| StoreError::Open {
            path: target.clone(),
            reason: tls::connect_failure(&pg, &e),
        })?;
        schema::migrate(&mut client).await?;
        drop(client);
        let notify = Arc::new(Notify::new());
        let listener = listen::Listener::start(pg.clone(), Arc::clone(&notify), &target).await?;
        let words = Arc::new(words::Progress::default());
        let words_wake = Arc::new(Notify::new());
        let indexer = config.index_words.then(|| {
            let (pool, words) = (pool.clone(), Arc::clone(&words));
            let pass = move || {
                let (pool, words) = (pool.clone(), Arc::clone(&words));
                async move { words::run_pass(&pool, &words, crate::indexer::BATCH).await }
            };
            crate::indexer::spawn(pass, Arc::clone(&words_wake), crate::indexer::SETTLE)
        });
        Ok(PostgresStore {
            group: group::Group::start(pool.clone()),
            pool,
            clock_offset_us: AtomicI64::new(0),
            holder: holder_token(),
            notify,
            target,
            announcer: announce::Announcer::start(pg),
            _listener: listener,
            words,
            words_wake,
            _indexer: indexer,
            statistics: stats::Statistics::new(),
        })
    }

    /// The schema version of the connected database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        Ok(schema::version(&client).await?)
    }

    /// `synchronous_commit` of the pooled connections: what `durability` chose.
    pub async fn synchronous_commit(&self) -> Result<String, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .map_err(|e| StoreError::from(fail::Fail::from(e)))?;
        row.try_get(0)
            .map_err(|e| StoreError::from(fail::Fail::from(e)))
    }

    /// Where this store is connected: `host:port/database`, without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Unavailable {
            reason: format!("no postgresql connection: {e}"),
        })
    }

    /// Remembers how far the database's clock is from this process's (measured by `clock`), and
    /// warns when this machine's clock is more than [`CLOCK_WARN_US`] off (again only after it
    /// came back within it): leases are safe either way, schedules and logged times are not.
    fn measured_clock(&self, asked: DateTime<Utc>, database: DateTime<Utc>) {
        let offset = database
            .signed_duration_since(asked)
            .num_microseconds()
            .unwrap_or(0);
        let before = self.clock_offset_us.swap(offset, Ordering::Relaxed);
        let off = |us: i64| us.unsigned_abs() > CLOCK_WARN_US;
        if off(offset) && !off(before) {
            let (seconds, way) = (
                offset.unsigned_abs() as f64 / 1e6,
                if offset < 0 { "ahead of" } else { "behind" },
            );
            tracing::warn!(
                offset_s = offset as f64 / 1e6,
                "this machine's clock is {seconds:.1} s {way} the database's: leases are judged on the \
                 database's clock, so runs stay safe, but cron schedules and logged times follow this \
                 machine's; check its time synchronisation (NTP)"
            );
        }
    }

    /// A time of this process's clock on the database's clock (by the last measured offset).
    fn on_database_clock(&self, local: DateTime<Utc>) -> DateTime<Utc> {
        let offset = TimeDelta::microseconds(self.clock_offset_us.load(Ordering::Relaxed));
        local.checked_add_signed(offset).unwrap_or(local)
    }

    /// One batch of the word indexer.
    async fn index_pass(&self) -> Result<crate::indexer::WordIndexPass, StoreError> {
        words::run_pass(&self.pool, &self.words, crate::indexer::BATCH).await
    }

    /// Wakes this process's dispatchers at once, and the other nodes' through the announcer.
    fn wake_local(&self) {
        self.notify.notify_waiters();
        self.notify.notify_one();
        self.announcer.announce();
    }
}

fn build_pool(
    pg: tls::Endpoint,
    config: &PostgresConfig,
    target: &str,
) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        pg.config,
        pg.tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(config.pool_size.clamp(1, 1024))
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(config.connect_timeout))
        .wait_timeout(Some(config.connect_timeout))
        .build()
        .map_err(|e| StoreError::Open {
            path: target.to_owned(),
            reason: e.to_string(),
        })
}

/// `pg` with `synchronous_commit` set for every session it opens (after any `options` the URL
/// gave), so each work transaction commits as durably as asked.
fn with_durability(
    mut pg: tokio_postgres::Config,
    durability: Durability,
) -> tokio_postgres::Config {
    let setting = durability.postgres_synchronous_commit();
    let options = match pg.get_options() {
        Some(given) if !given.is_empty() => format!("{given} -c synchronous_commit={setting}"),
        _ => format!("-c synchronous_commit={setting}"),
    };
    pg.options(options);
    pg
}

/// `host:port/database` of a connection string, never its password.
fn redact(url: &str) -> String {
    let Ok(pg) = tls::without_tls_params(url).parse::<tokio_postgres::Config>() else {
        return "(unparsable postgres url)".to_owned();
    };
    let host = match pg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", pg.get_dbname().unwrap_or(""))
}

/// Runs `$body` (an expression using `&$tx`, giving a future of `Res<T>`) in one transaction on
/// a pooled connection and commits it; a deadlock or serialization failure runs it again.
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut tries = 0;
        loop {
            let mut client = $store.client().await?;
            let $tx = client
                .transaction()
                .await
                .map_err(|e| StoreError::from(Fail::from(e)))?;
            let out: Res<_> = $body.await;
            let out = match out {
                Ok(v) => $tx.commit().await.map(|()| v).map_err(Fail::from),
                // Rolled back before answering: a dropped transaction's ROLLBACK is only queued,
                // and its locks (a lane's) would outlive the answer, so a claim right after a
                // refused call could skip that lane.
                Err(e) => {
                    let _ = $tx.rollback().await;
                    Err(e)
                }
            };
            match out {
                Ok(v) => break Ok::<_, StoreError>(v),
                Err(e) if e.is_retryable() && tries < RETRIES => tries += 1,
                Err(e) => break Err(StoreError::from(e)),
            }
        }
    }};
}
pub(crate) use in_tx;

/// Like [`in_tx!`], in one read-only REPEATABLE READ snapshot (several statements that must
/// see the same state); until `$body` answers `Some`, a text filter finding the word index too
/// far behind, it runs a pass of the word indexer and tries again (for a bounded time).
macro_rules! in_snapshot_indexed {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let catch_up = $crate::indexer::CatchUp::start();
        loop {
            let mut client = $store.client().await?;
            let $tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(|e| StoreError::from(Fail::from(e)))?;
            let out: Option<_> = $body.await?;
            $tx.commit()
                .await
                .map_err(|e| StoreError::from(Fail::from(e)))?;
            if let Some(found) = out {
                break Ok::<_, StoreError>(found);
            }
            catch_up.check()?;
            $store.index_pass().await?;
        }
    }};
}
pub(crate) use in_snapshot_indexed;
