//! Poetry: `poetry.lock` (with `pyproject.toml`).
//!
//! `read` turns the lockfile into dependencies; `patch` moves one package to another version,
//! keeping every other byte. Both read the lockfile's packages through `lock` and
//! `pyproject.toml` through `pyproject` (what it declares,
//! where, with which constraint), and PEP 508/440 through the requirements folder's `syntax`.

mod lock;
pub mod patch;
mod pyproject;
pub mod read;
