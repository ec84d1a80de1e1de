//! Hex identifiers stored as bytes: a text of exactly 64 lowercase hex digits (a SHA-256: a
//! ledger fingerprint, a plugin digest) is stored as its 32 bytes, and a lowercase UUID in its
//! canonical 8-4-4-4-12 form (a Radist message id: a ledger effect id) as its 16 bytes, under half
//! the size; any other text is stored as it is. Reading turns a 32- or 16-byte BLOB back into the
//! same text, so callers get what they wrote; rows written as TEXT before read back unchanged
//! (a lookup by such a column asks for both forms, see `ledger::is_own_effect`).

use super::fail::{Fail, Res};
use crate::error::StoreError;
use rusqlite::types::{ToSqlOutput, Value};

/// Bytes of a SHA-256.
const LEN: usize = 32;
/// Bytes of a UUID.
const UUID_LEN: usize = 16;
/// Where a canonical UUID text has its dashes.
const DASHES: [usize; 4] = [8, 13, 18, 23];

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
    match text.len() {
        64 => hex_bytes(text.as_bytes()),
        36 if DASHES.iter().all(|&i| text.as_bytes()[i] == b'-') => {
            let digits: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
            hex_bytes(&digits).filter(|b| b.len() == UUID_LEN)
        }
        _ => None,
    }
}

fn hex_bytes(digits: &[u8]) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
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
        Value::Blob(bytes) if bytes.len() == UUID_LEN => Ok(Some(to_uuid(&bytes))),
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

fn to_uuid(bytes: &[u8]) -> String {
    let mut text = to_hex(bytes);
    for at in DASHES {
        text.insert(at, '-');
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
        let uuid = "9b1e4c2a-5d6f-4a7b-8c9d-00000000004d";
        assert_eq!(round_trip(uuid), (Some(uuid.to_owned()), true));
        for other in [
            uuid.to_uppercase(),
            uuid.replace('-', "_"),
            format!("{uuid}x"),
        ] {
            assert_eq!(round_trip(&other), (Some(other.clone()), false), "{other}");
        }
        let short = Value::Blob(vec![1, 2, 3]);
        assert!(
            unpack("test", short).is_err(),
            "a damaged digest is corrupt"
        );
    }
}
