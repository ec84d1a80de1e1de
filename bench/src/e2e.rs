//! End-to-end latency: each acknowledged keyword webhook is paired with a reply the sandbox
//! received in the same chat. A chat's replies arrive in order (one lane per chat), so the
//! k-th expected webhook of a chat pairs with the chat's k-th reply; latency runs from the
//! webhook's due time to the moment the sandbox received the reply.

use std::collections::HashMap;

use hdrhistogram::Histogram;

use crate::load::{Expect, histogram};
use crate::radist::Reply;

/// The pairing of one phase's expected replies.
#[derive(Debug)]
pub struct Pairing {
    /// µs from due time to reply.
    pub latency: Histogram<u64>,
    pub matched: u64,
    pub missing: u64,
}

/// Pairs `phases` (expected replies per phase, in phase order) with every reply so far and
/// returns the pairing of the last phase.
pub fn pair_last(phases: &[Vec<Expect>], replies: &[Reply]) -> Pairing {
    let last = phases.len().saturating_sub(1);
    let mut expected: HashMap<i64, Vec<(i64, usize)>> = HashMap::new();
    for (phase, expects) in phases.iter().enumerate() {
        for e in expects {
            expected
                .entry(e.chat_id)
                .or_default()
                .push((e.due_us, phase));
        }
    }
    let mut received: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in replies {
        received.entry(r.chat_id).or_default().push(r.at_us);
    }
    let mut pairing = Pairing {
        latency: histogram(),
        matched: 0,
        missing: 0,
    };
    for (chat, mut dues) in expected {
        dues.sort_unstable();
        let mut got = received.remove(&chat).unwrap_or_default();
        got.sort_unstable();
        for (k, (due, phase)) in dues.into_iter().enumerate() {
            if phase != last {
                continue;
            }
            match got.get(k) {
                Some(at) => {
                    let us = u64::try_from(at - due).unwrap_or(0).max(1);
                    pairing.latency.saturating_record(us);
                    pairing.matched += 1;
                }
                None => pairing.missing += 1,
            }
        }
    }
    pairing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_pair_in_order_per_chat_and_only_the_last_phase_counts() {
        let e = |chat_id, due_us| Expect { chat_id, due_us };
        let r = |chat_id, at_us| Reply { chat_id, at_us };
        let phases = vec![
            vec![e(1, 100), e(2, 100)],
            vec![e(1, 1_000), e(2, 2_000), e(3, 5)],
        ];
        let replies = [r(1, 150), r(2, 300), r(1, 1_500), r(2, 2_010)];
        let pairing = pair_last(&phases, &replies);
        assert_eq!((pairing.matched, pairing.missing), (2, 1));
        assert_eq!(pairing.latency.max(), 500);
        assert_eq!(pairing.latency.min(), 10);
    }
}
