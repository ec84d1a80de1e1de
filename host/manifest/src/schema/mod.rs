//! Manifests as written, one module per `manifest_version`, plus raw pieces the host config
//! shares. Every key is optional here so that decoding reports only unknown keys and wrong
//! types; validation decides what is required.
//!
//! To add version 2: write `v2.rs`, add `Versioned::V2` and `2` to [`SUPPORTED_VERSIONS`], and
//! make `crate::upgrade` turn a v1 into a v2 so that validation only ever sees the latest.

pub(crate) mod v1;

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use crate::document::{self, Document};
use crate::problem::Report;

/// The manifest versions this crate reads, oldest first.
pub(crate) const SUPPORTED_VERSIONS: &[i64] = &[1];

/// An array whose elements each keep their position.
pub(crate) type List<T> = Spanned<Vec<Spanned<T>>>;

/// A manifest decoded with the schema of its own version.
pub(crate) enum Versioned {
    V1(v1::ManifestV1),
}

/// Decodes `document` with the schema of `version`, which `read_version` has checked.
pub(crate) fn decode(
    version: i64,
    document: Document<'_>,
    report: &mut Report<'_>,
) -> Option<Versioned> {
    match version {
        1 => document::decode(document, report).map(Versioned::V1),
        _ => None,
    }
}

/// `{ env = "NAME" }`: where a secret comes from. A plain string is refused with a hint, so that
/// secret values never end up in files.
pub(crate) struct SecretV1 {
    pub env: Option<Spanned<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFieldsV1 {
    env: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for SecretV1 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = SecretV1;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table like `{ env = \"NAME\" }`")
    }

    // Plain values are refused without echoing them: they are likely the secret itself.
    fn visit_str<E: de::Error>(self, _value: &str) -> Result<SecretV1, E> {
        Err(E::custom(
            "secret values do not belong in files; write `{ env = \"NAME\" }` and set that environment variable",
        ))
    }

    fn visit_i64<E: de::Error>(self, _value: i64) -> Result<SecretV1, E> {
        self.visit_str("")
    }

    fn visit_u64<E: de::Error>(self, _value: u64) -> Result<SecretV1, E> {
        self.visit_str("")
    }

    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<SecretV1, E> {
        self.visit_str("")
    }

    fn visit_bool<E: de::Error>(self, _value: bool) -> Result<SecretV1, E> {
        self.visit_str("")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SecretV1, A::Error> {
        let fields = SecretFieldsV1::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(SecretV1 { env: fields.env })
    }
}
