//! Group commit for the writes every run makes: its event's `ingest`, its `finish` and the
//! ledger's intents, deferred records and decisions. Alone, each is a transaction and a WAL
//! flush of its own (about five commits per run with a send); here, writes that arrive while a
//! group is being committed wait for the next group and commit together, so under load a run
//! costs a fraction of a commit while a lone write still commits at once (no batching window).
//! A group's ingests and finishes also share their statements (one per table for all of them,
//! [`runs`]), so a group of 30 costs the server about as many statements as one.
//!
//! Two committers ([`COMMITTERS`]) take groups from one queue, so one group fills while the
//! other commits. A write is answered only after its group committed, so an answered
//! write is as durable as before. When any write of a group fails (a zombie's refused `finish`,
//! a deadlock with another node's group), the group is rolled back and each of its writes runs
//! again alone, in its own transaction with the usual retries: one write's failure never
//! becomes another's.

use std::sync::Arc;

use deadpool_postgres::Pool;
use futures::future::{try_join, try_join_all};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::fail::{Fail, Res};
use super::{RETRIES, dispatch, intake, lanes, ledger};
use crate::error::StoreError;
use crate::ids::RunId;
use crate::model::dispatch::{FinishedAttempt, Next};
use crate::model::intake::{Ingested, NewEvent, NewRun};
use crate::model::ledger::{LedgerBegin, LedgerIntent, LedgerRecord};

/// The most writes committed in one transaction.
const MAX_GROUP: usize = 128;
/// A group takes no more writes once its events' payloads pass this many bytes: a webhook body
/// may be large (`[webhook] max_body_bytes`), and a group's payloads travel as one array
/// parameter, so this bounds that message and what a failed group sends again.
const MAX_GROUP_BYTES: usize = 8 << 20;
/// Groups committed at once, each on its own pooled connection. Two, so that one group collects
/// the writes that arrive while the other commits: with more, idle committers take each write
/// as it comes and groups stay single.
const COMMITTERS: usize = 2;
/// Writes waiting for a group; a caller past it waits for room.
const QUEUE: usize = 4096;

/// One write that may share a transaction with others.
pub(crate) enum Write {
    Finish {
        run: RunId,
        attempt: FinishedAttempt,
        next: Next,
        ledger: Vec<LedgerRecord>,
    },
    Begin {
        earlier: Vec<LedgerRecord>,
        intent: LedgerIntent,
    },
    Record(Vec<LedgerRecord>),
    Decide {
        run: RunId,
        seq: u32,
        decision: String,
    },
    Ingest {
        event: NewEvent,
        runs: Vec<NewRun>,
    },
}

impl Write {
    /// The write as a finish for [`runs`].
    fn finishing(&self) -> Option<dispatch::Finishing<'_>> {
        match self {
            Write::Finish {
                run,
                attempt,
                next,
                ledger,
            } => Some(dispatch::Finishing {
                run: *run,
                attempt,
                next,
                ledger,
            }),
            _ => None,
        }
    }

    /// The write as an ingest for [`runs`].
    fn ingesting(&self) -> Option<intake::Ingesting<'_>> {
        match self {
            Write::Ingest { event, runs } => Some(intake::Ingesting { event, runs }),
            _ => None,
        }
    }

    /// The bytes of event payload the write carries.
    fn bytes(&self) -> usize {
        match self {
            Write::Ingest { event, .. } => event.payload.len(),
            _ => 0,
        }
    }
}

/// What a write answers.
pub(crate) enum Done {
    Unit,
    Begin(LedgerBegin),
    Ingested(Ingested),
}

struct Job {
    write: Write,
    reply: oneshot::Sender<Result<Done, StoreError>>,
}

/// The queue of writes and the committers that empty it.
pub(crate) struct Group {
    queue: mpsc::Sender<Job>,
}

impl Group {
    /// Starts the committers on `pool`.
    pub(crate) fn start(pool: Pool) -> Group {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..COMMITTERS {
            tokio::spawn(commit_groups(pool.clone(), Arc::clone(&jobs)));
        }
        Group { queue }
    }

