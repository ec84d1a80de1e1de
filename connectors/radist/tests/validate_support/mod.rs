//! Shared by the validator tests: compare every violation, in order, with the expected
//! `(path, message)` pairs.

use radist_connector::models::SendMessageRequest;
use radist_connector::validate::{ValidateOptions, Violation, validate_send};
use serde_json::Value;

/// Asserts that `violations` are exactly `expected`, in order.
pub fn assert_violations(violations: Vec<Violation>, expected: &[(&str, &str)]) {
    let actual: Vec<(String, String)> = violations
        .into_iter()
        .map(|v| (v.path, v.message))
        .collect();
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    assert_eq!(actual, expected);
}

/// Validates the send `request` (JSON) with `opts` and compares every violation.
pub fn check_request(opts: &ValidateOptions, request: Value, expected: &[(&str, &str)]) {
    let request: SendMessageRequest = serde_json::from_value(request).expect("test request parses");
    assert_violations(validate_send(&request, opts), expected);
}
