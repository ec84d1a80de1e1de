//! Keyed digests: every fingerprint and digest the runtime stores in history (journal
//! fingerprints, `http.send` body and header digests) and the tag that authenticates each
//! compiled component in the on-disk cache is an HMAC-SHA256 under a per-installation key, so a
//! digest of a low-entropy secret cannot be checked offline and a cache file cannot be forged.
//!
//! One key file serves both uses: [`InstallationKey`] derives a separate [`DigestKey`] for each
//! (`history`, `cache`), so a tag of one kind is never valid as the other. The file holds 64 hex
//! characters, is created with mode 0600 on first use (atomically: written aside, then linked into
//! place) and is refused when group or others may read or write it.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hmac::{Hmac, Mac};
use radist_connector::webhook::write_canonical;
use serde_json::Value;
use sha2::Sha256;

use crate::{RuntimeConfig, RuntimeError};

/// Bytes of key material.
const KEY_BYTES: usize = 32;

/// The installation's root key; derive the per-use keys from it.
#[derive(Clone)]
pub(crate) struct InstallationKey {
    bytes: Arc<[u8; KEY_BYTES]>,
}

/// An HMAC-SHA256 key for one use. Cheap to clone.
#[derive(Clone)]
pub(crate) struct DigestKey {
    bytes: Arc<[u8; KEY_BYTES]>,
}

impl InstallationKey {
    /// Reads the key at `path`, creating it (mode 0600) when it does not exist.
    pub(crate) fn load_or_create(path: &Path) -> Result<Self, RuntimeError> {
        let err = |message: String| RuntimeError::KeyFile {
            path: path.to_owned(),
            message,
        };
        match std::fs::symlink_metadata(path) {
            Ok(_) => read_key(path).map_err(err),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(path).map_err(err),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// A random key that lives as long as the process (digests do not survive a restart).
    pub(crate) fn ephemeral() -> Self {
        InstallationKey {
            bytes: Arc::new(random_key()),
        }
    }

    /// The key for fingerprints and digests stored in history.
    pub(crate) fn history(&self) -> DigestKey {
        self.derive(b"switchboard history digests v1")
    }

    /// The key that authenticates compiled components in the on-disk cache.
    pub(crate) fn cache(&self) -> DigestKey {
        self.derive(b"switchboard compiled-component cache v1")
    }

    fn derive(&self, purpose: &[u8]) -> DigestKey {
        DigestKey::from_bytes(DigestKey::from_bytes(*self.bytes).mac(&[purpose]))
    }
}

impl DigestKey {
    fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        DigestKey {
            bytes: Arc::new(bytes),
        }
    }

    /// A fresh random key (tests).
    #[cfg(test)]
    pub(crate) fn ephemeral() -> Self {
        InstallationKey::ephemeral().history()
    }

    /// One random key for the whole process: what a recorder uses until it is given the
    /// installation's key.
    pub(crate) fn process() -> Self {
        static PROCESS: std::sync::OnceLock<DigestKey> = std::sync::OnceLock::new();
        PROCESS
            .get_or_init(|| InstallationKey::ephemeral().history())
            .clone()
    }

    /// HMAC-SHA256 over the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.hmac();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the MAC of `parts` (constant-time comparison).
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut mac = self.hmac();
        for part in parts {
            mac.update(part);
        }
        mac.verify_slice(tag).is_ok()
    }

    /// Lowercase hex of the MAC of `bytes`.
    pub(crate) fn hex_mac(&self, bytes: &[u8]) -> String {
        hex(&self.mac(&[bytes]))
    }

    /// A streaming MAC, for inputs that come in pieces.
    pub(crate) fn hmac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(self.bytes.as_slice())
            .unwrap_or_else(|_| unreachable!("hmac takes keys of any length"))
    }

    /// The MAC of `kind` and `value` serialised with object keys sorted, so equal requests
    /// fingerprint equally. Secrets are included (then keyed and hashed), never stored.
    pub(crate) fn fingerprint(&self, kind: &str, value: &Value) -> String {
        let mut canonical = String::new();
        canonical.push_str(kind);
        canonical.push('\n');
        write_canonical(value, &mut canonical);
        self.hex_mac(canonical.as_bytes())
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// The installation key the config names: `key_file`, else `<cache_dir>.key` beside the cache,
/// else (no cache either) a random key for this process.
pub(crate) fn installation_key(config: &RuntimeConfig) -> Result<InstallationKey, RuntimeError> {
    let named = config.key_file.clone();
    let path = named.or_else(|| config.cache_dir.as_deref().map(default_key_file));
    let Some(path) = path else {
        return Ok(InstallationKey::ephemeral());
    };
    if config
        .cache_dir
        .as_ref()
        .is_some_and(|dir| path.starts_with(dir))
    {
        return Err(RuntimeError::KeyFile {
            path,
            message: "it is inside `cache_dir`; keep the key outside the cache directory".into(),
        });
    }
    InstallationKey::load_or_create(&path)
}

/// Where the key lives when the config names none: beside the cache directory, never inside it.
pub(crate) fn default_key_file(cache_dir: &Path) -> PathBuf {
    let mut name = cache_dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "cache".into());
    name.push(".key");
    cache_dir.with_file_name(name)
}

