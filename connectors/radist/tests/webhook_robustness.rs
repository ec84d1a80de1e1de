//! Fuzz-ish robustness of webhook decoding: truncated and mutated versions of every golden
//! input never panic, and no strict prefix of a body decodes as an event.

use std::fs;
use std::path::Path;

use radist_connector::webhook::{DecodeError, Decoded, decode};

fn golden_inputs() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhooks");
    let mut inputs: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .expect("tests/webhooks exists")
        .map(|entry| entry.expect("readable dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.display().to_string();
            (name, fs::read(&path).expect("input readable"))
        })
        .collect();
    inputs.sort();
    inputs
}

/// Deterministic xorshift, so a failure is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

#[test]
fn every_prefix_decodes_without_panicking_and_fails() {
    for (name, body) in golden_inputs() {
        let end = body.trim_ascii_end().len();
        for cut in 0..end {
            let result = decode(&body[..cut]);
            assert!(
                result.is_err(),
                "{name}: prefix of {cut} bytes decoded: {result:?}"
            );
        }
        let _ = decode(&body);
    }
}

#[test]
fn mutated_bodies_never_panic() {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let noise = [
        b'"', b'{', b'}', b'[', b']', b',', b':', b'0', b'\\', 0xff, 0x00, b'n',
    ];
    for (_, body) in golden_inputs() {
        for _ in 0..300 {
            let mut bytes = body.clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(bytes.len());
                let byte = noise[rng.below(noise.len())];
                match rng.below(3) {
                    0 if !bytes.is_empty() => bytes[at] = byte,
                    1 if !bytes.is_empty() => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at.min(bytes.len()), byte),
                }
            }
            let _ = decode(&bytes);
        }
    }
}

#[test]
fn hostile_shapes_are_errors_not_panics() {
    let deep = "[".repeat(100_000);
    let cases: [&[u8]; 5] = [
        deep.as_bytes(),
        b"\xef\xbb\xbf{}",
        b"{\"event_type\":\"messages.create\",\"event\":{\"chat_id\":1e400}}",
        b"\"\\ud800\"",
        b"{\"event_type\":\"messages.create\",\"event\":{\"connection_id\":-1,\"chat_id\":99999999999999999999}}",
    ];
    for body in cases {
        assert!(decode(body).is_err(), "{:?}", String::from_utf8_lossy(body));
    }
    assert!(matches!(decode(b"  \n"), Err(DecodeError::Empty)));
    let duplicated = br#"{"event_type":"messages.create","event_type":"x"}"#;
    let last_key_wins = Decoded::Unsupported {
        event_type: "x".into(),
    };
    assert_eq!(decode(duplicated), Ok(last_key_wins));
}

/// A mebibyte of `x`, for fields that should never be echoed whole.
fn mebibyte() -> String {
    "x".repeat(1 << 20)
}

/// An error or name quoting input stays near the excerpt limit (200 characters per quote).
fn assert_bounded(text: &str) {
    assert!(text.chars().count() < 600, "{} chars", text.chars().count());
}

#[test]
fn a_huge_unknown_event_type_is_cut() {
    let body = format!(r#"{{"event_type": "{}", "event": {{}}}}"#, mebibyte());
    let Ok(Decoded::Unsupported { event_type }) = decode(body.as_bytes()) else {
        panic!("not an unsupported event");
    };
    assert_eq!(event_type.chars().count(), 201);
    assert!(event_type.ends_with("xx…"), "{event_type}");
}

#[test]
fn huge_bad_values_are_cut_in_decode_errors() {
    let huge = mebibyte();
    let message = r#""message": {"message_id": "6f1c0f4e-2a57-4c8e-9a51-0d2b3c4d5e6f",
        "direction": "inbound", "message_type": "text", "created_at": "2026-02-19T13:07:03Z""#;
    // (body, whether serde quotes the bad value)
    let cases = [
        (
            format!(
                r#"{{"event_type": "messages.create", "event": {{"connection_id": 1, "chat_id": "{huge}"}}}}"#
            ),
            true,
        ),
        (
            format!(
                r#"{{"event_type": "messages.create", "event": {{"connection_id": 1, "chat_id": 2, {message}, "direction": "{huge}"}}}}}}"#
            ),
            true,
        ),
        (
            format!(
                r#"{{"event_type": "messages.create", "event": {{"connection_id": 1, "chat_id": 2, "message": {{"created_at": "{huge}"}}}}}}"#
            ),
            false,
        ),
    ];
    for (body, quoted) in cases {
        let err = decode(body.as_bytes()).expect_err("a bad value is an error");
        let text = err.to_string();
        assert_bounded(&text);
        assert!(!quoted || text.contains("xx…"), "{text}");
    }
}

#[test]
fn an_unknown_kind_name_is_cut() {
    let err = mebibyte()
        .parse::<radist_connector::webhook::EventKind>()
        .unwrap_err();
    assert_bounded(&err.to_string());
}
