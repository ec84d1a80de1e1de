//! The plugin's `[config]` values and `[secrets]` from its manifest (`config` interface, always
//! granted).
//!
//! Values are strings as the manifest gives them; [`get_json`] and [`get_parsed`] decode them.
//! Errors are `String`s ready to return from `handle`, naming the manifest key to fix.

use crate::bindings::switchboard::plugin::config as wit;
use serde::de::DeserializeOwned;
use std::str::FromStr;

/// The value of `[config] key`, if the manifest sets it.
pub fn get(key: &str) -> Option<String> {
    wit::get(key)
}

/// The value of `[config] key`, or `default` when it is not set.
pub fn get_or(key: &str, default: &str) -> String {
    get(key).unwrap_or_else(|| default.to_owned())
}

/// The value of `[config] key`, or an error naming the missing key.
pub fn require(key: &str) -> Result<String, String> {
    get(key)
        .ok_or_else(|| format!("config `{key}` is not set; add it under [config] in the manifest"))
}

/// `[config] key` parsed with [`FromStr`] (numbers, booleans, ...); `Ok(None)` when not set.
pub fn get_parsed<T: FromStr>(key: &str) -> Result<Option<T>, String>
where
    T::Err: std::fmt::Display,
{
    get(key)
        .map(|raw| {
            raw.trim()
                .parse::<T>()
                .map_err(|e| format!("config `{key}`: {e}"))
        })
        .transpose()
}

/// `[config] key` holding a JSON document, decoded; `Ok(None)` when not set.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, String> {
    get(key)
        .map(|raw| {
            serde_json::from_str(&raw)
                .map_err(|e| format!("config `{key}` is not valid JSON for this plugin: {e}"))
        })
        .transpose()
}

/// The secret `name` declared under `[secrets]`. Never log it.
pub fn secret(name: &str) -> Option<String> {
    wit::secret(name)
}

/// The secret `name`, or an error naming the missing manifest entry.
pub fn require_secret(name: &str) -> Result<String, String> {
    secret(name).ok_or_else(|| {
        format!("secret `{name}` is not available; declare it under [secrets] in the manifest")
    })
}
