//! Remediation tracking: SLA clocks per severity, summary figures (open fixes, SLA breaches,
//! time to fix, fixes per week) and per-project figures for the badge and the dashboard.
//! [`sla`] and [`summary`] are pure; [`reader`] loads what they need from the tables.

pub mod reader;
pub mod sla;
pub mod summary;

pub use reader::{load, Snapshot};
pub use sla::{SlaError, SlaPolicy, SlaStatus};
pub use summary::{ProjectFigures, Summary};