fn random_key() -> [u8; KEY_BYTES] {
    use rand::TryRngCore;
    let mut bytes = [0u8; KEY_BYTES];
    // The OS generator only fails when the OS has no entropy source at all: nothing to fall back on.
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .unwrap_or_else(|e| panic!("the operating system's random generator failed: {e}"));
    bytes
}

fn read_key(path: &Path) -> Result<InstallationKey, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err("group or others may access it; run `chmod 600` on it".to_owned());
    }
    if meta.len() > 1024 {
        return Err("it is not a key file (too large); remove it to create a new key".to_owned());
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    parse_hex_key(text.trim())
        .map(|bytes| InstallationKey {
            bytes: Arc::new(bytes),
        })
        .ok_or_else(|| "it does not hold 64 hex characters; remove it to create a new key".into())
}

fn parse_hex_key(text: &str) -> Option<[u8; KEY_BYTES]> {
    if text.len() != KEY_BYTES * 2 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; KEY_BYTES];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}

/// Writes a fresh key aside (0600) and links it into place, so a concurrent reader never sees a
/// half-written key; when another process won the race, its key is used.
fn create_key(path: &Path) -> Result<InstallationKey, String> {
    let bytes = random_key();
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let written = write_private(&tmp, &hex(&bytes)).and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(InstallationKey {
            bytes: Arc::new(bytes),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(path),
        Err(e) => Err(e.to_string()),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprint_ignores_key_order_and_depends_on_the_key() {
        let key = DigestKey::ephemeral();
        let a = key.fingerprint("k", &json!({"a": 1, "b": [1, {"y": 2, "x": 3}]}));
        let b = key.fingerprint("k", &json!({"b": [1, {"x": 3, "y": 2}], "a": 1}));
        assert_eq!(a, b);
        assert_ne!(a, key.fingerprint("other", &json!({"a": 1})));
        let other = DigestKey::ephemeral();
        assert_ne!(
            a,
            other.fingerprint("k", &json!({"a": 1, "b": [1, {"y": 2, "x": 3}]}))
        );
    }

    #[test]
    fn a_digest_is_not_the_plain_sha256() {
        use sha2::Digest;
        let key = DigestKey::ephemeral();
        let plain = hex(&Sha256::digest(b"1234"));
        assert_ne!(key.hex_mac(b"1234"), plain);
        assert_eq!(key.hex_mac(b"1234").len(), 64);
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mut bytes = [0u8; KEY_BYTES];
        bytes[..4].copy_from_slice(b"Jefe");
        // HMAC pads short keys with zeros, so "Jefe" and "Jefe" + 28 zero bytes are the same key.
        let key = DigestKey::from_bytes(bytes);
        let tag = key.mac(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex(&tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(key.verify(&[b"what do ya want for nothing?"], &tag));
        assert!(!key.verify(&[b"what do ya want for nothing!"], &tag));
    }

    #[test]
    fn the_key_file_is_created_0600_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state/install.key");
        let created = InstallationKey::load_or_create(&path).expect("created");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let read = InstallationKey::load_or_create(&path).expect("read");
        assert_eq!(created.bytes, read.bytes);
        let leftovers = std::fs::read_dir(path.parent().expect("parent"))
            .expect("dir")
            .count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("install.key");
        InstallationKey::load_or_create(&path).expect("created");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let Err(err) = InstallationKey::load_or_create(&path) else {
            panic!("a readable key file was accepted")
        };
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn a_key_file_inside_the_cache_dir_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache_dir = dir.path().join("cache");
        let config = RuntimeConfig {
            cache_dir: Some(cache_dir.clone()),
            key_file: Some(cache_dir.join("k")),
            ..RuntimeConfig::default()
        };
        let Err(err) = installation_key(&config) else {
            panic!("a key inside the cache was accepted")
        };
        assert!(
            err.to_string().contains("outside the cache directory"),
            "{err}"
        );
        let config = RuntimeConfig {
            key_file: None,
            ..config
        };
        installation_key(&config).expect("default key");
        assert!(dir.path().join("cache.key").is_file());
    }

    #[test]
    fn the_default_key_file_is_beside_the_cache_dir() {
        assert_eq!(
            default_key_file(Path::new("/var/sb/cache")),
            PathBuf::from("/var/sb/cache.key")
        );
    }
}
