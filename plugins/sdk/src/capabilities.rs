//! Thin wrappers over the smaller capability interfaces: `clock`, `chats`, `availability`,
//! `templates` and `files`.
//!
//! Each is its own module so a plugin names what it uses (`chats::create`,
//! `availability::check`); only the ones it calls become imports of its component.

/// Time (`clock` interface, always granted). A run has one instant: the first read of any clock
/// (this, `std::time::SystemTime` or `Instant`) takes it and the host records it once; every
/// later read returns the same instant, so replays see the first attempt's time. It does not
/// advance within a run.
pub mod clock {
    use crate::Datetime;

    /// The run's instant (UTC), the same for every read in the run.
    pub fn now() -> Datetime {
        crate::bindings::switchboard::plugin::clock::now()
    }
}

/// Creating chats (`chats` interface, granted by `capabilities.chats`).
pub mod chats {
    use crate::bindings::switchboard::plugin::chats as wit;
    use crate::{ConnectionId, ContactId, Error};

    pub use wit::{ChatRef, ChatTarget, CreateChatRequest};

    /// Opens (or finds) a chat; returns the existing chat when there is one.
    pub fn create(req: &CreateChatRequest) -> Result<ChatRef, Error> {
        wit::create_chat(req)
    }

    impl CreateChatRequest {
        /// A chat with `target` on `connection_id`, not bound to a contact.
        pub fn new(connection_id: ConnectionId, target: ChatTarget) -> Self {
            Self {
                connection_id,
                target,
                contact_id: None,
                name: None,
            }
        }

        /// A chat with an existing Radist contact.
        pub fn with_contact(connection_id: ConnectionId, contact_id: ContactId) -> Self {
            Self::new(connection_id, ChatTarget::Contact(contact_id))
        }

        /// A chat with a phone number (digits, with or without `+`).
        pub fn with_phone(connection_id: ConnectionId, phone: impl Into<String>) -> Self {
            Self::new(connection_id, ChatTarget::Phone(phone.into()))
        }

        /// Binds the new chat to `contact_id`.
        pub fn bind_contact(mut self, contact_id: ContactId) -> Self {
            self.contact_id = Some(contact_id);
            self
        }

        /// Names the new contact.
        pub fn name(mut self, name: impl Into<String>) -> Self {
            self.name = Some(name.into());
            self
        }
    }
}

/// The WABA 24-hour window (`availability` interface, granted by `capabilities.availability`).
pub mod availability {
    use crate::bindings::switchboard::plugin::availability as wit;
    use crate::{ChatId, ConnectionId, Error};

    pub use wit::Availability;

    /// Whether a free-form message can be sent to the chat now.
    pub fn check(connection_id: ConnectionId, chat_id: ChatId) -> Result<Availability, Error> {
        wit::check(connection_id, chat_id)
    }
}

/// Approved WABA templates (`templates` interface, granted by `capabilities.templates`).
pub mod templates {
    use crate::bindings::switchboard::plugin::templates as wit;
    use crate::{ConnectionId, Error};

    pub use wit::WabaTemplate;

    /// The approved templates of a WABA connection.
    pub fn list(connection_id: ConnectionId) -> Result<Vec<WabaTemplate>, Error> {
        wit::list(connection_id)
    }
}

/// Uploading files for media messages (`files` interface, granted by `capabilities.files`).
pub mod files {
    use crate::Error;

    /// Uploads `data`; returns the URL to put in a [`crate::messages::MediaMessage`].
    pub fn upload(name: &str, mime: &str, data: &[u8]) -> Result<String, Error> {
        crate::bindings::switchboard::plugin::files::upload(name, mime, data)
    }
}
