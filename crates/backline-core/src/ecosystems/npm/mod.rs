//! npm: `package-lock.json` / `npm-shrinkwrap.json` (with `package.json`).
//!
//! `read` turns the lockfile into dependencies; `patch` moves one package to another version,
//! keeping every other byte. Both read the lockfile's structure through `lock` (its shapes,
//! entry names, node's lookup, the v1 walk). The patcher's parts are `edit` (entry and range
//! edits) and `v1` (the nested tree); `json` keeps byte spans, `range` reads npm ranges (also
//! used by the yarn and poetry patchers).

mod edit;
pub(crate) mod json;
pub(crate) mod lock;
pub mod overrides;
pub mod patch;
pub(crate) mod range;
pub mod read;
mod v1;
