//! Outgoing TLS and proxies: every client (GitLab, registries, OSV downloads) trusts the system
//! store plus BACKLINE_CA_FILE, says whose certificate it refused and how to fix it, and goes
//! through HTTP(S)_PROXY unless NO_PROXY says otherwise. The servers are loopback ones made
//! here, with a CA made by rcgen in the test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backline::advisories::sync::{sync, Outcome, SyncOptions};
use backline::ecosystem::Ecosystem;
use backline::gitlab::{ClientConfig, GitLab, GitLabError};
use backline::net::{Network, ProxySettings};
use backline::registry::{HttpRegistry, Registry, RegistryConfig};
use backline::secret::Secret;
use backline::store::Store;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// A test CA and a server certificate it signed for `localhost` and `127.0.0.1`.
struct TestPki {
    ca_pem: String,
    server: tokio_rustls::TlsAcceptor,
}

fn pki() -> TestPki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "backline test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key =
        tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    TestPki {
        ca_pem: ca.pem(),
        server: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    }
}

/// Request lines a test server received.
type Seen = Arc<Mutex<Vec<String>>>;

/// A loopback HTTP(S) server that answers `/api/v4/version` (in origin or absolute form, so it
/// also serves as a forward proxy) and 404 to everything else, one request per connection.
async fn server(tls: Option<tokio_rustls::TlsAcceptor>) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let log = log.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    // A refused handshake ends here; that is what the client is tested for.
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            answer(stream, &log).await;
                        }
                    }
                    None => answer(tcp, &log).await,
                }
            });
        }
    });
    (addr, seen)
}

