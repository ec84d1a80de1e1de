//! A throwaway PostgreSQL 15 server for `--store postgres`: the store's
//! `switchboard_store::pg_test_server` with PostgreSQL's default durability (`fsync = on`,
//! `synchronous_commit = on`, full page writes), since its figures are meant to be compared, and
//! one database for the service. It is stopped and removed when the harness exits, however it
//! exits (the test server's watchdog).
//!
//! It also reads what PostgreSQL costs: the CPU time of the postmaster and every backend
//! (`/proc`), transactions committed, WAL bytes written and rows written.

use anyhow::Context;
use serde::Serialize;
use switchboard_store::pg_test_server::PgTestServer;

use crate::machine;

/// The service's database.
pub const DATABASE: &str = "switchboard_bench";

/// A running server.
pub struct PgServer {
    server: PgTestServer,
}

/// PostgreSQL's cumulative counters at one instant.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PgCounters {
    /// Transactions committed in the service's database (`pg_stat_database`; the statistics
    /// collector publishes a busy backend's counts about once a second).
    pub commits: u64,
    /// WAL bytes written since the server started (`pg_current_wal_lsn`).
    pub wal_bytes: u64,
    /// Rows inserted, updated and deleted in the service's tables (`pg_stat_user_tables`).
    pub rows_written: u64,
    /// The service's database on disk (`pg_database_size`); in a difference, its growth.
    pub db_bytes: u64,
}

impl PgCounters {
    /// What happened between `before` and `self`.
    pub fn since(self, before: PgCounters) -> PgCounters {
        PgCounters {
            commits: self.commits.saturating_sub(before.commits),
            wal_bytes: self.wal_bytes.saturating_sub(before.wal_bytes),
            rows_written: self.rows_written.saturating_sub(before.rows_written),
            db_bytes: self.db_bytes.saturating_sub(before.db_bytes),
        }
    }
}

impl PgServer {
    /// Initialises and starts a server and creates [`DATABASE`].
    pub async fn start() -> anyhow::Result<PgServer> {
        let server = tokio::task::spawn_blocking(PgTestServer::start_durable)
            .await
            .context("the PostgreSQL start-up task failed")?
            .map_err(anyhow::Error::msg)?;
        let server = PgServer { server };
        server.create_database().await?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        self.server.url(database)
    }

    async fn client(&self, database: &str) -> anyhow::Result<tokio_postgres::Client> {
        let url = self.url(database);
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .with_context(|| {
                format!(
                    "cannot connect to PostgreSQL on port {}",
                    self.server.port()
                )
            })?;
        tokio::spawn(connection);
        Ok(client)
    }

    async fn create_database(&self) -> anyhow::Result<()> {
        let client = self.client("postgres").await?;
        client
            .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
            .await
            .context("cannot create the benchmark database")
    }

    /// The counters now.
    pub async fn counters(&self) -> anyhow::Result<PgCounters> {
        let client = self.client(DATABASE).await?;
        let row = client
            .query_one(
                "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
                        pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,
                        (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint
                           FROM pg_stat_user_tables),
                        pg_database_size(current_database())",
                &[],
            )
            .await
            .context("cannot read PostgreSQL's statistics")?;
        let count = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or(0);
        Ok(PgCounters {
            commits: count(0),
            wal_bytes: count(1),
            rows_written: count(2),
            db_bytes: count(3),
        })
    }

    /// CPU time of the postmaster and its processes: its own, that of the children it has
    /// reaped, and that of every live child (the backends serving the nodes' pools).
    pub fn cpu_time(&self, ticks: u64) -> Option<std::time::Duration> {
        let pid_file = std::fs::read_to_string(self.server.data().join("postmaster.pid")).ok()?;
        let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
        let own = machine::cpu_time_with_reaped(pid, ticks)?;
        let children: std::time::Duration = machine::children(pid)
            .into_iter()
            .filter_map(|c| machine::cpu_time(c, ticks))
            .sum();
        Some(own + children)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_server_starts_counts_its_work_and_is_removed_when_dropped() {
        let server = PgServer::start()
            .await
            .expect("PostgreSQL 15 must start here");
        let dir = server.server.dir().to_path_buf();
        let before = server.counters().await.expect("counters");
        let client = server.client(DATABASE).await.expect("connect");
        client
            .batch_execute(
                "CREATE TABLE t (id bigint PRIMARY KEY, body text);
                 INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g;",
            )
            .await
            .expect("write");
        let after = server.counters().await.expect("counters").since(before);
        assert!(after.wal_bytes > 100_000, "{after:?}");
        assert!(after.db_bytes > 0, "{after:?}");
        let cpu = server.cpu_time(machine::ticks_per_second());
        assert!(
            cpu.is_some_and(|c| c > std::time::Duration::ZERO),
            "{cpu:?}"
        );
        drop(client);
        drop(server);
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }
}
