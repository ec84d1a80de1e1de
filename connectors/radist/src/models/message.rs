//! Read-side `Message` (messages list, `Chat.last_message`, send response, webhooks) with
//! every content type and enum.
//!
//! Missing and `null` keys mean the same. Serialization mirrors `GET /messaging/messages/`:
//! metadata keys are always written, content keys other than the filled one are omitted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{MessageId, SourceChatId};
use super::{de, time};

/// `Message`: one message as Radist stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub message_id: MessageId,
    pub source_message_id: Option<String>,
    /// Messenger-side chat id (equals `Chat.source_chat_id`), not the Radist integer id.
    pub chat_id: SourceChatId,
    pub direction: Direction,
    pub message_type: MessageType,
    pub author: Option<MessageAuthor>,
    #[serde(with = "time")]
    pub created_at: DateTime<Utc>,
    #[serde(default, with = "time::opt")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default, with = "time::opt")]
    pub read_at: Option<DateTime<Utc>>,
    #[serde(default, with = "time::opt")]
    pub error_at: Option<DateTime<Utc>>,
    pub error_type: Option<MessageErrorType>,
    pub error_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextMessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<MediaMessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<MediaMessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<MediaMessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<MediaMessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<MediaMessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_template: Option<WabaTemplateMessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_interactive: Option<WabaInteractiveMessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radist_order: Option<RadistOrderMessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_order: Option<WabaOrderMessageContent>,
    pub reply_to: Option<ReplyTo>,
}

/// `MessageAuthor`: operator or integration that sent an outbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageAuthor {
    pub id: String,
    pub name: String,
    pub external_id: String,
    pub user_id: Option<i64>,
    pub phone: Option<String>,
}

/// `ReplyTo`: the message this one answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyTo {
    pub source_message_id: Option<String>,
    pub message_id: Option<MessageId>,
}

/// `TextMessageContent` / `WabaTextMessageContent`: text, plus the product a WABA text refers to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextMessageContent {
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_referred_product: Option<WabaReferredProduct>,
}

/// `SingleFileMessageContent` / `Image…` / `Audio…` / `WabaAudio…` / `Video…` / `VoiceMessageContent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaMessageContent {
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub caption: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    pub url: Option<String>,
    /// Only on WABA audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_referred_product: Option<WabaReferredProduct>,
}

/// `WabaReferredProduct`: catalogue product a WABA message refers to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaReferredProduct {
    pub name: String,
    pub price: f64,
    pub image_url: Option<String>,
    pub retailer_id: String,
    pub url: Option<String>,
    pub description: Option<String>,
    pub currency: WabaOrderCurrency,
}

/// `WabaTemplateMessageContent`: a sent WABA template as rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateMessageContent {
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub text: String,
    pub template_locale: String,
    pub template_name: String,
    pub media_header: Option<WabaTemplateMessageMediaHeader>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub buttons: Vec<WabaTemplateMessageButton>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub carousel: Vec<WabaTemplateMessageMediaCarouselCard>,
}

/// A media header of a sent template: the spec writes the same object twice, for the
/// template's header and for a carousel card's, differing only in the formats allowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateMediaHeader<F> {
    pub format: F,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub file_name: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub file_size: i64,
    pub file_mime_type: Option<String>,
    pub file_url: Option<String>,
}

/// `WabaTemplateMessageMediaHeader`: media header of a sent template.
pub type WabaTemplateMessageMediaHeader = TemplateMediaHeader<MediaHeaderFormat>;

/// `WabaTemplateMessageButton`: button of a sent template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateMessageButton {
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub text: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub url: String,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub phone_number: String,
}

/// `WabaTemplateMessageMediaCarouselCard`: one card of a sent carousel template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateMessageMediaCarouselCard {
    pub header: WabaTemplateMessageCarouselHeader,
    pub body: WabaTemplateMessageCarouselBody,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub buttons: Vec<WabaTemplateMessageButton>,
}

/// `WabaTemplateMessageCarouselHeader`: media header of a carousel card.
pub type WabaTemplateMessageCarouselHeader = TemplateMediaHeader<CarouselHeaderFormat>;

/// `WabaTemplateMessageCarouselBody`: text of a carousel card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaTemplateMessageCarouselBody {
    pub text: String,
}

