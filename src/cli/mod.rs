//! Command-line faces that read the settings file: kept apart from the modules they drive, so
//! that those never depend on `config`.

pub mod advisories;
