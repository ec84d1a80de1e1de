//! File upload (`POST /messaging/files/`, multipart field `file`, optional form field `filename`)
//! and serving of uploaded files at `/_sandbox/files/{id}/{name}` with their Content-Type.
//! Larger than `max_upload_bytes` (100 MB) → 413 `{"detail": ...}`.

use axum::Json;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};
use uuid::Uuid;

use super::scope::Company;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult, error_item};
use crate::state::State as Sandbox;
use crate::state::model::StoredFile;

/// Route prefix of served files.
pub const FILES_PREFIX: &str = "/_sandbox/files/";

struct Upload {
    name: Option<String>,
    content_type: Option<String>,
    bytes: Bytes,
}

fn too_large(max: usize) -> ApiError {
    ApiError::Detail(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("File too large: the limit is {max} bytes"),
    )
}

fn missing_file() -> ApiError {
    ApiError::Validation(vec![error_item(
        "missing",
        vec![json!("body"), json!("file")],
        "Field required",
        Value::Null,
        None,
    )])
}

fn multipart_error(err: &axum::extract::multipart::MultipartError, max: usize) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(max);
    }
    ApiError::Detail(
        StatusCode::BAD_REQUEST,
        "There was an error parsing the body".to_owned(),
    )
}

/// `POST /companies/{company_id}/messaging/files/` → `{url}`.
pub async fn upload(
    company: Company,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Value>> {
    drop(company.state()?);
    let max = company.app.config().max_upload_bytes;
    let mut multipart = multipart.map_err(|_| missing_file())?;
    let (mut upload, mut filename) = (None, None);
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e, max))?
    {
        match field.name() {
            Some("file") => {
                let name = field.file_name().map(str::to_owned);
                let content_type = field.content_type().map(str::to_owned);
                let mut buf = BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e, max))? {
                    if buf.len() + chunk.len() > max {
                        return Err(too_large(max));
                    }
                    buf.extend_from_slice(&chunk);
                }
                upload = Some(Upload {
                    name,
                    content_type,
                    bytes: buf.freeze(),
                });
            }
            Some("filename") => filename = field.text().await.ok().filter(|t| !t.is_empty()),
            _ => {}
        }
    }
    let upload = upload.ok_or_else(missing_file)?;
    let name = filename
        .or(upload.name)
        .unwrap_or_else(|| "file".to_owned());
    let content_type = upload
        .content_type
        .filter(|ct| ct != "application/octet-stream")
        .unwrap_or_else(|| content_type_for(&name).to_owned());
    let id = Uuid::new_v4();
    let url = format!(
        "http://{}{FILES_PREFIX}{id}/{}",
        host(&headers, &company.app),
        encode(&name)
    );
    company.app.state().files.insert(
        id,
        StoredFile {
            name,
            content_type,
            bytes: upload.bytes,
        },
    );
    Ok(Json(json!({ "url": url })))
}

fn host(headers: &HeaderMap, app: &AppState) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| app.config().listen.to_string(), str::to_owned)
}

fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /_sandbox/files/{id}/{name}`: the bytes with their Content-Type.
pub async fn serve(
    State(app): State<AppState>,
    Path((id, _name)): Path<(String, String)>,
) -> Response {
    let file = Uuid::parse_str(&id)
        .ok()
        .and_then(|id| app.state().files.get(&id).cloned());
    match file {
        Some(file) => ([(header::CONTENT_TYPE, file.content_type)], file.bytes).into_response(),
        None => ApiError::not_found("Not Found").into_response(),
    }
}

/// The stored file a sandbox file URL points to.
pub fn lookup<'a>(state: &'a Sandbox, url: &str) -> Option<&'a StoredFile> {
    let (_, rest) = url.split_once(FILES_PREFIX)?;
    let id = Uuid::parse_str(rest.split('/').next()?).ok()?;
    state.files.get(&id)
}

/// Content-Type by file extension (any case); `application/octet-stream` when unknown.
pub fn content_type_for(name: &str) -> &'static str {
    mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream")
}
