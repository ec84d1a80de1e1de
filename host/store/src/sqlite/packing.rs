//! Compression of the large JSON texts the SQLite backend keeps per event and per attempt
//! (`events.payload`, `attempts.detail`), so a run's full history stays within about 2 KiB.
//!
//! A text shorter than [`MIN_PACKED`] is stored as it is (TEXT). A longer one is stored as a BLOB:
//! one format byte, then a zstd frame compressed against a built-in dictionary of the JSON shapes
//! the store writes (`packing_dict_v1.txt`), which is what makes small texts shrink: their keys
//! and constant strings are found in the dictionary. The column's storage class tells the two
//! apart, so rows written before packing existed read back unchanged.
//!
//! **Compatibility:** the dictionary of a format byte never changes once released; a better
//! dictionary gets a new format byte and the old one stays readable. Format 2 (written since
//! schema version 6) adds the shapes of the ledger's texts to format 1's dictionary: the
//! `messages.send` requests the runtime records (Radist's send body with its `connection_id`, keys
//! in order) and their results; an auto-reply's request packs to about half of what format 1 gave.
//! Format 3 (written since schema version 9, so an older build refuses the file instead of
//! failing on its rows) is format 2's content with zstd's entropy tables in front of it
//! (`packing_dict_v3.zdict`, a zstd dictionary: `ZDICT_finalizeDictionary` with format 2's text
//! as its content, `compressionLevel` 1, `dictID` 0x53574233, and as samples the 10,756 packed
//! texts, expanded, of a copy of the database of `switchboard-bench e2e --rate 300` at 75c9e40,
//! by a throwaway program: the workspace forbids `unsafe`, and the zstd crate has no safe call for
//! it. Its frames leave out the dictionary's id). Formats 1 and 2 are raw content, so zstd built a Huffman table
//! for every text's literals and stored it in the frame; with the tables in the dictionary a
//! small text uses them instead. On 5,378 texts of that database held out from the samples:
//! 149.1 B a text with format 2, 123.3 B with format 3 (−17%), compressed in 3.7 µs a text
//! instead of 6.7 µs and expanded in 1.2 µs instead of 1.4 µs (release, this 2-core machine).
//!
//! Level: [`LEVEL`] 1. Measured on the four texts of an auto-reply run (WABA payload 784 B, send
//! request 332 B, attempt detail 267 B, send result 113 B; format 2, release, best of 7 × 5,000,
//! two runs on the shared 2-core machine): level 9 packed them to 227 + 111 + 98 + 57 = 493 B in
//! 23–30 µs, level 5 to 498 B in 19–20 µs, level 3 to 236 + 122 + 107 + 60 = 525 B in 13–14 µs.
//! Level 1 against 3 in the service (BENCHMARKS.md, interleaved): intake 3–6% less CPU per
//! webhook for 12–14 B (1.5%) more per run; a webhook's payload is packed on the thread that
//! acks it, so its compression is on every ack's path.

use super::fail::{Fail, Res};
use crate::error::StoreError;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use std::cell::RefCell;
use std::sync::OnceLock;
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// Texts shorter than this are not worth a zstd frame (a send's result, about 100 B, is).
const MIN_PACKED: usize = 64;
/// zstd level (see the module's figures).
const LEVEL: i32 = 1;
/// Format byte: zstd with [`DICT_V1`] (read only).
const FORMAT_V1: u8 = 1;
/// Format byte: zstd with [`DICT_V2`] (read only).
const FORMAT_V2: u8 = 2;
/// Format byte: zstd with [`DICT_V3`] (written).
const FORMAT_V3: u8 = 3;
/// The dictionary of format 1. Never edit it: stored rows depend on every byte.
const DICT_V1: &[u8] = include_bytes!("packing_dict_v1.txt");
/// The dictionary of format 2: format 1's, then the ledger's shapes. Never edit it either.
const DICT_V2: &[u8] = include_bytes!("packing_dict_v2.txt");
/// The dictionary of format 3: zstd's entropy tables, then format 2's content. Never edit it.
const DICT_V3: &[u8] = include_bytes!("packing_dict_v3.zdict");
/// The dictionaries a stored value may name, by format byte.
const DICTS: [(u8, &[u8]); 3] = [
    (FORMAT_V1, DICT_V1),
    (FORMAT_V2, DICT_V2),
    (FORMAT_V3, DICT_V3),
];
/// The largest text a packed value may expand to (a guard against a damaged row): four times
/// the largest body intake accepts (`webhook.max_body_bytes` is at most 64 MiB), so no stored
/// event that intake took is ever over it. A value over it fails its run, never every claim.
pub(crate) const MAX_UNPACKED: u64 = 256 * 1024 * 1024;

fn encoder() -> &'static EncoderDictionary<'static> {
    static ENCODER: OnceLock<EncoderDictionary<'static>> = OnceLock::new();
    ENCODER.get_or_init(|| EncoderDictionary::copy(DICT_V3, LEVEL))
}

