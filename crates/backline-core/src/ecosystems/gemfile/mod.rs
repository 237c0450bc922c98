//! RubyGems: `Gemfile.lock`.
//!
//! `read` turns the file into dependencies.

pub mod read;
