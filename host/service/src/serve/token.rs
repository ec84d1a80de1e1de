//! Bearer and URL tokens: compared in constant time, taken from the environment when the config
//! names a variable, otherwise generated on first start and kept in the data directory (mode
//! 0600) so the webhook URL stays the same across restarts.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// A secret token.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(value: String) -> Self {
        Token(value)
    }

    /// Whether `candidate` is this token, in time independent of where they differ.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }

    /// The token itself (for the webhook URL printed at start-up).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads the token kept in `file`, or creates one (32 random bytes, hex) with mode 0600.
    pub fn load_or_create(file: &Path) -> anyhow::Result<Token> {
        if let Ok(text) = std::fs::read_to_string(file) {
            let text = text.trim();
            anyhow::ensure!(
                text.len() >= 16,
                "{} holds a token shorter than 16 characters; delete the file to get a new one",
                file.display()
            );
            return Ok(Token(text.to_owned()));
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = crate::hex(&bytes);
        write_private(file, token.as_bytes())
            .with_context(|| format!("cannot write the token file {}", file.display()))?;
        Ok(Token(token))
    }
}

/// Creates `file` readable by its owner only, with `bytes`.
pub fn write_private(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file)?;
    out.write_all(bytes)?;
    out.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_themselves() {
        let token = Token::new("abcdef0123456789".into());
        assert!(token.matches("abcdef0123456789"));
        assert!(!token.matches("abcdef012345678"));
        assert!(!token.matches("abcdef0123456788"));
        assert!(!token.matches(""));
    }

    #[test]
    fn a_generated_token_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("webhook.token");
        let first = Token::load_or_create(&file).expect("created");
        let again = Token::load_or_create(&file).expect("read");
        assert_eq!(first.expose(), again.expose());
        assert_eq!(first.expose().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
