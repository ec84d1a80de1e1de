//! The CRM half of Radist: [`contacts`], [`tags`], [`notes`], [`history`], [`inbox`] and
//! [`quick_replies`] (WIT `switchboard:plugin@0.2.1`). Each is its own manifest grant; reading
//! and writing are granted separately, and a plugin reaches only contacts with a chat on a
//! granted connection, the event's own contact, and contacts it created in the run.
//!
//! Every write goes through the host's action ledger: a retried run never adds a note twice,
//! never creates a contact twice, and adding or removing tags converges on the set a person may
//! have changed in between.
//!
//! ```no_run
//! use switchboard_plugin::crm::{contacts, inbox, notes, tags};
//! use switchboard_plugin::MessageEvent;
//!
//! fn welcome(msg: &MessageEvent) -> Result<(), switchboard_plugin::Error> {
//!     let contact = contacts::for_event(msg)?;
//!     if let Some(contact) = contact {
//!         tags::add(contact.id, &["lead"])?;
//!         notes::add(contact.id, "asked for a price")?;
//!     }
//!     inbox::mark_answered_for(msg)
//! }
//! # fn main() {}
//! ```

/// Contacts (`contacts` interface, granted by `capabilities.contacts`).
pub mod contacts {
    use crate::bindings::switchboard::plugin::contacts as wit;
    use crate::{ContactId, Error, MessageEvent};

    pub use wit::{Contact, ContactChat, ContactUpdate, Lookup, NewContact};

    /// The contact `id`, or `None` when it does not exist or is outside the grant.
    pub fn get(id: ContactId) -> Result<Option<Contact>, Error> {
        Ok(wit::find(&Lookup::Id(id))?.into_iter().next())
    }

    /// Contacts with the phone `phone` (10 to 16 characters, e.g. `+79001234567`).
    pub fn find_by_phone(phone: &str) -> Result<Vec<Contact>, Error> {
        wit::find(&Lookup::Phone(phone.to_owned()))
    }

    /// Contacts whose name, phone or e-mail matches `text` (1 to 128 characters).
    pub fn search(text: &str) -> Result<Vec<Contact>, Error> {
        wit::find(&Lookup::Text(text.to_owned()))
    }

    /// The contact of a message event: by its `contact_id`, else by the chat's phone.
    pub fn for_event(msg: &MessageEvent) -> Result<Option<Contact>, Error> {
        if let Some(id) = msg.contact_id {
            return get(id);
        }
        match msg.chat.phone.as_deref() {
            Some(phone) => Ok(find_by_phone(phone)?.into_iter().next()),
            None => Ok(None),
        }
    }

    /// Creates a contact. After an ambiguous failure the host searches for it (by its first
    /// phone) before creating it again, so a retry never makes a second one.
    pub fn create(contact: &NewContact) -> Result<Contact, Error> {
        wit::create(contact)
    }

    /// The first contact with `phone`, or a new one named `name` with that phone.
    pub fn find_or_create(name: &str, phone: &str) -> Result<Contact, Error> {
        if let Some(found) = find_by_phone(phone)?.into_iter().next() {
            return Ok(found);
        }
        create(&NewContact::named(name).phone(phone))
    }

    /// Changes the fields `change` sets; the others stay.
    pub fn update(id: ContactId, change: &ContactUpdate) -> Result<Contact, Error> {
        wit::update(id, change)
    }

    impl NewContact {
        /// A contact with only a name (1 to 256 characters).
        pub fn named(name: impl Into<String>) -> Self {
            Self {
                name: name.into(),
                phones: Vec::new(),
                emails: Vec::new(),
            }
        }

        /// Adds a phone (10 to 16 characters).
        pub fn phone(mut self, phone: impl Into<String>) -> Self {
            self.phones.push(phone.into());
            self
        }

        /// Adds an e-mail.
        pub fn email(mut self, email: impl Into<String>) -> Self {
            self.emails.push(email.into());
            self
        }
    }

    impl ContactUpdate {
        /// A change that changes nothing yet.
        pub fn new() -> Self {
            Self {
                name: None,
                phones: None,
                emails: None,
            }
        }

        /// Renames the contact.
        pub fn name(mut self, name: impl Into<String>) -> Self {
            self.name = Some(name.into());
            self
        }

        /// Replaces the contact's phones.
        pub fn phones(mut self, phones: Vec<String>) -> Self {
            self.phones = Some(phones);
            self
        }

        /// Replaces the contact's e-mails.
        pub fn emails(mut self, emails: Vec<String>) -> Self {
            self.emails = Some(emails);
            self
        }
    }

