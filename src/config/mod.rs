//! Typed settings: built from `backline.toml`, `BACKLINE_*` environment variables and `serve`
//! flags. Precedence: flag, then environment, then file, then default.
//!
//! Each setting is declared once, in [`table`]: the flags, the file keys, the merge and each
//! setting's validation are generated from that declaration (see `declare`).

#[macro_use]
mod declare;
mod error;
mod file;
mod resolve;
mod settings;
mod table;
pub mod value;

#[cfg(test)]
mod tests;

pub use error::ConfigError;
pub use resolve::{database_url, network, require_verification, resolve};
pub use settings::{
    Settings, DEFAULT_DATA_DIR, DEFAULT_INBOX_MAX_BYTES, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_UNVERIFIED_BODY_BUDGET_BYTES,
};
pub use table::{declared, CommonArgs, Declared, FileConfig, Group, ServeArgs};
