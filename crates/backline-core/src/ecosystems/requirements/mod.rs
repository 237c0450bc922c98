//! pip: `requirements*.txt` and their includes.
//!
//! `read` turns the file (and what it includes) into dependencies; `patch` moves one `==` pin
//! to another version, keeping every other byte. Both read lines through `syntax` (names,
//! include options, comments, PEP 440 specifiers).

pub mod patch;
pub mod read;
pub(crate) mod syntax;
