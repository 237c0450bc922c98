//! A project's dependency inventory: its manifests read through the API (never a clone), parsed
//! once per blob, and kept current by pushes.

pub mod refresh;
pub mod table;

pub use refresh::{
    fetch_manifest_files, refresh_all, refresh_all_within, refresh_touched, RefreshError,
    RefreshLimits, RefreshReport,
};
pub use table::{Head, Input, Inventory, StoredManifest};
