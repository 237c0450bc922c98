//! The database URL (`BACKLINE_DATABASE_URL`, `--database-url`, file key `database_url`): parsed
//! once, printed only with its password redacted. Pure: no I/O.

use std::fmt;
use std::str::FromStr;

/// What is wrong with a database URL. Never carries the URL itself (it may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a `postgres://` URL nor a `key=value` connection string.
    #[error("BACKLINE_DATABASE_URL is not a PostgreSQL connection URL (postgres://user:password@host:port/database): {0}")]
    Invalid(String),
}

/// A PostgreSQL connection URL. `Debug` and `Display` show it with the password replaced by
/// `[redacted]`; [`DatabaseUrl::config`] hands the driver the real one.
#[derive(Clone)]
pub struct DatabaseUrl {
    raw: String,
    config: tokio_postgres::Config,
}

impl DatabaseUrl {
    /// Parses a `postgres://` / `postgresql://` URL or a libpq `key=value` string.
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        let trimmed = raw.trim();
        let config = tokio_postgres::Config::from_str(trimmed)
            // The driver's message names the part it could not read, never the password.
            .map_err(|e| UrlError::Invalid(redact_text(&e.to_string(), trimmed)))?;
        if config.get_hosts().is_empty() {
            return Err(UrlError::Invalid("it names no host".into()));
        }
        Ok(DatabaseUrl {
            raw: trimmed.to_string(),
            config,
        })
    }

    /// The driver's configuration (with the password).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The same database with `schema` first on the search path (every table backline creates
    /// and reads goes there): several backlines, or tests, can share one database this way.
    /// `schema` is a plain identifier (letters, digits, `_`).
    pub fn with_schema(&self, schema: &str) -> Result<Self, UrlError> {
        let plain = !schema.is_empty()
            && !schema.starts_with(|c: char| c.is_ascii_digit())
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !plain {
            return Err(UrlError::Invalid(format!(
                "schema {schema:?} is not a plain lower-case identifier"
            )));
        }
        let mut config = self.config.clone();
        config.options(format!("-c search_path={schema}"));
        Ok(DatabaseUrl {
            raw: self.raw.clone(),
            config,
        })
    }

    /// The URL with its password replaced by `[redacted]`.
    pub fn redacted(&self) -> String {
        redact_url(&self.raw)
    }

    /// `text` (a driver or server message) with this URL's password, if any, replaced.
    pub fn scrub(&self, text: &str) -> String {
        redact_text(text, &self.raw)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl FromStr for DatabaseUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatabaseUrl::parse(s)
    }
}

const REDACTED: &str = "[redacted]";

/// `raw` with the password of a URL's user info, or of a `password=` pair, replaced.
pub fn redact_url(raw: &str) -> String {
    for scheme in ["postgres://", "postgresql://"] {
        if let Some(rest) = raw.strip_prefix(scheme) {
            // The authority ends at the first '/', '?' or '#'; user info ends at its last '@'.
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            let authority = match authority.rfind('@') {
                Some(at) => {
                    let (userinfo, host) = authority.split_at(at);
                    match userinfo.find(':') {
                        Some(colon) => format!("{}:{REDACTED}{host}", &userinfo[..colon]),
                        None => authority.to_string(),
                    }
                }
                None => authority.to_string(),
            };
            return format!("{scheme}{authority}{}", redact_query(tail));
        }
    }
    redact_pairs(raw)
}

/// A URL's query with a `password=` parameter's value replaced.
fn redact_query(tail: &str) -> String {
    let Some(q) = tail.find('?') else {
        return tail.to_string();
    };
    let (path, query) = tail.split_at(q + 1);
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}{}", parts.join("&"))
}

/// A libpq `key=value` string with the password's value replaced (quoted or not).
fn redact_pairs(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(pos) = find_password_key(rest) {
        out.push_str(&rest[..pos]);
        let after_key = &rest[pos..];
        let eq = after_key
            .find('=')
            .map(|i| i + 1)
            .unwrap_or(after_key.len());
        out.push_str(&after_key[..eq]);
        let value = after_key[eq..].trim_start();
        let skipped = after_key[eq..].len() - value.len();
        let value_len = if let Some(quoted) = value.strip_prefix('\'') {
            let mut len = 1;
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                if c == '\\' {
                    chars.next();
                    continue;
                }
                if c == '\'' {
                    len = i + 2;
                    break;
                }
                len = i + 1 + c.len_utf8();
            }
            len
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        out.push_str(&after_key[eq..eq + skipped]);
        out.push_str(REDACTED);
        rest = &after_key[eq + skipped + value_len..];
    }
    out.push_str(rest);
    out
}

/// The offset of a `password` key (followed by `=`, possibly after spaces) at a word start.
fn find_password_key(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("password") {
        let at = from + i;
        let word_start = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let after = lower[at + "password".len()..].trim_start();
        if word_start && after.starts_with('=') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The password of a `postgres://` URL as written in it.
fn url_password(raw: &str) -> Option<&str> {
    let rest = raw
        .strip_prefix("postgres://")
        .or_else(|| raw.strip_prefix("postgresql://"))?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    Some(&userinfo[userinfo.find(':')? + 1..])
}

/// `text` with the password of `raw` replaced wherever it appears, and any URL in it redacted.
pub fn redact_text(text: &str, raw: &str) -> String {
    let password = tokio_postgres::Config::from_str(raw).ok().and_then(|c| {
        c.get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    });
    let mut out = text.to_string();
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        out = out.replace(&p, REDACTED);
    }
    // A URL may spell its password percent-encoded: that spelling too.
    if let Some(spelled) = url_password(raw).filter(|p| !p.is_empty()) {
        out = out.replace(spelled, REDACTED);
    }
    if out.contains(raw) {
        out = out.replace(raw, &redact_url(raw));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_print_without_their_password() {
        let url = DatabaseUrl::parse(
            "postgres://bot:s3cr%40t-pw@db.internal:5433/backline?sslmode=require",
        )
        .unwrap();
        for shown in [url.to_string(), format!("{url:?}"), url.redacted()] {
            assert!(!shown.contains("s3cr"), "{shown}");
            assert!(
                shown.contains("bot:[redacted]@db.internal:5433/backline?sslmode=require"),
                "{shown}"
            );
        }
        assert_eq!(url.config().get_password(), Some(&b"s3cr@t-pw"[..]));
        assert_eq!(
            url.scrub("auth failed for s3cr@t-pw and s3cr%40t-pw"),
            "auth failed for [redacted] and [redacted]"
        );
    }

    #[test]
    fn query_and_key_value_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgresql://db/x?user=a&password=hunter2&sslmode=disable"),
            "postgresql://db/x?user=a&password=[redacted]&sslmode=disable"
        );
        assert_eq!(
            redact_url("host=db user=a password = 'hun ter\\'2' dbname=x"),
            "host=db user=a password = [redacted] dbname=x"
        );
        assert_eq!(
            redact_url("host=db password=hunter2"),
            "host=db password=[redacted]"
        );
        let url = DatabaseUrl::parse("host=db user=a password=hunter2 dbname=x").unwrap();
        assert!(!format!("{url} {url:?}").contains("hunter2"));
        // No password: nothing to hide, nothing changed.
        assert_eq!(redact_url("postgres://bot@db/x"), "postgres://bot@db/x");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        let err = DatabaseUrl::parse("postgres://bot:hunter2@db:notaport/x").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(DatabaseUrl::parse("postgres:///x").is_err(), "no host");
    }
}
