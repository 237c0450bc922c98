//! The proxies of `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (or their lower-case forms, which
//! win as they do for curl), read into settings that can be tested without touching the
//! process environment.

use std::fmt;

use super::NetError;

/// Which proxy each scheme goes through, and which hosts go direct.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// Proxy for `https://` URLs.
    pub https: Option<String>,
    /// Proxy for `http://` URLs.
    pub http: Option<String>,
    /// Hosts, domains (`.example.com`), IPs and CIDR blocks reached directly.
    pub no_proxy: Option<String>,
}

impl fmt::Debug for ProxySettings {
    /// Shows each proxy without its credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxySettings")
            .field("https", &self.https.as_deref().map(redact))
            .field("http", &self.http.as_deref().map(redact))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// `scheme://host:port` of a proxy URL, never its user or password.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "(unparseable)".to_string(),
    }
}

impl ProxySettings {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |upper: &str| {
            lookup(&upper.to_ascii_lowercase())
                .or_else(|| lookup(upper))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        ProxySettings {
            https: var("HTTPS_PROXY"),
            http: var("HTTP_PROXY"),
            no_proxy: var("NO_PROXY"),
        }
    }

    /// No proxy at all.
    pub fn none() -> Self {
        ProxySettings::default()
    }

    /// Sets these proxies on `builder` (replacing reqwest's own reading of the environment).
    pub fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, NetError> {
        let mut builder = builder.no_proxy();
        let no_proxy = || {
            self.no_proxy
                .as_deref()
                .and_then(reqwest::NoProxy::from_string)
        };
        if let Some(url) = &self.https {
            let proxy = reqwest::Proxy::https(url.as_str())
                .map_err(|_| NetError::Proxy {
                    variable: "HTTPS_PROXY",
                })?
                .no_proxy(no_proxy());
            builder = builder.proxy(proxy);
        }
        if let Some(url) = &self.http {
            let proxy = reqwest::Proxy::http(url.as_str())
                .map_err(|_| NetError::Proxy {
                    variable: "HTTP_PROXY",
                })?
                .no_proxy(no_proxy());
            builder = builder.proxy(proxy);
        }
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_case_wins_and_empty_is_unset() {
        let env = [
            ("HTTPS_PROXY", "http://upper:3128"),
            ("https_proxy", "http://lower:3128"),
            ("HTTP_PROXY", " "),
            ("NO_PROXY", "localhost,.internal"),
        ];
        let s = ProxySettings::from_lookup(|k| {
            env.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        });
        assert_eq!(s.https.as_deref(), Some("http://lower:3128"));
        assert_eq!(s.http, None);
        assert_eq!(s.no_proxy.as_deref(), Some("localhost,.internal"));
    }

    #[test]
    fn debug_never_shows_proxy_credentials() {
        let s = ProxySettings {
            https: Some("http://alice:hunter2@proxy.corp:3128".into()),
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(shown.contains("proxy.corp:3128"), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("alice"),
            "{shown}"
        );
    }

    #[test]
    fn a_bad_proxy_url_names_the_variable_only() {
        let s = ProxySettings {
            http: Some("::not a url with s3cret::".into()),
            ..Default::default()
        };
        let e = s.apply(reqwest::Client::builder()).unwrap_err().to_string();
        assert!(e.contains("HTTP_PROXY") && !e.contains("s3cret"), "{e}");
    }
}
