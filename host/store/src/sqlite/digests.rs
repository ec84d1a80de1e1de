//! SHA-256 digests stored as bytes: a text of exactly 64 lowercase hex digits (a ledger
//! fingerprint, a plugin digest) is stored as its 32 bytes, half the size; any other text is
//! stored as it is. Reading turns a 32-byte BLOB back into the same 64 digits, so callers get
//! the text they wrote; rows written as TEXT before read back unchanged.

use super::fail::{Fail, Res};
use crate::error::StoreError;
use rusqlite::types::{ToSqlOutput, Value};

/// Bytes of a SHA-256.
const LEN: usize = 32;

/// The value to store for `text`: its 32 bytes when it is a lowercase hex SHA-256.
pub(crate) fn pack(text: &str) -> ToSqlOutput<'_> {
    match to_bytes(text) {
        Some(bytes) => ToSqlOutput::Owned(Value::Blob(bytes)),
        None => ToSqlOutput::from(text),
    }
}

/// [`pack`] for an optional text.
pub(crate) fn pack_opt(text: Option<&str>) -> ToSqlOutput<'_> {
    text.map_or(ToSqlOutput::Owned(Value::Null), pack)
}

fn to_bytes(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.len() != LEN * 2 {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// A lowercase hex digit's value (uppercase is kept as text: it would not read back the same).
fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// The text of a stored value; `NULL` is `None`.
pub(crate) fn unpack(what: &'static str, value: Value) -> Res<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::Text(text) => Ok(Some(text)),
        Value::Blob(bytes) if bytes.len() == LEN => Ok(Some(to_hex(&bytes))),
        other => Err(Fail::Store(StoreError::Corrupt {
            what,
            detail: format!("a digest stored as {:?}", other.data_type()),
        })),
    }
}

/// [`unpack`] for a column that is never `NULL`.
pub(crate) fn unpack_required(what: &'static str, value: Value) -> Res<String> {
    unpack(what, value)?.ok_or_else(|| {
        Fail::Store(StoreError::Corrupt {
            what,
            detail: "unexpected NULL".to_owned(),
        })
    })
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> (Option<String>, bool) {
        let ToSqlOutput::Owned(value) = pack(text) else {
            return (Some(text.to_owned()), false);
        };
        let packed = matches!(value, Value::Blob(_));
        (unpack("test", value).ok().flatten(), packed)
    }

    #[test]
    fn lowercase_sha256_hex_is_stored_as_bytes_and_anything_else_as_text() {
        let digest = format!("{:064x}", 0x0123_4567_89ab_cdef_u64);
        assert_eq!(round_trip(&digest), (Some(digest.clone()), true));
        for other in [
            digest.to_uppercase(),
            format!("sha256:{digest}"),
            "abc".into(),
        ] {
            assert_eq!(round_trip(&other).0, Some(other.clone()), "{other}");
            assert!(!round_trip(&other).1, "{other} stays text");
        }
        let short = Value::Blob(vec![1, 2, 3]);
        assert!(
            unpack("test", short).is_err(),
            "a damaged digest is corrupt"
        );
    }
}
