//! Why a request could not be made, with a refused certificate told apart: it names the host
//! and the fix (`BACKLINE_CA_FILE`), since "UnknownIssuer" alone leaves an admin guessing.

use std::error::Error;
use std::fmt;

/// A transport failure, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server's TLS certificate was refused.
    Certificate {
        /// `host` or `host:port` (when not the scheme's default).
        host: String,
        /// rustls's reason (`UnknownIssuer`, `Expired`, `NotValidForName`...).
        reason: String,
    },
    /// Anything else: the error and its sources.
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Certificate { host, reason } => write!(
                f,
                "the TLS certificate of {host} was refused ({reason}); if {host} uses a private \
                 or TLS-intercepting CA, put that CA's certificate (PEM) in a file and point \
                 BACKLINE_CA_FILE (--ca-file, config key ca_file) at it"
            ),
            Failure::Other(message) => f.write_str(message),
        }
    }
}

/// Describes a reqwest error met while calling `url` (the URL itself, which may carry a query
/// with secrets, is not part of the text).
pub fn describe(error: &reqwest::Error, url: &reqwest::Url) -> Failure {
    if let Some(reason) = certificate_reason(error) {
        let host = url.host_str().unwrap_or("the server").to_string();
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        return Failure::Certificate { host, reason };
    }
    Failure::Other(chain(&error_without_url(error)))
}

fn error_without_url(error: &reqwest::Error) -> impl Error + '_ {
    struct NoUrl<'a>(&'a reqwest::Error);
    impl fmt::Debug for NoUrl<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(self.0, f)
        }
    }
    impl fmt::Display for NoUrl<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // reqwest's Display appends " for url (...)"; keep only its own words.
            let full = self.0.to_string();
            let text = match self.0.url() {
                Some(url) => full.replace(&format!(" for url ({url})"), ""),
                None => full,
            };
            f.write_str(&text)
        }
    }
    impl Error for NoUrl<'_> {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.0.source()
        }
    }
    NoUrl(error)
}

/// The error and each of its sources, joined by `: `.
pub fn chain(e: &dyn Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

/// rustls's reason when the error, or any error under it, is a refused certificate.
pub fn certificate_reason(error: &(dyn Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(reason) = rustls_reason(e) {
            return Some(reason);
        }
        // An io::Error's source() skips the error it wraps; look at that one too.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if let Some(reason) = certificate_reason(inner) {
                return Some(reason);
            }
        }
        current = e.source();
    }
    None
}

fn rustls_reason(e: &(dyn Error + 'static)) -> Option<String> {
    match e.downcast_ref::<rustls::Error>()? {
        rustls::Error::InvalidCertificate(reason) => Some(format!("{reason:?}")),
        rustls::Error::NoCertificatesPresented => Some("no certificate presented".to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_certificate_error_inside_an_io_error() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl Error for Outer {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(
            certificate_reason(&Outer(io)).as_deref(),
            Some("UnknownIssuer")
        );
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(certificate_reason(&plain), None);
    }

    #[test]
    fn the_message_names_the_host_and_the_fix() {
        let f = Failure::Certificate {
            host: "gitlab.corp:8443".into(),
            reason: "UnknownIssuer".into(),
        };
        let text = f.to_string();
        assert!(text.contains("gitlab.corp:8443") && text.contains("BACKLINE_CA_FILE"));
        assert!(text.contains("UnknownIssuer"));
    }
}
