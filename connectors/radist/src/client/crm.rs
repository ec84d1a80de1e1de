//! CRM operations (`openapi-crm.json`): `/users/me`, contact update/chats/social profiles, the
//! contact's tag set, company tags, notes and quick replies.
//!
//! Retry classes: reads, `PUT`s, `PATCH`es and `DELETE`s are repeatable (repeating them leaves
//! the same state); the `POST`s that create (tag, note, quick reply) are `not_idempotent`, so
//! an ambiguous failure surfaces to the caller, who reconciles by reading back.

use reqwest::Method;

use super::RadistClient;
use super::query::page_size;
use super::request::Call;
use crate::error::RadistError;
use crate::models::{
    ChatOut, ConnectionId, ContactId, ContactNoteCreateRequest, ContactNoteUpdateRequest,
    ContactOut, ContactTagsOut, ContactUpdateRequest, MessageTemplateCreateRequest,
    MessageTemplateOut, MessageTemplateUpdateRequest, NoteId, NoteOut, QuickReplyId,
    SocialProfileOut, TagId, TagIn, TagOut, UpdateTag, User,
};

impl RadistClient {
    /// `GET /users/me`: who the key acts as and its permissions (not company-scoped).
    pub async fn current_user(&self) -> Result<User, RadistError> {
        self.fetch(Call::new("current_user", Method::GET, "users/me".into()))
            .await
    }

    /// `PATCH …/contacts/{contact_id}` (repeatable: the same body leaves the same contact).
    pub async fn update_contact(
        &self,
        id: ContactId,
        request: &ContactUpdateRequest,
    ) -> Result<ContactOut, RadistError> {
        let call = self.contact_call("update_contact", Method::PATCH, id, "");
        self.fetch(call.json(request)?).await
    }

    /// `GET …/contacts/{contact_id}/chats/`.
    pub async fn contact_chats(&self, id: ContactId) -> Result<Vec<ChatOut>, RadistError> {
        let call = self.contact_call("contact_chats", Method::GET, id, "/chats/");
        self.fetch(call).await
    }

    /// `GET …/contacts/{contact_id}/social_profiles/`.
    pub async fn contact_social_profiles(
        &self,
        id: ContactId,
    ) -> Result<Vec<SocialProfileOut>, RadistError> {
        let call = self.contact_call(
            "contact_social_profiles",
            Method::GET,
            id,
            "/social_profiles/",
        );
        self.fetch(call).await
    }

    /// `PUT …/contacts/{contact_id}/tags/`: **replaces** the contact's whole tag set with
    /// `tags` (repeatable: the same set twice is the same state). Returns the stored pairs.
    pub async fn set_contact_tags(
        &self,
        id: ContactId,
        tags: &[TagId],
    ) -> Result<Vec<ContactTagsOut>, RadistError> {
        let call = self.contact_call("set_contact_tags", Method::PUT, id, "/tags/");
        self.fetch(call.json(&tags)?).await
    }

    /// `GET …/tags/` (`limit` clamped to 1..=100).
    pub async fn list_tags(&self, limit: u32, offset: u32) -> Result<Vec<TagOut>, RadistError> {
        let call = self
            .company_call("list_tags", Method::GET, "tags/")
            .query("offset", offset)
            .query("limit", page_size(limit));
        self.fetch(call).await
    }

    /// `POST …/tags/`: not retried after an ambiguous failure (list the tags to reconcile).
    pub async fn create_tag(&self, tag: &TagIn) -> Result<TagOut, RadistError> {
        let call = self
            .company_call("create_tag", Method::POST, "tags/")
            .what(format!("tag `{}`", tag.name))
            .not_idempotent();
        self.fetch(call.json(tag)?).await
    }

    /// `GET …/tags/{tag_id}`.
    pub async fn get_tag(&self, id: TagId) -> Result<TagOut, RadistError> {
        let call = self.tag_call("get_tag", Method::GET, id);
        self.fetch(call).await
    }

    /// `PUT …/tags/{tag_id}`: replaces name, description and colour.
    pub async fn update_tag(&self, id: TagId, tag: &UpdateTag) -> Result<TagOut, RadistError> {
        let call = self.tag_call("update_tag", Method::PUT, id);
        self.fetch(call.json(tag)?).await
    }

    /// `GET …/contacts/{contact_id}/notes/`: every note of the contact.
    pub async fn list_notes(&self, id: ContactId) -> Result<Vec<NoteOut>, RadistError> {
        let call = self.contact_call("list_notes", Method::GET, id, "/notes/");
        self.fetch(call).await
    }

