//! Go module proxies (the GOPROXY protocol, https://go.dev/ref/mod#goproxy-protocol) as data:
//! module path and version escaping for URLs, the `GOPROXY` list, and the facts a go.mod /
//! go.sum patch needs about one module version. Fetching is the `backline` crate's
//! `registry` module; the hashes are computed there from the downloaded `.mod` and `.zip`
//! with [`crate::ecosystems::gomod::dirhash`], never taken from anywhere else.

use serde::{Deserialize, Serialize};

/// One module version, as a go.mod / go.sum patch needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoModule {
    /// The module path (`golang.org/x/net`).
    pub path: String,
    /// The version as Go writes it (`v0.23.0`).
    pub version: String,
    /// The module's `go.mod`, as `/@v/<version>.mod` serves it.
    pub go_mod: String,
    /// go.sum's `h1:` of the module zip (`dirhash.HashZip`).
    pub zip_hash: String,
    /// go.sum's `h1:` of the go.mod (the `/go.mod` line).
    pub go_mod_hash: String,
}

/// Why a path or version cannot be put in a proxy URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscapeError {
    /// Empty, or a character module paths never have (golang.org/x/mod/module.CheckPath).
    #[error("invalid module path `{0}`")]
    Path(String),
    /// A version with characters versions never have.
    #[error("invalid module version `{0}`")]
    Version(String),
}

/// The case-encoded path (golang.org/x/mod/module.EscapePath): every upper-case letter
/// becomes `!` and its lower case (`github.com/Azure/x` → `github.com/!azure/x`), so that
/// case-insensitive file systems and URLs keep modules apart.
pub fn escape_path(path: &str) -> Result<String, EscapeError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '/');
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.ends_with('/')
        || path.contains("//")
        || path
            .split('/')
            .any(|e| e == "." || e == ".." || e.is_empty())
        || !path.chars().all(ok_char);
    if bad {
        return Err(EscapeError::Path(path.to_string()));
    }
    Ok(escape_upper(path))
}

/// The case-encoded version (golang.org/x/mod/module.EscapeVersion).
pub fn escape_version(version: &str) -> Result<String, EscapeError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+' | '_' | '~');
    if version.is_empty() || version.starts_with('.') || !version.chars().all(ok_char) {
        return Err(EscapeError::Version(version.to_string()));
    }
    Ok(escape_upper(version))
}

fn escape_upper(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A version as Go writes it: `0.23.0` (OSV's form) → `v0.23.0`; `v0.23.0` stays.
pub fn go_version(v: &str) -> String {
    if v.starts_with('v') {
        v.to_string()
    } else {
        format!("v{v}")
    }
}

/// The `/@v/list` answer: one version a line (blank lines and anything after a space, as
/// `go` reads it, ignored).
pub fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// One entry of `GOPROXY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyEntry {
    /// An `https://` or `http://` proxy root.
    Url(String),
    /// `direct`: fetch from the version control system (backline has none: it stops here with
    /// "not found").
    Direct,
    /// `off`: no fetching at all from here on.
    Off,
}

/// When the next entry is tried after this one fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// `,`: only when this proxy answers 404 or 410.
    OnNotFound,
    /// `|`: after any error.
    OnAnyError,
}

/// A parsed `GOPROXY` (as cmd/go/internal/modfetch/proxy.go's proxyList reads it): entries
/// separated by `,` (next on 404/410) or `|` (next on any error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyList {
    /// Each entry and the rule for moving past it.
    pub entries: Vec<(ProxyEntry, Fallback)>,
}

/// Why a `GOPROXY` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyListError {
    /// Nothing in it.
    #[error("GOPROXY is empty")]
    Empty,
    /// An entry that is not a URL, `direct` or `off` (`file://` is not supported).
    #[error(
        "GOPROXY entry `{0}` is not an http(s) URL, `direct` or `off` (file:// is not supported)"
    )]
    Entry(String),
}

