//! TLS for PostgreSQL connections, chosen by the connection string's `sslmode` as libpq
//! documents it, with rustls:
//!
//! - `disable`: plaintext only.
//! - `prefer` (libpq's default): TLS when the server offers it, plaintext otherwise; the
//!   certificate is not verified (libpq does not verify it either without `sslrootcert`).
//! - `require`: TLS or no connection; the certificate is verified only when `sslrootcert`
//!   names the roots to trust (as libpq does).
//! - `verify-ca` and `verify-full`: TLS, with the chain verified against `sslrootcert` (a PEM
//!   file) or, without it, the Mozilla roots; the host name is checked in both (stricter than
//!   libpq's `verify-ca`).
//!
//! tokio-postgres itself knows only `disable`, `prefer` and `require`, so `sslmode` and
//! `sslrootcert` are read here and the string it parses says `require` for the verifying modes.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A parsed connection string and the TLS connector its `sslmode` asks for.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: MakeRustlsConnect,
    /// `sslmode` is `require` or stronger: no connection without TLS.
    pub(crate) requires_tls: bool,
}

/// The `sslmode` values this store understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    Verify,
}

/// Parses `url` (a `postgres://` URL or `key=value` pairs) with its TLS settings.
pub(crate) fn parse(url: &str) -> Result<Endpoint, String> {
    let (rest, mode) = take_param(url, "sslmode");
    let (rest, root) = take_param(&rest, "sslrootcert");
    let mode = match mode.as_deref() {
        None | Some("prefer") => Mode::Prefer,
        Some("disable") => Mode::Disable,
        Some("require") => Mode::Require,
        Some("verify-ca" | "verify-full") => Mode::Verify,
        Some(other) => {
            return Err(format!(
                "sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full"
            ));
        }
    };
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e| format!("{e}"))?;
    config.ssl_mode(match mode {
        Mode::Disable => SslMode::Disable,
        Mode::Prefer => SslMode::Prefer,
        Mode::Require | Mode::Verify => SslMode::Require,
    });
    let tls = MakeRustlsConnect::new(client_config(mode, root.as_deref())?);
    let requires_tls = matches!(mode, Mode::Require | Mode::Verify);
    Ok(Endpoint {
        config,
        tls,
        requires_tls,
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(mode: Mode, root: Option<&str>) -> Result<ClientConfig, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let verify = mode == Mode::Verify || (mode == Mode::Require && root.is_some());
    let config = if verify {
        builder
            .with_root_certificates(roots(root)?)
            .with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider())))
            .with_no_client_auth()
    };
    Ok(config)
}

/// The roots to trust: the PEM file `sslrootcert` names, else the Mozilla roots.
fn roots(file: Option<&str>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let Some(file) = file else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    };
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| format!("cannot read sslrootcert `{file}`: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("sslrootcert `{file}` is not PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert `{file}` holds a bad certificate: {e}"))?;
    }
    Ok(roots)
}

/// Why connecting failed: the error with its causes, and what to do when TLS was required.
pub(crate) fn connect_failure(endpoint: &Endpoint, error: &dyn std::error::Error) -> String {
    let mut reason = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        reason.push_str(&format!(": {e}"));
        cause = e.source();
    }
    if endpoint.requires_tls {
        reason.push_str(
            "; this url requires TLS (`sslmode=require`, `verify-ca` or `verify-full`): enable ssl on \
             the server, or use `sslmode=prefer` to fall back to plaintext",
        );
    }
    reason
}

/// The connection string without its TLS parameters (for showing where the store is).
pub(crate) fn without_tls_params(url: &str) -> String {
    take_param(&take_param(url, "sslmode").0, "sslrootcert").0
}

/// Removes `key=value` from a URL's query or from `key=value` pairs; returns the rest and the
/// value.
fn take_param(url: &str, key: &str) -> (String, Option<String>) {
    let prefix = format!("{key}=");
    if let Some((base, query)) = url.split_once('?') {
        let (found, kept): (Vec<&str>, Vec<&str>) =
            query.split('&').partition(|p| p.starts_with(&prefix));
        let value = found.last().map(|p| p[prefix.len()..].to_owned());
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return (rest, value);
    }
    if url.contains("://") {
        return (url.to_owned(), None);
    }
    let (found, kept): (Vec<&str>, Vec<&str>) =
        url.split_whitespace().partition(|p| p.starts_with(&prefix));
    let value = found.last().map(|p| p[prefix.len()..].to_owned());
    (kept.join(" "), value)
}

/// Accepts any server certificate (`prefer`, and `require` without `sslrootcert`, as libpq):
/// the connection is encrypted, not authenticated. Handshake signatures are still checked.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, key: &str, rest: &str, value: Option<&str>) {
        let (r, v) = take_param(url, key);
        assert_eq!((r.as_str(), v.as_deref()), (rest, value), "{url}");
    }

    #[test]
    fn sslmode_is_taken_from_urls_and_key_value_strings() {
        check(
            "postgres://h/db?sslmode=verify-full",
            "sslmode",
            "postgres://h/db",
            Some("verify-full"),
        );
        check(
            "postgres://h/db?a=1&sslmode=require&b=2",
            "sslmode",
            "postgres://h/db?a=1&b=2",
            Some("require"),
        );
        check("postgres://h/db", "sslmode", "postgres://h/db", None);
        check(
            "host=h sslmode=disable dbname=d",
            "sslmode",
            "host=h dbname=d",
            Some("disable"),
        );
    }

    #[test]
    fn modes_map_to_what_tokio_postgres_knows() {
        let mode = |url: &str| parse(url).map(|c| c.config.get_ssl_mode());
        assert_eq!(
            mode("postgres://h/db"),
            Ok(SslMode::Prefer),
            "libpq's default"
        );
        assert_eq!(
            mode("postgres://h/db?sslmode=disable"),
            Ok(SslMode::Disable)
        );
        assert_eq!(
            mode("postgres://h/db?sslmode=verify-full"),
            Ok(SslMode::Require)
        );
        let wrong = parse("postgres://h/db?sslmode=always").map(|_| ());
        assert!(wrong.is_err_and(|e| e.contains("verify-full")));
    }
}
