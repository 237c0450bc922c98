//! RubyGems: `Gemfile.lock`.
//!
//! `read` turns the file into dependencies.

pub mod patch;
pub mod read;
pub mod version;
