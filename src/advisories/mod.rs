//! Advisories: the OSV model, importers, version ordering per ecosystem, range matching and
//! the index. Pure apart from the importers' file reading and the index's sled persistence.

pub mod version;
