//! Messaging operations: chat sources, chats, sending (validated first), file upload,
//! availability, WABA templates, dialog counters and `mark_answered`.

use std::path::Path;

use bytes::Bytes;
use reqwest::Method;

use super::RadistClient;
use super::query::DialogsCounter;
use crate::error::RadistError;
use crate::models::{
    Chat, ChatAvailability, ChatId, ChatSource, ConnectionId, CreateChatRequest,
    CreateChatResponse, MessageSentResponse, MessagingFileLinkResponse, SendMessageRequest,
    WabaTemplateMessageOut,
};
use crate::validate::validate_send;

/// The API's upload cap: 100 MB (100 × 1024 × 1024 bytes).
pub const UPLOAD_LIMIT_BYTES: u64 = 100 * 1024 * 1024;

impl RadistClient {
    /// `GET …/messaging/chats/sources/`: connections chats can be created in.
    pub async fn chat_sources(&self) -> Result<Vec<ChatSource>, RadistError> {
        self.fetch(self.company_call("chat_sources", Method::GET, "messaging/chats/sources/"))
            .await
    }

    /// `POST …/messaging/chats/`: finds or creates a chat (idempotent).
    pub async fn create_chat(
        &self,
        request: &CreateChatRequest,
    ) -> Result<CreateChatResponse, RadistError> {
        let what = format!("connection {}", request.connection_id);
        let call = self
            .company_call("create_chat", Method::POST, "messaging/chats/")
            .what(what);
        self.fetch(call.json(request)?).await
    }

    /// `GET …/messaging/chats/{connection_id}/{chat_id}`.
    pub async fn get_chat(
        &self,
        connection: ConnectionId,
        chat: ChatId,
    ) -> Result<Chat, RadistError> {
        let call = self
            .company_call(
                "get_chat",
                Method::GET,
                &format!("messaging/chats/{connection}/{chat}"),
            )
            .what(chat_name(connection, chat));
        self.fetch(call).await
    }

    /// `POST …/messaging/messages/`, after the outgoing validators passed.
    ///
    /// Returns [`RadistError::Invalid`] without any HTTP request when they find problems.
    pub async fn send_message(
        &self,
        request: &SendMessageRequest,
    ) -> Result<MessageSentResponse, RadistError> {
        let violations = validate_send(request, &self.inner.validation);
        if !violations.is_empty() {
            return Err(RadistError::Invalid(violations));
        }
        let what = format!("chat {}", request.chat_id);
        let call = self
            .company_call("send_message", Method::POST, "messaging/messages/")
            .what(what)
            .not_idempotent();
        self.fetch(call.json(request)?).await
    }

    /// `POST …/messaging/files/`: uploads a file and returns the URL to send.
    ///
    /// Files over [`UPLOAD_LIMIT_BYTES`] fail with [`RadistError::TooLarge`] before sending.
    pub async fn upload_file(
        &self,
        name: &str,
        mime: &str,
        bytes: Bytes,
    ) -> Result<MessagingFileLinkResponse, RadistError> {
        check_size(bytes.len() as u64)?;
        let call = self
            .company_call("upload_file", Method::POST, "messaging/files/")
            .file(name, mime, bytes)?;
        self.fetch(call).await
    }

    /// Uploads a local file; its size is checked from metadata before it is read.
    /// The MIME type is guessed from the extension.
    pub async fn upload_file_path(
        &self,
        path: &Path,
    ) -> Result<MessagingFileLinkResponse, RadistError> {
        let file_error = |source| RadistError::File {
            path: path.to_owned(),
            source,
        };
        let metadata = tokio::fs::metadata(path).await.map_err(file_error)?;
        check_size(metadata.len())?;
        let bytes = tokio::fs::read(path).await.map_err(file_error)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        self.upload_file(&name, guess_mime(path), Bytes::from(bytes))
            .await
    }

    /// `GET …/messaging/chats/{connection_id}/{chat_id}/availability` (WABA only).
    pub async fn chat_availability(
        &self,
        connection: ConnectionId,
        chat: ChatId,
    ) -> Result<ChatAvailability, RadistError> {
        let rest = format!("messaging/chats/{connection}/{chat}/availability");
        let call = self
            .company_call("chat_availability", Method::GET, &rest)
            .what(chat_name(connection, chat));
        self.fetch(call).await
    }

    /// `GET …/messaging/waba_templates/?connection_id=&only_approved=`.
    pub async fn waba_templates(
        &self,
        connection: ConnectionId,
        only_approved: bool,
    ) -> Result<Vec<WabaTemplateMessageOut>, RadistError> {
        let call = self
            .company_call("waba_templates", Method::GET, "messaging/waba_templates/")
            .query("connection_id", connection)
            .query("only_approved", only_approved)
            .what(format!("waba connection {connection}"));
        self.fetch(call).await
    }

    /// `GET …/messaging/dialogs/counters/`: estimated remaining WABA dialogs.
    pub async fn dialogs_counters(&self) -> Result<Vec<DialogsCounter>, RadistError> {
        let call = self.company_call(
            "dialogs_counters",
            Method::GET,
            "messaging/dialogs/counters/",
        );
        self.fetch(call).await
    }

    /// `POST …/messaging/chats/mark_answered/{connection_id}/{chat_id}` (202).
    pub async fn mark_answered(
        &self,
        connection: ConnectionId,
        chat: ChatId,
    ) -> Result<(), RadistError> {
        let rest = format!("messaging/chats/mark_answered/{connection}/{chat}");
        let call = self
            .company_call("mark_answered", Method::POST, &rest)
            .what(chat_name(connection, chat));
        self.fetch_empty(call).await
    }
}

fn chat_name(connection: ConnectionId, chat: ChatId) -> String {
    format!("chat {chat} on connection {connection}")
}

fn check_size(size: u64) -> Result<(), RadistError> {
    if size > UPLOAD_LIMIT_BYTES {
        return Err(RadistError::TooLarge {
            size,
            limit: UPLOAD_LIMIT_BYTES,
        });
    }
    Ok(())
}

/// The MIME type of a file to upload, from its extension (any case); `application/octet-stream`
/// when the extension is unknown.
fn guess_mime(path: &Path) -> &'static str {
    mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_cap_is_inclusive() {
        assert!(check_size(UPLOAD_LIMIT_BYTES).is_ok());
        let err = check_size(UPLOAD_LIMIT_BYTES + 1).unwrap_err();
        assert!(
            matches!(err, RadistError::TooLarge { size, .. } if size == UPLOAD_LIMIT_BYTES + 1)
        );
    }

    #[test]
    fn mime_from_extension() {
        assert_eq!(guess_mime(Path::new("/tmp/A.PDF")), "application/pdf");
        assert_eq!(guess_mime(Path::new("photo.jpeg")), "image/jpeg");
        assert_eq!(guess_mime(Path::new("voice.ogg")), "audio/ogg");
        assert_eq!(
            guess_mime(Path::new("offer.docx")),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert_eq!(guess_mime(Path::new("noext")), "application/octet-stream");
    }
}
