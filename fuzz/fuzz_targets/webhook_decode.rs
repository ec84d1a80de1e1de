//! Fuzz target: `radist_connector::webhook::decode` on arbitrary bytes must never panic, and an
//! error's message stays bounded whatever the body's size.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Errors quote at most a short excerpt of the input; this is a generous ceiling on that.
const MAX_ERROR_CHARS: usize = 4096;

fuzz_target!(|body: &[u8]| {
    if let Err(err) = radist_connector::webhook::decode(body) {
        assert!(err.to_string().chars().count() <= MAX_ERROR_CHARS);
    }
});