/// The prepared dictionary of the `slot`th format of [`DICTS`].
fn decoder(slot: usize) -> &'static DecoderDictionary<'static> {
    static DECODERS: [OnceLock<DecoderDictionary<'static>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    DECODERS[slot].get_or_init(|| DecoderDictionary::copy(DICTS[slot].1))
}

/// The value to store for `text`: the text itself when short, else the packed BLOB. Falls back to
/// the text if compression fails or does not pay.
/// A text as stored: packed by [`pack`] on the caller's thread before its write is queued, so the
/// writer, the one thread every write waits for, does not spend its time compressing.
pub(crate) type Packed = ToSqlOutput<'static>;

pub(crate) fn pack(text: String) -> Packed {
    if text.len() < MIN_PACKED {
        return ToSqlOutput::Owned(Value::Text(text));
    }
    match compress(text.as_bytes()) {
        Some(packed) if packed.len() < text.len() => ToSqlOutput::Owned(Value::Blob(packed)),
        _ => ToSqlOutput::Owned(Value::Text(text)),
    }
}

/// [`pack`] for an optional text.
pub(crate) fn pack_opt(text: Option<String>) -> ToSqlOutput<'static> {
    match text {
        Some(text) => pack(text),
        None => ToSqlOutput::Owned(Value::Null),
    }
}

thread_local! {
    /// One compression context per store thread, made on first use: making one (with its
    /// dictionary tables) costs more than compressing a small payload with it.
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    /// One decompression context per store thread and format, likewise.
    static DECOMPRESSORS: RefCell<[Option<Decompressor<'static>>; 3]> =
        const { RefCell::new([None, None, None]) };
}

fn compress(bytes: &[u8]) -> Option<Vec<u8>> {
    let frame = COMPRESSOR.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        if slot.is_none() {
            let mut made = Compressor::with_prepared_dictionary(encoder()).ok()?;
            // The format byte names the dictionary: its id in every frame would be 4 bytes more.
            made.include_dictid(false).ok()?;
            *slot = Some(made);
        }
        slot.as_mut()?.compress(bytes).ok()
    })?;
    let mut packed = Vec::with_capacity(frame.len() + 1);
    packed.push(FORMAT_V3);
    packed.extend_from_slice(&frame);
    Some(packed)
}

/// The text of a stored value: TEXT as it is, a packed BLOB expanded; `NULL` is `None`.
pub(crate) fn unpack(what: &'static str, value: ValueRef<'_>) -> Res<Option<String>> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => String::from_utf8(t.to_vec())
            .map(Some)
            .map_err(|e| corrupt(what, e.to_string())),
        ValueRef::Blob(b) => expand(what, b).map(Some),
        other => Err(corrupt(what, format!("unexpected {:?}", other.data_type()))),
    }
}

/// [`unpack`] for a value read into an owned [`Value`] (inside a row closure).
pub(crate) fn unpack_value(what: &'static str, value: Value) -> Res<Option<String>> {
    match value {
        Value::Text(text) => Ok(Some(text)),
        other => unpack(what, ValueRef::from(&other)),
    }
}

/// [`unpack_value`] for a column that is never `NULL`.
pub(crate) fn unpack_required(what: &'static str, value: Value) -> Res<String> {
    unpack_value(what, value)?.ok_or_else(|| corrupt(what, "unexpected NULL".to_owned()))
}

fn expand(what: &'static str, blob: &[u8]) -> Res<String> {
    let Some((format, frame)) = blob.split_first() else {
        return Err(corrupt(what, "an empty packed value".to_owned()));
    };
    let Some(slot) = DICTS.iter().position(|(f, _)| f == format) else {
        return Err(corrupt(what, format!("unknown packing format {format}")));
    };
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size <= MAX_UNPACKED => size,
        Ok(Some(size)) => {
            let detail = format!("it unpacks to {size} bytes, over the cap of {MAX_UNPACKED}");
            return Err(corrupt(what, detail));
        }
        Ok(None) | Err(_) => return Err(corrupt(what, "damaged zstd frame header".to_owned())),
    };
    let capacity = usize::try_from(size).map_err(|e| corrupt(what, e.to_string()))?;
    let bytes = DECOMPRESSORS
        .with(|cell| {
            let mut contexts = cell
                .try_borrow_mut()
                .map_err(|_| "the decompressor is in use".to_owned())?;
            let context = &mut contexts[slot];
            if context.is_none() {
                let made = Decompressor::with_prepared_dictionary(decoder(slot));
                *context = Some(made.map_err(|e| e.to_string())?);
            }
            let decompressor = context.as_mut().ok_or("no decompressor")?;
            decompressor
                .decompress(frame, capacity)
                .map_err(|e| e.to_string())
        })
        .map_err(|e| corrupt(what, e))?;
    String::from_utf8(bytes).map_err(|e| corrupt(what, e.to_string()))
}

