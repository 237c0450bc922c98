//! MR checks: the pure decision and rendering live in `backline_core::mrcheck` (re-exported
//! here, so `crate::mrcheck::...` paths keep working); [`table`] keeps the last result per MR.

pub use backline_core::mrcheck::*;

pub mod table;
