//! Raw setting values (as a flag, a variable or a file key gives them) and the checks that turn
//! them into typed settings. Pure.

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::ConfigError;
use crate::advisories::cvss::Level;
use crate::ecosystem::Ecosystem;

/// A raw value type of a setting: how `backline.toml` spells it, and how the docs show it.
pub trait Raw: Sized {
    /// The TOML form.
    type File: DeserializeOwned + std::fmt::Debug;
    /// The raw value from its TOML form.
    fn from_file(file: Self::File) -> Self;
    /// The value as the README and `--help` write it.
    fn show(&self) -> String;
}

macro_rules! raw_as_itself {
    ($($ty:ty),*) => {$(
        impl Raw for $ty {
            type File = $ty;
            fn from_file(file: $ty) -> Self {
                file
            }
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
raw_as_itself!(String, u64, u32, usize, bool);

impl Raw for PathBuf {
    type File = PathBuf;
    fn from_file(file: PathBuf) -> Self {
        file
    }
    fn show(&self) -> String {
        self.display().to_string()
    }
}

/// A list in the file: an array, or one comma-separated string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// `"a,b"`.
    One(String),
    /// `["a", "b"]`.
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => s.split(',').map(str::to_string).collect(),
            OneOrMany::Many(v) => v,
        }
    }
}

impl Raw for Vec<String> {
    type File = OneOrMany;
    fn from_file(file: OneOrMany) -> Self {
        file.into_vec()
    }
    fn show(&self) -> String {
        self.join(",")
    }
}

impl Raw for Vec<PathBuf> {
    type File = OneOrMany;
    fn from_file(file: OneOrMany) -> Self {
        file.into_vec().into_iter().map(PathBuf::from).collect()
    }
    fn show(&self) -> String {
        let shown: Vec<String> = self.iter().map(|p| p.display().to_string()).collect();
        shown.join(",")
    }
}

/// A doc comment's lines as one paragraph.
pub fn doc_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a setting's value was refused.
#[derive(Debug)]
pub enum Rejected {
    /// The value is wrong for this reason (the setting is named by the caller).
    Value(String),
    /// A problem that names its own source (e.g. a proxy variable).
    Other(ConfigError),
}

impl Rejected {
    /// The error, naming `env` when the value itself was wrong.
    pub fn named(self, env: &'static str) -> ConfigError {
        match self {
            Rejected::Value(reason) => ConfigError::Invalid { name: env, reason },
            Rejected::Other(e) => e,
        }
    }
}

impl From<String> for Rejected {
    fn from(reason: String) -> Self {
        Rejected::Value(reason)
    }
}

impl From<&str> for Rejected {
    fn from(reason: &str) -> Self {
        Rejected::Value(reason.to_string())
    }
}

/// An `http(s)://` URL without surrounding blanks or trailing slashes; empty means unset.
/// The one URL check of every URL setting.
pub fn http_url(value: Option<String>) -> Result<Option<String>, Rejected> {
    let Some(url) = value.map(|u| u.trim().trim_end_matches('/').to_string()) else {
        return Ok(None);
    };
    if url.is_empty() {
        return Ok(None);
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(Some(url))
    } else {
        Err("must start with http:// or https://".into())
    }
}

/// A URL setting that has a default: an empty value keeps `default`.
pub fn http_url_or(value: String, default: &str) -> Result<String, Rejected> {
    Ok(http_url(Some(value))?.unwrap_or_else(|| default.to_string()))
}

/// A number that must be at least 1.
pub fn at_least_one<T: PartialOrd + From<u8>>(n: T) -> Result<T, Rejected> {
    if n < T::from(1) {
        Err("must be at least 1".into())
    } else {
        Ok(n)
    }
}

/// A severity word (`critical`, `high`, `medium`, `low`, `unknown`).
pub fn level(word: &str) -> Result<Level, Rejected> {
    Level::parse(&word.trim().to_ascii_lowercase()).ok_or_else(|| {
        format!("{word:?} is not one of critical, high, medium, low, unknown").into()
    })
}

/// A severity threshold where `none` (or nothing) means no threshold.
pub fn threshold(word: &str) -> Result<Option<Level>, Rejected> {
    match word.trim().to_ascii_lowercase().as_str() {
        "none" | "" => Ok(None),
        w => Level::from_word(w).map(Some).ok_or_else(|| {
            format!("{word:?} is not one of critical, high, medium, low, none").into()
        }),
    }
}

/// OSV ecosystem names.
pub fn ecosystems(names: &[String]) -> Result<Vec<Ecosystem>, Rejected> {
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            Ecosystem::from_osv(n).ok_or_else(|| {
                format!("unknown ecosystem {n:?} (expected OSV names such as crates.io, npm, PyPI)")
                    .into()
            })
        })
        .collect()
}

/// Entries without surrounding blanks, empty ones dropped.
pub fn non_empty_entries(values: Vec<String>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Namespace paths without surrounding slashes, empty entries dropped.
pub fn namespaces(values: Option<Vec<String>>) -> Vec<String> {
    non_empty_entries(values.unwrap_or_default())
        .into_iter()
        .map(|v| v.trim_matches('/').to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// A text value where empty means unset.
pub fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}