    /// Commits `write` with whatever else is waiting; answers once it is durable.
    pub(crate) async fn write(&self, write: Write) -> Result<Done, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable {
            reason: "the store's group committer has stopped".into(),
        };
        self.queue
            .send(Job { write, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// One committer: takes every waiting write (up to [`MAX_GROUP`] writes and about
/// [`MAX_GROUP_BYTES`] of payloads) and commits them together.
async fn commit_groups(pool: Pool, jobs: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let group = {
            let mut jobs = jobs.lock().await;
            let Some(first) = jobs.recv().await else {
                return;
            };
            let mut bytes = first.write.bytes();
            let mut group = vec![first];
            while group.len() < MAX_GROUP && bytes < MAX_GROUP_BYTES {
                match jobs.try_recv() {
                    Ok(job) => {
                        bytes = bytes.saturating_add(job.write.bytes());
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            group
        };
        commit(&pool, group).await;
    }
}

/// Commits the group in one transaction, or, when that fails, each write alone.
async fn commit(pool: &Pool, group: Vec<Job>) {
    if group.len() > 1
        && let Ok(done) = together(pool, &group).await
    {
        for (job, done) in group.into_iter().zip(done) {
            let _ = job.reply.send(Ok(done));
        }
        return;
    }
    for job in group {
        let done = alone(pool, &job.write).await;
        let _ = job.reply.send(done);
    }
}

/// Every write of the group in one transaction. Ingests and finishes share their statements (one
/// per table for all of them: [`intake::store_events`], [`dispatch::finish_locked`]) and take
/// all their lanes' locks in one sorted statement, after the events (as a lone ingest does), so
/// two groups never wait on each other in a circle. The ledger's writes run beside them, each
/// with its own statements, all pipelined on the connection (they are independent: a caller
/// waits for each of its writes before the next). The first failure rolls all of them back.
async fn together(pool: &Pool, group: &[Job]) -> Res<Vec<Done>> {
    let mut client = pool.get().await.map_err(unavailable)?;
    let tx = client.transaction().await?;
    let finishes: Vec<_> = group.iter().filter_map(|j| j.write.finishing()).collect();
    let ingests: Vec<_> = group.iter().filter_map(|j| j.write.ingesting()).collect();
    let others = group
        .iter()
        .filter(|job| !matches!(job.write, Write::Finish { .. } | Write::Ingest { .. }))
        .map(|job| apply(&tx, &job.write));
    let done = try_join(runs(&tx, &finishes, &ingests), try_join_all(others))
        .await
        .map(|(ingested, others)| {
            let mut ingested = ingested.into_iter();
            let mut others = others.into_iter();
            group
                .iter()
                .map(|job| match job.write {
                    Write::Finish { .. } => Done::Unit,
                    Write::Ingest { .. } => ingested.next().map_or(Done::Unit, Done::Ingested),
                    _ => others.next().unwrap_or(Done::Unit),
                })
                .collect()
        });
    settle(tx, done).await
}

/// The finishes and ingests of a group, or the one of a lone write: the writes that move runs
/// and lanes. The events first, then every lane's lock in one sorted statement, then the runs'
/// rows, then one refresh of the finished runs' lanes and the new lanes.
async fn runs(
    tx: &deadpool_postgres::Transaction<'_>,
    finishes: &[dispatch::Finishing<'_>],
    ingests: &[intake::Ingesting<'_>],
) -> Res<Vec<Ingested>> {
    let (finishing, stored) = try_join(
        dispatch::finish_lanes(tx, finishes),
        intake::store_events(tx, ingests),
    )
    .await?;
    let mut touched: Vec<&str> = finishing.iter().map(String::as_str).collect();
    touched.extend(intake::lanes_of(ingests, &stored));
    let new = lanes::lock(tx, &touched).await?;
    let ((), ingested) = try_join(
        dispatch::finish_locked(tx, finishes),
        intake::queue_stored(tx, ingests, &stored),
    )
    .await?;
    // Finished runs may move their lanes' heads; appended runs only set the heads of new lanes.
    let mut refresh: Vec<&str> = finishing.iter().map(String::as_str).collect();
    refresh.extend(new);
    lanes::refresh(tx, &refresh).await?;
    Ok(ingested)
}

/// Commits `tx` when `out` is a success; otherwise rolls it back before anyone is answered: a
/// dropped transaction only queues its ROLLBACK, and until it runs its row locks would hide
/// lanes from other claims.
async fn settle<T>(tx: deadpool_postgres::Transaction<'_>, out: Res<T>) -> Res<T> {
    match out {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// One write in its own transaction, run again on a deadlock or serialization failure.
async fn alone(pool: &Pool, write: &Write) -> Result<Done, StoreError> {
    let mut tries = 0;
    loop {
        let out: Res<Done> = async {
            let mut client = pool.get().await.map_err(unavailable)?;
            let tx = client.transaction().await?;
            let done = apply(&tx, write).await;
            settle(tx, done).await
        }
        .await;
        match out {
            Ok(done) => return Ok(done),
            Err(e) if e.is_retryable() && tries < RETRIES => tries += 1,
            Err(e) => return Err(StoreError::from(e)),
        }
    }
}

async fn apply(tx: &deadpool_postgres::Transaction<'_>, write: &Write) -> Res<Done> {
    match write {
        Write::Finish { .. } | Write::Ingest { .. } => {
            let finishes: Vec<_> = write.finishing().into_iter().collect();
            let ingests: Vec<_> = write.ingesting().into_iter().collect();
            let ingested = runs(tx, &finishes, &ingests).await?;
            Ok(ingested
                .into_iter()
                .next()
                .map_or(Done::Unit, Done::Ingested))
        }
        Write::Begin { earlier, intent } => {
            ledger::record(tx, earlier).await?;
            Ok(Done::Begin(ledger::begin(tx, intent).await?))
        }
        Write::Record(records) => {
            ledger::record(tx, records).await?;
            Ok(Done::Unit)
        }
        Write::Decide { run, seq, decision } => {
            ledger::decide(tx, *run, *seq, decision).await?;
            Ok(Done::Unit)
        }
    }
}

fn unavailable(e: deadpool_postgres::PoolError) -> Fail {
    Fail::from(StoreError::Unavailable {
        reason: format!("no postgresql connection: {e}"),
    })
}
