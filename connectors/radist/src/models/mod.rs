//! Typed serde models of the Radist.Online v2 messaging and CRM API subset (vendor OpenAPI names
//! in each type's doc). Read-side types accept unknown keys and treat missing as `null`;
//! request types skip what is unset.

pub mod availability;
pub mod chat;
pub mod company;
pub mod connection;
pub mod contact;
pub mod crm;
mod de;
pub mod error;
pub mod file;
pub mod ids;
pub mod message;
pub mod send;
pub mod template;
pub mod time;
pub mod webhook_config;

pub use availability::{ChatAvailability, WabaChatAvailability};
pub use chat::{
    Chat, ChatOut, ChatSource, ChatSourceCreateChat, ChatSourceType, ContactWithChats,
    ContactsWithChatsResponse, CreateChatRequest, CreateChatResponse, ResponseMetadata,
};
pub use company::{CompaniesOut, CompanyOut, PaymentCurrency};
pub use connection::{
    Connection, ConnectionKind, ConnectionLastStatus, ConnectionStatusSubtype,
    ConnectionStatusType, ConnectionsOut, MaxBotParams, MaxPersonalParams, Subscription,
    SubscriptionPlan, TelegramBotParams, TelegramParams, WabaParams, WhatsAppParams,
};
pub use contact::{
    ContactCreateRequest, ContactNoteCreateRequest, ContactOut, ContactSortingOptions,
    ContactUpdateRequest, ContactsOut, Email, EmailIn, EmailType, NoteType, Phone, PhoneIn,
    PhoneType, Tag,
};
pub use crm::{
    ContactNoteUpdateRequest, ContactTagsOut, MessageTemplateCreateRequest, MessageTemplateOut,
    MessageTemplateType, MessageTemplateTypeIn, MessageTemplateUpdateRequest, NOTE_TEXT_MAX_CHARS,
    NoteOut, SocialProfileOut, SocialProfileType, TAG_NAME_MAX_CHARS, TagIn, TagOut, UpdateTag,
    User,
};
pub use error::{HTTPValidationError, LocItem, ValidationError};
pub use file::MessagingFileLinkResponse;
pub use ids::{
    ChatId, CompanyId, ConnectionId, ContactId, MessageId, NoteId, QuickReplyId, SourceChatId,
    TagId, WebhookId,
};
pub use message::{
    CarouselHeaderFormat, Direction, MediaHeaderFormat, MediaMessageContent, Message,
    MessageAuthor, MessageErrorType, MessageType, RadistOrderCurrency, RadistOrderMessageContent,
    RadistOrderMessageItem, ReplyTo, TemplateMediaHeader, TextMessageContent,
    WabaInteractiveMessageContent, WabaInteractiveType, WabaOrderCurrency, WabaOrderMessageContent,
    WabaOrderMessageItem, WabaReferredProduct, WabaTemplateMessageButton,
    WabaTemplateMessageCarouselBody, WabaTemplateMessageCarouselHeader, WabaTemplateMessageContent,
    WabaTemplateMessageMediaCarouselCard, WabaTemplateMessageMediaHeader,
};
pub use send::{
    InlineButtonIn, InteractiveActionIn, InteractiveButtonIn, InteractiveButtonType,
    InteractiveHeaderIn, InteractiveReplyIn, InteractiveRowIn, InteractiveSectionIn,
    InteractiveSectionsIn, MarkupIn, MarkupType, MediaIn, MediaKind, MessageSentChatResponse,
    MessageSentResponse, OutgoingContent, SendMessageRequest, SendMode, TextIn,
    WabaCarouselCardParamsIn, WabaHeaderParamIn, WabaInteractiveIn, WabaTemplateIn,
};
pub use template::{
    ListWabaTemplatesResponse, WabaTemplate, WabaTemplateCategory, WabaTemplateComponentButtonOut,
    WabaTemplateComponentButtonsOut, WabaTemplateComponentCarouselCardOut,
    WabaTemplateComponentCarouselOut, WabaTemplateComponentHeaderOut,
    WabaTemplateMessageComponentOut, WabaTemplateMessageOut, WabaTemplateStatus,
    WabaTemplateTextComponentOut,
};
pub use webhook_config::{
    WebhookConfigConnectionMessaging, WebhookConfigConnectionMessagingOut, WebhookEventType,
};
