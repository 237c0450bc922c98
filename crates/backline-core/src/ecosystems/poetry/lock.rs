//! `poetry.lock`, read once for both sides: the `[[package]]` tables. The reader reports them;
//! the patcher checks the new version's requirements against the versions locked here (and
//! edits the same tables with `toml_edit`, keeping every other byte).

use serde::Deserialize;

use crate::deps::text::{from_toml, utf8};
use crate::deps::ParseError;

/// A `poetry.lock` as TOML.
#[derive(Deserialize)]
pub(crate) struct Lock {
    #[serde(default)]
    pub(crate) package: Vec<Package>,
}

/// One `[[package]]`: `category` (Poetry 1) or `groups` (Poetry 2) say whether it is dev.
#[derive(Deserialize)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) category: Option<String>,
    pub(crate) groups: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) dependencies: toml::Table,
    pub(crate) source: Option<toml::Table>,
}

/// Parses a `poetry.lock`.
pub(crate) fn read(file: &str, bytes: &[u8]) -> Result<Lock, ParseError> {
    from_toml(file, utf8(file, bytes)?)
}
