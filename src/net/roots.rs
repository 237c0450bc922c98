//! The certificates trusted: the system trust store (read once per process) and a PEM bundle.

use std::path::Path;
use std::sync::OnceLock;

use super::NetError;

/// The system trust store's certificates that rustls can use, read once per process (as curl
/// and OpenSSL find them: `SSL_CERT_FILE`, `SSL_CERT_DIR`, then the platform's usual places).
/// Every client trusts these: reqwest's through [`system_roots`], PostgreSQL's directly.
pub fn system_der() -> &'static [rustls::pki_types::CertificateDer<'static>] {
    static DER: OnceLock<Vec<rustls::pki_types::CertificateDer<'static>>> = OnceLock::new();
    DER.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!(error = %error, "could not read part of the system trust store");
        }
        loaded
            .certs
            .into_iter()
            // The system stores hold the odd certificate rustls cannot parse; skip those
            // rather than refusing to build a client.
            .filter(|der| rustls::RootCertStore::empty().add(der.clone()).is_ok())
            .collect()
    })
}

/// [`system_der`] as reqwest certificates.
pub fn system_roots() -> &'static [reqwest::Certificate] {
    static ROOTS: OnceLock<Vec<reqwest::Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        system_der()
            .iter()
            .filter_map(|der| reqwest::Certificate::from_der(der).ok())
            .collect()
    })
}

/// The certificates of a PEM bundle; at least one, each a valid trust anchor.
pub fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, NetError> {
    let error = |reason: String| NetError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| error(format!("not a PEM bundle: {}", super::failure::chain(&e))))?;
    if certs.is_empty() {
        return Err(error(
            "holds no certificate (expected -----BEGIN CERTIFICATE----- blocks)".into(),
        ));
    }
    Ok(certs)
}
