//! The dashboard's static files, embedded in the binary: the vendored htmx and its SSE extension
//! (unmodified, with their version and license header), our script and our stylesheet. Each is
//! served with a strong ETag made from its content hash; browsers revalidate (`no-cache`) and
//! get 304 while the binary is the same.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The content type of the scripts (htmx, its SSE extension and ours).
const JS: &str = "text/javascript; charset=utf-8";
/// The content type of our stylesheet.
const CSS: &str = "text/css; charset=utf-8";

/// The [`Asset`] of the file `assets/ui/$name`, served under that same name.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../../assets/ui/", $name)),
        }
    };
}

const ASSETS: [Asset; 4] = [
    asset!("htmx.min.js", JS),
    asset!("sse.js", JS),
    asset!("ui.js", JS),
    asset!("ui.css", CSS),
];

/// The quoted ETag of every asset, by position in [`ASSETS`], computed once.
fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let hash = Sha256::digest(a.bytes);
                let hex: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    })
}

/// `GET /ui/assets/{name}`: the file, or 304 when the browser's copy is current.
pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let asset = &ASSETS[index];
    let etag = etags()[index].as_str();
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let common = [(header::ETAG, etag), (header::CACHE_CONTROL, "no-cache")];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let typed = [(header::CONTENT_TYPE, asset.content_type)];
    (common, typed, asset.bytes).into_response()
}
