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

/// The rustls configuration: the system store (read once by `crate::net::roots`) plus `ca_file`.
pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    // Read once per process by `net` (only certificates rustls can parse).
    let (_added, _skipped) =
        roots.add_parsable_certificates(crate::net::roots::system_der().iter().cloned());
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

    /// A CA made here, and a server certificate for `localhost` it signed.
    fn pki() -> (String, tokio_rustls::TlsAcceptor) {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], key)
            .unwrap();
        (ca.pem(), tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }

    /// A loopback stand-in for PostgreSQL's front door (the protocol's `SSLRequest`, then TLS):
    /// it reads the startup message over TLS, reports whether it got one, and refuses the
    /// login with a FATAL error.
    async fn tls_front_door(
        acceptor: tokio_rustls::TlsAcceptor,
    ) -> (u16, tokio::sync::oneshot::Receiver<bool>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (seen, told) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 8];
            tcp.read_exact(&mut request).await.unwrap();
            // SSLRequest: length 8, code 80877103.
            assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47]);
            tcp.write_all(b"S").await.unwrap();
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                let _ = seen.send(false);
                return;
            };
            let mut len = [0u8; 4];
            let got = tls.read_exact(&mut len).await.is_ok();
            let mut startup = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
            let got = got && tls.read_exact(&mut startup).await.is_ok();
            let got = got && startup.windows(4).any(|w| w == b"user");
            let mut fields = Vec::new();
            for (code, text) in [
                (b'S', "FATAL"),
                (b'C', "28000"),
                (b'M', "front door says no"),
            ] {
                fields.push(code);
                fields.extend_from_slice(text.as_bytes());
                fields.push(0);
            }
            fields.push(0);
            let mut message = vec![b'E'];
            message.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
            message.extend_from_slice(&fields);
            let _ = tls.write_all(&message).await;
            let _ = tls.flush().await;
            let _ = seen.send(got);
        });
        (port, told)
    }

    async fn connect_through(ca_file: Option<&Path>, port: u16) -> String {
        let url = crate::store::pg::DatabaseUrl::parse(&format!(
            "postgres://bot:tls-pw@localhost:{port}/backline?sslmode=require&hostaddr=127.0.0.1"
        ))
        .unwrap();
        let network =
            Network::load(ca_file, crate::net::ProxySettings::none()).expect("usable CA file");
        let store = crate::store::pg::PgStore::connect(&url, &network, 1).unwrap();
        store.client().await.map(|_| ()).unwrap_err().to_string()
    }

    #[tokio::test]
    async fn connections_trust_the_ca_file_and_refuse_an_unknown_issuer() {
        let dir = tempfile::tempdir().unwrap();
        let (ca_pem, acceptor) = pki();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem).unwrap();
        // Trusted through BACKLINE_CA_FILE: TLS is set up and the login reaches the server.
        let (port, seen) = tls_front_door(acceptor.clone()).await;
        let err = connect_through(Some(&ca), port).await;
        assert!(seen.await.unwrap(), "the startup message came over TLS");
        assert!(err.contains("front door says no"), "{err}");
        assert!(!err.contains("tls-pw"), "{err}");
        // The system store alone does not know this CA: refused before any login is sent.
        let (port, seen) = tls_front_door(acceptor).await;
        let err = connect_through(None, port).await;
        assert!(
            !seen.await.unwrap(),
            "nothing was sent to an untrusted server"
        );
        assert!(err.to_lowercase().contains("certificate"), "{err}");
        assert!(
            err.contains("localhost") && !err.contains("tls-pw"),
            "{err}"
        );
    }
}
