//! The scanner moved to [`crate::engine`]; its old path stays for callers.

pub use crate::engine::scanner::{ScanSummary, Scanner};
