//! Composer: `composer.lock`.
//!
//! `read` turns the file into dependencies.

pub mod constraint;
pub mod patch;
pub mod read;