    /// `POST …/contacts/{contact_id}/notes/`: not retried after an ambiguous failure (list
    /// the notes to reconcile).
    pub async fn create_note(
        &self,
        id: ContactId,
        note: &ContactNoteCreateRequest,
    ) -> Result<NoteOut, RadistError> {
        let call = self
            .contact_call("create_note", Method::POST, id, "/notes/")
            .not_idempotent();
        self.fetch(call.json(note)?).await
    }

    /// `GET …/contacts/{contact_id}/notes/{note_id}`.
    pub async fn get_note(&self, id: ContactId, note: NoteId) -> Result<NoteOut, RadistError> {
        let call = self.note_call("get_note", Method::GET, id, note);
        self.fetch(call).await
    }

    /// `PATCH …/contacts/{contact_id}/notes/{note_id}`.
    pub async fn update_note(
        &self,
        id: ContactId,
        note: NoteId,
        request: &ContactNoteUpdateRequest,
    ) -> Result<NoteOut, RadistError> {
        let call = self.note_call("update_note", Method::PATCH, id, note);
        self.fetch(call.json(request)?).await
    }

    /// `DELETE …/contacts/{contact_id}/notes/{note_id}` (204).
    pub async fn delete_note(&self, id: ContactId, note: NoteId) -> Result<(), RadistError> {
        let call = self.note_call("delete_note", Method::DELETE, id, note);
        self.fetch_empty(call).await
    }

    /// `GET …/messaging/templates/`: the company's quick replies.
    pub async fn list_quick_replies(&self) -> Result<Vec<MessageTemplateOut>, RadistError> {
        self.fetch(self.company_call("list_quick_replies", Method::GET, "messaging/templates/"))
            .await
    }

    /// `POST …/messaging/templates/`: not retried after an ambiguous failure.
    pub async fn create_quick_reply(
        &self,
        request: &MessageTemplateCreateRequest,
    ) -> Result<MessageTemplateOut, RadistError> {
        let call = self
            .company_call("create_quick_reply", Method::POST, "messaging/templates/")
            .not_idempotent();
        self.fetch(call.json(request)?).await
    }

    /// `PATCH …/messaging/templates/{template_id}`.
    pub async fn update_quick_reply(
        &self,
        id: QuickReplyId,
        request: &MessageTemplateUpdateRequest,
    ) -> Result<MessageTemplateOut, RadistError> {
        let call = self.quick_reply_call("update_quick_reply", Method::PATCH, id);
        self.fetch(call.json(request)?).await
    }

    /// `DELETE …/messaging/templates/{template_id}` (204).
    pub async fn delete_quick_reply(&self, id: QuickReplyId) -> Result<(), RadistError> {
        let call = self.quick_reply_call("delete_quick_reply", Method::DELETE, id);
        self.fetch_empty(call).await
    }

    /// `POST …/messaging/chats/mark_answered/{connection_id}`: every chat of the connection
    /// answered (202; repeatable).
    pub async fn mark_connection_answered(
        &self,
        connection: ConnectionId,
    ) -> Result<(), RadistError> {
        let rest = format!("messaging/chats/mark_answered/{connection}");
        let call = self
            .company_call("mark_connection_answered", Method::POST, &rest)
            .what(format!("connection {connection}"));
        self.fetch_empty(call).await
    }

    /// A call on `…/contacts/{id}{rest}`, named after the contact in errors.
    pub(super) fn contact_call(
        &self,
        name: &'static str,
        method: Method,
        id: ContactId,
        rest: &str,
    ) -> Call {
        self.company_call(name, method, &format!("contacts/{id}{rest}"))
            .what(contact(id))
    }

    /// A call on `…/tags/{id}`, named after the tag in errors.
    fn tag_call(&self, name: &'static str, method: Method, id: TagId) -> Call {
        self.company_call(name, method, &format!("tags/{id}"))
            .what(format!("tag {id}"))
    }

    /// A call on `…/messaging/templates/{id}`, named after the quick reply in errors.
    fn quick_reply_call(&self, name: &'static str, method: Method, id: QuickReplyId) -> Call {
        self.company_call(name, method, &format!("messaging/templates/{id}"))
            .what(format!("quick reply {id}"))
    }

    /// A call on `…/contacts/{id}/notes/{note}`, named after the note in errors.
    fn note_call(&self, name: &'static str, method: Method, id: ContactId, note: NoteId) -> Call {
        self.company_call(name, method, &format!("contacts/{id}/notes/{note}"))
            .what(note_name(id, note))
    }
}

fn contact(id: ContactId) -> String {
    format!("contact {id}")
}

fn note_name(id: ContactId, note: NoteId) -> String {
    format!("note {note} of contact {id}")
}
