//! The reliability suite's CRM kill points: the `crm-writer` test plugin (one contact create,
//! one note and two tag writes per customer message) under slowed and answer-losing CRM
//! writes, and the count of what must hold after any number of SIGKILLs: one `lead {id}`
//! contact and one `message {id}` note per message, every tag set exactly `["lead"]`.

use std::collections::BTreeMap;

use radist_sandbox::control::{CrmSeed, CrmSnapshot, Inbound};
use radist_sandbox::{CountFault, Faults, TagSeed};
use rand::Rng;
use rand::rngs::StdRng;
use switchboard_testing::repo_root;

use crate::world::World;

/// Customers (phones on the WhatsApp connection 70002) the CRM messages come from.
const CUSTOMERS: u32 = 4;

/// One customer message: its Radist id and the customer's contact.
#[derive(Debug, Clone)]
pub struct CrmPosted {
    pub message_id: String,
    pub contact_id: i64,
}

/// A manifests directory with only `crm-writer`, granted contacts, tags and notes on 70002.
pub fn manifests() -> tempfile::TempDir {
    let wasm = repo_root().join("plugins/target/wasm32-wasip2/release/crm_writer.wasm");
    let manifest = format!(
        "manifest_version = 1\n[plugin]\nname = \"crm-writer\"\nwasm = {wasm:?}\n\
         [[trigger]]\non = [\"message.received\"]\nconnections = [70002]\n\
         [capabilities]\ncontacts = {{ write = true, connections = [70002] }}\n\
         tags = {{ write = true, connections = [70002], allow = [\"lead\"] }}\n\
         notes = {{ write = true, connections = [70002] }}\n\
         [limits]\nmemory_mib = 16\ntimeout_ms = 10000\nmax_attempts = 10\n"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("crm-writer.toml"), manifest).expect("write manifest");
    dir
}

/// The company tag `lead` (tags are not created by the plugin: only assigned).
pub fn seed(world: &World) {
    let seed = CrmSeed {
        tags: vec![TagSeed {
            name: "lead".to_owned(),
            description: String::new(),
            background_color: "#eeeeee".to_owned(),
        }],
        ..CrmSeed::default()
    };
    world
        .rt
        .block_on(world.control.seed_crm(&seed))
        .expect("seed the lead tag");
}

/// CRM writes in flight: a latency on every contact, note and tag request (so a kill lands
/// mid-request) and a few writes whose answers are lost after Radist made them.
pub fn slow_writes(rng: &mut StdRng) -> Faults {
    Faults {
        latency_ms: Some(rng.random_range(100..=300)),
        drop_response: Some(CountFault {
            count: rng.random_range(1..=4),
        }),
        paths: Some(vec!["/contacts/".to_owned()]),
        ..Faults::default()
    }
}

/// Posts `count` customer messages.
pub fn post(world: &World, rng: &mut StdRng, count: usize) -> Vec<CrmPosted> {
    (0..count)
        .map(|_| {
            let customer = rng.random_range(0..CUSTOMERS);
            let inbound = Inbound::from_phone(70002, &format!("7906{customer:07}"), "order?");
            let receipt = world.rt.block_on(world.control.inbound(&inbound));
            let receipt = receipt.expect("the sandbox takes an inbound message");
            CrmPosted {
                message_id: receipt.message_id.to_string(),
                contact_id: receipt.contact_id,
            }
        })
        .collect()
}

/// Every note the sandbox holds.
pub fn notes(world: &World) -> usize {
    snapshot(world).contacts.iter().map(|c| c.notes.len()).sum()
}

fn snapshot(world: &World) -> CrmSnapshot {
    world
        .rt
        .block_on(world.control.crm())
        .expect("the sandbox's crm state")
}

/// Per message: one `lead {id}` contact tagged `lead`, one `message {id}` note on the
/// customer; every customer tagged exactly `lead`. Returns (contacts, notes) counted.
pub fn assert_converged(world: &World, posted: &[CrmPosted]) -> (usize, usize) {
    let crm = snapshot(world);
    let by_id: BTreeMap<i64, _> = crm.contacts.iter().map(|c| (c.id, c)).collect();
    let mut problems = Vec::new();
    for one in posted {
        let leads: Vec<_> = crm
            .contacts
            .iter()
            .filter(|c| c.name == format!("lead {}", one.message_id))
            .collect();
        if leads.len() != 1 || leads[0].tags != ["lead"] {
            problems.push(format!(
                "message {}: lead contacts {leads:?}",
                one.message_id
            ));
        }
        let customer = by_id.get(&one.contact_id).expect("the customer's contact");
        let text = format!("message {}", one.message_id);
        let notes = customer.notes.iter().filter(|n| **n == text).count();
        if notes != 1 || customer.tags != ["lead"] {
            problems.push(format!(
                "message {}: {notes} notes, tags {:?}",
                one.message_id, customer.tags
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "crm writes did not converge: {problems:#?}"
    );
    let leads = crm
        .contacts
        .iter()
        .filter(|c| c.name.starts_with("lead "))
        .count();
    (leads, notes(world))
}