/// `WabaInteractiveMessageContent`: stored interactive message, WhatsApp-Cloud-like objects.
///
/// Read shape differs from the send shape: `body` is `{"text": …}` here, a string when sending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaInteractiveMessageContent {
    /// `list` or `button`; a type this crate does not know reads as `None`.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "de::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<WabaInteractiveType>,
    pub body: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `RadistOrderMessageContent`: order placed through a Radist shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RadistOrderMessageContent {
    pub currency: RadistOrderCurrency,
    pub amount: f64,
    pub items: Vec<RadistOrderMessageItem>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub comment: String,
}

/// `RadistOrderMessageItem`: one line of a Radist order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RadistOrderMessageItem {
    pub name: String,
    pub price: f64,
    pub quantity: i64,
    pub product_id: Option<i64>,
    pub sku: Option<String>,
    pub image_url: Option<String>,
}

/// `WabaOrderMessageContent`: order placed from a WhatsApp catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaOrderMessageContent {
    pub currency: WabaOrderCurrency,
    pub amount: f64,
    pub items: Vec<WabaOrderMessageItem>,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub comment: String,
    pub catalog_id: i64,
}

/// `WabaOrderMessageItem`: one line of a WhatsApp catalogue order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WabaOrderMessageItem {
    pub name: String,
    pub price: f64,
    pub quantity: i64,
    pub image_url: Option<String>,
    pub retailer_id: String,
}

/// `MessageType`: which content key of a message is filled.
///
/// Also the request-side `message_type`; `Unknown` is only produced when reading and
/// `SendMessageRequest` refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    Text,
    File,
    Image,
    Voice,
    Audio,
    Video,
    WabaTemplate,
    WabaInteractive,
    RadistOrder,
    WabaOrder,
    /// A type this crate does not know yet (read side only).
    #[serde(other)]
    Unknown,
}

/// `Direction`: `inbound` (from the customer) or `outbound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// `MessageErrorType`: why delivery failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageErrorType {
    GenericError,
    SubscriptionNotPaid,
    MessengerUserNotFound,
    DialogsLimitExceeded,
    WabaDialogsLimitExceeded,
    ChatBlacklisted,
    /// An error type this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// `WabaInteractiveMessageType`: `list` or `button` (request side too, so no catch-all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WabaInteractiveType {
    List,
    Button,
}

/// `WabaTemplateMessageMediaHeaderFormat`: template header / interactive header kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaHeaderFormat {
    Text,
    Image,
    Video,
    Document,
}

/// `WabaTemplateMessageCarouselHeaderFormat`: `image` or `video`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CarouselHeaderFormat {
    Image,
    Video,
    /// A format this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// `RadistOrderCurrency`: `RUB`, `USD` or `EUR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RadistOrderCurrency {
    Rub,
    Usd,
    Eur,
    /// A currency this crate does not know yet.
    #[serde(other)]
    Unknown,
}

/// `WabaOrderCurrency`: ISO 4217 codes WhatsApp catalogues use.
#[rustfmt::skip]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WabaOrderCurrency {
    Aed, Ars, Aud, Bob, Brl, Cad, Chf, Clp, Cny, Cop, Crc, Czk, Dkk, Eur, Gbp, Gtq, Hkd,
    Hnl, Huf, Idr, Ils, Inr, Isk, Jpy, Krw, Kzt, Mop, Mxn, Myr, Nio, Nok, Nzd, Pen, Php,
    Pln, Pyg, Qar, Ron, Rub, Sar, Sek, Sgd, Thb, Try, Twd, Usd, Uyu, Vef, Vnd, Zar,
    /// A currency this crate does not know yet.
    #[serde(other)]
    Unknown,
}

impl MessageType {
    /// Every type this crate knows, in spec order (without `Unknown`).
    pub const ALL: [Self; 10] = [
        Self::Text,
        Self::File,
        Self::Image,
        Self::Voice,
        Self::Audio,
        Self::Video,
        Self::WabaTemplate,
        Self::WabaInteractive,
        Self::RadistOrder,
        Self::WabaOrder,
    ];

    /// The wire name, e.g. `waba_template`; also the message's content key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::File => "file",
            Self::Image => "image",
            Self::Voice => "voice",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::WabaTemplate => "waba_template",
            Self::WabaInteractive => "waba_interactive",
            Self::RadistOrder => "radist_order",
            Self::WabaOrder => "waba_order",
            Self::Unknown => "unknown",
        }
    }
}