async fn answer(mut stream: impl AsyncRead + AsyncWrite + Unpin, seen: &Seen) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or("").to_string();
    seen.lock().unwrap().push(line.clone());
    let (status, body) = if line.contains("/api/v4/version ") {
        ("200 OK", r#"{"version":"17.5.0","revision":"abc"}"#)
    } else {
        ("404 Not Found", r#"{"message":"404 Not Found"}"#)
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn ca_file(dir: &tempfile::TempDir, pem: &str) -> PathBuf {
    let path = dir.path().join("corp-ca.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

fn gitlab(url: &str, network: Network) -> GitLab {
    let mut config = ClientConfig::new(url, Secret::new("glpat-tls-test"));
    config.network = network;
    config.timeout = Duration::from_secs(10);
    GitLab::new(config).unwrap()
}

#[tokio::test]
async fn gitlab_behind_a_private_ca_is_refused_with_the_fix_then_reached_with_ca_file() {
    let pki = pki();
    let (addr, seen) = server(Some(pki.server.clone())).await;
    let url = format!("https://127.0.0.1:{}", addr.port());

    let refused = gitlab(&url, Network::load(None, ProxySettings::none()).unwrap())
        .version()
        .await
        .unwrap_err();
    let text = refused.to_string();
    assert!(matches!(refused, GitLabError::Transport { .. }), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{}", addr.port())),
        "names the host: {text}"
    );
    assert!(text.contains("BACKLINE_CA_FILE"), "names the fix: {text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(!text.contains("glpat-tls-test"));
    assert!(seen.lock().unwrap().is_empty(), "no request got through");

    let dir = tempfile::tempdir().unwrap();
    let network = Network::load(Some(&ca_file(&dir, &pki.ca_pem)), ProxySettings::none()).unwrap();
    let version = gitlab(&url, network).version().await.unwrap();
    assert_eq!(version.version, "17.5.0");
    // Also by name: the certificate is for localhost too.
    let network = Network::load(Some(&ca_file(&dir, &pki.ca_pem)), ProxySettings::none()).unwrap();
    let by_name = format!("https://localhost:{}", addr.port());
    assert!(gitlab(&by_name, network).version().await.is_ok());
}

#[tokio::test]
async fn registries_and_osv_downloads_share_the_trust() {
    let pki = pki();
    let (addr, _) = server(Some(pki.server.clone())).await;
    let root = format!("https://127.0.0.1:{}", addr.port());
    let dir = tempfile::tempdir().unwrap();
    let with_ca = Network::load(Some(&ca_file(&dir, &pki.ca_pem)), ProxySettings::none()).unwrap();

    for (network, trusted) in [
        (Network::load(None, ProxySettings::none()).unwrap(), false),
        (with_ca.clone(), true),
    ] {
        let registry = HttpRegistry::new(RegistryConfig {
            network: network.clone(),
            attempts: 1,
            ..RegistryConfig::simulator(&root)
        })
        .unwrap();
        let result = registry.crate_versions("serde").await;
        match (trusted, result) {
            (true, Ok(versions)) => assert!(versions.is_empty()),
            (false, Err(e)) => {
                let text = e.to_string();
                assert!(text.contains("BACKLINE_CA_FILE"), "{text}");
                assert!(
                    text.contains(&format!("127.0.0.1:{}", addr.port())),
                    "{text}"
                );
            }
            (trusted, other) => panic!("trusted={trusted}: {other:?}"),
        }

        let store_dir = tempfile::tempdir().unwrap();
        let store = Store::open(store_dir.path()).unwrap();
        let options = SyncOptions {
            base_url: root.clone(),
            ecosystems: vec![Ecosystem::Go],
            network,
            ..Default::default()
        };
        let report = sync(&store, &options).await.unwrap();
        let outcome = &report.outcomes[0].1;
        let certificate_refused =
            matches!(outcome, Outcome::Failed(m) if m.contains("BACKLINE_CA_FILE"));
        assert_eq!(certificate_refused, !trusted, "{outcome:?}");
    }
}

#[tokio::test]
async fn requests_go_through_the_proxy_unless_no_proxy_names_the_host() {
    let (proxy, through_proxy) = server(None).await;
    let (target, direct) = server(None).await;
    let url = format!("http://127.0.0.1:{}", target.port());
    let proxied = ProxySettings {
        http: Some(format!("http://127.0.0.1:{}", proxy.port())),
        ..Default::default()
    };

    let network = Network::load(None, proxied.clone()).unwrap();
    gitlab(&url, network).version().await.unwrap();
    assert_eq!(
        through_proxy.lock().unwrap().as_slice(),
        [format!("GET {url}/api/v4/version HTTP/1.1")]
    );
    assert!(direct.lock().unwrap().is_empty());

    let bypass = ProxySettings {
        no_proxy: Some("localhost,127.0.0.1".into()),
        ..proxied
    };
    gitlab(&url, Network::load(None, bypass).unwrap())
        .version()
        .await
        .unwrap();
    assert_eq!(
        direct.lock().unwrap().as_slice(),
        ["GET /api/v4/version HTTP/1.1".to_string()]
    );
    assert_eq!(through_proxy.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn doctor_names_the_refused_certificate_and_the_ca_file_fix() {
    let pki = pki();
    let (addr, _) = server(Some(pki.server.clone())).await;
    let url = format!("https://127.0.0.1:{}", addr.port());
    let dir = tempfile::tempdir().unwrap();
    let doctor = |ca: Option<PathBuf>| {
        let mut cmd = crate::binary::command(&[
            "doctor",
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
        ]);
        cmd.env("BACKLINE_GITLAB_URL", &url)
            .env("BACKLINE_GITLAB_TOKEN", "glpat-doctor-tls")
            .env("BACKLINE_CRATES_INDEX_URL", format!("{url}/crates"))
            .env("BACKLINE_NPM_REGISTRY_URL", format!("{url}/npm"))
            .env("BACKLINE_PYPI_URL", format!("{url}/pypi"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        match ca {
            Some(path) => cmd.env("BACKLINE_CA_FILE", path),
            None => cmd.env_remove("BACKLINE_CA_FILE"),
        };
        cmd
    };
    let out = doctor(None).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let gitlab_line = stdout
        .lines()
        .find(|l| l.starts_with("✗ GitLab "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(gitlab_line.contains("certificate"), "{stdout}");
    assert!(stdout.contains("BACKLINE_CA_FILE"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("✗ npm registry") && l.contains("certificate")),
        "{stdout}"
    );

    // With the CA file the chain is trusted: no certificate complaint is left (the test server
    // is no GitLab, so the checks after the handshake may still fail).
    let out = doctor(Some(ca_file(&dir, &pki.ca_pem)))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("certificate"), "{stdout}");
    assert!(stdout.contains("✓ npm registry"), "{stdout}");
    assert!(!stdout.contains("glpat-doctor-tls"));
}
