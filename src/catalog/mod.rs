//! The project catalog: every GitLab project the bot looks after, kept current by a full sync
//! (at start, on a period, on request) and by system hooks.

pub mod badges;
pub mod filter;
pub mod hooks;
pub mod model;
pub mod service;
pub mod table;

pub use filter::NamespaceFilter;
pub use hooks::HookManager;
pub use model::{CatalogProject, HookState};
pub use service::{CatalogError, CatalogService, Reconciled, SyncProgress, SyncReport, SyncStatus};
pub use table::{Catalog, Change};
