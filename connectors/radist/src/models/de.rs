//! Private serde helpers shared by the models: spec defaults and null-tolerant fields.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// Default for boolean fields whose spec default is `true`.
pub(crate) fn yes() -> bool {
    true
}

/// Reads `null` as the type's default, so "missing", `null` and the spec default all agree.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A list the spec lets clients leave out or send as `null`, for `#[serde(default, with =
/// "de::list")]`: both read as empty; the list is written as it is.
pub(crate) mod list {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer, T: Serialize>(
        list: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        list.serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        super::null_as_default(deserializer)
    }
}

/// Reads an optional value, turning a value this crate does not recognise into `None`.
pub(crate) fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}
