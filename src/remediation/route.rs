//! Which of the three ways a fix got through (issue 18), as the plan records it and the MR
//! text and the API show it: the package moved within its parents' ranges, parents were
//! bumped to releases that allow the fix, a pinned override forces it, or nothing gets
//! through and the chain that blocks it is named.

use serde::{Deserialize, Serialize};

pub use super::patch::OverrideKind;

/// One parent moved so that its range admits the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentBump {
    /// The parent.
    pub package: String,
    /// Its installed version.
    pub from: String,
    /// The release it moves to (the smallest whose range allows the fix).
    pub to: String,
}

/// How the fix gets through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FixRoute {
    /// The package moves; every range on it already allows the fix (or is the project's own).
    Direct,
    /// Parents move first, nearest first: each one's new release allows the one below.
    ParentBump {
        /// The bumps, the package's own parent first.
        bumps: Vec<ParentBump>,
    },
    /// A pinned override installs the fix under parents whose ranges exclude it.
    Override {
        /// The mechanism written.
        mechanism: OverrideKind,
        /// Why no parent bump did.
        reason: String,
    },
    /// Nothing gets through.
    Blocked {
        /// `app -> a@1.2.0 -> b@^2 (fix needs b 3.0.1)`.
        chain: String,
        /// Why neither a bump nor an override did.
        reason: String,
    },
}

impl FixRoute {
    /// The word the API uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            FixRoute::Direct => "direct",
            FixRoute::ParentBump { .. } => "parent_bump",
            FixRoute::Override { .. } => "override",
            FixRoute::Blocked { .. } => "blocked",
        }
    }
}
