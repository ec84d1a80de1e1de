//! Paged reads as streams: the `with_contacts` inbox (opaque cursor) and a chat's messages
//! (newest first, paged by `until`). Both stop on a server that repeats itself: a cursor seen
//! before ends the inbox, a page without new message ids ends the messages.
//!
//! Whether Radist's `until` is inclusive is unknown (API.md), so the next page asks for
//! messages before the oldest `created_at` seen plus one microsecond and drops the ones already
//! yielded: messages sharing that timestamp are not skipped on either reading (as long as fewer
//! than a page share it).

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::Method;

use super::RadistClient;
use super::query::{ChatsQuery, MAX_PAGE_SIZE, MessagesQuery, page_size};
use crate::error::RadistError;
use crate::models::{
    ChatId, ContactId, ContactWithChats, ContactsWithChatsResponse, Message, MessageId, time,
};

impl RadistClient {
    /// One page of `GET …/messaging/chats/with_contacts/`; `cursor` from the previous page's
    /// `response_metadata.next_cursor` (`None` or `""` for the first page).
    pub async fn chats_with_contacts_page(
        &self,
        query: &ChatsQuery,
        cursor: Option<&str>,
    ) -> Result<ContactsWithChatsResponse, RadistError> {
        let call = self
            .company_call(
                "chats_with_contacts",
                Method::GET,
                "messaging/chats/with_contacts/",
            )
            .query("limit", page_size(query.limit))
            .query_opt("query", query.query.as_deref().filter(|q| !q.is_empty()))
            .query_opt("contact_id", query.contact_id)
            .query_opt("cursor", cursor.filter(|c| !c.is_empty()));
        self.fetch(call).await
    }

    /// Every inbox entry, following `next_cursor` until it is empty. Entries are yielded in
    /// server order, each contact once.
    pub fn chats_with_contacts(
        &self,
        query: ChatsQuery,
    ) -> impl Stream<Item = Result<ContactWithChats, RadistError>> + Send + 'static {
        let client = self.clone();
        async_stream::try_stream! {
            let mut pager = CursorPager::default();
            let mut cursor: Option<String> = None;
            loop {
                let page = client.chats_with_contacts_page(&query, cursor.as_deref()).await?;
                for entry in pager.fresh(page.data) {
                    yield entry;
                }
                match pager.next_cursor(page.response_metadata.next()) {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
    }

    /// One page of `GET …/messaging/messages/` (newest first), created before `until`.
    pub async fn messages_page(
        &self,
        chat: ChatId,
        limit: u32,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<Message>, RadistError> {
        let call = self
            .company_call("messages", Method::GET, "messaging/messages/")
            .query("chat_id", chat)
            .query("limit", page_size(limit))
            .query_opt("until", until.as_ref().map(time::format))
            .what(format!("chat {chat}"));
        self.fetch(call).await
    }

    /// The newest `count` messages of a chat, newest first (all of them when it has fewer),
    /// in pages of up to 100. What reconciling a send of unknown outcome reads back: an
    /// outbound message matching the request, created after the intent, was delivered.
    pub async fn latest_messages(
        &self,
        chat: ChatId,
        count: usize,
    ) -> Result<Vec<Message>, RadistError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let page = u32::try_from(count).unwrap_or(MAX_PAGE_SIZE);
        let query = MessagesQuery {
            page_size: page.min(MAX_PAGE_SIZE),
            until: None,
        };
        self.messages(chat, query).take(count).try_collect().await
    }

    /// Every message of a chat, newest first, each once. The next page starts just after the
    /// oldest `created_at` seen (see the module doc); the stream ends on a short page or a page
    /// with nothing new.
    pub fn messages(
        &self,
        chat: ChatId,
        query: MessagesQuery,
    ) -> impl Stream<Item = Result<Message, RadistError>> + Send + 'static {
        let client = self.clone();
        async_stream::try_stream! {
            let mut pager = MessagePager::new(page_size(query.page_size), query.until);
            while let Some(until) = pager.next_request() {
                let page = client.messages_page(chat, pager.limit, until).await?;
                for message in pager.accept(page) {
                    yield message;
                }
            }
        }
    }
}

/// Cursor bookkeeping for the inbox: no contact twice, no cursor twice.
#[derive(Debug, Default)]
struct CursorPager {
    contacts: HashSet<ContactId>,
    cursors: HashSet<String>,
}

impl CursorPager {
    /// The entries whose contact was not yielded yet.
    fn fresh(&mut self, data: Vec<ContactWithChats>) -> Vec<ContactWithChats> {
        data.into_iter()
            .filter(|entry| self.contacts.insert(entry.contact_id))
            .collect()
    }

    /// The cursor to request next, or `None` at the end or when the server repeats a cursor.
    fn next_cursor(&mut self, next: Option<&str>) -> Option<String> {
        let next = next?;
        if !self.cursors.insert(next.to_owned()) {
            tracing::warn!("radist repeated a with_contacts cursor; stopping the listing");
            return None;
        }
        Some(next.to_owned())
    }
}

/// `until` bookkeeping for messages.
#[derive(Debug)]
struct MessagePager {
    limit: u32,
    /// `Some(until)` = the next request; `None` = finished.
    next: Option<Option<DateTime<Utc>>>,
    seen: HashSet<MessageId>,
}

impl MessagePager {
    fn new(limit: u32, until: Option<DateTime<Utc>>) -> Self {
        Self {
            limit,
            next: Some(until),
            seen: HashSet::new(),
        }
    }

    /// The `until` of the next request, `None` when finished.
    fn next_request(&self) -> Option<Option<DateTime<Utc>>> {
        self.next
    }

    /// Takes a page: returns its unseen messages and decides whether to go on.
    fn accept(&mut self, page: Vec<Message>) -> Vec<Message> {
        let full = page.len() >= self.limit as usize;
        let oldest = page.iter().map(|m| m.created_at).min();
        let fresh: Vec<Message> = page
            .into_iter()
            .filter(|m| self.seen.insert(m.message_id))
            .collect();
        self.next = match oldest {
            Some(oldest) if full && !fresh.is_empty() => Some(Some(just_after(oldest))),
            _ => None,
        };
        if full && fresh.is_empty() {
            tracing::warn!("radist returned a page of already-seen messages; stopping");
        }
        fresh
    }
}

/// One microsecond (the API's timestamp resolution) after `at`.
fn just_after(at: DateTime<Utc>) -> DateTime<Utc> {
    at.checked_add_signed(TimeDelta::microseconds(1))
        .unwrap_or(at)
}

#[cfg(test)]
#[path = "paging_tests.rs"]
mod tests;
