//! Fuzz target: `switchboard_manifest::parse_host_config` on arbitrary UTF-8 must never panic,
//! and every problem it reports has a 1-based line and column.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(problems) = switchboard_manifest::parse_host_config("switchboard.toml", text) {
        assert!(!problems.is_empty());
        for problem in problems.as_slice() {
            assert!(problem.line >= 1 && problem.column >= 1, "{problem}");
        }
    }
});
