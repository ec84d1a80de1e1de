//! Durable key-value storage private to the plugin (`kv` interface, granted by
//! `capabilities.kv`).
//!
//! Values are bytes; [`get_json`]/[`set_json`] and [`get_string`]/[`set_string`] cover the usual
//! encodings. A value that does not decode is reported as [`Error::Invalid`] with the key as path.

use crate::bindings::switchboard::plugin::kv as wit;
use crate::{Error, FieldError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The bytes under `key`, if any.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, Error> {
    wit::get(key)
}

/// Stores `value` under `key`, replacing what was there.
pub fn set(key: &str, value: &[u8]) -> Result<(), Error> {
    wit::set(key, value)
}

/// Removes `key`; returns whether it existed.
pub fn delete(key: &str) -> Result<bool, Error> {
    wit::delete(key)
}

/// Every key starting with `prefix`.
pub fn list_keys(prefix: &str) -> Result<Vec<String>, Error> {
    wit::list_keys(prefix)
}

/// The UTF-8 string under `key`, if any.
pub fn get_string(key: &str) -> Result<Option<String>, Error> {
    get(key)?
        .map(|bytes| String::from_utf8(bytes).map_err(|e| invalid(key, &e.to_string())))
        .transpose()
}

/// Stores a UTF-8 string under `key`.
pub fn set_string(key: &str, value: &str) -> Result<(), Error> {
    set(key, value.as_bytes())
}

/// The JSON value under `key`, decoded, if any.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    get(key)?
        .map(|bytes| serde_json::from_slice(&bytes).map_err(|e| invalid(key, &e.to_string())))
        .transpose()
}

/// Stores `value` as JSON under `key`.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), Error> {
    let bytes = serde_json::to_vec(value).map_err(|e| invalid(key, &e.to_string()))?;
    set(key, &bytes)
}

fn invalid(key: &str, message: &str) -> Error {
    Error::Invalid(vec![FieldError {
        path: key.to_owned(),
        message: message.to_owned(),
    }])
}
