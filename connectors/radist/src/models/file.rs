//! File upload result (`POST …/messaging/files/`).

use serde::{Deserialize, Serialize};

/// `MessagingFileLinkResponse`: URL to put into a media message's `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagingFileLinkResponse {
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn file_link_round_trips() {
        let value = json!({"url": "https://radist2.cdn.radist.online/files/a.pdf"});
        let link: MessagingFileLinkResponse = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(link).unwrap(), value);
    }
}
