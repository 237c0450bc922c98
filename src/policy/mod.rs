//! Per-project policy in the repository: `.gitlab/backline.yml` (or `.backline.yml`).
//!
//! `file` parses and checks it (pure, errors with lines), `effective` merges it over the
//! instance settings with the source of each value (pure), `schema` is its JSON Schema,
//! `table` keeps the last valid file and the last problem per project, `read` fetches it
//! from the default branch and reports a bad file on the commit that changed it.

pub mod effective;
pub mod file;
pub mod glob;
pub mod people;
pub mod read;
pub mod render;
pub mod schedule;
pub mod schema;
pub mod screen;
pub mod table;

pub use effective::{Effective, InstanceDefaults, Source};
pub use file::{parse, PolicyError, PolicyFile};
pub use table::{PolicyRecord, PolicyTable};
