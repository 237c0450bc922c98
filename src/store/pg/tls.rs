//! TLS for database connections with the same trust as every other client (`crate::net`): the
//! system trust store plus the CAs of `BACKLINE_CA_FILE`. rustls always checks the server's
//! certificate and name; `sslmode=disable` in the URL turns TLS off, `require` (or stricter)
//! refuses a server without it, and the default `prefer` uses it when the server offers it.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::net::Network;

/// The trust settings could not be turned into a TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file is unreadable or holds no certificate rustls accepts.
    #[error("CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("could not configure TLS for the database: {0}")]
    Config(String),
}

/// The connector tokio-postgres uses.
pub type Connector = tokio_postgres_rustls::MakeRustlsConnect;

/// A connector trusting what `network` trusts.
pub fn connector(network: &Network) -> Result<Connector, TlsError> {
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(
        client_config(network.ca_file())?,
    ))
}

/// The rustls configuration: the system store (as `crate::net::roots` reads it) plus `ca_file`.
pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for error in &system.errors {
        tracing::warn!(error = %error, "could not read part of the system trust store");
    }
    // The system stores hold the odd certificate rustls cannot parse: skip those.
    let (_added, _skipped) = roots.add_parsable_certificates(system.certs);
    if let Some(path) = ca_file {
        for cert in ca_file_certs(path)? {
            roots.add(cert).map_err(|e| TlsError::CaFile {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn ca_file_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |reason: String| TlsError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(format!("not a PEM bundle: {e}")))?;
    if certs.is_empty() {
        return Err(error(
            "holds no certificate (expected -----BEGIN CERTIFICATE----- blocks)".into(),
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_file_is_trusted_and_a_bad_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["db.test".into()]).unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, ca.cert.pem()).unwrap();
        assert!(client_config(Some(&good)).is_ok());
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let err = client_config(Some(&empty)).unwrap_err().to_string();
        assert!(err.contains("holds no certificate"), "{err}");
        let missing = client_config(Some(&dir.path().join("absent.pem"))).unwrap_err();
        assert!(missing.to_string().contains("absent.pem"), "{missing}");
    }
}