impl ProxyList {
    /// Parses `GOPROXY`. As `go` does, a plain host (`proxy.example.com`) means `https://` it.
    pub fn parse(value: &str) -> Result<Self, ProxyListError> {
        let mut entries = Vec::new();
        let mut rest = value.trim();
        while !rest.is_empty() {
            let (item, sep, next) = match rest.find([',', '|']) {
                Some(i) => (&rest[..i], Some(rest.as_bytes()[i]), &rest[i + 1..]),
                None => (rest, None, ""),
            };
            rest = next;
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let entry = match item {
                "direct" => ProxyEntry::Direct,
                "off" => ProxyEntry::Off,
                u if u.starts_with("https://") || u.starts_with("http://") => {
                    ProxyEntry::Url(u.trim_end_matches('/').to_string())
                }
                u if !u.contains("://") && !u.contains(char::is_whitespace) => {
                    ProxyEntry::Url(format!("https://{}", u.trim_end_matches('/')))
                }
                other => return Err(ProxyListError::Entry(other.to_string())),
            };
            let fallback = match sep {
                Some(b'|') => Fallback::OnAnyError,
                _ => Fallback::OnNotFound,
            };
            entries.push((entry, fallback));
        }
        if entries.is_empty() {
            return Err(ProxyListError::Empty);
        }
        Ok(ProxyList { entries })
    }

    /// The proxy URLs in order, up to the first `direct` or `off`.
    pub fn urls(&self) -> impl Iterator<Item = (&str, Fallback)> {
        self.entries.iter().map_while(|(e, f)| match e {
            ProxyEntry::Url(u) => Some((u.as_str(), *f)),
            _ => None,
        })
    }
}

/// `<proxy>/<escaped path>/@v/<escaped version>.<ext>` (`ext` is `info`, `mod` or `zip`).
pub fn version_url(
    proxy: &str,
    path: &str,
    version: &str,
    ext: &str,
) -> Result<String, EscapeError> {
    Ok(format!(
        "{}/{}/@v/{}.{ext}",
        proxy.trim_end_matches('/'),
        escape_path(path)?,
        escape_version(version)?
    ))
}

/// `<proxy>/<escaped path>/@v/list`.
pub fn list_url(proxy: &str, path: &str) -> Result<String, EscapeError> {
    Ok(format!(
        "{}/{}/@v/list",
        proxy.trim_end_matches('/'),
        escape_path(path)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_as_golang_org_x_mod_module_does() {
        assert_eq!(
            escape_path("github.com/Azure/azure-sdk-for-go").unwrap(),
            "github.com/!azure/azure-sdk-for-go"
        );
        assert_eq!(
            escape_path("github.com/BurntSushi/toml").unwrap(),
            "github.com/!burnt!sushi/toml"
        );
        assert_eq!(escape_path("golang.org/x/net").unwrap(), "golang.org/x/net");
        for bad in ["", "/a", "a/", "a//b", "a/../b", "a b", "a?b", "a/./b"] {
            assert!(escape_path(bad).is_err(), "{bad}");
        }
        assert_eq!(escape_version("v1.0.0-RC1").unwrap(), "v1.0.0-!r!c1");
        assert!(escape_version("v1/../x").is_err());
        assert_eq!(
            version_url(
                "https://proxy.golang.org/",
                "github.com/Sirupsen/logrus",
                "v1.0.0",
                "zip"
            )
            .unwrap(),
            "https://proxy.golang.org/github.com/!sirupsen/logrus/@v/v1.0.0.zip"
        );
        assert_eq!(go_version("0.23.0"), "v0.23.0");
        assert_eq!(go_version("v2.0.0+incompatible"), "v2.0.0+incompatible");
        assert_eq!(
            parse_list("v0.1.0\n\nv0.2.0 2020-01-01\n"),
            ["v0.1.0", "v0.2.0"]
        );
    }

    #[test]
    fn goproxy_lists() {
        let l = ProxyList::parse("https://a.example/,proxy.b.example|direct").unwrap();
        assert_eq!(
            l.entries,
            [
                (
                    ProxyEntry::Url("https://a.example".into()),
                    Fallback::OnNotFound
                ),
                (
                    ProxyEntry::Url("https://proxy.b.example".into()),
                    Fallback::OnAnyError
                ),
                (ProxyEntry::Direct, Fallback::OnNotFound),
            ]
        );
        assert_eq!(l.urls().count(), 2);
        let off = ProxyList::parse("off").unwrap();
        assert_eq!(off.urls().count(), 0);
        assert_eq!(ProxyList::parse(" , "), Err(ProxyListError::Empty));
        assert!(matches!(
            ProxyList::parse("file:///srv/goproxy"),
            Err(ProxyListError::Entry(_))
        ));
        let stop = ProxyList::parse("direct,https://never.example").unwrap();
        assert_eq!(stop.urls().count(), 0, "nothing after direct is asked");
    }
}