    impl Default for ContactUpdate {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Contact {
        /// Whether the contact carries the tag `name`.
        pub fn has_tag(&self, name: &str) -> bool {
            self.tags.iter().any(|t| t == name)
        }
    }
}

/// Company tags and a contact's tags (`tags` interface, granted by `capabilities.tags`; only
/// the names in its `allow` list may be added or removed).
pub mod tags {
    use crate::bindings::switchboard::plugin::tags as wit;
    use crate::{ContactId, Error};

    pub use wit::Tag;

    /// Every company tag.
    pub fn list() -> Result<Vec<Tag>, Error> {
        wit::list()
    }

    /// Adds `names` to the contact (creating missing tags with `create_missing = true`);
    /// answers the contact's resulting tag names. Tags a person added stay.
    pub fn add(contact: ContactId, names: &[&str]) -> Result<Vec<String>, Error> {
        wit::add(contact, &owned(names))
    }

    /// Removes `names` from the contact; answers its resulting tag names.
    pub fn remove(contact: ContactId, names: &[&str]) -> Result<Vec<String>, Error> {
        wit::remove(contact, &owned(names))
    }

    fn owned(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }
}

/// Notes for the people who answer (`notes` interface, granted by `capabilities.notes`, with
/// `max_chars` and `per_minute` bounds).
pub mod notes {
    use crate::bindings::switchboard::plugin::notes as wit;
    use crate::{ContactId, Error};

    pub use wit::Note;

    /// The contact's notes, oldest first.
    pub fn list(contact: ContactId) -> Result<Vec<Note>, Error> {
        wit::list(contact)
    }

    /// Adds a note; never twice for one action, even after an ambiguous failure.
    pub fn add(contact: ContactId, text: &str) -> Result<Note, Error> {
        wit::add(contact, text)
    }

    /// `text` cut to at most `max_chars` characters (on a character boundary), for a note
    /// built from outside data.
    pub fn clip(text: &str, max_chars: usize) -> String {
        text.chars().take(max_chars).collect()
    }
}

/// A chat's past messages and summary (`history` interface, granted by `capabilities.history`;
/// one run reads at most its `max_messages`).
pub mod history {
    use crate::bindings::switchboard::plugin::history as wit;
    use crate::{ChatId, ConnectionId, Datetime, Error, Message, MessageEvent};

    pub use wit::{ChatSummary, Page};

    /// Up to `limit` (1 to 100) messages created before `before` (or the newest), newest
    /// first; pass the page's `next_before` to read further back.
    pub fn messages(
        connection: ConnectionId,
        chat: ChatId,
        before: Option<Datetime>,
        limit: u32,
    ) -> Result<Page, Error> {
        wit::messages(connection, chat, before, limit)
    }

    /// The newest `limit` messages of the event's chat, newest first.
    pub fn recent(msg: &MessageEvent, limit: u32) -> Result<Vec<Message>, Error> {
        Ok(messages(msg.connection_id, msg.chat_id, None, limit)?.messages)
    }

    /// The chat's name, unanswered count and last message.
    pub fn summary(connection: ConnectionId, chat: ChatId) -> Result<ChatSummary, Error> {
        wit::summary(connection, chat)
    }
}

/// The operators' inbox (`inbox` interface, granted by `capabilities.inbox`).
pub mod inbox {
    use crate::bindings::switchboard::plugin::inbox as wit;
    use crate::{ChatId, ConnectionId, Error, MessageEvent};

    /// Clears the chat's unanswered count.
    pub fn mark_answered(connection: ConnectionId, chat: ChatId) -> Result<(), Error> {
        wit::mark_answered(connection, chat)
    }

    /// Marks the event's chat answered.
    pub fn mark_answered_for(msg: &MessageEvent) -> Result<(), Error> {
        mark_answered(msg.connection_id, msg.chat_id)
    }
}

/// The company's quick replies (`quick-replies` interface, granted by
/// `capabilities.quick_replies = true`; read only).
pub mod quick_replies {
    use crate::Error;
    use crate::bindings::switchboard::plugin::quick_replies as wit;

    pub use wit::QuickReply;

    /// Every quick reply of the company.
    pub fn list() -> Result<Vec<QuickReply>, Error> {
        wit::list()
    }

    /// The quick reply named `name` (exact), if any.
    pub fn find(name: &str) -> Result<Option<QuickReply>, Error> {
        Ok(list()?.into_iter().find(|r| r.name == name))
    }
}