fn corrupt(what: &'static str, detail: String) -> Fail {
    Fail::Store(StoreError::Corrupt { what, detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> (Option<String>, bool) {
        let stored = pack(text.to_owned());
        let ToSqlOutput::Owned(value) = stored else {
            panic!("pack gives owned values");
        };
        let packed = matches!(value, Value::Blob(_));
        let back = unpack("test", ValueRef::from(&value)).ok().flatten();
        (back, packed)
    }

    #[test]
    fn short_texts_stay_text_and_long_ones_are_packed_and_read_back() {
        assert_eq!(round_trip("{}"), (Some("{}".to_owned()), false));
        let long = r#"{"source":"webhook","event":{"kind":"message.received","dedupe_key":"radist:messages.create:3f9a2c1e","connection_id":70001,"chat_id":38000001,"message":{"text":{"text":"Здравствуйте! Сколько стоит доставка?"}}},"source_type":"waba"}"#;
        let (back, packed) = round_trip(long);
        assert_eq!(back.as_deref(), Some(long));
        assert!(packed, "a long JSON text is packed");
    }

    #[test]
    fn the_reused_contexts_pack_each_text_on_its_own_even_after_a_damaged_blob() {
        let texts: Vec<String> = (0..50)
            .map(|i| {
                format!(
                    r#"{{"text":"{}","n":{i}}}"#,
                    "привет мир ".repeat(i % 7 + 12)
                )
            })
            .collect();
        for (i, text) in texts.iter().enumerate() {
            if i == 20 {
                let damaged = Value::Blob(vec![FORMAT_V1, 0x28, 0xb5, 0x2f, 0xfd, 0, 1, 2]);
                assert!(unpack("test", ValueRef::from(&damaged)).is_err());
            }
            assert_eq!(round_trip(text), (Some(text.clone()), true), "text {i}");
        }
    }

    #[test]
    fn values_packed_with_format_1_still_read_back() {
        let text = r#"{"source":"webhook","event":{"kind":"message.received","dedupe_key":"radist:messages.create:1"}}"#;
        let mut old = Compressor::with_dictionary(9, DICT_V1).expect("format 1 context");
        let mut blob = vec![FORMAT_V1];
        blob.extend(old.compress(text.as_bytes()).expect("compress"));
        let back = unpack("test", ValueRef::Blob(&blob)).ok().flatten();
        assert_eq!(back.as_deref(), Some(text));
        let ToSqlOutput::Owned(Value::Blob(new)) = pack(text.repeat(2)) else {
            panic!("a long text is packed");
        };
        assert_eq!(
            new.first(),
            Some(&FORMAT_V3),
            "new values are written as format 3"
        );
    }

    #[test]
    fn values_packed_with_format_2_still_read_back() {
        let text = r#"{"connection_id":70001,"chat_id":38000001,"mode":"text","text":"Добрый день! Доставка стоит 300 ₽."}"#;
        let mut old = Compressor::with_dictionary(1, DICT_V2).expect("format 2 context");
        let mut blob = vec![FORMAT_V2];
        blob.extend(old.compress(text.as_bytes()).expect("compress"));
        let back = unpack("test", ValueRef::Blob(&blob)).ok().flatten();
        assert_eq!(back.as_deref(), Some(text));
    }

    /// Format 3 is format 2's content with entropy tables in front: the same matches, and the
    /// tables are what a small text's frame no longer carries.
    #[test]
    fn format_3_is_format_2s_content_behind_zstds_tables() {
        const ZSTD_DICT_MAGIC: [u8; 4] = [0x37, 0xa4, 0x30, 0xec];
        assert_eq!(DICT_V3.get(..4), Some(&ZSTD_DICT_MAGIC[..]));
        assert!(DICT_V3.ends_with(DICT_V2));
        let text = r#"{"source":"webhook","event":{"kind":"message.received","dedupe_key":"radist:messages.create:3f9a2c1e","connection_id":70001,"chat_id":38000001,"message":{"text":{"text":"Здравствуйте! Сколько стоит доставка в Казань, и когда приедет курьер?"}}},"source_type":"waba"}"#;
        let mut v2 = Compressor::with_dictionary(LEVEL, DICT_V2).expect("format 2 context");
        let before = v2.compress(text.as_bytes()).expect("compress").len() + 1;
        let ToSqlOutput::Owned(Value::Blob(after)) = pack(text.to_owned()) else {
            panic!("a long text is packed");
        };
        assert!(
            after.len() < before,
            "format 3 packs to {} B, format 2 to {before} B",
            after.len()
        );
    }

    #[test]
    fn damaged_blobs_are_corrupt_not_panics() {
        for blob in [
            &b""[..],
            &[9, 1, 2][..],
            &[FORMAT_V1, 0x28, 0xb5][..],
            &[FORMAT_V1][..],
        ] {
            assert!(unpack("test", ValueRef::Blob(blob)).is_err(), "{blob:?}");
        }
    }
}