impl Message {
    /// The media content matching `message_type` (file, image, audio, video or voice).
    pub fn media(&self) -> Option<&MediaMessageContent> {
        match self.message_type {
            MessageType::File => self.file.as_ref(),
            MessageType::Image => self.image.as_ref(),
            MessageType::Audio => self.audio.as_ref(),
            MessageType::Video => self.video.as_ref(),
            MessageType::Voice => self.voice.as_ref(),
            _ => None,
        }
    }

    /// Human-readable text: `text.text`, else `waba_interactive.body.text`, else the media
    /// caption, else the template text; `None` when all are empty.
    pub fn body_text(&self) -> Option<&str> {
        let candidates = [
            self.text.as_ref().map(|t| t.text.as_str()),
            self.waba_interactive.as_ref().and_then(|i| i.body_text()),
            self.media().map(|m| m.caption.as_str()),
            self.waba_template.as_ref().map(|t| t.text.as_str()),
        ];
        candidates.into_iter().flatten().find(|s| !s.is_empty())
    }
}

impl WabaInteractiveMessageContent {
    /// `body.text`, the field readers use for transcripts.
    pub fn body_text(&self) -> Option<&str> {
        self.body.get("text").and_then(|v| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const ID: &str = "6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b";

    fn list_item() -> Value {
        json!({
            "message_id": ID, "source_message_id": "wamid.HBgLNzcwODAwMDAwMDAVAgASGBQzQTRC",
            "chat_id": "77080000000", "direction": "outbound", "message_type": "image",
            "author": null, "created_at": "2026-02-19T13:06:44.288549Z",
            "delivered_at": "2026-02-19T13:06:45Z", "read_at": "2026-02-19T13:07:03Z",
            "error_at": null, "error_type": null, "error_text": null,
            "image": {"caption": "price list", "name": "prices.jpg", "size": 48213,
                      "mime_type": "image/jpeg",
                      "url": "https://radist2.cdn.radist.online/waba/outbound/x-waba/prices.jpg"},
            "reply_to": null
        })
    }

    fn round_trip(value: &Value) -> Message {
        let message: Message = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(&serde_json::to_value(&message).unwrap(), value);
        message
    }

    #[test]
    fn list_item_with_omitted_content_keys_round_trips() {
        let message = round_trip(&list_item());
        assert_eq!(message.message_type, MessageType::Image);
        assert_eq!(message.media().map(|m| m.size), Some(48213));
        assert_eq!(message.body_text(), Some("price list"));
        assert!(message.text.is_none() && message.file.is_none());
    }

    #[test]
    fn last_message_with_every_content_key_null_reads_like_the_list_form() {
        let mut value = json!({
            "message_id": ID, "source_message_id": "3EB0C431D5A5E1B2C3D4", "chat_id": "77080000000@c.us",
            "direction": "inbound", "message_type": "text", "author": null,
            "created_at": "2026-02-19T13:07:03Z", "delivered_at": null,
            "read_at": "2026-02-19T13:08:00.5Z", "error_at": null, "error_type": null,
            "error_text": null, "text": {"text": "Hello"}, "file": null, "image": null,
            "audio": null, "video": null, "voice": null, "waba_template": null,
            "waba_interactive": null, "radist_order": null, "waba_order": null, "reply_to": null
        });
        let message: Message = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(message.body_text(), Some("Hello"));
        let object = value.as_object_mut().unwrap();
        for kind in MessageType::ALL
            .into_iter()
            .filter(|k| *k != MessageType::Text)
        {
            object.remove(kind.as_str());
        }
        object.insert("read_at".into(), json!("2026-02-19T13:08:00.500000Z"));
        assert_eq!(serde_json::to_value(&message).unwrap(), value);
    }

    #[test]
    fn wire_names_match_serde_and_as_str() {
        for kind in MessageType::ALL.into_iter().chain([MessageType::Unknown]) {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        let unknown: MessageType = serde_json::from_value(json!("sticker")).unwrap();
        assert_eq!(unknown.as_str(), "unknown");
    }

    #[test]
    fn missing_metadata_reads_as_null_and_is_written_back() {
        let message: Message = serde_json::from_value(json!({
            "message_id": ID, "chat_id": "1", "direction": "inbound",
            "message_type": "sticker", "created_at": "2026-02-19T13:06:44.288549"
        }))
        .unwrap();
        assert_eq!(message.message_type, MessageType::Unknown);
        let written = serde_json::to_value(&message).unwrap();
        for key in [
            "source_message_id",
            "author",
            "delivered_at",
            "read_at",
            "error_at",
            "error_type",
            "error_text",
            "reply_to",
        ] {
            assert_eq!(written[key], Value::Null, "{key}");
        }
        assert_eq!(written["created_at"], json!("2026-02-19T13:06:44.288549Z"));
    }

    #[test]
    fn waba_interactive_read_shape_keeps_body_object() {
        let message = round_trip(&json!({
            "message_id": ID, "source_message_id": null, "chat_id": "77080000000",
            "direction": "outbound", "message_type": "waba_interactive", "author": null,
            "created_at": "2026-02-19T13:07:03Z", "delivered_at": null, "read_at": null,
            "error_at": "2026-02-19T13:07:04Z", "error_type": "WABA_DIALOGS_LIMIT_EXCEEDED",
            "error_text": "no dialogs left",
            "waba_interactive": {"type": "button", "body": {"text": "Pick one"},
                "action": {"buttons": [{"type": "reply",
                    "reply": {"id": "0123456789abcdef0123456789abcdef", "title": "Yes"}}]}},
            "reply_to": null
        }));
        let interactive = message.waba_interactive.as_ref().unwrap();
        assert_eq!(interactive.kind, Some(WabaInteractiveType::Button));
        assert_eq!(message.body_text(), Some("Pick one"));
        assert_eq!(
            message.error_type,
            Some(MessageErrorType::WabaDialogsLimitExceeded)
        );
    }

    #[test]
    fn waba_text_with_null_referred_product_drops_the_key() {
        let value = json!({
            "message_id": ID, "source_message_id": "wamid.X", "chat_id": "79000000000",
            "direction": "inbound", "message_type": "text", "author": null,
            "created_at": "2026-02-19T13:07:03Z", "delivered_at": null, "read_at": null,
            "error_at": null, "error_type": null, "error_text": null,
            "text": {"text": "Hi", "waba_referred_product": null},
            "reply_to": {"source_message_id": "wamid.Y", "message_id": ID}
        });
        let message: Message = serde_json::from_value(value.clone()).unwrap();
        let mut expected = value;
        expected["text"] = json!({"text": "Hi"});
        assert_eq!(serde_json::to_value(&message).unwrap(), expected);
        assert_eq!(
            message.reply_to.unwrap().message_id.unwrap().to_string(),
            ID
        );
    }

    #[test]
    fn template_and_orders_round_trip() {
        round_trip(&json!({
            "message_id": ID, "source_message_id": null, "chat_id": "7", "direction": "outbound",
            "message_type": "waba_template", "author": {"id": "u1", "name": "Op", "external_id": "e1",
                "user_id": 5, "phone": null},
            "created_at": "2026-02-19T13:07:03Z", "delivered_at": null, "read_at": null,
            "error_at": null, "error_type": null, "error_text": null,
            "waba_template": {"text": "Hello Ivan", "template_locale": "ru", "template_name": "greeting",
                "media_header": {"format": "image", "file_name": "a.png", "file_size": 10,
                                 "file_mime_type": "image/png", "file_url": null},
                "buttons": [{"text": "Site", "url": "https://example.invalid", "phone_number": ""}],
                "carousel": [{"header": {"format": "video", "file_name": "", "file_size": 0,
                                         "file_mime_type": null, "file_url": null},
                              "body": {"text": "Card"}, "buttons": []}]},
            "reply_to": null
        }));
        let order: RadistOrderMessageContent = serde_json::from_value(json!({
            "currency": "RUB", "amount": 1500.5,
            "items": [{"name": "Tea", "price": 750.25, "quantity": 2}]
        }))
        .unwrap();
        assert_eq!(order.comment, "");
        let waba: WabaOrderMessageContent = serde_json::from_value(json!({
            "currency": "KZT", "amount": 10.0, "catalog_id": 99, "comment": null,
            "items": [{"name": "Cup", "price": 10.0, "quantity": 1, "retailer_id": "sku-1"}]
        }))
        .unwrap();
        assert_eq!(waba.currency, WabaOrderCurrency::Kzt);
    }
}
