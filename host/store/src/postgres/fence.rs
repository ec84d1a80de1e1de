//! The fence: whether a node's lease lets it claim runs. Asked by every claim and read by the
//! lease SQL of `nodes.rs`.

use super::fail::{Res, rows};
use deadpool_postgres::Transaction;

/// A node without a live lease at `$1` (microseconds).
pub(crate) const EXPIRED: &str = "(n.left_at IS NOT NULL OR n.lease_until <= $1)";

/// True when `node` holds a lease that has expired (or that it left), or that another process
/// (`holder`) holds: such a node claims nothing until it heartbeats again, so a node cut off from
/// the database for a whole lease fences itself, and a process whose node id was taken over
/// claims nothing beside the new holder. A node that never heartbeat (a single node, a tool) is
/// not fenced.
pub(crate) async fn fenced(
    tx: &Transaction<'_>,
    node: &str,
    holder: &str,
    now_us: i64,
) -> Res<bool> {
    let found = rows(
        tx,
        &format!(
            "SELECT 1 FROM nodes n WHERE n.node = $2
                 AND ({EXPIRED} OR (n.holder <> '' AND n.holder <> $3))"
        ),
        &[&now_us, &node, &holder],
    )
    .await?;
    Ok(!found.is_empty())
}
