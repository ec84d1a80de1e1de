//! Which node fires a schedule when several nodes share one database.
//!
//! Every node plans every schedule, but only one tries its slots: the schedule's owner, chosen
//! by rendezvous hashing of the schedule key over the live nodes' ids (the highest
//! `switchboard_schedule::owner_score` wins). Every node computes the same owner from the same
//! lease table, a node joining or leaving moves only the schedules it wins or held, and the
//! nodes that do not own a slot pay no transaction for it. The unique (schedule, slot) key in the store still makes a
//! double fire impossible; ownership only spares the losers the work.
//!
//! An owner that is live but stuck must not hold its schedules back for a whole lease: a slot
//! still unhandled [`TAKEOVER_GRACE`] after it was due is fired by whichever node sees it,
//! after one read of the schedule's last handled slot.

use switchboard_schedule::owner_score;

/// How long after its due time a slot waits for its owner before any node fires it.
pub const TAKEOVER_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

/// This node and the live nodes it shares the schedules with.
#[derive(Debug, Clone)]
pub struct SlotOwner {
    node: String,
    live: Vec<String>,
}

impl SlotOwner {
    /// `node` alone owns every schedule until [`SlotOwner::set_live`] says who else is live.
    pub fn new(node: String) -> Self {
        SlotOwner {
            live: vec![node.clone()],
            node,
        }
    }

    /// The live nodes, from the lease table; this node counts as live whatever the table says
    /// (a node that lost its lease stops on its own), so an empty or stale list never leaves a
    /// schedule without an owner.
    pub fn set_live(&mut self, mut live: Vec<String>) {
        if !live.contains(&self.node) {
            live.push(self.node.clone());
        }
        live.sort();
        live.dedup();
        self.live = live;
    }

    /// Whether this node owns `schedule_key`.
    pub fn owns(&self, schedule_key: &str) -> bool {
        let winner = self
            .live
            .iter()
            .max_by_key(|node| (owner_score(node, schedule_key), node.as_str()));
        winner.is_none_or(|w| *w == self.node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        (0..1000)
            .map(|i| format!("storm-{i:05}:0 0 9 * * *@UTC"))
            .collect()
    }

    fn nodes(names: &[&str]) -> Vec<SlotOwner> {
        let live: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        live.iter()
            .map(|n| {
                let mut owner = SlotOwner::new(n.clone());
                owner.set_live(live.clone());
                owner
            })
            .collect()
    }

    #[test]
    fn each_schedule_has_exactly_one_owner_and_the_load_is_spread() {
        let nodes = nodes(&["node-a", "node-b", "node-c"]);
        let mut per_node = vec![0usize; nodes.len()];
        for key in keys() {
            let owners: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].owns(&key)).collect();
            assert_eq!(owners.len(), 1, "{key}: {owners:?}");
            per_node[owners[0]] += 1;
        }
        assert!(per_node.iter().all(|&n| n > 250), "{per_node:?}");
    }

    #[test]
    fn a_node_leaving_moves_only_the_schedules_it_owned() {
        let three = nodes(&["node-a", "node-b", "node-c"]);
        let two = nodes(&["node-a", "node-b"]);
        for key in keys() {
            for i in 0..2 {
                if three[i].owns(&key) {
                    assert!(
                        two[i].owns(&key),
                        "{key} moved away from a node that stayed"
                    );
                }
            }
        }
    }

    #[test]
    fn a_node_missing_from_the_lease_table_still_owns_its_share() {
        let mut alone = SlotOwner::new("node-a".into());
        assert!(keys().iter().all(|k| alone.owns(k)), "alone, it owns all");
        alone.set_live(vec!["node-b".into()]);
        assert!(keys().iter().any(|k| alone.owns(k)));
        assert!(!keys().iter().all(|k| alone.owns(k)));
    }
}
