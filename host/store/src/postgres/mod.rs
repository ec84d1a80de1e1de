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

mod announce;
mod counts;
mod dispatch;
mod fail;
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
mod store_impl;

use crate::error::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_postgres::NoTls;

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
}

impl PostgresConfig {
    /// Defaults for `url`: 16 pooled connections, a 10 s connect timeout.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: url.into(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &redact(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// The PostgreSQL implementation of [`Store`](crate::Store). Share it as `Arc<dyn Store>`; the
/// listening task stops when it is dropped.
pub struct PostgresStore {
    pool: Pool,
    notify: Arc<Notify>,
    target: String,
    announcer: announce::Announcer,
    _listener: listen::Listener,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects, migrates the schema to the latest version and starts listening for work
    /// notifications. Fails with `Open` when the URL is malformed or the server unreachable.
    pub async fn connect(config: PostgresConfig) -> Result<PostgresStore, StoreError> {
        let target = redact(&config.url);
        let pg: tokio_postgres::Config = config.url.parse().map_err(|e| StoreError::Open {
            path: target.clone(),
            reason: format!("not a postgres url: {e}"),
        })?;
        let pool = build_pool(pg.clone(), &config, &target)?;
        let mut client = pool.get().await.map_err(|e| StoreError::Open {
            path: target.clone(),
            reason: e.to_string(),
        })?;
        schema::migrate(&mut client).await?;
        drop(client);
        let notify = Arc::new(Notify::new());
        let listener = listen::Listener::start(pg.clone(), Arc::clone(&notify), &target).await?;
        Ok(PostgresStore {
            pool,
            notify,
            target,
            announcer: announce::Announcer::start(pg),
            _listener: listener,
        })
    }

    /// The schema version of the connected database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        Ok(schema::version(&client).await?)
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

    /// Wakes this process's dispatchers at once, and the other nodes' through the announcer.
    fn wake_local(&self) {
        self.notify.notify_waiters();
        self.notify.notify_one();
        self.announcer.announce();
    }
}

fn build_pool(
    pg: tokio_postgres::Config,
    config: &PostgresConfig,
    target: &str,
) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        pg,
        NoTls,
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

/// `host:port/database` of a connection string, never its password.
fn redact(url: &str) -> String {
    let Ok(pg) = url.parse::<tokio_postgres::Config>() else {
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
                Err(e) => Err(e),
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
