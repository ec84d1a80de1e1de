//! `crm-writer`: the reliability suite's CRM plugin (not an example). For every customer
//! message it makes each kind of CRM write once: creates a contact `lead {message_id}` (with a
//! phone derived from the message id), adds the note `message {message_id}` to the customer's
//! contact, and tags both contacts `lead`. The suite kills the service while these writes are in
//! flight and then counts: one contact per message, one note per message, tag sets `["lead"]`.

use switchboard_plugin::crm::{contacts, notes, tags};
use switchboard_plugin::{Event, Plugin, RunInfo};

struct CrmWriter;

impl Plugin for CrmWriter {
    fn handle(event: Event, _run: RunInfo) -> Result<(), String> {
        let Some(msg) = event.received() else {
            return Ok(());
        };
        let Some(customer) = msg.contact_id else {
            return Ok(());
        };
        let id = &msg.message.message_id;
        let lead = contacts::NewContact::named(format!("lead {id}")).phone(phone_of(id));
        let lead = contacts::create(&lead)?;
        notes::add(customer, &format!("message {id}"))?;
        tags::add(customer, &["lead"])?;
        tags::add(lead.id, &["lead"])?;
        Ok(())
    }
}

switchboard_plugin::export!(CrmWriter);

/// `+1` and ten digits from an FNV-1a hash of `id`: the same for the same message.
fn phone_of(id: &str) -> String {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("+1{:010}", hash % 10_000_000_000)
}
